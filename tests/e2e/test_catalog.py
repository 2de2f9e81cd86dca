"""End-to-end tests of the catalogue through the real stack (nginx + perkd
+ MariaDB): redemptions and their races, partner checks and uses, BOLA,
refunds on cancel and on expiry, the failed-check rate limit, QR codes and
status passes verified offline with an independent Ed25519 implementation.

The stack comes from the environment as for every e2e suite (lib.py:
dev.env's PERKD_URL, keys, PERKD_CONFIG, PERKD_DB_SOCKET); run it with
tests/e2e/run.py. `perkctl verify` runs after every race. Python standard
library only, except the offline pass check, which uses /usr/bin/python3's
`cryptography` (python3-cryptography) as the independent implementation,
and the QR test, which needs rsvg-convert (librsvg2-bin) and zbarimg.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402  (the shared e2e helpers)


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def call(method, path, token=None, body=None, headers=None):
    """One request (token: a resident JWT or an org key, both Bearer);
    returns (status, lower-case headers, parsed JSON or the raw bytes)."""
    r = lib.request(method, path, body=body, headers=headers, token=token)
    return r.status, r.headers, r.json if r.json is not None else r.body


def perkctl(*args):
    out = lib.perkctl(*args)
    return out.returncode, out.stdout + out.stderr


def sql(statement):
    """Runs one statement on the stack's database (test set-up only)."""
    db = "perkd"
    with open(lib.CONFIG) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == "db_name":
                db = v.strip()
    out = subprocess.run(["mysql", "-S", lib.DB_SOCKET, "-uroot", "-N", "-B",
                          db, "-e", statement], check=True,
                         capture_output=True, text=True, timeout=30)
    return out.stdout


def race(fns):
    """Runs the callables at the same moment; their results in order."""
    return lib.parallel(len(fns), lambda i: fns[i]())


class Catalog(unittest.TestCase):
    rules = {}

    @classmethod
    def setUpClass(cls):
        cls.manager = lib.MANAGER_KEY
        cls.issuer = lib.ISSUER_KEY
        cls.partner = lib.PARTNER_KEY
        cls.partner_org = lib.PARTNER_ORG
        cls.other_org, cls.other = cls.new_partner("other")
        st, _, d = call("GET", "/v1/districts?limit=1")
        assert st == 200 and d["items"], d
        cls.district = d["items"][0]["code"]

    # ---- set-up helpers ----

    @classmethod
    def new_partner(cls, name):
        org, key = lib.org_with_key(roles=("partner",),
                                    name=lib.unique("e2e " + name))
        return org["id"], key

    def rule(self, points):
        if points not in Catalog.rules:
            code = "e2e_cat_%d_%s" % (points, uuid.uuid4().hex[:8])
            st, _, r = call("POST", "/v1/admin/rules", self.manager,
                            {"code": code, "title": "E2E %d" % points,
                             "description": "", "points": points,
                             "issuers": [lib.ISSUER_ORG]})
            self.assertEqual(st, 201, r)
            Catalog.rules[points] = code
        return Catalog.rules[points]

    def resident(self, points=0):
        """An enrolled resident with `points` awarded; returns a token."""
        sub = "e2e-cat-" + uuid.uuid4().hex
        tok = lib.mint_token(sub)
        st, _, m = call("POST", "/v1/me/enroll", tok,
                        {"consent": True, "consent_version": "e2e",
                         "district": self.district})
        self.assertEqual(st, 201, m)
        if points:
            st, _, a = call("POST", "/v1/awards", self.issuer,
                            {"subject": sub, "rule": self.rule(points),
                             "external_ref": uuid.uuid4().hex})
            self.assertEqual(st, 201, a)
            self.assertEqual(a["balance"], points)
        return tok

    def perk(self, partner=None, **kw):
        body = {"title": "E2E perk " + uuid.uuid4().hex[:6],
                "description": "made by test_catalog.py",
                "partner": partner or self.partner_org, "kind": "voucher",
                "cost_points": 5}
        body.update(kw)
        st, _, p = call("POST", "/v1/admin/perks", self.manager, body)
        self.assertEqual(st, 201, p)
        return p

    def redeem(self, tok, perk_id, **headers):
        return call("POST", "/v1/me/redemptions", tok, {"perk_id": perk_id},
                    headers)

    def balance(self, tok):
        st, _, me = call("GET", "/v1/me", tok)
        self.assertEqual(st, 200, me)
        return me["balance"]

    def verify(self):
        rc, out = perkctl("verify")
        self.assertEqual(rc, 0, out)

    # ---- catalogue and admin ----

    def test_catalogue_shows_stock_left_partner_and_tier_names(self):
        p = self.perk(stock=4, min_tier="Bronze", per_member_limit=2)
        st, _, cat = call("GET", "/v1/perks?limit=500")
        self.assertEqual(st, 200)
        mine = [x for x in cat["items"] if x["id"] == p["id"]]
        self.assertEqual(len(mine), 1)
        x = mine[0]
        self.assertEqual(x["stock_left"], 4)
        self.assertEqual(x["min_tier"], "Bronze")
        self.assertEqual(x["per_member_limit"], 2)
        self.assertFalse(x["partner"].startswith("org_"))
        self.assertEqual(set(x), {"id", "title", "description", "partner",
                                  "kind", "cost_points", "min_tier",
                                  "stock_left", "per_member_limit",
                                  "valid_from", "valid_to"})

    def test_admin_perk_refusals(self):
        base = {"title": "x", "description": "", "kind": "voucher",
                "cost_points": 1, "partner": self.partner_org}
        st, _, d = call("POST", "/v1/admin/perks", self.manager,
                        dict(base, partner=lib.ISSUER_ORG))
        self.assertEqual((st, d["code"]), (422, "unknown_partner"))
        st, _, d = call("POST", "/v1/admin/perks", self.manager,
                        dict(base, min_tier="Diamond"))
        self.assertEqual((st, d["code"]), (422, "unknown_tier"))
        st, _, d = call("POST", "/v1/admin/perks", self.manager,
                        dict(base, colour="red"))
        self.assertEqual(st, 400)
        st, _, d = call("POST", "/v1/admin/perks", self.partner, base)
        self.assertEqual(st, 403)
        p = self.perk(stock=2)
        st, _, d = call("PATCH", "/v1/admin/perks/" + p["id"], self.manager,
                        {"stock": 10, "active": False})
        self.assertEqual(st, 200, d)
        self.assertEqual((d["stock"], d["active"]), (10, False))
        st, _, d = call("PATCH", "/v1/admin/perks/prk_NOPE", self.manager,
                        {"stock": 1})
        self.assertEqual((st, d["code"]), (404, "perk_not_found"))

    # ---- races ----

    def test_race_ten_claims_on_stock_three(self):
        p = self.perk(stock=3, cost_points=5)
        toks = [self.resident(10) for _ in range(10)]
        res = race([lambda t=t: self.redeem(t, p["id"]) for t in toks])
        won = [r for r in res if r[0] == 201]
        lost = [r for r in res if r[0] == 409 and
                r[2]["code"] == "out_of_stock"]
        self.assertEqual((len(won), len(lost)), (3, 7),
                         [(r[0], r[2]) for r in res])
        st, _, cat = call("GET", "/v1/perks?limit=500")
        self.assertEqual([x["stock_left"] for x in cat["items"]
                          if x["id"] == p["id"]], [0])
        self.assertEqual(sorted(self.balance(t) for t in toks),
                         [5, 5, 5] + [10] * 7)
        self.verify()

    def test_race_sixteen_spends_from_58_points(self):
        p = self.perk(cost_points=5)
        tok = self.resident(58)
        res = race([lambda: self.redeem(tok, p["id"]) for _ in range(16)])
        codes = sorted((r[0], r[2].get("code", "")) for r in res)
        self.assertEqual(sum(1 for r in res if r[0] == 201), 11, codes)
        self.assertEqual(sum(1 for r in res if r[0] == 409 and
                             r[2]["code"] == "insufficient_points"), 5, codes)
        self.assertEqual(self.balance(tok), 3)
        st, _, lst = call("GET", "/v1/me/redemptions?limit=100", tok)
        self.assertEqual(len(lst["items"]), 11)
        # paged, newest first, every voucher exactly once
        seen, cursor = [], None
        while True:
            q = "?limit=4" + ("&cursor=" + cursor if cursor else "")
            st, _, page = call("GET", "/v1/me/redemptions" + q, tok)
            self.assertEqual(st, 200, page)
            seen += [x["id"] for x in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, [x["id"] for x in lst["items"]])
        self.verify()

    def test_race_two_partners_one_voucher_and_one_partner_twice(self):
        p = self.perk(cost_points=5)
        tok = self.resident(20)
        _, _, a = self.redeem(tok, p["id"])
        _, _, b = self.redeem(tok, p["id"])
        res = race([
            lambda: call("POST", "/v1/vouchers/use", self.partner,
                         {"code": a["voucher_code"]}),
            lambda: call("POST", "/v1/vouchers/use", self.other,
                         {"code": a["voucher_code"]})])
        self.assertEqual(sorted(r[0] for r in res), [200, 404], res)
        res = race([lambda: call("POST", "/v1/vouchers/use", self.partner,
                                 {"code": b["voucher_code"]})
                    for _ in range(2)])
        self.assertEqual(sorted(r[0] for r in res), [200, 409], res)
        ok = [r for r in res if r[0] == 200][0][2]
        dup = [r for r in res if r[0] == 409][0][2]
        self.assertEqual(dup["code"], "already_used")
        self.assertEqual(dup["used_at"], ok["used_at"])
        self.verify()

    # ---- BOLA ----

    def test_bola_partner_cannot_touch_other_partners_voucher(self):
        p = self.perk(cost_points=5)
        tok = self.resident(10)
        _, _, v = self.redeem(tok, p["id"])
        for path in ("/v1/vouchers/check", "/v1/vouchers/use"):
            st, _, d = call("POST", path, self.other,
                            {"code": v["voucher_code"]})
            self.assertEqual((st, d["code"]), (404, "voucher_not_found"))
        st, _, d = call("POST", "/v1/vouchers/check", self.partner,
                        {"code": v["voucher_code"]})
        self.assertEqual(st, 200)
        self.assertEqual(set(d), {"valid", "status", "perk_id", "expires_at"})
        self.assertEqual((d["valid"], d["status"]), (True, "issued"))

    def test_bola_resident_cannot_cancel_or_see_anothers_voucher(self):
        p = self.perk(cost_points=5)
        a, b = self.resident(10), self.resident(10)
        _, _, v = self.redeem(a, p["id"])
        st, _, d = call("DELETE", "/v1/me/redemptions/" + v["id"], b)
        self.assertEqual((st, d["code"]), (404, "redemption_not_found"))
        st, _, d = call("GET", "/v1/me/redemptions/%s/qr.svg" % v["id"], b)
        self.assertEqual(st, 404)
        st, _, lst = call("GET", "/v1/me/redemptions", b)
        self.assertEqual(lst["items"], [])
        st, _, lst = call("GET", "/v1/me/redemptions", a)
        self.assertEqual(lst["items"][0]["status"], "issued")
        self.assertEqual(lst["items"][0]["voucher_code"], v["voucher_code"])

    # ---- refunds ----

    def test_cancel_refunds_points_and_stock_once(self):
        p = self.perk(cost_points=7, stock=1)
        tok = self.resident(10)
        st, _, v = self.redeem(tok, p["id"])
        self.assertEqual(st, 201, v)
        self.assertEqual(self.balance(tok), 3)
        st, _, d = call("DELETE", "/v1/me/redemptions/" + v["id"], tok)
        self.assertEqual((st, d["status"]), (200, "cancelled"))
        self.assertNotIn("voucher_code", d)
        self.assertEqual(self.balance(tok), 10)
        st, _, d = call("DELETE", "/v1/me/redemptions/" + v["id"], tok)
        self.assertEqual((st, d["code"]), (409, "not_cancellable"))
        self.assertEqual(self.balance(tok), 10)
        st, _, led = call("GET", "/v1/me/ledger", tok)
        self.assertEqual([e["kind"] for e in led["items"]][:2],
                         ["refund", "redemption"])
        st, _, d = call("POST", "/v1/vouchers/use", self.partner,
                        {"code": v["voucher_code"]})
        self.assertEqual((st, d["code"]), (409, "voucher_cancelled"))
        st, _, v2 = self.redeem(tok, p["id"])    # the unit came back
        self.assertEqual(st, 201, v2)
        self.verify()

    def test_used_voucher_not_cancellable(self):
        p = self.perk(cost_points=5)
        tok = self.resident(10)
        _, _, v = self.redeem(tok, p["id"])
        st, _, _ = call("POST", "/v1/vouchers/use", self.partner,
                        {"code": v["voucher_code"].lower()})
        self.assertEqual(st, 200)
        st, _, d = call("DELETE", "/v1/me/redemptions/" + v["id"], tok)
        self.assertEqual((st, d["code"]), (409, "not_cancellable"))

    def test_expiry_refunded_once_by_sweep_and_lazily(self):
        p = self.perk(cost_points=4, stock=5)
        tok = self.resident(20)
        ids = [self.redeem(tok, p["id"])[2] for _ in range(3)]
        self.assertEqual(self.balance(tok), 8)
        sql("UPDATE redemptions SET expires_at = UTC_TIMESTAMP(6) - "
            "INTERVAL 1 MINUTE WHERE public_id IN ('%s', '%s', '%s')"
            % tuple(v["id"] for v in ids))
        # lazily: the partner's look ends (and refunds) that voucher
        st, _, d = call("POST", "/v1/vouchers/check", self.partner,
                        {"code": ids[0]["voucher_code"]})
        self.assertEqual((st, d["valid"], d["status"]),
                         (200, False, "expired"))
        st, _, d = call("POST", "/v1/vouchers/use", self.partner,
                        {"code": ids[0]["voucher_code"]})
        self.assertEqual((st, d["code"]), (410, "voucher_expired"))
        self.assertEqual(self.balance(tok), 12)
        # the sweep ends the other two, once
        rc, out = perkctl("sweep")
        self.assertEqual(rc, 0, out)
        self.assertIn("expired_vouchers=", out)
        n = int(out.split("expired_vouchers=")[1].split()[0])
        self.assertGreaterEqual(n, 2)
        self.assertEqual(self.balance(tok), 20)
        rc, out = perkctl("sweep")
        self.assertEqual(rc, 0, out)
        self.assertIn("expired_vouchers=0", out)
        self.assertEqual(self.balance(tok), 20)
        st, _, lst = call("GET", "/v1/me/redemptions", tok)
        self.assertEqual({x["status"] for x in lst["items"]}, {"expired"})
        self.assertTrue(all("voucher_code" not in x for x in lst["items"]))
        st, _, cat = call("GET", "/v1/perks?limit=500")
        self.assertEqual([x["stock_left"] for x in cat["items"]
                          if x["id"] == p["id"]], [5])
        self.verify()

    def test_parallel_sweeps_refund_each_voucher_once(self):
        p = self.perk(cost_points=3)
        tok = self.resident(30)
        ids = [self.redeem(tok, p["id"])[2]["id"] for _ in range(8)]
        self.assertEqual(self.balance(tok), 6)
        sql("UPDATE redemptions SET expires_at = UTC_TIMESTAMP(6) - "
            "INTERVAL 1 MINUTE WHERE public_id IN (%s)"
            % ", ".join("'%s'" % i for i in ids))
        res = race([lambda: perkctl("sweep") for _ in range(3)])
        for rc, out in res:
            self.assertEqual(rc, 0, out)
        self.assertEqual(self.balance(tok), 30)
        refunds = sql("SELECT COUNT(*) FROM ledger l JOIN redemptions r ON "
                      "r.id = l.redemption_id WHERE l.kind = 'refund' AND "
                      "r.public_id IN (%s)" % ", ".join("'%s'" % i
                                                         for i in ids))
        self.assertEqual(int(refunds), 8)
        self.verify()

    def test_owner_listing_expires_lazily(self):
        p = self.perk(cost_points=6)
        tok = self.resident(6)
        _, _, v = self.redeem(tok, p["id"])
        sql("UPDATE redemptions SET expires_at = UTC_TIMESTAMP(6) - "
            "INTERVAL 1 SECOND WHERE public_id = '%s'" % v["id"])
        st, _, lst = call("GET", "/v1/me/redemptions", tok)
        self.assertEqual(lst["items"][0]["status"], "expired")
        self.assertEqual(self.balance(tok), 6)
        st, _, d = call("DELETE", "/v1/me/redemptions/" + v["id"], tok)
        self.assertEqual((st, d["code"]), (409, "not_cancellable"))
        self.assertEqual(self.balance(tok), 6)

    # ---- idempotency, access log ----

    def test_idempotency_key_replays_and_debits_once(self):
        p = self.perk(cost_points=5)
        tok = self.resident(12)
        key = {"Idempotency-Key": uuid.uuid4().hex}
        st1, _, a = self.redeem(tok, p["id"], **key)
        st2, h2, b = self.redeem(tok, p["id"], **key)
        self.assertEqual((st1, st2), (201, 201))
        self.assertEqual(a, b)
        self.assertEqual(h2.get("idempotent-replayed"), "true")
        self.assertEqual(self.balance(tok), 7)
        self.assertIn("voucher_code", b)
        # the stored answer never holds the code in clear
        stored = sql("SELECT body FROM idempotency WHERE idem_key = '%s'"
                     % key["Idempotency-Key"])
        self.assertIn(a["id"], stored)
        self.assertNotIn(a["voucher_code"], stored)

    def test_access_log_names_org_for_check_and_use(self):
        p = self.perk(cost_points=5)
        tok = self.resident(10)
        _, _, v = self.redeem(tok, p["id"])
        call("POST", "/v1/vouchers/check", self.partner,
             {"code": v["voucher_code"]})
        call("POST", "/v1/vouchers/use", self.partner,
             {"code": v["voucher_code"]})
        st, _, log = call("GET", "/v1/me/access-log", tok)
        self.assertEqual(st, 200, log)
        text = json.dumps(log)
        self.assertIn("voucher_check", text)
        self.assertIn("voucher_use", text)

    def test_parallel_checks_logged_once_each_through_the_writer(self):
        """Checks hand their access-log row to perkd's writer, which
        commits concurrent rows together; each answered check has exactly
        one row, and /metrics counts rows and commits."""
        def counts():
            return lib.metrics("perkd_access_log_")
        p = self.perk(cost_points=1)
        tok = self.resident(40)
        codes = [self.redeem(tok, p["id"])[2]["voucher_code"] for _ in range(4)]
        before = counts()
        n = 40
        answers = race([lambda c=codes[i % 4]: call(
            "POST", "/v1/vouchers/check", self.partner, {"code": c})
            for i in range(n)])
        self.assertEqual([a[0] for a in answers], [200] * n)
        after = counts()
        rows = (after["perkd_access_log_rows_total"] -
                before["perkd_access_log_rows_total"])
        commits = (after["perkd_access_log_commits_total"] -
                   before["perkd_access_log_commits_total"])
        self.assertGreaterEqual(rows, n)     # other tests may check meanwhile
        self.assertGreaterEqual(commits, 1)
        self.assertLessEqual(commits, rows)
        st, _, log = call("GET", "/v1/me/access-log?limit=100", tok)
        self.assertEqual(st, 200, log)
        checks = [e for e in log["items"] if e["action"] == "voucher_check"]
        self.assertEqual(len(checks), n)

    # ---- the failed-check limit ----

    def test_failed_checks_rate_limited_valid_checks_never(self):
        org, key = self.new_partner("limited")
        for i in range(10):
            st, _, d = call("POST", "/v1/vouchers/check", key,
                            {"code": "0000-0000-0000-0000-0000-0000-%02d"
                             % (i * 4)})
            self.assertEqual((st, d["code"]), (404, "voucher_not_found"))
        st, h, d = call("POST", "/v1/vouchers/check", key,
                        {"code": "0000-0000-0000-0000-0000-0000-00"})
        self.assertEqual((st, d["code"]), (429, "rate_limited"))
        self.assertTrue(1 <= int(h["retry-after"]) <= 60, h["retry-after"])
        # another key is not affected, and valid checks never count
        org2, key2 = self.new_partner("busy")
        p = self.perk(partner=org2, cost_points=1)
        tok = self.resident(5)
        _, _, v = self.redeem(tok, p["id"])
        for _ in range(15):
            st, _, d = call("POST", "/v1/vouchers/check", key2,
                            {"code": v["voucher_code"]})
            self.assertEqual(st, 200, d)

    # ---- QR codes ----

    def qr_decode(self, svg):
        lib.need_tool(self, "rsvg-convert")     # librsvg2-bin
        lib.need_tool(self, "zbarimg")          # zbar-tools
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "q.svg"), "wb") as f:
                f.write(svg)
            subprocess.run(["rsvg-convert", "-o", os.path.join(d, "q.png"),
                            os.path.join(d, "q.svg")], check=True)
            out = subprocess.run(["zbarimg", "--raw", "-q",
                                  os.path.join(d, "q.png")],
                                 capture_output=True, text=True)
        return out.stdout.strip()

    def test_voucher_qr_decodes_to_the_code(self):
        p = self.perk(cost_points=5)
        tok = self.resident(5)
        _, _, v = self.redeem(tok, p["id"])
        st, h, svg = call("GET", "/v1/me/redemptions/%s/qr.svg" % v["id"], tok)
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("image/svg+xml"))
        self.assertEqual(self.qr_decode(svg), v["voucher_code"])
        call("POST", "/v1/vouchers/use", self.partner,
             {"code": v["voucher_code"]})
        st, _, d = call("GET", "/v1/me/redemptions/%s/qr.svg" % v["id"], tok)
        self.assertEqual((st, d["code"]), (409, "already_used"))

    # ---- passes ----

    def test_pass_verifies_offline_and_online_and_says_nothing_else(self):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (
            Ed25519PublicKey)
        from cryptography.exceptions import InvalidSignature
        status = self.perk(kind="status", cost_points=0, min_tier="Bronze")
        low, high = self.resident(10), self.resident(150)
        st, _, d = call("POST", "/v1/me/passes", low,
                        {"perk_id": status["id"]})
        self.assertEqual((st, d["code"]), (403, "tier_too_low"))
        st, _, ps = call("POST", "/v1/me/passes", high,
                         {"perk_id": status["id"]})
        self.assertEqual(st, 201, ps)
        self.assertEqual(set(ps), {"pass_code", "expires_at"})
        st, _, key = call("GET", "/v1/keys/passes")
        self.assertEqual((st, key["alg"]), (200, "Ed25519"))

        version, payload, sig = ps["pass_code"].split(".")
        self.assertEqual(version, "v1")
        pub = Ed25519PublicKey.from_public_bytes(unb64url(key["public_key"]))
        pub.verify(unb64url(sig), unb64url(payload))   # raises if bad
        claims = json.loads(unb64url(payload))
        self.assertEqual(set(claims), {"perk", "exp", "nonce", "kid"})
        self.assertEqual(claims["perk"], status["id"])
        self.assertEqual(claims["kid"], key["kid"])
        self.assertTrue(0 < claims["exp"] - time.time() <= 600)
        self.assertEqual(len(unb64url(claims["nonce"])), 16)
        forged = bytearray(unb64url(payload))
        forged[-3] ^= 1
        with self.assertRaises(InvalidSignature):
            pub.verify(unb64url(sig), bytes(forged))

        st, _, d = call("POST", "/v1/passes/check", self.partner,
                        {"pass_code": ps["pass_code"],
                         "perk_id": status["id"]})
        self.assertEqual(st, 200, d)
        self.assertEqual(set(d), {"entitled", "expires_at"})
        self.assertTrue(d["entitled"])
        st, _, d = call("POST", "/v1/passes/check", self.other,
                        {"pass_code": ps["pass_code"],
                         "perk_id": status["id"]})
        self.assertEqual((st, d["code"]), (404, "perk_not_found"))
        st, _, d = call("POST", "/v1/passes/check", self.partner,
                        {"pass_code": ps["pass_code"][:-4] + "AAAA",
                         "perk_id": status["id"]})
        self.assertEqual((st, d["entitled"]), (200, False))
        st, _, log = call("GET", "/v1/me/access-log", high)
        self.assertIn("pass_check", json.dumps(log))
        st, h, svg = call("GET", "/v1/me/passes/qr.svg?code=" +
                          ps["pass_code"], high)
        self.assertEqual(st, 200)
        self.assertEqual(self.qr_decode(svg), ps["pass_code"])
        st, _, d = call("GET", "/v1/me/passes/qr.svg?code=v1.e30.AAAA", high)
        self.assertEqual((st, d["code"]), (404, "pass_not_found"))

    def test_pass_checks_counted_as_cache_misses_then_hits(self):
        """/metrics counts the verified-pass cache: a pass's first check
        is a miss (Ed25519 in full), its next one a hit; a pass minted
        but never checked counts nothing, and each new pass is a miss
        (tests/bench's pass-check-first relies on this)."""
        def counts():
            return lib.metrics("perkd_pass_cache_")
        status = self.perk(kind="status", cost_points=0)
        tok = self.resident(10)
        codes = []
        for _ in range(2):
            st, _, ps = call("POST", "/v1/me/passes", tok,
                             {"perk_id": status["id"]})
            self.assertEqual(st, 201, ps)
            codes.append(ps["pass_code"])
        self.assertNotEqual(codes[0], codes[1])     # minting again: a new pass
        before = counts()
        for code in (codes[0], codes[0], codes[1]):
            st, _, d = call("POST", "/v1/passes/check", self.partner,
                            {"pass_code": code, "perk_id": status["id"]})
            self.assertEqual((st, d["entitled"]), (200, True), d)
        after = counts()
        # nothing else checks passes on the test stack meanwhile
        self.assertEqual(after["perkd_pass_cache_misses_total"] -
                         before["perkd_pass_cache_misses_total"], 2)
        self.assertEqual(after["perkd_pass_cache_hits_total"] -
                         before["perkd_pass_cache_hits_total"], 1)


if __name__ == "__main__":
    unittest.main()
