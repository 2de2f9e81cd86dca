/*
 * resident.test.mjs: the resident's journey in a phone-sized chromium
 * against a real stack: sign in from the identity provider's redirect,
 * enrol with consent, receive an award from the demo issuer (through the
 * API), see balance and stars change, redeem a perk, have the partner
 * counter page check and use the voucher, see it used, show a status
 * pass, export the data, and leave. Every step saves a screenshot; any
 * console error, page error or unexpected failed request fails the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  stack, launch, openPage, screenshot, assertAccessible, SHOTS, mintToken, newSubject, api, apiOk, items, awardUntil,
  pickVoucherPerk, partnerName, freshPartnerKey, enrolByApi, issuerRules,
  PHONE, DESKTOP,
} from './lib.mjs';

const s = stack();

test('resident journey: sign in, enrol, earn, redeem, voucher used at the counter, export, leave', { skip: s.skip }, async (t) => {
  const subject = newSubject('resident');
  const token = mintToken(s.residentSecret, subject);
  const browser = await launch();
  t.after(() => browser.close());
  const r = await openPage(browser, PHONE);
  const { page } = r;
  const me = async () => apiOk(s, 'GET', '/v1/me', { auth: token });

  const tiers = await apiOk(s, 'GET', '/v1/tiers');
  const ladder = tiers.tiers || [];
  const partner = await partnerName(s);
  const perk = pickVoucherPerk(items(await apiOk(s, 'GET', '/v1/perks?limit=500')), ladder, partner);
  assert.ok(perk, `the demo catalogue has a voucher perk of ${partner} that a new member can redeem`);
  const issuers = items(await apiOk(s, 'GET', '/v1/issuers'));
  const rules = items(await apiOk(s, 'GET', '/v1/rules'));
  let district = null;

  await t.test('signs in from the URL fragment and sees the consent screen', async () => {
    r.expectFailure('/v1/me', 404);   // not enrolled yet: the page asks /v1/me first
    // A controllable clock (it runs in real time until fast-forwarded), for
    // the pass's expiry below.
    await page.clock.install();
    await page.goto(`${s.url}/#token=${token}`);
    await page.locator('#consent-h').waitFor();
    assert.ok(!page.url().includes('token'), `the token is gone from the address bar (${page.url()})`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('perkd.resident.token')), token);
    assert.equal(await page.locator('ul.rules > li').count(), rules.length, 'every public rule is listed');
    const boxes = page.locator('input[name="sources"]');
    assert.equal(await boxes.count(), issuers.length, 'every issuer has a checkbox');
    for (let i = 0; i < issuers.length; i++) assert.ok(await boxes.nth(i).isChecked(), 'issuers start ticked');
    assert.equal(await page.locator('#agree').isChecked(), false, 'consent starts unticked');
    await assertAccessible(page);
    await screenshot(page, 'resident-01-consent');
  });

  await t.test('enrols only with explicit consent and a district', async () => {
    await page.locator('#district').selectOption({ index: 1 });
    district = await page.locator('#district').inputValue();
    await page.getByRole('button', { name: /join perkd/i }).click();
    await page.locator('.form-status .note.error').waitFor();   // consent box not ticked: no request
    assert.equal((await api(s, 'GET', '/v1/me', { auth: token })).status, 404);
    // Untick an issuer other than the demo issuer, if there is one.
    const other = issuers.find((o) => o.id !== s.issuerOrg);
    if (other && s.issuerOrg) await page.locator(`#src-${other.id}`).uncheck();
    await page.locator('#agree').check();
    await screenshot(page, 'resident-02-consent-filled');
    await page.getByRole('button', { name: /join perkd/i }).click();
    await page.locator('#summary').waitFor();
    await page.locator('#perks').waitFor();
    assert.equal(await page.getByTestId('balance').textContent(), '0');
    const m = await me();
    assert.equal(m.district, district);
    assert.equal(m.balance, 0);
    await screenshot(page, 'resident-03-home-new');
  });

  await t.test('an award from the issuer raises balance and stars', async () => {
    const starsBefore = Number(await page.locator('.stars-flags').getAttribute('data-stars'));
    const target = Math.max(tiers.star_points || 100, perk.cost_points);
    const awards = await awardUntil(s, subject, target, async () => (await me()).lifetime_points);
    assert.ok(awards.length > 0, 'at least one award was made');
    const m = await me();
    assert.ok(m.lifetime_points >= target, `lifetime ${m.lifetime_points} reached ${target}`);
    await page.locator('#refresh').click();
    await page.waitForFunction((n) => document.querySelector('[data-testid="balance"]').textContent.replace(/\D/g, '') === String(n), m.balance);
    const starsAfter = Number(await page.locator('.stars-flags').getAttribute('data-stars'));
    assert.ok(starsAfter > starsBefore, `stars went from ${starsBefore} to ${starsAfter}`);
    assert.equal(starsAfter, m.tier.stars);
    assert.equal(await page.locator('.stars .icon.star.on').count(), m.tier.stars % (tiers.stars_per_flag || 6));
    const ruleTitle = rules.find((x) => x.code === awards[0].rule).title;
    await page.locator('li.ledger.award', { hasText: ruleTitle }).first().waitFor();
    await assertAccessible(page);
    await screenshot(page, 'resident-04-earned');
  });

  let red = null;
  await t.test('redeems a perk after confirming, and sees the voucher with its QR code', async () => {
    const before = (await me()).balance;
    const card = page.locator(`li.perk[data-perk-id="${perk.id}"]`);
    await card.getByRole('button').click();
    const confirm = page.locator('dialog.modal[open]');
    await confirm.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.dataset.action), 'close', 'the dialog opens on "not now"');
    await screenshot(page, 'resident-05-confirm');
    await confirm.locator('[data-action="redeem"]').click();
    const dlg = page.locator('dialog.voucher[open]');
    await dlg.waitFor();
    await dlg.locator('img.qr').waitFor({ state: 'visible' });
    assert.ok(await dlg.locator('img.qr').evaluate((img) => img.naturalWidth > 0), 'the QR image decoded');
    const code = (await dlg.getByTestId('voucher-code').textContent()).trim();
    assert.ok(code.length >= 16, `a voucher code is shown (${code})`);
    // The QR code on screen holds exactly the code printed under it.
    const qrFile = join(SHOTS, 'resident-06-voucher-qr.png');
    await dlg.locator('img.qr').screenshot({ path: qrFile });
    const decoded = execFileSync('zbarimg', ['--quiet', '--raw', qrFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    assert.equal(decoded.replace(/[-\s]/g, '').toUpperCase(), code.replace(/[-\s]/g, '').toUpperCase());
    await screenshot(page, 'resident-06-voucher');
    await dlg.locator('[data-action="close"]').click();
    const reds = items(await apiOk(s, 'GET', '/v1/me/redemptions', { auth: token }));
    red = reds.find((x) => x.perk_id === perk.id && x.status === 'issued');
    assert.ok(red, 'the redemption is issued');
    red.code = code;
    assert.equal((await me()).balance, before - perk.cost_points);
    await page.locator(`li.voucher[data-redemption-id="${red.id}"][data-status="issued"]`).waitFor();
  });

  await t.test('the partner counter page checks the voucher and marks it used', async () => {
    const partnerKey = await freshPartnerKey(s);
    t.after(() => partnerKey.revoke());
    const p = await openPage(browser, DESKTOP);
    await p.page.goto(`${s.url}/partner/`);
    await p.page.locator('#partner-key').fill(partnerKey.key);
    await p.page.getByRole('button', { name: /use this key/i }).click();
    // Typed the way a person reads it out: lower case, spaces for dashes.
    await p.page.locator('#code').fill(` ${red.code.toLowerCase().replace(/-/g, ' ')} `);
    await p.page.locator('#check').click();
    await p.page.getByTestId('verdict').filter({ hasText: 'VALID' }).waitFor();
    assert.match(await p.page.locator('#result').textContent(), new RegExp(perk.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    await screenshot(p.page, 'partner-01-valid');
    await p.page.locator('#use').click();
    await p.page.getByTestId('verdict').filter({ hasText: 'ACCEPTED' }).waitFor();
    await screenshot(p.page, 'partner-02-accepted');
    await p.page.locator('#code').fill(red.code);
    await p.page.locator('#check').click();
    await p.page.getByTestId('verdict').filter({ hasText: 'ALREADY USED' }).waitFor();
    await screenshot(p.page, 'partner-03-already-used');
    const text = await p.page.locator('main').textContent();
    assert.ok(!text.includes(subject), 'nothing about the resident on the partner page');
    p.assertClean();
    await p.page.close();
  });

  await t.test('the resident sees the voucher used and the partner in the access log', async () => {
    await page.locator('#refresh').click();
    await page.locator(`li.voucher[data-redemption-id="${red.id}"][data-status="used"]`).waitFor();
    await page.locator('li.access[data-action="voucher_use"]').first().waitFor();
    await page.locator('#vouchers').scrollIntoViewIfNeeded();
    await screenshot(page, 'resident-07-used');
  });

  await t.test('cancels an unused voucher and gets the points back', async () => {
    await awardUntil(s, subject, perk.cost_points, async () => (await me()).balance);
    const before = (await me()).balance;
    await page.locator('#refresh').click();
    await page.locator(`li.perk[data-perk-id="${perk.id}"] button`).click();
    await page.locator('dialog.modal[open] [data-action="redeem"]').click();
    await page.locator('dialog.voucher[open] [data-action="close"]').click();
    const second = items(await apiOk(s, 'GET', '/v1/me/redemptions', { auth: token }))
      .find((x) => x.status === 'issued' && x.id !== red.id);
    assert.ok(second, 'a second voucher was issued');
    await page.locator(`li.voucher[data-redemption-id="${second.id}"] button`).click();
    await page.locator('dialog.voucher[open] [data-action="cancel-voucher"]').click();
    const sure = page.locator('dialog.modal[open]');
    await sure.waitFor();
    await screenshot(page, 'resident-07b-cancel');
    await sure.locator('[data-action="cancel-voucher"]').click();
    await page.locator(`li.voucher[data-redemption-id="${second.id}"][data-status="cancelled"]`).waitFor();
    await page.locator('li.ledger.refund').first().waitFor();
    assert.equal((await me()).balance, before);
    await page.waitForFunction((n) => document.querySelector('[data-testid="balance"]').textContent.replace(/\D/g, '') === String(n), before);
  });

  await t.test('reviews and saves who may report acts', async () => {
    await page.locator('#sources summary').click();
    await page.locator('#save-sources').waitFor();
    const other = issuers.find((o) => o.id !== s.issuerOrg);
    if (s.issuerOrg) assert.ok(await page.locator(`#my-src-${s.issuerOrg}`).isChecked(), 'the demo issuer is allowed');
    if (other && s.issuerOrg) assert.equal(await page.locator(`#my-src-${other.id}`).isChecked(), false, 'the issuer unticked at enrolment stays unticked');
    await page.locator('#save-sources').click();
    await page.locator('#sources .form-status', { hasText: /saved/i }).waitFor();
    await page.locator('#sources').scrollIntoViewIfNeeded();
    await screenshot(page, 'resident-08-sources');
  });

  await t.test('shows a status pass with a QR code and a live countdown', async () => {
    const status = page.locator('li.perk.now[data-kind="status"]');
    if (await status.count() === 0) {
      const any = items(await apiOk(s, 'GET', '/v1/perks?limit=500')).some((x) => x.kind === 'status');
      assert.ok(!any || ladder.length > 1, 'a status perk open to this member is offered');
      t.diagnostic('no status perk is unlocked for a new member in this catalogue');
      return;
    }
    await status.first().getByRole('button').click();
    const dlg = page.locator('dialog.pass[open]');
    await dlg.waitFor();
    await dlg.locator('img.qr').waitFor({ state: 'visible' });
    assert.equal(await dlg.getByRole('button', { name: /new pass/i }).isVisible(), false, 'no "new pass" while the pass is valid');
    const first = await dlg.getByTestId('pass-countdown').textContent();
    assert.match(first, /^\d+:\d\d$/);
    await page.waitForFunction((f) => document.querySelector('[data-testid="pass-countdown"]').textContent !== f, first, { timeout: 3000 });
    await screenshot(page, 'resident-08b-pass');
    // Ten minutes later the pass says it has expired and offers a new one.
    await page.clock.fastForward('10:05');
    await dlg.getByRole('button', { name: /new pass/i }).waitFor({ state: 'visible' });
    assert.match(await dlg.locator('.pass-state').textContent(), /expired/i);
    await screenshot(page, 'resident-08c-pass-expired');
    await dlg.locator('[data-action="close"]').click();
  });

  await t.test('exports the data as a JSON file', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export').click()]);
    assert.match(download.suggestedFilename(), /^perkd-export-\d{4}-\d{2}-\d{2}\.json$/);
    const text = readFileSync(await download.path(), 'utf8');
    const doc = JSON.parse(text);
    assert.ok(doc && typeof doc === 'object');
    assert.ok(text.includes(red.id), 'the export lists the redemption');
    assert.ok(!text.includes(subject), 'the raw subject is not in the export (perkd never stores it)');
    await screenshot(page, 'resident-09-exported');
  });

  await t.test('leaves the programme after one explained confirmation', async () => {
    await page.locator('#leave').click();
    const dlg = page.locator('dialog.modal[open]');
    await dlg.waitFor();
    assert.ok((await dlg.locator('li').count()) >= 4, 'what is erased is listed');
    await screenshot(page, 'resident-10-leave');
    await dlg.locator('[data-action="leave"]').click();
    await page.locator('#left-h').waitFor();
    await screenshot(page, 'resident-11-left');
    const after = await api(s, 'GET', '/v1/me', { auth: token });
    assert.equal(after.status, 404);
    assert.equal(after.body.code, 'not_enrolled');
  });

  r.assertClean();
});

test('a refused token shows the sign-in explanation, in either language', { skip: s.skip }, async (t) => {
  const browser = await launch();
  t.after(() => browser.close());
  const r = await openPage(browser, PHONE);
  const bad = mintToken(`${s.residentSecret}-not-the-secret`, newSubject('refused'));
  r.expectFailure('/v1/me', 401);
  await r.page.goto(`${s.url}/#token=${bad}`);
  await r.page.locator('section.signin').waitFor();
  assert.equal(await r.page.evaluate(() => sessionStorage.getItem('perkd.resident.token')), null, 'a refused token is dropped');
  assert.match(await r.page.locator('section.signin').textContent(), /sign in again/i);
  await assertAccessible(r.page);
  await screenshot(r.page, 'resident-12-signin-refused');
  await r.page.locator('#lang-switch').selectOption('zh-Hans');
  await r.page.locator('section.signin h1', { hasText: '登录' }).waitFor();
  assert.equal(await r.page.evaluate(() => document.documentElement.lang), 'zh-Hans');
  await screenshot(r.page, 'resident-13-signin-zh');
  r.assertClean();
});

test('problems are shown in words, and one failing part leaves the rest usable', { skip: s.skip }, async (t) => {
  const subject = newSubject('problems');
  const token = mintToken(s.residentSecret, subject);
  await enrolByApi(s, token);
  const tiers = await apiOk(s, 'GET', '/v1/tiers');
  const perk = pickVoucherPerk(items(await apiOk(s, 'GET', '/v1/perks?limit=500')), tiers.tiers, await partnerName(s));
  await awardUntil(s, subject, perk.cost_points,
    async () => (await apiOk(s, 'GET', '/v1/me', { auth: token })).balance);
  const browser = await launch();
  t.after(() => browser.close());
  const r = await openPage(browser, PHONE);
  const { page } = r;
  const problem = (status, code, title, headers = {}) => ({
    status, headers, contentType: 'application/problem+json',
    body: JSON.stringify({ type: `urn:perkd:problem:${code}`, title, status, detail: title, code }),
  });
  // The ledger's database is down; the perk runs out just as it is redeemed.
  await page.route('**/v1/me/ledger*', (route) => route.fulfill(problem(503, 'database_unavailable', 'Database unavailable', { 'Retry-After': '5' })));
  await page.route('**/v1/me/redemptions', (route) => (route.request().method() === 'POST'
    ? route.fulfill(problem(409, 'out_of_stock', 'Out of stock')) : route.continue()));
  r.expectFailure('/v1/me/ledger', 503);
  r.expectFailure('/v1/me/redemptions', 409);

  await page.goto(`${s.url}/#token=${token}`);
  await page.locator('#activity .note.error', { hasText: /not available right now/i }).waitFor();
  await page.locator('#summary').waitFor();
  await page.locator(`li.perk[data-perk-id="${perk.id}"] button`).click();
  await page.locator('dialog.modal[open] [data-action="redeem"]').click();
  const dlg = page.locator('dialog.problem[open]');
  await dlg.locator('h2', { hasText: 'This perk has just run out.' }).waitFor();
  await screenshot(page, 'resident-14-problem');
  await dlg.locator('[data-action="close"]').click();

  await page.locator('#lang-switch').selectOption('zh-Hans');
  await page.locator(`li.perk[data-perk-id="${perk.id}"] button`).click();
  await page.locator('dialog.modal[open] [data-action="redeem"]').click();
  await page.locator('dialog.problem[open] h2', { hasText: '此权益刚刚兑完。' }).waitFor();
  await page.locator('dialog.problem[open] [data-action="close"]').click();
  const reds = items(await apiOk(s, 'GET', '/v1/me/redemptions', { auth: token }));
  assert.equal(reds.length, 0, 'the refused redemptions issued nothing');
  r.assertClean();
  await apiOk(s, 'DELETE', '/v1/me', { auth: token }, [204]);
});

test('long lists page with "show more", focus on the first new entry', { skip: s.skip }, async (t) => {
  const subject = newSubject('paging');
  const token = mintToken(s.residentSecret, subject);
  await enrolByApi(s, token);
  // 25 awards from the issuer's rule without a daily cap.
  const rule = (await issuerRules(s)).find((r) => !r.daily_cap);
  assert.ok(rule, 'the demo issuer has a rule without a daily cap');
  for (let i = 0; i < 25; i++) {
    await apiOk(s, 'POST', '/v1/awards', { auth: s.issuerKey, body: { subject, rule: rule.code, external_ref: `paging-${randomUUID()}` } }, [201]);
  }
  const browser = await launch();
  t.after(() => browser.close());
  const r = await openPage(browser, PHONE);
  await r.page.goto(`${s.url}/#token=${token}`);
  await r.page.locator('#activity li.ledger').first().waitFor();
  assert.equal(await r.page.locator('#activity li.ledger').count(), 20);
  await r.page.locator('#activity-more').click();
  await r.page.waitForFunction(() => document.querySelectorAll('#activity li.ledger').length === 25);
  assert.equal(await r.page.locator('#activity-more').count(), 0, 'no "show more" after the last page');
  assert.equal(await r.page.evaluate(() => [...document.querySelectorAll('#activity li')].indexOf(document.activeElement)), 20);
  r.assertClean();
  await apiOk(s, 'DELETE', '/v1/me', { auth: token }, [204]);
});
