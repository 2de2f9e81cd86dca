/*
 * partner.js: the counter page at /partner/. A partner pastes its API key
 * once (sessionStorage: gone when the tab closes), then checks a voucher
 * code or a status pass, typed or scanned with the camera where the
 * browser has BarcodeDetector, and marks a valid voucher as used. The API
 * answers carry nothing about the resident, and this page shows only the
 * verdict, the perk and the expiry.
 */
import { request, itemsOf, problemText, ApiError } from '../shared/api.js';
import { t, onLangChange, translatePage, fmtDateTime } from '../shared/i18n.js';
import { h, replace, announce, langSwitch, modal } from '../shared/dom.js';

const KEY = 'perkd.partner.key';
const main = document.getElementById('main');
const state = { mode: 'voucher', perkId: '', keyMessage: '', result: null, perks: null };

/* Voucher codes are Crockford base32 shown in groups: case, spaces and
 * dashes do not matter. Pass codes are signed text: only trim them. */
export function normalizeVoucher(raw) {
  return String(raw || '').toUpperCase().replace(/[\s\u00a0-]+/g, '');
}

/* The perk a pass names (docs/passes.md: v1.<base64url JSON payload>.
 * <base64url signature>, the payload holding "perk"), or null. Read only
 * to preselect the perk: whether the pass is genuine is the server's
 * answer, for the perk the partner chose. */
export function passPerk(code) {
  const m = /^v1\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$/.exec(String(code || '').trim());
  if (!m) return null;
  try {
    const b64 = m[1].replace(/-/g, '+').replace(/_/g, '/');
    const payload = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
    return typeof payload.perk === 'string' ? payload.perk : null;
  } catch (e) {
    return null;
  }
}

/* Selects the perk named by the pass in the pass field, if it is listed. */
function preselectPerk() {
  const pass = document.getElementById('pass');
  const sel = document.getElementById('perk');
  const perk = pass && passPerk(pass.value);
  if (!sel || !perk || ![...sel.options].some((o) => o.value === perk)) return;
  sel.value = perk;
  state.perkId = perk;
}

function key() { return sessionStorage.getItem(KEY); }

function forgetKey(messageKey) {
  sessionStorage.removeItem(KEY);
  state.keyMessage = messageKey || '';
  state.result = null;
  draw();
}

async function call(path, body) {
  return request('POST', path, { auth: key(), body });
}

async function loadPerks() {
  if (state.perks) return;
  try {
    state.perks = { ok: true, value: itemsOf(await request('GET', '/v1/perks?limit=500')) };
  } catch (e) {
    state.perks = { ok: false, error: e };
  }
}

function perkTitle(id) {
  const p = state.perks && state.perks.ok ? state.perks.value.find((x) => x.id === id) : null;
  return p ? p.title : '';
}

/* Sets the verdict: tone ok|bad|warn, a big word, detail lines, and
 * optionally the "mark as used" code. */
function verdict(tone, wordKey, lines, useCode) {
  state.result = { tone, wordKey, lines: lines.filter(Boolean), useCode };
  drawResult();
  announce(`${t(wordKey)}. ${state.result.lines.join('. ')}`);
  // Back to the code, selected: the next code typed or scanned (a scanner
  // types it and presses Enter) replaces it, and never hits "mark as used".
  const field = document.getElementById(state.mode === 'voucher' ? 'code' : 'pass');
  if (field) { field.focus(); field.select(); }
}

/* Handles a failed call; returns true if it was shown. */
function failure(e, context) {
  if (!(e instanceof ApiError)) { verdict('warn', 'partner.error', [String(e)]); return; }
  if (e.status === 401) { forgetKey('partner.keyRejected'); return; }
  if (e.status === 403) { forgetKey('partner.keyNotPartner'); return; }
  if (e.status === 429) {
    verdict('warn', 'partner.slowDown', [e.retryAfter !== undefined ? t('partner.retryIn', { n: e.retryAfter }) : t('partner.retryLater')]);
    return;
  }
  switch (e.code) {
    case 'voucher_not_found':
      verdict('bad', 'partner.notFound', [t('partner.notFoundExplain')]); return;
    case 'already_used':
      verdict('bad', 'partner.used', [e.problem.used_at ? t('partner.usedAt', { at: fmtDateTime(e.problem.used_at) }) : t('partner.usedExplain')]); return;
    case 'voucher_expired':
      verdict('bad', 'partner.expired', [t('partner.expiredExplain')]); return;
    case 'voucher_cancelled':
      verdict('bad', 'partner.cancelled', [t('partner.cancelledExplain')]); return;
    default: {
      const p = problemText(e);
      const bad = e.status === 400 || e.status === 422;
      verdict(bad ? 'bad' : 'warn', bad ? (context === 'pass' ? 'partner.badPass' : 'partner.badCode') : 'partner.error',
        [p.title, p.detail]);
    }
  }
}

async function checkVoucher(raw) {
  const code = normalizeVoucher(raw);
  if (!code) { fieldError('code', 'partner.needCode'); return; }
  busy(true);
  try {
    const r = await call('/v1/vouchers/check', { code });
    await loadPerks();
    const perk = perkTitle(r.perk_id);
    if (r.valid && r.status === 'issued') {
      verdict('ok', 'partner.valid', [perk, t('partner.notUsedYet'),
        r.expires_at ? t('partner.validUntil', { at: fmtDateTime(r.expires_at) }) : ''], code);
    } else if (r.status === 'used') {
      verdict('bad', 'partner.used', [perk, t('partner.usedExplain')]);
    } else if (r.status === 'expired') {
      verdict('bad', 'partner.expired', [perk, t('partner.expiredExplain')]);
    } else if (r.status === 'cancelled') {
      verdict('bad', 'partner.cancelled', [perk, t('partner.cancelledExplain')]);
    } else {
      verdict('bad', 'partner.notValid', [perk]);
    }
  } catch (e) {
    failure(e, 'voucher');
  } finally {
    busy(false);
  }
}

async function useVoucher(code) {
  busy(true);
  try {
    const r = await call('/v1/vouchers/use', { code });
    verdict('ok', 'partner.markedUsed', [t('partner.handOver'), r.used_at ? t('partner.usedAt', { at: fmtDateTime(r.used_at) }) : '']);
    const input = document.getElementById('code');
    if (input) input.value = '';
  } catch (e) {
    failure(e, 'voucher');
  } finally {
    busy(false);
  }
}

async function checkPass(raw, perkId) {
  const passCode = String(raw || '').trim();
  if (!passCode) { fieldError('pass', 'partner.needPass'); return; }
  if (!perkId) { fieldError('perk', 'partner.needPerk'); return; }
  busy(true);
  try {
    const r = await call('/v1/passes/check', { pass_code: passCode, perk_id: perkId });
    const perk = perkTitle(perkId);
    if (r.entitled) {
      verdict('ok', 'partner.entitled', [perk, r.expires_at ? t('partner.passUntil', { at: fmtDateTime(r.expires_at) }) : '']);
    } else {
      verdict('bad', 'partner.notEntitled', [perk, t('partner.notEntitledExplain')]);
    }
  } catch (e) {
    failure(e, 'pass');
  } finally {
    busy(false);
  }
}

function busy(on) {
  for (const b of main.querySelectorAll('button')) b.disabled = on;
  main.setAttribute('aria-busy', on ? 'true' : 'false');
}

function fieldError(id, msgKey) {
  const el = document.getElementById(id);
  const msg = document.getElementById(`${id}-error`);
  if (msg) msg.textContent = t(msgKey);
  if (el) { el.setAttribute('aria-invalid', 'true'); el.focus(); }
}

function clearErrors() {
  for (const el of main.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of main.querySelectorAll('.field-error')) el.textContent = '';
}

function keyForm() {
  const onSubmit = (ev) => {
    ev.preventDefault();
    const v = document.getElementById('partner-key').value.trim();
    if (!/^pk_[A-Za-z0-9_-]+$/.test(v)) { fieldError('partner-key', 'partner.keyFormat'); return; }
    sessionStorage.setItem(KEY, v);
    state.keyMessage = '';
    draw();
    const c = document.getElementById(state.mode === 'voucher' ? 'code' : 'pass');
    if (c) c.focus();
  };
  return h('form', { class: 'card keyform', onsubmit: onSubmit, novalidate: true },
    h('h1', { text: t('partner.keyTitle') }),
    state.keyMessage ? h('p', { class: 'note error', role: 'alert', text: t(state.keyMessage) }) : null,
    h('div', { class: 'field' },
      h('label', { for: 'partner-key', text: t('partner.keyLabel') }),
      h('p', { class: 'muted small', id: 'partner-key-hint', text: t('partner.keyHint') }),
      h('input', { id: 'partner-key', type: 'password', autocomplete: 'off', spellcheck: 'false',
        'aria-describedby': 'partner-key-hint partner-key-error', required: true }),
      h('p', { class: 'field-error', id: 'partner-key-error' })),
    h('button', { class: 'btn primary', type: 'submit', text: t('partner.keySave') }));
}

function modeSwitch() {
  const opt = (value, labelKey) => {
    const id = `mode-${value}`;
    return h('div', { class: 'seg' },
      h('input', { type: 'radio', name: 'mode', id, value, checked: state.mode === value,
        onchange: () => { state.mode = value; state.result = null; draw(); const f = document.getElementById(value === 'voucher' ? 'code' : 'pass'); if (f) f.focus(); } }),
      h('label', { for: id, text: t(labelKey) }));
  };
  return h('fieldset', { class: 'segmented' },
    h('legend', { text: t('partner.whatToCheck') }),
    opt('voucher', 'partner.modeVoucher'), opt('pass', 'partner.modePass'));
}

function scanButton() {
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return null;
  return h('button', { class: 'btn', type: 'button', id: 'scan', text: t('partner.scan'), onclick: scan });
}

/* Reads a QR code with the camera and checks what it holds. */
async function scan() {
  let stream = null;
  let timer = null;
  let found = null;
  const video = h('video', { class: 'scan-video', playsinline: true, muted: true, 'aria-label': t('partner.scanVideo') });
  const note = h('p', { class: 'muted small', text: t('partner.scanHint') });
  let dlg = null;
  const closed = modal({
    title: t('partner.scanTitle'),
    body: [video, note],
    buttons: [{ label: t('common.close'), value: 'close', kind: 'ghost' }],
    onOpen: async (d) => {
      dlg = d;
      try {
        // eslint-disable-next-line no-undef
        const detector = new BarcodeDetector({ formats: ['qr_code'] });
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
        video.srcObject = stream;
        await video.play();
        const look = async () => {
          try {
            const codes = await detector.detect(video);
            if (codes.length && codes[0].rawValue) { found = codes[0].rawValue; dlg.close('found'); return; }
          } catch (e) { /* a frame that cannot be read: try the next */ }
          timer = setTimeout(look, 250);
        };
        look();
      } catch (e) {
        replace(note, t('partner.scanFailed'));
        note.setAttribute('role', 'alert');
      }
    },
    onClose: () => {
      clearTimeout(timer);
      if (stream) for (const tr of stream.getTracks()) tr.stop();
    },
  });
  const answer = await closed;
  if (answer !== 'found' || !found) return;
  // A pass says so (v1.…); anything else is taken as a voucher code.
  const mode = passPerk(found) ? 'pass' : 'voucher';
  if (mode !== state.mode) { state.mode = mode; state.result = null; draw(); }
  const field = document.getElementById(mode === 'voucher' ? 'code' : 'pass');
  if (field) field.value = found;
  if (mode === 'pass') preselectPerk();
  submitCheck();
}

function submitCheck() {
  clearErrors();
  if (state.mode === 'voucher') checkVoucher(document.getElementById('code').value);
  else checkPass(document.getElementById('pass').value, document.getElementById('perk').value);
}

function checkForm() {
  const fields = [];
  if (state.mode === 'voucher') {
    fields.push(h('div', { class: 'field' },
      h('label', { for: 'code', text: t('partner.codeLabel') }),
      h('p', { class: 'muted small', id: 'code-hint', text: t('partner.codeHint') }),
      h('input', { id: 'code', class: 'code-input', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false',
        'aria-describedby': 'code-hint code-error', maxlength: 80 }),
      h('p', { class: 'field-error', id: 'code-error' })));
  } else {
    const statusPerks = state.perks && state.perks.ok ? state.perks.value.filter((p) => p.kind === 'status') : [];
    if (!state.perkId && statusPerks.length === 1) state.perkId = statusPerks[0].id;
    fields.push(h('div', { class: 'field' },
      h('label', { for: 'perk', text: t('partner.perkLabel') }),
      state.perks && !state.perks.ok ? h('p', { class: 'note error', text: problemText(state.perks.error).title }) : null,
      h('select', { id: 'perk', 'aria-describedby': 'perk-error', onchange: (e) => { state.perkId = e.target.value; } },
        h('option', { value: '', text: t('partner.perkPick') }),
        statusPerks.map((p) => h('option', { value: p.id, selected: p.id === state.perkId,
          text: p.partner ? `${p.title} (${p.partner})` : p.title }))),
      h('p', { class: 'field-error', id: 'perk-error' })),
    h('div', { class: 'field' },
      h('label', { for: 'pass', text: t('partner.passLabel') }),
      h('p', { class: 'muted small', id: 'pass-hint', text: t('partner.passHint') }),
      h('textarea', { id: 'pass', rows: 3, autocomplete: 'off', spellcheck: 'false',
        'aria-describedby': 'pass-hint pass-error', oninput: preselectPerk }),
      h('p', { class: 'field-error', id: 'pass-error' })));
  }
  return h('form', { class: 'card checkform', novalidate: true,
    onsubmit: (ev) => { ev.preventDefault(); submitCheck(); } },
  h('h1', { text: t('partner.checkTitle') }),
  modeSwitch(),
  fields,
  h('div', { class: 'buttons' },
    h('button', { class: 'btn primary big', type: 'submit', id: 'check', text: t('partner.check') }),
    scanButton()));
}

function drawResult() {
  const box = document.getElementById('result');
  if (!box) return;
  const r = state.result;
  if (!r) {
    replace(box, h('p', { class: 'muted', text: t('partner.resultEmpty') }));
    box.className = 'card result empty';
    return;
  }
  box.className = `card result ${r.tone}`;
  box.dataset.verdict = r.wordKey.replace('partner.', '');
  const mark = r.tone === 'ok' ? '\u2713' : r.tone === 'bad' ? '\u2717' : '!';
  replace(box,
    h('p', { class: 'verdict' }, h('span', { class: 'mark', 'aria-hidden': 'true', text: mark }), ' ',
      h('span', { class: 'word', 'data-testid': 'verdict', text: t(r.wordKey) })),
    r.lines.map((l) => h('p', { class: 'line', text: l })),
    r.useCode ? h('button', { class: 'btn primary big', type: 'button', id: 'use', text: t('partner.markUsed'),
      onclick: () => useVoucher(r.useCode) }) : null,
    h('button', { class: 'btn ghost', type: 'button', id: 'again', text: t('partner.again'),
      onclick: () => {
        state.result = null;
        drawResult();
        const f = document.getElementById(state.mode === 'voucher' ? 'code' : 'pass');
        if (f) { f.value = ''; f.focus(); }
      } }));
}

function drawTools() {
  replace(document.getElementById('top-tools'), langSwitch(),
    key() ? h('button', { class: 'btn small ghost', type: 'button', id: 'forget', text: t('partner.forgetKey'),
      onclick: () => forgetKey('partner.keyForgotten') }) : null);
}

function draw() {
  document.title = t('partner.title');
  drawTools();
  if (!key()) {
    replace(main, keyForm());
    return;
  }
  const kept = {};
  for (const id of ['code', 'pass']) {
    const el = document.getElementById(id);
    if (el) kept[id] = el.value;
  }
  replace(main, h('div', { class: 'counter' },
    checkForm(),
    h('section', { id: 'result', class: 'card result empty', 'aria-live': 'off', 'aria-label': t('partner.resultLabel') }),
    h('p', { class: 'muted small privacy', text: t('partner.privacy') })));
  for (const [id, v] of Object.entries(kept)) {
    const el = document.getElementById(id);
    if (el) el.value = v;
  }
  drawResult();
}

onLangChange(() => { translatePage(document); draw(); });
translatePage(document);
loadPerks().then(() => { if (state.mode === 'pass') draw(); });
draw();
