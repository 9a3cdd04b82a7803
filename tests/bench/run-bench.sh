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
# A Nova instance whose flavor asks for nothing of esfm's (metadata as Nova 26 writes it): the
# front looks for an esfm extra spec, then for its flavor in the pool files, and stops there.
nova='<domain type="kvm"><name>instance-00000001</name><uuid>00000000-0000-0000-0000-0000000000b1</uuid><metadata><nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1"><nova:package version="26.2.2"/><nova:name>vm1</nova:name><nova:creationTime>2025-11-25 19:46:40</nova:creationTime><nova:flavor name="m1.small"><nova:memory>2048</nova:memory><nova:disk>20</nova:disk><nova:swap>0</nova:swap><nova:ephemeral>0</nova:ephemeral><nova:vcpus>1</nova:vcpus></nova:flavor><nova:owner><nova:user uuid="5d5c1f1e-0c1d-4b61-8b4a-3f1f0e2d9a01">demo</nova:user><nova:project uuid="8e0c2c4a-6f0e-4d1f-9a55-1f0b1f2d3c04">demo</nova:project></nova:owner><nova:root type="image" uuid="c4bd5a8e-2d1b-4cf1-9f8e-5c9b1d1c8a11"/></nova:instance></metadata><memory>1048576</memory><devices><disk type="file" device="disk"><source file="/var/lib/nova/instances/b1/disk"/><target dev="vda" bus="virtio"/></disk></devices></domain>'
printf '%s' "$nova" >"$work/nova.xml"
t0=$(date +%s%N)
for ((i = 0; i < runs; i++)); do
	env -i ESFM_CONF_DIR="$work/conf" "$build/esfm-hook" instance-00000001 prepare begin - <"$work/nova.xml" >/dev/null
done
t1=$(date +%s%N)
envbase=$(per_run_us env -i /bin/true)
echo "  esfm-hook, Nova domain asking nothing:        $(((t1 - t0) / runs / 1000)) us/run  (env -i /bin/true: ${envbase} us/run)"

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

# --- The annotated path against its floor ---------------------------------------------------------
# A prepare of one more VM on a 252-VF pool that already lends 200 VFs: the hook's front, handler
# and ledger cycle, on a static copy of the simulator's tree (plain files and links, as reading
# sysfs costs), with the state directory on tmpfs as /run is. Every run starts from the same
# ledger. Printed: the median (and p90) of $prep_runs runs, next to a no-op C hook that only drains
# stdin, both timed the same way (fork, exec with a bare environment as libvirtd gives, wait).
prep_runs=${ESFM_BENCH_PREPARE_RUNS:-200}
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	fast=$(mktemp -d /dev/shm/esfm-bench.XXXXXX)
else
	fast=$(mktemp -d "$work/fast.XXXXXX")
fi
trap 'cleanup; rm -rf "$fast"' EXIT
big=$fast/conf
mkdir -p "$big/pools.d" "$fast/state"
big_conf() { # sysfs root
	printf '%s\n' "sysfs_root = $1" "state_dir = $fast/state" "template_dir = $top/xml-templates" \
		"log_file = $fast/hook.log" >"$big/esfm.conf"
}
big_conf "$work/sys"
cat >"$big/pools.d/big.xml" <<'POOL'
<pool type='sriov'><name>big</name><source><pf address='0000:83:00.0'/></source><vfs count='252' driver='vfio-pci'/></pool>
POOL
# The PF without VFs: the first prepare creates the pool's 252 (fpga0 above had 8).
echo 0 >"$work/sys/bus/pci/devices/0000:83:00.0/sriov_numvfs"
big_xml() { # name index
	printf '<domain><name>%s</name><uuid>00000000-0000-0000-0001-%012d</uuid><metadata><esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="big"/></metadata></domain>' "$1" "$2"
}
# Every VF bound to vfio-pci by a prepare, then the last 52 given back: 200 lent.
for ((i = 0; i < 252; i++)); do
	big_xml "b$i" "$i" | env -i ESFM_CONF_DIR="$big" "$build/esfm-hook" "b$i" prepare begin - ||
		{ echo "bench: the prepare of b$i on the simulator failed (see $fast/hook.log)" >&2; exit 1; }
done
for ((i = 200; i < 252; i++)); do
	big_xml "b$i" "$i" | env -i ESFM_CONF_DIR="$big" "$build/esfm-hook" "b$i" release end -
done
# The static copy: cp skips the write-only attributes (unreadable even for root), made empty here.
mkdir -p "$fast/sys"
cp -a "$work/sys/." "$fast/sys/" 2>/dev/null || true
(cd "$work/sys" && find . -type f) | while IFS= read -r f; do
	[ -e "$fast/sys/$f" ] || : >"$fast/sys/$f"
done
"$top/tests/sim/sim-stop" "$work/sys" "$sim_pid" >/dev/null 2>&1 || true
sim_pid=
big_conf "$fast/sys"
cp "$fast/state/big.state" "$fast/big.state.lent200"
big_xml next 999 >"$fast/next.xml"

# stats LIST: "median p90" of the microsecond figures (one a line), in ms with 2 decimals.
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = v[int(NR * 0.9 + 0.5)]
		printf "%.2f %.2f\n", m / 1000, p / 1000 }'
}
# CPU: the CPU time (user + system) of the children waited for so far, in us, from the builtin
# times, run in this shell (no $(...): a subshell would count only its own children, and be one).
cpu_now() {
	local u s
	times >"$fast/times"
	{ read -r _ && read -r u s; } <"$fast/times"
	min_s_us "$u"
	CPU=$US
	min_s_us "$s"
	CPU=$((CPU + US))
}
min_s_us() { # 1m2.345s -> US (microseconds)
	local m=${1%%m*} r=${1#*m}
	r=${r%s}
	US=$((((10#$m * 60 + 10#${r%.*}) * 1000 + 10#${r#*.}) * 1000))
}
noop_times=() prep_times=() noop_cpu=0 prep_cpu=0
for ((i = 0; i < prep_runs; i++)); do
	cpu_now
	c0=$CPU t0=$EPOCHREALTIME
	env -i "$build/tests/bench/noop-hook" next prepare begin - <"$fast/next.xml"
	t1=$EPOCHREALTIME
	cpu_now
	noop_times+=($((${t1/./} - ${t0/./})))
	noop_cpu=$((noop_cpu + CPU - c0))
	cp "$fast/big.state.lent200" "$fast/state/big.state"
	cpu_now
	c0=$CPU t0=$EPOCHREALTIME
	env -i ESFM_CONF_DIR="$big" "$build/esfm-hook" next prepare begin - <"$fast/next.xml" ||
		{ echo "bench: the annotated prepare failed (see $fast/hook.log)" >&2; exit 1; }
	t1=$EPOCHREALTIME
	cpu_now
	prep_times+=($((${t1/./} - ${t0/./})))
	prep_cpu=$((prep_cpu + CPU - c0))
done
grep -q 'uuid="00000000-0000-0000-0001-000000000999"' "$fast/state/big.state" ||
	{ echo "bench: the annotated prepare reserved nothing" >&2; exit 1; }
read -r noop_med noop_p90 < <(printf '%s\n' "${noop_times[@]}" | stats)
read -r prep_med prep_p90 < <(printf '%s\n' "${prep_times[@]}" | stats)
ms() { awk -v us="$1" -v n="$prep_runs" 'BEGIN { printf "%.2f", us / n / 1000 }'; }
echo "  annotated prepare, 252-VF pool lending 200, static tree, state on tmpfs ($prep_runs runs;"
echo "  wall time, and the CPU time of the processes, which a loaded machine disturbs less):"
echo "    no-op C hook (drains stdin):                $noop_med ms median, $noop_p90 ms p90," \
	"$(ms "$noop_cpu") ms CPU"
echo "    esfm-hook prepare, one more VM:             $prep_med ms median, $prep_p90 ms p90," \
	"$(ms "$prep_cpu") ms CPU" \
	"(+$(awk -v a="$prep_med" -v b="$noop_med" 'BEGIN { printf "%.2f", a - b }') ms median," \
	"+$(ms $((prep_cpu - noop_cpu))) ms CPU over the no-op)"
