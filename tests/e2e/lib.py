"""lib.py: shared helpers for perkd's end-to-end tests (Python 3 standard
library only).

The stack under test is described by the environment, as `dev.env` writes
it: PERKD_URL, PERKD_RESIDENT_SECRET, PERKD_MANAGER_KEY, PERKD_ISSUER_KEY,
PERKD_PARTNER_KEY, PERKD_ISSUER_ORG, PERKD_PARTNER_ORG, PERKD_CONFIG,
PERKD_VAR, PERKD_DB_SOCKET (and PERKD_BUILD_DIR for perkctl). When
PERKD_URL is not set, the dev stack's var/dev.env is read, so that
`python3 tests/e2e/run.py` works right after `./dev up`.

What is here:
  request()/get()/post()/...  one HTTP request (http.client), returning a
                              Response with status, headers, body and the
                              parsed JSON when the answer is JSON
  raw_request()               bytes over a socket, for malformed requests
  mint_token()                resident JWTs, good and deliberately bad
  create_org(), create_key()  organisations and keys via the manager key
  parallel()                  n calls released at the same instant
  PerkdTestCase               assertProblem() and assertNoLeak()
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def _load_dev_env(path):
    """Put the KEY=value lines of a dev.env into os.environ (values may be
    shell-quoted with single quotes; the stack writes bare words)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(PERKD_[A-Z_]+)=(.*)$", line.strip())
            if m:
                value = m.group(2)
                if len(value) >= 2 and value[0] == value[-1] == "'":
                    value = value[1:-1]
                os.environ.setdefault(m.group(1), value)


if "PERKD_URL" not in os.environ and os.path.exists(os.path.join(REPO, "var", "dev.env")):
    _load_dev_env(os.path.join(REPO, "var", "dev.env"))

URL = os.environ.get("PERKD_URL", "http://127.0.0.1:8080")
RESIDENT_SECRET = os.environ.get("PERKD_RESIDENT_SECRET", "")
MANAGER_KEY = os.environ.get("PERKD_MANAGER_KEY", "")
ISSUER_KEY = os.environ.get("PERKD_ISSUER_KEY", "")
PARTNER_KEY = os.environ.get("PERKD_PARTNER_KEY", "")
ISSUER_ORG = os.environ.get("PERKD_ISSUER_ORG", "")
PARTNER_ORG = os.environ.get("PERKD_PARTNER_ORG", "")
CONFIG = os.environ.get("PERKD_CONFIG", "")
VAR = os.environ.get("PERKD_VAR", "")
DB_SOCKET = os.environ.get("PERKD_DB_SOCKET", "")
BUILD_DIR = os.environ.get("PERKD_BUILD_DIR", REPO)
CI = os.environ.get("CI", "") in ("true", "1")

_parsed = urllib.parse.urlparse(URL)
HOST = _parsed.hostname or "127.0.0.1"
PORT = _parsed.port or 80
TIMEOUT = 20.0

BODY_MAX = 64 * 1024  # the contract's limit


# ---- HTTP ---------------------------------------------------------------

class Response:
    """One HTTP answer. headers: lower-case name -> value (repeated headers
    joined with ", "); json: the parsed body when its Content-Type is JSON
    (application/json, application/problem+json), else None."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.json = None
        ctype = headers.get("content-type", "")
        if "json" in ctype and body:
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.json = None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def content_type(self):
        return self.headers.get("content-type", "").split(";")[0].strip()

    def __repr__(self):
        return "<Response %d %s %r>" % (self.status, self.content_type, self.text[:300])


def _headers_dict(pairs):
    out = {}
    for k, v in pairs:
        k = k.lower()
        out[k] = out[k] + ", " + v if k in out else v
    return out


def request(method, path, body=None, headers=None, token=None, key=None,
            timeout=TIMEOUT):
    """Send one request to the stack and return a Response.

    body: a dict or list is sent as JSON; bytes or str are sent as they are
    (with Content-Type application/json unless headers say otherwise).
    token: a resident JWT; key: an organisation API key (both become
    Authorization: Bearer)."""
    hdrs = {"Accept": "application/json"}
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode("utf-8")
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            data = body
        hdrs["Content-Type"] = "application/json"
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    if key is not None:
        hdrs["Authorization"] = "Bearer " + key
    if headers:
        hdrs.update(headers)
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return Response(resp.status, _headers_dict(resp.getheaders()), resp.read())
    finally:
        conn.close()


def get(path, **kw):
    return request("GET", path, **kw)


def metrics(prefix="", text=None):
    """The unlabelled samples of /metrics (or of `text`, its body) whose
    names start with `prefix`: {name: int value}."""
    if text is None:
        text = get("/metrics").text
    vals = {}
    for line in text.splitlines():
        f = line.split()
        if (len(f) == 2 and not line.startswith("#") and "{" not in f[0]
                and f[0].startswith(prefix)):
            vals[f[0]] = int(float(f[1]))
    return vals


def post(path, body=None, **kw):
    return request("POST", path, body=body, **kw)


def put(path, body=None, **kw):
    return request("PUT", path, body=body, **kw)


def patch(path, body=None, **kw):
    return request("PATCH", path, body=body, **kw)


def delete(path, **kw):
    return request("DELETE", path, **kw)


def raw_request(data, timeout=TIMEOUT):
    """Send raw bytes (a whole, possibly malformed, HTTP request) and return
    a Response parsed from what comes back (Connection: close expected)."""
    with socket.create_connection((HOST, PORT), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        raise AssertionError("no HTTP answer to a raw request: %r" % raw[:200])
    status = int(lines[0].split()[1])
    headers = _headers_dict(l.split(":", 1) for l in lines[1:] if ":" in l)
    headers = {k: v.strip() for k, v in headers.items()}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return Response(status, headers, body)


def _dechunk(data):
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return out


# ---- tokens -------------------------------------------------------------

def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_OMIT = object()


def mint_token(sub="e2e-" + secrets.token_hex(4), ttl=3600, secret=None,
               alg="HS256", exp=_OMIT, claims=None, header=None, omit=()):
    """A resident JWT. By default a good one: HS256 with the stack's secret,
    exp = now + ttl. To craft bad ones:
      alg="none"       unsigned (empty signature)
      alg="HS512"...   a header naming another algorithm (signed HS256)
      exp=<unix time>  a given expiry (e.g. in the past)
      secret=b"..."    another key (a bad signature)
      omit=("sub",)    leave claims out ("sub", "exp")
      claims={...}     extra or overriding claims; header={...} likewise."""
    now = int(time.time())
    hdr = {"alg": alg, "typ": "JWT"}
    hdr.update(header or {})
    body = {"sub": sub, "iat": now, "exp": now + ttl if exp is _OMIT else exp}
    body.update(claims or {})
    for name in omit:
        body.pop(name, None)
    signing_input = b64url(json.dumps(hdr, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(body, separators=(",", ":")).encode())
    if alg == "none":
        return signing_input + "."
    key = RESIDENT_SECRET.encode() if secret is None else secret
    if isinstance(key, str):
        key = key.encode()
    sig = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def tamper_signature(token):
    """The same token with one bit of its signature flipped."""
    head, body, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[0] ^= 1
    return head + "." + body + "." + b64url(bytes(raw))


# ---- organisations ------------------------------------------------------

def unique(prefix="e2e"):
    """A name no other test (or earlier run) uses."""
    return "%s-%s" % (prefix, secrets.token_hex(6))


def create_org(name=None, roles=("issuer",), key=None):
    """POST /v1/admin/orgs with the manager key; returns the org (dict).
    Fails the calling test if the answer is not 201."""
    r = post("/v1/admin/orgs", {"name": name or unique("org"), "roles": list(roles)},
             key=key or MANAGER_KEY)
    if r.status != 201 or not r.json:
        raise AssertionError("creating an org failed: %r" % r)
    return r.json


def create_key(org_id, key=None):
    """POST /v1/admin/orgs/{id}/keys; returns {id, org_id, key}."""
    r = post("/v1/admin/orgs/%s/keys" % org_id, key=key or MANAGER_KEY)
    if r.status != 201 or not r.json:
        raise AssertionError("creating a key failed: %r" % r)
    return r.json


def org_with_key(roles=("issuer",), name=None):
    """A fresh organisation with the given roles and one key: (org, key)."""
    org = create_org(name=name, roles=roles)
    return org, create_key(org["id"])["key"]


def list_all(path, **kw):
    """Every item of a paginated list, following next_cursor."""
    items, cursor = [], None
    for _ in range(1000):
        sep = "&" if "?" in path else "?"
        url = path + sep + "limit=500" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
        r = get(url, **kw)
        if r.status != 200:
            raise AssertionError("listing %s failed: %r" % (path, r))
        items += r.json["items"]
        cursor = r.json.get("next_cursor")
        if not cursor:
            return items
    raise AssertionError("more than 1000 pages in %s" % path)


# ---- concurrency --------------------------------------------------------

def parallel(n, fn):
    """Call fn(i) for i in 0..n-1 in n threads released together by a
    Barrier (so the requests really overlap). Returns the results in order;
    an exception in a thread is re-raised here."""
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except BaseException as e:  # noqa: B902 - re-raised in the caller
            errors[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for e in errors:
        if e is not None:
            raise e
    return results


# ---- tools --------------------------------------------------------------

def perkctl(*args):
    """Run perkctl --config $PERKD_CONFIG ARGS; returns CompletedProcess."""
    exe = os.path.join(BUILD_DIR, "perkctl")
    return subprocess.run([exe, "--config", CONFIG] + list(args),
                          capture_output=True, text=True, timeout=60)


def need_tool(testcase, name):
    """The path of tool `name`; skips the test when it is missing, except
    in CI, where a missing tool fails it."""
    path = shutil.which(name)
    if path is None:
        if CI:
            testcase.fail("%s is not installed (CI=true: no skipping)" % name)
        testcase.skipTest("%s is not installed" % name)
    return path


# ---- assertions ---------------------------------------------------------

# Text that must never appear in an error: SQL, the database, file paths,
# stack traces, secrets' names.
LEAK_PATTERNS = [
    re.compile(p, re.I) for p in (
        r"\bsql\b", r"mysql", r"mariadb", r"syntax error", r"duplicate entry",
        r"/(work|tmp|home|root|usr|var|etc)/", r"\.c:\d+", r"\.h:\d+",
        r"traceback", r"segmentation", r"stack trace", r"errno",
    )
]


class PerkdTestCase(unittest.TestCase):
    maxDiff = 4000

    def assertProblem(self, r, status, code=None):
        """r is an RFC 9457 problem document with this status (and code:
        one string, or a tuple of acceptable codes)."""
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.content_type, "application/problem+json", r)
        self.assertIsInstance(r.json, dict, r)
        for field in ("type", "title", "status", "code"):
            self.assertIn(field, r.json, r)
        self.assertEqual(r.json["status"], status, r)
        self.assertRegex(r.json["code"], r"^[a-z][a-z0-9_]*$", r)
        if code is not None:
            codes = (code,) if isinstance(code, str) else tuple(code)
            self.assertIn(r.json["code"], codes, r)
        self.assertNoLeak(r)
        return r.json

    def assertNoLeak(self, r):
        for pat in LEAK_PATTERNS:
            self.assertIsNone(pat.search(r.text), "leak (%s) in %r" % (pat.pattern, r))


# ---- FastCGI, bypassing nginx ------------------------------------------

def perkd_socket():
    """The FastCGI socket of the stack's perkd (from perkd.conf), or None."""
    try:
        with open(CONFIG, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^\s*socket\s*=\s*(\S+)\s*$", line)
                if m:
                    return m.group(1)
    except OSError:
        return None
    return None


def _fcgi_record(rtype, content, request_id=1):
    pad = -len(content) % 8
    return bytes([1, rtype, request_id >> 8, request_id & 0xFF,
                  len(content) >> 8, len(content) & 0xFF, pad, 0]) + content + b"\0" * pad


def _fcgi_length(n):
    return bytes([n]) if n < 128 else (n | 0x80000000).to_bytes(4, "big")


def fcgi_request(params, stdin=b"", timeout=TIMEOUT):
    """Send one request straight to perkd's FastCGI socket, as nginx would,
    but with the CGI parameters given (so that perkd's own input checks can
    be tested with values nginx never lets through). Returns a Response
    built from perkd's CGI answer (Status header, other headers, body)."""
    pairs = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode() if isinstance(v, str) else v
        pairs += _fcgi_length(len(k)) + _fcgi_length(len(v)) + k + v
    msg = _fcgi_record(1, bytes([0, 1, 0, 0, 0, 0, 0, 0]))  # BEGIN_REQUEST, responder
    for i in range(0, len(pairs), 65535):
        msg += _fcgi_record(4, pairs[i:i + 65535])
    msg += _fcgi_record(4, b"")
    for i in range(0, len(stdin), 65535):
        msg += _fcgi_record(5, stdin[i:i + 65535])
    msg += _fcgi_record(5, b"")
    out = b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(perkd_socket())
        s.sendall(msg)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            done = False
            while len(buf) >= 8:
                clen = (buf[4] << 8) | buf[5]
                total = 8 + clen + buf[6]
                if len(buf) < total:
                    break
                if buf[1] == 6:  # STDOUT
                    out += buf[8:8 + clen]
                elif buf[1] == 3:  # END_REQUEST
                    done = True
                buf = buf[total:]
            if done:
                break
    head, _, body = out.partition(b"\r\n\r\n")
    headers = _headers_dict(l.split(":", 1) for l in head.decode("latin-1").split("\r\n") if ":" in l)
    headers = {k: v.strip() for k, v in headers.items()}
    status = int(headers.get("status", "200").split()[0])
    return Response(status, headers, body)


def fcgi_params(method, path, query="", **extra):
    """The CGI parameters nginx sends for a request (see
    /etc/nginx/fastcgi_params), plus extra ones (e.g. CONTENT_LENGTH)."""
    p = {"REQUEST_METHOD": method, "SCRIPT_NAME": path, "DOCUMENT_URI": path,
         "REQUEST_URI": path + ("?" + query if query else ""), "QUERY_STRING": query,
         "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
         "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "40000", "SERVER_ADDR": "127.0.0.1",
         "SERVER_PORT": str(PORT), "SERVER_NAME": "localhost", "REQUEST_SCHEME": "http",
         "CONTENT_TYPE": "", "CONTENT_LENGTH": ""}
    p.update(extra)
    return p
