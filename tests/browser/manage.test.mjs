// tests/browser/manage.test.mjs: the manager dashboard (/manage/) in
// headless Chromium against a real stack (PERKD_URL, PERKD_MANAGER_KEY from
// dev.env, demo data loaded). Every chart is checked against the API's own
// answer to the very request the page made (recorded off the network, so
// that other suites writing to the same stack meanwhile cannot make this
// one flaky; a direct call checks that the answer is the API's), both
// through Chart.getChart() and through the table fallback; withheld values
// (null) must read "withheld (< N)" and never 0. Also: the date/district filter, the CSV
// downloads (byte-for-byte the API's CSV), the bad-key and non-manager-key
// states, a 503 with Retry, the empty state, and no console error anywhere
// (the only ones allowed are the failed /v1/ loads a test provokes).
// Screenshots: test-output/screenshots/manage-*.png.
//
// Without PERKD_URL the suite is skipped, except under CI=true, where that
// is a failure.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = (process.env.PERKD_URL || '').replace(/\/+$/, '');
const KEY = process.env.PERKD_MANAGER_KEY || '';
const OTHER_KEY = process.env.PERKD_ISSUER_KEY || process.env.PERKD_PARTNER_KEY || '';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHOTS = join(ROOT, 'test-output', 'screenshots');
const TIMEOUT = 20_000;

const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const VIEWS = ['enrollment', 'districts', 'funnel', 'perks', 'rules', 'channels', 'campaigns'];

// ---- talking to the API directly ----------------------------------------

async function api(pathAndQuery, accept = 'application/json', key = KEY) {
  const res = await fetch(BASE + pathAndQuery, {
    headers: { Authorization: `Bearer ${key}`, Accept: accept },
  });
  const body = accept === 'text/csv' ? await res.text() : await res.json();
  assert.equal(res.status, 200, `${pathAndQuery} answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

// ---- reading what the page shows ----------------------------------------

// Chart.getChart() data of one chart: {labels, sets: {key: values}}.
function chartData(page, view, chart) {
  return page.evaluate(([v, c]) => {
    const canvas = document.querySelector(`#view-${v} [data-chart="${c}"] canvas`);
    const ch = canvas && globalThis.Chart.getChart(canvas);
    if (!ch) return null;
    return {
      labels: ch.data.labels,
      sets: Object.fromEntries(ch.data.datasets.map((d) => [d.key, d.data])),
    };
  }, [view, chart]);
}

// The table fallback of a view: [{row, cells: {key: {value, text}}}].
function tableData(page, view) {
  return page.evaluate((v) => [...document.querySelectorAll(`#view-${v} .table-wrap tbody tr`)].map((tr) => ({
    row: tr.dataset.row,
    cells: Object.fromEntries([...tr.children].map((c) => [c.dataset.key, {
      value: c.dataset.value,
      text: c.textContent.trim(),
    }])),
  })), view);
}

// The raw value a cell carries, as the API would have sent it.
function cellValue(cell) {
  if (cell.value === 'null') return null;
  const n = Number(cell.value);
  return cell.value !== '' && Number.isFinite(n) ? n : cell.value;
}

// Asserts that table rows show exactly `rows` of the API for `keys`, and
// that every null reads "withheld (< N)", never a zero.
function assertTable(table, rows, idKey, keys, minGroup, what) {
  assert.equal(table.length, rows.length, `${what}: table has ${table.length} rows, API ${rows.length}`);
  rows.forEach((r, i) => {
    const t = table[i];
    assert.equal(t.row, String(r[idKey]), `${what}: row ${i} is ${t.row}, API ${r[idKey]}`);
    for (const k of keys) {
      assert.ok(k in t.cells, `${what}: no column ${k}`);
      assert.deepEqual(cellValue(t.cells[k]), r[k], `${what} ${r[idKey]}.${k}`);
      if (r[k] === null) {
        assert.equal(t.cells[k].text, `withheld (< ${minGroup})`, `${what} ${r[idKey]}.${k} text`);
      } else if (typeof r[k] === 'number') {
        assert.doesNotMatch(t.cells[k].text, /withheld/, `${what} ${r[idKey]}.${k}`);
      }
    }
  });
}

function assertLabels(labels, names, values, what) {
  assert.equal(labels.length, names.length, `${what}: ${labels.length} labels, API ${names.length}`);
  labels.forEach((l, i) => {
    assert.ok(l.startsWith(names[i]), `${what}: label ${i} "${l}" should name "${names[i]}"`);
    assert.equal(/withheld/.test(l), values[i] === null, `${what}: label "${l}" withheld marker`);
  });
}

// ---- page plumbing ------------------------------------------------------

// Console errors and uncaught exceptions of a page. allow(msg, url) may
// excuse the failed /v1/ loads a test provokes on purpose.
// answers: every /v1/ answer the page got, by path and query, in order.
function watch(page) {
  const w = { errors: [], requests: [], answers: [], allow: () => false };
  page.on('response', (res) => {
    const u = new URL(res.url());
    if (!u.pathname.startsWith('/v1/')) return;
    // Taken now, read later: the body may be gone once the page moves on.
    const body = res.text().catch((err) => `(unreadable: ${err.message})`);
    w.answers.push({ key: u.pathname + u.search, status: res.status(), body });
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location()?.url || '';
    if (!w.allow(msg.text(), url)) w.errors.push(`console: ${msg.text()} (${url})`);
  });
  page.on('pageerror', (err) => w.errors.push(`pageerror: ${err.message}`));
  page.on('request', (req) => w.requests.push(req.url()));
  return w;
}

// The body of the last answer the page got to `key` (path and query, or
// a predicate on it), asserted 200.
async function answer(w, key) {
  const match = typeof key === 'function' ? key : (k) => k === key;
  const a = [...w.answers].reverse().find((x) => match(x.key));
  assert.ok(a, `the page asked for ${key}`);
  assert.equal(a.status, 200, `${a.key} answered ${a.status}`);
  return a.body;
}

async function answerJson(w, key) {
  return JSON.parse(await answer(w, key));
}

function assertClean(w) {
  assert.deepEqual(w.errors, [], 'console errors on the page');
}

function allowFailedApi(status) {
  return (text, url) => new URL(url || 'about:blank', BASE || 'http://x').pathname.startsWith('/v1/')
    && text.includes(`status of ${status}`);
}

async function waitState(page, ...states) {
  await page.waitForFunction((s) => s.includes(document.body.dataset.state), states, { timeout: TIMEOUT });
}

async function login(page, key, shot) {
  await page.goto(`${BASE}/manage/`);
  await page.locator('#login').waitFor({ state: 'visible', timeout: TIMEOUT });
  if (shot) await page.screenshot({ path: join(SHOTS, shot) });
  await page.fill('#key', key);
  await page.click('#key-form button[type=submit]');
}

// A fresh tab (its own sessionStorage) that has pasted `key` and reached
// body[data-state=state]. allow excuses console errors a test provokes;
// prepare(page) runs before the page loads.
async function session(context, { key = KEY, state = 'ready', allow, prepare, shot } = {}) {
  const page = await context.newPage();
  const w = watch(page);
  if (allow) w.allow = allow;
  if (prepare) await prepare(page);
  await login(page, key, shot);
  await waitState(page, state);
  return { page, w };
}

// The query of the last enrolment call the page made.
function lastEnrollmentQuery(w) {
  const url = [...w.requests].reverse().find((u) => u.includes('/v1/stats/enrollment')
    && !u.includes('format=csv'));
  assert.ok(url, 'the page asked for /v1/stats/enrollment');
  return new URL(url);
}

// Checks the enrolment view against the API's answer to the page's query.
async function checkEnrollment(page, w, minGroup) {
  const q = lastEnrollmentQuery(w);
  const data = await answerJson(w, q.pathname + q.search);
  const state = await page.getAttribute('#view-enrollment', 'data-state');
  if (data.series.length === 0) {
    assert.equal(state, 'empty', 'an empty series shows the empty state');
    return { q, data };
  }
  assert.equal(state, 'ready');
  const members = await chartData(page, 'enrollment', 'members');
  const flow = await chartData(page, 'enrollment', 'flow');
  const col = (k) => data.series.map((r) => r[k]);
  assert.deepEqual(members.labels, col('period'));
  for (const k of ['members', 'population', 'opt_in_rate']) assert.deepEqual(members.sets[k], col(k), `chart ${k}`);
  for (const k of ['enrolled', 'left', 'net']) assert.deepEqual(flow.sets[k], col(k), `chart ${k}`);
  const table = await tableData(page, 'enrollment');
  assertTable(table, data.series, 'period',
    ['enrolled', 'left', 'net', 'members', 'population', 'opt_in_rate'], minGroup, 'enrolment');
  // The day each member count is as of (null: no such day in the period).
  table.forEach((t, i) => assert.deepEqual(cellValue(t.cells.members_as_of), data.series[i].members_as_of ?? null));
  return { q, data };
}

// ---- the suite ----------------------------------------------------------

const missing = !BASE || !KEY;
if (missing && process.env.CI === 'true') {
  test('manager dashboard: a stack to test against', () => {
    assert.fail('PERKD_URL and PERKD_MANAGER_KEY must be set under CI (source the stack\'s dev.env)');
  });
}

describe('manager dashboard', { skip: missing ? 'PERKD_URL / PERKD_MANAGER_KEY unset: start a stack and source its dev.env' : false }, () => {
  let profile;
  let context;
  let overview;

  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    profile = await mkdtemp(join(tmpdir(), 'perkd-manage-'));
    // launchPersistentContext: Playwright's way to pass a fresh
    // --user-data-dir of our own.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    overview = await api('/v1/stats/overview');
  });

  after(async () => {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  test('serves the page and the vendored Chart.js', async () => {
    for (const path of ['/manage/', '/manage/main.mjs', '/manage/vendor/chart.umd.js']) {
      const res = await fetch(BASE + path);
      assert.equal(res.status, 200, `${path}: ${res.status} (for vendor/: run \`npm run vendor\`)`);
    }
  });

  test('the key once, then every view matches the API', async () => {
    const { page, w } = await session(context, { shot: 'manage-login.png' });
    // The overview the page got is the API's: same threshold, districts,
    // perks and rules as a direct call (counts may have moved meanwhile).
    const ov = await answerJson(w, '/v1/stats/overview');
    const direct = await api('/v1/stats/overview');
    const ids = (o) => [o.min_group, o.districts.map((x) => x.code),
      o.redemptions_per_perk.map((x) => x.perk_id), o.awards_per_rule.map((x) => x.rule)];
    assert.deepEqual(ids(ov), ids(direct));
    const minGroup = ov.min_group;
    assert.ok(Number.isInteger(minGroup) && minGroup > 0, 'ov.min_group');

    // The key: in sessionStorage, in no URL, not left in the input.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('perkd.manager_key')), KEY);
    assert.ok(!page.url().includes(KEY));
    assert.ok(w.requests.every((u) => !u.includes(KEY)), 'no request URL carries the key');
    assert.equal(await page.inputValue('#key'), '');

    // Key figures.
    const kpis = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#kpis [data-key]')]
      .map((d) => [d.dataset.key, { value: d.dataset.value, text: d.querySelector('dd').textContent }])));
    const want = { members: ov.members, population: ov.population, opt_in_rate: ov.opt_in_rate,
      awarded: ov.points.awarded, redeemed: ov.points.redeemed, outstanding: ov.points.outstanding };
    if (ov.members_as_of) {
      assert.match(await page.textContent('#kpis [data-key=members]'), new RegExp(`as of ${ov.members_as_of}`));
    }
    for (const [k, v] of Object.entries(want)) {
      assert.deepEqual(cellValue(kpis[k]), v, `key figure ${k}`);
      if (v === null) assert.equal(kpis[k].text, `withheld (< ${minGroup})`);
    }

    // Opt-in rate per district.
    const d = await chartData(page, 'districts', 'districts');
    assert.deepEqual(d.sets.opt_in_rate, ov.districts.map((x) => x.opt_in_rate));
    assertLabels(d.labels, ov.districts.map((x) => x.name || x.code),
      ov.districts.map((x) => x.opt_in_rate), 'districts');
    assertTable(await tableData(page, 'districts'), ov.districts, 'code',
      ['members', 'population', 'opt_in_rate'], minGroup, 'districts');

    // Funnel.
    const stages = ['enrolled', 'earned', 'redeemed'];
    const f = await chartData(page, 'funnel', 'funnel');
    assert.deepEqual(f.sets.members, stages.map((s) => ov.funnel[s]));
    assertTable(await tableData(page, 'funnel'), stages.map((s) => ({ stage: s, members: ov.funnel[s] })),
      'stage', ['members'], minGroup, 'funnel');

    // Redemptions per perk, awards per rule, enrolments per channel.
    for (const [view, rows, id, key, name, cols] of [
      ['perks', ov.redemptions_per_perk, 'perk_id', 'redemptions', (r) => r.title || r.perk_id, ['redemptions', 'points']],
      ['rules', ov.awards_per_rule, 'rule', 'awards', (r) => r.title || r.rule, ['awards', 'points']],
      ['channels', ov.channels, 'channel', 'enrolled', (r) => r.channel || '(direct sign-up)', ['enrolled']],
    ]) {
      const state = await page.getAttribute(`#view-${view}`, 'data-state');
      if (rows.length === 0) {
        assert.equal(state, 'empty', `${view}: nothing to show is the empty state`);
        continue;
      }
      assert.equal(state, 'ready', view);
      const c = await chartData(page, view, view);
      assert.deepEqual(c.sets[key], rows.map((r) => r[key]), `${view} chart`);
      assertLabels(c.labels, rows.map(name), rows.map((r) => r[key]), view);
      assertTable(await tableData(page, view), rows, id, cols, minGroup, view);
    }

    // Enrolment over time, as the page asked for it.
    await checkEnrollment(page, w, minGroup);

    // Campaigns: the list, then each one's stats.
    const list = await answerJson(w, '/v1/admin/campaigns?limit=500');
    assert.deepEqual(list.items.map((c) => c.id), (await api('/v1/admin/campaigns?limit=500')).items.map((c) => c.id));
    const stats = [];
    for (const cmp of list.items.slice(0, 50)) {
      stats.push(await answerJson(w, `/v1/stats/campaigns/${encodeURIComponent(cmp.id)}`));
    }
    if (stats.length === 0) {
      assert.equal(await page.getAttribute('#view-campaigns', 'data-state'), 'empty');
    } else {
      const c = await chartData(page, 'campaigns', 'campaigns');
      assert.deepEqual(c.sets.enrolled, stats.map((s) => s.enrolled));
      const targets = list.items.slice(0, 50).map((cmp) => cmp.enrollment_target ?? null);
      assert.deepEqual(c.sets.target, targets);
      const rows = stats.map((s, i) => ({ ...s, id: list.items[i].id }));
      const table = await tableData(page, 'campaigns');
      assertTable(table, rows, 'id', ['enrolled', 'activation_rate', 'bonus_points'], minGroup, 'campaigns');
      table.forEach((t, i) => {
        assert.deepEqual(cellValue(t.cells.target), targets[i], 'campaign target');
        assert.deepEqual(cellValue(t.cells.progress), stats[i].progress, 'campaign progress');
        // Without a target there is no progress: a dash, not "withheld".
        if (targets[i] === null) assert.equal(t.cells.progress.text, '–');
        else if (stats[i].progress === null) assert.equal(t.cells.progress.text, `withheld (< ${minGroup})`);
      });
    }

    // A screenshot of the whole page and of each view.
    await page.screenshot({ path: join(SHOTS, 'manage-dashboard.png'), fullPage: true });
    for (const v of VIEWS) await page.locator(`#view-${v}`).screenshot({ path: join(SHOTS, `manage-${v}.png`) });

    // Tables: shown on request, and readable.
    // (with the keyboard: a focused button and the space bar)
    await page.focus('#view-districts .toggle');
    await page.keyboard.press('Space');
    assert.equal(await page.getAttribute('#view-districts .toggle', 'aria-pressed'), 'true');
    assert.equal(await page.isVisible('#view-districts .table-wrap table'), true);
    await page.locator('#view-districts').screenshot({ path: join(SHOTS, 'manage-districts-table.png') });

    // A reload keeps the key for this tab: no second paste.
    await page.reload();
    await waitState(page, 'ready');
    assert.equal(await page.isVisible('#login'), false);
    assertClean(w);
    await page.close();
  });

  test('the filter narrows enrolment to a district, range and interval', async () => {
    const page = await context.newPage();
    const w = watch(page);
    // Apply pressed while the first load is still under way (the overview
    // held back a moment): every view still arrives, none is left loading
    // by the newer request.
    const slow = async (route) => {
      await new Promise((r) => setTimeout(r, 1000));
      await route.continue();
    };
    await page.route('**/v1/stats/overview', slow);
    await login(page, KEY);
    await page.click('#filters button[type=submit]');
    await waitState(page, 'ready');
    await page.unroute('**/v1/stats/overview', slow);
    const states = await page.$$eval('.card', (cs) => cs.map((c) => `${c.dataset.view}:${c.dataset.state}`));
    assert.ok(states.every((x) => /:(ready|empty)$/.test(x)), states.join(' '));
    const district = overview.districts[0]?.code;
    assert.ok(district, 'the demo has at least one district');
    const today = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 365 * 86400e3).toISOString().slice(0, 10);
    await page.fill('#f-from', from);
    await page.fill('#f-to', today);
    await page.selectOption('#f-district', district);
    await page.selectOption('#f-interval', 'month');
    // The click sets the page to "loading" before it returns.
    await page.click('#filters button[type=submit]');
    await waitState(page, 'ready');
    const { q } = await checkEnrollment(page, w, overview.min_group);
    assert.equal(q.searchParams.get('district'), district);
    assert.equal(q.searchParams.get('from'), from);
    assert.equal(q.searchParams.get('to'), today);
    assert.equal(q.searchParams.get('interval'), 'month');
    await page.locator('#view-enrollment').screenshot({ path: join(SHOTS, 'manage-enrollment-filtered.png') });

    // "From" after "To" is refused on the page, without a call.
    const calls = w.requests.length;
    await page.fill('#f-from', today);
    await page.fill('#f-to', from);
    await page.click('#filters button[type=submit]');
    assert.match(await page.textContent('#filter-error'), /From/);
    assert.equal(w.requests.length, calls);

    // A range the API refuses (too long): its problem on that card only.
    w.allow = allowFailedApi(400);
    await page.fill('#f-from', '1990-01-01');
    await page.fill('#f-to', today);
    await page.selectOption('#f-interval', 'day');
    await page.click('#filters button[type=submit]');
    await waitState(page, 'ready');
    const rq = lastEnrollmentQuery(w);
    const refused = [...w.answers].reverse().find((a) => a.key === rq.pathname + rq.search);
    assert.ok(refused, 'the page asked for the long range');
    if (refused.status >= 400 && refused.status < 500) {
      const problem = JSON.parse(await refused.body);
      assert.equal(await page.getAttribute('#view-enrollment', 'data-state'), 'error');
      const msg = await page.textContent('#view-enrollment .state-msg');
      assert.ok(msg.includes(`HTTP ${refused.status}`) && msg.includes(problem.code), msg);
      assert.equal(await page.getAttribute('#view-districts', 'data-state'), 'ready', 'other views unharmed');
      await page.locator('#view-enrollment').screenshot({ path: join(SHOTS, 'manage-enrollment-refused.png') });
    } else {
      await checkEnrollment(page, w, overview.min_group);
    }
    w.allow = () => false;

    // A range before the programme: the API's answer, shown as it is
    // (the empty state when the series is empty).
    await page.fill('#f-from', '2001-01-01');
    await page.fill('#f-to', '2001-03-31');
    await page.click('#filters button[type=submit]');
    await waitState(page, 'ready');
    const { data } = await checkEnrollment(page, w, overview.min_group);
    if (data.series.length === 0) {
      assert.match(await page.textContent('#view-enrollment .state-msg'), /No enrolment data/);
    }
    await page.locator('#view-enrollment').screenshot({ path: join(SHOTS, 'manage-enrollment-empty.png') });
    assertClean(w);
    await page.close();
  });

  test('each CSV button downloads the API\'s CSV', async () => {
    const { page, w } = await session(context);
    await page.selectOption('#f-interval', 'month');
    await page.click('#filters button[type=submit]');
    await waitState(page, 'ready');

    const grab = async (selector) => {
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: TIMEOUT }), page.click(selector)]);
      assert.match(dl.suggestedFilename(), /\.csv$/);
      return readFile(await dl.path(), 'utf8');
    };
    // The file is the API's CSV for the page's own query, byte for byte,
    // and starts like a direct call's.
    const q = lastEnrollmentQuery(w);
    q.searchParams.set('format', 'csv');
    const enrolCsv = await grab('#view-enrollment .csv');
    assert.equal(enrolCsv, await answer(w, q.pathname + q.search), 'enrolment CSV');
    const firstLine = (t) => t.split('\r\n')[0].split('\n')[0];
    assert.equal(firstLine(enrolCsv), firstLine(await api(q.pathname + q.search, 'text/csv')));
    assert.ok(enrolCsv.split('\n').length > 1, 'a header and rows');

    const overviewCsv = await grab('#view-districts .csv');
    assert.equal(overviewCsv, await answer(w, '/v1/stats/overview?format=csv'), 'overview CSV');
    assert.equal(firstLine(overviewCsv), firstLine(await api('/v1/stats/overview?format=csv', 'text/csv')));

    const firstCampaign = await page.$('#view-campaigns .csv-row');
    if (firstCampaign) {
      const id = await page.evaluate(() => document.querySelector('#view-campaigns tbody tr').dataset.row);
      const cmpCsv = await grab('#view-campaigns .csv-row');
      assert.equal(cmpCsv, await answer(w, `/v1/stats/campaigns/${encodeURIComponent(id)}?format=csv`));
    }
    assert.ok(w.requests.every((u) => !u.includes(KEY)), 'no request URL carries the key');
    assertClean(w);
    await page.close();
  });

  test('a bad key gets the 401 message and stays out', async () => {
    const { page, w } = await session(context, {
      key: 'pk_notakey_0000000000000000', state: 'bad-key', allow: allowFailedApi(401) });
    assert.match(await page.textContent('#key-error'), /401/);
    assert.equal(await page.isVisible('#dashboard'), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('perkd.manager_key')), null);
    await page.screenshot({ path: join(SHOTS, 'manage-bad-key.png') });

    // A paste slip is caught before any call (submitted with Enter).
    const calls = w.requests.length;
    await page.fill('#key', 'pk_two words');
    await page.press('#key', 'Enter');
    assert.match(await page.textContent('#key-error'), /spaces/);
    assert.equal(w.requests.length, calls);
    assertClean(w);
    await page.close();
  });

  test('a key without the manager role gets the 403 message', { skip: OTHER_KEY ? false : 'no PERKD_ISSUER_KEY / PERKD_PARTNER_KEY' }, async () => {
    const { page, w } = await session(context, { key: OTHER_KEY, state: 'bad-key', allow: allowFailedApi(403) });
    assert.match(await page.textContent('#key-error'), /403/);
    await page.screenshot({ path: join(SHOTS, 'manage-not-manager.png') });
    assertClean(w);
    await page.close();
  });

  test('a database that is down gets the 503 notice, and Retry recovers', async () => {
    // The stack's database is shared with other suites, so the outage is
    // played by the browser: the overview answers 503 as perkd does when
    // MariaDB is gone.
    const outage = (route) => route.fulfill({
      status: 503,
      contentType: 'application/problem+json',
      body: JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503,
        detail: 'The database is not available.', code: 'database_unavailable' }),
    });
    const { page, w } = await session(context, {
      state: 'unavailable', allow: allowFailedApi(503), prepare: (p) => p.route('**/v1/stats/overview*', outage) });
    assert.match(await page.textContent('#notice'), /503/);
    assert.equal(await page.isVisible('#notice-retry'), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('perkd.manager_key')), KEY, 'the key is kept');
    await page.screenshot({ path: join(SHOTS, 'manage-503.png') });
    await page.unroute('**/v1/stats/overview*', outage);
    await page.click('#notice-retry');
    await waitState(page, 'ready');
    assert.equal(await page.isVisible('#notice'), false);
    assertClean(w);
    await page.close();
  });

  test('without Chart.js the numbers are still there, as tables', async () => {
    const { page, w } = await session(context, {
      allow: (text, url) => url.endsWith('/manage/vendor/chart.umd.js'),
      prepare: (p) => p.route('**/manage/vendor/chart.umd.js', (route) => route.abort()),
    });
    assert.match(await page.textContent('#chart-version'), /npm run vendor/);
    const missing = await page.$$eval('#view-districts .chart.missing', (els) => els.length);
    assert.equal(missing, 1, 'the chart says it is unavailable');
    assert.equal(await page.isVisible('#view-districts .table-wrap table'), true, 'the table is shown instead');
    const ov = await answerJson(w, '/v1/stats/overview');
    assertTable(await tableData(page, 'districts'), ov.districts, 'code',
      ['members', 'population', 'opt_in_rate'], ov.min_group, 'districts without charts');
    await page.locator('#view-districts').screenshot({ path: join(SHOTS, 'manage-no-chartjs.png') });
    assertClean(w);
    await page.close();
  });

  test('forget key, and a narrow screen', async () => {
    const { page, w } = await session(context, { prepare: (p) => p.setViewportSize({ width: 390, height: 844 }) });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling on a phone (${overflow}px too wide)`);
    await page.screenshot({ path: join(SHOTS, 'manage-mobile.png'), fullPage: true });
    await page.click('#forget');
    assert.equal(await page.isVisible('#login'), true);
    assert.equal(await page.$$eval('#kpis > *, .table-wrap tr, canvas', (els) => els.length), 0,
      'no figure of the forgotten key is left in the page');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('perkd.manager_key')), null);
    assertClean(w);
    await page.close();
  });
});
