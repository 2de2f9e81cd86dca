/*
 * i18n.test.mjs: needs no stack. Every string key the resident and
 * partner pages use exists in every language of web/shared/i18n.js, no
 * language has a key the others lack, and a translation keeps the
 * {placeholders} of the English text (so no value goes missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
const DIRS = ['app', 'partner', 'shared'];

// i18n.js imports nothing, so it can be loaded as a data: module (web/ has
// no package.json saying its .js files are ES modules).
const source = readFileSync(join(WEB, 'shared', 'i18n.js'), 'utf8');
const i18n = await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`);

function usedKeys() {
  const keys = new Set();
  for (const d of DIRS) {
    for (const f of readdirSync(join(WEB, d))) {
      const text = readFileSync(join(WEB, d, f), 'utf8');
      if (f.endsWith('.js')) {
        for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g)) keys.add(m[1]);
        // keys passed to helpers that translate later: 'partner.x', 'signin.x' ...
        for (const m of text.matchAll(/'((?:partner|signin|perks|vouchers|activity|access|data|consent|home)\.[a-zA-Z0-9_]+)'/g)) keys.add(m[1]);
      } else if (f.endsWith('.html')) {
        for (const m of text.matchAll(/data-i18n="([a-zA-Z0-9_.]+)"/g)) keys.add(m[1]);
      }
    }
  }
  // Keys built at run time from the API's enums.
  for (const st of ['issued', 'used', 'cancelled', 'expired']) keys.add(`status.${st}`);
  for (const a of ['award', 'voucher_check', 'voucher_use', 'pass_check']) keys.add(`access.${a}`);
  return keys;
}

function placeholders(v) {
  const texts = typeof v === 'object' ? Object.values(v) : [v];
  return new Set(texts.flatMap((x) => [...x.matchAll(/\{(\w+)\}/g)].map((m) => m[1])));
}

test('every language has every key the pages use', () => {
  const byLang = Object.fromEntries(Object.entries(i18n.stringsForTest()).map(([l, tb]) => [l, Object.keys(tb)]));
  const used = usedKeys();
  assert.ok(used.size > 100, `found the keys in use (${used.size})`);
  for (const [lang, keys] of Object.entries(byLang)) {
    const have = new Set(keys);
    const missing = [...used].filter((k) => !have.has(k));
    assert.deepEqual(missing, [], `${lang} lacks keys`);
  }
  const en = new Set(byLang.en);
  for (const [lang, keys] of Object.entries(byLang)) {
    assert.deepEqual(keys.filter((k) => !en.has(k)), [], `${lang} has keys English lacks`);
    assert.deepEqual(byLang.en.filter((k) => !keys.includes(k)), [], `${lang} lacks English keys`);
  }
});

test('translations keep the placeholders of the English text', () => {
  const strings = i18n.stringsForTest();
  for (const [lang, table] of Object.entries(strings)) {
    for (const [key, value] of Object.entries(table)) {
      const want = [...placeholders(strings.en[key])].sort();
      assert.deepEqual([...placeholders(value)].sort(), want, `${lang} ${key}`);
    }
  }
});

test('plural texts and placeholders render', () => {
  assert.equal(i18n.t('perks.cost', { n: 1 }), '1 point');
  assert.equal(i18n.t('perks.cost', { n: 5 }), '5 points');
  assert.equal(i18n.t('no.such.key', {}, 'fallback'), 'fallback');
  assert.ok(i18n.LANGS['zh-Hans'] && i18n.LANGS.en);
});
