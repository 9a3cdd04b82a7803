#!/bin/bash
# e2e-timeout: 3000
# Probe, not a test: measures how L2 Linux guests boot under nested KVM in L1, one at a time and
# several at once, and records what a guest that has not booted is doing. Run it with
#   ESFM_E2E_PROBE=l2-boot tests/e2e/run-e2e.sh
# Findings go to tests/e2e/README.md. Everything is printed as TAP comment lines plus one check
# per boot (so a run that could not measure at all shows as failed).
#
# env (from the host, through config.env): ESFM_E2E_PROBE_ARGS, words of the form key=value:
#   n=3            guests per round
#   rounds=seq,par which rounds to run (seq: one after another, next when the previous is ready;
#                  par: all started at once); ROUND@ARGS runs it with those extra L2 kernel
#                  arguments (+ for a space), e.g. seq@mitigations=off+nokaslr
#   wait=180       seconds a boot may take before it counts as not booted (it is left running:
#                  the probe only watches, to see whether it is slow or stuck)
#   patience=0     after a boot missed $wait, watch it this many seconds more (slow or stuck?)
#   cmdline=...    extra L2 kernel arguments (default: none; e.g. "loglevel=7" to see progress)
#   vcpus=1 mem=256
. "$(dirname "$0")/../lib/common.sh"
. "$E2E_LIB/l2.sh"

n=3 rounds=seq,par wait=180 patience=0 cmdline='' vcpus=1 mem=256
for kv in ${ESFM_E2E_PROBE_ARGS:-}; do
	case $kv in
	n=* | rounds=* | wait=* | patience=* | vcpus=* | mem=*) eval "${kv%%=*}=\${kv#*=}" ;;
	cmdline=*) cmdline=${kv#cmdline=} cmdline=${cmdline//,/ } ;;
	*) t_diag "unknown probe argument $kv" ;;
	esac
done
names=()
for i in $(seq 0 $((n - 1))); do names+=("probe$i"); done
trap 'for d in "${names[@]}"; do e2e_destroy_domain "$d"; done' EXIT

t_diag "L1: $(nproc) vCPUs, kernel $(uname -r), cmdline: $(cat /proc/cmdline)"
t_diag "kvm_amd: npt=$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null) vgif=$(cat /sys/module/kvm_amd/parameters/vgif 2>/dev/null) nested=$(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null) avic=$(cat /sys/module/kvm_amd/parameters/avic 2>/dev/null)"
t_diag "L2 type $(l2_virt_type), vcpus $vcpus, memory $mem MiB, extra cmdline '$cmdline'"

define() {
	local d=$1
	e2e_destroy_domain "$d"
	L2_CMDLINE_EXTRA=$cmdline l2_domain_xml "$d" --linux --memory "$mem" --vcpus "$vcpus" >"$E2E_WORK/$d.xml"
	virsh_ define "$E2E_WORK/$d.xml" >/dev/null
}

# snapshot NAME LABEL: what a guest (and L1) is doing now.
snapshot() {
	local d=$1 label=$2
	{
		echo "== $label: $d at $(date +%T), L1 loadavg $(cat /proc/loadavg)"
		virsh_ domstate --reason "$d" 2>&1
		virsh_ qemu-monitor-command --hmp "$d" 'info status' 2>&1
		virsh_ qemu-monitor-command --hmp "$d" 'info registers' 2>&1 | grep -E '^(RIP|RAX|CR0|CR3|EFER|HLT)' | head -5
		virsh_ qemu-monitor-command --hmp "$d" 'info cpus' 2>&1
		local pid
		pid=$(cat "/run/libvirt/qemu/$d.pid" 2>/dev/null)
		[ -n "$pid" ] && ps -L -o tid=,stat=,pcpu=,time=,comm= -p "$pid" 2>/dev/null
		echo "serial bytes: $(wc -c <"$(l2_serial_log "$d")" 2>/dev/null)"
	} >>"$E2E_ARTIFACTS/snapshots.log" 2>&1
}

# boot_time D T0: seconds from T0 until D's serial log has ESFM-L2-READY, or "none" after $wait.
ready_after() {
	local d=$1 t0=$2 log
	log=$(l2_serial_log "$d")
	while :; do
		if grep -q '^ESFM-L2-READY' "$log" 2>/dev/null; then
			awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
			return 0
		fi
		if [ "$(awk -v a="$t0" -v b="$(date +%s.%N)" -v w="$wait" 'BEGIN { print (b - a >= w) }')" = 1 ]; then
			echo none
			return 1
		fi
		sleep 0.25
	done
}

# idle_cost: per running probe guest, the share of an L1 CPU its QEMU threads used over 10 s, and
# what its main thread was doing (syscall numbers sampled from /proc: 7 poll, 271 ppoll, 16 ioctl).
idle_cost() {
	local d pid t a b
	declare -A before=()
	for d in "${names[@]}"; do
		pid=$(cat "/run/libvirt/qemu/$d.pid" 2>/dev/null) || continue
		for t in /proc/"$pid"/task/*; do before[$d:${t##*/}]=$(awk '{ print $14 + $15 }' "$t/stat"); done
	done
	sleep 10
	for d in "${names[@]}"; do
		pid=$(cat "/run/libvirt/qemu/$d.pid" 2>/dev/null) || continue
		local line="idle $d:"
		for t in /proc/"$pid"/task/*; do
			a=${before[$d:${t##*/}]:-0} b=$(awk '{ print $14 + $15 }' "$t/stat")
			line="$line $(tr ' ' '_' <"$t/comm")=$(((b - a) * 100 / (10 * $(getconf CLK_TCK))))%"
		done
		local sc='' i
		for i in $(seq 1 10); do sc="$sc $(cut -d' ' -f1 "/proc/$pid/task/$pid/syscall" 2>/dev/null)"; sleep 0.1; done
		t_diag "$line (main thread syscalls:$sc)"
		echo "$line" >>"$E2E_ARTIFACTS/idle.txt"
	done
}

report() { # round name secs
	if [ "$3" = none ]; then
		t_fail "$1: $2 ready within $wait s" "serial: $(tail -c 300 "$(l2_serial_log "$2")" 2>/dev/null | tr -d '\r')"
		snapshot "$2" "$1 not ready after $wait s"
		if [ "$patience" -gt 0 ] && e2e_wait "$patience" grep -q '^ESFM-L2-READY' "$(l2_serial_log "$2")"; then
			t_diag "$1: $2 became ready within $patience s more: slow, not stuck"
		elif [ "$patience" -gt 0 ]; then
			t_diag "$1: $2 still not ready $patience s later"
			snapshot "$2" "$1 not ready after $wait + $patience s"
		fi
	else
		t_pass "$1: $2 ready after $3 s"
	fi
	echo "$1 $2 $3" >>"$E2E_ARTIFACTS/boots.txt"
}

for d in "${names[@]}"; do define "$d"; done
IFS=, read -r -a todo <<<"$rounds"
for r in "${todo[@]}"; do
	for d in "${names[@]}"; do virsh_ destroy "$d" >/dev/null 2>&1; rm -f "$(l2_serial_log "$d")"; done
	if [ "${r#*@}" != "$r" ]; then # ROUND@ARGS: this round with other kernel arguments (+ for a space)
		cmdline=${r#*@} cmdline=${cmdline//+/ }
		for d in "${names[@]}"; do define "$d"; done
	fi
	t_diag "round $r: L1 loadavg $(cat /proc/loadavg), L2 kernel arguments '$cmdline'"
	case ${r%%@*} in
	seq)
		for d in "${names[@]}"; do
			t0=$(date +%s.%N)
			virsh_ start "$d" >/dev/null || { t_fail "$r: virsh start $d"; continue; }
			report "$r" "$d" "$(ready_after "$d" "$t0")"
		done
		;;
	par)
		t0=$(date +%s.%N)
		for d in "${names[@]}"; do virsh_ start "$d" >/dev/null || t_fail "$r: virsh start $d"; done
		for d in "${names[@]}"; do (sleep 20; snapshot "$d" "$r 20 s after start") & done
		for d in "${names[@]}"; do report "$r" "$d" "$(ready_after "$d" "$t0")"; done
		;;
	*) t_fail "unknown round $r" ;;
	esac
	t_diag "after round $r: L1 loadavg $(cat /proc/loadavg)"
	idle_cost
	sleep 5
	for d in "${names[@]}"; do snapshot "$d" "end of round $r (guests running)"; done
done
dmesg | tail -n 40 >"$E2E_ARTIFACTS/l1-dmesg-tail.log"
t_diag "boots: $(tr '\n' ';' <"$E2E_ARTIFACTS/boots.txt")"
t_done
