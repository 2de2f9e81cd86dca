"""test_stats.py: campaigns and statistics through real nginx + perkd +
MariaDB: campaign CRUD and its refusals, a campaign's figures from real
enrolments and awards, the overview and enrolment series as JSON and CSV,
and an attempt to single out one member by combining filters that must
fail.

Each test works in districts and channels of its own (fresh codes), so
that the demo population and the other suites' residents do not change
its numbers.
"""
import csv
import datetime
import io
import urllib.parse

from lib import (ISSUER_KEY, MANAGER_KEY, PARTNER_KEY, PerkdTestCase, get,
                 list_all, mint_token, patch, post, put, unique)

K = 5  # stats_min_group of the test stack (the default)


def today():
    # the stack's programme time zone is UTC unless configured otherwise
    return datetime.datetime.now(datetime.timezone.utc).date()


def iso(d):
    return d.isoformat()


def ts(delta_days):
    t = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(days=delta_days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_district(test, population=1000):
    code = unique("d").lower().replace("_", "-")[:30]
    r = put("/v1/admin/districts/" + code,
            {"name": "District " + code, "population": population},
            key=MANAGER_KEY)
    test.assertIn(r.status, (200, 201), r)
    return code


def enrol(test, district, channel=None):
    sub = unique("stats-resident")
    body = {"consent": True, "consent_version": "v1", "district": district}
    if channel:
        body["channel"] = channel
    r = post("/v1/me/enroll", body, token=mint_token(sub))
    test.assertEqual(r.status, 201, r)
    return sub


def award(test, sub, rule):
    r = post("/v1/awards", {"subject": sub, "rule": rule,
                            "external_ref": unique("ref")}, key=ISSUER_KEY)
    test.assertEqual(r.status, 201, r)
    return r.json


def blood_rule(test):
    r = get("/v1/rules")
    test.assertEqual(r.status, 200, r)
    for rule in r.json["items"]:
        if "blood" in rule["code"]:
            return rule["code"]
    test.skipTest("the demo has no blood donation rule")


def campaign(test, **fields):
    body = {"name": "Campaign " + unique(), "code": unique("c").lower(),
            "starts_at": ts(-1), "ends_at": ts(30)}
    body.update(fields)
    r = post("/v1/admin/campaigns", body, key=MANAGER_KEY)
    test.assertEqual(r.status, 201, r)
    return r.json


class Campaigns(PerkdTestCase):
    def test_create__201_with_the_campaign(self):
        d = new_district(self)
        c = campaign(self, districts=[d], enrollment_target=250,
                     bonus={"rule": blood_rule(self), "multiplier": 1.5})
        self.assertTrue(c["id"].startswith("cmp_"), c)
        self.assertEqual(c["districts"], [d])
        self.assertEqual(c["enrollment_target"], 250)
        self.assertEqual(c["bonus"]["multiplier"], 1.5)
        self.assertTrue(c["active"], c)
        ids = [x["id"] for x in list_all("/v1/admin/campaigns", key=MANAGER_KEY)]
        self.assertIn(c["id"], ids)

    def test_create__same_code__409_campaign_exists(self):
        c = campaign(self)
        r = post("/v1/admin/campaigns", {"name": "Again", "code": c["code"],
                 "starts_at": ts(0), "ends_at": ts(1)}, key=MANAGER_KEY)
        self.assertProblem(r, 409, "campaign_exists")

    def test_create__unknown_rule_or_district__422(self):
        base = {"name": "X", "starts_at": ts(0), "ends_at": ts(1)}
        r = post("/v1/admin/campaigns", dict(base, code=unique("c").lower(),
                 bonus={"rule": "no-such-rule", "multiplier": 2}),
                 key=MANAGER_KEY)
        self.assertProblem(r, 422, "unknown_rule")
        r = post("/v1/admin/campaigns", dict(base, code=unique("c").lower(),
                 districts=["no-such-district"]), key=MANAGER_KEY)
        self.assertProblem(r, 422, "unknown_district")

    def test_create__bad_multiplier_window_or_code__422(self):
        rule = blood_rule(self)
        for m in (1, 0.5, 1.005, 10.01, 11, "2"):
            r = post("/v1/admin/campaigns", {"name": "X",
                     "code": unique("c").lower(), "starts_at": ts(0),
                     "ends_at": ts(1), "bonus": {"rule": rule,
                                                 "multiplier": m}},
                     key=MANAGER_KEY)
            self.assertProblem(r, 422)
        r = post("/v1/admin/campaigns", {"name": "X",
                 "code": unique("c").lower(), "starts_at": ts(1),
                 "ends_at": ts(0)}, key=MANAGER_KEY)
        self.assertProblem(r, 422)
        r = post("/v1/admin/campaigns", {"name": "X", "code": "Has Spaces",
                 "starts_at": ts(0), "ends_at": ts(1)}, key=MANAGER_KEY)
        self.assertProblem(r, 422)
        r = post("/v1/admin/campaigns", {"name": "X", "code": "c",
                 "starts_at": ts(0), "ends_at": ts(1), "colour": "red"},
                 key=MANAGER_KEY)
        self.assertProblem(r, 400, "unknown_field")

    def test_patch__changes_fields_and_removes_bonus(self):
        c = campaign(self, bonus={"rule": blood_rule(self), "multiplier": 3})
        r = patch("/v1/admin/campaigns/" + c["id"],
                  {"name": "Renamed", "bonus": None,
                   "enrollment_target": 40}, key=MANAGER_KEY)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["name"], r.json["bonus"],
                          r.json["enrollment_target"]),
                         ("Renamed", None, 40))
        r = patch("/v1/admin/campaigns/" + c["id"], {"ends_at": ts(-30)},
                  key=MANAGER_KEY)
        self.assertProblem(r, 422)
        r = patch("/v1/admin/campaigns/cmp_NOSUCHCAMPAIGN", {"name": "x"},
                  key=MANAGER_KEY)
        self.assertProblem(r, 404, "campaign_not_found")

    def test_create__idempotency_key__replayed(self):
        body = {"name": "Once", "code": unique("c").lower(),
                "starts_at": ts(0), "ends_at": ts(2)}
        hdr = {"Idempotency-Key": unique("idem")}
        r1 = post("/v1/admin/campaigns", body, key=MANAGER_KEY, headers=hdr)
        r2 = post("/v1/admin/campaigns", body, key=MANAGER_KEY, headers=hdr)
        self.assertEqual((r1.status, r2.status), (201, 201), (r1, r2))
        self.assertEqual(r1.json["id"], r2.json["id"])
        self.assertEqual(r2.headers.get("idempotent-replayed"), "true")

    def test_other_roles__403(self):
        for key in (ISSUER_KEY, PARTNER_KEY):
            self.assertProblem(get("/v1/admin/campaigns", key=key), 403)
            self.assertProblem(get("/v1/stats/overview", key=key), 403)
        self.assertProblem(get("/v1/stats/overview"), 401)


class CampaignStats(PerkdTestCase):
    def test_enrolments_awards_and_bonus__counted(self):
        d = new_district(self)
        rule = blood_rule(self)
        c = campaign(self, districts=[d], enrollment_target=12,
                     bonus={"rule": rule, "multiplier": 3})
        subs = [enrol(self, d, c["code"]) for _ in range(6)]
        credited = 0
        for s in subs:
            a = award(self, s, rule)
            self.assertEqual(a.get("campaign_id"), c["id"], a)
            credited += a["points"]
        r = get("/v1/stats/campaigns/" + c["id"], key=MANAGER_KEY)
        self.assertEqual(r.status, 200, r)
        st = r.json
        self.assertEqual(st["enrolled"], 6, st)
        self.assertEqual(st["target"], 12)
        self.assertAlmostEqual(st["progress"], 0.5)
        self.assertAlmostEqual(st["activation_rate"], 1.0)
        self.assertEqual(st["bonus_points"], credited)
        self.assertEqual(st["districts"], [{"district": d, "enrolled": 6}])

        r = get("/v1/stats/campaigns/" + c["id"] + "?format=csv",
                key=MANAGER_KEY)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.content_type, "text/csv", r)
        rows = list(csv.reader(io.StringIO(r.text)))
        self.assertEqual(rows[0], ["section", "key", "name", "metric", "value"])
        self.assertIn(["campaign", c["code"], c["name"], "enrolled", "6"], rows)

    def test_small_campaign__every_figure_withheld(self):
        d = new_district(self)
        c = campaign(self, enrollment_target=10)
        for s in [enrol(self, d, c["code"]) for _ in range(3)]:
            award(self, s, blood_rule(self))
        st = get("/v1/stats/campaigns/" + c["id"], key=MANAGER_KEY).json
        self.assertIsNone(st["enrolled"], st)
        self.assertIsNone(st["progress"], st)
        self.assertIsNone(st["activation_rate"], st)
        self.assertEqual(st["districts"], [{"district": d, "enrolled": None}])
        r = get("/v1/stats/campaigns/" + c["id"] + "?format=csv",
                key=MANAGER_KEY)
        self.assertIn(["campaign", c["code"], c["name"], "enrolled", ""],
                      list(csv.reader(io.StringIO(r.text))))

    def test_unknown_campaign__404(self):
        self.assertProblem(get("/v1/stats/campaigns/cmp_NOSUCH",
                               key=MANAGER_KEY), 404, "campaign_not_found")


class Overview(PerkdTestCase):
    def test_shape__as_the_dashboard_expects(self):
        r = get("/v1/stats/overview", key=MANAGER_KEY)
        self.assertEqual(r.status, 200, r)
        o = r.json
        for k in ("members", "population", "opt_in_rate", "min_group",
                  "districts", "points", "redemptions_per_perk",
                  "awards_per_rule", "funnel", "channels"):
            self.assertIn(k, o)
        self.assertEqual(o["min_group"], K)
        self.assertEqual(set(o["points"]), {"awarded", "redeemed", "refunded",
                                            "closed", "outstanding"})
        self.assertEqual(set(o["funnel"]), {"enrolled", "earned", "redeemed"})
        for d in o["districts"]:
            self.assertEqual(set(d), {"code", "name", "members", "population",
                                      "opt_in_rate"})
        for p in o["redemptions_per_perk"]:
            self.assertEqual(set(p), {"perk_id", "title", "redemptions",
                                      "points"})
        for a in o["awards_per_rule"]:
            self.assertEqual(set(a), {"rule", "title", "awards", "points"})
        for c in o["channels"]:
            self.assertEqual(set(c), {"channel", "enrolled"})
        # every number shown is 0 or at least k
        for n in [d["members"] for d in o["districts"]] + \
                [c["enrolled"] for c in o["channels"]] + \
                [p["redemptions"] for p in o["redemptions_per_perk"]] + \
                [a["awards"] for a in o["awards_per_rule"]]:
            self.assertTrue(n is None or n == 0 or n >= K, o)

    def test_csv__long_format_and_accept_header(self):
        r = get("/v1/stats/overview", key=MANAGER_KEY,
                headers={"Accept": "text/csv"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.content_type, "text/csv", r)
        rows = list(csv.reader(io.StringIO(r.text)))
        self.assertEqual(rows[0], ["section", "key", "name", "metric", "value"])
        self.assertTrue(any(row[0] == "funnel" for row in rows), rows[:5])


class Enrollment(PerkdTestCase):
    def test_series__periods_and_fields(self):
        for interval, n in (("day", 3), ("week", 1), ("month", 1)):
            q = urllib.parse.urlencode({"interval": interval,
                                        "from": iso(today() - datetime.timedelta(days=2)),
                                        "to": iso(today())})
            r = get("/v1/stats/enrollment?" + q, key=MANAGER_KEY)
            self.assertEqual(r.status, 200, r)
            self.assertGreaterEqual(len(r.json["series"]), n, r)
            for row in r.json["series"]:
                for k in ("period", "enrolled", "left", "net", "members",
                          "population", "opt_in_rate"):
                    self.assertIn(k, row)
        r = get("/v1/stats/enrollment?interval=month&format=csv",
                key=MANAGER_KEY)
        self.assertEqual(r.content_type, "text/csv", r)
        self.assertTrue(r.text.startswith("period,enrolled,left,net,members,"),
                        r.text[:100])

    def test_bad_queries__problems(self):
        for q in ("interval=year", "from=2026-02-30", "from=yesterday",
                  "from=2026-05-02&to=2026-05-01", "from=2000-01-01&to=2026-01-01"):
            self.assertProblem(get("/v1/stats/enrollment?" + q,
                                   key=MANAGER_KEY), 400, "invalid_query")
        self.assertProblem(get("/v1/stats/enrollment?district=no-such",
                               key=MANAGER_KEY), 422, "unknown_district")


class SinglingOut(PerkdTestCase):
    """One resident enrols alone in a district of their own through a
    channel of their own. Whatever an analyst combines, their enrolment
    must not come out as a count below k."""

    def series(self, **q):
        r = get("/v1/stats/enrollment?" + urllib.parse.urlencode(q),
                key=MANAGER_KEY)
        self.assertEqual(r.status, 200, r)
        return r.json["series"]

    def test_one_member__cannot_be_singled_out(self):
        lone = new_district(self)
        channel = unique("lone").lower()
        # a campaign so that the channel is a real one
        campaign(self, code=channel)
        enrol(self, lone, channel)
        day = iso(today())

        # 1. the district on that day, and over a range ending that day
        for interval in ("day", "week", "month"):
            rows = self.series(interval=interval, district=lone, to=day,
                               **{"from": iso(today() - datetime.timedelta(days=40))})
            last = rows[-1]
            self.assertIsNone(last["enrolled"], (interval, last))
            self.assertIsNone(last["net"], (interval, last))
            self.assertNotEqual(last["members"], 1, last)
            self.assertTrue(all(r["enrolled"] in (None, 0) for r in rows), rows)

        # 2. differencing two overlapping ranges gives nothing: the cells
        # are whole periods, identical in both answers
        for interval in ("week", "month"):
            a = self.series(interval=interval, district=lone, to=day,
                            **{"from": iso(today() - datetime.timedelta(days=1))})
            b = self.series(interval=interval, district=lone,
                            to=iso(today() - datetime.timedelta(days=1)),
                            **{"from": iso(today() - datetime.timedelta(days=1))})
            for ra in a:
                for rb in b:
                    if ra["period"] == rb["period"]:
                        self.assertEqual(ra["enrolled"], rb["enrolled"])

        # 3. the city minus every published district that day never
        # leaves a small remainder
        city = self.series(interval="day", to=day, **{"from": day})[0]
        if city["enrolled"] is not None:
            districts = [d["code"] for d in
                         get("/v1/stats/overview", key=MANAGER_KEY).json["districts"]]
            shown = 0
            for code in districts:
                v = self.series(interval="day", district=code, to=day,
                                **{"from": day})[0]["enrolled"]
                shown += v or 0
            rest = city["enrolled"] - shown
            self.assertTrue(rest == 0 or rest >= K,
                            "city - published districts = %d" % rest)

        # 4. the channel: withheld, and the other channels do not add up
        # to the funnel total minus one
        o = get("/v1/stats/overview", key=MANAGER_KEY).json
        mine = [c for c in o["channels"] if c["channel"] == channel]
        self.assertEqual(mine, [{"channel": channel, "enrolled": None}])
        if o["funnel"]["enrolled"] is not None:
            shown = sum(c["enrolled"] or 0 for c in o["channels"])
            rest = o["funnel"]["enrolled"] - shown
            self.assertTrue(rest == 0 or rest >= K,
                            "funnel - published channels = %d" % rest)
        # and in the CSV the cell is empty
        r = get("/v1/stats/overview?format=csv", key=MANAGER_KEY)
        rows = list(csv.reader(io.StringIO(r.text)))
        self.assertIn(["channel", channel, "", "enrolled", ""], rows)

        # 5. the district's member count does not move by one: members
        # are only published as of a day before today
        o = get("/v1/stats/overview", key=MANAGER_KEY).json
        d = [x for x in o["districts"] if x["code"] == lone][0]
        self.assertIn(d["members"], (None, 0), d)
        if o["members_as_of"] is None:      # no anchor day yet: withheld
            self.assertIsNone(o["members"])
        else:
            self.assertLess(o["members_as_of"], day)
