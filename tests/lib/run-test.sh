#!/bin/sh
# run-test.sh: the automake test driver's LOG_COMPILER. Integration tests
# need MariaDB: they get the server at $PERKD_TEST_DB_SOCKET, or this
# starts a throw-away one around them (tests/lib/with-mariadb.sh).
here=$(cd "$(dirname "$0")" && pwd)
case "$1" in
*/integration/*)
	if [ -z "${PERKD_TEST_DB_SOCKET:-}" ]; then
		exec "$here/with-mariadb.sh" "$@"
	fi
	;;
esac
exec "$@"
