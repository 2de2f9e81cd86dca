"""
test_openapi.py: docs/openapi.yaml and perkd describe the same API.

Three checks, so that the published description can never drift from the
server partners actually program against:

  1. every route in perkd's route table (`perkd --routes`, one
     `METHOD /path/{param} ROLES` per line, ROLES being `public` or a
     comma-separated list of roles) is in the OpenAPI file with the same
     method and the same roles (`x-perkd-role`, written the same way);
  2. every path + method in the OpenAPI file is served by the running stack
     at PERKD_URL: called without credentials, a public operation answers
     200 and any other answers 401 (a route perkd does not serve would get
     404 `route_not_found` or 405 instead);
  3. inside the file, every operation's `x-perkd-role` agrees with its
     `security` (public: none; resident: residentJWT; issuer, partner,
     manager: orgApiKey; several roles: each of their schemes);
  4. every problem code perkd's table (fcgi/problem.c) or nginx
     (etc/nginx/problems.conf) can answer is named in the file, and every
     problem code the file shows is one of those.

Python standard library only (the e2e rule), so the YAML is not parsed in
full: read_operations() reads just the `paths:` section of a file written
in the layout the header of docs/openapi.yaml promises (two-space
indentation; paths at indent 2, methods at 4, `x-perkd-role` and
`security` at 6), skipping block scalars, and fails loudly on anything
outside that layout rather than guessing.

Environment: PERKD_BIN, else PERKD_BUILD_DIR/perkd, else ./perkd at the
top of the source tree; PERKD_URL (from dev.env; needed by check 2 only).
"""
import json
import os
import re
import subprocess
import time
import unittest
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPENAPI = os.path.join(ROOT, "docs", "openapi.yaml")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ROLES = ("public", "resident", "issuer", "partner", "manager")
SCHEME_OF_ROLE = {"public": None, "resident": "residentJWT", "issuer": "orgApiKey",
                  "partner": "orgApiKey", "manager": "orgApiKey"}
HTTP_TIMEOUT_S = 10
ROUTES_TIMEOUT_S = 10
RETRY_WAIT_MAX_S = 5

KEY_RE = re.compile(r"""^( *)('[^']*'|"[^"]*"|[^\s#'"{\[-][^:#]*?):(?:\s+(.*?))?\s*$""")
BLOCK_RE = re.compile(r"^[|>][-+0-9]*$")
PARAM_RE = re.compile(r"\{[^/{}]+\}")


class LayoutError(ValueError):
    pass


def _unquote(s):
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    return s


def read_operations(path):
    """
    Reads the operations of an OpenAPI file laid out as described above.
    Returns {(METHOD, path): {"role": str or None, "security": list of
    scheme names (empty = public) or None if the operation has no
    `security`}}. Raises LayoutError, naming the line, on anything the
    reader does not understand inside `paths:`.
    """
    ops = {}
    in_paths = False
    block_indent = None     # inside a block scalar whose key is at this indent
    cur_path = None
    cur_op = None
    sec_list = None         # collecting `- scheme: []` items of a security key
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip()
        if "\t" in line[: len(line) - len(line.lstrip())]:
            raise LayoutError(f"{path}:{n}: tab in indentation")
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if block_indent is not None:
            if stripped == "" or indent > block_indent:
                continue
            block_indent = None
        if stripped == "" or stripped.startswith("#"):
            continue
        if sec_list is not None:
            if indent == 8 and stripped.startswith("- "):
                item = KEY_RE.match(" " * 10 + stripped[2:])
                if not item:
                    raise LayoutError(f"{path}:{n}: cannot read security item {stripped!r}")
                sec_list.append(_unquote(item.group(2)))
                continue
            sec_list = None
        if indent == 0:
            m = KEY_RE.match(line)
            in_paths = bool(m) and m.group(2) == "paths"
            if in_paths and m.group(3):
                raise LayoutError(f"{path}:{n}: `paths:` must be a block mapping")
            cur_path = cur_op = None
            continue
        if not in_paths:
            continue
        m = KEY_RE.match(line)
        if stripped.startswith("- "):
            if indent <= 6:
                raise LayoutError(f"{path}:{n}: unexpected list item at indent {indent}")
            continue
        if not m:
            raise LayoutError(f"{path}:{n}: cannot read {stripped!r}")
        key, value = _unquote(m.group(2)), m.group(3) or ""
        if value and BLOCK_RE.match(value):
            block_indent = indent
        if indent == 2:
            if not key.startswith("/") and not key.startswith("x-"):
                raise LayoutError(f"{path}:{n}: path key {key!r} does not start with /")
            cur_path, cur_op = (key if key.startswith("/") else None), None
        elif indent == 4:
            cur_op = None
            if cur_path and key in METHODS:
                cur_op = (key.upper(), cur_path)
                if cur_op in ops:
                    raise LayoutError(f"{path}:{n}: {cur_op} twice")
                ops[cur_op] = {"role": None, "security": None}
        elif indent == 6 and cur_op:
            if key == "x-perkd-role":
                ops[cur_op]["role"] = _unquote(value)
            elif key == "security":
                if value == "[]":
                    ops[cur_op]["security"] = []
                elif value == "":
                    ops[cur_op]["security"] = sec_list = []
                else:
                    raise LayoutError(f"{path}:{n}: write security as [] or a block list")
        elif indent % 2:
            raise LayoutError(f"{path}:{n}: odd indentation {indent}")
    return ops


def roles_of(text):
    """'issuer,manager' -> frozenset({'issuer', 'manager'}); None stays None."""
    return None if text is None else frozenset(text.split(","))


def normalise(path):
    """/v1/admin/rules/{code} -> /v1/admin/rules/{}: parameter names may differ."""
    return PARAM_RE.sub("{}", path)


def perkd_routes():
    """
    Runs `perkd --routes` and returns {(METHOD, normalised path): role}.
    Fails (never skips) if perkd is missing or the output is not the route
    table: a route table we cannot read is a broken contract.
    """
    binary = os.environ.get("PERKD_BIN") or os.path.join(
        os.environ.get("PERKD_BUILD_DIR", ROOT), "perkd")
    if not os.access(binary, os.X_OK):
        raise AssertionError(f"{binary} is not an executable perkd: build it first "
                             "(or set PERKD_BIN or PERKD_BUILD_DIR)")
    proc = subprocess.run([binary, "--routes"], capture_output=True, text=True,
                          timeout=ROUTES_TIMEOUT_S)
    if proc.returncode != 0:
        raise AssertionError(f"`perkd --routes` exited {proc.returncode}: "
                             f"{proc.stderr.strip()[:500]}")
    routes = {}
    for n, line in enumerate(proc.stdout.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if (len(parts) != 3 or parts[0] != parts[0].upper()
                or parts[0].lower() not in METHODS or not parts[1].startswith("/")):
            raise AssertionError(f"`perkd --routes` line {n} is not `METHOD /path role`: {line!r}")
        key = (parts[0], normalise(parts[1]))
        if key in routes:
            raise AssertionError(f"`perkd --routes` lists {key} twice")
        routes[key] = roles_of(parts[2])
    if not routes:
        raise AssertionError("`perkd --routes` printed no routes")
    return routes


def openapi_operations():
    """{(METHOD, normalised path): (path as written, role)} of docs/openapi.yaml."""
    out = {}
    for (method, path), op in read_operations(OPENAPI).items():
        key = (method, normalise(path))
        if key in out:
            raise AssertionError(f"docs/openapi.yaml has {path} and {out[key][0]}, "
                                 "which differ only in parameter names")
        out[key] = (path, roles_of(op["role"]))
    return out


def call(base, method, path):
    """
    One request without credentials (retried once after a 429). Returns
    (status, content type, parsed problem document or None). A bodyless POST/PUT/PATCH sends
    Content-Length: 0, so nothing can be created even if a route were
    wrongly public.
    """
    data = b"" if method in ("POST", "PUT", "PATCH") else None
    for attempt in range(2):
        req = urllib.request.Request(base + path, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
                return resp.status, resp.headers.get("Content-Type", ""), None
        except urllib.error.HTTPError as e:
            ctype = e.headers.get("Content-Type", "")
            body = e.read(65536)
            if e.code == 429 and attempt == 0:
                # the web server's per-address limit: wait as told, once
                time.sleep(min(float(e.headers.get("Retry-After", "1") or 1), RETRY_WAIT_MAX_S))
                continue
            problem = None
            if ctype.startswith("application/problem+json"):
                try:
                    problem = json.loads(body)
                except ValueError:
                    problem = None
            return e.code, ctype, problem


class OpenApiFileTest(unittest.TestCase):
    """Checks of docs/openapi.yaml on its own (no server needed)."""

    def test_reader_sees_every_operation(self):
        ops = read_operations(OPENAPI)
        # A floor, not the exact count: it only guards against the reader
        # silently stopping early (e.g. after a layout change).
        self.assertGreaterEqual(len(ops), 44, f"read only {len(ops)} operations")
        self.assertIn(("GET", "/v1/me/redemptions/{id}/qr.svg"), ops)
        self.assertIn(("GET", "/v1/stats/overview"), ops)  # the last path

    def test_reader_agrees_with_the_operation_ids(self):
        # An independent count: the lint (operation-operationId) requires
        # one operationId per operation, each on its own line at indent 6
        # under paths, and nothing else in paths is written that way.
        with open(OPENAPI, encoding="utf-8") as f:
            text = f.read()
        paths = text[text.index("\npaths:\n"):text.index("\ncomponents:\n")]
        ids = re.findall(r"^      operationId: (\S+)$", paths, flags=re.M)
        self.assertEqual(len(ids), len(set(ids)), "duplicate operationId")
        self.assertEqual(len(read_operations(OPENAPI)), len(ids))

    def test_every_operation_has_a_role_matching_its_security(self):
        bad = []
        for (method, path), op in sorted(read_operations(OPENAPI).items(), key=lambda kv: kv[0][::-1]):
            roles = roles_of(op["role"])
            if not roles or not roles <= set(ROLES) or ("public" in roles and len(roles) > 1):
                bad.append(f"{method} {path}: x-perkd-role {op['role']!r} is not `public` "
                           f"or a comma-separated list of {ROLES[1:]}")
                continue
            want = sorted({SCHEME_OF_ROLE[r] for r in roles} - {None})
            have = op["security"]
            if have is None:
                bad.append(f"{method} {path}: no `security` (write [] for public)")
            elif sorted(have) != want:
                bad.append(f"{method} {path}: roles {op['role']} need security {want}, has {have}")
        if bad:
            self.fail("\n" + "\n".join(bad))

    def test_reader_rejects_layout_it_does_not_understand(self):
        import tempfile
        cases = {
            "flow paths": "openapi: 3.1.0\npaths: {}\n",
            "path without slash": "paths:\n  v1/x:\n    get:\n      x-perkd-role: public\n",
            "odd indent": "paths:\n  /x:\n    get:\n       summary: x\n",
        }
        for name, text in cases.items():
            with self.subTest(name), tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                f.write(text)
                f.flush()
                with self.assertRaises(LayoutError):
                    read_operations(f.name)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write("paths:\n  /a/{id}:\n    description: |\n      get:\n        put: x\n"
                    "    get:\n      x-perkd-role: resident\n      security:\n"
                    "        - residentJWT: []\n  '/b':\n    post:\n      security: []\n"
                    "components:\n  x:\n    get: 1\n")
            f.flush()
            self.assertEqual(read_operations(f.name), {
                ("GET", "/a/{id}"): {"role": "resident", "security": ["residentJWT"]},
                ("POST", "/b"): {"role": None, "security": []},
            })


def emitted_problem_codes():
    """
    The problem codes perkd can answer (its one table, fcgi/problem.c:
    rows `{ status, "code", "title" }`) and those nginx answers itself
    (etc/nginx/problems.conf). Fails if either file cannot be read.
    """
    with open(os.path.join(ROOT, "fcgi", "problem.c"), encoding="utf-8") as f:
        perkd = set(re.findall(r'\{\s*\d{3},\s*"([a-z_]+)"', f.read())) - {"ok"}
    with open(os.path.join(ROOT, "etc", "nginx", "problems.conf"), encoding="utf-8") as f:
        nginx = set(re.findall(r'"code":"([a-z_]+)"', f.read()))
    if len(perkd) < 20 or not nginx:
        raise AssertionError(f"read only {len(perkd)} codes from fcgi/problem.c and "
                             f"{len(nginx)} from etc/nginx/problems.conf: has their layout changed?")
    return perkd | nginx


class ProblemCodesTest(unittest.TestCase):
    """The problem codes in docs/openapi.yaml are the ones clients can get."""

    def setUp(self):
        with open(OPENAPI, encoding="utf-8") as f:
            self.text = f.read()
        self.emitted = emitted_problem_codes()

    def test_every_emitted_code_is_documented(self):
        mentioned = set(re.findall(r"`([a-z_]+)`", self.text))
        missing = sorted(self.emitted - mentioned)
        if missing:
            self.fail("problem codes perkd or nginx can answer that docs/openapi.yaml "
                      "never names: " + ", ".join(missing))

    def test_every_documented_code_is_emitted(self):
        shown = set(re.findall(r"urn:perkd:problem:([a-z_]+)", self.text))
        self.assertGreaterEqual(len(shown), 20, "problem examples not found")
        unknown = sorted(shown - self.emitted)
        if unknown:
            self.fail("docs/openapi.yaml shows problem codes that neither fcgi/problem.c "
                      "nor etc/nginx/problems.conf has: " + ", ".join(unknown))


class RoutesDocumentedTest(unittest.TestCase):
    """Every route perkd serves is documented, with the same role."""

    def test_every_route_is_in_openapi_with_its_role(self):
        documented = openapi_operations()
        bad = []
        for (method, path), role in sorted(perkd_routes().items(), key=lambda kv: kv[0][::-1]):
            if (method, path) not in documented:
                bad.append(f"{method} {path} ({','.join(sorted(role))}): served but not in docs/openapi.yaml")
            elif documented[(method, path)][1] != role:
                bad.append(f"{method} {path}: perkd says {','.join(sorted(role))}, "
                           f"docs/openapi.yaml says {','.join(sorted(documented[(method, path)][1] or ['nothing']))}")
        if bad:
            self.fail("\n" + "\n".join(bad))

    def test_every_documented_operation_is_in_the_route_table(self):
        routes = perkd_routes()
        extra = [f"{m} {path}: in docs/openapi.yaml but not in `perkd --routes`"
                 for (m, p), (path, _) in sorted(openapi_operations().items(), key=lambda kv: kv[0][::-1])
                 if (m, p) not in routes]
        if extra:
            self.fail("\n" + "\n".join(extra))


class OpenApiServedTest(unittest.TestCase):
    """Every documented operation is served by the running stack."""

    def setUp(self):
        self.base = os.environ.get("PERKD_URL", "").rstrip("/")
        if not self.base:
            if os.environ.get("CI", "") in ("true", "1"):
                self.fail("PERKD_URL is not set: source the stack's dev.env")
            self.skipTest("PERKD_URL is not set (run through tests/e2e/run.py)")

    def test_every_documented_operation_is_served(self):
        bad = []
        for (method, path), op in sorted(read_operations(OPENAPI).items(), key=lambda kv: kv[0][::-1]):
            # Any well-formed id: routing does not depend on it, and with no
            # credentials nothing past authentication runs.
            url = PARAM_RE.sub("zz_openapi_probe", path)
            if op["role"] == "public":
                want = 200
            else:
                want = 401
            status, ctype, problem = call(self.base, method, url)
            code = problem.get("code") if isinstance(problem, dict) else None
            if status == want and (want == 200 or problem is not None):
                continue
            if status == 404 and code == "route_not_found":
                why = "not served (404 route_not_found)"
            elif status == 405:
                why = "method not served (405)"
            elif want == 401 and status == 401:
                why = f"401 without a problem document (Content-Type {ctype!r})"
            else:
                why = f"answered {status} {code or ctype!r}, expected {want}"
            bad.append(f"{method} {path}: {why}")
        if bad:
            self.fail("\n" + "\n".join(bad))


if __name__ == "__main__":
    unittest.main()
