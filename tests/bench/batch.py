#!/usr/bin/python3
"""batch.py: how many awards a second perkd credits through POST
/v1/awards/batch (1,000 items a request) and through POST /v1/awards (one
award a request), against a running stack. Self-contained (Python standard
library + wrk); the full harness is tests/bench/run.sh, this is the focused
measurement of the award paths behind docs/benchmarks.md "Batch awards".

    . /path/to/dev.env && tests/bench/batch.py [--members N] [--seconds S]
        [--batch-conns C] [--single-conns C] [--only batch|single]

What it does:
  1. creates a rule "bench_<run>" (1 point, a daily cap far above what a
     run earns, so that the cap arithmetic runs but never cuts) that the
     demo issuer may award, and enrols N members (default 2000) with
     subjects "bench-<run>-<i>";
  2. batch: wrk with C connections (default 2) for S seconds (default 10),
     each request 1,000 awards for 1,000 distinct members (rotating over
     the N) with distinct references: the worst case for a batch (no
     member twice);
  3. single: wrk with C connections (default 8) for S seconds, each request
     one award, rotating members, distinct references;
  4. prints one line per benchmark: name, awards/s, requests/s, p50 and p99
     request latency, non-2xx answers, the awards found in the database
     (through the stack's MariaDB socket), and the CPU time perkd and
     MariaDB spent per 1000 awards (from /proc, by the pid files under
     PERKD_VAR): on a machine shared with other work the awards a second
     follow the CPU share the stack gets; the CPU per award does not.

A non-2xx answer or a per-item result that is not 201 is counted and
reported as an error: the figures are only good if errors=0.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

ENV = os.environ


def die(msg):
    sys.exit("batch.py: " + msg)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub):
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": sub, "exp": int(time.time()) + 3600}).encode())
    sig = hmac.new(ENV["PERKD_RESIDENT_SECRET"].encode(),
                   (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64(sig)


def call(method, path, body, auth):
    u = urllib.parse.urlsplit(ENV["PERKD_URL"])
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    data = json.dumps(body, separators=(",", ":")).encode()
    c.request(method, path, data, {"Authorization": "Bearer " + auth,
                                   "Content-Type": "application/json"})
    r = c.getresponse()
    out = r.read()
    c.close()
    return r.status, out


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
    conf = config()
    cmd = ["mariadb", "--no-defaults", "--socket=" + ENV["PERKD_DB_SOCKET"],
           "-N", "-B", "-u", conf.get("db_user", "root")]
    if conf.get("db_password"):
        cmd.append("--password=" + conf["db_password"])
    cmd += [conf.get("db_name", "perkd"), "-e", query]
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True).stdout.strip()


def setup(run, members):
    st, out = call("POST", "/v1/admin/rules",
                   {"code": "bench_" + run, "title": "Bench", "description": "",
                    "points": 1, "daily_cap": 1000000,
                    "issuers": [ENV["PERKD_ISSUER_ORG"]]},
                   ENV["PERKD_MANAGER_KEY"])
    if st != 201:
        die("rule: %d %s" % (st, out[:200]))
    subs = ["bench-%s-%d" % (run, i) for i in range(members)]
    errors = []

    def enrol(part):
        for s in part:
            st, out = call("POST", "/v1/me/enroll",
                           {"consent": True, "consent_version": "2026-01",
                            "district": "harbour"}, token(s))
            if st != 201:
                errors.append((st, out[:200]))

    ts = [threading.Thread(target=enrol, args=(subs[i::4],)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        die("enrol: %r" % (errors[0],))
    return subs


LUA_COMMON = r"""
local run, members, mode = "%(run)s", %(members)d, "%(mode)s"
local counter = 0
local nthreads = 0
local threads = {}
tid = 0
bad_items = 0
setup = function(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end
init = function(args)
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer %(key)s"
  wrk.headers["Content-Type"] = "application/json"
end
local function item(n)
  return '{"subject":"bench-' .. run .. '-' .. (n %% members) ..
    '","rule":"bench_' .. run .. '","external_ref":"' .. mode .. run .. tid .. '-' .. n .. '"}'
end
request = function()
  counter = counter + 1
  if mode == "b" then
    local parts = {}
    local base = (tid * 1000003 + counter) * 1000
    for j = 0, 999 do parts[j + 1] = item(base + j) end
    return wrk.format(nil, "/v1/awards/batch", nil,
      '{"items":[' .. table.concat(parts, ",") .. ']}')
  end
  return wrk.format(nil, "/v1/awards", nil, item(tid * 100000003 + counter))
end
response = function(status, headers, body)
  if mode == "b" and status == 200 then
    local _, n = string.gsub(body, '"status":201', "")
    bad_items = bad_items + (1000 - n)
    if n < 1000 and os.getenv("BATCH_DEBUG") then
      local f = io.open(os.getenv("BATCH_DEBUG"), "w")
      f:write(body)
      f:close()
    end
  end
end
done = function(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("bad_items") end
  io.write(string.format('RESULT {"requests": %%d, "seconds": %%f, ' ..
    '"non2xx": %%d, "socket_errors": %%d, "bad_items": %%d, ' ..
    '"p50_ms": %%f, "p99_ms": %%f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, bad,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def cpu_ticks():
    """CPU time (user + system, in clock ticks) used so far by perkd and
    by MariaDB of the stack, from their pid files: on a shared machine the
    CPU each award costs is steadier than the awards a second."""
    out = {}
    for name, pidfile in (("perkd", "run/perkd.pid"),
                          ("mariadb", "mariadb/mysqld.pid")):
        try:
            with open(os.path.join(ENV["PERKD_VAR"], pidfile)) as f:
                pid = f.read().strip()
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[name] = int(fields[11]) + int(fields[12])
        except (OSError, ValueError, IndexError):
            out[name] = None
    return out


def wrk(run, members, mode, conns, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA_COMMON % {"run": run, "members": members, "mode": mode,
                              "key": ENV["PERKD_ISSUER_KEY"]})
        lua = f.name
    try:
        out = subprocess.run(
            ["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d",
             "%ds" % seconds, "--timeout", "30s", "-s", lua, ENV["PERKD_URL"]],
            capture_output=True, text=True)
        if out.returncode != 0:
            die("wrk failed:\n" + out.stdout + out.stderr)
        out = out.stdout
    finally:
        os.unlink(lua)
    m = re.search(r"^RESULT (.*)$", out, re.M)
    if not m:
        die("wrk printed no result:\n" + out)
    return json.loads(m.group(1))


def credited(run, prefix):
    return int(sql("SELECT COUNT(*) FROM awards a JOIN rules r ON r.id = "
                   "a.rule_id WHERE r.code = 'bench_%s' AND a.external_ref "
                   "LIKE '%s%s%%'" % (run, prefix, run)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=2000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--batch-conns", type=int, default=2)
    ap.add_argument("--single-conns", type=int, default=8)
    ap.add_argument("--only", choices=["batch", "single"])
    a = ap.parse_args()
    for k in ("PERKD_URL", "PERKD_RESIDENT_SECRET", "PERKD_MANAGER_KEY",
              "PERKD_ISSUER_KEY", "PERKD_ISSUER_ORG", "PERKD_CONFIG",
              "PERKD_DB_SOCKET"):
        if not ENV.get(k):
            die("%s is not set: source the stack's dev.env first" % k)
    if a.members < 1000:
        die("--members must be at least 1000 (a batch names 1000 distinct)")
    run = uuid.uuid4().hex[:6]
    t0 = time.monotonic()
    setup(run, a.members)
    print("setup: rule bench_%s, %d members enrolled in %.1f s"
          % (run, a.members, time.monotonic() - t0))
    for name, mode, conns in (("batch", "b", a.batch_conns),
                              ("single", "s", a.single_conns)):
        if a.only and a.only != name:
            continue
        db0 = credited(run, mode)
        c0 = cpu_ticks()
        r = wrk(run, a.members, mode, conns, a.seconds)
        # requests still running when wrk stops finish (their CPU and
        # their awards both count, for the CPU per award)
        time.sleep(3)
        c1 = cpu_ticks()
        per = 1000 if mode == "b" else 1
        awards = (r["requests"] - r["non2xx"]) * per - r["bad_items"]
        db = credited(run, mode) - db0
        hz = os.sysconf("SC_CLK_TCK")
        cpu = " ".join(
            "%s_cpu_ms_per_1000=%s" % (k, "?" if c0[k] is None or c1[k] is None
                                        or db == 0 else
                                        "%.0f" % ((c1[k] - c0[k]) * 1000.0 / hz
                                                  * 1000 / db))
            for k in ("perkd", "mariadb"))
        print("%-6s conns=%d awards/s=%.0f req/s=%.1f p50=%.1fms p99=%.1fms "
              "non2xx=%d socket_errors=%d bad_items=%d credited_in_db=%d %s"
              % (name, conns, awards / r["seconds"], r["requests"] / r["seconds"],
                 r["p50_ms"], r["p99_ms"], r["non2xx"], r["socket_errors"],
                 r["bad_items"], db, cpu))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
