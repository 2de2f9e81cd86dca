#!/usr/bin/env bash
# stats.sh: how fast the stats endpoints answer at 10,000 and at 1,000,000
# members (issue 5). For each size: a fresh database, `perkctl generate
# --members N --days 365 --campaigns` (about ten ledger entries a member),
# `perkctl stats verify`, then perkd on a private FastCGI socket and, per
# endpoint, CALLS timed GETs straight over FastCGI (tests/bench/
# fcgi_time.py): one line per endpoint with the median and p99 in ms.
#
#   tests/bench/stats.sh [--sizes "10000 1000000"] [--days 365]
#                        [--calls 50] [--keep]
#
# generate runs only with dev_mode = 1, which the configuration written here
# sets. Needs a built tree (./perkd, ./perkctl; PERKD_BUILD=dir if elsewhere)
# and MariaDB: the server at $PERKD_TEST_DB_SOCKET (root over the unix
# socket), or a throw-away one started by tests/lib/with-mariadb.sh.
# --keep leaves the databases (perkd_bench_N) for a look afterwards.
set -eu

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PERKD_BUILD:-$top}
sizes="10000 1000000"
days=365
calls=50
keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=$2; shift 2 ;;
	--days) days=$2; shift 2 ;;
	--calls) calls=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: $0 [--sizes \"N ...\"] [--days D] [--calls C] [--keep]" >&2
	   exit 2 ;;
	esac
done

if [ -z "${PERKD_TEST_DB_SOCKET:-}" ]; then
	if [ -x "$top/tests/lib/with-mariadb.sh" ]; then
		exec "$top/tests/lib/with-mariadb.sh" "$0" --sizes "$sizes" \
			--days "$days" --calls "$calls" $([ $keep = 1 ] && echo --keep)
	fi
	echo "stats.sh: set PERKD_TEST_DB_SOCKET or add tests/lib/with-mariadb.sh" >&2
	exit 2
fi
for f in "$build/perkd" "$build/perkctl"; do
	[ -x "$f" ] || { echo "stats.sh: $f not built" >&2; exit 2; }
done

sql() { mariadb --no-defaults --socket="$PERKD_TEST_DB_SOCKET" --user=root -N -e "$1"; }
# a year of a million members wants more than a test server's buffer pool
sql "SET GLOBAL innodb_buffer_pool_size = 1073741824" 2>/dev/null || true

work=$(mktemp -d /tmp/perkd-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "# stats bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# MariaDB $(sql 'SELECT VERSION()'), innodb_flush_log_at_trx_commit=$(sql 'SELECT @@innodb_flush_log_at_trx_commit'), buffer pool $(( $(sql 'SELECT @@innodb_buffer_pool_size') / 1048576 )) MiB"
for n in $sizes; do
	db=perkd_bench_$n
	sql "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
	conf=$work/perkd-$n.conf
	cat >"$conf" <<CONF
socket = $work/perkd.sock
socket_mode = 0600
threads = 4
db_socket = $PERKD_TEST_DB_SOCKET
db_name = $db
db_user = root
resident_jwt_secret = $(openssl rand -hex 32)
subject_key = $(openssl rand -hex 32)
server_key = $(openssl rand -hex 32)
pass_seed = $(openssl rand -hex 32)
dev_mode = 1
CONF
	"$build/perkctl" -c "$conf" migrate --dir "$top/sql" >/dev/null
	t0=$(date +%s.%N)
	"$build/perkctl" -c "$conf" generate --members "$n" --days "$days" \
		--campaigns 2>"$work/generate.log"
	t1=$(date +%s.%N)
	entries=$(sql "SELECT COUNT(*) FROM $db.ledger")
	printf '%s members: generate %.1f s (%s members, %s ledger entries, %s agg_points_daily rows)\n' \
		"$n" "$(echo "$t1 - $t0" | bc)" "$(sql "SELECT COUNT(*) FROM $db.members")" \
		"$entries" "$(sql "SELECT COUNT(*) FROM $db.agg_points_daily")"
	if ! "$build/perkctl" -c "$conf" stats verify >"$work/verify.log"; then
		echo "$n members: stats verify FAILED:"; cat "$work/verify.log"; exit 1
	fi
	echo "$n members: stats verify ok ($(grep -c '^ok' "$work/verify.log") checks)"
	key=$("$build/perkctl" -c "$conf" org create --name "Bench Manager" \
		--role manager | sed -n 's/^key=//p')
	rm -f "$work/perkd.sock"
	"$build/perkd" -c "$conf" 2>"$work/perkd.log" &
	pid=$!
	for _ in $(seq 1 50); do [ -S "$work/perkd.sock" ] && break; sleep 0.1; done
	cmp=$(python3 "$top/tests/bench/fcgi_time.py" "$work/perkd.sock" "$key" body \
		/v1/admin/campaigns | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
	district=$(sql "SELECT code FROM $db.districts ORDER BY code LIMIT 1")
	today=$(date -u +%Y-%m-%d)
	yearago=$(date -u -d "-$days days" +%Y-%m-%d)
	python3 "$top/tests/bench/fcgi_time.py" "$work/perkd.sock" "$key" "$calls" \
		overview /v1/stats/overview \
		overview.csv "/v1/stats/overview?format=csv" \
		enrollment-day-90d /v1/stats/enrollment \
		enrollment-day-1y "/v1/stats/enrollment?interval=day&from=$yearago&to=$today" \
		enrollment-week-1y "/v1/stats/enrollment?interval=week&from=$yearago&to=$today" \
		enrollment-month-1y "/v1/stats/enrollment?interval=month&from=$yearago&to=$today" \
		enrollment-district-1y "/v1/stats/enrollment?interval=day&from=$yearago&to=$today&district=$district" \
		campaign "/v1/stats/campaigns/$cmp" \
		| sed "s/^/$n members: /"
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
	[ $keep = 1 ] || sql "DROP DATABASE $db"
done
