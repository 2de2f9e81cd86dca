#!/usr/bin/env python3
"""crash.py: points are never lost or created twice across crashes, and a
database outage is answered with 503 + Retry-After, never a 500 or a hang.

Phases, each against the running stack (dev.env in the environment):

1. kills: a steady, paced mix of awards (issuer) and redemptions
   (residents) through nginx while perkd is killed (SIGKILL) --perkd-kills
   times and MariaDB --db-kills times, each brought back by
   `tests/lib/stack.sh start`; the time until GET /readyz answers 200
   again is the recovery time.
2. outage (--outage S): MariaDB is frozen with SIGSTOP (no RST, no error:
   the hardest case) for S seconds while a few clients send awards,
   redemptions, GET /v1/me and GET /readyz. Every answer that arrives
   while it is frozen must be a 503 problem document with Retry-After,
   within a bounded time (perkd's LIM_DB_RW_S + LIM_DB_CONNECT_S + 3 s);
   after SIGCONT perkd must recover by itself (no restart).
3. soak (--soak S): the same mix with no kills for S seconds; perkd's RSS
   and open descriptors are sampled at a quiet moment after a warm-up and
   at the end, and must stay flat.

Every request carries its own identity (an award's external_ref, a
redemption's Idempotency-Key) and the client records what came back. At the
end every request is re-sent with its identity until it has a definite
answer: an acknowledged (2xx) write must come back replayed (same id), never
applied again or missing; an unknown one (no answer, 503) is applied at most
once. The check is then exact, per member: the balance equals the client's
own sum, and the ledger holds exactly one award entry per applied award and
one redemption entry per applied redemption. Then `perkctl verify` must pass.

    crash.py [--seconds S] [--perkd-kills N] [--db-kills N] [--outage S]
             [--soak S] [--rate R] [--members N] [--threads N] [--json FILE]

Prints the figures (JSON), one line per check and, last,
`crash: N passed, N failed`.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import lib  # noqa: E402  (the shared e2e helpers: requests, tokens, perkctl)

VAR = lib.VAR or os.path.join(REPO, "var")


def limit(name):
    """A constant of sql/perkd_limits.h, so that the bounds below follow it."""
    with open(os.path.join(REPO, "sql", "perkd_limits.h")) as f:
        m = re.search(r"#define\s+%s\s+(\d+)" % name, f.read())
    return int(m.group(1))


def call(method, path, body=None, auth=None, headers=None, timeout=15.0):
    """One request; None when no answer came (reset, refused, timeout)."""
    try:
        return lib.request(method, path, body=body, key=auth, headers=headers,
                           timeout=timeout)
    except (OSError, http.client.HTTPException):
        return None


def status(r):
    return r.status if r is not None else 0


def good_503(r):
    """The contract's 503: a problem document with Retry-After."""
    return (r is not None and r.status == 503 and "retry-after" in r.headers
            and r.content_type == "application/problem+json"
            and isinstance(r.json, dict) and r.json.get("status") == 503)


def stack_start():
    port = str(lib.PORT)
    return subprocess.run([os.path.join(REPO, "tests/lib/stack.sh"), "start", VAR, port],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def perkd_pid():
    return read_pid(os.path.join(VAR, "run", "perkd.pid"))


def mariadb_pid():
    return read_pid(os.path.join(VAR, "mariadb", "mysqld.pid"))


def rss_fds(pid):
    """(VmRSS in kB, open descriptors) of pid, or (None, None)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        return rss, len(os.listdir("/proc/%d/fd" % pid))
    except (OSError, StopIteration, TypeError):
        return None, None


def wait_ready(limit_s=60):
    """Seconds until GET /readyz answers 200, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        if status(call("GET", "/readyz", timeout=5)) == 200:
            return time.monotonic() - t0
        time.sleep(0.1)
    return None


class Ledger:
    """What the client sent and what came back: the ground truth."""

    def __init__(self):
        self.lock = threading.Lock()
        self.awards = {}       # external_ref -> {sub, status, id, points}
        self.redemptions = {}  # Idempotency-Key -> {sub, status, id}
        self.statuses = {}
        self.bad_503 = 0       # 503 without Retry-After or problem+json
        self.seq = 0

    def next_id(self, prefix):
        with self.lock:
            self.seq += 1
            return "%s-%d-%d" % (prefix, self.seq, random.randrange(1 << 40))

    def note(self, r):
        st = status(r)
        with self.lock:
            self.statuses[st] = self.statuses.get(st, 0) + 1
            if st == 503 and not good_503(r):
                self.bad_503 += 1


class Load:
    """The client side: residents, one awardable rule, one voucher perk."""

    def __init__(self, led, members):
        self.led = led
        st = call("GET", "/v1/districts")
        district = st.json["items"][0]["code"]
        # a rule of our own, without a daily cap, awarded by the demo issuer
        self.rule = lib.unique("crash").replace("-", "_")
        r = call("POST", "/v1/admin/rules", {"code": self.rule, "title": "crash test",
                                             "description": "", "points": 10,
                                             "issuers": [lib.ISSUER_ORG]},
                 auth=lib.MANAGER_KEY)
        assert status(r) == 201, r
        r = call("POST", "/v1/admin/perks", {"title": "crash test voucher", "description": "",
                                             "partner": lib.PARTNER_ORG, "kind": "voucher",
                                             "cost_points": 25}, auth=lib.MANAGER_KEY)
        assert status(r) == 201, r
        self.perk = r.json
        self.subs = []
        self.tokens = {}
        for i in range(members):
            sub = lib.unique("crash-%d" % i)
            self.tokens[sub] = lib.mint_token(sub, ttl=6 * 3600)
            r = call("POST", "/v1/me/enroll", {"consent": True, "consent_version": "crash",
                                               "district": district}, auth=self.tokens[sub])
            assert status(r) == 201, r
            self.subs.append(sub)

    def award(self, sub, ref, timeout=15.0):
        return call("POST", "/v1/awards", {"subject": sub, "rule": self.rule,
                                           "external_ref": ref},
                    auth=lib.ISSUER_KEY, timeout=timeout)

    def redeem(self, sub, key, timeout=15.0):
        return call("POST", "/v1/me/redemptions", {"perk_id": self.perk["id"]},
                    auth=self.tokens[sub], headers={"Idempotency-Key": key}, timeout=timeout)

    def one(self, rnd, timeout=15.0):
        """One random write, recorded; returns the Response (or None)."""
        led = self.led
        sub = rnd.choice(self.subs)
        if rnd.random() < 0.75:
            ref = led.next_id("ref")
            with led.lock:
                led.awards[ref] = {"sub": sub, "status": None, "id": None}
            r = self.award(sub, ref, timeout)
            with led.lock:
                a = led.awards[ref]
                a["status"] = status(r)
                if a["status"] in (200, 201) and r.json:
                    a["id"], a["points"] = r.json["id"], r.json["points"]
        else:
            key = led.next_id("idem")
            with led.lock:
                led.redemptions[key] = {"sub": sub, "status": None, "id": None}
            r = self.redeem(sub, key, timeout)
            with led.lock:
                x = led.redemptions[key]
                x["status"] = status(r)
                if x["status"] == 201 and r.json:
                    x["id"] = r.json["id"]
        led.note(r)
        return r

    def run(self, stop, rate):
        """A worker: writes at `rate` per second until stop is set; backs
        off briefly on 503 or no answer, as a client honouring 503 would."""
        rnd = random.Random()
        gap = 1.0 / rate
        while not stop.is_set():
            t0 = time.monotonic()
            st = status(self.one(rnd))
            pause = gap - (time.monotonic() - t0)
            if st in (0, 503):
                pause = max(pause, 0.05)
            if pause > 0:
                stop.wait(pause)


def run_load(load, threads, rate):
    stop = threading.Event()
    workers = [threading.Thread(target=load.run, args=(stop, rate / threads))
               for _ in range(threads)]
    for w in workers:
        w.start()

    def finish():
        stop.set()
        for w in workers:
            w.join()
    return finish


def kills_phase(load, args):
    finish = run_load(load, args.threads, args.rate)
    plan = ["perkd"] * args.perkd_kills + ["mariadb"] * args.db_kills
    random.shuffle(plan)
    gap = args.seconds / (len(plan) + 1)
    kills = []
    for what in plan:
        time.sleep(gap)
        pid = perkd_pid() if what == "perkd" else mariadb_pid()
        if pid is None:
            kills.append({"what": what, "error": "no pid"})
            continue
        t0 = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.3)
        down = None
        if what == "perkd":
            # nothing listens on the socket now: nginx's own answer
            down = call("GET", "/v1/rules")
        r = stack_start()
        ready = wait_ready()
        kills.append({"what": what, "restart_rc": r.returncode,
                      "answer_while_down": status(down) if down is not None else None,
                      "answer_while_down_ok": good_503(down) if what == "perkd" else None,
                      "recover_s": round(time.monotonic() - t0, 2) if ready is not None else None})
        if r.returncode != 0:
            print(r.stderr[-2000:], file=sys.stderr)
    time.sleep(gap)
    finish()
    return kills


def all_stopped(pid):
    """Every thread of pid is in the stopped state (T)."""
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in ("T", "t"):
                    return False
    except OSError:
        return False
    return True


def outage_phase(load, seconds, clients):
    """Freezes MariaDB for `seconds` under a mix of requests."""
    mdb = mariadb_pid()
    if mdb is None:
        return {"error": "no MariaDB pid"}
    bound = limit("LIM_DB_RW_S") + limit("LIM_DB_CONNECT_S") + 3
    seen = []   # (started, ended, op, Response)
    lock = threading.Lock()
    stop = threading.Event()

    def client():
        rnd = random.Random()
        while not stop.is_set():
            op = rnd.choice(("write", "write", "me", "readyz"))
            t0 = time.monotonic()
            if op == "write":
                r = load.one(rnd, timeout=60)
            elif op == "me":
                r = call("GET", "/v1/me", auth=load.tokens[rnd.choice(load.subs)], timeout=60)
            else:
                r = call("GET", "/readyz", timeout=60)
            with lock:
                seen.append((t0, time.monotonic(), op, r))
            stop.wait(0.2)

    os.kill(mdb, signal.SIGSTOP)
    # A stop signal takes effect when a thread of the process next runs;
    # on a busy machine other threads may serve a query meanwhile. The
    # outage starts when every thread is stopped.
    while not all_stopped(mdb):
        time.sleep(0.01)
    frozen = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    os.kill(mdb, signal.SIGCONT)
    thawed = time.monotonic()
    for t in threads:
        t.join()
    recovered = wait_ready()
    # recovery by itself: the first write that succeeds after the thaw
    rnd = random.Random()
    first_write = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        if status(load.one(rnd)) in (200, 201):
            first_write = time.monotonic() - thawed
            break
        time.sleep(0.1)
    during = [s for s in seen if s[1] < thawed]
    for s in during:
        if not good_503(s[3]):
            print("outage: while frozen, %s answered %r after %.2f s (at +%.2f s)"
                  % (s[2], s[3], s[1] - s[0], s[1] - frozen), file=sys.stderr)
    answers = {}
    for _, _, op, r in seen:
        key = "%s %s" % (op, status(r))
        answers[key] = answers.get(key, 0) + 1
    return {
        "seconds": seconds, "clients": clients, "requests": len(seen),
        "answers": answers,
        "answered_while_frozen": len(during),
        "while_frozen_not_503_retry_after": sum(1 for s in during if not good_503(s[3])),
        "after_thaw_5xx_not_503": sum(1 for s in seen if s[1] >= thawed
                                      and status(s[3]) >= 500 and status(s[3]) != 503),
        "no_answer": sum(1 for s in seen if s[3] is None),
        "slowest_s": round(max((s[1] - s[0] for s in seen), default=0), 2),
        "bound_s": bound,
        "first_answer_after_freeze_s": round(min((s[1] for s in seen), default=frozen) - frozen, 2),
        "readyz_200_after_thaw_s": round(recovered, 2) if recovered is not None else None,
        "first_write_after_thaw_s": round(first_write, 2) if first_write is not None else None,
    }


def quiet_sample():
    """perkd's (RSS kB, fds) with no request in flight."""
    time.sleep(1.0)
    return rss_fds(perkd_pid())


def soak_phase(load, args):
    pid = perkd_pid()
    finish = run_load(load, args.threads, args.rate)
    warm = min(60.0, args.soak / 4)
    time.sleep(warm)
    finish()
    start = quiet_sample()
    finish = run_load(load, args.threads, args.rate)
    samples = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < args.soak - warm:
        time.sleep(min(10.0, max(0.5, args.soak - warm - (time.monotonic() - t0))))
        samples.append(rss_fds(pid))
    finish()
    end = quiet_sample()
    rss = [s[0] for s in samples if s[0]]
    return {"seconds": args.soak, "warm_up_s": round(warm, 1), "same_process": perkd_pid() == pid,
            "start_rss_kb": start[0], "start_fds": start[1],
            "end_rss_kb": end[0], "end_fds": end[1],
            "max_rss_kb": max(rss) if rss else None, "samples": len(samples)}


def settle(load, led, threads):
    """Re-sends every request with its identity until the answer is
    definite; returns (missing, replayed_as_new, unsettled)."""
    missing = []
    unsettled = []

    def settle_award(ref):
        a = led.awards[ref]
        for _ in range(80):
            r = load.award(a["sub"], ref)
            if status(r) in (200, 201, 404, 409, 422):
                break
            time.sleep(0.25)
        st = status(r)
        if st not in (200, 201):
            a["final"] = 0
            if a["status"] in (200, 201):
                missing.append(("award", ref, st))
            if st == 0 or st >= 500:
                unsettled.append(("award", ref, st))
            return
        a["final"] = r.json["points"]
        a["final_id"] = r.json["id"]
        # acknowledged: must come back as the same award, not a new one
        if a["status"] in (200, 201) and (st != 200 or r.json["id"] != a["id"]):
            missing.append(("award", ref, st))

    def settle_redemption(key):
        x = led.redemptions[key]
        for _ in range(80):
            r = load.redeem(x["sub"], key)
            # 429 (nginx's rate limit) is no answer about the write either
            if status(r) not in (0, 429, 502, 503, 504):
                break
            time.sleep(0.25)
        st = status(r)
        x["final"] = 1 if st == 201 else 0
        if x["status"] == 201 and (st != 201 or r.json["id"] != x["id"]
                                   or r.headers.get("idempotent-replayed") != "true"):
            # what came back instead, for the report
            missing.append(("redemption", key, st, (r.json or {}).get("code") if r else None,
                            r.headers.get("idempotent-replayed") if r else None))
        if st == 0 or st >= 500:
            unsettled.append(("redemption", key, st))

    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        list(ex.map(settle_award, list(led.awards)))
        list(ex.map(settle_redemption, list(led.redemptions)))
    return missing, unsettled


def check_members(load, led):
    """Per member: balance == the client's sum, and exactly one ledger entry
    per applied award and per applied redemption (no duplicate effect)."""
    cost = load.perk["cost_points"]
    want = {s: [0, 0, 0] for s in load.subs}   # balance, awards, redemptions
    for a in led.awards.values():
        if a.get("final"):
            want[a["sub"]][0] += a["final"]
            want[a["sub"]][1] += 1
    for x in led.redemptions.values():
        if x.get("final"):
            want[x["sub"]][0] -= cost
            want[x["sub"]][2] += 1
    wrong_balance, duplicated, extra_entries = [], [], []
    for s in load.subs:
        tok = load.tokens[s]
        me = call("GET", "/v1/me", auth=tok)
        entries = lib.list_all("/v1/me/ledger", token=tok)
        kinds = {}
        for e in entries:
            kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
        got = [me.json["balance"] if status(me) == 200 else None,
               kinds.get("award", 0), kinds.get("redemption", 0)]
        if got[0] != want[s][0]:
            wrong_balance.append((s, want[s][0], got[0]))
        if got[1] > want[s][1] or got[2] > want[s][2]:
            duplicated.append((s, want[s], got))
        elif got[1:] != want[s][1:] or set(kinds) - {"award", "redemption"}:
            extra_entries.append((s, want[s], got, kinds))
    return wrong_balance, duplicated, extra_entries


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20, help="length of the kill phase")
    ap.add_argument("--perkd-kills", type=int, default=3)
    ap.add_argument("--db-kills", type=int, default=1)
    ap.add_argument("--outage", type=float, default=0, help="freeze MariaDB for S seconds")
    ap.add_argument("--outage-clients", type=int, default=6)
    ap.add_argument("--soak", type=float, default=0, help="soak for S seconds")
    ap.add_argument("--rate", type=float, default=120, help="writes per second, all threads")
    ap.add_argument("--members", type=int, default=8)
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    started = time.monotonic()
    led = Ledger()
    load = Load(led, args.members)
    figures = {"args": vars(args)}
    figures["kills"] = kills_phase(load, args)
    if args.outage:
        figures["outage"] = outage_phase(load, args.outage, args.outage_clients)
    if args.soak:
        figures["soak"] = soak_phase(load, args)
    figures["requests"] = sum(led.statuses.values())
    figures["statuses"] = {str(k): v for k, v in sorted(led.statuses.items())}
    figures["awards_sent"] = len(led.awards)
    figures["redemptions_sent"] = len(led.redemptions)
    t0 = time.monotonic()
    missing, unsettled = settle(load, led, args.threads)
    wrong, duplicated, extra = check_members(load, led)
    verify = lib.perkctl("verify")
    answers = {}
    for m in missing:
        k = " ".join(str(v) for v in m[:1] + m[2:])
        answers[k] = answers.get(k, 0) + 1
    figures.update({
        "missing_answers": answers,
        "settle_s": round(time.monotonic() - t0, 1),
        "awards_applied": sum(1 for a in led.awards.values() if a.get("final")),
        "redemptions_applied": sum(1 for x in led.redemptions.values() if x.get("final")),
        "acknowledged_missing": len(missing), "duplicated": len(duplicated),
        "unsettled": len(unsettled), "balances_wrong": len(wrong),
        "ledger_counts_off": len(extra), "verify_rc": verify.returncode,
        "bad_503": led.bad_503, "total_s": round(time.monotonic() - started, 1),
    })
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)

    kills = figures["kills"]
    checks = [
        ("every kill was recovered from (stack.sh start, /readyz 200)",
         len(kills) == args.perkd_kills + args.db_kills
         and all(k.get("restart_rc") == 0 and k.get("recover_s") is not None for k in kills)),
        ("perkd down: nginx answers the contract's 503 (problem+json, Retry-After)",
         all(k.get("answer_while_down_ok") for k in kills if k["what"] == "perkd")),
        ("no acknowledged write is missing", not missing),
        ("every request settled to a definite answer", not unsettled),
        ("no effect is duplicated (ledger entries per member)", not duplicated and not extra),
        ("every balance equals the client's own ledger", not wrong),
        ("perkctl verify passes", verify.returncode == 0),
        ("no 5xx but 503 was ever answered (nginx maps 502/504)",
         not any(s >= 500 and s != 503 for s in led.statuses)),
        ("every 503 is a problem document with Retry-After", led.bad_503 == 0),
    ]
    out = figures.get("outage")
    if out is not None:
        checks += [
            ("outage: every answer while frozen is 503 + Retry-After",
             out.get("answered_while_frozen", 0) > 0
             and out.get("while_frozen_not_503_retry_after") == 0),
            ("outage: no other 5xx and no request left unanswered",
             out.get("after_thaw_5xx_not_503") == 0 and out.get("no_answer") == 0),
            ("outage: every answer within %s s" % out.get("bound_s"),
             out.get("slowest_s", 1e9) <= out.get("bound_s", 0)),
            # 0.0 s (rounded) is a recovery too: compare with None, not
            # by truth value
            ("outage: perkd recovered by itself (readyz 200 and a write within 30 s)",
             out.get("readyz_200_after_thaw_s") is not None
             and out.get("first_write_after_thaw_s") is not None
             and out["first_write_after_thaw_s"] < 30),
        ]
    soak = figures.get("soak")
    if soak is not None:
        s0, s1 = soak.get("start_rss_kb"), soak.get("end_rss_kb")
        checks += [
            ("soak: one perkd process throughout", soak.get("same_process")),
            ("soak: RSS flat (end <= start + max(10%, 2 MiB))",
             s0 is not None and s1 is not None and s1 <= s0 + max(s0 // 10, 2048)),
            ("soak: descriptors flat (end <= start)",
             soak.get("start_fds") is not None and soak.get("end_fds") is not None
             and soak["end_fds"] <= soak["start_fds"]),
        ]
    for what in (missing[:5], unsettled[:5], wrong[:5], duplicated[:5], extra[:5]):
        for item in what:
            print("detail:", item)
    if verify.returncode != 0:
        print(verify.stdout[-2000:], verify.stderr[-2000:])
    passed = sum(1 for _, ok in checks if ok)
    for name, ok in checks:
        print("%s: %s" % ("ok" if ok else "FAIL", name))
    print("crash: %d passed, %d failed" % (passed, len(checks) - passed), flush=True)
    return 0 if passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
