#!/usr/bin/env bash
# Run every test of `make check`: cmocka unit tests, the replay of the fuzz corpora
# (tests/fuzz/corpus), then the integration scripts (simulator, private libvirtd), all
# against the sanitized build in $1. Every test prints TAP with its plan (1..N), which
# must match the results it printed; the last line counts what ran.
set -u
build=${1:-build/check}
top=$(cd "$(dirname "$0")/.." && pwd)
export ESFM_TOP=$top
export ESFM_BUILD=$top/$build
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
only=${ESFM_TEST_ONLY:-}

passed=0 failed=0 skipped=0 broken=()
logdir=$(mktemp -d /tmp/esfm-check.XXXXXX)

run_one() {
	local name=$1; shift
	local log=$logdir/$(basename "$name").log
	local rc p f s plan ran
	printf '== %s\n' "$name"
	"$@" >"$log" 2>&1
	rc=$?
	p=$(grep -cE '^ok [0-9]+' "$log" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$log" | head -1)
	# The plan ("1..N", one per TAP stream) says how many results to expect: a script
	# that stops early, even with exit 0, prints fewer (or no plan at all).
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
	ran=$((p + f))
	p=$((p - s))
	grep -E '^(not ok|ok [0-9]+.*# SKIP)' "$log" | sed 's/^/   /'
	if ! grep -qE '^1\.\.[0-9]+' "$log"; then
		f=$((f + 1))
		echo "   not ok - $name printed no TAP plan (1..N): it stopped early (exit $rc):"
		tail -n 20 "$log" | sed 's/^/     | /'
	elif [ "$plan" -ne "$ran" ]; then
		f=$((f + 1))
		echo "   not ok - $name planned $plan tests but reported $ran (exit $rc):"
		tail -n 20 "$log" | sed 's/^/     | /'
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "   not ok - $name exited $rc without reporting a failed test:"
		tail -n 20 "$log" | sed 's/^/     | /'
	elif [ "$f" -ne 0 ]; then
		grep -E -A12 '^not ok' "$log" | grep -E '^#' | head -40 | sed 's/^/     | /'
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "   not ok - $name ran no test"
	fi
	printf '   %d passed, %d failed, %d skipped\n' "$p" "$f" "$s"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" -eq 0 ] || broken+=("$name")
}

for t in "$ESFM_BUILD"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *"$only"*) ;; *) continue ;; esac
	run_one "unit/$(basename "$t")" "$t"
done
for t in "$ESFM_BUILD"/tests/fuzz/replay-*; do
	[ -x "$t" ] || continue
	case "$t" in *"$only"*) ;; *) continue ;; esac
	n=${t##*/replay-}
	run_one "fuzz/$n" "$t" "$top/tests/fuzz/corpus/$n"
done
for t in "$top"/tests/integration/*.sh; do
	[ -x "$t" ] || continue
	case "$t" in *"$only"*) ;; *) continue ;; esac
	run_one "integration/$(basename "$t" .sh)" "$t"
done

# The patched QEMU's own tests run when `make qemu` has built it for the current
# qemu/patches and configure line (found in its cache without network access).
qemu_bin=$("$top"/qemu/esfm-qemu.sh path 2>/dev/null) || qemu_bin=
for t in "$top"/tests/qemu/*.py; do
	case "$t" in *"$only"*) ;; *) continue ;; esac
	if [ -n "$qemu_bin" ]; then
		run_one "qemu/$(basename "$t" .py)" /usr/bin/python3 "$t" "$qemu_bin"
	else
		echo "== qemu/$(basename "$t" .py): skipped, no patched QEMU built for the current qemu/patches (make qemu)"
		skipped=$((skipped + 1))
	fi
done

echo
[ ${#broken[@]} -eq 0 ] || printf 'failed: %s\n' "${broken[*]}"
echo "logs: $logdir"
echo "check: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
