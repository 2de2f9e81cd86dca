/*
 * app.js: the resident app at "/". It takes the sign-in token from the
 * URL fragment of the identity provider's redirect (#token=...), keeps it
 * in sessionStorage (gone when the tab closes), wipes it from the address
 * bar, and shows one of three screens: sign-in explanation (no token or
 * a refused one), consent (not enrolled yet) or home (enrolled).
 */
import { request, requestBlob, ApiError } from '../shared/api.js';
import { t, onLangChange, translatePage } from '../shared/i18n.js';
import { h, replace, langSwitch } from '../shared/dom.js';
import { renderConsent } from './consent.js';
import { renderHome } from './home.js';

const TOKEN_KEY = 'perkd.resident.token';
const CHANNEL_KEY = 'perkd.resident.channel';
const CHANNEL_RE = /^[A-Za-z0-9_.-]{1,64}$/;

const main = document.getElementById('main');
let screen = null;   // the function that redraws the current screen

/* Moves a token from the fragment to sessionStorage and a campaign code
 * (?channel=) to sessionStorage, then cleans the address bar. */
function takeSignIn() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  const query = new URLSearchParams(location.search);
  const channel = query.get('channel');
  if (channel && CHANNEL_RE.test(channel)) sessionStorage.setItem(CHANNEL_KEY, channel);
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  if (token || channel) history.replaceState(null, '', location.pathname);
}

/* Thrown after a 401 so that callers stop; the sign-in screen is shown. */
class SignedOut extends Error {}

/* Runs fn(token); a missing token or a 401 shows the sign-in screen and
 * throws SignedOut so that callers stop. */
async function withToken(fn) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) { showSignIn('signin.needed'); throw new SignedOut(); }
  try {
    return await fn(token);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showSignIn('signin.expired');
      throw new SignedOut();
    }
    throw e;
  }
}

/* The resident's API client: every call carries the token. */
export const api = {
  call(method, path, opts = {}) { return withToken((auth) => request(method, path, { ...opts, auth })); },
  get(path) { return this.call('GET', path); },
  post(path, body, idempotencyKey) { return this.call('POST', path, { body, idempotencyKey }); },
  put(path, body) { return this.call('PUT', path, { body }); },
  del(path) { return this.call('DELETE', path); },
  blob(path, accept) { return withToken((auth) => requestBlob(path, { auth, accept })); },
  channel() { return sessionStorage.getItem(CHANNEL_KEY); },
  isSignedOut(e) { return e instanceof SignedOut; },
};

function show(draw) {
  screen = draw;
  draw();
}

function showSignIn(reasonKey) {
  show(() => {
    document.title = t('signin.title');
    replace(main,
      h('section', { class: 'card signin' },
        h('h1', { text: t('signin.title') }),
        h('p', { class: 'lead', text: t(reasonKey) }),
        h('p', { text: t('signin.how') }),
        h('p', { class: 'muted', text: t('signin.private') })));
    main.focus();
  });
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  showSignIn('signin.signedOut');
}

function drawTools() {
  const tools = document.getElementById('top-tools');
  const signedIn = !!sessionStorage.getItem(TOKEN_KEY);
  replace(tools, langSwitch(),
    signedIn ? h('button', { class: 'btn small ghost', type: 'button', onclick: signOut, text: t('common.signOut') }) : null);
}

/* Decides which screen to show from GET /v1/me. */
export async function start() {
  drawTools();
  if (!sessionStorage.getItem(TOKEN_KEY)) { showSignIn('signin.needed'); drawTools(); return; }
  try {
    const me = await api.get('/v1/me');
    show(() => renderHome(main, me, { api, restart: start }));
  } catch (e) {
    if (api.isSignedOut(e)) { drawTools(); return; }
    if (e instanceof ApiError && (e.code === 'not_enrolled' || e.status === 404)) {
      show(() => renderConsent(main, { api, restart: start }));
    } else {
      show(() => renderFatal(e));
    }
  }
  drawTools();
}

function renderFatal(err) {
  replace(main, h('section', { class: 'card error', role: 'alert' },
    h('h1', { text: t('error.title') }),
    h('p', { text: err && err.title ? err.title : String(err) }),
    err && err.detail ? h('p', { text: err.detail }) : null,
    h('button', { class: 'btn primary', type: 'button', onclick: start, text: t('common.retry') })));
}

onLangChange(() => {
  translatePage(document);
  drawTools();
  if (screen) screen();
});

takeSignIn();
translatePage(document);
start();
