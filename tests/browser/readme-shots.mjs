/*
 * readme-shots.mjs: regenerates the README's screenshots,
 * docs/screenshots/resident.png (phone) and docs/screenshots/partner.png
 * (desktop), from the running stack described by the environment:
 *
 *   . var/dev.env && node tests/browser/readme-shots.mjs
 *
 * It enrols a fresh demo resident, has the demo issuer award a few blood
 * donations, redeems the demo partner's cheapest voucher, and shows the
 * resident's home and the partner's answer for that voucher. Not a test
 * (node --test does not pick it up); it fails loudly if anything fails.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  stack, launch, openPage, mintToken, newSubject, enrolByApi, awardUntil, apiOk, items,
  pickVoucherPerk, partnerName, PHONE, DESKTOP,
} from './lib.mjs';

const OUT = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'docs', 'screenshots');
const s = stack();
if (s.skip) throw new Error(s.skip);

const subject = newSubject('readme');
const token = mintToken(s.residentSecret, subject);
await enrolByApi(s, token);
const tiers = await apiOk(s, 'GET', '/v1/tiers');
const perk = pickVoucherPerk(items(await apiOk(s, 'GET', '/v1/perks?limit=500')), tiers.tiers, await partnerName(s));
await awardUntil(s, subject, perk.cost_points + 2 * tiers.star_points,
  async () => (await apiOk(s, 'GET', '/v1/me', { auth: token })).lifetime_points);
const red = await apiOk(s, 'POST', '/v1/me/redemptions', { auth: token, body: { perk_id: perk.id }, idem: randomUUID() }, [201]);

mkdirSync(OUT, { recursive: true });
const browser = await launch({ scale: 2 });
try {
  const r = await openPage(browser, PHONE);
  await r.page.goto(`${s.url}/#token=${token}`);
  await r.page.locator('#perks').waitFor();
  await r.page.screenshot({ path: join(OUT, 'resident.png') });
  r.assertClean();

  const p = await openPage(browser, DESKTOP);
  await p.page.goto(`${s.url}/partner/`);
  await p.page.locator('#partner-key').fill(s.partnerKey);
  await p.page.getByRole('button', { name: /use this key/i }).click();
  await p.page.locator('#code').fill(red.voucher_code);
  await p.page.locator('#check').click();
  await p.page.getByTestId('verdict').filter({ hasText: 'VALID' }).waitFor();
  await p.page.locator('#check').focus();   // no focus ring in the middle of the code
  await p.page.screenshot({ path: join(OUT, 'partner.png'), clip: { x: 0, y: 0, width: DESKTOP.width, height: 520 } });
  p.assertClean();
} finally {
  await browser.close();
  // The demo resident leaves again: nothing of them stays behind.
  await apiOk(s, 'DELETE', '/v1/me', { auth: token }, [204]);
}
console.log(`wrote ${join(OUT, 'resident.png')} and ${join(OUT, 'partner.png')}`);
