#!/usr/bin/env bash
# make fuzz: run every libFuzzer harness built in $1/tests/fuzz (fuzz-<name>) for
# ESFM_FUZZ_RUNS executions (default 10^6), starting from tests/fuzz/corpus/<name>/ and
# tests/fuzz/<name>.dict. New inputs go to $1/fuzz/corpus/<name>/ (the source tree is not
# touched); crashes, leaks and timeouts to $1/fuzz/findings/<name>/: copy one into
# tests/fuzz/corpus/<name>/ once fixed, and `make check` replays it from then on.
# Prints per harness the executions libFuzzer reports, the seconds and the findings; fails
# on any finding or on fewer executions than asked for.
set -u
build=${1:-build/fuzz}
top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${ESFM_FUZZ_RUNS:-1000000}
cd "$top" || exit 1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0 total_s=0
for bin in "$build"/tests/fuzz/fuzz-*; do
	[ -x "$bin" ] || continue
	name=${bin##*/fuzz-}
	work=$build/fuzz/corpus/$name
	findings=$build/fuzz/findings/$name
	log=$build/fuzz/$name.log
	rm -rf "$findings"
	mkdir -p "$work" "$findings"
	args=(-runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$findings/")
	[ -f "tests/fuzz/$name.dict" ] && args+=(-dict="tests/fuzz/$name.dict")
	t0=$(date +%s.%N)
	"$bin" "${args[@]}" "$work" "tests/fuzz/corpus/$name" >"$log" 2>&1
	rc=$?
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	execs=${execs:-0}
	nfind=$(find "$findings" -type f | wc -l)
	printf 'fuzz %-9s %9d execs in %6.1f s (%6.0f/s), %d findings, corpus %d files%s\n' \
		"$name" "$execs" "$secs" "$(awk -v e="$execs" -v s="$secs" 'BEGIN { print (s > 0 ? e / s : 0) }')" "$nfind" \
		"$(find "$work" -type f | wc -l)" "$([ "$rc" = 0 ] || echo ", exit $rc: see $log")"
	total_s=$(awk -v a="$total_s" -v b="$secs" 'BEGIN { print a + b }')
	if [ "$rc" != 0 ] || [ "$nfind" != 0 ] || [ "$execs" -lt "$runs" ]; then
		status=1
		ls "$findings" | sed 's/^/    finding: /'
	fi
done
printf 'fuzz: %.0f s in all, %s\n' "$total_s" "$([ $status = 0 ] && echo "0 findings" || echo FAILED)"
exit $status
