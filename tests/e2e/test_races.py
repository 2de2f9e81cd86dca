"""Races through the real stack (nginx + perkd + MariaDB): N, K, M >= 50
requests released together by a barrier (lib.parallel), each race repeated
PERKD_RACE_REPS times (default 2; `./dev test --long` sets 5), each
repetition followed by `perkctl verify`.

  stock        exactly S of N claims (one per resident) win on stock S;
               the others get 409 out_of_stock
  balance      exactly floor(B/C) of K redemptions by one resident win from
               balance B at cost C; the others get 409 insufficient_points
  voucher use  exactly one of M uses of one voucher succeeds; the others
               get 409 already_used with the winner's used_at
  award ref    M awards with one external_ref credit once: one 201, the
               others 200 with the same award id
  idempotency  M redemptions with one Idempotency-Key have one effect: the
               same voucher in every answer, replays marked
               Idempotent-Replayed, one debit
  slots        N awards and N redemptions at once, more than perkd's 16
               slots for transactions that move points (the test stack
               runs 24 threads): every one takes effect once, and the
               aggregates agree with the ledger (`perkctl stats verify`)

Never a 500 (nor any 5xx) in any race.
"""
import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402  (the shared e2e helpers)

REPS = int(os.environ.get("PERKD_RACE_REPS", "2"))
N = int(os.environ.get("PERKD_RACE_N", "50"))


class Races(lib.PerkdTestCase):

    @classmethod
    def setUpClass(cls):
        r = lib.get("/v1/districts?limit=1")
        assert r.status == 200 and r.json["items"], r
        cls.district = r.json["items"][0]["code"]
        cls.rule_points = 10
        cls.rule = "race_" + uuid.uuid4().hex[:10]
        r = lib.post("/v1/admin/rules", {"code": cls.rule, "title": "race", "description": "",
                                         "points": cls.rule_points,
                                         "issuers": [lib.ISSUER_ORG]}, key=lib.MANAGER_KEY)
        assert r.status == 201, r

    # ---- helpers ----

    def resident(self, awards=0):
        """An enrolled resident with `awards` awards of the race rule:
        (subject, token)."""
        sub = lib.unique("race")
        tok = lib.mint_token(sub)
        r = lib.post("/v1/me/enroll", {"consent": True, "consent_version": "e2e",
                                       "district": self.district}, token=tok)
        self.assertEqual(r.status, 201, r)
        for _ in range(awards):
            self.award(sub, uuid.uuid4().hex, want=201)
        return sub, tok

    def award(self, sub, ref, want=None):
        r = lib.post("/v1/awards", {"subject": sub, "rule": self.rule, "external_ref": ref},
                     key=lib.ISSUER_KEY)
        if want is not None:
            self.assertEqual(r.status, want, r)
        return r

    def perk(self, **kw):
        body = {"title": "race " + uuid.uuid4().hex[:6], "description": "test_races.py",
                "partner": lib.PARTNER_ORG, "kind": "voucher", "cost_points": 10}
        body.update(kw)
        r = lib.post("/v1/admin/perks", body, key=lib.MANAGER_KEY)
        self.assertEqual(r.status, 201, r)
        return r.json

    def redeem(self, tok, perk_id, headers=None):
        return lib.post("/v1/me/redemptions", {"perk_id": perk_id}, token=tok, headers=headers)

    def balance(self, tok):
        r = lib.get("/v1/me", token=tok)
        self.assertEqual(r.status, 200, r)
        return r.json["balance"]

    def no_5xx(self, res):
        bad = [r for r in res if r.status >= 500]
        self.assertEqual(bad, [], "a race answered 5xx")

    def losers(self, res, won, status, code):
        """Every answer but the winners' is a problem with status/code."""
        for r in res:
            if r.status not in won:
                self.assertProblem(r, status, code)

    def verify(self):
        out = lib.perkctl("verify")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

    def reps(self):
        for rep in range(REPS):
            with self.subTest(rep=rep):
                yield rep

    # ---- the races ----

    def test_stock_s_of_n_claims_win(self):
        for rep in self.reps():
            stock = 7 + rep
            p = self.perk(stock=stock, cost_points=10)
            toks = [self.resident(awards=1)[1] for _ in range(N)]
            res = lib.parallel(N, lambda i: self.redeem(toks[i], p["id"]))
            self.no_5xx(res)
            self.assertEqual(sum(1 for r in res if r.status == 201), stock,
                             sorted(r.status for r in res))
            self.losers(res, (201,), 409, "out_of_stock")
            balances = sorted(self.balance(t) for t in toks)
            self.assertEqual(balances, [0] * stock + [10] * (N - stock))
            r = lib.get("/v1/perks?limit=500")
            self.assertEqual([x["stock_left"] for x in r.json["items"] if x["id"] == p["id"]], [0])
            self.verify()

    def test_floor_b_over_c_of_k_redemptions_win(self):
        for rep in self.reps():
            cost = 20 + 10 * rep
            awards = 23            # B = 230 points
            balance = awards * self.rule_points
            p = self.perk(cost_points=cost)
            _, tok = self.resident(awards=awards)
            res = lib.parallel(N, lambda i: self.redeem(tok, p["id"]))
            self.no_5xx(res)
            self.assertEqual(sum(1 for r in res if r.status == 201), balance // cost,
                             sorted(r.status for r in res))
            self.losers(res, (201,), 409, "insufficient_points")
            self.assertEqual(self.balance(tok), balance % cost)
            vouchers = lib.list_all("/v1/me/redemptions", token=tok)
            self.assertEqual(len(vouchers), balance // cost)
            self.verify()

    def test_one_of_m_uses_of_a_voucher_wins(self):
        for _ in self.reps():
            p = self.perk(cost_points=10)
            _, tok = self.resident(awards=1)
            v = self.redeem(tok, p["id"])
            self.assertEqual(v.status, 201, v)
            code = v.json["voucher_code"]
            res = lib.parallel(N, lambda i: lib.post("/v1/vouchers/use", {"code": code},
                                                      key=lib.PARTNER_KEY))
            self.no_5xx(res)
            won = [r for r in res if r.status == 200]
            self.assertEqual(len(won), 1, sorted(r.status for r in res))
            self.losers(res, (200,), 409, "already_used")
            for r in res:
                if r.status == 409:
                    self.assertEqual(r.json.get("used_at"), won[0].json["used_at"], r)
            chk = lib.post("/v1/vouchers/check", {"code": code}, key=lib.PARTNER_KEY)
            self.assertEqual((chk.status, chk.json["status"]), (200, "used"), chk)
            self.verify()

    def test_m_awards_with_one_external_ref_credit_once(self):
        for _ in self.reps():
            sub, tok = self.resident()
            ref = "race-" + uuid.uuid4().hex
            res = lib.parallel(N, lambda i: self.award(sub, ref))
            self.no_5xx(res)
            created = [r for r in res if r.status == 201]
            self.assertEqual(len(created), 1, sorted(r.status for r in res))
            for r in res:
                self.assertIn(r.status, (200, 201), r)
                self.assertEqual(r.json["id"], created[0].json["id"], r)
            self.assertEqual(self.balance(tok), self.rule_points)
            ledger = lib.list_all("/v1/me/ledger", token=tok)
            self.assertEqual([e["kind"] for e in ledger], ["award"])
            self.verify()

    def test_m_redemptions_with_one_idempotency_key_have_one_effect(self):
        for _ in self.reps():
            p = self.perk(cost_points=10)
            _, tok = self.resident(awards=5)
            key = {"Idempotency-Key": "race-" + uuid.uuid4().hex}
            res = lib.parallel(N, lambda i: self.redeem(tok, p["id"], key))
            self.no_5xx(res)
            self.assertEqual({r.status for r in res}, {201}, sorted(r.status for r in res))
            self.assertEqual(len({r.json["id"] for r in res}), 1)
            self.assertEqual(len({r.json["voucher_code"] for r in res}), 1)
            fresh = [r for r in res if r.headers.get("idempotent-replayed") != "true"]
            self.assertEqual(len(fresh), 1, "exactly one answer is not a replay")
            self.assertEqual(self.balance(tok), 40)
            self.assertEqual(len(lib.list_all("/v1/me/redemptions", token=tok)), 1)
            # the same key with another body, in parallel with replays: 422
            q = self.perk(cost_points=10)
            res = lib.parallel(N, lambda i: self.redeem(tok, (p if i % 2 else q)["id"], key))
            self.no_5xx(res)
            for r in res:
                if r.status == 201:
                    self.assertEqual(r.headers.get("idempotent-replayed"), "true", r)
                else:
                    self.assertProblem(r, 422, "idempotency_key_reused")
            self.assertEqual(self.balance(tok), 40)
            self.verify()

    def slot_waits(self):
        vals = lib.metrics("perkd_points_slot_waits_total")
        self.assertIn("perkd_points_slot_waits_total", vals)
        return vals["perkd_points_slot_waits_total"]

    def test_n_awards_and_redemptions_beyond_the_slots_each_take_effect(self):
        p = self.perk(cost_points=self.rule_points)
        waits = self.slot_waits()
        for _ in self.reps():
            people = [self.resident() for _ in range(N)]
            res = lib.parallel(N, lambda i: self.award(people[i][0], uuid.uuid4().hex))
            self.no_5xx(res)
            self.assertEqual([r.status for r in res], [201] * N)
            # each spends the award at once, while the next ones earn
            res = lib.parallel(2 * N, lambda i: (
                self.redeem(people[i // 2][1], p["id"]) if i % 2 else
                self.award(people[i // 2][0], uuid.uuid4().hex)))
            self.no_5xx(res)
            self.assertEqual(sorted(r.status for r in res), [201] * (2 * N))
            self.assertEqual([self.balance(t) for _, t in people],
                             [self.rule_points] * N)
            self.verify()
            out = lib.perkctl("stats", "verify")
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        now = self.slot_waits()
        self.assertGreaterEqual(now, waits)
        print("\n  slots: %d transactions waited for a slot" % (now - waits),
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
