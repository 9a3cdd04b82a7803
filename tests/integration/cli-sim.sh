#!/usr/bin/env bash
# The esfm command line against the FUSE sysfs simulator and a private libvirtd (TCG domains
# everestg0..3 defined and stopped, live0 running), every command and its effects:
#   - usage and refusals that change nothing (bad PF, PF not SR-IOV, count above totalvfs,
#     missing VMs named), checked against the simulator's write log and the state;
#   - init: qmax written before sriov_numvfs, autoprobe off, VFs bound to vfio-pci, VF i in
#     the persistent config of stopped VM everestg<i> with alias ua-esfm-fpga0-<i>;
#   - reconf grow/shrink/0 keeps persistent configs right; attach/detach;
#   - listings: list_vfs, list_vf_vm, status, status --json (fields of esfm-pool(5)),
#     pool-list, pool-show, pool-check;
#   - a running VM on this VFIO-less host: the attach error says "host doesn't support
#     passthrough" with the hint, and the state does not claim the VF;
#   - bitstreams with a stand-in programmer (flash_command): argv substitution, remove and
#     rescan, qmax restored, print_kernel; a failing programmer;
#   - vf_setup_command: run for each VF init/reconf create, before it is bound; a failing one;
#   - EBUSY from sriov_numvfs (exit 3); no terminal without -y (libvirt's test driver, where
#     running VMs can hold VFs, and `script` for a terminal);
#   - a hook prepare while a reconf has the pool marked busy is refused at once ("is being
#     reconfigured"), and the reconf holds no lock meanwhile;
#   - -d (ESFM_KMSG), -q, -v, exit codes.
# shellcheck disable=SC2154 # t_run sets E_out, E_err, E_rc (S_...) by name
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ESFM_BUILD:-$top/build/check}
fix=$top/tests/integration/cli-fixtures
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/sim.sh"
. "$top/tests/lib/libvirtd.sh"

missing=
[ "$(id -u)" = 0 ] || missing="$missing root"
[ -c /dev/fuse ] || missing="$missing /dev/fuse"
for c in libvirtd virtlogd virsh unshare qemu-system-x86_64 fusermount3 python3 script flock; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
for f in esfm esfm-hook tests/sim/esfm-sysfs-sim; do
	[ -x "$build/$f" ] || missing="$missing $build/$f"
done
if [ -n "$missing" ]; then
	t_fail "prerequisites of the command line tests" "missing:$missing" \
		"(packages libvirt-daemon-system libvirt-clients qemu-system-x86 fuse3 python3 util-linux; make SANITIZE=1 tests)"
	t_done
	exit 1
fi

lv_enter_ns "$0" "$@" || {
	t_fail "enter a private mount namespace"
	t_done
	exit 1
}

now_ms() { printf '%s' $((${EPOCHREALTIME/[.,]/} / 1000)); }
t_start=$(now_ms)

work=$(mktemp -d /tmp/esfm-cli.XXXXXX)
chmod 0755 "$work"
mnt=$work/sys
conf=$work/conf
state=$work/state
fw=$work/fw
sim_pid=
bg_pids=()
PF=0000:83:00.0
sysd=$mnt/bus/pci/devices
pfdir=devices/pci0000:83/$PF

cleanup() {
	local p
	for p in "${bg_pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	[ "$t_failed" = 0 ] || {
		lv_diag
		[ ! -s "$work/esfm.log" ] || tail -n 20 "$work/esfm.log" | sed 's/^/# esfm.log: /'
	}
	lv_stop || echo "# lv_stop failed" >&2
	SIM_PID=$sim_pid SIM_MNT=$mnt
	sim_finish "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- simulator, configuration -------------------------------------------------------------------
ESFM_BUILD=$build ESFM_SIM_LOG=$work/sim.log sim_up "$fix/cli.topo" "$mnt"
sim_pid=$SIM_PID
t_like "sysfs simulator runs (pid $sim_pid)" "$sim_pid" '^[0-9]+$'

mkdir -p "$conf/pools.d" "$fw"
cp "$fix/pools.d/fpga0.xml" "$conf/pools.d/"
printf 'bitstream one\n' >"$fw/top.bit"
printf 'bitstream two\n' >"$fw/two.bit"
# The stand-in programmer: records its argv (one word a line) and whether the PF was on the
# bus while it ran, adds two kernel log lines to $ESFM_KMSG if set, exits $PROG_RC.
cat >"$work/prog" <<'EOF'
#!/bin/sh
printf '%s\n' "$0" "$@" >"$PROG_ARGV"
if [ -e "$PROG_SYSD/0000:83:00.0" ]; then echo "pf present" >>"$PROG_ARGV"; else echo "pf absent" >>"$PROG_ARGV"; fi
if [ -n "${ESFM_KMSG:-}" ]; then
	printf '%s\n' "qdma-pf 0000:83:00.0: FPGA programmed, link up" \
		"e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps" >>"$ESFM_KMSG"
fi
[ "${PROG_RC:-0}" = 0 ] || echo "prog: JTAG cable not found" >&2
exit "${PROG_RC:-0}"
EOF
chmod 0755 "$work/prog"
export PROG_ARGV=$work/prog.argv PROG_SYSD=$sysd

# write_conf: esfm.conf with the test's paths
write_conf() {
	{
		echo "# written by cli-sim.sh"
		echo "sysfs_root = $mnt"
		echo "state_dir = $state"
		echo "template_dir = $top/xml-templates"
		echo "libvirt_uri = qemu:///system"
		echo "log_file = $work/esfm.log"
		echo "log_level = info"
		echo "lock_timeout_ms = 300"
		echo "vf_timeout_ms = 3000"
		echo "flash_command = $work/prog --bit={bitstream} --pf {pf} --kind={kind} -x"
	} >"$conf/esfm.conf"
}
write_conf
export ESFM_CONF_DIR=$conf
unset ESFM_SYSFS_ROOT ESFM_STATE_DIR ESFM_LIBVIRT_URI ESFM_TEMPLATE_DIR ESFM_KMSG

# --- helpers ------------------------------------------------------------------------------------
# e ARGS...: run esfm without a terminal; sets E_out, E_err, E_rc.
e() { t_run E "$build/esfm" "$@" </dev/null; }
# t_esfm WHAT RC [STDERR-REGEX]: the last esfm run exited RC (and its stderr matches).
t_esfm() {
	local what=$1 rc=$2 re=${3:-}
	if [ "$E_rc" = "$rc" ] && { [ -z "$re" ] || printf '%s' "$E_err" | grep -qE -- "$re"; }; then
		t_pass "$what"
	else
		t_fail "$what" "exit: $E_rc (want $rc)" "stdout: $(printf '%s\n' "$E_out" | head -n 15)" \
			"stderr: $(printf '%s\n' "$E_err" | head -n 15)" ${re:+"stderr expected to match: $re"}
	fi
}
log_clear() { sim_ctl "log clear"; }
attr() { cat "$sysd/$1/$2" 2>/dev/null; }
drv() { local l; l=$(readlink "$sysd/$1/driver" 2>/dev/null) && printf '%s' "${l##*/}"; }
numvfs() { attr $PF sriov_numvfs; }
vf() { printf '0000:83:00.%x' $((4 + $1)); }
# drivers N: the drivers of VFs 0..N-1, space separated
drivers() {
	local i out=
	for ((i = 0; i < $1; i++)); do out="$out${out:+ }$(drv "$(vf $i)")"; done
	printf '%s' "$out"
}
# hostdevs VM [--inactive]: "BDF alias" of each PCI hostdev, one a line
hostdevs() {
	lv_virsh dumpxml ${2:-} "$1" 2>/dev/null | python3 -c '
import sys, xml.etree.ElementTree as ET
d = ET.parse(sys.stdin).getroot()
for h in d.findall("./devices/hostdev"):
    a = h.find("./source/address")
    al = h.find("alias")
    print("%04x:%02x:%02x.%x %s" % (int(a.get("domain"), 16), int(a.get("bus"), 16),
          int(a.get("slot"), 16), int(a.get("function"), 16),
          al.get("name") if al is not None else "-"))'
}
pcfg() { hostdevs "$1" --inactive | tr '\n' ';'; }
# idcfg VM: "name alias;" of each esfm identity channel in the persistent config
idcfg() {
	lv_virsh dumpxml --inactive "$1" 2>/dev/null | python3 -c '
import sys, xml.etree.ElementTree as ET
d = ET.parse(sys.stdin).getroot()
for c in d.findall("./devices/channel"):
    al = c.find("alias")
    if al is not None and al.get("name", "").startswith("ua-esfmid-"):
        print("%s %s" % (c.find("target").get("name"), al.get("name")))' | tr '\n' ';'
}
# ident I [KIND]: the identity channel VF I of fpga0 gets ("name alias;")
ident() { printf 'esfm-vf,pool=fpga0,index=%s,pf=%s%s ua-esfmid-fpga0-%s;' "$1" "$PF" "${2:+,kind=$2}" "$1"; }
# json FILTER: evaluate a python expression on `esfm status --json` (j is the document)
json() {
	printf '%s' "$JSON" | python3 -c "import json, sys; j = json.load(sys.stdin); print($1)" 2>&1
}
status_json() {
	e status --json
	JSON=$E_out
}
# t_order WHAT LOG REGEX...: each REGEX matches a line of LOG, in this order
t_order() {
	local what=$1 log=$2 prev=0 n re
	shift 2
	for re in "$@"; do
		n=$(printf '%s\n' "$log" | grep -nE -- "$re" | head -n 1 | cut -d: -f1)
		if [ -z "$n" ] || [ "$n" -le "$prev" ]; then
			t_fail "$what" "'$re' is ${n:+not after the previous one (line $n)}${n:-missing}" \
				"write log:" "$log"
			return
		fi
		prev=$n
	done
	t_pass "$what"
}
st_sum() { (cd "$state" 2>/dev/null && ls -- *.state 2>/dev/null && cat -- *.state 2>/dev/null) | sha256sum; }
# fresh_vms: everestg0..3 defined again from scratch (no hostdev), stopped
fresh_vms() {
	local i
	for i in 0 1 2 3; do
		lv_domain_xml "everestg$i" >"$work/everestg$i.xml" &&
			lv_virsh define "$work/everestg$i.xml" >/dev/null || return 1
	done
}
# reset: no VFs, no state, VMs without hostdevs, an empty write log
reset() {
	echo 0 >"$sysd/$PF/sriov_numvfs"
	rm -f "$state"/*.state
	fresh_vms
	log_clear
}
count_lines() { printf '%s\n' "$1" | grep -cE -- "$2"; }

# --- libvirt --------------------------------------------------------------------------------------
if ! lv_start; then
	t_fail "start a private libvirtd"
	t_done
	exit 1
fi
t_ok "define everestg0..everestg3 (stopped)" fresh_vms
lv_domain_xml live0 >"$work/live0.xml"
t_ok "define and start live0 (TCG)" lv_virsh create "$work/live0.xml"
lv_virsh define "$work/live0.xml" >/dev/null
t_ok "live0 is running" lv_wait_state live0 running 30
echo "# setup took $(($(now_ms) - t_start)) ms"

# === 1. the command line itself ===================================================================
e --version
t_esfm "--version exits 0" 0
t_like "... and prints the version" "$E_out" '^esfm [0-9]+\.[0-9]+\.[0-9]+$'
e --help
t_esfm "--help exits 0" 0
t_like "... and prints the usage" "$E_out" 'Usage: esfm <pf_bdf> <command>'
e
t_esfm "no arguments: usage error, exit 2" 2 "^esfm: missing command"
e 0000:83:00.8 list_vfs
t_esfm "a malformed PF address: exit 2 naming it" 2 "invalid PCI address '0000:83:00.8'"
e $PF frobnicate
t_esfm "an unknown command: exit 2 naming it" 2 "unknown command 'frobnicate'"
e $PF init 2 --json
t_esfm "--json without status: exit 2" 2 "--json"

# === 2. refusals that change nothing ============================================================
log_clear
sum0=$(st_sum)
e 0000:84:00.0 init 2 -y
t_esfm "a PF that does not exist: exit 1 naming it" 1 "0000:84:00\.0 not found"
e 0000:00:1f.0 init 2 -y
t_esfm "a device without SR-IOV: exit 2, 'not an SR-IOV physical function'" 2 \
	"0000:00:1f\.0 is not an SR-IOV physical function"
e $PF init 9 -y
t_esfm "9 VFs on a PF with sriov_totalvfs 8: exit 2, 'at most 8'" 2 "cannot create 9 VFs.*at most 8 VFs"
e $PF reconf 9 -y
t_esfm "... reconf 9 too" 2 "at most 8 VFs"
e $PF init 5
t_esfm "init 5 with everestg4 missing: exit 1 naming it" 1 \
	"^esfm: VM 'everestg4' not found; define it, use -vm to name another base, or rerun with -y to leave its VF unattached$"
e $PF init 6
t_esfm "init 6: both missing VMs named" 1 \
	"^esfm: VMs everestg4, everestg5 not found; define them, use -vm to name another base, or rerun with -y to leave their VFs unattached$"
e $PF init 2 -vm nope
t_esfm "-vm nope: nope0 and nope1 named" 1 "VMs nope0, nope1 not found"
t_is "nothing was written to sysfs" "$(sim_log)" ""
t_is "... no VFs" "$(numvfs)" 0
t_is "... the state is untouched" "$(st_sum)" "$sum0"
t_is "... everestg0's persistent config untouched" "$(pcfg everestg0)" ""

# === 3. init with stopped VMs ======================================================================
log_clear
e $PF init 2
t_esfm "init 2 exits 0" 0
w=$(sim_log)
t_is "2 VFs" "$(numvfs)" 2
t_is "autoprobe off" "$(attr $PF sriov_drivers_autoprobe)" 0
t_is "both bound to vfio-pci" "$(drivers 2)" "vfio-pci vfio-pci"
t_is "qmax 32 (the default)" "$(attr $PF qdma/qmax)" 32
t_order "qmax, then autoprobe off, then sriov_numvfs, then the binds" "$w" \
	"^$pfdir/qdma/qmax 32$" "^$pfdir/sriov_drivers_autoprobe 0$" "^$pfdir/sriov_numvfs 2$" \
	"^devices/pci0000:83/$(vf 0)/driver_override vfio-pci$" "^bus/pci/drivers_probe $(vf 0)$" \
	"^devices/pci0000:83/$(vf 1)/driver_override vfio-pci$" "^bus/pci/drivers_probe $(vf 1)$"
t_like "each step is reported" "$E_out" "ok +[0-9]+ ms  attach VF 1 to 'everestg1' \(persistent\)"
t_like "... and the total" "$E_out" "esfm: $PF: init with 2 VFs done in [0-9]+ ms"
t_is "everestg0's persistent config has VF 0, alias ua-esfm-fpga0-0" "$(pcfg everestg0)" \
	"$(vf 0) ua-esfm-fpga0-0;"
t_is "everestg1's has VF 1, alias ua-esfm-fpga0-1" "$(pcfg everestg1)" "$(vf 1) ua-esfm-fpga0-1;"
t_is "everestg2 got nothing" "$(pcfg everestg2)" ""
t_is "everestg1's persistent config has VF 1's identity channel" "$(idcfg everestg1)" "$(ident 1)"
t_is "... everestg2 none" "$(idcfg everestg2)" ""
t_is "everestg0 still stopped" "$(lv_virsh domstate everestg0 | head -n 1)" "shut off"

e $PF list_vfs
t_esfm "list_vfs exits 0" 0
t_is "list_vfs" "$E_out" "VF   ADDRESS       DRIVER     STATE     VM
0    0000:83:00.4  vfio-pci   attached  everestg0
1    0000:83:00.5  vfio-pci   attached  everestg1"
e $PF list_vf_vm
t_esfm "list_vf_vm exits 0" 0
t_is "list_vf_vm: persistent only, with aliases" "$E_out" \
	"VF   ADDRESS       VM                   LIVE  PERSISTENT ALIAS
0    0000:83:00.4  everestg0            no    yes        ua-esfm-fpga0-0
1    0000:83:00.5  everestg1            no    yes        ua-esfm-fpga0-1"
e status
t_esfm "status exits 0" 0
t_like "status: the pool's header" "$E_out" \
	"^pool fpga0  PF $PF 10ee:903f qdma-pf  VFs 2/8  pool size 8  VF driver vfio-pci"
t_like "status: VF 1's row with its origin" "$E_out" \
	"1    0000:83:00\.5  vfio-pci   attached  cli     everestg1"
status_json
t_esfm "status --json exits 0" 0
t_is "status --json is JSON" "$(json '"ok"')" ok
t_is "json: version, pool, declared, pf, present, pf_driver" \
	"$(json 'j["version"], [(p["pool"], p["declared"], p["pf"], p["present"], p["pf_driver"]) for p in j["pools"]]')" \
	"1 [('fpga0', True, '$PF', True, 'qdma-pf')]"
t_is "json: totalvfs, numvfs, pool_size, vf_driver" \
	"$(json '[(p["totalvfs"], p["numvfs"], p["pool_size"], p["vf_driver"]) for p in j["pools"]]')" \
	"[(8, 2, 8, 'vfio-pci')]"
uuid0=$(lv_virsh domuuid everestg0 | head -n 1)
t_is "json: VF 0 (index, address, exists, driver, state, origin, vm, uuid, alias)" \
	"$(json 'sorted(j["pools"][0]["vfs"][0].items())')" \
	"[('address', '$(vf 0)'), ('alias', 'ua-esfm-fpga0-0'), ('driver', 'vfio-pci'), ('exists', True), ('index', 0), ('origin', 'cli'), ('state', 'attached'), ('uuid', '$uuid0'), ('vm', 'everestg0')]"
e pool-list
t_esfm "pool-list exits 0" 0
t_is "pool-list" "$E_out" "$(printf '%-20s %-13s %-5s %-9s %s\n%-20s %-13s %-5s %-9s %s' \
	NAME PF VFS DRIVER FILE fpga0 $PF 8 vfio-pci "$conf/pools.d/fpga0.xml")"
e pool-show fpga0
t_esfm "pool-show fpga0 exits 0" 0
t_like "pool-show: the file" "$E_out" "^file +$conf/pools.d/fpga0.xml"
t_like "pool-show: the VF rows" "$E_out" "0    0000:83:00\.4  vfio-pci   attached  cli     everestg0"
e pool-show nosuch
t_esfm "pool-show of an unknown pool: exit 1" 1 "nosuch"
e pool-check
t_esfm "pool-check exits 0" 0
t_is "pool-check" "$E_out" "configuration OK (1 pool)"
printf '<pool type="sriov"><name>broken</name>\n<source>\n' >"$conf/pools.d/broken.xml"
e pool-check
t_esfm "pool-check with a malformed pool file: exit 2 naming it" 2 "broken\.xml"
rm -f "$conf/pools.d/broken.xml"
e $PF print_kernel
t_esfm "print_kernel before any flash: exit 1, says so" 1 "no bitstream flashed on PF $PF"

# === 4. reconf grow, shrink, 0 ==================================================================
log_clear
e $PF reconf 4
t_esfm "reconf 4 exits 0" 0
w=$(sim_log)
t_is "4 VFs, all vfio-pci" "$(numvfs) $(drivers 4)" "4 vfio-pci vfio-pci vfio-pci vfio-pci"
t_order "through 0, then the binds" "$w" "^$pfdir/sriov_numvfs 0$" "^$pfdir/sriov_numvfs 4$" \
	"^bus/pci/drivers_probe $(vf 3)$"
t_unlike "no qmax write without -qn" "$w" "qdma/qmax"
t_is "everestg0 and everestg1 keep their VFs" "$(pcfg everestg0)$(pcfg everestg1)" \
	"$(vf 0) ua-esfm-fpga0-0;$(vf 1) ua-esfm-fpga0-1;"
t_is "the new VFs go to everestg2 and everestg3" "$(pcfg everestg2)$(pcfg everestg3)" \
	"$(vf 2) ua-esfm-fpga0-2;$(vf 3) ua-esfm-fpga0-3;"
e $PF list_vfs
t_is "list_vfs shows 4 attached VFs" "$(count_lines "$E_out" ' attached  everestg[0-3]$')" 4

log_clear
e $PF reconf 1
t_esfm "reconf 1 exits 0" 0
t_is "1 VF" "$(numvfs)" 1
t_order "through 0" "$(sim_log)" "^$pfdir/sriov_numvfs 0$" "^$pfdir/sriov_numvfs 1$"
t_is "everestg0 keeps VF 0" "$(pcfg everestg0)" "$(vf 0) ua-esfm-fpga0-0;"
t_is "everestg1..3 lost theirs" "$(pcfg everestg1)$(pcfg everestg2)$(pcfg everestg3)" ""
status_json
t_is "json: one VF, attached to everestg0" \
	"$(json '[(v["index"], v["state"], v["vm"]) for v in j["pools"][0]["vfs"]]')" \
	"[(0, 'attached', 'everestg0')]"

e $PF reconf 0
t_esfm "reconf 0 exits 0" 0
t_is "no VFs" "$(numvfs)" 0
t_is "everestg0 lost VF 0" "$(pcfg everestg0)" ""
e $PF list_vfs
t_is "list_vfs: the header only" "$E_out" "VF   ADDRESS       DRIVER     STATE     VM"

# === 5. attach and detach ==========================================================================
e $PF init 2 -vm nobody -y
t_esfm "init 2 -vm nobody -y: VMs missing, goes on" 0
t_is "... the missing VMs are named in one warning line" \
	"$(count_lines "$E_err" 'nobody0, nobody1 not found')" 1
t_like "... which says their VFs stay unattached" "$E_err" \
	"VMs nobody0, nobody1 not found; their VFs stay unattached"
t_is "... VFs free" "$(numvfs) $(drivers 2)" "2 vfio-pci vfio-pci"
e $PF attach 1 everestg3
t_esfm "attach 1 everestg3 (stopped) exits 0" 0
t_like "... persistent only" "$E_out" "attach VF 1 to 'everestg3' \(persistent\)"
t_is "everestg3's persistent config has VF 1" "$(pcfg everestg3)" "$(vf 1) ua-esfm-fpga0-1;"
t_is "... and its identity channel" "$(idcfg everestg3)" "$(ident 1)"
t_like "... on the virtio-serial controller libvirt added for it" \
	"$(lv_virsh dumpxml --inactive everestg3)" "<controller type='virtio-serial'"
e $PF list_vfs
t_like "list_vfs: VF 1 attached to everestg3" "$E_out" "1    0000:83:00\.5  vfio-pci   attached  everestg3"
e $PF attach 1 everestg2
t_esfm "attach of a VF someone holds: exit 3 naming the holder" 3 "already attached to 'everestg3'"
e $PF attach 5 everestg2
t_esfm "attach of a VF that does not exist: exit 1" 1 "has no VF 5"
e $PF attach 0 nosuchvm
t_esfm "attach to a VM that does not exist: exit 1 naming it" 1 "VM 'nosuchvm' not found"
e $PF detach 1
t_esfm "detach 1 exits 0" 0
t_is "everestg3 lost VF 1" "$(pcfg everestg3)" ""
t_is "... and its identity channel" "$(idcfg everestg3)" ""
printf "<channel type='null'><target type='virtio' name='%s'/><alias name='ua-esfmid-fpga0-1'/></channel>\n" \
	"esfm-vf,pool=fpga0,index=1,pf=$PF" >"$work/stray.xml"
lv_virsh attach-device everestg3 "$work/stray.xml" --config >/dev/null
t_is "a stray identity channel in everestg3's persistent config (no VF 1 there)" \
	"$(idcfg everestg3)" "$(ident 1)"
e pool-gc
t_esfm "pool-gc exits 0" 0
t_like "... removes it and says so" "$E_out$E_err" \
	"pool 'fpga0': identity channel of VF 1 removed from the persistent config of 'everestg3': it holds no such VF"
t_is "... it is gone" "$(idcfg everestg3)" ""
e $PF detach 1
t_esfm "detach of a free VF: exit 1" 1 "VF 1 \(0000:83:00\.5\) is not attached to any VM"
e $PF attach 1 everestg3
t_esfm "attach 1 everestg3 again" 0
e $PF init 2
t_esfm "init 2 takes every VF from every VM first" 0
t_is "... everestg3 lost VF 1" "$(pcfg everestg3)" ""
t_is "... VF i went to everestg<i>" "$(pcfg everestg0)$(pcfg everestg1)" \
	"$(vf 0) ua-esfm-fpga0-0;$(vf 1) ua-esfm-fpga0-1;"
e $PF detach 0
t_esfm "detach 0 (from stopped everestg0) exits 0" 0
t_like "... removed from its persistent config" "$E_out" "remove VF 0 from the persistent config of 'everestg0'"

# === 6. a running VM on this host without VFIO ===================================================
log_clear
e $PF attach 0 live0
t_esfm "attach to running live0 fails: exit 1" 1 "host doesn't support passthrough"
t_like "... with the hint" "$E_err" "enable the IOMMU"
t_like "... naming VF and VM" "$E_err" "VF 0 -> 'live0'"
e $PF list_vfs
t_like "the state does not claim VF 0" "$E_out" "0    0000:83:00\.4  vfio-pci   free      -"
status_json
t_is "json: VF 0 free, no vm" "$(json '[(v["state"], v["vm"]) for v in j["pools"][0]["vfs"]][0]')" \
	"('free', None)"
t_is "live0 has no hostdev, live or persistent" "$(hostdevs live0)$(pcfg live0)" ""
t_is "live0 still runs" "$(lv_virsh domstate live0 | head -n 1)" "running"
e $PF init 1 -vm live -y
t_esfm "init 1 -vm live: live0 is running, the live attach fails: exit 1" 1 \
	"attach VF 0 to 'live0' \(live and persistent\): .*host doesn't support passthrough"
status_json
t_is "... the state does not claim VF 0" "$(json '[(v["state"], v["vm"]) for v in j["pools"][0]["vfs"]]')" \
	"[('free', None)]"
t_is "... live0's persistent config unchanged" "$(pcfg live0)" ""

# === 7. bitstreams ================================================================================
reset
e $PF init 2 -qn 64
t_esfm "init 2 -qn 64 exits 0" 0
t_order "qmax 64 before sriov_numvfs" "$(sim_log)" "^$pfdir/qdma/qmax 64$" "^$pfdir/sriov_numvfs 2$"
log_clear
rm -f "$PROG_ARGV"
e $PF reconf 3 -b "$fw/top.bit" partial
t_esfm "reconf 3 -b top.bit partial exits 0" 0
t_is "the programmer's argv: placeholders substituted, no shell" "$(cat "$PROG_ARGV" 2>/dev/null)" \
	"$work/prog
--bit=$fw/top.bit
--pf
$PF
--kind=partial
-x
pf absent"
w=$(sim_log)
t_order "VFs gone, PF removed, programmed, rescan, qmax restored, VFs created" "$w" \
	"^$pfdir/sriov_numvfs 0$" "^$pfdir/remove 1$" "^bus/pci/rescan 1$" "^$pfdir/qdma/qmax 64$" \
	"^$pfdir/sriov_drivers_autoprobe 0$" "^$pfdir/sriov_numvfs 3$" "^bus/pci/drivers_probe $(vf 2)$"
t_is "qmax restored to 64" "$(attr $PF qdma/qmax)" 64
t_is "3 VFs on vfio-pci" "$(numvfs) $(drivers 3)" "3 vfio-pci vfio-pci vfio-pci"
t_like "the steps are reported" "$E_out" "ok +[0-9]+ ms  program $work/prog"
t_is "everestg0 kept VF 0: its identity now tells the new kind" "$(idcfg everestg0)" \
	"$(ident 0 partial)"
t_is "everestg2 got VF 2 with the new kind" "$(idcfg everestg2)" "$(ident 2 partial)"
e $PF print_kernel
t_esfm "print_kernel exits 0" 0
t_like "print_kernel: file, kind, time" "$E_out" \
	"^$fw/top\.bit \[partial\] \(flashed [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"

log_clear
t_run E sh -c "cd '$fw' && exec '$build/esfm' $PF init 2 -b two.bit </dev/null"
t_esfm "init 2 -b two.bit (relative path) exits 0" 0
t_like "the programmer gets the absolute path" "$(sed -n 2p "$PROG_ARGV")" "^--bit=$fw/two\.bit$"
t_is "... and an empty kind" "$(sed -n 5p "$PROG_ARGV")" "--kind="
t_order "init: qmax (32, the default) after the rescan, before sriov_numvfs" "$(sim_log)" \
	"^bus/pci/rescan 1$" "^$pfdir/qdma/qmax 32$" "^$pfdir/sriov_numvfs 2$"
e $PF print_kernel
t_like "print_kernel: two.bit, no kind" "$E_out" "^$fw/two\.bit \(flashed "
t_is "a bitstream flashed without a kind: the identity has none" "$(idcfg everestg1)" "$(ident 1)"
t_is "... everestg2 lost VF 2 and its identity" "$(pcfg everestg2)$(idcfg everestg2)" ""

log_clear
PROG_RC=1 e $PF init 2 -b "$fw/top.bit" -y
t_esfm "a failing programmer: exit 1" 1 "programming failed: $work/prog exited with status 1"
t_order "the PF is brought back (rescan) after the failure" "$(sim_log)" "^$pfdir/remove 1$" "^bus/pci/rescan 1$"
t_is "the PF is back on the bus" "$(attr $PF vendor)" 0x10ee
e $PF print_kernel
t_like "print_kernel still shows the last good bitstream" "$E_out" "^$fw/two\.bit "
e $PF reconf 2
t_esfm "reconf 2 after the failed flash works" 0
t_is "... 2 VFs" "$(numvfs) $(drivers 2)" "2 vfio-pci vfio-pci"

sim_ctl "ids $PF 10ee 9038"
e $PF init 2 -b "$fw/top.bit" -y
t_esfm "the PF comes back with other IDs after programming: exit 1" 1 \
	"PF $PF came back as 10ee:9038, expected 10ee:903f"
sim_ctl "ids $PF 10ee 903f"
echo 1 >"$sysd/$PF/remove"
echo 1 >"$mnt/bus/pci/rescan"

reset
e $PF init 2
log_clear
e $PF reconf 2 -b "$fw/top.bit"
t_esfm "reconf to the same count with -b exits 0" 0
t_is "... and still has 2 VFs on vfio-pci afterwards" "$(numvfs) $(drivers 2)" "2 vfio-pci vfio-pci"
t_order "... the VFs go before the PF is removed" "$(sim_log)" "^$pfdir/sriov_numvfs 0$" "^$pfdir/remove 1$"

reset
rm -f "$PROG_ARGV"
e $PF init 0 -b "$fw/top.bit"
t_esfm "init 0 -b top.bit exits 0" 0
t_is "... and runs the programmer" "$(sed -n 2p "$PROG_ARGV" 2>/dev/null)" "--bit=$fw/top.bit"

reset
e $PF init 2
log_clear
e $PF reconf 3 -b /nonexistent/x.bit
t_esfm "a bitstream that does not exist: refused" 1 "/nonexistent/x\.bit"
t_is "... before anything changed (no sysfs write)" "$(sim_log)" ""
t_is "... the VFs are still there" "$(numvfs) $(drivers 2)" "2 vfio-pci vfio-pci"

# --- vf_setup_command: each VF esfm creates is set up before it is bound -----------------------
# The stand-in records its argv and the VF's driver at the time, exits $SETUP_RC.
cat >"$work/vfsetup" <<'EOF'
#!/bin/sh
d=$(readlink "$PROG_SYSD/$2/driver" 2>/dev/null)
echo "$* driver=${d##*/}" >>"$SETUP_LOG"
[ "${SETUP_RC:-0}" = 0 ] || { echo "ERROR: no free interrupt resources for $2"; exit "$SETUP_RC"; }
EOF
chmod 0755 "$work/vfsetup"
export SETUP_LOG=$work/vfsetup.log
write_conf
echo "vf_setup_command = $work/vfsetup {pf} {vf} {index}" >>"$conf/esfm.conf"
reset
rm -f "$SETUP_LOG"
e $PF init 2
t_esfm "init 2 with a vf_setup_command exits 0" 0
t_is "... ran it once per VF with {pf} {vf} {index}, each before the VF was bound" \
	"$(cat "$SETUP_LOG" 2>/dev/null)" "$PF $(vf 0) 0 driver=
$PF $(vf 1) 1 driver="
t_like "... and reports it as a step" "$E_out" "ok +[0-9]+ ms  set up VF 1 \(vf_setup_command\)"
t_is "... the VFs are bound" "$(numvfs) $(drivers 2)" "2 vfio-pci vfio-pci"
rm -f "$SETUP_LOG"
e $PF reconf 3
t_esfm "reconf 3 exits 0" 0
t_is "... set up every re-created VF" "$(cut -d' ' -f3 "$SETUP_LOG" 2>/dev/null | tr '\n' ' ')" "0 1 2 "
SETUP_RC=1 e $PF reconf 2
t_esfm "a failing vf_setup_command fails the reconf, naming the VF and the program's reason" 1 \
	"VF 0 \($(vf 0)\): vf_setup_command: .*ERROR: no free interrupt resources for $(vf 0)"
t_is "... and leaves VF 0 unbound" "$(drv "$(vf 0)")" ""
e $PF reconf 2
t_esfm "the next reconf 2 works" 0
t_is "... 2 VFs on vfio-pci" "$(numvfs) $(drivers 2)" "2 vfio-pci vfio-pci"
write_conf
echo "vf_setup_command = vfsetup {pf}" >>"$conf/esfm.conf"
e pool-check
t_esfm "a relative vf_setup_command is a configuration error (exit 2)" 2 "esfm\.conf:[0-9]+: .*vf_setup_command"
write_conf

# === 8. EBUSY, init after VFs vanished ========================================================
reset
e $PF init 2
log_clear
sim_ctl "fail $PF sriov_numvfs EBUSY"
e $PF reconf 3
t_esfm "sriov_numvfs EBUSY: exit 3 (busy)" 3 "Device or resource busy"
t_like "... with a hint" "$E_err" "make sure no VM holds one"
t_is "... the attempt is in the write log" "$(sim_log | grep -c sriov_numvfs)" 1

reset
e $PF init 2
echo 0 >"$sysd/$PF/sriov_numvfs"
e $PF init 2
t_esfm "init 2 after the VFs were removed behind esfm's back" 0
t_is "... each VM has exactly its one VF" "$(pcfg everestg0)$(pcfg everestg1)" \
	"$(vf 0) ua-esfm-fpga0-0;$(vf 1) ua-esfm-fpga0-1;"

# === 9. running VMs holding VFs: libvirt's test driver ==========================================
# Here no running guest can hold a VF (no VFIO), so the questions asked before touching
# running VMs are checked against libvirt's test driver: everestg0 and everestg1 run there
# with VF 0 and VF 1 in their live XML. It cannot hot-unplug: past the question, the unplug
# fails (that is fine: the point is the gate).
conf2=$work/conf2
mkdir -p "$conf2/pools.d"
cp "$fix/pools.d/fpga0.xml" "$conf2/pools.d/"
cp "$fix/test-node.xml" "$work/test-node.xml"
sed -e "s#^state_dir = .*#state_dir = $work/state2#" \
	-e "s#^libvirt_uri = .*#libvirt_uri = test://$work/test-node.xml#" "$conf/esfm.conf" >"$conf2/esfm.conf"
reset
echo 0 >"$sysd/$PF/sriov_drivers_autoprobe"
echo 2 >"$sysd/$PF/sriov_numvfs"
for i in 0 1; do
	echo vfio-pci >"$sysd/$(vf $i)/driver_override"
	echo "$(vf $i)" >"$mnt/bus/pci/drivers_probe"
done
log_clear
ESFM_CONF_DIR=$conf2 e $PF list_vf_vm
t_like "test driver: everestg0 holds VF 0 live" "$E_out" "0    0000:83:00\.4  everestg0            yes   yes        ua-esfm-fpga0-0"
ESFM_CONF_DIR=$conf2 e $PF reconf 1
t_esfm "reconf with running holders, no terminal, no -y: refused, exit 2" 2 \
	"refusing without a terminal: this removes the VFs of 2 running VMs for a moment \(everestg0, everestg1\)"
t_like "... says to use -y" "$E_err" "rerun with -y"
ESFM_CONF_DIR=$conf2 e $PF detach 0
t_esfm "detach from a running VM, no terminal: refused, exit 2" 2 \
	"refusing without a terminal: this hot-unplugs VF 0 from running VM 'everestg0'"
ESFM_CONF_DIR=$conf2 t_run S script -qec "'$build/esfm' $PF reconf 1" /dev/null <<<"n"
t_like "on a terminal it asks [y/N]" "$S_out" "Continue\? \[y/N\]"
t_like "... 'n' cancels" "$S_out" "esfm: cancelled"
t_is "... exit 2" "$S_rc" 2
ESFM_CONF_DIR=$conf2 e $PF reconf 1 -p
t_esfm "reconf -p, no terminal: refused too" 2 "refusing without a terminal"
t_is "... and no guest's QEMU was asked anything before the refusal" \
	"$(count_lines "$E_err" "QEMU has no device_pause")" 0
t_is "nothing was written to sysfs" "$(sim_log)" ""
ESFM_CONF_DIR=$conf2 e $PF reconf 1 -y
t_esfm "with -y it goes on (the test driver then cannot detach; persistent configs go first)" 1 \
	"remove VF 1 from the persistent config of 'everestg1': cannot detach the device"
t_is "... still nothing written to sysfs" "$(sim_log)" ""

# === 10. a hook prepare while the CLI has the pool busy ===========================================
reset
e $PF init 2
lv_domain_xml vm-hook '<esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0"/>' >"$work/vm-hook.xml"
sim_ctl "delay $PF sriov_numvfs 1500"
t0=$(now_ms)
("$build/esfm" $PF reconf 3 -y </dev/null >"$work/bg.out" 2>"$work/bg.err") &
bg=$!
bg_pids+=("$bg")
for _ in $(seq 200); do
	grep -q "<busy pid=" "$state/fpga0.state" 2>/dev/null && break
	sleep 0.02
done
t_like "esfm reconf marks the pool busy in the state file (its pid, what it does)" \
	"$(grep -o '<busy [^>]*>' "$state/fpga0.state" 2>/dev/null)" \
	"<busy pid=\"[0-9]+\" start=\"[0-9]+\" what=\"esfm reconf\" since=\"[0-9]+\"/>"
# The reconf takes the lock for a few ms at a time (its journal); what must not happen is holding
# it across the slow sriov_numvfs write (1.5 s here). One probe can hit such a short lock, so the
# lock must be found free at least once in the first second, probed every 10 ms.
lock_free=no
for _ in $(seq 100); do
	flock -n "$state/fpga0.lock" true && { lock_free=free; break; }
	sleep 0.01
done
t_is "... and holds no lock meanwhile (no libvirt call under a pool lock)" "$lock_free" free
h0=$(now_ms)
(cd / && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root \
	${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} ${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
	ESFM_CONF_DIR="$conf" "$build/esfm-hook" vm-hook prepare begin - \
	<"$work/vm-hook.xml" >"$work/h.out" 2>"$work/h.err")
h_rc=$?
h_ms=$(($(now_ms) - h0))
t_is "a hook prepare meanwhile is refused: exit 1" "$h_rc" 1
t_like "... 'pool fpga0 is in use by esfm reconf'" "$(cat "$work/h.err")" \
	"^esfm: pool 'fpga0' is in use by esfm reconf \(pid [0-9]+\); try again when it is done$"
echo "# the refused prepare took $h_ms ms (it does not wait for the operation)"
wait "$bg"
bg_rc=$?
bg_pids=()
t_is "the reconf finishes fine" "$bg_rc $(numvfs)" "0 3"
echo "# reconf with two delayed sriov_numvfs writes took $(($(now_ms) - t0)) ms"
sim_ctl "delay $PF sriov_numvfs 0"

# === 11. -d, -q, -v ===============================================================================
printf '%s\n' "qdma-pf 0000:83:00.0: old line from before the command" >"$work/kmsg"
ESFM_KMSG=$work/kmsg e -d $PF reconf 2 -b "$fw/top.bit" bit
t_esfm "-d reconf 2 -b exits 0" 0
t_like "-d prints the PF's kernel lines written meanwhile" "$E_out" \
	"kernel: qdma-pf 0000:83:00\.0: FPGA programmed, link up"
t_unlike "... not those from before" "$E_out" "old line"
t_unlike "... not those of other devices" "$E_out" "e1000e"
e -q $PF reconf 3
t_esfm "-q reconf 3 exits 0" 0
t_is "-q prints nothing" "$E_out$E_err" ""
e $PF reconf 2
t_like "without -q the steps and the total are printed" "$E_out" \
	"esfm: $PF: reconf to 2 VFs done in [0-9]+ ms \([0-9]+ steps\)"
e -v $PF reconf 3
t_esfm "-v reconf 3 exits 0" 0
t_like "-v prints the sysfs writes" "$E_err" "write '3' to $sysd/$PF/sriov_numvfs"

# === 12. the implicit pool of a PF without a pool file ==========================================
e 0000:01:00.0 init 2 -vm nvme -y
t_esfm "init 2 on the NVMe PF (no pool file) exits 0" 0
t_is "... its VFs on vfio-pci" "$(drv 0000:01:00.1) $(drv 0000:01:00.2)" "vfio-pci vfio-pci"
t_unlike "... no qmax (no QDMA)" "$(sim_log)" "0000:01:00.0/qdma"
status_json
t_is "json: the implicit pool, not declared, pool_size 0" \
	"$(json '[(p["pool"], p["declared"], p["numvfs"], p["pool_size"]) for p in j["pools"] if p["pf"] == "0000:01:00.0"]')" \
	"[('pci_0000_01_00_0', False, 2, 0)]"
e status
t_like "status: '(implicit)'" "$E_out" "^pool pci_0000_01_00_0 \(implicit\)  PF 0000:01:00\.0"

if grep -q 'ERROR: AddressSanitizer\|runtime error:' "$work/sim.log" 2>/dev/null; then
	t_fail "the simulator ran clean" "$(grep -m3 'ERROR\|runtime error' "$work/sim.log")"
fi
echo "# cli-sim.sh took $(($(now_ms) - t_start)) ms"
t_done
