"""The access-control matrix: every route x every kind of caller, through
nginx, with the expected status of each cell.

The routes come from the route table itself (`perkd --routes` prints
`METHOD /path ROLES`), so a route added to fcgi/route.c without a row in
ROWS below fails test_every_route_has_a_row, and a row whose route is gone
fails it too. The caller kinds:

  none        no Authorization header
  bad         a resident token with a broken signature
  resident_a  an enrolled resident (the owner of the row's voucher and pass)
  resident_b  another enrolled resident
  issuer_x    the demo issuer (may award the row's rule)
  issuer_y    another issuer (may not)
  partner_x   the demo partner (the voucher's and the pass's perk is its)
  partner_y   another partner
  manager     the demo manager
  revoked     a manager key that was revoked

Expected, unless a row says otherwise: a public route answers every caller
with its success status (a token is ignored there); a non-public route
answers `none`, `bad` and `revoked` with 401, a caller of another role with
403, and a caller of its role with the row's success status. Ownership cells
are listed per row: resident B on A's voucher 404, partner Y on X's voucher
or pass 404, issuer Y awarding a rule only X may award 403 rule_not_allowed.

Every non-2xx answer is a problem document; no cell ever answers 5xx; and
every answer to a partner (public routes included) is scanned for member
fields (mem_ ids, balance, lifetime points, district, subject, tier,
enrolment) and must have none.
"""
import os
import re
import subprocess
import sys
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402  (the shared e2e helpers)

CALLERS = ("none", "bad", "resident_a", "resident_b", "issuer_x", "issuer_y",
           "partner_x", "partner_y", "manager", "revoked")
ROLE = {"resident_a": "resident", "resident_b": "resident", "issuer_x": "issuer",
        "issuer_y": "issuer", "partner_x": "partner", "partner_y": "partner",
        "manager": "manager"}

# Member fields a partner must never see: as JSON keys anywhere in an
# answer, and (on the partner routes) as words anywhere in its text.
MEMBER_KEYS = {"balance", "lifetime_points", "lifetime", "district", "subject", "sub",
               "tier", "enrolled", "enrolled_at", "member", "member_id", "stars", "flags"}
MEMBER_WORDS = re.compile(r"\bmem_|balance|lifetime|district|subject|tier|enrol", re.I)
MEMBER_ID = re.compile(r"\bmem_[0-9A-Za-z]")


def routes():
    """[(method, path, roles)] from `perkd --routes`."""
    exe = os.path.join(lib.BUILD_DIR, "perkd")
    out = subprocess.run([exe, "--routes"], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    rows = []
    for line in out.splitlines():
        if line.strip():
            method, path, roles = line.split(None, 2)
            rows.append((method, path, set(roles.replace(",", " ").split())))
    return rows


class Row:
    """One route's expectations. ok: the status for a caller of the route's
    role; req(w, caller): (path, body) for that caller in world w; cells:
    {caller: (status, code)} overriding the defaults; fresh: the row's
    residents are not enrolled yet; check(tc, caller, resp): more checks."""

    def __init__(self, ok, req=None, cells=None, fresh=False, check=None):
        self.ok = ok
        self.req = req or (lambda w, c: (None, None))
        self.cells = cells or {}
        self.fresh = fresh
        self.check = check


def batch_check(tc, caller, r):
    item = r.json["results"][0]
    if caller == "issuer_x":
        tc.assertIn(item.get("points"), (10,), r)
    elif caller == "issuer_y":
        tc.assertEqual((item.get("status"), item.get("code")), (403, "rule_not_allowed"), r)


ROWS = {
    "GET /healthz": Row(200),
    "GET /readyz": Row(200),
    "GET /metrics": Row(200),
    "GET /v1/issuers": Row(200),
    "GET /v1/rules": Row(200),
    "GET /v1/tiers": Row(200),
    "GET /v1/districts": Row(200),
    "GET /v1/perks": Row(200),
    "GET /v1/keys/passes": Row(200),

    "POST /v1/admin/orgs": Row(201, lambda w, c: (None, {"name": lib.unique("matrix"),
                                                          "roles": ["partner"]})),
    "GET /v1/admin/orgs": Row(200),
    "POST /v1/admin/orgs/{id}/keys": Row(201, lambda w, c: ("/v1/admin/orgs/%s/keys" % w.org,
                                                             None)),
    "DELETE /v1/admin/keys/{id}": Row(204, lambda w, c: ("/v1/admin/keys/%s" % w.fresh_key(),
                                                          None)),
    "POST /v1/admin/rules": Row(201, lambda w, c: (None, {
        "code": "mx_" + uuid.uuid4().hex[:12], "title": "matrix", "description": "",
        "points": 1, "issuers": [lib.ISSUER_ORG]})),
    "PATCH /v1/admin/rules/{id}": Row(200, lambda w, c: ("/v1/admin/rules/%s" % w.t.rule_x,
                                                          {"title": "matrix rule"})),
    "PUT /v1/admin/tiers": Row(200, lambda w, c: (None, w.t.ladder)),
    "GET /v1/admin/districts": Row(200),
    "PUT /v1/admin/districts/{id}": Row(200, lambda w, c: (
        "/v1/admin/districts/%s" % w.t.district, {"name": w.t.district_name,
                                                  "population": w.t.population})),
    "POST /v1/admin/perks": Row(201, lambda w, c: (None, {
        "title": "matrix", "description": "", "partner": lib.PARTNER_ORG,
        "kind": "voucher", "cost_points": 1})),
    "PATCH /v1/admin/perks/{id}": Row(200, lambda w, c: ("/v1/admin/perks/%s" % w.t.voucher_perk,
                                                          {"title": "matrix voucher"})),

    "POST /v1/me/enroll": Row(201, lambda w, c: (None, {
        "consent": True, "consent_version": "matrix", "district": w.t.district}), fresh=True),
    "GET /v1/me": Row(200),
    "DELETE /v1/me": Row(204),
    "PUT /v1/me/sources": Row(200, lambda w, c: (None, {"sources": [lib.ISSUER_ORG]})),
    "GET /v1/me/ledger": Row(200),
    "GET /v1/me/access-log": Row(200),
    "GET /v1/me/export": Row(200),
    "POST /v1/me/redemptions": Row(201, lambda w, c: (None, {"perk_id": w.t.voucher_perk})),
    "GET /v1/me/redemptions": Row(200),
    "DELETE /v1/me/redemptions/{id}": Row(
        200, lambda w, c: ("/v1/me/redemptions/%s" % w.voucher["id"], None),
        cells={"resident_b": (404, "redemption_not_found")}),
    "GET /v1/me/redemptions/{id}/qr.svg": Row(
        200, lambda w, c: ("/v1/me/redemptions/%s/qr.svg" % w.voucher["id"], None),
        cells={"resident_b": (404, "redemption_not_found")}),
    "POST /v1/me/passes": Row(201, lambda w, c: (None, {"perk_id": w.t.status_perk})),
    "GET /v1/me/passes/qr.svg": Row(200, lambda w, c: (
        "/v1/me/passes/qr.svg?code=" + urllib.parse.quote(w.pass_code), None)),

    "POST /v1/awards": Row(
        201, lambda w, c: (None, {"subject": w.sub_a, "rule": w.t.rule_x,
                                  "external_ref": uuid.uuid4().hex}),
        cells={"issuer_y": (403, "rule_not_allowed")}),
    "POST /v1/awards/batch": Row(
        200, lambda w, c: (None, {"items": [{"subject": w.sub_a, "rule": w.t.rule_x,
                                             "external_ref": uuid.uuid4().hex}]}),
        check=batch_check),

    "POST /v1/vouchers/check": Row(
        200, lambda w, c: (None, {"code": w.voucher["voucher_code"]}),
        cells={"partner_y": (404, "voucher_not_found")}),
    "POST /v1/vouchers/use": Row(
        200, lambda w, c: (None, {"code": w.voucher["voucher_code"]}),
        cells={"partner_y": (404, "voucher_not_found")}),
    "POST /v1/passes/check": Row(
        200, lambda w, c: (None, {"pass_code": w.pass_code, "perk_id": w.t.status_perk}),
        cells={"partner_y": (404, None)}),

    "POST /v1/admin/campaigns": Row(201, lambda w, c: (None, {
        "name": "matrix campaign", "code": "mx-" + uuid.uuid4().hex[:12],
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"})),
    "GET /v1/admin/campaigns": Row(200),
    "PATCH /v1/admin/campaigns/{id}": Row(200, lambda w, c: (
        "/v1/admin/campaigns/%s" % a_campaign(), {"name": "matrix campaign"})),
    "GET /v1/stats/campaigns/{id}": Row(200, lambda w, c: (
        "/v1/stats/campaigns/%s" % a_campaign(), None)),
    "GET /v1/stats/enrollment": Row(200),
    "GET /v1/stats/overview": Row(200),
}


def a_campaign():
    """The id of an existing campaign (the demo has two)."""
    r = lib.get("/v1/admin/campaigns", key=lib.MANAGER_KEY)
    assert r.status == 200 and r.json["items"], r
    return r.json["items"][0]["id"]


class World:
    """The fresh state of one row: residents A and B (enrolled, 30 points
    each, unless the row wants them fresh), A's voucher for partner X's
    perk, A's pass for partner X's status perk, an org to give keys to."""

    def __init__(self, t, fresh):
        self.t = t
        self.sub_a, self.sub_b = lib.unique("mx-a"), lib.unique("mx-b")
        self.tok = {"resident_a": lib.mint_token(self.sub_a),
                    "resident_b": lib.mint_token(self.sub_b)}
        self.org = t.issuer_y_org
        if fresh:
            return
        for who, sub in (("resident_a", self.sub_a), ("resident_b", self.sub_b)):
            r = lib.post("/v1/me/enroll", {"consent": True, "consent_version": "matrix",
                                           "district": t.district}, token=self.tok[who])
            t.assertEqual(r.status, 201, r)
            for _ in range(3):
                r = lib.post("/v1/awards", {"subject": sub, "rule": t.rule_x, "external_ref":
                                            uuid.uuid4().hex}, key=lib.ISSUER_KEY)
                t.assertEqual(r.status, 201, r)
        r = lib.post("/v1/me/redemptions", {"perk_id": t.voucher_perk}, token=self.tok["resident_a"])
        t.assertEqual(r.status, 201, r)
        self.voucher = r.json
        r = lib.post("/v1/me/passes", {"perk_id": t.status_perk}, token=self.tok["resident_a"])
        t.assertEqual(r.status, 201, r)
        self.pass_code = r.json["pass_code"]

    def fresh_key(self):
        return lib.create_key(self.t.issuer_y_org)["id"]


class AccessMatrix(lib.PerkdTestCase):

    @classmethod
    def setUpClass(cls):
        cls.routes = routes()
        _, cls.issuer_y = lib.org_with_key(roles=("issuer",), name=lib.unique("matrix issuer Y"))
        cls.issuer_y_org = _["id"]
        _, cls.partner_y = lib.org_with_key(roles=("partner",), name=lib.unique("matrix partner Y"))
        revoked_org = lib.create_org(name=lib.unique("matrix revoked"), roles=("manager",))
        k = lib.create_key(revoked_org["id"])
        r = lib.delete("/v1/admin/keys/%s" % k["id"], key=lib.MANAGER_KEY)
        assert r.status == 204, r
        cls.revoked = k["key"]
        r = lib.get("/v1/admin/districts", key=lib.MANAGER_KEY)
        d = r.json["items"][0]
        cls.district, cls.district_name = d["code"], d["name"]
        cls.population = d.get("population", 1000)
        r = lib.get("/v1/tiers")
        cls.ladder = r.json
        # a rule only issuer X may award, 10 points, no cap
        cls.rule_x = "mx_" + uuid.uuid4().hex[:12]
        r = lib.post("/v1/admin/rules", {"code": cls.rule_x, "title": "matrix X only",
                                         "description": "", "points": 10,
                                         "issuers": [lib.ISSUER_ORG]}, key=lib.MANAGER_KEY)
        assert r.status == 201, r
        r = lib.post("/v1/admin/perks", {"title": "matrix voucher", "description": "",
                                         "partner": lib.PARTNER_ORG, "kind": "voucher",
                                         "cost_points": 10}, key=lib.MANAGER_KEY)
        assert r.status == 201, r
        cls.voucher_perk = r.json["id"]
        r = lib.post("/v1/admin/perks", {"title": "matrix status", "description": "",
                                         "partner": lib.PARTNER_ORG, "kind": "status",
                                         "cost_points": 0}, key=lib.MANAGER_KEY)
        assert r.status == 201, r
        cls.status_perk = r.json["id"]

    def auth(self, w, caller):
        """The Authorization header's value for caller, or None."""
        return {
            "none": None,
            "bad": lib.tamper_signature(lib.mint_token(w.sub_a)),
            "resident_a": w.tok["resident_a"], "resident_b": w.tok["resident_b"],
            "issuer_x": lib.ISSUER_KEY, "issuer_y": self.issuer_y,
            "partner_x": lib.PARTNER_KEY, "partner_y": self.partner_y,
            "manager": lib.MANAGER_KEY, "revoked": self.revoked,
        }[caller]

    def expected(self, row, roles, caller):
        """(status, code or None) for one cell."""
        if caller in row.cells:
            return row.cells[caller]
        if "public" in roles:
            return row.ok, None
        if caller in ("none", "bad", "revoked"):
            return 401, None
        if ROLE[caller] not in roles:
            return 403, "forbidden"
        return row.ok, None

    def scan_partner_answer(self, route, r):
        """No member field in an answer to a partner."""
        self.assertIsNone(MEMBER_ID.search(r.text), "a member id sent to a partner: %r" % r)
        if r.json is not None:
            def keys(v):
                if isinstance(v, dict):
                    for k, x in v.items():
                        yield k
                        yield from keys(x)
                elif isinstance(v, list):
                    for x in v:
                        yield from keys(x)
            bad = set(keys(r.json)) & MEMBER_KEYS
            self.assertEqual(bad, set(), "member fields sent to a partner by %s: %r" % (route, r))
        if route.split()[1].startswith(("/v1/vouchers/", "/v1/passes/")):
            self.assertIsNone(MEMBER_WORDS.search(r.text),
                              "member words sent to a partner by %s: %r" % (route, r))

    def test_every_route_has_a_row(self):
        listed = {"%s %s" % (m, p) for m, p, _ in self.routes}
        self.assertEqual(sorted(listed - set(ROWS)), [],
                         "routes without a row in test_access_matrix.ROWS")
        self.assertEqual(sorted(set(ROWS) - listed), [],
                         "rows in test_access_matrix.ROWS for routes that are gone")

    def test_matrix(self):
        cells = off = partner_answers = 0
        for method, path, roles in self.routes:
            route = "%s %s" % (method, path)
            row = ROWS.get(route)
            if row is None:
                continue    # test_every_route_has_a_row fails for it
            w = World(self, row.fresh)
            for caller in CALLERS:
                status, code = self.expected(row, roles, caller)
                p, body = row.req(w, caller)
                with self.subTest(route=route, caller=caller):
                    cells += 1
                    r = lib.request(method, p or path, body=body, token=self.auth(w, caller))
                    ok = False
                    try:
                        self.assertLess(r.status, 500, r)
                        self.assertEqual(r.status, status, r)
                        if status >= 400:
                            self.assertProblem(r, status, code)
                        if caller.startswith("partner"):
                            partner_answers += 1
                            self.scan_partner_answer(route, r)
                        if row.check and r.status == status and status < 300:
                            row.check(self, caller, r)
                        ok = True
                    finally:
                        off += 0 if ok else 1
        print("\naccess matrix: %d routes x %d callers = %d cells, %d off, %d answers to "
              "partners scanned" % (len(self.routes), len(CALLERS), cells, off,
                                    partner_answers), file=sys.stderr)
        self.assertEqual(cells, len(ROWS) * len(CALLERS))


if __name__ == "__main__":
    unittest.main()
