"""End-to-end tests of the loyalty core through the real stack (nginx ->
perkd -> MariaDB): enrolment, awards under concurrency, caps, sources,
non-members, export, opt-out erasure, batch speed, and `perkctl verify`
after the races.

The stack comes from the environment (dev.env, see lib.py); the demo
issuer (PERKD_ISSUER_KEY) is the blood bank; the tests award a rule of their own
(and volunteer_hour for caps). The database is read with the mariadb client on
PERKD_DB_SOCKET. Python standard library only.
"""
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

ENV = os.environ


def token(sub):
    return lib.mint_token(sub)


def call(method, path, body=None, auth=None):
    """Returns (status, parsed JSON or None, headers). Bodies go compact,
    as a careful client sends them (the batch test needs every byte)."""
    data = None if body is None else json.dumps(body, separators=(",", ":"))
    r = lib.request(method, path, body=data, token=auth)
    return r.status, r.json, r.headers


def config():
    conf = {}
    with open(ENV["PERKD_CONFIG"]) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if "=" in line:
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    return conf


def sql(query):
    """Runs a query with the mariadb client on the stack's socket."""
    conf = config()
    cmd = ["mariadb", "--no-defaults", "--socket=" + ENV["PERKD_DB_SOCKET"],
           "-N", "-B", "-u", conf.get("db_user", "root")]
    if conf.get("db_password"):
        cmd.append("--password=" + conf["db_password"])
    cmd += [conf.get("db_name", "perkd"), "-e", query]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def subject_hash_hex(sub):
    key = bytes.fromhex(config()["subject_key"])
    return hmac.new(key, sub.encode(), hashlib.sha256).hexdigest()


def new_subject(tag):
    return "e2e-%s-%s" % (tag, uuid.uuid4().hex)


def ref(tag):
    """An issuer's own reference, unrelated to the subject (so that the
    subject appearing in a file means perkd wrote it)."""
    return "%s-%s" % (tag, uuid.uuid4().hex[:12])


def enroll(sub, district="harbour", **extra):
    body = {"consent": True, "consent_version": "2026-01", "district": district}
    body.update(extra)
    st, doc, _ = call("POST", "/v1/me/enroll", body, token(sub))
    assert st == 201, (st, doc)
    return doc


# The tests award a rule of their own (50 points, no cap, the demo issuer
# allowed), so that demo data such as a bonus campaign on blood_donation
# cannot change their arithmetic.
RULE = "e2e_act_" + uuid.uuid4().hex[:8]


def setUpModule():
    st, doc, _ = call("POST", "/v1/admin/rules",
                      {"code": RULE, "title": "E2E civic act", "description": "test rule",
                       "points": 50, "issuers": [ENV["PERKD_ISSUER_ORG"]]},
                      ENV["PERKD_MANAGER_KEY"])
    # 409: another module that imports this one created it already
    assert st == 201 or (st == 409 and doc["code"] == "rule_exists"), (st, doc)


def award(sub, ref, rule=None, key=None):
    rule = rule or RULE
    return call("POST", "/v1/awards",
                {"subject": sub, "rule": rule, "external_ref": ref},
                key or ENV["PERKD_ISSUER_KEY"])


def me(sub):
    return call("GET", "/v1/me", auth=token(sub))


class Loyalty(unittest.TestCase):

    def test_enroll_problems_and_me(self):
        sub = new_subject("enr")
        st, doc, _ = call("POST", "/v1/me/enroll",
                          {"consent": "yes", "consent_version": "v", "district": "harbour"},
                          token(sub))
        self.assertEqual((st, doc["code"]), (422, "consent_required"))
        st, doc, _ = call("POST", "/v1/me/enroll",
                          {"consent_version": "v", "district": "harbour"}, token(sub))
        self.assertEqual((st, doc["code"]), (422, "consent_required"))
        st, doc, _ = call("POST", "/v1/me/enroll",
                          {"consent": True, "consent_version": "v", "district": "atlantis"},
                          token(sub))
        self.assertEqual((st, doc["code"]), (422, "unknown_district"))
        st, doc, _ = me(sub)
        self.assertEqual((st, doc["code"]), (404, "not_enrolled"))
        m = enroll(sub, channel="poster-e2e")
        self.assertTrue(m["id"].startswith("mem_"))
        self.assertEqual(m["tier"]["name"], "Member")
        self.assertEqual(m["balance"], 0)
        st, doc, _ = call("POST", "/v1/me/enroll",
                          {"consent": True, "consent_version": "v", "district": "harbour"},
                          token(sub))
        self.assertEqual((st, doc["code"]), (409, "already_enrolled"))
        st, doc, _ = me(sub)
        self.assertEqual(st, 200)
        self.assertEqual(set(doc), {"id", "enrolled_at", "district", "balance",
                                    "lifetime_points", "tier"})
        self.assertEqual(set(doc["tier"]), {"name", "stars", "flags", "next_tier",
                                            "points_to_next"})

    def test_public_terms(self):
        st, doc, _ = call("GET", "/v1/rules")
        self.assertEqual(st, 200)
        blood = [r for r in doc["items"] if r["code"] == "blood_donation"][0]
        self.assertEqual(blood["points"], 50)
        self.assertIn("Regional Blood Bank", blood["issuers"])
        self.assertIn("active_campaign_bonus", blood)
        st, doc, _ = call("GET", "/v1/tiers")
        self.assertEqual(st, 200)
        self.assertEqual(doc["tiers"][0]["min_lifetime_points"], 0)
        st, doc, _ = call("GET", "/v1/districts?limit=2")
        self.assertEqual(st, 200)
        self.assertEqual(len(doc["items"]), 2)
        st2, doc2, _ = call("GET", "/v1/districts?limit=2&cursor=" + doc["next_cursor"])
        self.assertEqual(st2, 200)
        self.assertNotEqual(doc["items"][0]["code"], doc2["items"][0]["code"])

    def test_ladder_change_shows_at_once_in_me(self):
        """perkd keeps the ladder in memory; a change through the API must
        not wait for the cache to run out."""
        sub = new_subject("lad")
        enroll(sub)
        st, _, _ = award(sub, ref("lad"))
        self.assertEqual(st, 201)
        st, doc, _ = me(sub)                    # the ladder is now cached
        self.assertEqual((st, doc["lifetime_points"]), (200, 50))
        st, ladder, _ = call("GET", "/v1/tiers")
        self.assertEqual(st, 200)
        changed = dict(ladder, star_points=7, stars_per_flag=1)
        mk = ENV["PERKD_MANAGER_KEY"]
        try:
            st, doc, _ = call("PUT", "/v1/admin/tiers", changed, mk)
            self.assertEqual(st, 200, doc)
            st, doc, _ = me(sub)
            self.assertEqual(st, 200)
            self.assertEqual((doc["tier"]["stars"], doc["tier"]["flags"]), (7, 7))
        finally:
            st, doc, _ = call("PUT", "/v1/admin/tiers", ladder, mk)
            self.assertEqual(st, 200, doc)
        st, doc, _ = me(sub)
        self.assertEqual(doc["tier"]["stars"], 50 // ladder["star_points"])

    def test_rule_and_bonus_changes_apply_to_the_next_award_at_once(self):
        """perkd keeps a rule's earning terms in memory (loyalty/ly_terms.c);
        a change through the API must not wait for the cache to run out."""
        mk = ENV["PERKD_MANAGER_KEY"]
        code = "e2e_terms_" + uuid.uuid4().hex[:8]
        st, doc, _ = call("POST", "/v1/admin/rules",
                          {"code": code, "title": "E2E terms", "description": "cache",
                           "points": 10, "issuers": [ENV["PERKD_ISSUER_ORG"]]}, mk)
        self.assertEqual(st, 201, doc)
        sub = new_subject("terms")
        enroll(sub)
        st, doc, _ = award(sub, ref("t1"), rule=code)   # the terms are now kept
        self.assertEqual((st, doc["points"]), (201, 10), doc)

        st, doc, _ = call("PATCH", "/v1/admin/rules/" + code, {"points": 20}, mk)
        self.assertEqual(st, 200, doc)
        st, doc, _ = award(sub, ref("t2"), rule=code)
        self.assertEqual((st, doc["points"], doc["campaign_id"]), (201, 20, None), doc)

        now = time.time()
        stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        st, cmp, _ = call("POST", "/v1/admin/campaigns",
                          {"name": "E2E terms bonus", "code": "e2e-terms-" + uuid.uuid4().hex[:8],
                           "starts_at": stamp(now - 60), "ends_at": stamp(now + 3600),
                           "bonus": {"rule": code, "multiplier": 2}}, mk)
        self.assertEqual(st, 201, cmp)
        st, doc, _ = award(sub, ref("t3"), rule=code)
        self.assertEqual((st, doc["points"], doc["campaign_id"]), (201, 40, cmp["id"]), doc)

        st, doc, _ = call("PATCH", "/v1/admin/rules/" + code, {"active": False}, mk)
        self.assertEqual(st, 200, doc)
        st, doc, _ = award(sub, ref("t4"), rule=code)
        self.assertEqual((st, doc["code"]), (422, "unknown_rule"), doc)
        st, doc, _ = me(sub)
        self.assertEqual(doc["balance"], 10 + 20 + 40)

    def test_race_twenty_distinct_references_all_credited_once(self):
        sub = new_subject("race1")
        enroll(sub)
        refs = [ref("r1") for _ in range(20)]
        res = lib.parallel(20, lambda i: award(sub, refs[i]))
        self.assertEqual([s for s, _, _ in res], [201] * 20, res)
        st, doc, _ = me(sub)
        self.assertEqual(doc["balance"], 20 * 50)
        self.assertEqual(doc["lifetime_points"], 20 * 50)

    def test_race_twenty_copies_of_one_reference_credited_exactly_once(self):
        sub = new_subject("race2")
        enroll(sub)
        one = ref("r2")
        res = lib.parallel(20, lambda i: award(sub, one))
        statuses = sorted(s for s, _, _ in res)
        self.assertEqual(statuses, [200] * 19 + [201], res)
        self.assertEqual(len({d["id"] for _, d, _ in res}), 1)
        st, doc, _ = me(sub)
        self.assertEqual(doc["balance"], 50)

    def test_daily_cap_cuts_and_says_capped(self):
        sub = new_subject("cap")
        enroll(sub)
        got = [award(sub, ref("cap"), "volunteer_hour") for i in range(5)]
        self.assertEqual([d["points"] for _, d, _ in got], [10, 10, 10, 10, 0])
        self.assertEqual([d["capped"] for _, d, _ in got], [False] * 4 + [True])
        self.assertEqual(got[-1][1]["balance"], 40)

    def test_sources_withdrawn_then_restored(self):
        sub = new_subject("src")
        enroll(sub)
        self.assertEqual(award(sub, ref("src1"))[0], 201)
        st, doc, _ = call("PUT", "/v1/me/sources", {"sources": []}, token(sub))
        self.assertEqual((st, doc), (200, {"sources": []}))
        st, doc, _ = award(sub, ref("src2"))
        self.assertEqual((st, doc["code"]), (404, "not_enrolled"))
        self.assertEqual(me(sub)[1]["balance"], 50)   # earned points stay
        st, doc, _ = call("PUT", "/v1/me/sources",
                          {"sources": [ENV["PERKD_PARTNER_ORG"]]}, token(sub))
        self.assertEqual((st, doc["code"]), (422, "unknown_issuer"))
        st, doc, _ = call("PUT", "/v1/me/sources", {"sources": None}, token(sub))
        self.assertEqual((st, doc), (200, {"sources": None}))
        self.assertEqual(award(sub, ref("src3"))[0], 201)

    def test_non_member_404_and_nothing_stored(self):
        sub = new_subject("stranger")
        q = ("SELECT (SELECT COUNT(*) FROM awards) + (SELECT COUNT(*) FROM "
             "access_log) + (SELECT COUNT(*) FROM members) + (SELECT COUNT(*) "
             "FROM ledger)")
        before = sql(q)
        r = ref("stranger")
        st, doc, _ = award(sub, r)
        self.assertEqual((st, doc["code"]), (404, "not_enrolled"))
        self.assertEqual(sql(q), before)
        self.assertEqual(sql("SELECT COUNT(*) FROM awards WHERE external_ref = "
                             "'%s'" % r), "0")
        self.assertEqual(files_containing(sub.encode()), [])

    def test_batch_items_independent_and_speed(self):
        sub = new_subject("batch")
        enroll(sub)
        b1 = ref("b1")
        items = [{"subject": sub, "rule": RULE, "external_ref": b1},
                 {"subject": sub, "rule": "nope", "external_ref": ref("b2")},
                 {"subject": sub, "rule": RULE},
                 {"subject": new_subject("nobody"), "rule": RULE,
                  "external_ref": ref("b3")},
                 {"subject": sub, "rule": RULE, "external_ref": b1}]
        st, doc, _ = call("POST", "/v1/awards/batch", {"items": items},
                          ENV["PERKD_ISSUER_KEY"])
        self.assertEqual(st, 200, doc)
        res = doc["results"]
        self.assertEqual(res[0]["status"], 201)
        self.assertEqual(res[1]["code"], "unknown_rule")
        self.assertEqual(res[2]["code"], "validation_failed")
        self.assertEqual(res[3]["code"], "not_enrolled")
        self.assertEqual((res[4]["status"], res[4]["id"]), (200, res[0]["id"]))
        # 1000 items for 50 members: the speed the batch endpoint holds.
        # 1000 items must fit the contract's 64 KiB body limit, so short
        # subjects, references and a short rule code (about 60 bytes an
        # item; realistic subjects need about 100: see docs/loyalty.md)
        run = uuid.uuid4().hex[:4]
        st, doc, _ = call("POST", "/v1/admin/rules",
                          {"code": "b" + run, "title": "Bulk test", "description": "",
                           "points": 1, "issuers": [ENV["PERKD_ISSUER_ORG"]]},
                          ENV["PERKD_MANAGER_KEY"])
        self.assertEqual(st, 201, doc)
        subs = ["%s%02d" % (run, i) for i in range(50)]
        for s in subs:
            enroll(s)
        big = [{"subject": subs[i % 50], "rule": "b" + run,
                "external_ref": "%s%d" % (run, i)} for i in range(1000)]
        self.assertLess(len(json.dumps({"items": big}, separators=(",", ":"))),
                        64 * 1024)
        t0 = time.monotonic()
        st, doc, _ = call("POST", "/v1/awards/batch", {"items": big},
                          ENV["PERKD_ISSUER_KEY"])
        dt = time.monotonic() - t0
        self.assertEqual(st, 200)
        self.assertEqual([r.get("status") for r in doc["results"]], [201] * 1000)
        print("\nbatch: 1000 awards in %.2f s = %.0f items/s" % (dt, 1000 / dt))
        self.assertEqual(me(subs[7])[1]["balance"], 20)

    def test_ledger_pages_newest_first(self):
        sub = new_subject("led")
        enroll(sub)
        for i in range(5):
            self.assertEqual(award(sub, ref("led"))[0], 201)
        st, p1, _ = call("GET", "/v1/me/ledger?limit=3", auth=token(sub))
        self.assertEqual(st, 200)
        self.assertEqual([e["balance_after"] for e in p1["items"]], [250, 200, 150])
        st, p2, _ = call("GET", "/v1/me/ledger?limit=3&cursor=" + p1["next_cursor"],
                         auth=token(sub))
        self.assertEqual([e["balance_after"] for e in p2["items"]], [100, 50])
        self.assertIsNone(p2["next_cursor"])
        self.assertTrue(all(e["id"].startswith("led_") and e["kind"] == "award"
                            and e["rule"] == RULE for e in p1["items"]))

    def test_export_is_complete(self):
        sub = new_subject("exp")
        m = enroll(sub, channel="export-e2e")
        for i in range(3):
            award(sub, ref("exp"))
        call("PUT", "/v1/me/sources", {"sources": []}, token(sub))
        st, doc, _ = call("GET", "/v1/me/export", auth=token(sub))
        self.assertEqual(st, 200)
        for k in ("member", "consents", "sources", "ledger", "redemptions",
                  "passes", "access_log"):
            self.assertIn(k, doc)
        self.assertEqual(doc["member"]["id"], m["id"])
        self.assertEqual([c["action"] for c in doc["consents"]], ["enroll", "sources"])
        self.assertEqual(doc["consents"][0]["channel"], "export-e2e")
        self.assertEqual(doc["sources"], [])
        self.assertEqual(len(doc["ledger"]), 3)
        self.assertEqual(len(doc["access_log"]), 3)
        # the database holds exactly that much about the member
        h = subject_hash_hex(sub)
        mid = sql("SELECT id FROM members WHERE subject_hash = UNHEX('%s')" % h)
        for table, n in (("ledger", 3), ("access_log", 3), ("consents", 2),
                         ("awards", 3), ("member_sources", 0)):
            self.assertEqual(sql("SELECT COUNT(*) FROM %s WHERE member_id = %s"
                                 % (table, mid)), str(n), table)

    def test_opt_out_erases_the_person(self):
        sub = new_subject("bye")
        chan = "bye-" + uuid.uuid4().hex[:8]
        enroll(sub, channel=chan)
        award(sub, ref("bye1"))
        call("PUT", "/v1/me/sources", {"sources": None}, token(sub))
        h = subject_hash_hex(sub)
        mid = sql("SELECT id FROM members WHERE subject_hash = UNHEX('%s')" % h)
        left_before = int(sql("SELECT COALESCE(SUM(left_count), 0) FROM "
                              "agg_enroll_daily WHERE channel = '%s'" % chan))
        st, doc, _ = call("DELETE", "/v1/me", auth=token(sub))
        self.assertEqual(st, 204)
        self.assertEqual(me(sub)[0], 404)
        self.assertEqual(award(sub, ref("bye2"))[0], 404)
        # no row can be tied to the subject any more
        self.assertEqual(sql("SELECT COUNT(*) FROM members WHERE subject_hash = "
                             "UNHEX('%s')" % h), "0")
        self.assertEqual(sql("SELECT COUNT(*) FROM idempotency WHERE caller = "
                             "'r:%s'" % h), "0")
        for table in ("consents", "access_log", "member_sources", "redemptions",
                      "passes"):
            self.assertEqual(sql("SELECT COUNT(*) FROM %s WHERE member_id = %s"
                                 % (table, mid)), "0", table)
        self.assertEqual(sql("SELECT COUNT(*) FROM awards WHERE member_id = %s "
                             "AND external_ref NOT LIKE 'erased:%%'" % mid), "0")
        self.assertEqual(sql("SELECT CONCAT(status, ' ', COALESCE(district, '-'), "
                             "' ', balance) FROM members WHERE id = %s" % mid),
                         "closed - 0")
        # the statistics keep the enrolment and the departure
        self.assertEqual(int(sql("SELECT SUM(left_count) FROM agg_enroll_daily "
                                 "WHERE channel = '%s'" % chan)), left_before + 1)
        self.assertEqual(sql("SELECT SUM(enrolled) FROM agg_enroll_daily "
                             "WHERE channel = '%s'" % chan), "1")
        # the raw subject was never written to disk: database files, logs
        self.assertEqual(files_containing(sub.encode()), [])
        # enrolling again starts from zero
        again = enroll(sub)
        self.assertEqual(again["balance"], 0)
        self.assertEqual(again["lifetime_points"], 0)

    def test_zz_verify_after_the_races(self):
        out = lib.perkctl("verify")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


def files_containing(needle):
    """Every regular file under the stack's state directory and the
    database server's directory (database files, redo logs, perkd and
    nginx logs) that contains needle."""
    roots = {os.path.realpath(ENV["PERKD_VAR"]),
             os.path.realpath(os.path.dirname(ENV["PERKD_DB_SOCKET"]))}
    hits = []
    seen = set()
    for top in roots:
        for root, _dirs, files in os.walk(top):
            for name in files:
                path = os.path.realpath(os.path.join(root, name))
                if path in seen or not os.path.isfile(path):
                    continue
                seen.add(path)
                try:
                    with open(path, "rb") as f:
                        tail = b""
                        while True:
                            chunk = f.read(1 << 20)
                            if not chunk:
                                break
                            if needle in tail + chunk:
                                hits.append(path)
                                break
                            tail = chunk[-len(needle):]
                except OSError:
                    continue
    return hits


if __name__ == "__main__":
    unittest.main()
