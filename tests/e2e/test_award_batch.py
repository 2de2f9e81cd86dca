"""End-to-end tests of POST /v1/awards/batch against POST /v1/awards: the
batch path (loyalty/ly_award_batch.c, set-wise) must answer every item
exactly as the single path does item after item, and keep idempotency
under concurrent batches and single awards with the same references.

The stack comes from the environment (dev.env, see lib.py). The demo
issuer (PERKD_ISSUER_KEY, the blood bank) awards test_loyalty.RULE (50, no
cap) and volunteer_hour (10, cap 40 a day); utility_bill_on_time belongs
to another issuer. Each test makes its own rule where it needs one, so a
campaign bonus it adds touches no other test. Python standard library only.
"""
import json
import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from test_loyalty import RULE, call, enroll, me, setUpModule, sql, token  # noqa: E402,F401

ENV = os.environ


def uid():
    return uuid.uuid4().hex[:10]


def batch(items, key=None):
    st, doc, _ = call("POST", "/v1/awards/batch", {"items": items},
                      key or ENV["PERKD_ISSUER_KEY"])
    assert st == 200, (st, doc)
    return doc["results"]


def single(item, key=None):
    """The answer of POST /v1/awards in the shape of a batch result."""
    st, doc, _ = call("POST", "/v1/awards", item, key or ENV["PERKD_ISSUER_KEY"])
    if st in (200, 201):
        doc = dict(doc, status=st)
    return doc


def shape(results):
    """What must agree between the two paths: everything but the ids
    themselves, which are replaced by the index of the first result that
    carries the same id (so repeats must point at the same award)."""
    first = {}
    out = []
    for i, r in enumerate(results):
        r = dict(r)
        if "id" in r:
            r["id"] = first.setdefault(r["id"], i)
        for k in ("detail", "errors", "title", "type"):
            r.pop(k, None)
        out.append(r)
    return out


class AwardBatch(unittest.TestCase):

    def scenario(self, tag, rule, capped_rule):
        """Items covering every answer: new, repeats within the list and of
        an earlier award, caps between items of one member, several
        members, a non-member, a member who withdrew this issuer, unknown
        and foreign rules, an invalid item and references that differ
        only by trailing spaces (one key in the database). Returns
        (prepare, items): prepare() enrols the members and makes the
        earlier award."""
        subs = ["ab-%s-%s-%d" % (tag, uid(), i) for i in range(3)]
        stranger = "ab-%s-%s-nobody" % (tag, uid())
        refs = ["%s-%s-%d" % (tag, uid(), i) for i in range(12)]
        earlier = {"subject": subs[0], "rule": rule, "external_ref": refs[0]}

        def prepare():
            enroll(subs[0])
            enroll(subs[1], district="old-town")
            enroll(subs[2])
            st, doc, _ = call("PUT", "/v1/me/sources", {"sources": []},
                              token(subs[2]))
            assert st == 200, (st, doc)
            assert single(earlier)["status"] == 201

        def it(s, r, ref):
            return {"subject": s, "rule": r, "external_ref": ref}

        items = [
            it(subs[0], rule, refs[1]),
            it(subs[0], capped_rule, refs[2]),
            it(subs[1], capped_rule, refs[3]),
            it(subs[0], capped_rule, refs[4]),
            it(subs[0], rule, refs[0]),             # an earlier award
            it(subs[1], rule, refs[1]),             # repeat, other member
            it(stranger, rule, refs[5]),            # not a member
            it(subs[2], rule, refs[6]),             # withdrew this issuer
            it(subs[0], "no_such_rule", refs[7]),
            it(subs[0], "utility_bill_on_time", refs[8]),
            {"subject": subs[0], "rule": rule},     # invalid
            it(subs[0], capped_rule, refs[9]),
            it(subs[0], capped_rule, refs[10]),     # cut by the cap
            it(subs[0], capped_rule, refs[11]),     # nothing left
            it(subs[0], capped_rule, refs[9] + "  "),  # same key as refs[9]
            it(subs[1], capped_rule, refs[7]),      # the refused ref, now new
            it(subs[1], rule, refs[2]),             # repeat of a capped award
        ]
        return prepare, items, subs

    def make_rule(self, points, cap):
        code = "ab_" + uid()
        body = {"code": code, "title": "Batch test", "description": "",
                "points": points, "issuers": [ENV["PERKD_ISSUER_ORG"]]}
        if cap:
            body["daily_cap"] = cap
        st, doc, _ = call("POST", "/v1/admin/rules", body, ENV["PERKD_MANAGER_KEY"])
        self.assertEqual(st, 201, doc)
        return code

    def add_bonus(self, rule, pct, districts=None):
        """A campaign bonus on rule in force now (the campaigns API is not
        in this branch: the row goes in directly, as the stats branch's
        POST /v1/admin/campaigns would write it)."""
        pid = "cmp_" + uid().upper()
        sql("INSERT INTO campaigns (public_id, name, code, starts_at, ends_at, "
            "bonus_rule_id, bonus_pct, all_districts, created_at, updated_at) "
            "SELECT '%s', 'Batch bonus', 'ab%s', UTC_TIMESTAMP(6) - INTERVAL 1 HOUR, "
            "UTC_TIMESTAMP(6) + INTERVAL 1 DAY, id, %d, %d, UTC_TIMESTAMP(6), "
            "UTC_TIMESTAMP(6) FROM rules WHERE code = '%s'"
            % (pid, uid(), pct, 0 if districts else 1, rule))
        for d in districts or []:
            sql("INSERT INTO campaign_districts (campaign_id, district) SELECT id, "
                "'%s' FROM campaigns WHERE public_id = '%s'" % (d, pid))
        return pid

    def test_batch_answers_exactly_as_single_awards_do(self):
        rule = self.make_rule(7, 0)
        capped = self.make_rule(10, 35)
        # a bonus for one district only: members differ in district
        self.add_bonus(capped, 150, ["old-town"])
        self.add_bonus(rule, 200)
        prep_s, items_s, subs_s = self.scenario("s", rule, capped)
        prep_b, items_b, subs_b = self.scenario("b", rule, capped)
        prep_s()
        prep_b()
        one_by_one = [single(i) for i in items_s]
        together = batch(items_b)
        self.assertEqual(len(together), len(items_b))
        self.assertEqual(shape(together), shape(one_by_one))
        # spot checks, so that a shared mistake cannot pass unnoticed
        r = together
        self.assertEqual((r[0]["status"], r[0]["points"]), (201, 14))
        self.assertEqual((r[5]["status"], r[5]["id"]), (200, r[0]["id"]))
        self.assertEqual(r[6]["code"], "not_enrolled")
        self.assertEqual(r[7]["code"], "not_enrolled")
        self.assertEqual(r[8]["code"], "unknown_rule")
        self.assertEqual(r[9]["code"], "rule_not_allowed")
        self.assertEqual(r[10]["code"], "validation_failed")
        self.assertEqual([r[i]["points"] for i in (1, 3, 11, 12, 13)],
                         [10, 10, 10, 5, 0])
        self.assertEqual([r[i]["capped"] for i in (11, 12, 13)], [False, True, True])
        self.assertEqual(r[2]["points"], 15)        # oldtown's bonus
        self.assertEqual(r[2]["campaign_id"][:4], "cmp_")
        self.assertEqual((r[14]["status"], r[14]["id"]), (200, r[11]["id"]))
        self.assertEqual(r[15]["status"], 201)
        self.assertEqual(r[16]["points"], 10)       # the first award's points
        # balances as the members see them, and nothing for the others
        for subs in (subs_s, subs_b):
            self.assertEqual(me(subs[0])[1]["balance"], 14 + 14 + 35)
            self.assertEqual(me(subs[1])[1]["balance"], 15 + 15)
            self.assertEqual(me(subs[2])[1]["balance"], 0)
        refs = [i.get("external_ref") for i in items_b]
        self.assertEqual(sql("SELECT COUNT(*) FROM awards WHERE external_ref "
                             "IN ('%s', '%s')" % (refs[6], refs[7])), "0")
        out = lib.perkctl("verify")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

    def test_repeated_batch_credits_nothing(self):
        sub = "ab-rep-" + uid()
        enroll(sub)
        items = [{"subject": sub, "rule": RULE,
                  "external_ref": "rep-%s-%d" % (uid(), i)} for i in range(300)]
        first = batch(items)
        self.assertEqual([r["status"] for r in first], [201] * 300)
        self.assertEqual(first[-1]["balance"], 300 * 50)
        again = batch(items)
        self.assertEqual([r["status"] for r in again], [200] * 300)
        self.assertEqual([r["id"] for r in again], [r["id"] for r in first])
        self.assertEqual({r["balance"] for r in again}, {300 * 50})
        self.assertEqual(me(sub)[1]["balance"], 300 * 50)

    def test_concurrent_batches_and_singles_credit_each_reference_once(self):
        """Two batches for different members share half their references,
        while single awards for a third member use some of the same: the
        unique key lets one win each reference, the others answer 200
        with the winner's award, no request fails, and the members'
        balances hold exactly one credit a reference."""
        for rnd in range(3):
            a = ["ab-ra-%s-%d" % (uid(), i) for i in range(10)]
            b = ["ab-rb-%s-%d" % (uid(), i) for i in range(10)]
            c = "ab-rc-" + uid()
            for s in a + b + [c]:
                enroll(s)
            tag = uid()
            refs = ["race-%s-%d" % (tag, i) for i in range(300)]
            ia = [{"subject": a[i % 10], "rule": RULE,
                   "external_ref": refs[i]} for i in range(0, 200)]
            ib = [{"subject": b[i % 10], "rule": RULE,
                   "external_ref": refs[i]} for i in range(100, 300)]
            ic = [{"subject": c, "rule": RULE,
                   "external_ref": refs[i]} for i in range(150, 190, 2)]

            def go(k):
                """(refs asked for, status, answer)"""
                if k < 2:
                    items = (ia, ib)[k]
                    st, doc, _ = call("POST", "/v1/awards/batch", {"items": items},
                                      ENV["PERKD_ISSUER_KEY"])
                    return [i["external_ref"] for i in items], st, doc
                st, doc, _ = call("POST", "/v1/awards", ic[k - 2],
                                  ENV["PERKD_ISSUER_KEY"])
                return [ic[k - 2]["external_ref"]], st, doc

            res = lib.parallel(2 + len(ic), go)
            winners = {}
            answers = {}
            for asked, st, doc in res:
                self.assertIn(st, (200, 201), (rnd, st, doc))
                got = doc["results"] if "results" in doc else [dict(doc, status=st)]
                self.assertEqual(len(got), len(asked))
                for rf, r in zip(asked, got):
                    self.assertIn(r.get("status"), (200, 201), (rnd, rf, r))
                    answers.setdefault(rf, set()).add(r["id"])
                    if r["status"] == 201:
                        self.assertNotIn(rf, winners, (rnd, rf))
                        winners[rf] = r["id"]
            self.assertEqual(set(winners), set(refs), rnd)
            for rf, ids in answers.items():
                self.assertEqual(ids, {winners[rf]}, (rnd, rf))
            total = sum(me(s)[1]["balance"] for s in a + b + [c])
            self.assertEqual(total, 300 * 50, rnd)
            self.assertEqual(sql("SELECT COUNT(*) FROM awards WHERE external_ref "
                                 "LIKE 'race-%s-%%'" % tag),
                             "300")
        out = lib.perkctl("verify")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()
