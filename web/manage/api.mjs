// api.mjs: the dashboard's only door to the server. Every call carries the
// manager key in the Authorization header (never in a URL), failures come
// back as one ApiError carrying the HTTP status and the problem document,
// and CSV downloads are fetched with the same header and saved as a blob.

const KEY_NAME = 'perkd.manager_key';
const KEY_MAX = 256;

// sessionStorage can throw (storage disabled): then the key lives only in
// this variable for the life of the page.
let memoryKey = null;

export function getKey() {
  try {
    return sessionStorage.getItem(KEY_NAME) ?? memoryKey;
  } catch {
    return memoryKey;
  }
}

export function setKey(key) {
  memoryKey = key;
  try {
    sessionStorage.setItem(KEY_NAME, key);
  } catch {
    /* kept in memory only */
  }
}

export function forgetKey() {
  memoryKey = null;
  try {
    sessionStorage.removeItem(KEY_NAME);
  } catch {
    /* nothing stored */
  }
}

// Returns an error message for a pasted key, or '' when it looks usable.
// The server decides whether it is valid; this only catches paste slips.
export function checkKey(key) {
  if (key.length === 0) return 'Paste a key first.';
  if (key.length > KEY_MAX) return `A key is at most ${KEY_MAX} characters.`;
  if (/\s/.test(key)) return 'A key has no spaces or line breaks: paste it again.';
  if (/[^\x21-\x7e]/.test(key)) return 'A key has only plain ASCII characters.';
  return '';
}

export class ApiError extends Error {
  // status: the HTTP status, or 0 when the server could not be reached.
  // problem: the RFC 9457 document when the server sent one, else {}.
  constructor(status, problem, fallback) {
    super(problem.detail || problem.title || fallback);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

// Builds "path?a=1&b=2" from the non-empty entries of params.
export function buildUrl(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function readProblem(res) {
  const type = res.headers.get('Content-Type') || '';
  try {
    if (type.includes('json')) return await res.json();
  } catch {
    /* a broken body is reported by status alone */
  }
  return {};
}

// GET path with params; resolves to the Response when it is 2xx, rejects
// with ApiError otherwise.
export async function apiGet(path, params, accept = 'application/json') {
  const key = getKey();
  if (!key) throw new ApiError(401, {}, 'No key entered.');
  let res;
  try {
    res = await fetch(buildUrl(path, params), {
      headers: { Authorization: `Bearer ${key}`, Accept: accept },
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new ApiError(0, {}, 'The server could not be reached.');
  }
  if (!res.ok) {
    throw new ApiError(res.status, await readProblem(res), `The server answered ${res.status}.`);
  }
  return res;
}

export async function apiJson(path, params) {
  const res = await apiGet(path, params);
  try {
    return await res.json();
  } catch {
    throw new ApiError(res.status, {}, 'The server sent an answer that is not JSON.');
  }
}

// The file name the server suggests in Content-Disposition, if any.
function dispositionName(res) {
  const cd = res.headers.get('Content-Disposition') || '';
  const m = /filename="?([A-Za-z0-9._-]+)"?/.exec(cd);
  return m ? m[1] : null;
}

// Fetches path?...&format=csv with the key and saves it as a file named
// fallbackName (or the server's name). Returns the name used.
export async function downloadCsv(path, params, fallbackName) {
  const res = await apiGet(path, { ...params, format: 'csv' }, 'text/csv');
  // The bytes as sent (an ArrayBuffer, not a decoded string: nothing is
  // re-encoded on the way to the file).
  const bytes = await res.arrayBuffer();
  const name = dispositionName(res) || fallbackName;
  const url = URL.createObjectURL(new Blob([bytes], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started from the click; the URL is needed no longer.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

// Every page of a list endpoint ({items, next_cursor}), up to maxItems.
export async function apiList(path, maxItems) {
  const items = [];
  let cursor = null;
  do {
    const page = await apiJson(path, { limit: 500, cursor });
    items.push(...(page.items || []));
    cursor = page.next_cursor || null;
  } while (cursor && items.length < maxItems);
  return items.slice(0, maxItems);
}
