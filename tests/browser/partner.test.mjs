/*
 * partner.test.mjs: the partner counter page in a desktop-sized chromium
 * against a real stack: the key is asked once and kept for the tab, a
 * refused key is asked again, unknown codes, valid, used and cancelled
 * vouchers and status passes get their large unambiguous answers, the
 * whole check works from the keyboard, and nothing about the resident
 * ever appears. Vouchers and passes are made through the API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  stack, launch, openPage, screenshot, assertAccessible, apiOk, items, pickVoucherPerk, pickStatusPerk,
  memberWithVoucher, mintToken, newSubject, enrolByApi, awardUntil, partnerName, freshPartnerKey, newPartnerOrg, DESKTOP,
} from './lib.mjs';

const s = stack();

/* A fresh partner key (of the demo partner, or of an organisation of its
 * own if ownOrg) and a browser, both cleaned up after test t. */
async function counterSetup(t, launchOptions, ownOrg = false) {
  const partnerKey = ownOrg ? await newPartnerOrg(s) : await freshPartnerKey(s);
  t.after(() => partnerKey.revoke());
  const browser = await launch(launchOptions);
  t.after(() => browser.close());
  return { partnerKey, browser };
}

async function signInCounter(page, key) {
  await page.goto(`${s.url}/partner/`);
  await page.locator('#partner-key').fill(key);
  await page.getByRole('button', { name: /use this key/i }).click();
}

async function verdict(page, word) {
  await page.getByTestId('verdict').filter({ hasText: new RegExp(`^${word}$`) }).waitFor();
}

test('partner counter: key, vouchers of every status, keyboard use', { skip: s.skip }, async (t) => {
  const tiers = await apiOk(s, 'GET', '/v1/tiers');
  const perks = items(await apiOk(s, 'GET', '/v1/perks?limit=500'));
  const perk = pickVoucherPerk(perks, tiers.tiers || [], await partnerName(s));
  assert.ok(perk, 'the demo catalogue has a voucher perk of the demo partner');
  const { partnerKey, browser } = await counterSetup(t);
  const p = await openPage(browser, DESKTOP);
  const { page } = p;

  await t.test('asks for the key, refuses a malformed one, and asks again after a refused one', async () => {
    await page.goto(`${s.url}/partner/`);
    await page.locator('#partner-key').waitFor();
    await assertAccessible(page);
    await screenshot(page, 'partner-10-key');
    await page.locator('#partner-key').fill('not a key');
    await page.getByRole('button', { name: /use this key/i }).click();
    await page.locator('#partner-key-error', { hasText: /pk_/ }).waitFor();
    // A well-formed key that the service does not know: 401, asked again.
    p.expectFailure('/v1/vouchers/check', 401);
    await signInCounter(page, `pk_${randomUUID().replace(/-/g, '')}_${randomUUID().replace(/-/g, '')}`);
    await page.locator('#code').fill('AAAA-BBBB-CCCC-DDDD');
    await page.locator('#check').click();
    await page.locator('.keyform .note.error').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('perkd.partner.key')), null);
  });

  await t.test('an unknown code is "not yours or unknown"', async () => {
    await page.locator('#partner-key').fill(partnerKey.key);
    await page.getByRole('button', { name: /use this key/i }).click();
    p.expectFailure('/v1/vouchers/check', 404);
    await page.locator('#code').fill('0000-0000-0000-0000-0000-0000');
    await page.locator('#check').click();
    await verdict(page, 'NOT YOURS OR UNKNOWN');
    assert.equal(await page.locator('#use').count(), 0, 'no "mark as used" for an unknown code');
    await screenshot(page, 'partner-11-unknown');
  });

  await t.test('a valid voucher is checked and used with the keyboard only', async () => {
    const { red, subject } = await memberWithVoucher(s, perk);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'code', 'after an answer the cursor is back in the code field');
    // The previous code is selected: typing replaces it.
    await page.keyboard.type(red.voucher_code.toLowerCase());
    await page.keyboard.press('Enter');
    await verdict(page, 'VALID');
    await page.locator('#use').focus();
    await page.keyboard.press('Enter');
    await verdict(page, 'ACCEPTED');
    const shown = await page.locator('main').textContent();
    assert.ok(!shown.includes(subject), 'the resident is never shown');
    await assertAccessible(page);
    await screenshot(page, 'partner-12-accepted');
    await page.locator('#code').fill(red.voucher_code);
    await page.locator('#check').click();
    await verdict(page, 'ALREADY USED');
  });

  await t.test('a cancelled voucher says so and offers no "mark as used"', async () => {
    const { red, token } = await memberWithVoucher(s, perk);
    await apiOk(s, 'DELETE', `/v1/me/redemptions/${red.id}`, { auth: token }, [200, 204]);
    await page.locator('#code').fill(red.voucher_code);
    await page.locator('#check').click();
    await verdict(page, 'CANCELLED');
    assert.equal(await page.locator('#use').count(), 0);
    await screenshot(page, 'partner-13-cancelled');
  });

  await t.test('forgetting the key asks for it again', async () => {
    await page.locator('#forget').click();
    await page.locator('#partner-key').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('perkd.partner.key')), null);
  });

  p.assertClean();
});

test('partner counter: a status pass is entitled, a forged one is not', { skip: s.skip }, async (t) => {
  const tiers = await apiOk(s, 'GET', '/v1/tiers');
  const perks = items(await apiOk(s, 'GET', '/v1/perks?limit=500'));
  const pick = pickStatusPerk(perks, tiers.tiers || [], await partnerName(s));
  assert.ok(pick, 'the demo partner honours a status perk');
  const status = pick.perk;
  const subject = newSubject('pass');
  const token = mintToken(s.residentSecret, subject);
  await enrolByApi(s, token);
  // Earn the tier the perk needs.
  await awardUntil(s, subject, pick.points,
    async () => (await apiOk(s, 'GET', '/v1/me', { auth: token })).lifetime_points);
  const pass = await apiOk(s, 'POST', '/v1/me/passes', { auth: token, body: { perk_id: status.id }, idem: randomUUID() }, [201]);
  assert.ok(pass.pass_code && pass.expires_at);

  const { partnerKey, browser } = await counterSetup(t);
  const p = await openPage(browser, DESKTOP);
  const { page } = p;
  await signInCounter(page, partnerKey.key);
  await page.locator('#mode-pass').check();
  await page.locator('#pass').fill(pass.pass_code);
  assert.equal(await page.locator('#perk').inputValue(), status.id, 'the perk the pass names is preselected');
  await page.locator('#check').click();
  await verdict(page, 'ENTITLED');
  await screenshot(page, 'partner-14-pass-entitled');

  // The same pass with its last character changed: the signature fails.
  const last = pass.pass_code.slice(-1);
  const forged = pass.pass_code.slice(0, -1) + (last === 'A' ? 'B' : 'A');
  p.expectFailure('/v1/passes/check');   // a forged pass may be refused with a 4xx
  await page.locator('#again').click();
  await page.locator('#pass').fill(forged);
  await page.locator('#check').click();
  await page.getByTestId('verdict').filter({ hasText: /^(NOT ENTITLED|NOT A VALID PASS)$/ }).waitFor();
  assert.equal(await page.locator('#result').getAttribute('class'), 'card result bad');
  await screenshot(page, 'partner-15-pass-forged');
  p.assertClean();
});

test('partner counter: scanning a QR code checks what it holds', { skip: s.skip }, async (t) => {
  // Linux chromium has no BarcodeDetector: a stand-in reads whatever the
  // test puts in window.__qr, from chromium's fake camera. What is tested
  // is the page's scan flow: camera dialog, the kind of code, the check.
  const tiers = await apiOk(s, 'GET', '/v1/tiers');
  const perks = items(await apiOk(s, 'GET', '/v1/perks?limit=500'));
  const partner = await partnerName(s);
  const perk = pickVoucherPerk(perks, tiers.tiers || [], partner);
  const pick = pickStatusPerk(perks, tiers.tiers || [], partner);
  const { red } = await memberWithVoucher(s, perk);
  const subject = newSubject('scan');
  const token = mintToken(s.residentSecret, subject);
  await enrolByApi(s, token);
  await awardUntil(s, subject, pick.points,
    async () => (await apiOk(s, 'GET', '/v1/me', { auth: token })).lifetime_points);
  const pass = await apiOk(s, 'POST', '/v1/me/passes', { auth: token, body: { perk_id: pick.perk.id }, idem: randomUUID() }, [201]);

  const { partnerKey, browser } = await counterSetup(t,
    { args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
  await browser.context.grantPermissions(['camera'], { origin: s.url });
  await browser.context.addInitScript(() => {
    window.BarcodeDetector = class {
      constructor(opts) { this.formats = opts && opts.formats; }
      async detect(source) {
        if (!(source instanceof HTMLVideoElement) || source.readyState < 2 || !window.__qr) return [];
        const rawValue = window.__qr;
        window.__qr = null;
        return [{ rawValue, format: 'qr_code' }];
      }
    };
  });
  const p = await openPage(browser, DESKTOP);
  const { page } = p;
  await signInCounter(page, partnerKey.key);

  // A voucher's QR code: checked as a voucher.
  await page.locator('#scan').click();
  await page.locator('dialog[open] video').waitFor();
  await page.evaluate((code) => { window.__qr = code; }, red.voucher_code);
  await verdict(page, 'VALID');
  assert.equal(await page.locator('dialog[open]').count(), 0, 'the camera dialog closed');
  assert.equal(await page.locator('#code').inputValue(), red.voucher_code);

  // A pass's QR code: the page switches to passes and picks the perk.
  await page.locator('#scan').click();
  await page.locator('dialog[open] video').waitFor();
  await page.evaluate((code) => { window.__qr = code; }, pass.pass_code);
  await verdict(page, 'ENTITLED');
  assert.ok(await page.locator('#mode-pass').isChecked());
  assert.equal(await page.locator('#perk').inputValue(), pick.perk.id);
  await screenshot(page, 'partner-16-scanned-pass');
  p.assertClean();
});

test('partner counter: too many failed checks, and an expired voucher', { skip: s.skip }, async (t) => {
  // An organisation of its own: perkd counts failed checks per
  // organisation, and over the limit it refuses every check for a while.
  const { partnerKey, browser } = await counterSetup(t, {}, true);
  const p = await openPage(browser, DESKTOP);
  const { page } = p;
  await signInCounter(page, partnerKey.key);

  // Unknown codes until the limiter answers 429 (LIM_CHECK_FAILS a window).
  p.expectFailure('/v1/vouchers/check', 404);
  p.expectFailure('/v1/vouchers/check', 429);
  let limited = false;
  for (let i = 0; i < 30 && !limited; i++) {
    await page.locator('#code').fill(`ZZZZ-ZZZZ-ZZZZ-${String(i).padStart(4, '0')}`);
    await page.locator('#check').click();
    await page.getByTestId('verdict').filter({ hasText: /^(NOT YOURS OR UNKNOWN|TOO MANY FAILED CHECKS)$/ }).waitFor();
    limited = (await page.getByTestId('verdict').textContent()) === 'TOO MANY FAILED CHECKS';
    if (!limited) await page.locator('#again').click();
  }
  assert.ok(limited, 'failed checks are limited');
  assert.match(await page.locator('#result').textContent(), /wait \d+ seconds?/i);
  await screenshot(page, 'partner-17-rate-limited');

  // An expired voucher (forced: a real one lasts for days).
  const expired = { valid: false, status: 'expired', perk_id: 'prk_X', expires_at: new Date(Date.now() - 3600e3).toISOString() };
  await page.route('**/v1/vouchers/check', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(expired) }));
  await page.locator('#again').click();
  await page.locator('#code').fill('AAAA-BBBB-CCCC-DDDD');
  await page.locator('#check').click();
  await verdict(page, 'EXPIRED');
  assert.equal(await page.locator('#use').count(), 0, 'no "mark as used" for an expired voucher');
  await screenshot(page, 'partner-18-expired');
  p.assertClean();
});
