#!/usr/bin/env python3
"""crash.py: points are never lost or created twice across crashes.

Runs a steady mix of awards (issuer) and redemptions (residents) through
nginx while killing perkd (SIGKILL) several times and MariaDB once, each
brought back by tests/lib/stack.sh start. Every request carries its own
identity (an award's external_ref, a redemption's Idempotency-Key) and the
client records what it sent and what came back.

After the run every request whose outcome is unknown (connection reset,
503, timeout) is re-sent with the same identity until it gets an answer, and
every acknowledged one is re-sent once more: each must now be applied
exactly once. The check is exact: for every member,
    balance == sum(points of its awards) - sum(cost of its redemptions)
computed from the client's own records, and every acknowledged (2xx) write
is found again (replayed, not re-applied). Then `perkctl verify` must pass.

    crash.py [--seconds S] [--perkd-kills N] [--db-kills N] [--outage S]
             [--members N] [--json FILE]

Reads the stack from the environment (dev.env): PERKD_URL, PERKD_VAR,
PERKD_CONFIG, PERKD_RESIDENT_SECRET, PERKD_ISSUER_KEY, PERKD_BUILD_DIR.
Prints a summary and `crash: N passed, N failed`.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
URL = urllib.parse.urlparse(os.environ.get("PERKD_URL", "http://127.0.0.1:8080"))
VAR = os.environ.get("PERKD_VAR", os.path.join(REPO, "var"))
CONFIG = os.environ.get("PERKD_CONFIG", os.path.join(VAR, "perkd.conf"))
BUILD = os.environ.get("PERKD_BUILD_DIR", REPO)
SECRET = os.environ.get("PERKD_RESIDENT_SECRET", "").encode()
ISSUER_KEY = os.environ.get("PERKD_ISSUER_KEY", "")
MANAGER_KEY = os.environ.get("PERKD_MANAGER_KEY", "")
PARTNER_ORG = os.environ.get("PERKD_PARTNER_ORG", "")
TIMEOUT = 15.0


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token(sub, ttl=7200):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps({"sub": sub, "exp": int(time.time()) + ttl}).encode())
    sig = hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def call(method, path, body=None, auth=None, headers=None):
    """Returns (status, json or None); status 0 = no answer (reset/timeout)."""
    conn = http.client.HTTPConnection(URL.hostname, URL.port or 80, timeout=TIMEOUT)
    h = {"Content-Type": "application/json"}
    if auth:
        h["Authorization"] = "Bearer " + auth
    h.update(headers or {})
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        return resp.status, doc, dict(resp.getheaders())
    except (OSError, http.client.HTTPException):
        return 0, None, {}
    finally:
        conn.close()


def stack_start():
    port = str(URL.port or 80)
    return subprocess.run([os.path.join(REPO, "tests/lib/stack.sh"), "start", VAR, port],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def pid_of(name):
    path = os.path.join(VAR, "run", name)
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def rss_fds(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return rss, fds
    except (OSError, StopIteration):
        return None, None


class Ledger:
    """What the client sent and what it learned: the ground truth."""

    def __init__(self):
        self.lock = threading.Lock()
        self.awards = {}       # ref -> {member, points, status, id}
        self.redemptions = {}  # idem key -> {member, cost, status, id}
        self.statuses = {}
        self.first_2xx_after_kill = []

    def note(self, status):
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1


def setup(members):
    """Enrols members, finds an awardable rule and a cheap voucher perk."""
    st, rules, _ = call("GET", "/v1/rules")
    assert st == 200, f"GET /v1/rules: {st}"
    st, issuers, _ = call("GET", "/v1/issuers?limit=500")
    issuer_names = {i["id"]: i["name"] for i in issuers["items"]}
    mine = issuer_names.get(os.environ.get("PERKD_ISSUER_ORG", ""))
    rule = next(r for r in rules["items"] if mine in r.get("issuers", []) and not r.get("daily_cap"))
    st, perks, _ = call("GET", "/v1/perks?limit=500")
    perk = min((p for p in perks["items"] if p["kind"] == "voucher" and p["stock_left"] is None
                and p["cost_points"] > 0 and not p.get("min_tier") and not p.get("per_member_limit")),
               key=lambda p: p["cost_points"])
    st, districts, _ = call("GET", "/v1/districts")
    district = districts["items"][0]["code"]
    subs = []
    run = f"{int(time.time())}-{random.randrange(1 << 30)}"
    for i in range(members):
        sub = f"crash-{run}-{i}"
        st, doc, _ = call("POST", "/v1/me/enroll", {"consent": True, "consent_version": "2026-01",
                                                   "district": district}, auth=token(sub))
        assert st == 201, f"enrol: {st} {doc}"
        subs.append(sub)
    return subs, rule, perk


def load(led, subs, rule, perk, stop, seq):
    rnd = random.Random()
    while not stop.is_set():
        sub = rnd.choice(subs)
        if rnd.random() < 0.75:
            ref = f"ref-{next(seq)}-{rnd.randrange(1 << 40)}"
            with led.lock:
                led.awards[ref] = {"sub": sub, "points": rule["points"], "status": None, "id": None}
            st, doc, _ = call("POST", "/v1/awards", {"subject": sub, "rule": rule["code"],
                                                    "external_ref": ref}, auth=ISSUER_KEY)
            led.note(st)
            with led.lock:
                led.awards[ref]["status"] = st
                if st in (200, 201):
                    led.awards[ref]["id"] = doc["id"]
                    led.awards[ref]["points"] = doc["points"]
        else:
            key = f"idem-{next(seq)}-{rnd.randrange(1 << 40)}"
            with led.lock:
                led.redemptions[key] = {"sub": sub, "cost": perk["cost_points"], "status": None, "id": None}
            st, doc, _ = call("POST", "/v1/me/redemptions", {"perk_id": perk["id"]}, auth=token(sub),
                              headers={"Idempotency-Key": key})
            led.note(st)
            with led.lock:
                led.redemptions[key]["status"] = st
                if st == 201:
                    led.redemptions[key]["id"] = doc["id"]


def settle(led, rule, perk):
    """Re-sends every request until it has a definite answer; checks that
    acknowledged ones are replayed, not applied again."""
    missing = duplicated = 0
    for ref, a in list(led.awards.items()):
        for _ in range(40):
            st, doc, _ = call("POST", "/v1/awards", {"subject": a["sub"], "rule": rule["code"],
                                                    "external_ref": ref}, auth=ISSUER_KEY)
            if st in (200, 201, 404, 409, 422):
                break
            time.sleep(0.25)
        if a["status"] in (200, 201):
            # acknowledged: must come back as the same award, not a new one
            if st != 200 or doc["id"] != a["id"]:
                missing += 1 if st != 200 else 0
                duplicated += 1 if st == 201 else 0
        if st in (200, 201):
            a["final"] = doc["points"]
        else:
            a["final"] = 0
    for key, r in list(led.redemptions.items()):
        for _ in range(40):
            st, doc, hdr = call("POST", "/v1/me/redemptions", {"perk_id": perk["id"]},
                                auth=token(r["sub"]), headers={"Idempotency-Key": key})
            if st and st != 503 and st < 500:
                break
            time.sleep(0.25)
        if r["status"] == 201 and (st != 201 or doc["id"] != r["id"]):
            missing += 1
        r["final"] = r["cost"] if st == 201 else 0
    return missing, duplicated


def balances_agree(led, subs):
    expect = {s: 0 for s in subs}
    for a in led.awards.values():
        expect[a["sub"]] += a.get("final", 0)
    for r in led.redemptions.values():
        expect[r["sub"]] -= r.get("final", 0)
    wrong = []
    for s in subs:
        st, me, _ = call("GET", "/v1/me", auth=token(s))
        if st != 200 or me["balance"] != expect[s]:
            wrong.append((s, expect[s], me and me.get("balance")))
    return wrong


def outage(seconds):
    """Stops MariaDB for `seconds`: every request must get 503 + Retry-After
    (never 500, never a 2xx write, never a hang), and perkd must recover."""
    path = os.path.join(VAR, "mariadb", "mysqld.pid")
    try:
        mdb = int(open(path).read().strip())
    except (OSError, ValueError):
        return {"error": "no MariaDB pid"}
    os.kill(mdb, signal.SIGSTOP)   # frozen, not dead: the hardest case (no RST)
    frozen_at = time.time()
    seen, bad, slowest = {}, 0, 0.0
    while time.time() - frozen_at < seconds:
        t0 = time.time()
        st, doc, hdr = call("GET", "/readyz")
        slowest = max(slowest, time.time() - t0)
        seen[st] = seen.get(st, 0) + 1
        if st != 503 or "Retry-After" not in hdr:
            bad += 1
        time.sleep(0.5)
    os.kill(mdb, signal.SIGCONT)
    t0 = time.time()
    while time.time() - t0 < 60:
        if call("GET", "/readyz")[0] == 200:
            break
        time.sleep(0.2)
    return {"seconds": seconds, "answers": seen, "not_503": bad, "slowest_s": round(slowest, 2),
            "recovered_s": round(time.time() - t0, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--perkd-kills", type=int, default=3)
    ap.add_argument("--db-kills", type=int, default=1)
    ap.add_argument("--outage", type=float, default=0, help="freeze MariaDB for S seconds")
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    subs, rule, perk = setup(args.members)
    led = Ledger()
    stop = threading.Event()
    counter = iter(range(1 << 62))
    seq_lock = threading.Lock()

    class Seq:
        def __next__(self):
            with seq_lock:
                return next(counter)

    workers = [threading.Thread(target=load, args=(led, subs, rule, perk, stop, Seq()))
               for _ in range(args.threads)]
    for w in workers:
        w.start()
    kills = []
    n = args.perkd_kills + args.db_kills
    gap = args.seconds / (n + 1)
    plan = ["perkd"] * args.perkd_kills + ["mariadb"] * args.db_kills
    random.shuffle(plan)
    start_rss = rss_fds(pid_of("perkd.pid") or 0)
    for what in plan:
        time.sleep(gap)
        pid = pid_of("perkd.pid") if what == "perkd" else None
        if what == "mariadb":
            try:
                pid = int(open(os.path.join(VAR, "mariadb", "mysqld.pid")).read().strip())
            except (OSError, ValueError):
                pid = None
        if pid is None:
            kills.append({"what": what, "error": "no pid"})
            continue
        t0 = time.time()
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.3)
        r = stack_start()
        while time.time() - t0 < 60 and call("GET", "/readyz")[0] != 200:
            time.sleep(0.1)
        kills.append({"what": what, "restart_rc": r.returncode, "recover_s": round(time.time() - t0, 2)})
    time.sleep(gap)
    stop.set()
    for w in workers:
        w.join()

    figures = {"kills": kills, "requests": sum(led.statuses.values()),
               "statuses": {str(k): v for k, v in sorted(led.statuses.items())},
               "awards_sent": len(led.awards), "redemptions_sent": len(led.redemptions)}
    out = None
    if args.outage:
        out = outage(args.outage)
        figures["outage"] = out
    missing, duplicated = settle(led, rule, perk)
    wrong = balances_agree(led, subs)
    verify = subprocess.run([os.path.join(BUILD, "perkctl"), "--config", CONFIG, "verify"],
                            capture_output=True, text=True)
    end_rss = rss_fds(pid_of("perkd.pid") or 0)
    figures.update({"acknowledged_missing": missing, "duplicated": duplicated,
                    "balances_wrong": len(wrong), "verify_rc": verify.returncode,
                    "perkd_rss_kb_fds": {"start": start_rss, "end": end_rss}})
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)

    checks = [
        ("no acknowledged write is missing", missing == 0),
        ("no effect is duplicated", duplicated == 0),
        ("every balance equals the client's own ledger", not wrong),
        ("perkctl verify passes", verify.returncode == 0),
        ("no 500 was ever answered", not any(s >= 500 and s != 503 for s in led.statuses)),
        ("every kill was recovered from", all(k.get("restart_rc") == 0 for k in kills)),
    ]
    if out is not None:
        checks.append(("database outage: only 503 with Retry-After, bounded, recovered",
                       out.get("not_503") == 0 and out.get("slowest_s", 99) < 12
                       and out.get("recovered_s", 99) < 30))
    for s, exp, got in wrong[:5]:
        print(f"balance mismatch: {s}: expected {exp}, perkd says {got}")
    if verify.returncode != 0:
        print(verify.stdout[-2000:], verify.stderr[-2000:])
    passed = sum(1 for _, ok in checks if ok)
    for name, ok in checks:
        print(f"{'ok' if ok else 'FAIL'}: {name}")
    print(f"crash: {passed} passed, {len(checks) - passed} failed")
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
