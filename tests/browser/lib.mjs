/*
 * lib.mjs: the harness of the perkd browser tests (node --test). It reads
 * the stack to test from the environment (the variables of dev.env),
 * launches Debian's chromium through playwright-core, opens pages that
 * fail the test on any console error, page error or failed request that
 * the test did not declare as deliberate, saves screenshots into
 * test-output/screenshots/, mints resident tokens (HS256 with node:crypto)
 * and calls the API directly for the steps a browser does not do (an
 * issuer's award, for instance).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHOTS = join(ROOT, 'test-output', 'screenshots');

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 860 };

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/* The stack under test, from the environment: {url, residentSecret,
 * issuerKey, partnerKey, managerKey, issuerOrg, partnerOrg}, or
 * {skip: reason} when PERKD_URL is unset outside CI. In CI a missing
 * stack is an error, never a skip. */
export function stack() {
  const env = process.env;
  if (!env.PERKD_URL) {
    const why = 'PERKD_URL is not set: source a dev.env (./dev up, then `. var/dev.env`) or run ./dev test';
    if (env.CI === 'true') throw new Error(`browser tests need a stack in CI: ${why}`);
    return { skip: why };
  }
  const need = ['PERKD_RESIDENT_SECRET', 'PERKD_ISSUER_KEY', 'PERKD_PARTNER_KEY', 'PERKD_MANAGER_KEY',
    'PERKD_ISSUER_ORG', 'PERKD_PARTNER_ORG'];
  const missing = need.filter((k) => !env[k]);
  if (missing.length) throw new Error(`PERKD_URL is set but ${missing.join(', ')} missing: source the whole dev.env`);
  return {
    url: env.PERKD_URL.replace(/\/+$/, ''),
    residentSecret: env.PERKD_RESIDENT_SECRET,
    issuerKey: env.PERKD_ISSUER_KEY,
    partnerKey: env.PERKD_PARTNER_KEY,
    managerKey: env.PERKD_MANAGER_KEY,
    issuerOrg: env.PERKD_ISSUER_ORG,
    partnerOrg: env.PERKD_PARTNER_ORG,
  };
}

/* Launches chromium with a fresh profile directory; close() removes it.
 * scale: device pixels per CSS pixel (2 for crisp documentation images);
 * args: more chromium flags (a fake camera, say). */
export async function launch({ scale = 1, args = [] } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'perkd-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.PERKD_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [...FLAGS, ...args],
    acceptDownloads: true,
    viewport: PHONE,
    deviceScaleFactor: scale,
  });
  const browser = {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
  return browser;
}

/* Opens a page with viewport {width, height} and an error collector.
 * Returns {page, expectFailure(urlPart, status), assertClean()}:
 * expectFailure declares a deliberate failed response (e.g. the 404 of
 * GET /v1/me before enrolment); assertClean throws listing every other
 * console error, page error, failed request or HTTP error response. The
 * collector is also checked when the page closes. */
export async function openPage(browser, viewport) {
  const page = await browser.context.newPage();
  await page.setViewportSize(viewport);
  const problems = [];
  const deliberate = [];   // {part, status, used}
  const isDeliberate = (url, status) => deliberate.some((d) => {
    const hit = url.includes(d.part) && (d.status === undefined || d.status === status);
    if (hit) d.used = true;
    return hit;
  });
  const seen = new Set();
  page.on('response', (res) => {
    if (res.status() >= 400) {
      seen.add(res.url());
      if (!isDeliberate(res.url(), res.status())) problems.push(`HTTP ${res.status()} ${res.request().method()} ${res.url()}`);
    }
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const loc = msg.location() || {};
    // Chromium logs every HTTP error response as a console error; those
    // are judged by the response handler above.
    if (/Failed to load resource: the server responded with a status of/.test(msg.text())) return;
    problems.push(`console error: ${msg.text()} ${loc.url || ''}:${loc.lineNumber ?? ''}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    const why = req.failure() ? req.failure().errorText : '';
    // A download navigates away from a blob: URL and reports ERR_ABORTED.
    if (req.url().startsWith('blob:') && /ERR_ABORTED/.test(why)) return;
    problems.push(`request failed: ${req.method()} ${req.url()} ${why}`);
  });
  return {
    page,
    expectFailure(part, status) { deliberate.push({ part, status, used: false }); },
    assertClean() {
      if (problems.length) throw new Error(`the page reported problems:\n  ${problems.join('\n  ')}`);
    },
  };
}

/* Basic accessibility checks of what page shows now: the document has a
 * language, every visible form field has a label, every image has an alt
 * text, every button and link has a name, ids are unique, and there is
 * exactly one h1 outside dialogs. Throws listing what fails. */
export async function assertAccessible(page) {
  const faults = await page.evaluate(() => {
    const out = [];
    const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
    if (!document.documentElement.lang) out.push('html has no lang');
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (!visible(el) && el.type !== 'radio' && el.type !== 'checkbox') continue;
      const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      if (!named) out.push(`field without label: ${el.outerHTML.slice(0, 80)}`);
    }
    for (const img of document.querySelectorAll('img')) {
      if (!img.hasAttribute('alt')) out.push(`img without alt: ${img.outerHTML.slice(0, 80)}`);
    }
    for (const el of document.querySelectorAll('button, a[href]')) {
      if (!visible(el)) continue;
      const name = (el.getAttribute('aria-label') || el.textContent || '').trim();
      if (!name) out.push(`unnamed control: ${el.outerHTML.slice(0, 80)}`);
    }
    const ids = new Map();
    for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
    for (const [id, n] of ids) if (n > 1) out.push(`duplicate id ${id}`);
    const h1 = [...document.querySelectorAll('h1')].filter((el) => !el.closest('dialog'));
    if (h1.length !== 1) out.push(`${h1.length} h1 elements outside dialogs`);
    return out;
  });
  if (faults.length) throw new Error(`accessibility faults:\n  ${faults.join('\n  ')}`);
}

/* Saves a screenshot as test-output/screenshots/<name>.png: the whole
 * page, or only the viewport when a modal dialog is open (a full-page
 * capture of a scrolled page with an open dialog is misleading). */
export async function screenshot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  const file = join(SHOTS, `${name}.png`);
  // A sticky header would be drawn where the page was scrolled to.
  const modalOpen = await page.evaluate(() => {
    const open = !!document.querySelector('dialog[open]');
    if (!open) window.scrollTo(0, 0);
    return open;
  });
  await page.screenshot({ path: file, fullPage: !modalOpen });
  return file;
}

/* A resident token for subject sub, signed HS256 with secret (what the
 * city's identity provider would hand over). */
export function mintToken(secret, sub, ttlSeconds = 3600) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub, iat: now, exp: now + ttlSeconds });
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/* A fresh pseudonymous subject for one test run. */
export function newSubject(tag) {
  return `browser-${tag}-${randomUUID()}`;
}

/* Calls the API of stack s: method, path, {auth (token or key), body,
 * idem (Idempotency-Key)}. Returns {status, body, headers}; never throws
 * on an HTTP status. */
export async function api(s, method, path, { auth, body, idem } = {}) {
  const headers = { Accept: 'application/json' };
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (idem) headers['Idempotency-Key'] = idem;
  const res = await fetch(`${s.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = text; }
  return { status: res.status, body: parsed, headers: res.headers };
}

/* api() that insists on one of the expected statuses. */
export async function apiOk(s, method, path, opts = {}, expect = [200, 201, 204]) {
  const r = await api(s, method, path, opts);
  if (!expect.includes(r.status)) {
    throw new Error(`${method} ${path}: expected ${expect.join('/')}, got ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.body;
}

export function items(body) {
  return Array.isArray(body) ? body : (body && body.items) || [];
}

/* The earning rules the demo issuer may award, most points first. The
 * rule lists issuers by name; the issuer's name comes from GET /v1/issuers
 * and PERKD_ISSUER_ORG (if set) or else any rule with an issuer. */
export async function issuerRules(s) {
  const rules = items(await apiOk(s, 'GET', '/v1/rules'));
  const issuers = items(await apiOk(s, 'GET', '/v1/issuers'));
  const me = s.issuerOrg ? issuers.find((o) => o.id === s.issuerOrg) : null;
  const mine = me ? rules.filter((r) => (r.issuers || []).includes(me.name)) : rules;
  return mine.sort((a, b) => b.points - a.points);
}

/* Awards subject points through the issuer API until its lifetime points
 * reach target, trying the issuer's rules in turn (a rule whose daily cap
 * is used up is skipped). Returns the awards made. */
export async function awardUntil(s, subject, target, lifetimeOf) {
  const rules = await issuerRules(s);
  if (!rules.length) throw new Error('the demo issuer may award no rule (GET /v1/rules)');
  const made = [];
  for (const rule of rules) {
    for (let i = 0; i < 50 && (await lifetimeOf()) < target; i++) {
      const r = await apiOk(s, 'POST', '/v1/awards', {
        auth: s.issuerKey,
        body: { subject, rule: rule.code, external_ref: `browser-${randomUUID()}` },
      }, [200, 201]);
      made.push(r);
      if (r.capped || r.points === 0) break;
    }
    if ((await lifetimeOf()) >= target) break;
  }
  return made;
}

/* A new API key of the demo partner, revoked after the test: no test
 * depends on the shared demo key staying valid. Returns {key, revoke()}.
 * (perkd's failed-check limiter counts per organisation, so this does
 * not isolate tests from each other's failed checks: see
 * newPartnerOrg.) */
export async function freshPartnerKey(s, org = s.partnerOrg) {
  const made = await apiOk(s, 'POST', `/v1/admin/orgs/${org}/keys`, { auth: s.managerKey, body: {} }, [200, 201]);
  return {
    key: made.key,
    revoke: () => apiOk(s, 'DELETE', `/v1/admin/keys/${made.id}`, { auth: s.managerKey }, [200, 204]),
  };
}

/* A new partner organisation of its own (no perks) with a key: for tests
 * whose failed checks must not push the demo partner over the limit.
 * Returns {org, key, revoke()}. */
export async function newPartnerOrg(s) {
  const org = await apiOk(s, 'POST', '/v1/admin/orgs', {
    auth: s.managerKey, body: { name: `browser-test-${randomUUID()}`, roles: ['partner'] },
  }, [201]);
  return { org: org.id, ...(await freshPartnerKey(s, org.id)) };
}

/* The demo partner's name, which the catalogue uses for a perk's
 * partner: found in the manager's list of organisations. */
export async function partnerName(s) {
  if (!s.managerKey || !s.partnerOrg) throw new Error('PERKD_MANAGER_KEY and PERKD_PARTNER_ORG are needed to find the demo partner');
  const orgs = items(await apiOk(s, 'GET', '/v1/admin/orgs?limit=500', { auth: s.managerKey }));
  const org = orgs.find((o) => o.id === s.partnerOrg);
  if (!org) throw new Error(`the partner ${s.partnerOrg} is not in GET /v1/admin/orgs`);
  return org.name;
}

function activeNow(p) {
  const now = Date.now();
  return (!p.valid_from || Date.parse(p.valid_from) <= now) && (!p.valid_to || Date.parse(p.valid_to) > now);
}

/* The cheapest voucher perk of partner (a name) that a new member can
 * redeem: no tier above the lowest, in stock, in its window. */
export function pickVoucherPerk(perks, ladder, partner) {
  const lowest = ladder.length ? ladder[0].name : null;
  return perks.filter((p) => p.kind === 'voucher' && p.partner === partner && activeNow(p)
    && (!p.min_tier || p.min_tier === lowest)
    && (p.stock_left === null || p.stock_left === undefined || p.stock_left > 1))
    .sort((a, b) => a.cost_points - b.cost_points)[0];
}

/* The status perk of partner that the lowest tier unlocks, with the
 * lifetime points that tier needs: {perk, points}. */
export function pickStatusPerk(perks, ladder, partner) {
  const need = (p) => {
    const tier = ladder.find((x) => x.name === p.min_tier);
    return p.min_tier ? (tier ? tier.min_lifetime_points : Infinity) : 0;
  };
  const list = perks.filter((p) => p.kind === 'status' && p.partner === partner && activeNow(p))
    .map((perk) => ({ perk, points: need(perk) })).filter((x) => x.points !== Infinity)
    .sort((a, b) => a.points - b.points);
  return list[0];
}

/* Enrols subject through the API (for tests that start with a member). */
export async function enrolByApi(s, token) {
  const districts = items(await apiOk(s, 'GET', '/v1/districts'));
  if (!districts.length) throw new Error('GET /v1/districts lists no district');
  return apiOk(s, 'POST', '/v1/me/enroll', {
    auth: token,
    body: { consent: true, consent_version: 'browser-test', district: districts[0].code },
  }, [201]);
}

/* A new member (enrolled and awarded through the API) holding an issued
 * voucher for perk. Returns {subject, token, red}. */
export async function memberWithVoucher(s, perk) {
  const subject = newSubject('voucher');
  const token = mintToken(s.residentSecret, subject);
  await enrolByApi(s, token);
  await awardUntil(s, subject, perk.cost_points,
    async () => (await apiOk(s, 'GET', '/v1/me', { auth: token })).balance);
  const red = await apiOk(s, 'POST', '/v1/me/redemptions', {
    auth: token, body: { perk_id: perk.id }, idem: randomUUID(),
  }, [201]);
  return { subject, token, red };
}
