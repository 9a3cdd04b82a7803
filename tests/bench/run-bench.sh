#!/usr/bin/env bash
# make bench: speed and memory of the hook, the path every VM start on the
# host goes through. Prints numbers; asserts nothing.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/${1:-build/release}
export ESFM_BUILD=$build
runs=${ESFM_BENCH_RUNS:-500}
work=$(mktemp -d /tmp/esfm-bench.XXXXXX)
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && "$top/tests/sim/sim-stop" "$work/sys" "$sim_pid" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

plain='<domain type="kvm"><name>plain</name><uuid>00000000-0000-0000-0000-000000000001</uuid><memory>1048576</memory><devices><disk type="file" device="disk"><source file="/var/lib/libvirt/images/plain.qcow2"/><target dev="vda" bus="virtio"/></disk></devices></domain>'
printf '%s' "$plain" >"$work/plain.xml"

per_run_us() { # command... ; prints microseconds per run over $runs runs
	local t0 t1
	t0=$(date +%s%N)
	for ((i = 0; i < runs; i++)); do "$@" <"$work/plain.xml" >/dev/null; done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / runs / 1000))
}

maxrss_kb() { # command... ; peak RSS of one run
	/usr/bin/time -f %M "$@" <"$1.xml" 2>&1 >/dev/null | tail -1
}

echo "esfm bench ($runs runs each, $(nproc) cores)"
base=$(per_run_us /bin/true)
hook=$(per_run_us "$build/esfm-hook" plain prepare begin -)
echo "  exec of /bin/true (baseline):                 ${base} us/run"
echo "  esfm-hook, unannotated domain, prepare:       ${hook} us/run  (+$((hook - base)) us over baseline)"
if ldd "$build/esfm-hook" >/dev/null 2>&1; then so=$(ldd "$build/esfm-hook" | wc -l); else so="0 (static)"; fi
	echo "  esfm-hook shared objects:                     $so"
if [ -x /usr/bin/time ]; then
	echo "  esfm-hook peak RSS, unannotated:              $(/usr/bin/time -f %M "$build/esfm-hook" plain prepare begin - <"$work/plain.xml" 2>&1 >/dev/null | tail -1) KiB"
fi

# Annotated: a full prepare + release cycle against the simulator.
sim_pid=$("$top/tests/sim/sim-start" "$top/tests/sim/topologies/qdma.topo" "$work/sys")
mkdir -p "$work/conf/pools.d"
cat >"$work/conf/esfm.conf" <<CONF
sysfs_root = $work/sys
state_dir = $work/state
template_dir = $top/xml-templates
log_file = $work/hook.log
CONF
cat >"$work/conf/pools.d/fpga0.xml" <<'POOL'
<pool type='sriov'><name>fpga0</name><source><pf address='0000:83:00.0'/></source><vfs count='8' driver='vfio-pci'/></pool>
POOL
ann='<domain type="kvm"><name>vm1</name><uuid>00000000-0000-0000-0000-0000000000a1</uuid><metadata><esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0"/></metadata><devices/></domain>'
printf '%s' "$ann" >"$work/ann.xml"
cycles=$((runs / 5))
t0=$(date +%s%N)
for ((i = 0; i < cycles; i++)); do
	env -i ESFM_CONF_DIR="$work/conf" "$build/esfm-hook" vm1 prepare begin - <"$work/ann.xml"
	env -i ESFM_CONF_DIR="$work/conf" "$build/esfm-hook" vm1 release end - <"$work/ann.xml"
done
t1=$(date +%s%N)
echo "  prepare+release cycle, annotated, simulator:  $(((t1 - t0) / cycles / 1000)) us/cycle ($cycles cycles)"
if [ -x /usr/bin/time ]; then
	echo "  esfm-hook peak RSS, annotated prepare:        $(env -i ESFM_CONF_DIR="$work/conf" /usr/bin/time -f %M "$build/esfm-hook" vm1 prepare begin - <"$work/ann.xml" 2>&1 >/dev/null | tail -1) KiB"
fi
t0=$(date +%s%N)
for ((i = 0; i < 64; i++)); do
	printf '<domain><name>p%d</name><uuid>00000000-0000-0000-0000-%012d</uuid><metadata><esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0"/></metadata></domain>' "$i" "$i" |
		env -i ESFM_CONF_DIR="$work/conf" "$build/esfm-hook" "p$i" prepare begin - 2>/dev/null &
done
wait || true
t1=$(date +%s%N)
echo "  64 parallel prepares on an 8-VF pool:         $(((t1 - t0) / 1000000)) ms in all"
