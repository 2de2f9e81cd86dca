/*
 * dom.js: small DOM helpers shared by the perkd pages: an element builder
 * (text is always set as text, never parsed as HTML, so nothing from the
 * API can inject markup), the polite live region, confirmation dialogs on
 * the native <dialog> (focus trap and Escape for free), the language
 * switch, and drawn stars and flags.
 */
import { t, lang, setLang, LANGS } from './i18n.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/* h('button', {class: 'x', onclick: fn, 'aria-label': '..'}, 'text', child)
 * Attributes whose value is false, null or undefined are left out. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/* Replaces every child of node with children. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/* Says msg through the page's polite live region (#live). */
export function announce(msg) {
  const live = document.getElementById('live');
  if (!live) return;
  live.textContent = '';
  // A fresh text node after a tick makes screen readers read a repeated text.
  setTimeout(() => { live.textContent = msg; }, 50);
}

/* Shows a modal dialog built from body (nodes) with the given buttons and
 * resolves with the value of the button pressed (or null on Escape). The
 * dialog is removed from the document afterwards. Focus returns to the
 * element that had it. opts: {title, body, buttons: [{label, value,
 * kind}], onOpen(dialog), onClose()} */
export function modal({ title, body, buttons, onOpen, onClose, className }) {
  const before = document.activeElement;
  const id = `dlg-${Math.random().toString(36).slice(2)}`;
  const dlg = h('dialog', { class: `modal ${className || ''}`, 'aria-labelledby': id });
  const form = h('form', { method: 'dialog' });
  form.append(h('h2', { id, text: title }));
  const content = h('div', { class: 'modal-body' });
  append(content, [body]);
  form.append(content);
  const row = h('div', { class: 'buttons' });
  for (const b of buttons) {
    row.append(h('button', {
      class: `btn ${b.kind || ''}`,
      value: b.value,
      type: 'submit',   // in a method="dialog" form: closes with this value
      'data-action': b.value,
      text: b.label,
    }));
  }
  form.append(row);
  dlg.append(form);
  document.body.append(dlg);
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      if (onClose) onClose();
      const v = dlg.returnValue || null;
      dlg.remove();
      // Focus goes back where it was, or to the page if that is gone.
      if (before && typeof before.focus === 'function' && document.contains(before)) before.focus();
      else document.getElementById('main')?.focus();
      resolve(v);
    });
    dlg.showModal();
    // Start on the harmless choice, so that a stray Enter never cancels,
    // redeems or leaves.
    const safe = dlg.querySelector('button[value="close"]');
    if (safe) safe.focus();
    if (onOpen) onOpen(dlg);
  });
}

/* The language picker: a labelled <select> that switches every string. */
export function langSwitch() {
  const id = 'lang-switch';
  const sel = h('select', { id, onchange: (e) => setLang(e.target.value) });
  for (const [code, name] of Object.entries(LANGS)) {
    sel.append(h('option', { value: code, lang: code, text: name, selected: code === lang() }));
  }
  return h('div', { class: 'lang' },
    h('label', { for: id, class: 'visually-hidden', text: t('common.language') }), sel);
}

function svg(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

const STAR_PATH = 'M12 2.5l2.9 6.1 6.6.8-4.9 4.6 1.3 6.6L12 17.3 6.1 20.6l1.3-6.6L2.5 9.4l6.6-.8z';
const FLAG_PATH = 'M5 2h2v20H5zM8 3h11l-2.5 4.5L19 12H8z';

function icon(path, filled, cls) {
  const s = svg('svg', { viewBox: '0 0 24 24', class: `icon ${cls} ${filled ? 'on' : 'off'}`, 'aria-hidden': 'true', focusable: 'false' });
  s.append(svg('path', { d: path }));
  return s;
}

/* Stars toward the next flag, drawn as perFlag slots (filled up to stars),
 * and the flags earned, one flag each. An accessible text describes both. */
export function starsAndFlags(stars, flags, perFlag) {
  const per = perFlag > 0 ? perFlag : 6;
  const toward = ((stars % per) + per) % per;
  const wrap = h('div', {
    class: 'stars-flags',
    role: 'img',
    'data-stars': stars,
    'data-flags': flags,
    'aria-label': t('home.starsAria', { stars: toward, per, flags }),
  });
  const row = h('div', { class: 'stars' });
  for (let i = 0; i < per; i++) row.append(icon(STAR_PATH, i < toward, 'star'));
  wrap.append(row);
  const frow = h('div', { class: 'flags' });
  const shown = Math.min(flags, 12);
  for (let i = 0; i < shown; i++) frow.append(icon(FLAG_PATH, true, 'flag'));
  if (flags > shown) frow.append(h('span', { class: 'more', text: `+${flags - shown}` }));
  if (flags === 0) frow.append(icon(FLAG_PATH, false, 'flag'));
  wrap.append(frow);
  return wrap;
}
