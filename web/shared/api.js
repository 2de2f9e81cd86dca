/*
 * api.js: the one way the perkd pages talk to the JSON API (same origin,
 * under /v1/). Every failure becomes an ApiError carrying the RFC 9457
 * problem document's fields, so that a page shows one consistent message
 * and never a raw response. Authentication is passed per call: a resident
 * bearer token or a partner API key, both kept by the page in
 * sessionStorage and never in a URL.
 */
import { t, has } from './i18n.js';

/* An HTTP or network failure. status 0 means the request never got an
 * answer (offline, DNS, connection refused). */
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code || (status === 0 ? 'network' : `http_${status}`);
    this.title = problem.title || '';
    this.detail = problem.detail || '';
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

function authHeader(auth) {
  return auth ? { Authorization: `Bearer ${auth}` } : {};
}

async function send(method, path, { auth, body, idempotencyKey, accept } = {}) {
  const headers = { Accept: accept || 'application/json', ...authHeader(auth) };
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { code: 'network', title: String(e && e.message || e) });
  }
  if (!res.ok) {
    let problem = {};
    const type = res.headers.get('Content-Type') || '';
    if (type.includes('json')) {
      try { problem = await res.json(); } catch (e) { problem = {}; }
    }
    if (!problem || typeof problem !== 'object') problem = {};
    const ra = parseInt(res.headers.get('Retry-After') || '', 10);
    throw new ApiError(res.status, problem, Number.isFinite(ra) ? ra : undefined);
  }
  return res;
}

/* Calls the API and returns the parsed JSON body (null for 204). Throws
 * ApiError on any failure. */
export async function request(method, path, opts = {}) {
  const res = await send(method, path, opts);
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/* Calls the API and returns the body as a Blob (QR images, exports). */
export async function requestBlob(path, opts = {}) {
  const res = await send('GET', path, opts);
  return res.blob();
}

/* A fresh Idempotency-Key. crypto.randomUUID exists only in secure
 * contexts; getRandomValues works everywhere. */
export function newIdempotencyKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/* The list inside a list answer ({items: [...]}), tolerating a bare array. */
export function itemsOf(body) {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body.items)) return body.items;
  return [];
}

/* What to tell a person about an error: a translated text for the
 * contract's known codes, else the server's own title and detail. */
export function problemText(err) {
  if (!(err instanceof ApiError)) {
    return { title: t('problem.unexpected'), detail: String(err && err.message || err) };
  }
  // perkd repeats the title as the detail when it has nothing to add.
  const detail = err.detail && err.detail !== err.title ? err.detail : '';
  const key = `problem.${err.code}`;
  if (has(key)) {
    const retry = err.retryAfter !== undefined && has(`${key}.retry`) ? t(`${key}.retry`, { n: err.retryAfter }) : '';
    return { title: t(key), detail: retry || detail };
  }
  return { title: err.title || t('problem.generic', { status: err.status }), detail };
}
