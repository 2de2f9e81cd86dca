#!/usr/bin/env python3
"""drive.py: runs perkd's benchmarks on a stack started by tests/bench/run.sh.

Reads the stack's bench.env, prepares the data through the API (members
enrolled with tokens minted by `perkctl token`, a benchmark rule, a voucher
perk and a status perk, vouchers and passes), then runs every benchmark
that the running perkd has routes for: wrk (tests/bench/*.lua) against
nginx on 127.0.0.1, and raw-sql without HTTP. pass-check-first mints the
passes it checks just before its runs, each checked once (once.lua), and
perkd's /metrics shows that none came from the verified-pass cache. Each benchmark runs at each
of its connection counts: one warm-up run (discarded), then REPS runs;
the figures are the medians over the runs. During every run it samples
utime+stime of wrk (wait4 rusage), nginx (master and workers), the FastCGI
program under test, perkd and MariaDB from /proc/<pid>/stat, and perkd's
RSS after it, because on a small machine they all share the same cores.

Prints one line per benchmark and connection count, and writes the same
as JSON (--out). Python standard library only.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")

MODES = {
    # warm-up s, run s, runs, members, vouchers, passes
    "quick": dict(warm=1, dur=1, reps=3, members=400, vouchers=200, passes=100,
                  batch_warm=2, batch_dur=4, batch_conns=[1], roundtrips=40,
                  paired=False, stats_sizes="1000",
                  first=dict(reps=3, dur=1, passes=3000)),
    "full": dict(warm=2, dur=4, reps=5, members=2000, vouchers=500, passes=300,
                 batch_warm=3, batch_dur=8, batch_conns=[1, 4], roundtrips=200,
                 paired=True, stats_sizes="10000",
                 first=dict(reps=3, dur=2, passes=8000)),
}
# pass-check-first: every check is a pass's first, so each run needs new
# passes, minted by wrk (once.lua) before it: "passes" is the pool a run
# may use (it ends when they are used up, or after "dur" seconds). Fewer
# and shorter runs than the others, because minting costs about as much
# as checking; pass-check (repeats) runs on the same schedule, so that
# the two compare (docs/benchmarks.md, "What is measured").
MINT_CONNS = 32
CONNS = [8, 64]
BATCH_ITEMS = 1000


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- stack --

def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            env[k] = v.strip("'\"")
    return env


def proc_cpu(pid):
    """utime+stime of pid in seconds, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


def proc_children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def proc_status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


class Stack:
    def __init__(self, env):
        self.env = env
        u = urllib.parse.urlparse(env["PERKD_URL"])
        self.host, self.port = u.hostname, u.port
        self.pids = {k[len("BENCH_PID_"):]: int(v) for k, v in env.items()
                     if k.startswith("BENCH_PID_")}
        self.build = env["BENCH_BUILD"]
        self.conf = env["PERKD_CONFIG"]
        out = subprocess.run([os.path.join(self.build, "perkd"), "--routes"],
                             capture_output=True, text=True, check=True).stdout
        self.routes = {tuple(l.split()[:2]) for l in out.splitlines() if l}
        self.local = threading.local()

    def has(self, method, path):
        return (method, path) in self.routes

    def cpu(self):
        """CPU seconds used so far by each part of the stack."""
        nginx = [self.pids["nginx"]] + proc_children(self.pids["nginx"])
        out = {"nginx": sum(proc_cpu(p) or 0 for p in nginx)}
        for name in ("perkd", "bare", "bare_read", "bare_write", "mariadb"):
            out[name] = proc_cpu(self.pids[name]) or 0
        return out

    def perkd_mem(self):
        p = self.pids["perkd"]
        return {"rss_kb": proc_status(p, "VmRSS"),
                "threads": proc_status(p, "Threads")}

    def sql(self, query):
        """Runs a query as root on the private server; rows as lists."""
        out = subprocess.run(
            ["mariadb", "--no-defaults", "--socket=" + self.env["PERKD_DB_SOCKET"],
             "--user=root", "-N", "-B", "perkd", "-e", query],
            capture_output=True, text=True, check=True).stdout
        return [l.split("\t") for l in out.splitlines()]

    def http(self, method, path, auth=None, body=None):
        """One request on this thread's keep-alive connection."""
        c = getattr(self.local, "conn", None)
        if c is None:
            c = self.local.conn = http.client.HTTPConnection(
                self.host, self.port, timeout=60)
        headers = {}
        if auth:
            headers["Authorization"] = "Bearer " + auth
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            raw = r.read()
        except (http.client.HTTPException, OSError):
            self.local.conn = None
            raise
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = raw.decode(errors="replace")
        return r.status, doc

    def token(self, subject):
        return subprocess.run(
            [os.path.join(self.build, "perkctl"), "--config", self.conf,
             "token", subject, "--ttl", "7200"],
            capture_output=True, text=True, check=True).stdout.strip()


def parallel(fn, items, workers=4):
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, items))


# ---------------------------------------------------------------- data ---

class Data:
    """What the benchmarks need, prepared through the API where it exists."""

    def __init__(self, st, mode, workdir):
        self.st, self.m, self.dir = st, MODES[mode], workdir
        self.notes = []
        self.lo = self.hi = None        # member id range for the baselines
        self.rule = None
        self.members = 0
        self.files = {}
        # pass-check-first's pool (pass_first.txt): lines before first_next
        # are used; chunks: (end line, time minted)
        self.first_next = self.first_total = 0
        self.first_chunks = []

    def write_lines(self, name, lines):
        path = os.path.join(self.dir, name + ".txt")
        with open(path, "w") as f:
            for l in lines:
                f.write("\t".join(l) + "\n")
        self.files[name] = path

    def expect(self, what, got, want):
        if got[0] not in want:
            raise RuntimeError("%s answered %s: %s" % (what, got[0], got[1]))
        return got[1]

    def prepare(self):
        st, m = self.st, self.m
        n = m["members"]
        log("preparing %d members" % n)
        t0 = time.time()
        if st.has("POST", "/v1/me/enroll"):
            self.enroll(n)
        else:
            # no enrolment yet: member rows for the SQL baselines only
            st.sql("INSERT INTO members (subject_hash, district, enrolled_at, "
                   "balance) SELECT UNHEX(SHA2(seq, 256)), NULL, "
                   "UTC_TIMESTAMP(6), 0 FROM seq_1_to_%d" % n)
            self.notes.append("POST /v1/me/enroll absent: %d member rows "
                              "inserted by SQL for the baselines" % n)
        lo, hi = st.sql("SELECT MIN(id), MAX(id) FROM members")[0]
        self.lo, self.hi = int(lo), int(hi)
        if st.has("POST", "/v1/admin/rules"):
            self.rules()
        if self.rule and st.has("POST", "/v1/awards"):
            self.fund()
        if self.members and st.has("POST", "/v1/admin/perks"):
            self.perks()
        log("prepared in %.1f s" % (time.time() - t0))

    def enroll(self, n):
        st = self.st
        district = st.sql("SELECT code FROM districts ORDER BY code LIMIT 1")
        if district:
            district = district[0][0]
        else:
            district = "bench"
            self.expect("PUT district", st.http(
                "PUT", "/v1/admin/districts/bench", st.env["PERKD_MANAGER_KEY"],
                {"name": "Bench", "population": 1000000}), (200, 201))
        subjects = ["b%d" % i for i in range(1, n + 1)]
        self.tokens = parallel(st.token, subjects)

        def one(tok):
            return self.expect("enroll", st.http(
                "POST", "/v1/me/enroll", tok,
                {"consent": True, "consent_version": "bench", "district": district}),
                (201, 409))
        parallel(one, self.tokens)
        self.members = n
        self.write_lines("me", [("GET", "/v1/me", t, "") for t in self.tokens])

    def rules(self):
        st = self.st
        mk = st.env["PERKD_MANAGER_KEY"]
        # "bn": a short code, so that 1,000 awards fit in a 64 KiB batch
        for code, pts in (("bn", 10), ("benchfund", 100000)):
            self.expect("rule " + code, st.http(
                "POST", "/v1/admin/rules", mk,
                {"code": code, "title": "Benchmark " + code,
                 "description": "tests/bench", "points": pts,
                 "issuers": [st.env["PERKD_ISSUER_ORG"]]}), (200, 201))
        self.rule = "bn"

    def fund(self):
        """Enough points on every member for the redemptions to come."""
        st = self.st
        ik = st.env["PERKD_ISSUER_KEY"]

        def one(i):
            return self.expect("fund award", st.http(
                "POST", "/v1/awards", ik,
                {"subject": "b%d" % i, "rule": "benchfund",
                 "external_ref": "fund-%d" % i}), (200, 201))
        parallel(one, range(1, self.members + 1))

    def perks(self):
        st = self.st
        mk, pk = st.env["PERKD_MANAGER_KEY"], st.env["PERKD_PARTNER_KEY"]
        v = self.expect("voucher perk", st.http(
            "POST", "/v1/admin/perks", mk,
            {"title": "Bench voucher", "description": "tests/bench",
             "partner": st.env["PERKD_PARTNER_ORG"], "kind": "voucher",
             "cost_points": 1}), (200, 201))
        self.voucher_perk = v["id"]
        self.write_lines("redeem", [
            ("POST", "/v1/me/redemptions", t, json.dumps({"perk_id": v["id"]}))
            for t in self.tokens])
        if st.has("POST", "/v1/me/redemptions"):
            toks = self.tokens[:self.m["vouchers"]]

            def redeem(tok):
                return self.expect("redemption", st.http(
                    "POST", "/v1/me/redemptions", tok, {"perk_id": v["id"]}),
                    (201,))["voucher_code"]
            codes = parallel(redeem, toks)
            self.write_lines("voucher_check", [
                ("POST", "/v1/vouchers/check", pk, json.dumps({"code": c}))
                for c in codes])
        s = self.expect("status perk", st.http(
            "POST", "/v1/admin/perks", mk,
            {"title": "Bench status", "description": "tests/bench",
             "partner": st.env["PERKD_PARTNER_ORG"], "kind": "status",
             "cost_points": 0}), (200, 201))
        self.status_perk = s["id"]
        self.mint_passes()

    def mint_passes(self):
        """Passes live 10 minutes (LIM_PASS_TTL_S): minted here, and again
        by pass-check's runs when the ones at hand are older than 5."""
        st = self.st
        if not st.has("POST", "/v1/me/passes"):
            return
        pk = st.env["PERKD_PARTNER_KEY"]
        toks = self.tokens[:self.m["passes"]]

        def mint(tok):
            return self.expect("pass", st.http(
                "POST", "/v1/me/passes", tok, {"perk_id": self.status_perk}),
                (200, 201))["pass_code"]
        passes = parallel(mint, toks)
        self.write_lines("pass_check", [
            ("POST", "/v1/passes/check", pk,
             json.dumps({"pass_code": p, "perk_id": self.status_perk}))
            for p in passes])
        self.passes_at = time.time()

    def fresh_passes(self):
        if time.time() - self.passes_at > 300:
            self.mint_passes()

    def first_pool(self, want):
        """At least `want` passes never checked and under 5 minutes old at
        the end of pass_first.txt: minted now through POST /v1/me/passes
        (wrk, once.lua, MINT_CONNS connections) if there are fewer.
        Returns the seconds spent minting."""
        now = time.time()
        for end, at in self.first_chunks:
            if now - at > 300:
                self.first_next = max(self.first_next, end)  # too old
        t0 = time.time()
        while self.first_total - self.first_next < want:
            # a run ends when one wrk thread has its share answered: the
            # rest of the other's is not minted, so mint a little more
            self.mint_first(want - (self.first_total - self.first_next) +
                            MINT_CONNS)
        return time.time() - t0

    def mint_first(self, n):
        """n requests to mint passes for pass-check-first, their codes
        appended to pass_first.txt as checks by the partner."""
        st = self.st
        path = os.path.join(self.dir, "pass_mint.txt")
        body = json.dumps({"perk_id": self.status_perk})
        with open(path, "w") as f:
            for i in range(n):
                tok = self.tokens[(self.first_total + i) % len(self.tokens)]
                f.write("POST\t/v1/me/passes\t%s\t%s\n" % (tok, body))
        out = os.path.join(self.dir, "pass_minted")
        nt = wrk_threads(MINT_CONNS)
        t0 = time.time()
        wrk(st, "once.lua", "/v1/me/passes", MINT_CONNS, max(30, n / 200),
            [path, 0, n, nt, '"pass_code":"([^"]+)"', out])
        codes = []
        for t in range(nt):
            if os.path.exists("%s.%d" % (out, t)):
                with open("%s.%d" % (out, t)) as f:
                    codes += f.read().split()
                os.remove("%s.%d" % (out, t))
        if len(codes) < n // 2:
            raise RuntimeError("minting passes: %d of %d answered" %
                               (len(codes), n))
        pk = st.env["PERKD_PARTNER_KEY"]
        with open(os.path.join(self.dir, "pass_first.txt"), "a") as f:
            for c in codes:
                f.write("POST\t/v1/passes/check\t%s\t%s\n" % (pk, json.dumps(
                    {"pass_code": c, "perk_id": self.status_perk})))
        self.first_total += len(codes)
        self.first_chunks.append((self.first_total, t0))


# ---------------------------------------------------------------- runs ---

def wrk_threads(conns):
    return min(2, conns)


def wrk(st, script, path, conns, secs, args, timeout=10):
    """One wrk run; its BENCH line, wall time, wrk's own CPU and the CPU
    used meanwhile by the rest of the stack."""
    cmd = ["wrk", "-t", str(wrk_threads(conns)), "-c", str(conns), "-d",
           "%ds" % max(1, round(secs)), "--timeout", "%ds" % timeout, "-s",
           os.path.join(HERE, script), st.env["PERKD_URL"] + path]
    if args:
        cmd += ["--"] + [str(a) for a in args]
    env = dict(os.environ, BENCH_LUA=HERE)
    c0, t0 = st.cpu(), time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall, c1 = time.time() - t0, st.cpu()
    line = [l for l in out.splitlines() if l.startswith("BENCH ")]
    if p.returncode != 0 or not line:
        raise RuntimeError("wrk failed (%d): %s %s" % (p.returncode, out, err))
    r = json.loads(line[0][6:])
    cpu = {k: c1[k] - c0[k] for k in c0}
    cpu["wrk"] = ru.ru_utime + ru.ru_stime
    r["wall"] = wall
    r["cpu"] = cpu
    return r


def raw(st, mode, conns, secs, lo, hi):
    cmd = [os.path.join(st.build, "tests/bench/raw-sql"), mode, str(conns),
           str(secs), "%d-%d" % (lo, hi), st.conf]
    c0, t0 = st.cpu(), time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out, err = p.stdout.read(), p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall, c1 = time.time() - t0, st.cpu()
    if p.returncode != 0:
        raise RuntimeError("raw-sql failed: %s %s" % (out, err[-500:]))
    d = json.loads(out)
    cpu = {k: c1[k] - c0[k] for k in c0}
    cpu["raw-sql"] = ru.ru_utime + ru.ru_stime
    return {"requests": d["ops"], "duration_us": int(d["seconds"] * 1e6),
            "errors_status": d["errors"], "p50_us": int(d["p50_ms"] * 1000),
            "p99_us": int(d["p99_ms"] * 1000), "wall": wall, "cpu": cpu}


class Bench:
    """One benchmark: how to run it, what it is compared with, its target."""

    def __init__(self, name, run, conns=CONNS, baseline=None, target=None,
                 items=1, needs=(), app="perkd", p99_ms=None, note="",
                 baseline_conns=None, count_sql=None, also=None,
                 paired=True, prepare=None, warm=None, sched=None,
                 cache=False, first=False):
        self.name, self.run, self.conns = name, run, conns
        # called before the warm-up and each pair; returns its seconds
        self.prepare = prepare
        self.warm = warm            # the warm-up's run, if not run
        self.sched = sched or {}    # this benchmark's reps, dur, warm
        # cache: count perkd's verified-pass cache around each run; first:
        # every check must be a pass's first (a hit is an error)
        self.cache, self.first = cache or first, first
        self.also = also            # a second baseline, for information
        # batches still running when wrk stops would hold row locks into
        # a paired baseline run: such benchmarks compare with the
        # baseline's own figures instead
        self.paired = paired
        self.count_sql = count_sql
        self.baseline_conns = baseline_conns
        self.baseline, self.target, self.items = baseline, target, items
        self.needs, self.app, self.p99_ms, self.note = needs, app, p99_ms, note


def b36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def plan(st, d, m):
    lo, hi = d.lo, d.hi
    ik = st.env["PERKD_ISSUER_KEY"]
    runid = b36(int(time.time()) % 46656)   # 3 characters
    seq = iter(range(10 ** 6))

    def get(path):
        return lambda c, s: wrk(st, "get.lua", path, c, s, [])

    def ids(method, path):
        return lambda c, s: wrk(st, "ids.lua", path, c, s,
                                [method, path, lo, hi])

    def lines(name, path, before=None):
        def run(c, s):
            if before:
                before()
            return wrk(st, "lines.lua", path, c, s, [d.files[name]])
        return run

    def first_checks(c, s):
        # the pool's unused lines, each sent once
        r = wrk(st, "once.lua", "/v1/passes/check", c, s,
                [os.path.join(d.dir, "pass_first.txt"), d.first_next,
                 d.first_total - d.first_next, wrk_threads(c),
                 '"entitled":true'])
        # thread t used lines first+1+t, first+1+t+T, ...: skip past the
        # share of the thread that used most (the others' rest is lost)
        d.first_next += wrk_threads(c) * r["sent_max"]
        return r
    first = m["first"]

    def awards(items):
        # a fresh run id per wrk run: every external_ref is new
        return lambda c, s: wrk(st, "awards.lua", "/v1/awards", c, s,
                                [ik, d.rule, "%s%s" % (runid, b36(next(seq))),
                                 d.members, items], timeout=60)

    def rawsql(mode):
        return lambda c, s: raw(st, mode, c, s, lo, hi)

    return [
        Bench("static", get("/bench/static"), app="nginx",
              note="nginx `return 200`: no FastCGI"),
        Bench("bare", get("/bench/bare"), baseline="static", app="bare",
              note="FastCGI program answering a fixed JSON"),
        Bench("healthz", get("/healthz"), baseline="bare",
              note="perkd without the database"),
        Bench("raw-sql-read", rawsql("read"), app="raw-sql",
              note="the SELECT through Connector/C, no HTTP (threads = conns)"),
        Bench("bare-sql-read", ids("GET", "/bench/bare-sql-read"),
              baseline="bare", app="bare_read",
              note="FastCGI + one prepared primary-key SELECT"),
        Bench("issuers", get("/v1/issuers"), baseline="bare-sql-read",
              note="public list, one SELECT"),
        Bench("raw-sql-write", rawsql("write"), app="raw-sql",
              note="the award-shaped transaction through Connector/C"),
        Bench("bare-sql-write", ids("POST", "/bench/bare-sql-write"),
              baseline="raw-sql-write", app="bare_write",
              note="FastCGI + START, UPDATE, INSERT, COMMIT"),
        Bench("me", lines("me", "/v1/me"), baseline="bare-sql-read",
              target=0.8, p99_ms=20, needs=("me", "GET /v1/me")),
        Bench("voucher-check", lines("voucher_check", "/v1/vouchers/check"),
              baseline="bare-sql-read", target=0.8, p99_ms=20,
              needs=("voucher_check", "POST /v1/vouchers/check"),
              also="bare-sql-write", note="writes an access-log row"),
        Bench("pass-check", lines("pass_check", "/v1/passes/check",
                                  d.fresh_passes),
              baseline="bare-sql-read", target=0.8, p99_ms=20,
              needs=("pass_check", "POST /v1/passes/check"), cache=True,
              sched={k: first[k] for k in ("reps", "dur")},
              also="bare-sql-write",
              note="writes an access-log row; cycles %d passes: repeats, "
              "mostly from the verified-pass cache" % m["passes"]),
        Bench("pass-check-first", first_checks, baseline="bare-sql-read",
              target=0.8, p99_ms=20, first=True,
              needs=("pass_check", "POST /v1/passes/check"),
              prepare=lambda: d.first_pool(first["passes"]),
              warm=lines("pass_check", "/v1/passes/check", d.fresh_passes),
              sched={k: first[k] for k in ("reps", "dur")},
              also="bare-sql-write",
              note="writes an access-log row; every check a new pass's "
              "first (Ed25519 verified), %d reps of up to %d s or %d "
              "passes" % (first["reps"], first["dur"], first["passes"])),
        Bench("award", awards(0), baseline="bare-sql-write", target=0.7,
              count_sql="SELECT COUNT(*) FROM awards",
              needs=("rule", "POST /v1/awards")),
        Bench("batch", awards(BATCH_ITEMS), conns=m["batch_conns"],
              baseline="award", baseline_conns=8, target=5.0,
              items=BATCH_ITEMS, count_sql="SELECT COUNT(*) FROM awards",
              paired=False,
              needs=("rule", "POST /v1/awards/batch"),
              note="items/s; 1,000 awards per request"),
        Bench("redeem", lines("redeem", "/v1/me/redemptions"),
              baseline="bare-sql-write", needs=("redeem", "POST /v1/me/redemptions"),
              note="no target: a debit, stock, a voucher"),
    ]


def available(st, d, b):
    for n in b.needs:
        if n == "rule":
            if not d.rule:
                return "no benchmark rule (POST /v1/admin/rules absent)"
        elif " " in n:
            meth, path = n.split(" ", 1)
            if not st.has(meth, path):
                return "%s not in this build" % n
        elif n not in d.files:
            return "no %s data (its endpoints are not in this build)" % n
    return None


def wait_idle(st, limit=120):
    """Waits until no transaction is open on the server (requests that wrk
    left in flight, a batch still retrying) so that they do not weigh on
    the next run; returns the seconds waited."""
    t0 = time.time()
    while time.time() - t0 < limit:
        if int(st.sql("SELECT COUNT(*) FROM information_schema.innodb_trx")
               [0][0]) == 0:
            break
        time.sleep(0.2)
    return round(time.time() - t0, 1)


def lock_status(st):
    """InnoDB's row-lock waits, their total time (ms) and deadlocks."""
    rows = st.sql("SHOW GLOBAL STATUS WHERE Variable_name IN "
                  "('Innodb_row_lock_waits','Innodb_row_lock_time',"
                  "'Innodb_deadlocks')")
    return {k: int(v) for k, v in rows}


def run_once(st, b, conns, secs):
    """One run of b; its rate in req/s (items/s for batches)."""
    la = loadavg()[0]
    n0 = int(st.sql(b.count_sql)[0][0]) if b.count_sql else None
    l0 = lock_status(st)
    p0 = pass_cache(st, settle=True) if b.cache else None
    r = b.run(conns, secs)
    r["idle_wait"] = wait_idle(st)
    l1 = lock_status(st)
    r["locks"] = {k: l1[k] - l0[k] for k in l0}
    if p0:
        p1 = pass_cache(st)
        r["pass_cache"] = {k: p1[k] - p0[k] for k in p0}
    # answers once.lua did not expect (a check not entitled)
    r["errors_unexpected"] = r.get("unexpected", 0)
    if b.first:
        # a first check is a cache miss: any hit was a repeat
        if not p0:
            raise RuntimeError("perkd's /metrics has no pass cache counters: "
                               "cannot show that the checks are first checks")
        r["errors_repeat"] = r["pass_cache"]["hits"]
    dsecs = r["duration_us"] / 1e6
    r["rate"] = r["requests"] * b.items / dsecs if dsecs else 0.0
    r["load1"] = la
    if b.count_sql:
        # what the database holds, not what the replies claimed; requests
        # still in flight when wrk stops count too, so this is checked
        # against, not used as, the rate
        r["confirmed"] = int(st.sql(b.count_sql)[0][0]) - n0
        if r["confirmed"] < r["requests"] * b.items:
            r["errors_status"] = r.get("errors_status", 0) + \
                r["requests"] * b.items - r["confirmed"]
    return r


def pass_cache(st, settle=False):
    """perkd's verified-pass cache counters (/metrics): hits, misses, or
    None if it has none. settle: once they stay the same for 50 ms (up to
    2 s), so that checks of the run before (the warm-up's repeats, still
    in perkd when wrk stopped) are not counted in the next."""
    def once():
        try:
            code, text = st.http("GET", "/metrics")
        except (http.client.HTTPException, OSError):
            # the kept connection outlived nginx's keepalive_timeout
            code, text = st.http("GET", "/metrics")
        out = {}
        if code == 200 and isinstance(text, str):
            for l in text.splitlines():
                f = l.split()
                if len(f) == 2 and f[0] in ("perkd_pass_cache_hits_total",
                                            "perkd_pass_cache_misses_total"):
                    out[f[0].split("_")[3]] = int(float(f[1]))
        return out if len(out) == 2 else None
    v = once()
    t0 = time.time()
    while settle and v and time.time() - t0 < 2:
        time.sleep(0.05)
        w, v = v, once()
        if w == v:
            break
    return v


def measure(st, b, conns, m, base=None):
    """b at conns: a warm-up, then m["reps"] runs. With a baseline, each
    run of b is paired with a run of the baseline just before it, and the
    ratio is the median of the per-pair ratios: on a machine shared with
    other work, load that comes and goes then moves both sides of a pair
    alike instead of favouring whichever ran in a quiet minute."""
    t0 = time.time()
    m = dict(m, **b.sched)
    batch = b.items > 1
    dur = m["batch_dur"] if batch else m["dur"]
    bconns = b.baseline_conns or conns
    prep = b.prepare() if b.prepare else 0
    (b.warm or b.run)(conns, m["batch_warm"] if batch else m["warm"])
    runs, bruns = [], []
    for _ in range(m["reps"]):
        if b.prepare:
            prep += b.prepare()
        if base is not None:
            bruns.append(run_once(st, base, bconns,
                                  m["batch_dur"] if base.items > 1 else m["dur"]))
        runs.append(run_once(st, b, conns, dur))
    med = lambda rs, k: statistics.median(x[k] for x in rs)
    total_wall = sum(x["wall"] for x in runs)
    cpu = {}
    for k in runs[0]["cpu"]:
        v = sum(x["cpu"].get(k, 0) for x in runs) / total_wall
        if v >= 0.005:
            cpu[k] = round(v, 3)
    res = {
        "name": b.name, "conns": conns, "rate": round(med(runs, "rate"), 1),
        "unit": "items/s" if batch else "req/s",
        "p50_ms": round(med(runs, "p50_us") / 1000, 2),
        "p99_ms": round(med(runs, "p99_us") / 1000, 2),
        "errors": sum(x.get("errors_status", 0) + x.get("errors_connect", 0) +
                      x.get("errors_read", 0) + x.get("errors_timeout", 0) +
                      x.get("errors_unexpected", 0) +
                      x.get("errors_repeat", 0) for x in runs),
        "requests": sum(x["requests"] for x in runs),
        "cpu_cores": cpu, "load1": [x["load1"] for x in runs],
        "runs": [{"rate": round(x["rate"], 1),
                  "p50_ms": x["p50_us"] / 1000, "p99_ms": x["p99_us"] / 1000,
                  "secs": round(x["duration_us"] / 1e6, 2)}
                 for x in runs],
    }
    locks = {k: sum(x["locks"].get(k, 0) for x in runs)
             for k in runs[0]["locks"]}
    if locks.get("Innodb_row_lock_waits"):
        res["row_lock_waits_per_req"] = round(
            locks["Innodb_row_lock_waits"] / max(1, res["requests"]), 3)
        res["row_lock_ms_per_req"] = round(
            locks.get("Innodb_row_lock_time", 0) / max(1, res["requests"]), 2)
        res["deadlocks"] = locks.get("Innodb_deadlocks", 0)
    if bruns:
        res["baseline"] = "%s@%d" % (base.name, bconns)
        res["baseline_rate"] = round(med(bruns, "rate"), 1)
        res["baseline_runs"] = [round(x["rate"], 1) for x in bruns]
        res["ratio"] = round(statistics.median(
            x["rate"] / y["rate"] if y["rate"] else 0.0
            for x, y in zip(runs, bruns)), 3)
    if runs[0].get("pass_cache"):
        res["pass_cache"] = {k: sum(x["pass_cache"][k] for x in runs)
                             for k in runs[0]["pass_cache"]}
    if "sent" in runs[0]:
        res["sent"] = sum(x["sent"] for x in runs)   # lines, each used once
    if b.app == "perkd":
        res["perkd"] = st.perkd_mem()
    res["seconds"] = round(time.time() - t0, 1)     # all of it, paired runs too
    if b.prepare:
        res["prepare_seconds"] = round(prep, 1)
    return res


def judge(res, b, byname):
    res.setdefault("baseline", None)
    res.setdefault("ratio", None)
    if b.baseline and res["ratio"] is None:
        bc = b.baseline_conns or res["conns"]
        base = byname.get((b.baseline, bc))
        if base and base["rate"]:
            res["baseline"] = "%s@%d" % (b.baseline, bc)
            res["baseline_rate"] = base["rate"]
            res["ratio"] = round(res["rate"] / base["rate"], 3)
    if b.also and byname.get((b.also, res["conns"])):
        res["also"] = "%s@%d" % (b.also, res["conns"])
        res["also_ratio"] = round(
            res["rate"] / byname[(b.also, res["conns"])]["rate"], 3)
    verdict = []
    if b.target is not None and res["ratio"] is not None:
        res["target_ratio"] = b.target
        verdict.append(res["ratio"] >= b.target)
    if b.p99_ms is not None and res["conns"] == 64:
        res["target_p99_ms"] = b.p99_ms
        verdict.append(res["p99_ms"] < b.p99_ms)
    if b.name == "batch":
        res["target_rate"] = 20000
        verdict.append(res["rate"] >= 20000)
    if res["errors"]:
        verdict.append(False)
    res["met"] = all(verdict) if verdict else None


def pass_cache_text(res):
    """What perkd's verified-pass cache answered over the runs' requests
    (also used by report.py)."""
    pc = res["pass_cache"]
    out = "pass cache %d misses, %d hits for %d requests" % (
        pc["misses"], pc["hits"], res["requests"])
    if res.get("sent") is not None:
        out += " (%d passes, each sent once)" % res["sent"]
    return out


def fmt(res):
    tgt = ""
    if res.get("met") is not None:
        parts = []
        if "target_ratio" in res:
            parts.append(">=%g" % res["target_ratio"])
        if "target_p99_ms" in res:
            parts.append("p99<%gms" % res["target_p99_ms"])
        if "target_rate" in res:
            parts.append(">=%d/s" % res["target_rate"])
        tgt = "%s %s" % (",".join(parts), "MET" if res["met"] else "MISSED")
    err = "  ERRORS=%d" % res["errors"] if res["errors"] else ""
    if res.get("also"):
        err += "  (%.2f x %s)" % (res["also_ratio"], res["also"])
    base = "-"
    if res["baseline"]:
        base = "%s %.0f/s" % (res["baseline"], res["baseline_rate"])
    return "%-16s c=%-3d %8.0f %-7s p50 %6.2f ms p99 %7.2f ms  vs %-29s %5s  %s%s" % (
        res["name"], res["conns"], res["rate"], res["unit"], res["p50_ms"],
        res["p99_ms"], base,
        "%.2f" % res["ratio"] if res["ratio"] is not None else "-", tgt, err)


def stats_helper(st, mode):
    """The stats helper's tests/bench/stats.sh, if present, on this run's
    MariaDB: it builds its own databases (perkctl generate) and times the
    stats endpoints over FastCGI. Its lines are passed through and kept;
    lines "N members: NAME median X ms  p99 Y ms (...)" are parsed."""
    path = os.path.join(HERE, "stats.sh")
    if not os.path.exists(path):
        return None
    sizes = os.environ.get("BENCH_STATS_SIZES", MODES[mode]["stats_sizes"])
    log("running tests/bench/stats.sh --sizes '%s'" % sizes)
    env = dict(os.environ, PERKD_TEST_DB_SOCKET=st.env["PERKD_DB_SOCKET"],
               PERKD_BUILD=st.build)
    t0 = time.time()
    p = subprocess.run(["bash", path, "--sizes", sizes], capture_output=True,
                       text=True, env=env)
    sys.stdout.write(p.stdout)
    sys.stdout.flush()
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-2000:])
    parsed = []
    for l in p.stdout.splitlines():
        f = l.split()
        if len(f) >= 9 and f[1] == "members:" and f[3] == "median":
            parsed.append({"members": int(f[0]), "name": f[2],
                           "median_ms": float(f[4]), "p99_ms": float(f[7])})
    return {"exit": p.returncode, "sizes": sizes, "lines": p.stdout.splitlines(),
            "results": parsed, "seconds": round(time.time() - t0, 1)}


STATUS_VARS = ("Questions", "Com_stmt_execute", "Innodb_data_fsyncs",
               "Handler_commit")


def server_status(st):
    rows = st.sql("SHOW GLOBAL STATUS WHERE Variable_name IN (%s)" %
                  ",".join("'%s'" % v for v in STATUS_VARS))
    return {k: int(v) for k, v in rows}


def roundtrips(st, d, n=100):
    """What one request costs the database: statements (round trips) and
    log fsyncs per request, from MariaDB's global counters around n
    sequential requests of each kind (nothing else uses this server)."""
    def lines(name):
        rows = [l.rstrip("\n").split("\t") for l in open(d.files[name])]
        it = iter(range(10 ** 9))

        def one():
            m, path, auth, body = rows[next(it) % len(rows)]
            return st.http(m, path, auth, json.loads(body) if body else None)
        return one

    def ids(method, path):
        it = iter(range(10 ** 9))
        return lambda: st.http(method, "%s?id=%d" % (
            path, d.lo + next(it) % (d.hi - d.lo + 1)))

    def award(items):
        it = iter(range(10 ** 9))

        def one():
            def item():
                k = next(it)
                return {"subject": "b%d" % (k % d.members + 1), "rule": d.rule,
                        "external_ref": "rt%d-%d" % (os.getpid(), k)}
            if not items:
                return st.http("POST", "/v1/awards", st.env["PERKD_ISSUER_KEY"],
                               item())
            return st.http("POST", "/v1/awards/batch",
                           st.env["PERKD_ISSUER_KEY"],
                           {"items": [item() for _ in range(items)]})
        return one

    kinds = [("bare-sql-read", ids("GET", "/bench/bare-sql-read"), 1),
             ("bare-sql-write", ids("POST", "/bench/bare-sql-write"), 1),
             ("healthz", lambda: st.http("GET", "/healthz"), 1)]
    for name, f in (("me", "me"), ("voucher-check", "voucher_check"),
                    ("pass-check", "pass_check")):
        if f in d.files:
            kinds.append((name, lines(f), 1))
    if d.rule and st.has("POST", "/v1/awards"):
        kinds.append(("award", award(0), 1))
    if d.rule and st.has("POST", "/v1/awards/batch"):
        kinds.append(("batch (per item)", award(100), 100))
    if "redeem" in d.files:
        kinds.append(("redeem", lines("redeem"), 1))
    out = []
    for name, one, per in kinds:
        one()                                   # prepares its statements
        s0 = server_status(st)
        reqs = max(1, n // per)
        for _ in range(reqs):
            code = one()[0]
            if code >= 300:
                raise RuntimeError("%s answered %d" % (name, code))
        s1 = server_status(st)
        q = (s1["Questions"] - s0["Questions"] - 1) / (reqs * per)
        row = {"name": name, "statements": round(q, 2),
               "executes": round((s1["Com_stmt_execute"] -
                                  s0["Com_stmt_execute"]) / (reqs * per), 2),
               "fsyncs": round((s1["Innodb_data_fsyncs"] -
                                    s0["Innodb_data_fsyncs"]) / (reqs * per), 2)}
        out.append(row)
        print("%-17s %5.2f statements, %4.2f fsyncs per %s" % (
            name, row["statements"], row["fsyncs"],
            "item" if per > 1 else "request"), flush=True)
    return out


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return {"nproc": os.cpu_count(), "cpu": model, "mem_mb": mem,
            "kernel": os.uname().release}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", required=True)
    ap.add_argument("--mode", choices=MODES, default="full")
    ap.add_argument("--only", default="")
    ap.add_argument("--out")
    ap.add_argument("--prepare-only", action="store_true")
    a = ap.parse_args()
    st = Stack(read_env(a.env))
    m = MODES[a.mode]
    # The private server starts with the small buffer pool of a test
    # server (tests/lib/mariadb.sh: 64 MB). The awards, ledger and access
    # log outgrow it during a run (~300 MB by the batches), and then every
    # write waits for the disk: size it as a database host would, for
    # perkd and the baselines alike (BENCH_BUFFER_POOL_MB).
    pool_mb = int(os.environ.get("BENCH_BUFFER_POOL_MB", "1024"))
    st.sql("SET GLOBAL innodb_buffer_pool_size = %d" % (pool_mb << 20))
    t_start = time.time()
    doc = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "mode": a.mode, "machine": machine(), "load_start": loadavg(),
           "perkd_threads": int(st.env["BENCH_THREADS"]),
           "fastcgi_keepalive": int(st.env["BENCH_KEEPALIVE"]),
           "innodb_flush_log_at_trx_commit": int(st.sql(
               "SELECT @@innodb_flush_log_at_trx_commit")[0][0]),
           "innodb_buffer_pool_mb": int(st.sql(
               "SELECT @@innodb_buffer_pool_size")[0][0]) >> 20,
           "settings": m, "results": [], "skipped": []}
    print("machine: %(nproc)d cores (%(cpu)s), %(mem_mb)d MB" % doc["machine"])
    print("MariaDB: innodb_flush_log_at_trx_commit=%d, buffer pool %d MB" %
          (doc["innodb_flush_log_at_trx_commit"], doc["innodb_buffer_pool_mb"]))
    print("load average at start: %.2f %.2f %.2f" % tuple(doc["load_start"]))
    d = Data(st, a.mode, os.path.dirname(a.env))
    d.prepare()
    doc["notes"] = d.notes
    if a.prepare_only:
        for k, v in sorted(d.files.items()):
            print("data %s: %s" % (k, v))
        print("members: ids %d to %d" % (d.lo, d.hi))
        return
    doc["perkd_rss_start"] = st.perkd_mem()
    only = set(x for x in a.only.split(",") if x)
    if not only or "roundtrips" in only:
        print("database work per request (sequential, %s):" %
              "SHOW GLOBAL STATUS deltas")
        doc["roundtrips"] = roundtrips(st, d, m["roundtrips"])
    byname = {}
    benches = plan(st, d, m)
    if a.mode == "quick":
        # diagnostics only in the full run
        benches = [b for b in benches if b.name not in ("healthz", "issuers")]
    index = {b.name: b for b in benches}
    for b in benches:
        if only and b.name not in only and b.name != b.baseline:
            # still run what the selected ones are compared with
            wanted = any(x.baseline == b.name for x in benches
                         if x.name in only)
            if not wanted:
                continue
        why = available(st, d, b)
        if why:
            doc["skipped"].append({"name": b.name, "why": why})
            print("%-16s skipped: %s" % (b.name, why), flush=True)
            continue
        for c in b.conns:
            try:
                pair = b.paired and m["paired"]
                res = measure(st, b, c, m,
                              index.get(b.baseline) if pair else None)
            except (RuntimeError, ValueError, KeyError) as e:
                doc["skipped"].append({"name": b.name, "conns": c,
                                       "why": str(e)[:300]})
                print("%-16s c=%d FAILED: %s" % (b.name, c, str(e)[:300]),
                      flush=True)
                continue
            res["note"] = b.note
            judge(res, b, byname)
            byname[(b.name, c)] = res
            doc["results"].append(res)
            print(fmt(res), flush=True)
            cpu = "  cpu (cores): " + " ".join(
                "%s %.2f" % kv for kv in sorted(res["cpu_cores"].items()))
            if res.get("row_lock_waits_per_req"):
                cpu += "; row-lock waits %.2f/req, %.1f ms/req; deadlocks %d" % (
                    res["row_lock_waits_per_req"], res["row_lock_ms_per_req"],
                    res["deadlocks"])
            if res.get("pass_cache"):
                cpu += "; " + pass_cache_text(res)
            print(cpu, flush=True)
    if not only or "stats" in only:
        doc["stats"] = stats_helper(st, a.mode)
    doc["perkd_rss_end"] = st.perkd_mem()
    doc["load_end"] = loadavg()
    doc["seconds"] = round(time.time() - t_start, 1)
    s, e = doc["perkd_rss_start"], doc["perkd_rss_end"]
    print("perkd: %s threads, RSS %d kB after preparing, %d kB at the end "
          "(target < 32768 kB, no growth)" % (e["threads"], s["rss_kb"],
                                             e["rss_kb"]))
    print("load average at end: %.2f %.2f %.2f; %.0f s" % (
        tuple(doc["load_end"]) + (doc["seconds"],)))
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote " + a.out)


if __name__ == "__main__":
    main()
