#!/usr/bin/env bash
# with-mariadb.sh CMD [ARGS...]: run CMD with a MariaDB server at
# $PERKD_TEST_DB_SOCKET (root, no password, over that unix socket).
#
# If PERKD_TEST_DB_SOCKET is already set (./dev test starts one server for
# the whole `make check`), CMD runs against it. Otherwise a throw-away server
# is started in a fresh temporary directory, CMD runs, and the server is
# stopped and its directory removed, whatever CMD did. CMD's exit status is
# kept. Tests create and drop their own databases on that server.
#
# Used by `make check` (LOG_COMPILER for the integration tests) and usable by
# hand: tests/lib/with-mariadb.sh ./tests/integration/test_ledger
set -u

if [ $# -eq 0 ]; then
	echo "usage: with-mariadb.sh CMD [ARGS...]" >&2
	exit 2
fi

if [ -n "${PERKD_TEST_DB_SOCKET:-}" ]; then
	exec "$@"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/mariadb.sh
. "$here/mariadb.sh"

# /tmp, not TMPDIR: the socket path must stay short.
dir=$(mktemp -d /tmp/perkd-db.XXXXXX) || exit 1
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	mdb_stop "$dir"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Nobody will miss this server's data: skip the fsyncs.
if ! PERKD_DB_FAST=1 mdb_start "$dir" -; then
	echo "with-mariadb.sh: could not start a MariaDB server (is mariadb-server installed?)" >&2
	exit 99 # automake: a hard error, never a skip
fi
export PERKD_TEST_DB_SOCKET="$dir/mysqld.sock"
"$@"
status=$?
exit $status
