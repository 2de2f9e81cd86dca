#!/usr/bin/env python3
"""run.py: run perkd's end-to-end tests against a running stack.

    python3 tests/e2e/run.py                      every tests/e2e/test_*.py
    python3 tests/e2e/run.py test_foundation      one module
    python3 tests/e2e/run.py test_foundation.Auth.test_expired_token__401

The stack comes from the environment (dev.env sourced: PERKD_URL, keys...);
without PERKD_URL, var/dev.env of this checkout is used (see lib.py). Each
test's name is printed as it runs. The last line is exactly
`e2e: N passed, N failed`; the exit status is 1 if anything failed or if no
test ran. With CI=true a skipped test counts as failed (nothing is skipped
in CI).
"""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lib  # noqa: E402  (after the path is set)


def main(argv):
    missing = [k for k in ("PERKD_URL", "PERKD_RESIDENT_SECRET", "PERKD_MANAGER_KEY",
                           "PERKD_ISSUER_KEY", "PERKD_PARTNER_KEY") if not os.environ.get(k)]
    if missing:
        print("e2e: %s not set: source the stack's dev.env (set -a; . var/dev.env; set +a)"
              % ", ".join(missing))
        print("e2e: 0 passed, 1 failed")
        return 1
    loader = unittest.TestLoader()
    if argv:
        suite = loader.loadTestsFromNames(argv)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    print("e2e: against %s" % lib.URL, flush=True)
    started = time.monotonic()
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    # A test with failing subtests appears once per failing subtest: count
    # tests, not entries.
    failed_ids = {getattr(t, "test_case", t).id()
                  for t, _ in result.failures + result.errors}
    failed_ids |= {t.id() for t in result.unexpectedSuccesses}
    skipped_ids = {t.id() for t, _ in result.skipped} - failed_ids
    passed = result.testsRun - len(failed_ids) - len(skipped_ids)
    failed = len(failed_ids) + (len(skipped_ids) if lib.CI else 0)
    if result.testsRun == 0:
        print("e2e: no test ran", flush=True)
        failed = max(failed, 1)
    print("e2e: %.1f s" % (time.monotonic() - started))
    print("e2e: %d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
