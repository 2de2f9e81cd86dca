/*
 * dialogs.js: the resident's modal screens: a voucher with its QR code
 * (and cancelling it), a status pass with its QR code and a live
 * countdown, and an API problem. QR images are fetched with the bearer
 * token (an <img src> cannot send it) and shown as a data: URL: the
 * site's Content-Security-Policy allows img-src 'self' data: only.
 */
import { problemText, newIdempotencyKey } from '../shared/api.js';
import { t, fmtNumber, fmtDateTime } from '../shared/i18n.js';
import { h, replace, announce, modal } from '../shared/dom.js';

/* An API problem as an inline alert (a <p>, or tag). */
export function problemNote(err, tag = 'p') {
  const p = problemText(err);
  return h(tag, { class: 'note error', role: 'alert' }, p.title, p.detail ? ` ${p.detail}` : '');
}

/* Shows an API problem in a dialog with one button. */
export function showProblem(err) {
  const p = problemText(err);
  return modal({
    title: p.title,
    className: 'problem',
    body: p.detail ? h('p', { text: p.detail }) : null,
    buttons: [{ label: t('common.ok'), value: 'close', kind: 'primary' }],
  });
}

/* The blob as a data: URL. */
function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/* A QR image box that fetches path with the token. Returns {box, load}. */
function qrImage(api, path, alt) {
  const img = h('img', { class: 'qr', alt, width: 256, height: 256, hidden: true });
  const wait = h('p', { class: 'muted small', text: t('common.loading') });
  const box = h('div', { class: 'qr-box' }, wait, img);
  return {
    box,
    async load() {
      try {
        const blob = await api.blob(path, 'image/svg+xml');
        img.addEventListener('load', () => { img.hidden = false; wait.remove(); }, { once: true });
        img.src = await dataUrl(blob);
      } catch (e) {
        if (api.isSignedOut(e)) return;
        const p = problemText(e);
        replace(box, h('p', { class: 'note error', role: 'alert', text: `${t('qr.failed')} ${p.title}` }));
      }
    },
  };
}

/* Shows voucher red ({id, perk_id, points, status, voucher_code,
 * expires_at}) of the perk titled title. Resolves 'cancelled' if the
 * resident cancelled it, else null. */
export async function showVoucher(api, red, title) {
  const issued = red.status === 'issued';
  const qr = issued ? qrImage(api, `/v1/me/redemptions/${encodeURIComponent(red.id)}/qr.svg`, t('voucher.qrAlt')) : null;
  const body = [
    h('p', { class: 'lead', text: title }),
    h('p', {}, h('span', { class: `badge ${red.status}`, 'data-testid': 'voucher-status', text: t(`status.${red.status}`) })),
    qr ? qr.box : null,
    red.voucher_code ? h('p', { class: 'code-label muted small', text: t('voucher.code') }) : null,
    red.voucher_code ? h('p', { class: 'code', 'data-testid': 'voucher-code', text: red.voucher_code }) : null,
    issued && red.expires_at ? h('p', {}, t('voucher.validUntil', { at: fmtDateTime(red.expires_at) })) : null,
    issued ? h('p', { class: 'muted small', text: t('voucher.howTo') }) : null,
  ];
  const buttons = [{ label: t('common.close'), value: 'close', kind: issued ? 'ghost' : 'primary' }];
  if (issued) buttons.unshift({ label: t('voucher.cancel'), value: 'cancel-voucher', kind: 'danger' });
  const answer = await modal({
    title: t('voucher.title'),
    className: 'voucher',
    body,
    buttons,
    onOpen: () => { if (qr) qr.load(); },
  });
  if (answer !== 'cancel-voucher') return null;
  const sure = await modal({
    title: t('voucher.cancelTitle'),
    body: h('p', { text: t('voucher.cancelQuestion', { perk: title, n: fmtNumber(red.points || 0) }) }),
    buttons: [
      { label: t('voucher.keep'), value: 'close', kind: 'ghost' },
      { label: t('voucher.cancelConfirm'), value: 'cancel-voucher', kind: 'danger' },
    ],
  });
  if (sure !== 'cancel-voucher') return null;
  try {
    await api.del(`/v1/me/redemptions/${encodeURIComponent(red.id)}`);
  } catch (e) {
    if (!api.isSignedOut(e)) await showProblem(e);
    return null;
  }
  return 'cancelled';
}

function mmss(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/* Asks for a pass for status perk and shows it until closed, with a live
 * countdown to its expiry; "new pass" asks for a fresh one. */
export async function showPass(api, perk) {
  for (;;) {
    let pass;
    try {
      pass = await api.post('/v1/me/passes', { perk_id: perk.id }, newIdempotencyKey());
    } catch (e) {
      if (!api.isSignedOut(e)) await showProblem(e);
      return;
    }
    const expires = Date.parse(pass.expires_at);
    const qr = qrImage(api, `/v1/me/passes/qr.svg?code=${encodeURIComponent(pass.pass_code)}`, t('pass.qrAlt'));
    const clock = h('time', { class: 'countdown', 'data-testid': 'pass-countdown', datetime: pass.expires_at, text: mmss(expires - Date.now()) });
    const state = h('p', { class: 'pass-state' }, t('pass.validFor'), ' ', clock);
    let dlg = null;
    const renew = h('button', { class: 'btn primary', type: 'button', hidden: true, text: t('pass.renew'),
      onclick: () => dlg && dlg.close('renew') });
    let warned = false;
    let timer = null;
    const tick = () => {
      const left = expires - Date.now();
      clock.textContent = mmss(left);
      if (left <= 60000 && !warned && left > 0) { warned = true; announce(t('pass.oneMinute')); }
      if (left <= 0) {
        clearInterval(timer);
        qr.box.classList.add('expired');
        replace(state, h('strong', { text: t('pass.expired') }));
        renew.hidden = false;
        announce(t('pass.expired'));
      }
    };
    const answer = await modal({
      title: t('pass.title'),
      className: 'pass',
      body: [
        h('p', { class: 'lead', text: perk.title }),
        h('p', { class: 'muted small', text: t('pass.howTo') }),
        qr.box,
        state,
        h('p', { class: 'muted small', text: t('pass.until', { at: fmtDateTime(pass.expires_at) }) }),
        h('details', {}, h('summary', { text: t('pass.showCode') }),
          h('p', { class: 'code small', 'data-testid': 'pass-code', text: pass.pass_code })),
        renew,
      ],
      buttons: [{ label: t('common.close'), value: 'close', kind: 'ghost' }],
      onOpen: (d) => { dlg = d; qr.load(); timer = setInterval(tick, 1000); },
      onClose: () => { clearInterval(timer); },
    });
    if (answer !== 'renew') return;
  }
}

