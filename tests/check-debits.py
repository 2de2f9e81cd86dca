#!/usr/bin/env python3
"""check-debits.py: which HTTP handlers can lower a member's balance?

Derived from the source, not declared: a function "debits" if it names a
redemption or closure ledger kind (LY_REDEMPTION, LY_CLOSURE: the only
kinds whose entries are negative, by the ledger's CHECK constraint), or
if it names a function that debits (calls it, or passes it to ht_txn).
The handlers (ht_h_*) so found must be exactly the list ht_may_debit in
tests/unit/test_routes.c, which walks the route table and proves those
handlers are reachable only by the resident, on DELETE /v1/me and POST
/v1/me/redemptions.

Also fails if any code but loyalty/ly_ledger.c writes the ledger or a
balance in SQL.
"""
import os
import re
import sys

top = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(__file__), "..")
DIRS = ["loyalty", "catalog", "fcgi", "cli"]
MECHANISM = os.path.join("loyalty", "ly_ledger.c")
# Offline tools allowed to write ledger rows in bulk, each with its reason.
# perkctl generate loads a synthetic programme for benchmarks: it refuses
# to run outside dev_mode, is not reachable over HTTP, writes only awards
# and redemptions consistent with the balances, and perkctl verify checks
# what it wrote.
BULK_LOADERS = {os.path.join("cli", "pc_generate.c")}
FUNC = re.compile(r"^([a-z_][a-z0-9_]*)\(", re.M)
IDENT = re.compile(r"\b[a-z_][a-z0-9_]*\b")
DEBIT = re.compile(r"\bLY_(REDEMPTION|CLOSURE)\b")
SQL_WRITE = re.compile(r"(UPDATE\s+members\s+SET[^;\"]*\bbalance\b|INSERT\s+INTO\s+ledger\b)",
                       re.I)

failures = []
funcs = {}      # name -> (file, body)
for d in DIRS:
    path = os.path.join(top, d)
    if not os.path.isdir(path):
        continue
    for fn in sorted(os.listdir(path)):
        if not fn.endswith(".c"):
            continue
        rel = os.path.join(d, fn)
        text = open(os.path.join(path, fn), encoding="utf-8").read()
        # SQL text joined across C string literals on adjacent lines
        joined = re.sub(r'"\s*\n\s*"', "", text)
        if rel != MECHANISM and rel not in BULK_LOADERS and SQL_WRITE.search(joined):
            failures.append("%s writes the ledger or a balance in SQL "
                            "(only %s may)" % (rel, MECHANISM))
        starts = [(m.start(), m.group(1)) for m in FUNC.finditer(text)]
        for i, (pos, name) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
            funcs[name] = (rel, text[pos:end])

debiting = set()
for name, (rel, body) in funcs.items():
    if rel != MECHANISM and DEBIT.search(body):
        debiting.add(name)
changed = True
while changed:
    changed = False
    for name, (rel, body) in funcs.items():
        if name in debiting or rel == MECHANISM:
            continue
        tokens = set(IDENT.findall(body[len(name):]))
        if tokens & debiting:
            debiting.add(name)
            changed = True

handlers = sorted(n for n in debiting if n.startswith("ht_h_"))
test = open(os.path.join(top, "tests", "unit", "test_routes.c"),
            encoding="utf-8").read()
m = re.search(r"ht_may_debit\[\]\s*=\s*\{(.*?)MAY_DEBIT_END", test, re.S)
listed = sorted(set(re.findall(r"\b(ht_h_[a-z0-9_]+)\b", m.group(1)))) if m else []

print("functions that can write a debit: %s" % ", ".join(sorted(debiting)))
print("handlers that can debit: %s" % ", ".join(handlers))
if handlers != listed:
    failures.append("handlers that can debit %s differ from ht_may_debit "
                    "in tests/unit/test_routes.c %s" % (handlers, listed))
if not handlers:
    failures.append("no debiting handler found: the scan is broken")
for f in failures:
    print("FAIL: " + f)
sys.exit(1 if failures else 0)
