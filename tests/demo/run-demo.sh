#!/usr/bin/env bash
# make demo: esfm's main job on a machine without SR-IOV hardware. It installs
# what it needs, builds esfm, boots the nested test bed (a Debian guest with an
# emulated IOMMU and a real SR-IOV NVMe controller, real libvirt and QEMU) and
# narrates a session there: a pool file, VM everestg3 annotated with
# `virsh metadata`, `virsh start everestg3` getting a VF that its guest sees,
# `esfm reconf`, `esfm status`, the VF back in the pool at stop.
# About 4 GiB RAM, 2 GB disk, 4-7 minutes (the first run builds the image).
#
# ESFM_DEMO_SIM=1: a one-minute walk-through on the bundled sysfs simulator
# (a QDMA FPGA PF, 10ee:903f, 252 VFs), running the hook as libvirtd would.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
if [ "${ESFM_DEMO_SIM:-0}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "demo: run as root" >&2; exit 1; }
	bash .ci/deps.sh >/dev/null
	make -s all >/dev/null
	out=$(mktemp /tmp/esfm-demo.XXXXXX)
	trap 'rm -f "$out"' EXIT
	echo "demo: booting the nested test bed (a few minutes; the first run builds its image)"
	rc=0
	ESFM_E2E_ONLY=30-demo tests/e2e/run-e2e.sh >"$out" 2>&1 || rc=$?
	grep '^e2e: ' "$out" | grep -vE 'l1: .*(scenario|all done)' || true
	# The narration: the scenario's "# " lines; its checks, then the verdict.
	sed -n '/^# ---- 30-demo/,/^1\.\./p' "$out" | grep -E '^#|^not ok' | sed -e '1d' -e 's/^# \{0,1\}//'
	tail -n 1 "$out"
	exit "$rc"
fi
[ "$(id -u)" = 0 ] || { echo "demo: run as root (the simulator is a FUSE mount)" >&2; exit 1; }
bash .ci/deps.sh >/dev/null
make -s all tests >/dev/null
export ESFM_BUILD=$top/build/release
work=$(mktemp -d /tmp/esfm-demo.XXXXXX)
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && tests/sim/sim-stop "$work/sys" "$sim_pid" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "A simulated host: one Alveo U55c-like QDMA PF at 0000:83:00.0 (sysfs in $work/sys)"
sim_pid=$(tests/sim/sim-start tests/sim/topologies/qdma.topo "$work/sys")
mkdir -p "$work/conf/pools.d"
cat >"$work/conf/esfm.conf" <<CONF
sysfs_root = $work/sys
state_dir = $work/state
template_dir = $top/xml-templates
log_file = $work/esfm-hook.log
CONF
cat >"$work/conf/pools.d/fpga0.xml" <<'POOL'
<pool type='sriov'>
  <name>fpga0</name>
  <source><pf address='0000:83:00.0'/></source>
  <vfs count='4' driver='vfio-pci'/>
  <qdma qmax='32'/>
</pool>
POOL
export ESFM_CONF_DIR=$work/conf
esfm=build/release/esfm
say "The pool file"
cat "$work/conf/pools.d/fpga0.xml"
run $esfm pool-check
run $esfm status

say "libvirt starts VM everestg3, whose XML carries the annotation; the hook runs as libvirtd would run it"
dom='<domain type="kvm"><name>everestg3</name><uuid>5a0c2a5e-0b1e-4d6c-9f1e-000000000003</uuid>
<metadata><esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0"/></metadata><devices/></domain>'
echo "$dom" | env -i ESFM_CONF_DIR="$ESFM_CONF_DIR" build/release/esfm-hook everestg3 prepare begin -
echo "(prepare: the PF had no VFs, so the hook created the pool's 4 with autoprobe off,"
echo " picked VF 0 and bound it to vfio-pci; after 'started' a detached worker hot-plugs it)"
run $esfm 0000:83:00.0 list_vfs
run $esfm status --json
say "The audit trail (syslog in production; a file here)"
cat "$work/esfm-hook.log"

say "A VM without annotation costs nothing: the hook reads stdin and exits"
echo '<domain><name>other</name><uuid>5a0c2a5e-0b1e-4d6c-9f1e-0000000000ff</uuid></domain>' |
	env -i ESFM_CONF_DIR="$ESFM_CONF_DIR" build/release/esfm-hook other prepare begin - && echo "exit 0"

say "everestg3 stops: release returns the VF to the pool"
echo "$dom" | env -i ESFM_CONF_DIR="$ESFM_CONF_DIR" build/release/esfm-hook everestg3 release end -
run $esfm status
say "Done. The real thing, with VFs reaching guests through VFIO, runs in 'make e2e'."
