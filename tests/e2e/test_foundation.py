"""test_foundation.py: the ground every endpoint stands on, through real
nginx + perkd + MariaDB: probes, routing errors, input limits, JSON
validation, authentication of residents and organisations, organisations
and keys, idempotency, metrics, and errors that never leak internals.
"""
import os
import signal
import subprocess
import time
import urllib.parse

import lib
from lib import (BODY_MAX, ISSUER_KEY, MANAGER_KEY, PARTNER_KEY, REPO, URL, VAR,
                 PerkdTestCase, create_key, create_org, delete, get, list_all,
                 mint_token, need_tool, org_with_key, parallel, post, raw_request,
                 request, tamper_signature, unique)


class Probes(PerkdTestCase):
    def test_healthz__200(self):
        r = get("/healthz")
        self.assertEqual(r.status, 200, r)

    def test_readyz__200_when_database_answers(self):
        r = get("/readyz")
        self.assertEqual(r.status, 200, r)

    def test_metrics__passes_promtool_check(self):
        promtool = need_tool(self, "promtool")
        get("/healthz")  # at least one request counted
        r = get("/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.content_type.startswith("text/plain"), r)
        p = subprocess.run([promtool, "check", "metrics"], input=r.body,
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, (p.stdout + p.stderr).decode())

    def test_metrics__count_requests_by_route_and_status(self):
        get("/v1/issuers")
        text = get("/metrics").text
        lines = [l for l in text.splitlines() if not l.startswith("#")]
        self.assertTrue(any("/v1/issuers" in l and "200" in l for l in lines),
                        "no request counter for /v1/issuers 200 in:\n" + text[:3000])

    def test_metrics__statements_prepared_and_evicted_counted(self):
        get("/v1/issuers")      # a statement on some connection
        vals = lib.metrics("perkd_db_statements_")
        prepared = vals.get("perkd_db_statements_prepared_total")
        evicted = vals.get("perkd_db_statements_evicted_total")
        self.assertIsNotNone(prepared, vals)
        self.assertIsNotNone(evicted, vals)
        self.assertGreaterEqual(prepared, 1)
        self.assertLessEqual(evicted, prepared)

    def test_metrics__points_slot_waits_counted(self):
        text = get("/metrics").text
        vals = lib.metrics("perkd_points_slot_waits_total", text)
        self.assertEqual(list(vals), ["perkd_points_slot_waits_total"],
                         text[-2000:])
        self.assertGreaterEqual(vals["perkd_points_slot_waits_total"], 0)
        self.assertIn("# TYPE perkd_points_slot_waits_total counter", text)

    def test_bench_static__nginx_answers_alone(self):
        r = get("/bench/static")
        self.assertEqual((r.status, r.json), (200, {"ok": True}), r)


class NginxFront(PerkdTestCase):
    """What nginx adds in front of perkd (etc/nginx.conf.in)."""

    def test_pages__served_with_security_headers(self):
        for path in ("/", "/partner/", "/manage/"):
            with self.subTest(path=path):
                r = get(path)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.content_type, "text/html", r)
                self.assertIn("default-src 'self'", r.headers.get("content-security-policy", ""))
                self.assertEqual(r.headers.get("x-content-type-options"), "nosniff")
                self.assertEqual(r.headers.get("referrer-policy"), "no-referrer")
                self.assertEqual(r.headers.get("cache-control"), "no-cache")

    def test_api_answer__one_nosniff_and_perkds_own_cache_control(self):
        r = get("/v1/issuers")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("x-content-type-options"), "nosniff", r.headers)
        # nginx adds no-cache to pages only: perkd sets the API's own
        self.assertNotIn("no-cache", r.headers.get("cache-control", ""), r.headers)

    def test_server_header__no_version(self):
        self.assertEqual(get("/healthz").headers.get("server"), "nginx")

    def test_nginx_own_errors__are_problem_documents(self):
        r = raw_request(b"GET /v1/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertProblem(r, 400, "bad_request")
        r = raw_request(b"GET /v1/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertProblem(r, 414, "uri_too_long")

    def test_error_pages__not_reachable_directly(self):
        self.assertEqual(get("/.problem/413").status, 404)


class Routing(PerkdTestCase):
    def test_unknown_route__404_problem(self):
        self.assertProblem(get("/v1/no-such-thing"), 404, "route_not_found")

    def test_unknown_route_under_known_prefix__404_problem(self):
        self.assertProblem(get("/v1/admin/orgs/x/y/z"), 404, "route_not_found")

    def test_wrong_method__405_with_allow(self):
        r = delete("/v1/issuers")
        self.assertProblem(r, 405, "method_not_allowed")
        self.assertIn("GET", r.headers.get("allow", ""), r.headers)

    def test_wrong_method_on_admin_route__405_lists_every_method(self):
        r = request("PUT", "/v1/admin/orgs", key=MANAGER_KEY)
        self.assertProblem(r, 405, "method_not_allowed")
        allow = {m.strip() for m in r.headers.get("allow", "").split(",")}
        self.assertTrue({"GET", "POST"} <= allow, r.headers)


class InputLimits(PerkdTestCase):
    def padded_org_body(self, size):
        """A valid org-creation body of exactly `size` bytes (JSON allows
        trailing whitespace)."""
        body = ('{"name":"%s","roles":["partner"]}' % unique("pad")).encode()
        return body + b" " * (size - len(body))

    def test_body_over_64k__413_problem(self):
        r = post("/v1/admin/orgs", self.padded_org_body(BODY_MAX + 1), key=MANAGER_KEY)
        self.assertProblem(r, 413, "payload_too_large")

    def test_body_of_exactly_64k__accepted(self):
        r = post("/v1/admin/orgs", self.padded_org_body(BODY_MAX), key=MANAGER_KEY)
        self.assertEqual(r.status, 201, r)

    def test_chunked_body_over_64k__413_problem(self):
        body = self.padded_org_body(BODY_MAX + 100)
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 8192]), body[i:i + 8192])
                          for i in range(0, len(body), 8192))
        req = (b"POST /v1/admin/orgs HTTP/1.1\r\nHost: localhost\r\n"
               b"Authorization: Bearer " + MANAGER_KEY.encode() + b"\r\n"
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
        self.assertProblem(raw_request(req), 413, "payload_too_large")

    def test_content_length_junk__400_problem(self):
        # nginx rejects these before perkd sees them (code bad_request);
        # perkd's own check answers invalid_content_length.
        for junk in (b"abc", b"-1", b"1e3", b"12 34", b"0x10", b"99999999999999999999999"):
            with self.subTest(content_length=junk):
                req = (b"POST /v1/admin/orgs HTTP/1.1\r\nHost: localhost\r\n"
                       b"Content-Type: application/json\r\nContent-Length: " + junk +
                       b"\r\nConnection: close\r\n\r\n{}")
                self.assertProblem(raw_request(req), 400,
                                   ("bad_request", "invalid_content_length"))

    def test_content_length_conflicting_duplicates__400_problem(self):
        req = (b"POST /v1/admin/orgs HTTP/1.1\r\nHost: localhost\r\n"
               b"Content-Type: application/json\r\nContent-Length: 2\r\n"
               b"Content-Length: 5\r\nConnection: close\r\n\r\n{}")
        self.assertProblem(raw_request(req), 400, ("bad_request", "invalid_content_length"))


class PerkdInputChecks(PerkdTestCase):
    """perkd's own input checks, straight over its FastCGI socket: nginx
    never lets these requests through, but perkd must not rely on that."""

    def setUp(self):
        if not lib.perkd_socket() or not os.path.exists(lib.perkd_socket()):
            self.skipTest("no perkd socket in PERKD_CONFIG")

    def create(self, content_length, body):
        return lib.fcgi_request(lib.fcgi_params(
            "POST", "/v1/admin/orgs", CONTENT_LENGTH=content_length,
            CONTENT_TYPE="application/json", HTTP_AUTHORIZATION="Bearer " + MANAGER_KEY), body)

    def test_content_length_junk__400_invalid_content_length(self):
        for junk in ("abc", "-1", "99999999999999999999", " 2", "2 ", "+2", "0x2", "2e0"):
            with self.subTest(content_length=junk):
                self.assertProblem(self.create(junk, b"{}"), 400, "invalid_content_length")

    def test_body_shorter_than_content_length__400_invalid_content_length(self):
        self.assertProblem(self.create("10", b"{}"), 400, "invalid_content_length")

    def test_content_length_over_64k__413_without_nginx(self):
        self.assertProblem(self.create(str(BODY_MAX + 1), b" " * (BODY_MAX + 1)), 413,
                           "payload_too_large")

    def test_well_formed_request__answered_like_through_nginx(self):
        body = ('{"name":"%s","roles":["issuer"]}' % unique("fcgi")).encode()
        r = self.create(str(len(body)), body)
        self.assertEqual(r.status, 201, r)


class JsonValidation(PerkdTestCase):
    def create(self, body, **kw):
        return post("/v1/admin/orgs", body, key=MANAGER_KEY, **kw)

    def test_malformed_json__400_invalid_json(self):
        self.assertProblem(self.create('{"name": "x", "roles": ['), 400, "invalid_json")

    def test_trailing_data_after_json__400_invalid_json(self):
        body = '{"name":"%s","roles":["issuer"]} {}' % unique()
        self.assertProblem(self.create(body), 400, "invalid_json")

    def test_invalid_utf8__400_invalid_json(self):
        body = b'{"name":"caf\xe9\xff","roles":["issuer"]}'
        self.assertProblem(self.create(body), 400, "invalid_json")

    def test_deep_nesting__400_problem(self):
        body = '{"name":"x","roles":["issuer"],"deep":' + "[" * 200 + "]" * 200 + "}"
        self.assertProblem(self.create(body), 400, ("invalid_json", "unknown_field"))

    def test_body_not_an_object__rejected(self):
        r = self.create('["issuer"]')
        self.assertIn(r.status, (400, 422), r)
        self.assertProblem(r, r.status)

    def test_unknown_field__400_unknown_field(self):
        r = self.create({"name": unique(), "roles": ["issuer"], "admin": True})
        self.assertProblem(r, 400, "unknown_field")

    def test_missing_required_field__422_with_field_errors(self):
        doc = self.assertProblem(self.create({"roles": ["issuer"]}), 422, "validation_failed")
        self.assertIn("errors", doc, doc)
        self.assertIn("name", [e.get("field") for e in doc["errors"]], doc)
        for e in doc["errors"]:
            self.assertTrue(e.get("message"), doc)

    def test_wrong_type__422_validation_failed(self):
        doc = self.assertProblem(self.create({"name": 42, "roles": ["issuer"]}), 422,
                                 "validation_failed")
        self.assertIn("name", [e.get("field") for e in doc.get("errors", [])], doc)

    def test_unknown_role__422_validation_failed(self):
        doc = self.assertProblem(self.create({"name": unique(), "roles": ["king"]}), 422,
                                 "validation_failed")
        self.assertIn("roles", [e.get("field") for e in doc.get("errors", [])], doc)

    def test_name_too_long__422_validation_failed(self):
        self.assertProblem(self.create({"name": "x" * 201, "roles": ["issuer"]}), 422,
                           "validation_failed")

    def test_non_json_content_type__415_problem(self):
        r = post("/v1/admin/orgs", '{"name":"x","roles":["issuer"]}', key=MANAGER_KEY,
                 headers={"Content-Type": "text/plain"})
        self.assertProblem(r, 415, "unsupported_media_type")


class ResidentAuth(PerkdTestCase):
    """A resident route (GET /v1/me) with good and bad tokens."""

    def me(self, token):
        return get("/v1/me", token=token)

    def test_good_token__accepted(self):
        # a fresh subject is not enrolled: 404, which proves the token passed
        self.assertProblem(self.me(mint_token(unique("sub"))), 404, "not_enrolled")

    def test_no_token__401(self):
        self.assertProblem(get("/v1/me"), 401, "unauthorized")

    def test_not_a_bearer_token__401(self):
        for value in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.jwt", "Bearer a.b.c.d"):
            with self.subTest(authorization=value):
                r = get("/v1/me", headers={"Authorization": value})
                self.assertProblem(r, 401, "unauthorized")

    def test_bad_signature__401(self):
        self.assertProblem(self.me(tamper_signature(mint_token())), 401, "unauthorized")

    def test_signed_with_another_secret__401(self):
        self.assertProblem(self.me(mint_token(secret=b"x" * 64)), 401, "unauthorized")

    def test_alg_none__401(self):
        self.assertProblem(self.me(mint_token(alg="none")), 401, "unauthorized")

    def test_other_alg_in_header__401(self):
        for alg in ("HS512", "RS256", "hs256"):
            with self.subTest(alg=alg):
                self.assertProblem(self.me(mint_token(alg=alg)), 401, "unauthorized")

    def test_expired__401(self):
        self.assertProblem(self.me(mint_token(exp=int(time.time()) - 3600)), 401,
                           "unauthorized")

    def test_missing_exp__401(self):
        self.assertProblem(self.me(mint_token(omit=("exp",))), 401, "unauthorized")

    def test_missing_sub__401(self):
        self.assertProblem(self.me(mint_token(omit=("sub",))), 401, "unauthorized")

    def test_sub_over_128_chars__401(self):
        self.assertProblem(self.me(mint_token("s" * 129)), 401, "unauthorized")

    def test_org_key_on_resident_route__rejected(self):
        r = get("/v1/me", key=ISSUER_KEY)
        self.assertIn(r.status, (401, 403), r)
        self.assertProblem(r, r.status, ("unauthorized", "forbidden"))


class OrgAuth(PerkdTestCase):
    def test_issuer_key_on_manager_route__403(self):
        r = post("/v1/admin/orgs", {"name": unique(), "roles": ["issuer"]}, key=ISSUER_KEY)
        self.assertProblem(r, 403, "forbidden")

    def test_partner_key_on_manager_route__403(self):
        self.assertProblem(get("/v1/admin/orgs", key=PARTNER_KEY), 403, "forbidden")

    def test_resident_token_on_manager_route__rejected(self):
        r = get("/v1/admin/orgs", token=mint_token())
        self.assertIn(r.status, (401, 403), r)
        self.assertProblem(r, r.status, ("unauthorized", "forbidden"))

    def test_unknown_key__401(self):
        self.assertProblem(get("/v1/admin/orgs", key="pk_AAAAAAAAAAAAAAAA_" + "B" * 52),
                           401, "unauthorized")

    def test_manager_key_with_one_changed_char__401(self):
        k = MANAGER_KEY[:-1] + ("A" if MANAGER_KEY[-1] != "A" else "B")
        self.assertProblem(get("/v1/admin/orgs", key=k), 401, "unauthorized")

    def test_no_key_on_manager_route__401(self):
        self.assertProblem(get("/v1/admin/orgs"), 401, "unauthorized")


class OrgsAndKeys(PerkdTestCase):
    def test_create_org__201_with_id_and_roles(self):
        name = unique("org")
        r = post("/v1/admin/orgs", {"name": name, "roles": ["issuer", "partner"]},
                 key=MANAGER_KEY)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json["id"].startswith("org_"), r)
        self.assertEqual(r.json["name"], name)
        self.assertEqual(sorted(r.json["roles"]), ["issuer", "partner"])

    def test_create_org_with_taken_name__409(self):
        name = unique("org")
        create_org(name)
        r = post("/v1/admin/orgs", {"name": name, "roles": ["issuer"]}, key=MANAGER_KEY)
        self.assertProblem(r, 409)

    def test_key_lifecycle__create_use_revoke_then_401(self):
        org = create_org(roles=("manager",))
        k = create_key(org["id"])
        self.assertTrue(k["key"].startswith("pk_"), k)
        self.assertTrue(k["id"], k)
        self.assertEqual(get("/v1/admin/orgs?limit=1", key=k["key"]).status, 200)
        r = delete("/v1/admin/keys/%s" % k["id"], key=MANAGER_KEY)
        self.assertEqual(r.status, 204, r)
        self.assertProblem(get("/v1/admin/orgs?limit=1", key=k["key"]), 401, "unauthorized")

    def test_revoking_one_key__leaves_the_others(self):
        org = create_org(roles=("manager",))
        k1, k2 = create_key(org["id"]), create_key(org["id"])
        self.assertNotEqual(k1["key"], k2["key"])
        self.assertEqual(delete("/v1/admin/keys/%s" % k1["id"], key=MANAGER_KEY).status, 204)
        self.assertEqual(get("/v1/admin/orgs?limit=1", key=k2["key"]).status, 200)

    def test_revoke_unknown_key__404(self):
        r = delete("/v1/admin/keys/key_DOESNOTEXIST0000000000", key=MANAGER_KEY)
        self.assertProblem(r, 404)

    def test_key_for_unknown_org__404(self):
        r = post("/v1/admin/orgs/org_DOESNOTEXIST0000000000/keys", key=MANAGER_KEY)
        self.assertProblem(r, 404)

    def test_key_of_issuer_org__gets_issuer_rights_only(self):
        _, key = org_with_key(roles=("issuer",))
        self.assertProblem(get("/v1/admin/orgs", key=key), 403, "forbidden")

    def test_issuers__public_list_shows_issuers_only(self):
        issuer = create_org(roles=("issuer",))
        partner = create_org(roles=("partner",))
        names = [o["name"] for o in list_all("/v1/issuers")]
        self.assertIn(issuer["name"], names)
        self.assertNotIn(partner["name"], names)

    def test_issuers__items_have_id_and_name(self):
        r = get("/v1/issuers?limit=2")
        self.assertEqual(r.status, 200, r)
        self.assertIn("next_cursor", r.json)
        self.assertLessEqual(len(r.json["items"]), 2)
        for item in r.json["items"]:
            self.assertTrue(item["id"].startswith("org_"), item)
            self.assertIn("name", item)

    def test_list_pages__follow_next_cursor_without_repeats(self):
        for _ in range(3):
            create_org(roles=("issuer",))
        seen, cursor = [], None
        for _ in range(100):
            q = "/v1/issuers?limit=2" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
            r = get(q)
            self.assertEqual(r.status, 200, r)
            seen += [o["id"] for o in r.json["items"]]
            cursor = r.json["next_cursor"]
            if not cursor:
                break
        self.assertEqual(len(seen), len(set(seen)))
        self.assertGreaterEqual(len(seen), 3)

    def test_list_limit_over_500__400(self):
        self.assertProblem(get("/v1/issuers?limit=501"), 400)

    def test_forged_cursor__400_invalid_cursor(self):
        r = get("/v1/issuers?limit=1")
        cursor = r.json["next_cursor"] or "AAAAAAAAAAAAAAAAAAAAAAAA"
        forged = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
        self.assertProblem(get("/v1/issuers?cursor=" + urllib.parse.quote(forged)), 400,
                           "invalid_cursor")

    def test_same_name_created_concurrently__exactly_one_wins(self):
        name = unique("race")
        rs = parallel(8, lambda i: post("/v1/admin/orgs", {"name": name, "roles": ["issuer"]},
                                        key=MANAGER_KEY))
        self.assertEqual(sorted(r.status for r in rs), [201] + [409] * 7, rs)


class Idempotency(PerkdTestCase):
    def create(self, body, idem, key=MANAGER_KEY):
        return post("/v1/admin/orgs", body, key=key, headers={"Idempotency-Key": idem})

    def test_same_key_and_body__replays_first_answer(self):
        body, idem = {"name": unique("idem"), "roles": ["issuer"]}, unique("k")
        first = self.create(body, idem)
        self.assertEqual(first.status, 201, first)
        again = self.create(body, idem)
        self.assertEqual(again.status, 201, again)
        self.assertEqual(again.headers.get("idempotent-replayed"), "true", again.headers)
        self.assertEqual(again.json, first.json)
        self.assertNotIn("idempotent-replayed", first.headers)

    def test_same_key_other_body__422_idempotency_key_reused(self):
        idem = unique("k")
        self.assertEqual(self.create({"name": unique(), "roles": ["issuer"]}, idem).status, 201)
        r = self.create({"name": unique(), "roles": ["issuer"]}, idem)
        self.assertProblem(r, 422, "idempotency_key_reused")

    def test_same_key_from_another_caller__not_replayed(self):
        # another manager organisation sending the same key and body is a
        # different request: it creates (here: collides on the name), never
        # receives the first caller's answer
        org = create_org(roles=("manager",))
        other = create_key(org["id"])["key"]
        body, idem = {"name": unique("idem"), "roles": ["issuer"]}, unique("k")
        self.assertEqual(self.create(body, idem).status, 201)
        r = self.create(body, idem, key=other)
        self.assertNotEqual(r.headers.get("idempotent-replayed"), "true", r)
        self.assertProblem(r, 409)

    def test_concurrent_retries__one_effect(self):
        body, idem = {"name": unique("idem"), "roles": ["issuer"]}, unique("k")
        rs = parallel(6, lambda i: self.create(body, idem))
        for r in rs:
            self.assertLess(r.status, 500, r)
        created = [r for r in rs if r.status == 201]
        self.assertTrue(created, rs)
        self.assertEqual(len({r.json["id"] for r in created}), 1, rs)
        names = [o["name"] for o in list_all("/v1/issuers")]
        self.assertEqual(names.count(body["name"]), 1)

    def test_overlong_key__400(self):
        r = self.create({"name": unique(), "roles": ["issuer"]}, "k" * 129)
        self.assertProblem(r, 400)


class NoLeaks(PerkdTestCase):
    """Errors say what is wrong with the request, never how perkd is built."""

    def test_hostile_inputs__errors_without_internals(self):
        cases = [
            ("GET", "/v1/admin/keys/%27%20OR%201%3D1--", None),
            ("DELETE", "/v1/admin/keys/%27%3B%20DROP%20TABLE%20orgs%3B--", None),
            ("POST", "/v1/admin/orgs/%22%5C%00/keys", None),
            ("POST", "/v1/admin/orgs", {"name": "'); DROP TABLE orgs;--", "roles": ["x'"]}),
            ("POST", "/v1/admin/orgs", {"name": "\u0000\ud7ff", "roles": []}),
            ("GET", "/v1/issuers?limit=abc&cursor=%00%ff", None),
            ("GET", "/v1/issuers?limit=-1", None),
            ("GET", "/v1/" + "a" * 600, None),
        ]
        for method, path, body in cases:
            with self.subTest(method=method, path=path[:60]):
                r = request(method, path, body=body, key=MANAGER_KEY)
                self.assertGreaterEqual(r.status, 400, r)
                self.assertLess(r.status, 500, r)
                self.assertNoLeak(r)
                if r.status != 405:
                    self.assertEqual(r.content_type, "application/problem+json", r)


class Outages(PerkdTestCase):
    """perkd or MariaDB gone: clients get a 503 problem with Retry-After,
    and tests/lib/stack.sh start brings the stack back (it is idempotent).
    Needs the stack's state directory (PERKD_VAR)."""

    def setUp(self):
        if not VAR or not os.path.isdir(os.path.join(VAR, "run")):
            self.skipTest("PERKD_VAR does not name a stack's state directory")

    def kill(self, pidfile):
        with open(os.path.join(VAR, pidfile)) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):  # gone, not a zombie
            try:
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().split(") ")[1][0] in "ZX":
                        return
            except OSError:
                return
            time.sleep(0.05)

    def restart(self):
        port = urllib.parse.urlparse(URL).port
        p = subprocess.run([os.path.join(REPO, "tests/lib/stack.sh"), "start", VAR, str(port)],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(get("/readyz").status, 200)

    def test_perkd_killed__503_problem_then_back_after_stack_start(self):
        self.kill("run/perkd.pid")
        r = get("/v1/issuers")
        self.assertProblem(r, 503, "service_unavailable")
        self.assertTrue(r.headers.get("retry-after", "").isdigit(), r.headers)
        self.restart()
        self.assertEqual(get("/v1/issuers").status, 200)

    def test_database_killed__readyz_503_and_requests_503_then_reconnects(self):
        self.kill("mariadb/mysqld.pid")
        self.assertEqual(get("/healthz").status, 200)  # the process is up
        r = get("/readyz")
        self.assertProblem(r, 503, "database_unavailable")
        self.assertTrue(r.headers.get("retry-after", "").isdigit(), r.headers)
        r = get("/v1/issuers")
        self.assertProblem(r, 503, "database_unavailable")
        self.assertTrue(r.headers.get("retry-after", "").isdigit(), r.headers)
        self.restart()
        # perkd reconnects on its own: no restart of perkd needed
        self.assertEqual(get("/v1/issuers").status, 200)
