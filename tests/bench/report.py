#!/usr/bin/env python3
"""report.py: a benchmark results file as the Markdown of docs/benchmarks.md.

    python3 tests/bench/report.py [tests/bench/results/latest.json]

Prints the run's heading line, the table (one row per benchmark: rate,
p50, p99, baseline, ratio, target, CPU split, row-lock waits, what the
verified-pass cache answered for the pass checks), the
statements per request when the run measured them, and perkd's RSS, so
that the figures in the document are copied from a run, not retyped.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from drive import pass_cache_text  # noqa: E402


def target(r):
    """The target column: what was asked and whether it was met."""
    asked = []
    if r.get("target_ratio") is not None:
        asked.append(">= %g" % r["target_ratio"])
    if r.get("target_p99_ms") is not None:
        asked.append("p99 < %g ms" % r["target_p99_ms"])
    if r.get("target_rate") is not None:
        asked.append(">= %d/s" % r["target_rate"])
    if not asked:
        return ""
    met = r.get("met")
    return "%s %s" % (", ".join(asked), "**met**" if met else "missed")


def row(r):
    ratio = "-" if r.get("ratio") is None else "%.2f" % r["ratio"]
    if r.get("also"):
        ratio += " (%.2f x %s)" % (r["also_ratio"], r["also"])
    base = "-"
    if r.get("baseline"):
        base = "%s %d/s" % (r["baseline"], r.get("baseline_rate") or 0)
    cpu = ", ".join("%s %.2f" % kv for kv in sorted(r.get("cpu_cores", {}).items()))
    if r.get("row_lock_waits_per_req") is not None:
        cpu += "; row-lock waits %.2f/req, %.1f ms/req" % (
            r["row_lock_waits_per_req"], r.get("row_lock_ms_per_req", 0))
    if r.get("pass_cache"):
        cpu += "; " + pass_cache_text(r)
    return "| %s | %d | %d %s | %.2f | %.2f | %s | %s | %s | %s |" % (
        r["name"], r["conns"], round(r["rate"]), r.get("unit", "req/s"),
        r["p50_ms"], r["p99_ms"], base, ratio, target(r), cpu)


def main(argv):
    path = argv[1] if len(argv) > 1 else os.path.join(HERE, "results", "latest.json")
    with open(path) as f:
        d = json.load(f)
    print("Run of %s (%s mode), load average %s at the start and %s at the "
          "end, %.0f s; perkd %s threads." % (
              d["started"], d["mode"], " ".join("%.2f" % x for x in d["load_start"]),
              " ".join("%.2f" % x for x in d.get("load_end", [])),
              d.get("seconds", 0), d.get("perkd_threads")))
    if "innodb_buffer_pool_mb" in d:
        print()
        print("MariaDB buffer pool %d MB, innodb_flush_log_at_trx_commit=%s." % (
            d["innodb_buffer_pool_mb"], d.get("innodb_flush_log_at_trx_commit")))
    print()
    print("| benchmark | conns | rate | p50 ms | p99 ms | baseline | ratio | target | cpu (cores) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in d["results"]:
        print(row(r))
    if d.get("roundtrips"):
        print()
        print("| request | statements | fsyncs |")
        print("|---|---|---|")
        for t in d["roundtrips"]:
            print("| %s | %.2f | %.2f |" % (t["name"], t["statements"], t["fsyncs"]))
    print()
    print("perkd RSS %s kB after preparing, %s kB at the end." % (
        d.get("perkd_rss_start", {}).get("rss_kb"), d.get("perkd_rss_end", {}).get("rss_kb")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
