"""test_limits.py: body limits through real nginx and perkd.

Every body is limited to 64 KiB (the contract), with one exception: a
batch of 1000 awards (the contract's batch size) does not fit in 64 KiB,
so POST /v1/awards/batch alone takes up to 512 KiB (LIM_BATCH_BODY_MAX).
"""
import json
import unittest

import lib


def batch(n, pad):
    return {"items": [{"subject": "limits-nobody-%d-%s" % (i, "s" * pad),
                       "rule": "no-such-rule",
                       "external_ref": "limits-%d-%s" % (i, "r" * pad)}
                      for i in range(n)]}


class BodyLimits(lib.PerkdTestCase):
    def test_batch_of_1000_realistic_items__over_64kib__accepted(self):
        body = batch(1000, 90)
        self.assertGreater(len(json.dumps(body)), 64 * 1024)
        r = lib.post("/v1/awards/batch", body, key=lib.ISSUER_KEY)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json["results"]), 1000)
        # nothing about these non-members was stored: each is a problem
        self.assertTrue(all(x.get("code") in ("not_enrolled", "unknown_rule")
                            for x in r.json["results"]))

    def test_batch_over_512kib__413_problem(self):
        body = batch(1000, 400)
        self.assertGreater(len(json.dumps(body)), 512 * 1024)
        r = lib.post("/v1/awards/batch", body, key=lib.ISSUER_KEY)
        self.assertProblem(r, 413, "payload_too_large")

    def test_other_route_over_64kib__413_problem(self):
        r = lib.post("/v1/admin/orgs", {"name": "x" * (65 * 1024), "roles": ["partner"]},
                     key=lib.MANAGER_KEY)
        self.assertProblem(r, 413, "payload_too_large")


if __name__ == "__main__":
    unittest.main()
