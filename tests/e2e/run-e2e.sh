#!/bin/bash
# The nested end-to-end test bed (make e2e). See tests/e2e/README.md.
#
# Host side: builds (or reuses) the L1 image, boots L1 under TCG with an emulated SR-IOV NVMe PF
# behind an emulated IOMMU, shares this checkout (read-only) and a results dir into it over 9p,
# waits for L1 to run tests/e2e/guest/l1-main.sh and power off (a watchdog kills the L1 QEMU by pid
# when a deadline passes), then prints each scenario's TAP, the timings and "N passed, N failed,
# N skipped".
#
# env: ESFM_E2E_CACHE             image cache and last run's logs (default /var/tmp/esfm-e2e)
#      ESFM_E2E_ONLY=REGEX        run only the scenarios whose name matches (grep -E), e.g. 02
#      ESFM_E2E_TIMEOUT           host watchdog for the whole L1 run, seconds (default: computed)
#      ESFM_E2E_BOOT_TIMEOUT      L1 must reach the test script within this (default 300)
#      ESFM_E2E_BUILD_TIMEOUT     make all tests inside L1 (default 600)
#      ESFM_E2E_SCENARIO_TIMEOUT  per scenario (default: the scenario's "# e2e-timeout: SECS" line, else 300)
#      ESFM_E2E_HANG_TIMEOUT      L1 counts as hung when its heartbeat stops this long (default 90)
#      ESFM_E2E_L1_ATTEMPTS       L1 runs when L1 hangs, does not boot or panics (default 2)
#      ESFM_E2E_INJECT_PANIC=NAME crash L1's kernel as scenario NAME starts (first L1 run only):
#                                 tests the retry
#      ESFM_E2E_MIRROR            Debian mirror for the image (default: from /etc/apt sources)
#      ESFM_E2E_L2_TYPE           kvm or qemu: domain type of the L2 guests (default: kvm if usable)
#      ESFM_E2E_REPEAT=N          stress mode: every selected scenario N times in one L1 boot
#      ESFM_E2E_PROBE=NAME        run the measurement tests/e2e/probes/NAME.sh instead of scenarios
#      ESFM_E2E_PROBE_ARGS        its arguments (key=value words, see the probe)
# exit: 0 all passed, 1 a scenario or the L1 run failed, 2 setup error (image, tools, selection).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${ESFM_E2E_CACHE:-/var/tmp/esfm-e2e}
boot_timeout=${ESFM_E2E_BOOT_TIMEOUT:-300}
build_timeout=${ESFM_E2E_BUILD_TIMEOUT:-600}
hang_timeout=${ESFM_E2E_HANG_TIMEOUT:-90}
repeat=${ESFM_E2E_REPEAT:-1}

say() { printf 'e2e: %s\n' "$*"; }
die() { printf 'e2e: error: %s\n' "$*" >&2; exit 2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

case $repeat in '' | *[!0-9]* | 0) die "ESFM_E2E_REPEAT must be a positive number, not '$repeat'" ;; esac
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap for the image; QEMU)"

# --- scenarios (first: a bad selection must not cost an image build and a boot) ---
# ESFM_E2E_PROBE=NAME runs tests/e2e/probes/NAME.sh instead (measurements, not tests).
scenarios=()
scen_dir=scenarios
if [ -n "${ESFM_E2E_PROBE:-}" ]; then
	scen_dir=probes
	[ -x "$here/probes/$ESFM_E2E_PROBE.sh" ] || die "no probe $here/probes/$ESFM_E2E_PROBE.sh"
	scenarios=("$ESFM_E2E_PROBE")
fi
for f in "$here"/scenarios/[0-9][0-9]-*.sh; do
	[ -z "${ESFM_E2E_PROBE:-}" ] || break
	[ -f "$f" ] || continue
	n=$(basename "$f" .sh)
	if [ -n "${ESFM_E2E_ONLY:-}" ] && ! grep -qE -- "$ESFM_E2E_ONLY" <<<"$n"; then continue; fi
	[ -x "$f" ] || say "warning: scenario $n is not executable: it will fail (chmod +x)"
	scenarios+=("$n")
done
[ ${#scenarios[@]} -gt 0 ] || die "no scenario matches ESFM_E2E_ONLY='${ESFM_E2E_ONLY:-}' in $here/scenarios"
say "scenarios: ${scenarios[*]}"

# Each scenario's time limit: ESFM_E2E_SCENARIO_TIMEOUT, else its own "# e2e-timeout: SECS" line
# (a scenario that boots several L2 guests one after another needs more), else 300 s. The host
# watchdog allows their sum plus 60 s per scenario for the runner's cleanup.
# shellcheck source=lib/timeout.sh
. "$here/lib/timeout.sh"
scenario_secs=0
for n in "${scenarios[@]}"; do
	scenario_secs=$((scenario_secs + $(e2e_scenario_timeout "$here/$scen_dir/$n.sh") + 60))
done

# --- host tools (CI runs on a fresh machine) ---
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v flock >/dev/null || need+=(util-linux)
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
	say "installing on the host: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 600 apt-get update -q >/dev/null || die "apt-get update failed"
	timeout 1200 apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
		die "apt-get install ${need[*]} failed"
fi

mkdir -p "$cache" || die "cannot create $cache"
exec 9>"$cache/lock"
flock -n 9 || {
	say "waiting for another e2e run using $cache (lock)"
	flock -w 3600 9 || die "could not lock $cache/lock"
}

# An L1 QEMU of an earlier run that was itself killed (so its exit trap never ran) is stopped
# here, by its recorded pid, after checking that the pid is still that QEMU.
if [ -s "$cache/last-run/qemu.pid" ]; then
	old=$(cat "$cache/last-run/qemu.pid")
	if tr '\0' ' ' 2>/dev/null <"/proc/$old/cmdline" | grep -q -- "-name esfm-e2e-l1 .*$cache/l1.img"; then
		say "stopping the L1 QEMU of an earlier, interrupted run (pid $old)"
		kill -KILL "$old" 2>/dev/null
	fi
fi

# --- everything we start is stopped by pid on any exit ---
qemu_pid=
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		say "stopping L1 QEMU (pid $qemu_pid)"
		kill -TERM "$qemu_pid" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$qemu_pid" 2>/dev/null
		wait "$qemu_pid" 2>/dev/null
	fi
	qemu_pid=
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

# --- the L1 image, rebuilt only when its inputs change ---
stamp=$(cat "$here/image/packages.txt" "$here/image/build-image.sh" | sha256sum | cut -c1-16)
t=$(now)
if [ "$(cat "$cache/l1.stamp" 2>/dev/null)" = "$stamp" ] && [ -s "$cache/l1.img" ] &&
	[ -s "$cache/vmlinuz" ] && [ -s "$cache/initrd.img" ]; then
	image_note="cached"
else
	say "building the L1 image ($cache/l1.img, stamp $stamp); takes about 2 minutes"
	rm -f "$cache/l1.stamp"
	timeout --kill-after=30 2400 "$here/image/build-image.sh" "$cache" 2>&1 | sed 's/^/e2e: /' ||
		die "building the L1 image failed"
	echo "$stamp" >"$cache/l1.stamp"
	image_note="built"
fi
image_secs=$(since "$t")
say "L1 image $image_note ($image_secs s)"

# Nested KVM in L1 runs on TCG's emulation of AMD SVM. With its nested paging and virtual GIF, about
# one L2 boot in ten hung and L1 itself sometimes crashed ("BUG: TASK stack guard page was hit" in
# the "CPU 0/KVM" thread, then a panic); with both off (shadow paging in L1's KVM) 45 of 45 L2
# boots went through (15-24 s each instead of 12-15 s).
l1_kvm_args="kvm_amd.npt=0 kvm_amd.vgif=0"

# --- one L1 run: boot, relay progress, watch (sets run, res, why, boot_secs, l1_secs) ---
boot_l1() {
	# --- this run's directory: results share, console, logs (kept until the next run) ---
	run=$cache/last-run
	rm -rf "$run"
	mkdir -p "$run/results"
	res=$run/results
	truncate -s 16M "$run/nvme-ns.img"
	{
		printf 'ESFM_E2E_SCENARIOS=%q\n' "${todo[*]}"
		printf 'ESFM_E2E_BUILD_TIMEOUT=%q\n' "$build_timeout"
		printf 'ESFM_E2E_SCENARIO_TIMEOUT=%q\n' "${ESFM_E2E_SCENARIO_TIMEOUT:-}"
		printf 'ESFM_E2E_MAKE_JOBS=2\n'
		printf 'ESFM_E2E_L2_TYPE=%q\n' "${ESFM_E2E_L2_TYPE:-}"
		printf 'ESFM_E2E_SCENARIO_DIR=%q\n' "$scen_dir"
		printf 'ESFM_E2E_PROBE_ARGS=%q\n' "${ESFM_E2E_PROBE_ARGS:-}"
		printf 'ESFM_E2E_REPEAT=%q\n' "$repeat"
		# a test of the retry itself: L1's kernel crashes when this scenario starts, first try only
		[ "$attempt" = 1 ] && printf 'ESFM_E2E_INJECT_PANIC=%q\n' "${ESFM_E2E_INJECT_PANIC:-}"
	} >"$res/config.env"

	total_timeout=${ESFM_E2E_TIMEOUT:-$((boot_timeout + build_timeout + 180 + repeat * scenario_secs + 120))}

	# --- boot L1 (FACTS.md section 5) ---
	qemu=(
		qemu-system-x86_64 -name esfm-e2e-l1
		-machine q35,kernel-irqchip=split -accel tcg,thread=multi -cpu max -smp 2 -m 4096
		-device intel-iommu,intremap=on,caching-mode=on
		-nodefaults -no-user-config -display none -no-reboot
		-kernel "$cache/vmlinuz" -initrd "$cache/initrd.img"
		-append "root=/dev/vda rw console=ttyS0,115200 intel_iommu=on iommu=pt panic=-1 esfm.e2e=1 $l1_kvm_args"
		-drive "file=$cache/l1.img,if=virtio,format=raw,snapshot=on,cache=unsafe"
		-device pcie-root-port,id=rp0,chassis=1,slot=1
		-device nvme-subsys,id=subsys0,nqn=nqn.2024-01.io.esfm:e2e
		-device "nvme,id=nvme0,serial=esfme2e0001,bus=rp0,subsys=subsys0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=12,msix_qsize=16"
		-drive "file=$run/nvme-ns.img,if=none,id=nsdrv0,format=raw"
		-device nvme-ns,drive=nsdrv0,bus=nvme0,nsid=1,detached=on
		-virtfs "local,path=$top,mount_tag=esfm-src,security_model=none,readonly=on"
		-virtfs "local,path=$res,mount_tag=esfm-results,security_model=none"
		-serial "file:$run/console.log"
	)
	# A monitor socket for debugging a stuck L1 (e.g. python3 or socat to "info cpus"); unix socket
	# paths are limited to 107 bytes.
	if [ ${#run} -lt 90 ]; then
		qemu+=(-monitor "unix:$run/monitor.sock,server=on,wait=off")
	else
		qemu+=(-monitor none)
	fi
	printf '%q ' "${qemu[@]}" >"$run/qemu.cmdline"
	say "booting L1 (TCG, 2 vCPUs, 4 GiB); console: $run/console.log; watchdog ${total_timeout} s"
	t_boot=$(now)
	# QEMU inherits no fd of ours (no stdin/stdout/stderr, no lock, no make jobserver pipe): nothing
	# of it may hold the caller's pipe or our lock if it ever outlives us.
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done 2>/dev/null
		exec "${qemu[@]}"
	) </dev/null >"$run/qemu.log" 2>&1 &
	qemu_pid=$!
	echo "$qemu_pid" >"$run/qemu.pid"

	alive() { kill -0 "$qemu_pid" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$qemu_pid/stat" 2>/dev/null)" != Z ]; }
	boot_secs='' done_at='' seen=0 why=''
	deadline=$(($(date +%s) + total_timeout))
	while alive; do
		if [ -z "$boot_secs" ] && [ -f "$res/started" ]; then
			boot_secs=$(since "$t_boot")
		fi
		# relay the guest's progress lines
		if [ -f "$res/progress" ]; then
			n=$(wc -l <"$res/progress")
			if [ "$n" -gt "$seen" ]; then
				sed -n "$((seen + 1)),${n}p" "$res/progress" | sed 's/^/e2e: l1: /'
				seen=$n
			fi
		fi
		[ -z "$done_at" ] && [ -f "$res/done" ] && done_at=$(date +%s)
		nowi=$(date +%s)
		if [ -z "$done_at" ] && [ -f "$res/heartbeat" ] &&
			[ $((nowi - $(stat -c %Y "$res/heartbeat"))) -ge "$hang_timeout" ]; then
			why="L1 hung: no heartbeat for $hang_timeout s"
			break
		fi
		if [ -z "$boot_secs" ] && [ "$nowi" -ge "$(awk -v a="$t_boot" -v b="$boot_timeout" 'BEGIN { printf "%d", a + b }')" ]; then
			why="L1 did not reach the test script within $boot_timeout s"
			break
		fi
		if [ -n "$done_at" ] && [ "$nowi" -ge $((done_at + 60)) ]; then
			why="L1 finished but did not power off within 60 s"
			break
		fi
		if [ "$nowi" -ge "$deadline" ]; then
			why="L1 did not finish within $total_timeout s (watchdog)"
			break
		fi
		sleep 1
	done
	if [ -n "$why" ]; then
		say "$why: killing L1 QEMU (pid $qemu_pid)"
		cleanup
	else
		wait "$qemu_pid" 2>/dev/null
		qemu_rc=$?
		qemu_pid=
		[ "$qemu_rc" = 0 ] || say "L1 QEMU exited $qemu_rc: $(tail -n 5 "$run/qemu.log")"
	fi
	l1_secs=$(since "$t_boot")
	[ -f "$res/progress" ] && sed -n "$((seen + 1)),\$p" "$res/progress" | sed 's/^/e2e: l1: /'
	# L1's kernel panicked (it then powers off: panic=-1 with -no-reboot): say what it hit.
	if [ -z "$why" ] && [ ! -f "$res/done" ] && grep -aq 'Kernel panic - not syncing' "$run/console.log"; then
		why="L1 kernel panic: $(grep -a -m1 -E 'BUG:|Oops|general protection|Kernel panic' "$run/console.log" |
			tr -d '\r' | sed 's/^\[[ 0-9.]*\] //')"
	fi
}

# An L1 that dies is an emulator failure, not a test result: L1 hangs (no heartbeat), never
# reaches the test script, or its kernel panics (nested KVM runs on TCG's emulation of AMD SVM,
# which now and then corrupts L1: README, "Nested KVM on TCG"). Such a run is retried once
# (ESFM_E2E_L1_ATTEMPTS) in a fresh L1 with only the scenarios that had not finished: a finished
# scenario keeps its result, pass or fail, and the one L1 died in runs again from its start. The
# report names every retry, its cause and where its logs are. Stress mode (ESFM_E2E_REPEAT) never
# retries: it is there to measure.
l1_attempts=${ESFM_E2E_L1_ATTEMPTS:-2}
[ "$repeat" = 1 ] || l1_attempts=1
rm -rf "$cache"/last-run.failed-*
attempt=0 retried=() todo=("${scenarios[@]}")
declare -A result_dir=() # scenario -> results dir of the attempt that finished it
while :; do
	attempt=$((attempt + 1))
	boot_l1
	case $why in
	"L1 hung"* | "L1 did not reach"* | "L1 kernel panic"*) ;;
	*) break ;;
	esac
	[ "$attempt" -lt "$l1_attempts" ] || break
	kept=$cache/last-run.failed-$attempt
	rest=() cut=''
	for n in "${todo[@]}"; do
		if [ -f "$res/scenarios/$n.rc" ]; then
			result_dir[$n]=$kept/results
		else
			[ -n "$cut" ] || cut=$n
			rest+=("$n")
		fi
	done
	[ ${#rest[@]} -gt 0 ] || break
	retried+=("L1 attempt $attempt: $why${cut:+ (during $cut)}; rerun in a fresh L1: ${rest[*]}; logs kept in $kept")
	rm -rf "$kept"
	mv "$run" "$kept"
	todo=("${rest[@]}")
	say "$why: retrying L1 with ${todo[*]} (attempt $((attempt + 1)) of $l1_attempts)"
done
for n in "${todo[@]}"; do result_dir[$n]=$res; done

# --- report ---
passed=0 failed=0 skipped=0
infra_fail() {
	failed=$((failed + 1))
	echo "not ok - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}
echo
for r in "${retried[@]}"; do echo "# $r"; done
if [ -n "$why" ] || [ ! -f "$res/done" ]; then
	infra_fail "L1 run: ${why:-L1 stopped before finishing}" "console tail ($run/console.log):" \
		"$(tail -n 25 "$run/console.log" 2>/dev/null | tr -d '\r' | sed 's/\x1b\[[0-9;]*[a-zA-Z]//g')"
fi
if [ -f "$res/build.rc" ] && [ "$(cat "$res/build.rc")" != 0 ]; then
	infra_fail "esfm build inside L1 (make all tests, exit $(cat "$res/build.rc"))" \
		"$( (grep -E -B3 -A2 '(error|Error)[: ]|\*\*\*' "$res/build.log" || tail -n 30 "$res/build.log") 2>/dev/null |
			head -n 40)"
fi
keys=()
for r in $(seq 1 "$repeat"); do
	for n in "${scenarios[@]}"; do
		if [ "$repeat" = 1 ]; then keys+=("$n"); else keys+=("$n.r$r"); fi
	done
done
declare -A npass=()
for n in "${keys[@]}"; do
	rdir=${result_dir[$n]:-$res}
	tap=$rdir/scenarios/$n.tap
	rc=$(cat "$rdir/scenarios/$n.rc" 2>/dev/null || echo "not run")
	secs=$(awk -v k="scenario:$n" '$1 == k { print $2 }' "$rdir/timings" 2>/dev/null)
	echo "# ---- $n (${secs:-?} s, exit $rc)"
	[ -f "$tap" ] && cat "$tap"
	err=$rdir/artifacts/$n/stderr.log
	if [ -s "$err" ]; then
		echo "# stderr:"
		tail -n 20 "$err" | sed 's/^/#   /'
	fi
	# A scenario that cannot run here ("1..0 # SKIP why", e.g. 40-pause without a patched QEMU)
	# counts as skipped, never as passed.
	if [ "$rc" = 0 ] && [ -f "$tap" ] && grep -qE '^1\.\.0 # SKIP' "$tap"; then
		skipped=$((skipped + 1))
	elif [ "$rc" = 0 ] && [ -f "$tap" ] && ! grep -q '^not ok' "$tap" && grep -qE '^1\.\.[0-9]+' "$tap"; then
		passed=$((passed + 1))
		npass[${n%.r[0-9]*}]=$((${npass[${n%.r[0-9]*}]:-0} + 1))
	else
		failed=$((failed + 1))
		echo "# FAILED: $n"
	fi
done
if [ "$repeat" -gt 1 ]; then
	echo
	echo "# stress mode: $repeat rounds in one L1 boot; passes per scenario and its times (s):"
	for n in "${scenarios[@]}"; do
		printf '#   %-16s %s/%s  %s\n' "$n" "${npass[$n]:-0}" "$repeat" \
			"$(awk -v p="scenario:$n.r" 'index($1, p) == 1 { printf "%s ", $2 }' "$res/timings" 2>/dev/null)"
	done
fi
# Every L2 Linux boot of the run (tests/e2e/lib/l2.sh records them): how long, and how many tries.
boots=$(cat "$cache"/last-run.failed-*/results/l2-boots "$res/l2-boots" 2>/dev/null)
if [ -n "$boots" ]; then
	echo
	printf '%s\n' "$boots" | awk '{ n++; t += $3; if ($3 > mx) mx = $3; if (mn == "" || $3 < mn) mn = $3; if ($4 > 1) r += $4 - 1; if ($5 != "ready") f++ }
		END { printf "# L2 Linux boots: %d, ready after %.1f s on average (min %.1f, max %.1f), boot retries %d, never ready %d\n", n, t / n, mn, mx, r, f }'
fi

echo
echo "# L1 runs: $attempt (retries $((attempt - 1)))"
echo "# timings (s):"
printf '#   %-28s %s (%s)\n' "image" "$image_secs" "$image_note"
printf '#   %-28s %s\n' "l1-boot" "${boot_secs:-never}"
if [ -f "$res/timings" ]; then
	while read -r k v; do printf '#   %-28s %s\n' "$k" "$v"; done <"$res/timings"
fi
printf '#   %-28s %s\n' "l1-total (boot to poweroff)" "$l1_secs"
echo "# logs: $run"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
