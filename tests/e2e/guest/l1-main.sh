#!/bin/bash
# Runs inside L1 (started by the image's esfm-e2e.service, which powers L1 off afterwards).
#
# usage: l1-main.sh SRC RESULTS
#   SRC      the project checkout, read-only 9p share
#   RESULTS  writable 9p share; config.env there (written by run-e2e.sh) says what to run
#
# Steps, each bounded by a timeout: copy the checkout to /root/esfm, `make all tests` there,
# load vfio-pci, start libvirtd, run each scenario (TAP into RESULTS/scenarios/NAME.tap), clean up
# whatever a scenario left behind, mark RESULTS/done. Progress lines go to RESULTS/progress and the
# serial console.
set -u
src=${1:?SRC} res=${2:?RESULTS}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C.UTF-8 HOME=/root

ESFM_E2E_SCENARIOS=
ESFM_E2E_BUILD_TIMEOUT=600
ESFM_E2E_SCENARIO_TIMEOUT=
ESFM_E2E_MAKE_JOBS=2
ESFM_E2E_L2_TYPE=
ESFM_E2E_SCENARIO_DIR=scenarios
ESFM_E2E_PROBE_ARGS=
ESFM_E2E_REPEAT=1
ESFM_E2E_INJECT_PANIC=
# shellcheck source=/dev/null
[ -f "$res/config.env" ] && . "$res/config.env"

mkdir -p "$res/scenarios" "$res/artifacts"
exec >>"$res/guest.log" 2>&1

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
progress() {
	local l
	l="$(date +%T) $*"
	echo "$l"
	echo "$l" >>"$res/progress"
	echo "esfm-e2e: $*" >/dev/console 2>/dev/null || true
}
timing() { echo "$1 $2" >>"$res/timings"; }

read -r up _ </proc/uptime
echo "$up" >"$res/started"
# Heartbeat for the host watchdog: a hung L1 (kernel or 9p) stops updating it. Detached from our
# output; stopped by pid at the end.
(
	exec </dev/null >/dev/null 2>&1
	while :; do
		date +%s >"$res/heartbeat"
		sleep 5
	done
) &
hb_pid=$!
progress "L1 up (kernel uptime ${up} s, kernel $(uname -r), $(nproc) vCPUs, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MiB)"

# --- 1. copy the checkout (without build output and git metadata) ---
t=$(now)
work=/root/esfm
rm -rf "$work"
mkdir -p "$work"
if ! timeout 300 tar -C "$src" --exclude=./build --exclude=./.git -cf - . | timeout 300 tar -C "$work" -xf -; then
	progress "copying the checkout failed"
fi
timing l1-copy "$(since "$t")"

# --- 2. build esfm inside L1 (-k: one broken unit test must not keep the tools from being built;
#     the build still counts as failed) ---
t=$(now)
progress "building esfm in L1: make -k -j$ESFM_E2E_MAKE_JOBS tools"
timeout --kill-after=10 "$ESFM_E2E_BUILD_TIMEOUT" make -k -C "$work" -j"$ESFM_E2E_MAKE_JOBS" tools \
	>"$res/build.log" 2>&1
rc=$?
echo "$rc" >"$res/build.rc"
timing l1-build "$(since "$t")"
if [ "$rc" = 0 ]; then
	progress "build ok ($(since "$t") s)"
else
	[ "$rc" = 124 ] && progress "build TIMED OUT after $ESFM_E2E_BUILD_TIMEOUT s" ||
		progress "build FAILED (exit $rc), see build.log"
fi

# --- 3. platform: vfio-pci, libvirtd ---
t=$(now)
modprobe vfio-pci || progress "modprobe vfio-pci failed"
timeout 120 systemctl start libvirtd.service || progress "systemctl start libvirtd failed"
ok=
for _ in $(seq 1 120); do
	if timeout 10 virsh -c qemu:///system version >/dev/null 2>&1; then ok=1; break; fi
	sleep 1
done
timing l1-libvirtd "$(since "$t")"
[ -n "$ok" ] && progress "libvirtd ready ($(since "$t") s)" || progress "libvirtd NOT ready after 120 s"

# --- 4. scenarios ---
# Whatever a scenario left behind (it must clean up itself) is removed here so the next one starts
# from a clean L1: domains, VFs (their drivers and driver_override), numvfs back to 0.
sweep() {
	local d left=
	for d in $(timeout 30 virsh -c qemu:///system list --all --name 2>/dev/null); do
		left="$left domain:$d"
		timeout 30 virsh -c qemu:///system destroy "$d" >/dev/null 2>&1
		timeout 30 virsh -c qemu:///system undefine "$d" >/dev/null 2>&1
	done
	local pf vf
	for pf in /sys/bus/pci/devices/*; do
		[ -f "$pf/sriov_numvfs" ] || continue
		[ "$(cat "$pf/sriov_numvfs")" = 0 ] && continue
		left="$left numvfs:${pf##*/}=$(cat "$pf/sriov_numvfs")"
		for vf in "$pf"/virtfn*; do
			[ -e "$vf/driver" ] && echo "$(basename "$(readlink -f "$vf")")" >"$vf/driver/unbind"
			echo >"$vf/driver_override" 2>/dev/null
		done
		timeout 60 sh -c "echo 0 >'$pf/sriov_numvfs'"
		echo 1 >"$pf/sriov_drivers_autoprobe" 2>/dev/null
	done
	printf '%s' "$left"
}
sweep >/dev/null

# shellcheck source=../lib/timeout.sh
. "$work/tests/e2e/lib/timeout.sh"

# ESFM_E2E_REPEAT rounds of every scenario in this one L1 boot (stress mode); a round's results
# are keyed NAME.rN when there is more than one round.
run_scenario() { # name key
	local name=$1 key=$2 script tap art t rc secs left
	local limit
	script=$work/tests/e2e/$ESFM_E2E_SCENARIO_DIR/$name.sh
	limit=$(e2e_scenario_timeout "$script")
	tap=$res/scenarios/$key.tap
	art=$res/artifacts/$key
	mkdir -p "$art"
	progress "scenario $key: start"
	t=$(now)
	if [ -n "${ESFM_E2E_INJECT_PANIC:-}" ] && [ "$ESFM_E2E_INJECT_PANIC" = "$name" ]; then
		progress "scenario $key: crashing L1's kernel as asked (ESFM_E2E_INJECT_PANIC)"
		sync
		echo c >/proc/sysrq-trigger
	fi
	if [ ! -x "$script" ]; then
		printf 'not ok 1 - %s is not an executable file (chmod +x)\n1..1\n' "$script" >"$tap"
		echo 126 >"$res/scenarios/$key.rc"
		timing "scenario:$key" 0.0
		progress "scenario $key: not executable"
		return
	fi
	(
		cd "$work" || exit 1
		export ESFM_E2E_SRC=$work ESFM_E2E_BUILD=$work/build/release ESFM_E2E_ARTIFACTS=$art
		export ESFM_E2E_WORK=/var/tmp/esfm-e2e/$name ESFM_TEMPLATE_DIR=$work/xml-templates
		export ESFM_E2E_L2_TYPE ESFM_E2E_PROBE_ARGS ESFM_E2E_L2_BOOTLOG=$res/l2-boots
		export ESFM_E2E_KEY=$key
		rm -rf "$ESFM_E2E_WORK"
		mkdir -p "$ESFM_E2E_WORK"
		exec timeout --kill-after=15 "$limit" "$script" </dev/null
	) >"$tap" 2>"$art/stderr.log"
	rc=$?
	secs=$(since "$t")
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "not ok - scenario timed out after $limit s (killed)" >>"$tap"
	fi
	left=$(sweep)
	if [ -n "$left" ]; then
		echo "# left behind (cleaned up by the runner):$left" >>"$tap"
		[ "$rc" = 0 ] && rc=99
	fi
	echo "$rc" >"$res/scenarios/$key.rc"
	timing "scenario:$key" "$secs"
	progress "scenario $key: exit $rc ($secs s)"
}

for round in $(seq 1 "$ESFM_E2E_REPEAT"); do
	for name in $ESFM_E2E_SCENARIOS; do
		if [ "$ESFM_E2E_REPEAT" = 1 ]; then run_scenario "$name" "$name"; else run_scenario "$name" "$name.r$round"; fi
	done
done

sync
progress "all done"
kill "$hb_pid" 2>/dev/null
wait "$hb_pid" 2>/dev/null
touch "$res/done"
sync
exit 0
