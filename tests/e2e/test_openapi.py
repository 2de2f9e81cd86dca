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
     problem code the file shows is one of those;
  5. real answers conform: a fresh resident, the demo's issuer, partner
     and manager drive every operation on the stack, and each answer's
     status, media type, JSON schema, problem code, required headers and
     CSV header line must be the documented ones.

Python standard library only (the e2e rule), so there is no PyYAML and
no jsonschema: read_operations() reads just the `paths:` section of a file
written in the layout the header of docs/openapi.yaml promises (two-space
indentation; paths at indent 2, methods at 4, `x-perkd-role` and
`security` at 6), skipping block scalars; yaml_load() reads the whole
document in the YAML subset it is written in; schema_errors() checks a
value against the JSON Schema keywords the document uses. Each fails
loudly on anything it does not know rather than guessing, and a test
checks that the two readers agree.

Environment: PERKD_BIN, else PERKD_BUILD_DIR/perkd, else ./perkd at the
top of the source tree; PERKD_URL (from dev.env; needed by check 2 only).
"""
import json
import math
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.parse
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

    def test_the_two_readers_agree(self):
        # read_operations (indentation) against yaml_load (the whole
        # document): two independent readers, one answer.
        doc = _doc()
        want = {}
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    sec = op.get("security")
                    want[(method.upper(), path)] = {
                        "role": op.get("x-perkd-role"),
                        "security": None if sec is None else [k for s in sec for k in s]}
        self.assertEqual(read_operations(OPENAPI), want)

    def test_yaml_loader_refuses_what_it_does_not_know(self):
        for text in ("a: >\n  folded\n", "a: 1\na: 2\n", "a:\n  - 1\n b: 2\n", "a: 'open\n"):
            with self.subTest(text=text), self.assertRaises((YamlError, IndexError)):
                yaml_load(text)
        self.assertEqual(yaml_load("a: [1, 'x y', {b: 'c: d'}]\nn: ~\nt: |-\n  one\n  two\n"),
                         {"a": [1, "x y", {"b": "c: d"}], "n": None, "t": "one\ntwo"})

    def test_undeclared_fields_are_found(self):
        doc = {"components": {"schemas": {
            "A": {"type": "object", "properties": {"a": {"type": "integer"}}},
            "B": {"type": "object", "properties": {"b": {"type": "string"}}}}}}
        a, b = {"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}
        self.assertEqual(undeclared_fields(doc, {"allOf": [a, b]}, {"a": 1, "b": "x"}), [])
        self.assertEqual(undeclared_fields(doc, {"type": "array", "items": a}, [{"a": 1}, {"c": 2}]),
                         ["$[1]: 'c' is not declared"])
        # oneOf: only the alternative the value matches declares its fields
        self.assertEqual(undeclared_fields(doc, {"oneOf": [
            {"allOf": [a, {"required": ["a"]}]}, {"allOf": [b, {"required": ["b"]}]}]},
            {"b": "x", "a": "not an integer"}), ["$: 'a' is not declared"])
        self.assertEqual(undeclared_fields(doc, {"type": "object", "additionalProperties": True},
                                           {"z": {"y": 1}}), [])
        self.assertEqual(undeclared_fields(doc, {"type": "object", "properties": {"o": a}},
                                           {"o": {"a": 1, "n": None}}), ["$.o: 'n' is not declared"])

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


# ---- a loader for the YAML subset docs/openapi.yaml is written in --------
# (the conformance checks below need the whole document; PyYAML is not in
# the standard library)

class YamlError(ValueError):
    pass


_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")


def _plain(s):
    if s in ("null", "~", ""):
        return None
    if s == "true":
        return True
    if s == "false":
        return False
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s):
        return float(s)
    return s


def _dquote(s, i):
    """Double-quoted scalar starting at s[i] == '"': (value, index after)."""
    out, i = [], i + 1
    esc = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "/": "/", "0": "\0"}
    while i < len(s):
        c = s[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            n = s[i + 1]
            if n in esc:
                out.append(esc[n])
                i += 2
            elif n in "xu":
                w = 2 if n == "x" else 4
                out.append(chr(int(s[i + 2:i + 2 + w], 16)))
                i += 2 + w
            else:
                raise YamlError(f"unknown escape \\{n}")
            continue
        out.append(c)
        i += 1
    raise YamlError("unterminated double-quoted scalar")


def _squote(s, i):
    out, i = [], i + 1
    while i < len(s):
        if s[i] == "'":
            if i + 1 < len(s) and s[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(s[i])
        i += 1
    raise YamlError("unterminated single-quoted scalar")


def _flow(s, i):
    """A flow collection or scalar at s[i]: (value, index after)."""
    while s[i] == " ":
        i += 1
    c = s[i]
    if c in "[{":
        close = "]" if c == "[" else "}"
        seq, mp = [], {}
        i += 1
        while True:
            while s[i] == " ":
                i += 1
            if s[i] == close:
                return (seq if c == "[" else mp), i + 1
            if c == "[":
                v, i = _flow(s, i)
                seq.append(v)
            else:
                k, i = _flow_scalar(s, i, key=True)
                while s[i] == " ":
                    i += 1
                if s[i] != ":":
                    raise YamlError(f"expected ':' in flow mapping: {s!r}")
                v, i = _flow(s, i + 1)
                mp[k] = v
            while s[i] == " ":
                i += 1
            if s[i] == ",":
                i += 1
            elif s[i] != close:
                raise YamlError(f"expected ',' or {close!r}: {s!r}")
    return _flow_scalar(s, i)


def _flow_scalar(s, i, key=False):
    if s[i] == '"':
        return _dquote(s, i)
    if s[i] == "'":
        return _squote(s, i)
    j = i
    while j < len(s) and s[j] not in ",]}":
        if s[j] == ":" and (j + 1 == len(s) or s[j + 1] in " ,]}") and key:
            break
        j += 1
    text = s[i:j].strip()
    return (text if key else _plain(text)), j


def _scalar(text):
    """A whole-line value (after `key: ` or `- `)."""
    if text[0] in "[{\"'":
        v, end = _flow(text, 0)
        if text[end:].strip():
            raise YamlError(f"trailing text after {text[:end]!r}")
        return v
    return _plain(text)


def _split_key(body):
    """'key: rest' -> (key, rest) or None."""
    if body[0] in "'\"":
        k, end = (_squote if body[0] == "'" else _dquote)(body, 0)
        rest = body[end:]
        if not rest.startswith(":"):
            return None
        return k, rest[1:].strip()
    m = re.match(r"^([^\s:#][^:#]*?):(?:\s+(.*))?$", body)
    if not m:
        return None
    return m.group(1), (m.group(2) or "").strip()


def yaml_load(text):
    """
    Loads the YAML subset this project's OpenAPI file is written in: block
    mappings and sequences by indentation, single-line flow collections,
    plain and quoted scalars, `|`/`|-`/`>` block scalars, full-line
    comments. Raises YamlError on anything else.
    """
    lines = []
    for raw in text.split("\n"):
        stripped = raw.lstrip(" ")
        lines.append((len(raw) - len(stripped), stripped.rstrip(), raw))
    pos = [0]

    def skip():
        while pos[0] < len(lines) and (not lines[pos[0]][1] or lines[pos[0]][1].startswith("#")):
            pos[0] += 1

    def block_scalar(indicator, parent_indent):
        body, n = [], pos[0]
        while n < len(lines) and (not lines[n][1] or lines[n][0] > parent_indent):
            body.append(lines[n][2])
            n += 1
        while body and not body[-1].strip():
            body.pop()
        pos[0] = n
        ind = min(len(b) - len(b.lstrip(" ")) for b in body if b.strip()) if body else 0
        body = [b[ind:] for b in body]
        if indicator.startswith(">"):
            raise YamlError("folded scalars are not used here")
        out = "\n".join(body)
        return out if indicator == "|-" else out + "\n"

    def value(rest, indent):
        if rest in ("|", "|-"):
            return block_scalar(rest, indent)
        if rest:
            return _scalar(rest)
        skip()
        if pos[0] < len(lines) and lines[pos[0]][0] > indent:
            return node(lines[pos[0]][0])
        return None

    def node(indent):
        skip()
        if lines[pos[0]][1].startswith("- ") or lines[pos[0]][1] == "-":
            seq = []
            while True:
                skip()
                if pos[0] >= len(lines) or lines[pos[0]][0] != indent or not lines[pos[0]][1].startswith("-"):
                    return seq
                body = lines[pos[0]][1][1:].strip()
                kv = _split_key(body) if body and body[0] not in "[{" else None
                if kv is None:
                    pos[0] += 1
                    seq.append(value(body, indent))
                else:
                    # "- key: v" starts a mapping whose keys sit at indent + 2
                    lines[pos[0]] = (indent + 2, body, " " * (indent + 2) + body)
                    seq.append(node(indent + 2))
        mp = {}
        while True:
            skip()
            if pos[0] >= len(lines) or lines[pos[0]][0] < indent:
                return mp
            ind, body, _ = lines[pos[0]]
            if ind != indent:
                raise YamlError(f"line {pos[0] + 1}: indentation {ind}, expected {indent}")
            kv = _split_key(body)
            if kv is None:
                raise YamlError(f"line {pos[0] + 1}: not `key: value`: {body!r}")
            k, rest = kv
            if k in mp:
                raise YamlError(f"line {pos[0] + 1}: duplicate key {k!r}")
            pos[0] += 1
            mp[k] = value(rest, indent)

    doc = node(0)
    skip()
    if pos[0] < len(lines):
        raise YamlError(f"line {pos[0] + 1}: unexpected {lines[pos[0]][1]!r}")
    return doc


# ---- a checker for the JSON Schema keywords docs/openapi.yaml uses -------

_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


def _is(t, v):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return (isinstance(v, int) and not isinstance(v, bool)) or \
            (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    raise ValueError(f"unknown type {t!r}")


def _bounds(schema, n, what, lo, hi, path):
    """Errors of a measure n (a length, a count, a value) against the
    schema's lower and upper bound keywords lo and hi."""
    errs = []
    if lo in schema and n < schema[lo]:
        errs.append(f"{path}: {what} {n} below {lo} {schema[lo]}")
    if hi in schema and n > schema[hi]:
        errs.append(f"{path}: {what} {n} above {hi} {schema[hi]}")
    return errs


def schema_errors(doc, schema, v, path="$"):
    """
    Errors of value v against an OpenAPI 3.1 (JSON Schema 2020-12) schema,
    for the keywords docs/openapi.yaml uses; `$ref` resolves inside doc.
    Returns a list of "path: message" strings (empty = valid). An unknown
    keyword raises, so that the checker never silently ignores a rule.
    """
    known = {"$ref", "type", "enum", "const", "required", "properties",
             "additionalProperties", "items", "minItems", "maxItems",
             "uniqueItems", "minimum", "maximum", "exclusiveMinimum",
             "multipleOf", "minLength", "maxLength", "pattern", "format",
             "oneOf", "anyOf", "allOf", "minProperties", "maxProperties",
             "description", "example", "examples", "default", "summary",
             "title"}
    unknown = set(schema) - known
    if unknown:
        raise ValueError(f"schema keyword(s) the checker does not know: {sorted(unknown)}")
    errs = []
    if "$ref" in schema:
        target = doc
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        errs += schema_errors(doc, target, v, path)
    for sub in schema.get("allOf", []):
        errs += schema_errors(doc, sub, v, path)
    if "oneOf" in schema:
        ok = sum(1 for sub in schema["oneOf"] if not schema_errors(doc, sub, v, path))
        if ok != 1:
            errs.append(f"{path}: matches {ok} of the oneOf alternatives, not exactly 1")
    if "anyOf" in schema and not any(not schema_errors(doc, sub, v, path) for sub in schema["anyOf"]):
        errs.append(f"{path}: matches none of the anyOf alternatives")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(t, v) for t in types):
            return errs + [f"{path}: {type(v).__name__} {v!r:.60} is not {'/'.join(types)}"]
    if "const" in schema and v != schema["const"]:
        errs.append(f"{path}: {v!r:.60} is not {schema['const']!r}")
    if "enum" in schema and v not in schema["enum"]:
        errs.append(f"{path}: {v!r:.60} not in {schema['enum']}")
    if isinstance(v, str):
        errs += _bounds(schema, len(v), "length", "minLength", "maxLength", path)
        if "pattern" in schema and not re.search(schema["pattern"], v):
            errs.append(f"{path}: {v!r:.60} does not match {schema['pattern']}")
        fmt = schema.get("format")
        if fmt == "date-time" and not _DATE_TIME.match(v):
            errs.append(f"{path}: {v!r} is not an RFC 3339 time")
        if fmt == "date" and not _DATE.match(v):
            errs.append(f"{path}: {v!r} is not a date")
    if _is("number", v):
        errs += _bounds(schema, v, "value", "minimum", "maximum", path)
        if "exclusiveMinimum" in schema and v <= schema["exclusiveMinimum"]:
            errs.append(f"{path}: {v} <= {schema['exclusiveMinimum']}")
        if "multipleOf" in schema:
            q = v / schema["multipleOf"]
            if not math.isclose(q, round(q), abs_tol=1e-6):
                errs.append(f"{path}: {v} is not a multiple of {schema['multipleOf']}")
    if isinstance(v, list):
        errs += _bounds(schema, len(v), "items", "minItems", "maxItems", path)
        if "items" in schema:
            for i, item in enumerate(v):
                errs += schema_errors(doc, schema["items"], item, f"{path}[{i}]")
    if isinstance(v, dict):
        for name in schema.get("required", []):
            if name not in v:
                errs.append(f"{path}: missing {name!r}")
        props = schema.get("properties", {})
        for name, item in v.items():
            if name in props:
                errs += schema_errors(doc, props[name], item, f"{path}.{name}")
            elif schema.get("additionalProperties") is False:
                errs.append(f"{path}: unexpected {name!r}")
    return errs


def _applicable(doc, schema, v):
    """
    The schemas that describe value v under schema: schema itself, what its
    `$ref` points to, every `allOf` member, and the `oneOf`/`anyOf`
    alternatives that v matches, recursively.
    """
    out = [schema]
    if "$ref" in schema:
        target = doc
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        out += _applicable(doc, target, v)
    for sub in schema.get("allOf", []):
        out += _applicable(doc, sub, v)
    for key in ("oneOf", "anyOf"):
        for sub in schema.get(key, []):
            if not schema_errors(doc, sub, v):
                out += _applicable(doc, sub, v)
    return out


def undeclared_fields(doc, schema, v, path="$"):
    """
    Members of JSON objects inside v that schema does not declare: a stricter
    reading than JSON Schema's (whose objects are open unless
    `additionalProperties: false`), because the document is to name every
    field perkd actually sends. An object is open only where a schema says
    so explicitly (`additionalProperties: true` or a schema for them).
    Returns a list of "path: message" strings (empty = every field declared).
    """
    schemas = _applicable(doc, schema, v)
    errs = []
    if isinstance(v, dict):
        props, extra = {}, []
        for s in schemas:
            for name, sub in s.get("properties", {}).items():
                props.setdefault(name, []).append(sub)
            more = s.get("additionalProperties")
            if more is True or isinstance(more, dict):
                extra.append(more)
        for name, item in v.items():
            subs = props.get(name) or extra
            if not subs:
                errs.append(f"{path}: {name!r} is not declared")
            for sub in subs:
                if sub is True:
                    continue    # anything goes here, declared as such
                errs += undeclared_fields(doc, sub, item, f"{path}.{name}")
    elif isinstance(v, list):
        for s in schemas:
            if "items" in s:
                for i, item in enumerate(v):
                    errs += undeclared_fields(doc, s["items"], item, f"{path}[{i}]")
    # several schemas may declare the same member: report each finding once
    return list(dict.fromkeys(errs))


def nginx_problem_codes():
    """The problem codes nginx answers itself (etc/nginx/problems.conf)."""
    with open(os.path.join(ROOT, "etc", "nginx", "problems.conf"), encoding="utf-8") as f:
        return set(re.findall(r'"code":"([a-z_]+)"', f.read()))


def emitted_problem_codes():
    """
    The problem codes perkd can answer (its one table, fcgi/problem.c:
    rows `{ status, "code", "title" }`) and those nginx answers itself
    (etc/nginx/problems.conf). Fails if either file cannot be read.
    """
    with open(os.path.join(ROOT, "fcgi", "problem.c"), encoding="utf-8") as f:
        perkd = set(re.findall(r'\{\s*\d{3},\s*"([a-z_]+)"', f.read())) - {"ok"}
    nginx = nginx_problem_codes()
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


# ---- request bodies: perkd's validator tables against the document -------

_FN_RE = re.compile(r"^([a-z_][a-z0-9_]*)\(", re.M)
_TABLE_RE = re.compile(r"static const struct ht_field (\w+)\[\] = \{(.*?)\n\};", re.S)
_FIELD_RE = re.compile(r'\{\s*"(\w+)",\s*HT_F_(\w+),\s*(\d),\s*([-\w ]+?),\s*([-\w ]+?),\s*(\d)\s*\}')
_ROUTE_RE = re.compile(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*\w+,\s*(\w+),')
# HT_F_* -> (JSON Schema type, its bounds keywords)
_FTYPES = {"STRING": ("string", "minLength", "maxLength"),
           "INT": ("integer", "minimum", "maximum"),
           "NUMBER": ("number", "minimum", "maximum"),
           "BOOL": ("boolean", None, None),
           "TIME": ("string", None, None),
           "STRINGS": ("array", "minItems", "maxItems"),
           "OBJECT": ("object", None, None),
           "ARRAY": ("array", "minItems", "maxItems")}


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def c_limits():
    """{LIM_NAME: value} of sql/perkd_limits.h (plain integer defines)."""
    out = {}
    for name, value in re.findall(r"^#define (LIM_\w+)\s+\(?(-?\d+)(?:U?LL|U?L)?\)?\s*(?:/\*.*)?$",
                                  _read("sql", "perkd_limits.h"), flags=re.M):
        out[name] = int(value)
    return out


def c_body_tables():
    """
    {(METHOD, normalised path): [(name, HT_F type, required, min, max,
    nullable), ...] or None} for every route: the ht_field table its
    handler (or a function of the same file it calls) passes to ht_body()
    directly or through a helper that hands its argument on to ht_body();
    [] when it passes NULL (an empty object), None when it reads no body.
    Fails if a handler reaches more than one table.
    """
    limits = c_limits()

    def number(text):
        text = text.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        m = re.fullmatch(r"(LIM_\w+)(?:\s*-\s*(\d+))?", text)
        if not m or m.group(1) not in limits:
            raise AssertionError(f"cannot evaluate the bound {text!r} of a field table")
        return limits[m.group(1)] - int(m.group(2) or 0)

    funcs, tables = {}, {}
    for name in sorted(os.listdir(os.path.join(ROOT, "fcgi"))):
        if not (name.startswith("h_") and name.endswith(".c")):
            continue
        text = _read("fcgi", name)
        for t, rows in _TABLE_RE.findall(text):
            tables[t] = [(f, ty, int(req), number(lo), number(hi), int(nul))
                         for f, ty, req, lo, hi, nul in _FIELD_RE.findall(rows)]
        local = {}
        for m in _FN_RE.finditer(text):
            start = text.find("\n{\n", m.end())
            end = text.find("\n}\n", start)
            if start < 0 or end < 0:
                continue
            local[m.group(1)] = (text[m.end():start], text[start:end])
        # helpers that pass a table they were given on to ht_body()
        passers = {"ht_body"} | {fn for fn, (params, body) in local.items()
                                 if any(re.search(rf"\b{re.escape(a)}\b", params)
                                        for a in re.findall(r"\bht_body\(\s*r,\s*(\w+)", body))}
        for fn, (params, body) in local.items():
            given = re.findall(rf"\b(?:{'|'.join(sorted(passers))})\(\s*r,\s*(\w+)", body)
            funcs[fn] = (body, set(re.findall(r"\b(\w+)\(", body)) & set(local),
                         {t for t in given if t == "NULL" or t.endswith("_fields")})
    out = {}
    for method, path, handler in _ROUTE_RE.findall(_read("fcgi", "route.c")):
        if handler not in funcs:
            raise AssertionError(f"handler {handler} of {method} {path} not found in fcgi/h_*.c")
        seen, pending, used = set(), [handler], set()
        while pending:
            fn = pending.pop()
            if fn in seen:
                continue
            seen.add(fn)
            body, calls, given = funcs[fn]
            used |= given
            pending += sorted(calls)
        if len(used) > 1:
            raise AssertionError(f"{method} {path} reaches several field tables: {sorted(used)}")
        t = used.pop() if used else None
        out[(method, normalise(path))] = None if t is None else ([] if t == "NULL" else tables[t])
    return out


def _resolve(doc, schema):
    while "$ref" in schema:
        target = doc
        for part in schema["$ref"][2:].split("/"):
            target = target[part]
        schema = dict(target, **{k: v for k, v in schema.items() if k != "$ref"})
    return schema


# Fields a handler checks by hand rather than with its table, and why the
# document rightly differs from the table there.
HAND_CHECKED = {
    # anything but `true` is 422 consent_required: the document says
    # required, const true, and lists consent_required
    (("POST", "/v1/me/enroll"), "consent"),
}


def body_table_errors(doc, table, schema, method_path=None):
    """How a request body schema departs from perkd's field table."""
    schema = _resolve(doc, schema)
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    errs = []
    if schema.get("additionalProperties") is not False:
        errs.append("the schema does not say additionalProperties: false (perkd refuses unknown fields)")
    for name, ftype, req, lo, hi, nullable in table:
        if name not in props:
            errs.append(f"{name!r}: accepted by perkd, not in the schema")
            continue
        p = _resolve(doc, props[name])
        alts = [_resolve(doc, a) for a in p.get("oneOf", p.get("anyOf", []))] or [p]
        types = []
        for a in alts:
            types += a.get("type") if isinstance(a.get("type"), list) else [a.get("type")]
        if (method_path, name) in HAND_CHECKED:
            continue
        want = _FTYPES[ftype][0]
        # the bounds and format are those of the alternative of perkd's type
        p = next((a for a in alts if want in (a.get("type") if isinstance(a.get("type"), list)
                                              else [a.get("type")])), p)
        want, lo_kw, hi_kw = _FTYPES[ftype]
        if want not in types:
            errs.append(f"{name!r}: perkd wants {want}, the schema says {p.get('type')}")
        if ftype == "TIME" and p.get("format") != "date-time":
            errs.append(f"{name!r}: perkd wants an RFC 3339 time, the schema has no format: date-time")
        if bool(req) != (name in required):
            errs.append(f"{name!r}: required by perkd: {bool(req)}, by the schema: {name in required}")
        if bool(nullable) != ("null" in types):
            errs.append(f"{name!r}: null accepted by perkd: {bool(nullable)}, by the schema: {'null' in types}")
        # INT's upper bound in the table is the largest value; a bound the
        # schema leaves out is the JSON integer range for INT (+-2^53)
        for kw, bound in ((lo_kw, lo), (hi_kw, hi)):
            if kw is None:
                continue
            have = p.get(kw)
            if ftype == "STRING" and have is None and (
                    "enum" in p or "const" in p or (kw == "minLength" and (
                        bound == 0 or ("pattern" in p and not re.search(p["pattern"], ""))))):
                continue    # the enum, const or a pattern no empty string matches bounds it
            if ftype in ("STRINGS", "ARRAY") and kw == "minItems" and bound == 0 and have is None:
                continue
            if have != bound:
                errs.append(f"{name!r}: perkd's {kw} is {bound}, the schema's {have}")
    names = {f[0] for f in table}
    errs += [f"{name!r}: in the schema, unknown to perkd" for name in props if name not in names]
    return errs


class RequestBodiesTest(unittest.TestCase):
    """Each operation's request body schema is the field table perkd
    validates it with: the same fields, types, required fields, nulls and
    bounds (nested objects, checked by hand in the handlers, aside)."""

    def test_request_bodies_match_the_field_tables(self):
        doc = _doc()
        bad, checked = [], 0
        for (method, path), table in sorted(c_body_tables().items(), key=lambda kv: kv[0][::-1]):
            tmpl = next(p for p in doc["paths"] if normalise(p) == path)
            op = doc["paths"][tmpl][method.lower()]
            body = op.get("requestBody")
            if table is None:
                if body is not None:
                    bad.append(f"{method} {tmpl}: documents a body perkd does not read")
                continue
            if body is None:
                if table:
                    bad.append(f"{method} {tmpl}: perkd reads a body the document does not show")
                continue
            checked += 1
            schema = body["content"]["application/json"]["schema"]
            bad += [f"{method} {tmpl}: {e}" for e in body_table_errors(doc, table, schema, (method, path))]
        self.assertGreaterEqual(checked, 15, "too few request bodies compared: has the layout changed?")
        if bad:
            self.fail("\n" + "\n".join(bad))


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


# ---- 5. real answers conform to the document ----------------------------

def _doc():
    with open(OPENAPI, encoding="utf-8") as f:
        return yaml_load(f.read())


class AnswerChecker(unittest.TestCase):
    """
    The base of the tests that check real answers against docs/openapi.yaml
    (it has no tests of its own): call() sends one request to the running
    stack and records how its answer departs from the document: the status
    is documented for the operation, the media type too, a JSON body
    matches the schema and declares every field it has, a problem's `code`
    is one the operation lists, required response headers are present (and
    X-Request-Id and Cache-Control: no-store on all but the web server's
    own errors), a CSV's header line is the documented one, and no answer
    is a 500. tearDown fails the test with every departure at once.
    """

    @classmethod
    def setUpClass(cls):
        cls.doc = _doc()
        cls.nginx_codes = nginx_problem_codes()
        here = os.path.dirname(os.path.abspath(__file__))
        if here not in sys.path:
            sys.path.insert(0, here)
        import lib  # tests/e2e/lib.py: the shared HTTP client and tokens
        cls.lib = lib

    def setUp(self):
        need = ("PERKD_URL", "PERKD_RESIDENT_SECRET", "PERKD_MANAGER_KEY",
                "PERKD_ISSUER_KEY", "PERKD_PARTNER_KEY", "PERKD_ISSUER_ORG",
                "PERKD_PARTNER_ORG")
        missing = [n for n in need if not os.environ.get(n)]
        if missing:
            if os.environ.get("CI", "") in ("true", "1"):
                self.fail("not set: " + ", ".join(missing))
            self.skipTest("not set (source the stack's dev.env): " + ", ".join(missing))
        self.bad = []
        self.seen = 0

    def tearDown(self):
        if getattr(self, "bad", None):
            self.fail(f"{len(self.bad)} answer(s) of {self.seen} do not match docs/openapi.yaml:\n"
                      + "\n".join(self.bad))

    def call(self, method, tmpl, path=None, **kw):
        """Sends one request (lib.request) and records every way its answer
        departs from the document. Returns the lib.Response."""
        r = self.lib.request(method, path or tmpl, **kw)
        self.seen += 1
        where = f"{method} {tmpl} -> {r.status}"
        op = self.doc["paths"][tmpl][method.lower()]
        if r.status == 500:
            # documented for every operation, because it can happen, but
            # always a bug
            self.bad.append(f"{where}: internal_error ({r.text[:160]!r})")
        # the document's conventions: on every answer but the errors the
        # web server answers itself
        if not (r.json and r.json.get("code") in self.nginx_codes):
            if not r.headers.get("x-request-id"):
                self.bad.append(f"{where}: no X-Request-Id")
            if "no-store" not in r.headers.get("cache-control", ""):
                self.bad.append(f"{where}: Cache-Control {r.headers.get('cache-control')!r}, not no-store")
        resp = op["responses"].get(str(r.status))
        if resp is None:
            self.bad.append(f"{where}: status not documented ({r.text[:160]!r})")
            return r
        while "$ref" in resp:
            resp = self.doc["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
        for name, h in resp.get("headers", {}).items():
            while "$ref" in h:
                h = self.doc["components"]["headers"][h["$ref"].rsplit("/", 1)[1]]
            if h.get("required") and name.lower() not in r.headers:
                self.bad.append(f"{where}: no {name} header")
        content = resp.get("content")
        if not content:
            if r.body:
                self.bad.append(f"{where}: a body where none is documented")
            return r
        media = content.get(r.content_type)
        if media is None:
            self.bad.append(f"{where}: {r.content_type!r} not documented ({sorted(content)})")
            return r
        if r.content_type.endswith("json"):
            if r.json is None:
                self.bad.append(f"{where}: body is not JSON")
                return r
            self.bad += [f"{where}: {e}" for e in schema_errors(self.doc, media["schema"], r.json)]
            self.bad += [f"{where}: {e}" for e in undeclared_fields(self.doc, media["schema"], r.json)]
            if r.content_type == "application/problem+json":
                codes = set()
                for ex in media.get("examples", {}).values():
                    ex = self.doc["components"]["examples"][ex["$ref"].rsplit("/", 1)[1]] \
                        if "$ref" in ex else ex
                    codes.add(ex["value"]["code"])
                if r.json.get("code") not in codes:
                    self.bad.append(f"{where}: code {r.json.get('code')!r} not among {sorted(codes)}")
        elif r.content_type == "text/csv" and isinstance(media.get("example"), str):
            want = media["example"].split("\r\n")[0].split("\n")[0]
            got = r.text.split("\r\n")[0].split("\n")[0]
            if got != want:
                self.bad.append(f"{where}: CSV header {got!r}, documented {want!r}")
        return r


class ConformanceTest(AnswerChecker):
    """
    Drives every documented operation on the running stack (a fresh
    resident, the demo's issuer, partner and manager keys) and checks each
    answer (AnswerChecker.call). Manager calls are reads and refusals,
    except for things of the test's own (a free perk of its own partner
    organisation and a rule, both switched off again, and a campaign in
    2099 that boosts nothing), so shared demo data is not changed; the
    partner flow uses one unit of one of the demo partner's perks.
    """

    def test_public_answers_conform(self):
        for path in ("/healthz", "/readyz", "/metrics", "/v1/rules", "/v1/perks",
                     "/v1/tiers", "/v1/districts", "/v1/issuers", "/v1/keys/passes"):
            self.call("GET", path)
        self.call("GET", "/v1/perks", "/v1/perks?limit=0")
        self.call("GET", "/v1/rules", "/v1/rules?cursor=forged")
        self.call("GET", "/v1/issuers", "/v1/issuers?limit=1")

    def _rule_and_perks(self):
        lib = self.lib
        names = {o["id"]: o["name"] for o in lib.list_all("/v1/admin/orgs", key=lib.MANAGER_KEY)}
        rules = self.call("GET", "/v1/rules", "/v1/rules?limit=500").json["items"]
        perks = self.call("GET", "/v1/perks", "/v1/perks?limit=500").json["items"]
        mine = [r for r in rules if names.get(lib.ISSUER_ORG) in r["issuers"] and r["daily_cap"] is None]
        if not mine:
            self.fail("the demo has no uncapped rule the demo issuer may award")
        rule = max(mine, key=lambda r: r["points"])
        other = [r for r in rules if names.get(lib.ISSUER_ORG) not in r["issuers"]]
        ours = [p for p in perks if p["partner"] == names.get(lib.PARTNER_ORG) and p["kind"] == "voucher"
                and not p["min_tier"] and p["stock_left"] != 0]
        if not ours:
            self.fail("the demo partner has no voucher perk in stock without a tier")
        unlimited = [p for p in perks if p["kind"] == "voucher" and not p["min_tier"]
                     and p["stock_left"] is None]
        status = [p for p in perks if p["kind"] == "status"]
        return rule, other, min(ours, key=lambda p: p["cost_points"]), unlimited, status, names

    def test_resident_issuer_partner_answers_conform(self):
        lib = self.lib
        rule, other, perk, unlimited, status, names = self._rule_and_perks()
        # A partner organisation of this test's own takes the checks meant
        # to fail: perkd limits failed checks per organisation, and the
        # demo partner's budget belongs to the other tests.
        org = self.call("POST", "/v1/admin/orgs", key=lib.MANAGER_KEY,
                        body={"name": lib.unique("openapi-partner"), "roles": ["partner"]},
                        headers={"Idempotency-Key": lib.unique("idem")})
        if org.status != 201:
            self.fail(f"could not create a partner organisation: {org!r}")
        keys = "/v1/admin/orgs/{id}/keys"
        newkey = self.call("POST", keys, keys.replace("{id}", org.json["id"]), key=lib.MANAGER_KEY)
        if newkey.status != 201:
            self.fail(f"could not create a key: {newkey!r}")
        stranger = newkey.json["key"]
        district = self.call("GET", "/v1/districts").json["items"][0]["code"]
        sub = lib.unique("openapi")
        tok = lib.mint_token(sub)
        idem = {"Idempotency-Key": lib.unique("idem")}
        enroll = {"consent": True, "consent_version": "2026-01", "district": district}
        self.call("GET", "/v1/me", token=tok)
        self.call("POST", "/v1/me/enroll", body=dict(enroll, consent=False), token=tok)
        self.call("POST", "/v1/me/enroll", body=dict(enroll, district="no-such-district"), token=tok)
        self.call("POST", "/v1/me/enroll", body=dict(enroll, colour="red"), token=tok)
        self.call("POST", "/v1/me/enroll", body=enroll, token=tok, headers=idem)
        again = self.call("POST", "/v1/me/enroll", body=enroll, token=tok, headers=idem)
        if again.headers.get("idempotent-replayed") != "true":
            self.bad.append("POST /v1/me/enroll: a replay without Idempotent-Replayed: true")
        self.call("POST", "/v1/me/enroll", body=dict(enroll, consent_version="2"), token=tok, headers=idem)
        self.call("POST", "/v1/me/enroll", body=enroll, token=tok)
        self.call("GET", "/v1/me", token=tok)
        self.call("GET", "/v1/me", token=lib.tamper_signature(tok))
        self.call("GET", "/v1/me", key=lib.MANAGER_KEY)
        self.call("PUT", "/v1/me/sources", body={"sources": ["org_NOSUCHORG"]}, token=tok)
        self.call("PUT", "/v1/me/sources", body={"sources": [lib.ISSUER_ORG]}, token=tok)
        self.call("PUT", "/v1/me/sources", body={"sources": None}, token=tok)
        # issuer: enough points for the partner's perk, a duplicate, refusals
        ref = lib.unique("ref")
        for i in range(max(2, math.ceil(perk["cost_points"] / rule["points"]))):
            self.call("POST", "/v1/awards", token=None, key=lib.ISSUER_KEY,
                      body={"subject": sub, "rule": rule["code"], "external_ref": f"{ref}-{i}"})
        award = {"subject": sub, "rule": rule["code"], "external_ref": f"{ref}-0"}
        self.call("POST", "/v1/awards", body=award, key=lib.ISSUER_KEY)
        self.call("POST", "/v1/awards", body=dict(award, subject=lib.unique("nobody")), key=lib.ISSUER_KEY)
        self.call("POST", "/v1/awards", body=dict(award, rule="no_such_rule"), key=lib.ISSUER_KEY)
        if other:
            self.call("POST", "/v1/awards", body=dict(award, rule=other[0]["code"]), key=lib.ISSUER_KEY)
        self.call("POST", "/v1/awards", body=dict(award, external_ref="x" * 129), key=lib.ISSUER_KEY)
        self.call("POST", "/v1/awards", body=award, key=lib.PARTNER_KEY)
        self.call("POST", "/v1/awards/batch", key=lib.ISSUER_KEY, body={"items": [
            dict(award, external_ref=f"{ref}-b1"), dict(award, rule="no_such_rule"),
            {"subject": sub}, dict(award, external_ref=f"{ref}-b1")]})
        self.call("POST", "/v1/awards/batch", body={"items": []}, key=lib.ISSUER_KEY)
        page = self.call("GET", "/v1/me/ledger", "/v1/me/ledger?limit=2", token=tok).json
        if page and page.get("next_cursor"):
            self.call("GET", "/v1/me/ledger", "/v1/me/ledger?limit=2&cursor=" + page["next_cursor"], token=tok)
        # a voucher of the demo partner: QR, check, use, use again
        r = self.call("POST", "/v1/me/redemptions", body={"perk_id": perk["id"]}, token=tok,
                      headers={"Idempotency-Key": lib.unique("idem")})
        self.call("POST", "/v1/me/redemptions", body={"perk_id": "prk_NOSUCHPERK"}, token=tok)
        if status:
            self.call("POST", "/v1/me/redemptions", body={"perk_id": status[0]["id"]}, token=tok)
        self.call("POST", "/v1/vouchers/check", body={"code": "0000-0000-0000"}, key=stranger)
        if r.status == 201:
            red, code = r.json["id"], r.json["voucher_code"]
            qr = "/v1/me/redemptions/{id}/qr.svg"
            self.call("GET", qr, qr.replace("{id}", red), token=tok)
            self.call("POST", "/v1/vouchers/check", body={"code": code}, key=lib.PARTNER_KEY)
            self.call("POST", "/v1/vouchers/use", body={"code": code}, key=stranger)
            self.call("POST", "/v1/vouchers/use", body={"code": code}, key=lib.PARTNER_KEY)
            self.call("POST", "/v1/vouchers/use", body={"code": code}, key=lib.PARTNER_KEY)
            self.call("GET", qr, qr.replace("{id}", red), token=tok)
            self.call("DELETE", "/v1/me/redemptions/{id}", "/v1/me/redemptions/" + red, token=tok)
        else:
            self.bad.append(f"POST /v1/me/redemptions: {r.status}, so the voucher answers were not checked")
        if unlimited:
            r = self.call("POST", "/v1/me/redemptions", body={"perk_id": unlimited[0]["id"]}, token=tok)
            if r.status == 201:
                self.call("DELETE", "/v1/me/redemptions/{id}", "/v1/me/redemptions/" + r.json["id"], token=tok)
        self.call("DELETE", "/v1/me/redemptions/{id}", "/v1/me/redemptions/red_NOSUCHVOUCHER", token=tok)
        self.call("GET", "/v1/me/redemptions", token=tok)
        # a free voucher of this test's own partner: the manager's view of a
        # perk (nulls for "unset"), a redemption that costs nothing, its
        # cancel; then the perk is switched off, out of the catalogue again
        perks = "/v1/admin/perks"
        free = self.call("POST", perks, key=lib.MANAGER_KEY, body={
            "title": lib.unique("openapi-free"), "description": "", "partner": org.json["id"],
            "kind": "voucher", "cost_points": 0, "stock": 1, "min_tier": None, "valid_to": None})
        if free.status == 201:
            r = self.call("POST", "/v1/me/redemptions", body={"perk_id": free.json["id"]}, token=tok)
            if r.status == 201:
                if r.json["points"] != 0:
                    self.bad.append(f"POST /v1/me/redemptions: a free voucher cost {r.json['points']}")
                self.call("DELETE", "/v1/me/redemptions/{id}", "/v1/me/redemptions/" + r.json["id"], token=tok)
            else:
                self.bad.append(f"POST /v1/me/redemptions: a free voucher got {r!r}")
            self.call("PATCH", perks + "/{id}", f"{perks}/{free.json['id']}", body={"active": False},
                      key=lib.MANAGER_KEY)
        else:
            self.bad.append(f"POST /v1/admin/perks: a free voucher perk got {free!r}")
        # passes
        own = [p["id"] for p in self.call("GET", "/v1/perks", "/v1/perks?limit=500").json["items"]
               if p["partner"] == names.get(lib.PARTNER_ORG)]
        pass_code = "v1.AAAA.BBBB"
        if status:
            r = self.call("POST", "/v1/me/passes", body={"perk_id": status[0]["id"]}, token=tok)
            if r.status == 201:
                pass_code = r.json["pass_code"]
                self.call("GET", "/v1/me/passes/qr.svg",
                          "/v1/me/passes/qr.svg?code=" + urllib.parse.quote(pass_code), token=tok)
        self.call("POST", "/v1/me/passes", body={"perk_id": perk["id"]}, token=tok)
        self.call("GET", "/v1/me/passes/qr.svg", token=tok)
        self.call("GET", "/v1/me/passes/qr.svg", "/v1/me/passes/qr.svg?code=junk", token=tok)
        self.call("POST", "/v1/passes/check", body={"pass_code": pass_code, "perk_id": own[0]},
                  key=lib.PARTNER_KEY)
        self.call("POST", "/v1/passes/check", body={"pass_code": pass_code, "perk_id": "prk_NOSUCHPERK"},
                  key=stranger)
        self.call("GET", "/v1/me/access-log", token=tok)
        self.call("GET", "/v1/me/export", token=tok)
        self.call("DELETE", "/v1/me", token=tok)
        self.call("DELETE", "/v1/me", token=tok)
        revoke = "/v1/admin/keys/{id}"
        self.call("DELETE", revoke, revoke.replace("{id}", newkey.json["id"]), key=lib.MANAGER_KEY)
        self.call("POST", "/v1/vouchers/check", body={"code": "0000-0000-0000"}, key=stranger)

    def test_manager_answers_conform(self):
        lib = self.lib
        m = {"key": lib.MANAGER_KEY}
        orgs = self.call("GET", "/v1/admin/orgs", **m).json["items"]
        self.call("GET", "/v1/admin/districts", **m)
        camps = self.call("GET", "/v1/admin/campaigns", **m).json["items"]
        self.call("GET", "/v1/stats/overview", **m)
        self.call("GET", "/v1/stats/overview", "/v1/stats/overview?format=csv", **m)
        self.call("GET", "/v1/stats/overview", key=lib.ISSUER_KEY)
        self.call("GET", "/v1/stats/enrollment", "/v1/stats/enrollment?interval=week", **m)
        self.call("GET", "/v1/stats/enrollment", headers={"Accept": "text/csv"}, **m)
        self.call("GET", "/v1/stats/enrollment", "/v1/stats/enrollment?district=no-such-district", **m)
        self.call("GET", "/v1/stats/enrollment", "/v1/stats/enrollment?interval=year", **m)
        cs = "/v1/stats/campaigns/{id}"
        for cid in ([camps[0]["id"]] if camps else []) + ["cmp_NOSUCHCAMPAIGN"]:
            self.call("GET", cs, cs.replace("{id}", cid), **m)
            self.call("GET", cs, cs.replace("{id}", cid) + "?format=csv", **m)
        # a rule and a campaign of this test's own, so that the manager's
        # answers for them are checked too: the rule is switched off again,
        # the campaign lies in 2099 and boosts nothing
        rule = self.call("POST", "/v1/admin/rules", body={
            "code": lib.unique("openapi_rule").lower().replace("-", "_"), "title": "t",
            "description": "", "points": 1, "daily_cap": None, "issuers": []}, **m)
        if rule.status == 201:
            self.call("PATCH", "/v1/admin/rules/{code}", "/v1/admin/rules/" + rule.json["code"],
                      body={"active": False}, **m)
        else:
            self.bad.append(f"POST /v1/admin/rules: {rule!r}")
        district = self.call("GET", "/v1/districts").json["items"][0]["code"]
        camp = self.call("POST", "/v1/admin/campaigns", body={
            "name": "t", "code": lib.unique("openapi-cmp").lower(), "starts_at": "2099-01-01T00:00:00Z",
            "ends_at": "2099-02-01T00:00:00Z", "districts": [district], "enrollment_target": None,
            "bonus": None}, **m)
        if camp.status == 201:
            self.call("PATCH", "/v1/admin/campaigns/{id}", "/v1/admin/campaigns/" + camp.json["id"],
                      body={"name": "t2", "enrollment_target": 10}, **m)
            self.call("GET", cs, cs.replace("{id}", camp.json["id"]) + "?format=csv", **m)
        else:
            self.bad.append(f"POST /v1/admin/campaigns: {camp!r}")
        # refusals only: nothing below changes the programme
        rules = self.call("GET", "/v1/rules").json["items"]
        tiers = self.call("GET", "/v1/tiers").json
        self.call("PUT", "/v1/admin/tiers", body=dict(tiers, tiers=[{"name": "A", "min_lifetime_points": 5}]), **m)
        self.call("POST", "/v1/admin/rules", body={"code": rules[0]["code"], "title": "t", "description": "",
                                                  "points": 1, "issuers": []}, **m)
        self.call("POST", "/v1/admin/rules", body={"code": "x", "title": "t", "description": "",
                                                  "points": 0, "issuers": []}, **m)
        self.call("PATCH", "/v1/admin/rules/{code}", "/v1/admin/rules/" + rules[0]["code"], body={}, **m)
        self.call("PATCH", "/v1/admin/rules/{code}", "/v1/admin/rules/no_such_rule", body={"points": 2}, **m)
        self.call("POST", "/v1/admin/perks", body={"title": "t", "description": "", "partner": "org_NOSUCHORG",
                                                  "kind": "voucher", "cost_points": 1}, **m)
        self.call("PATCH", "/v1/admin/perks/{id}", "/v1/admin/perks/prk_NOSUCHPERK", body={"stock": 1}, **m)
        self.call("POST", "/v1/admin/orgs", body={"name": orgs[0]["name"], "roles": ["issuer"]}, **m)
        self.call("POST", "/v1/admin/orgs/{id}/keys", "/v1/admin/orgs/org_NOSUCHORG/keys", **m)
        self.call("DELETE", "/v1/admin/keys/{id}", "/v1/admin/keys/key_NOSUCHKEY", **m)
        self.call("PUT", "/v1/admin/districts/{code}", "/v1/admin/districts/Bad%20Code",
                  body={"name": "x", "population": 1}, **m)
        window = {"name": "t", "code": lib.unique("cmp"), "starts_at": "2026-02-01T00:00:00Z",
                  "ends_at": "2026-01-01T00:00:00Z"}
        self.call("POST", "/v1/admin/campaigns", body=window, **m)
        if camps:
            self.call("POST", "/v1/admin/campaigns", body=dict(window, code=camps[0]["code"],
                                                              ends_at="2027-01-01T00:00:00Z"), **m)
        self.call("PATCH", "/v1/admin/campaigns/{id}", "/v1/admin/campaigns/cmp_NOSUCHCAMPAIGN",
                  body={"name": "x"}, **m)


class RefusalsTest(AnswerChecker):
    """
    Every documented operation, sent the requests any operation may get
    wrong: an invalid Idempotency-Key, another role's credentials, a bad
    `limit` or `cursor` (400 where the document lists them, ignored by
    every other GET), a path id with characters no id has,
    and for an operation with a body one of the wrong media type,
    malformed JSON, an unknown field, no fields, deep nesting and over
    512 KiB. Each answer must be one the operation documents (status,
    problem code, schema, headers: the checks of AnswerChecker.call). All
    of them are refused before any effect, so nothing in the programme
    changes.
    """

    PROBE_ID = "zz_openapi_probe"

    def _credentials(self, roles, token):
        """Keyword arguments for lib.request: credentials with one of
        roles, and credentials with none of them (None if every role may
        call)."""
        lib = self.lib
        cred = {"resident": {"token": token}, "issuer": {"key": lib.ISSUER_KEY},
                "partner": {"key": lib.PARTNER_KEY}, "manager": {"key": lib.MANAGER_KEY},
                "public": {}}
        right = cred[sorted(roles)[0]]
        wrong = next((cred[r] for r in ("partner", "issuer", "resident") if r not in roles), None)
        return right, wrong

    def test_refusals_are_documented(self):
        token = self.lib.mint_token(self.lib.unique("openapi-refusals"))
        for (method, tmpl), op in sorted(read_operations(OPENAPI).items(), key=lambda kv: kv[0][::-1]):
            roles = roles_of(op["role"])
            right, wrong = self._credentials(roles, token)
            path = PARAM_RE.sub(self.PROBE_ID, tmpl)
            doc_op = self.doc["paths"][tmpl][method.lower()]
            self.call(method, tmpl, path, headers={"Idempotency-Key": "k" * 129}, **right)
            if "public" not in roles and wrong is not None:
                self.call(method, tmpl, path, **wrong)
            params = {p.get("$ref", "").rsplit("/", 1)[-1] for p in doc_op.get("parameters", [])}
            # perkd reads `limit` and `cursor` exactly where the document
            # says so: a bad one is refused there and ignored elsewhere
            for query in ("limit=0", "limit=501", "limit=x", "cursor=forged"):
                if "Limit" in params:
                    r = self.call(method, tmpl, f"{path}?{query}", **right)
                    if r.status != 400:
                        self.bad.append(f"{method} {tmpl}?{query}: {r.status}, not 400")
                elif method == "GET" and not any(q.get("in") == "query" and q.get("required")
                                                 for q in doc_op.get("parameters", [])):
                    r = self.call(method, tmpl, f"{path}?{query}", **right)
                    if r.status == 400:
                        self.bad.append(f"{method} {tmpl}?{query}: 400, for a parameter it does not document")
            if "requestBody" in doc_op:
                self.call(method, tmpl, path, body="{}", headers={"Content-Type": "text/plain"}, **right)
                self.call(method, tmpl, path, body='{"a": ', **right)
                self.call(method, tmpl, path, body={"zz_unknown_field": 1}, **right)
                self.call(method, tmpl, path, body={}, **right)
                self.call(method, tmpl, path, body="[" * 40 + "]" * 40, **right)
                self.call(method, tmpl, path, body=" " * (600 * 1024), **right)
            if PARAM_RE.search(tmpl):
                self.call(method, tmpl, PARAM_RE.sub("bad%20id", tmpl), **right)
        if self.seen < 100:
            self.fail(f"only {self.seen} probes sent: were the operations read?")


if __name__ == "__main__":
    unittest.main()
