#!/usr/bin/env bash
# run.sh [SECONDS] [TARGET...]: build the libFuzzer targets with clang
# (-fsanitize=fuzzer,address,undefined) and run each for SECONDS (default
# 60) on a copy of its committed seed corpus. Prints one line per target:
# executions, seconds, new corpus entries and crashes; exits non-zero on
# any crash (the crashing input is kept under $PERKD_FUZZ_OUT/crashes).
# Used by `./dev fuzz [SECONDS]` and, briefly, by `./dev test`, which
# counts the closing line `fuzz: N passed, N failed` (a target passes when it
# builds, runs its time out and leaves no crash).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_req fuzz_jwt fuzz_text fuzz_cursor fuzz_codes)
out=${PERKD_FUZZ_OUT:-$top/test-output/fuzz}
build=$out/build
mkdir -p "$build/obj" "$out/crashes"
command -v clang >/dev/null || { echo "fuzz: clang is required (apt-get install clang)" >&2; exit 1; }
[ -f "$top/config.h" ] || { echo "fuzz: configure the tree first (./dev test does)" >&2; exit 1; }

CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -I$top -DPERKD_SQLDIR=\"$top/sql\" \
	$(pkg-config --cflags libmariadb libcjson libsodium libqrencode fcgi 2>/dev/null || true)"
LIBS="$(pkg-config --libs libmariadb libcjson libsodium libqrencode) $(pkg-config --libs fcgi 2>/dev/null || echo -lfcgi) -lpthread -lm"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

# every library source below cli/, instrumented for coverage (not perkd's
# main); all of them again when a header or config.h changed
shopt -s nullglob
objs=()
stamp=$build/obj/.headers
for h in config.h sql/*.h loyalty/*.h catalog/*.h fcgi/*.h; do
	if [ ! -f "$stamp" ] || [ "$top/$h" -nt "$stamp" ]; then
		rm -f "$build"/obj/*.o
		touch "$stamp"
		break
	fi
done
for s in sql/*.c loyalty/*.c catalog/*.c fcgi/*.c; do
	case "$s" in fcgi/main.c) continue;; esac
	o="$build/obj/$(echo "$s" | tr / _).o"
	if [ ! -f "$o" ] || [ "$top/$s" -nt "$o" ]; then
		# shellcheck disable=SC2086
		clang $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$top/$s" -o "$o"
	fi
	objs+=("$o")
done

fail=0
passed=0
failed=0
for t in "${targets[@]}"; do
	# shellcheck disable=SC2086
	if ! clang $CFLAGS $SAN -fsanitize=fuzzer "$top/tests/fuzz/$t.c" "${objs[@]}" $LIBS -o "$build/$t"; then
		echo "$t: does not build"
		fail=1
		failed=$((failed + 1))
		continue
	fi
	corpus="$out/corpus/$t"
	mkdir -p "$corpus"
	seeds="$top/tests/fuzz/corpus/${t#fuzz_}"
	[ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
	before=$(ls "$corpus" | wc -l)
	log="$out/$t.log"
	if "$build/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/crashes/$t-" "$corpus" >"$log" 2>&1; then
		status=0
	else
		status=1
	fi
	runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || echo 0)
	after=$(ls "$corpus" | wc -l)
	crashes=$(ls "$out/crashes" | grep -c "^$t-" || true)
	printf '%-12s %10s execs in %ss, corpus %s -> %s, crashes %s\n' \
		"$t" "$runs" "$secs" "$before" "$after" "$crashes"
	if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		fail=1
		failed=$((failed + 1))
		tail -30 "$log"
	else
		passed=$((passed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
exit $fail
