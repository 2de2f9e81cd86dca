#!/usr/bin/env bash
# run.sh: perkd's benchmarks against the machine's own limits (./dev bench).
#
#   tests/bench/run.sh [--quick] [--only NAME[,NAME...]] [--keep]
#   tests/bench/run.sh --serve      (start, prepare the data, then wait:
#                                    for profiling by hand; stop with TERM)
#
# 1. builds perkd, perkctl and the baseline programs (make bench-programs);
# 2. starts a private stack in a fresh temporary directory: MariaDB
#    (tests/lib/mariadb.sh, durable: innodb_flush_log_at_trx_commit=1),
#    perkd with BENCH_THREADS (default 64) threads, the baselines bare,
#    bare-sql read and bare-sql write with as many threads, and ONE nginx
#    in front of all of them (tests/bench/nginx.conf.in) on a free port;
# 3. runs tests/bench/drive.py, which prepares the data (members, rule,
#    perks, vouchers, passes), runs wrk and raw-sql, prints one line per
#    benchmark and writes tests/bench/results/latest.json;
# 4. stops everything it started (by pid) and removes the directory
#    (--keep leaves it, with its logs, and says where).
#
# --quick: fewer, shorter repetitions (under 3 minutes); the full run
# takes under 20. Only 127.0.0.1 is used. Environment: PERKD_BUILD_DIR
# (default: the checkout), BENCH_THREADS, BENCH_KEEPALIVE (N > 0: nginx
# keeps N FastCGI connections per upstream open; default 0, as the stack),
# BENCH_BUFFER_POOL_MB (MariaDB's buffer pool for the run, default 1024:
# the test server's 64 MB is outgrown by the awards a run writes).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${PERKD_BUILD_DIR:-$repo}
threads=${BENCH_THREADS:-64}
keepalive=${BENCH_KEEPALIVE:-0}
mode=full
only=
keep=0

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) mode=quick ;;
	--full) mode=full ;;
	--only)
		only=${2:?--only needs a list of names}
		shift
		;;
	--keep) keep=1 ;;
	--serve) mode=serve ;;
	-h | --help)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
	shift
done

# ---- tools ----
if ! command -v wrk >/dev/null; then
	say "wrk is missing: installing the Debian package"
	{ apt-get update -q && apt-get install -y -q wrk; } >/dev/null ||
		die "cannot install wrk"
fi
for t in nginx mariadbd python3 make; do
	command -v "$t" >/dev/null || die "$t is not installed"
done

# ---- build ----
if [ ! -f "$build/Makefile" ]; then
	say "configuring $build"
	(cd "$repo" && [ -x configure ] || autoreconf -fi >/dev/null)
	(cd "$build" && "$repo/configure" >/dev/null)
fi
say "building perkd, perkctl and the baselines"
make -C "$build" -j2 perkd perkctl >/dev/null
make -C "$build" -j2 bench-programs >/dev/null

# ---- the private stack ----
state=$(mktemp -d /tmp/pbench.XXXXXX)
mkdir -p "$state/run" "$state/log" "$state/nginx"
pids=()

# stop_pid PID: TERM, wait up to 20 s, then KILL; only our own children.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$? pid
	set +e
	if [ -s "$state/run/nginx.pid" ]; then
		stop_pid "$(cat "$state/run/nginx.pid")"
	fi
	for pid in "${pids[@]}"; do stop_pid "$pid"; done
	"$repo/tests/lib/mariadb.sh" stop "$state/db" >/dev/null 2>&1
	# a served stack is stopped by a signal: that is its normal end
	[ $mode = serve ] && [ $rc = 130 ] && rc=0
	if [ $keep = 1 ] || [ $rc != 0 ]; then
		say "state, logs and data kept in $state"
	else
		rm -rf "$state"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_setup=$SECONDS
say "starting MariaDB in $state/db (durable: innodb_flush_log_at_trx_commit=1)"
PERKD_DB_FAST=0 "$repo/tests/lib/mariadb.sh" start "$state/db" perkd >/dev/null ||
	die "MariaDB did not start"
dbpw=$(openssl rand -hex 16)
"$repo/tests/lib/mariadb.sh" client "$state/db" <<EOF
CREATE USER IF NOT EXISTS 'perkd'@'localhost' IDENTIFIED BY '$dbpw';
GRANT ALL PRIVILEGES ON \`perkd\`.* TO 'perkd'@'localhost';
EOF

conf=$state/perkd.conf
(
	umask 077
	cat >"$conf" <<EOF
# perkd.conf of a benchmark run (tests/bench/run.sh)
socket = $state/run/perkd.sock
socket_mode = 0666
threads = $threads
db_socket = $state/db/mysqld.sock
db_name = perkd
db_user = perkd
db_password = $dbpw
resident_jwt_secret = $(openssl rand -hex 32)
subject_key = $(openssl rand -hex 32)
server_key = $(openssl rand -hex 32)
pass_seed = $(openssl rand -hex 32)
stats_min_group = 5
timezone = UTC
dev_mode = 1
EOF
)
"$build/perkctl" --config "$conf" migrate --dir "$repo/sql" >>"$state/log/perkctl.log" 2>&1 ||
	die "perkctl migrate failed (see $state/log/perkctl.log)"
"$build/perkctl" --config "$conf" demo >"$state/demo.env" 2>>"$state/log/perkctl.log" ||
	die "perkctl demo failed (see $state/log/perkctl.log)"

# start_bg NAME CMD...: a background daemon of ours, logging to log/NAME.log
start_bg() {
	local name=$1
	shift
	"$@" </dev/null >>"$state/log/$name.log" 2>&1 &
	pids+=($!)
	echo $! >"$state/run/$name.pid"
}
start_bg perkd "$build/perkd" --config "$conf"
start_bg bare "$build/tests/bench/bare" "$state/run/bare.sock" "$threads"
start_bg bare-read "$build/tests/bench/bare-sql" "$state/run/bare-read.sock" "$threads" read "$conf"
start_bg bare-write "$build/tests/bench/bare-sql" "$state/run/bare-write.sock" "$threads" write "$conf"
for s in perkd bare bare-read bare-write; do
	for ((i = 0; i < 100; i++)); do
		[ -S "$state/run/$s.sock" ] && break
		kill -0 "$(cat "$state/run/$s.pid")" 2>/dev/null ||
			die "$s exited at start (see $state/log/$s.log)"
		sleep 0.1
	done
	[ -S "$state/run/$s.sock" ] || die "$s made no socket (see $state/log/$s.log)"
done

# a free port on 127.0.0.1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
user_line=
[ "$(id -u)" = 0 ] && user_line='user root;'
ka_line=
keep_conn=off
if [ "$keepalive" -gt 0 ] 2>/dev/null; then
	ka_line="keepalive $keepalive;"
	keep_conn=on
fi
sed -e "s|@STATE@|$state|g" -e "s|@PORT@|$port|g" \
	-e "s|@USER_LINE@|$user_line|g" -e "s|@KEEPALIVE@|$ka_line|g" \
	-e "s|@KEEP_CONN@|$keep_conn|g" \
	"$here/nginx.conf.in" >"$state/nginx/nginx.conf"
nginx -p "$state/nginx/" -c "$state/nginx/nginx.conf" -e "$state/log/nginx-error.log" </dev/null ||
	die "nginx did not start (see $state/log/nginx-error.log)"
for ((i = 0; i < 50; i++)); do
	[ -s "$state/run/nginx.pid" ] && break
	sleep 0.1
done

{
	echo "PERKD_URL=http://127.0.0.1:$port"
	echo "PERKD_CONFIG=$conf"
	echo "PERKD_VAR=$state"
	echo "PERKD_DB_SOCKET=$state/db/mysqld.sock"
	echo "PERKD_RESIDENT_SECRET=$(sed -n 's/^resident_jwt_secret = //p' "$conf")"
	grep '^PERKD_[A-Z_]*=' "$state/demo.env"
	echo "BENCH_BUILD=$build"
	echo "BENCH_THREADS=$threads"
	echo "BENCH_KEEPALIVE=$keepalive"
	for s in perkd bare bare-read bare-write nginx; do
		echo "BENCH_PID_${s//-/_}=$(cat "$state/run/$s.pid")"
	done
	echo "BENCH_PID_mariadb=$(cat "$state/db/mysqld.pid")"
} >"$state/bench.env"

for ((i = 0; i < 100; i++)); do
	code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)
	[ "$code" = 200 ] && break
	sleep 0.1
done
[ "$code" = 200 ] || die "GET /readyz answers $code"

t_ready=$SECONDS
if [ $mode = serve ]; then
	BENCH_LUA=$here python3 "$here/drive.py" --env "$state/bench.env" \
		--mode quick --prepare-only
	say "serving: . $state/bench.env (data files in $state); TERM to stop"
	sleep infinity &
	wait $! || true
	exit 0
fi
mkdir -p "$here/results"
BENCH_LUA=$here python3 "$here/drive.py" --env "$state/bench.env" --mode "$mode" \
	${only:+--only "$only"} --out "$here/results/latest.json"
say "stack ready in $((t_ready - t_setup)) s; benchmarks took $((SECONDS - t_ready)) s"
