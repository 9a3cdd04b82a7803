#!/usr/bin/env bash
# The sysfs simulator behaves like Linux 6.1 (FACTS.md section 3 and 4):
# every rule esfm relies on, checked with plain shell I/O on a mounted
# simulator, plus its test-only controls and a 64-client stress run.
# The listings compare known sysfs names, so ls is fine; t_run sets <prefix>_rc/_out/_err.
# shellcheck disable=SC2010,SC2012,SC2154
set -u
: "${ESFM_TOP:?set ESFM_TOP to the repository root}" "${ESFM_BUILD:?set ESFM_BUILD to the build directory}"
# shellcheck source=../lib/tap.sh
. "$ESFM_TOP/tests/lib/tap.sh"

sim_dir=$ESFM_TOP/tests/sim
topos=$sim_dir/topologies
work=$(mktemp -d /tmp/esfm-sim-rules.XXXXXX)
started=() # "mountpoint pid" of every simulator this script started

stop_all() {
	local entry
	for entry in "${started[@]}"; do
		# shellcheck disable=SC2086
		"$sim_dir/sim-stop" $entry
	done
	started=()
}
cleanup() {
	stop_all
	if ! grep -qs " $work/" /proc/mounts; then
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

EINVAL="Invalid argument" ERANGE="Numerical result out of range" EBUSY="Device or resource busy"
ENOENT="No such file or directory" ENODEV="No such device" EACCES="Permission denied"
EIO="Input/output error" ENOMEM="Cannot allocate memory" EPERM="Operation not permitted"

# start NAME TOPOLOGY VAR: mount a simulator on $work/NAME and set VAR to that path.
start() {
	local mnt=$work/$1 pid
	pid=$("$sim_dir/sim-start" "$2" "$mnt") || return 1
	started+=("$mnt $pid")
	printf -v "$3" '%s' "$mnt"
}

# wr FILE VALUE: `echo VALUE > FILE`; prints OK or the error text the shell got.
wr() {
	local err
	if err=$({ echo "$2" >"$1"; } 2>&1); then
		echo OK
	else
		echo "${err##*: }"
	fi
}
rd() { cat "$1" 2>&1; }
link() { readlink "$1" 2>&1; }
# took_ms CMD...: runs CMD, prints how long it took in milliseconds.
took_ms() {
	local s e
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s%N)
	echo $(((e - s) / 1000000))
}
count_virtfn() { find "$1/" -maxdepth 1 -name 'virtfn*' | wc -l; }

S='' C='' U=''
if ! start qdma "$topos/qdma.topo" S || ! start carry "$topos/carry.topo" C ||
	! start unbound "$topos/unbound.topo" U; then
	t_fail "three simulators start with sim-start" "$(tail -n 5 "$work"/*.sim.log 2>/dev/null)"
	t_done
	exit 1
fi
t_pass "three simulators start with sim-start"
qdma_pid=${started[0]#* }
t_ok "sim-start printed the PID of a live simulator" kill -0 "$qdma_pid"

D=$S/bus/pci/devices
PF=$D/0000:83:00.0
NV=$D/0000:01:00.0
CTL=$S/sim-control
ctl() { echo "$*" >"$CTL"; }

# --- layout -------------------------------------------------------------------
t_is "bus/pci/devices lists the topology's devices" "$(ls "$D" | tr '\n' ' ')" \
	"0000:00:1f.0 0000:01:00.0 0000:83:00.0 "
t_is "bus/pci/devices/<bdf> is a relative link into devices/pci<dom>:<bus>" "$(link "$PF")" \
	"../../../devices/pci0000:83/0000:83:00.0"
t_ok "the device link resolves to a directory inside the mount" test -d "$S/devices/pci0000:83/0000:83:00.0/."
t_is "vendor reads like the kernel (0x%04x)" "$(rd "$PF/vendor")" "0x10ee"
t_is "device reads like the kernel (0x%04x)" "$(rd "$PF/device")" "0x903f"
t_is "class reads like the kernel (0x%06x)" "$(rd "$PF/class")" "0x058000"
t_is "sriov_totalvfs of the QDMA PF" "$(rd "$PF/sriov_totalvfs")" "252"
t_is "sriov_offset and sriov_stride" "$(rd "$PF/sriov_offset") $(rd "$PF/sriov_stride")" "4 1"
t_is "sriov_vf_device is hex without 0x" "$(rd "$PF/sriov_vf_device")" "a03f"
t_is "sriov_numvfs starts at 0" "$(rd "$PF/sriov_numvfs")" "0"
t_is "sriov_drivers_autoprobe starts at 1" "$(rd "$PF/sriov_drivers_autoprobe")" "1"
t_is "qdma/qmax of a fresh QDMA PF is 0" "$(rd "$PF/qdma/qmax")" "0"
t_is "driver link is ../../../bus/pci/drivers/<name>" "$(link "$PF/driver")" "../../../bus/pci/drivers/qdma-pf"
t_is "driver link resolves inside the mount" "$(readlink -f "$PF/driver")" "$S/bus/pci/drivers/qdma-pf"
t_is "the driver directory links back to its device" "$(readlink -f "$S/bus/pci/drivers/qdma-pf/0000:83:00.0")" \
	"$S/devices/pci0000:83/0000:83:00.0"
t_is "an unset driver_override reads (null)" "$(rd "$PF/driver_override")" "(null)"
grp=$(link "$PF/iommu_group")
t_like "iommu_group is a link to ../../../kernel/iommu_groups/<n>" "$grp" '^\.\./\.\./\.\./kernel/iommu_groups/[0-9]+$'
t_is "the group's devices/<bdf> link leads back to the device" \
	"$(readlink -f "$S/kernel/iommu_groups/${grp##*/}/devices/0000:83:00.0")" "$S/devices/pci0000:83/0000:83:00.0"
t_is "every device has its own IOMMU group" \
	"$(for d in "$D"/*; do readlink "$d/iommu_group"; done | sort -u | wc -l)" "3"
t_fails "a plain device has no sriov_numvfs" test -e "$D/0000:00:1f.0/sriov_numvfs"
t_fails "a non-QDMA PF has no qdma/ directory" test -e "$NV/qdma"
t_is "bus/pci/drivers lists vfio-pci and every named driver" "$(ls "$S/bus/pci/drivers" | tr '\n' ' ')" \
	"lpc_ich nvme pci-stub qdma-pf qdma-vf vfio-pci "
t_is "modes like sysfs: 0444 read-only, 0644 rw, 0200 write-only, 0600 control" \
	"$(stat -c %a "$PF/vendor" "$PF/sriov_numvfs" "$PF/remove" "$S/bus/pci/drivers/vfio-pci/bind" \
		"$S/bus/pci/drivers_probe" "$S/bus/pci/rescan" "$CTL" | tr '\n' ' ')" "444 644 200 200 200 200 600 "
t_is "attributes report a size of 4096 like sysfs" "$(stat -c %s "$PF/vendor")" "4096"
t_is "writing a read-only attribute is EACCES, even for root" "$(wr "$PF/vendor" 1)" "$EACCES"
t_like "reading a write-only attribute is EACCES" "$(rd "$PF/remove")" "$EACCES\$"
t_is "a read at an offset continues the same text" "$(dd if="$PF/vendor" bs=1 skip=2 count=4 2>/dev/null)" "10ee"
LPC=$D/0000:00:1f.0
t_is "one fd read again at offset 0 sees the new state" "$(perl -e '
	open(my $f, "<", $ARGV[0]) or die; sysread($f, my $a, 64);
	system("sh", "-c", "echo pci-stub > \"\$0\"", $ARGV[0]);
	sysseek($f, 0, 0); sysread($f, my $b, 64); chomp($a, $b); print "$a->$b";' \
	"$LPC/driver_override")" "(null)->pci-stub"
wr "$LPC/driver_override" "" >/dev/null

# --- sriov_numvfs (drivers/pci/iov.c) -------------------------------------------
t_is "numvfs: a non-number is EINVAL" "$(wr "$PF/sriov_numvfs" abc)" "$EINVAL"
t_is "numvfs: a negative number is EINVAL" "$(wr "$PF/sriov_numvfs" -1)" "$EINVAL"
t_is "numvfs: an empty write is EINVAL" "$(wr "$PF/sriov_numvfs" "")" "$EINVAL"
t_is "numvfs: more than u16 is EINVAL (kstrtou16 fails)" "$(wr "$PF/sriov_numvfs" 65536)" "$EINVAL"
t_is "numvfs: more than sriov_totalvfs is ERANGE" "$(wr "$PF/sriov_numvfs" 253)" "$ERANGE"
t_is "numvfs: writing the current value 0 succeeds" "$(wr "$PF/sriov_numvfs" 0)" OK
t_is "numvfs: 0 -> 2 succeeds" "$(wr "$PF/sriov_numvfs" 2)" OK
t_is "numvfs: reads 2 afterwards" "$(rd "$PF/sriov_numvfs")" 2
t_is "numvfs: VF 0 and VF 1 appear at PF devfn + offset + stride*i" "$(ls "$D" | tr '\n' ' ')" \
	"0000:00:1f.0 0000:01:00.0 0000:83:00.0 0000:83:00.4 0000:83:00.5 "
echo pci-stub >"$D/0000:83:00.4/driver_override"
t_is "numvfs: writing the same value 2 again succeeds" "$(wr "$PF/sriov_numvfs" 2)" OK
t_is "numvfs: a same-value write is a no-op (VF state survives)" "$(rd "$D/0000:83:00.4/driver_override")" pci-stub
t_is "numvfs: 2 -> 3 is EBUSY (change goes through 0)" "$(wr "$PF/sriov_numvfs" 3)" "$EBUSY"
t_is "numvfs: still 2 after the EBUSY" "$(rd "$PF/sriov_numvfs")" 2
t_is "numvfs: 2 -> 0 succeeds" "$(wr "$PF/sriov_numvfs" 0)" OK
t_is "numvfs: 0 removes the VFs from bus/pci/devices" "$(ls "$D" | tr '\n' ' ')" "0000:00:1f.0 0000:01:00.0 0000:83:00.0 "
t_is "numvfs: 0 removes the virtfn links" "$(count_virtfn "$PF")" 0
t_is "numvfs: 0 removes the VFs' driver bindings" "$(ls "$S/bus/pci/drivers/qdma-vf" | tr '\n' ' ')" "bind unbind "
t_is "numvfs: 0 frees the VFs' IOMMU groups" "$(ls "$S/kernel/iommu_groups" | wc -l)" 3
t_is "numvfs: 0 -> 3 succeeds" "$(wr "$PF/sriov_numvfs" 3)" OK
t_is "numvfs: 3 virtfn links" "$(count_virtfn "$PF")" 3
t_is "numvfs: a re-created VF has a fresh driver_override" "$(rd "$D/0000:83:00.4/driver_override")" "(null)"
t_is "numvfs: \"0x0\" is a number (kstrtou16 base 0)" "$(wr "$PF/sriov_numvfs" 0x0)" OK
t_is "numvfs: unbound PF, same value 0 still succeeds" "$(wr "$U/bus/pci/devices/0000:83:00.0/sriov_numvfs" 0)" OK
t_is "numvfs: PF without a driver is ENOENT" "$(wr "$U/bus/pci/devices/0000:83:00.0/sriov_numvfs" 2)" "$ENOENT"
t_is "numvfs: range is checked before the driver (ERANGE)" \
	"$(wr "$U/bus/pci/devices/0000:83:00.0/sriov_numvfs" 300)" "$ERANGE"

# --- VF addresses -----------------------------------------------------------------
wr "$PF/sriov_numvfs" 0 >/dev/null
t_is "252 VFs can be enabled" "$(wr "$PF/sriov_numvfs" 252)" OK
t_is "252 virtfn links" "$(count_virtfn "$PF")" 252
t_is "VF 251 of 0000:83:00.0 (offset 4) is 0000:83:1f.7" "$(link "$PF/virtfn251")" "../0000:83:1f.7"
t_is "virtfn links are numbered in decimal (virtfn10 -> 14th function)" "$(link "$PF/virtfn10")" "../0000:83:01.6"
t_is "virtfn names sort numerically with ls -v" "$(ls -v "$PF" | grep virtfn | sed -n '9,11p' | tr '\n' ' ')" \
	"virtfn8 virtfn9 virtfn10 "
t_is "virtfn links resolve inside the mount" "$(readlink -f "$PF/virtfn15")" "$S/devices/pci0000:83/0000:83:02.3"
t_is "a VF's physfn links to ../<pf>" "$(link "$D/0000:83:1f.7/physfn")" "../0000:83:00.0"
t_is "a VF reads the PF vendor and sriov_vf_device" "$(rd "$D/0000:83:1f.7/vendor") $(rd "$D/0000:83:1f.7/device")" \
	"0x10ee 0xa03f"
t_fails "a VF has no sriov_* attributes" test -e "$D/0000:83:00.4/sriov_numvfs"
t_is "VFs get their own IOMMU groups" "$(ls "$S/kernel/iommu_groups" | wc -l)" 255
wr "$PF/sriov_numvfs" 0 >/dev/null
wr "$PF/sriov_numvfs" 2 >/dev/null
t_is "re-created VFs get the same addresses" "$(link "$PF/virtfn1")" "../0000:83:00.5"
CD=$C/bus/pci/devices
t_is "carry: enabling 16 VFs behind 0000:05:1f.0" "$(wr "$CD/0000:05:1f.0/sriov_numvfs" 16)" OK
t_is "carry: VF 0 (devfn f8 + offset 8) is 0000:06:00.0" "$(link "$CD/0000:05:1f.0/virtfn0")" "../0000:06:00.0"
t_is "carry: VF 15 is 0000:06:01.7" "$(link "$CD/0000:05:1f.0/virtfn15")" "../0000:06:01.7"
t_is "carry: the VF lives next to its PF" "$(link "$CD/0000:06:00.0")" "../../../devices/pci0000:05/0000:06:00.0"
t_is "carry: physfn resolves to the PF" "$(readlink -f "$CD/0000:06:01.7/physfn")" "$C/devices/pci0000:05/0000:05:1f.0"

# --- autoprobe ------------------------------------------------------------------------
t_is "autoprobe on: new VFs bind to the topology's VF driver" "$(link "$D/0000:83:00.5/driver")" \
	"../../../bus/pci/drivers/qdma-vf"
t_is "autoprobe: 'maybe' is EINVAL (kstrtobool)" "$(wr "$PF/sriov_drivers_autoprobe" maybe)" "$EINVAL"
wr "$PF/sriov_numvfs" 0 >/dev/null
t_is "autoprobe: can be switched off" "$(wr "$PF/sriov_drivers_autoprobe" 0)$(rd "$PF/sriov_drivers_autoprobe")" OK0
wr "$PF/sriov_numvfs" 2 >/dev/null
t_fails "autoprobe off: new VFs stay unbound" test -e "$D/0000:83:00.4/driver"
t_is "autoprobe off: drivers_probe without an override succeeds" "$(wr "$S/bus/pci/drivers_probe" 0000:83:00.4)" OK
t_fails "autoprobe off: ... but binds nothing (pci_device_can_probe)" test -e "$D/0000:83:00.4/driver"
t_is "autoprobe off: bind to the VF driver without an override is ENODEV" \
	"$(wr "$S/bus/pci/drivers/qdma-vf/bind" 0000:83:00.4)" "$ENODEV"
UNV=$U/bus/pci/devices/0000:01:00.0
t_is "unknown VF driver: VFs can still be enabled" "$(wr "$UNV/sriov_numvfs" 2)" OK
t_fails "unknown VF driver: autoprobe leaves the VF unbound" test -e "$U/bus/pci/devices/0000:01:00.1/driver"

# --- driver_override + drivers_probe --------------------------------------------------
VF0=$D/0000:83:00.4 VF1=$D/0000:83:00.5
t_is "driver_override: writing a name sets it" "$(wr "$VF0/driver_override" vfio-pci)$(rd "$VF0/driver_override")" OKvfio-pci
t_is "drivers_probe: binds the VF to its override" "$(wr "$S/bus/pci/drivers_probe" 0000:83:00.4)$(link "$VF0/driver")" \
	"OK../../../bus/pci/drivers/vfio-pci"
t_ok "drivers_probe: vfio-pci lists the bound VF" test -L "$S/bus/pci/drivers/vfio-pci/0000:83:00.4"
t_is "drivers_probe: an already bound device is left alone" \
	"$(wr "$S/bus/pci/drivers_probe" 0000:83:00.4)$(link "$VF0/driver")" "OK../../../bus/pci/drivers/vfio-pci"
t_is "drivers_probe: an unknown address is ENODEV" "$(wr "$S/bus/pci/drivers_probe" 0000:83:1f.7)" "$ENODEV"
t_is "driver_override: \"\\n\" clears it" "$(wr "$VF0/driver_override" "")$(rd "$VF0/driver_override")" "OK(null)"
wr "$VF1/driver_override" nosuch-driver >/dev/null
t_is "drivers_probe: an override naming no driver binds nothing" \
	"$(wr "$S/bus/pci/drivers_probe" 0000:83:00.5)$(test -e "$VF1/driver" && echo bound)" OK
wr "$VF1/driver_override" "" >/dev/null
wr "$PF/sriov_drivers_autoprobe" 1 >/dev/null
t_is "drivers_probe: without an override binds the default driver" \
	"$(wr "$S/bus/pci/drivers_probe" 0000:83:00.5)$(link "$VF1/driver")" "OK../../../bus/pci/drivers/qdma-vf"

# --- bind / unbind (drivers/base/bus.c, dd.c) --------------------------------------------
t_is "unbind: through the device's driver/unbind" "$(wr "$VF0/driver/unbind" 0000:83:00.4)" OK
t_fails "unbind: the driver link is gone" test -e "$VF0/driver"
t_is "unbind: a device not bound to that driver is ENODEV" "$(wr "$S/bus/pci/drivers/vfio-pci/unbind" 0000:83:00.4)" "$ENODEV"
t_is "unbind: the wrong driver is ENODEV" "$(wr "$S/bus/pci/drivers/vfio-pci/unbind" 0000:83:00.5)" "$ENODEV"
t_is "bind: vfio-pci without an override is ENODEV (no ID table)" "$(wr "$S/bus/pci/drivers/vfio-pci/bind" 0000:83:00.4)" "$ENODEV"
wr "$VF0/driver_override" vfio-pci >/dev/null
t_is "bind: a driver other than the override is ENODEV" "$(wr "$S/bus/pci/drivers/pci-stub/bind" 0000:83:00.4)" "$ENODEV"
t_is "bind: the override's driver binds" "$(wr "$S/bus/pci/drivers/vfio-pci/bind" 0000:83:00.4)$(link "$VF0/driver")" \
	"OK../../../bus/pci/drivers/vfio-pci"
t_is "bind: an already bound device is EBUSY (Linux 6.1 __driver_probe_device)" \
	"$(wr "$S/bus/pci/drivers/vfio-pci/bind" 0000:83:00.4)" "$EBUSY"
t_is "bind: an unknown address is ENODEV" "$(wr "$S/bus/pci/drivers/vfio-pci/bind" 0000:99:00.0)" "$ENODEV"
wr "$VF1/driver/unbind" 0000:83:00.5 >/dev/null
t_is "bind: without an override the default driver binds" "$(wr "$S/bus/pci/drivers/qdma-vf/bind" 0000:83:00.5)" OK
t_is "numvfs: unbinding the PF driver disables its VFs" \
	"$(wr "$PF/driver/unbind" 0000:83:00.0)$(rd "$PF/sriov_numvfs")$(count_virtfn "$PF")" OK00
t_is "numvfs: a PF without a driver is ENOENT" "$(wr "$PF/sriov_numvfs" 2)" "$ENOENT"
wr "$PF/driver_override" vfio-pci >/dev/null
wr "$S/bus/pci/drivers_probe" 0000:83:00.0 >/dev/null
t_is "numvfs: a PF bound to vfio-pci is ENOENT (no sriov_configure)" "$(wr "$PF/sriov_numvfs" 2)" "$ENOENT"
wr "$PF/driver/unbind" 0000:83:00.0 >/dev/null
wr "$PF/driver_override" "" >/dev/null
t_is "bind: the PF returns to its own driver" "$(wr "$S/bus/pci/drivers/qdma-pf/bind" 0000:83:00.0)$(wr "$PF/sriov_numvfs" 2)" OKOK

# --- qdma/qmax ------------------------------------------------------------------------------
t_is "qmax: a decimal write is stored" "$(wr "$PF/qdma/qmax" 32)$(rd "$PF/qdma/qmax")" OK32
t_is "qmax: a non-number is EINVAL" "$(wr "$PF/qdma/qmax" lots)" "$EINVAL"
t_is "qmax: more than 2048 queues is EINVAL" "$(wr "$PF/qdma/qmax" 4096)" "$EINVAL"
ctl queues_active 0000:83:00.0 1
t_is "qmax: EBUSY while queues are active" "$(wr "$PF/qdma/qmax" 64)$(rd "$PF/qdma/qmax")" "${EBUSY}32"
ctl queues_active 0000:83:00.0 0
t_is "qmax: accepted again once queues stop" "$(wr "$PF/qdma/qmax" 64)$(rd "$PF/qdma/qmax")" OK64

# --- remove + rescan ----------------------------------------------------------------------------
t_is "remove: writing 0 does nothing" "$(wr "$PF/remove" 0)$(test -e "$PF" && echo here)" OKhere
t_is "remove: a non-number is EINVAL" "$(wr "$PF/remove" yes)" "$EINVAL"
t_is "remove: a single VF can be removed" "$(wr "$D/0000:83:00.5/remove" 1)$(test -e "$D/0000:83:00.5" || echo gone)" OKgone
t_is "remove: the PF keeps its numvfs after a VF removal" "$(rd "$PF/sriov_numvfs")" 2
wr "$PF/driver_override" pci-stub >/dev/null
t_is "remove: the PF goes, with its VFs" "$(wr "$PF/remove" 1)$(ls "$D" | tr '\n' ' ')" "OK0000:00:1f.0 0000:01:00.0 "
t_fails "remove: the driver forgets the removed PF" test -e "$S/bus/pci/drivers/qdma-pf/0000:83:00.0"
t_fails "remove: the VFs' driver links are gone" test -e "$S/bus/pci/drivers/qdma-vf/0000:83:00.4"
t_is "rescan: a non-number is EINVAL" "$(wr "$S/bus/pci/rescan" now)" "$EINVAL"
t_is "rescan: brings the PF back" "$(wr "$S/bus/pci/rescan" 1)$(test -d "$PF/." && echo back)" OKback
t_is "rescan: the PF has no VFs" "$(rd "$PF/sriov_numvfs") $(count_virtfn "$PF")" "0 0"
t_is "rescan: the PF driver is probed again" "$(link "$PF/driver")" "../../../bus/pci/drivers/qdma-pf"
t_is "rescan: qmax is back to 0" "$(rd "$PF/qdma/qmax")" 0
t_is "rescan: driver_override is cleared (new pci_dev)" "$(rd "$PF/driver_override")" "(null)"
t_is "rescan: 1 when nothing is missing is fine" "$(wr "$S/bus/pci/rescan" 1)" OK

# --- sim-control: fault injection --------------------------------------------------------------
ctl fail 0000:83:00.0 sriov_numvfs EIO
t_is "fail: the next write fails with the given errno" "$(wr "$PF/sriov_numvfs" 2)" "$EIO"
t_is "fail: the failed write changed nothing" "$(rd "$PF/sriov_numvfs")" 0
t_is "fail: only once; the next write succeeds" "$(wr "$PF/sriov_numvfs" 2)" OK
ctl fail - bus/pci/drivers_probe ENOMEM
t_is "fail: bus files are addressed with bdf '-'" "$(wr "$S/bus/pci/drivers_probe" 0000:83:00.4)" "$ENOMEM"
t_is "fail: ... and fail once" "$(wr "$S/bus/pci/drivers_probe" 0000:83:00.4)" OK
ctl fail 0000:83:00.0 qdma/qmax EPERM
t_is "fail: qdma/qmax by its path below the device" "$(wr "$PF/qdma/qmax" 8)" "$EPERM"
ctl fail 0000:83:00.4 driver_override ENODEV
t_is "fail: on a VF's driver_override" "$(wr "$VF0/driver_override" vfio-pci)" "$ENODEV"
t_is "sim-control: unknown errno names are rejected" "$(wr "$CTL" "fail 0000:83:00.0 sriov_numvfs EWHAT")" "$EINVAL"
t_is "sim-control: unknown commands are rejected" "$(wr "$CTL" "frobnicate")" "$EINVAL"
t_is "sim-control: queues_active on a non-QDMA device is ENODEV" "$(wr "$CTL" "queues_active 0000:01:00.0 1")" "$ENODEV"
ctl delay 0000:83:00.0 sriov_numvfs 300
ms=$(took_ms wr "$PF/sriov_numvfs" 0)
if [ "$ms" -ge 300 ]; then t_pass "delay: a delayed write takes at least the delay ($ms ms >= 300)"; else
	t_fail "delay: a delayed write takes at least the delay" "took $ms ms"; fi
t_is "delay: the delayed write still happens" "$(rd "$PF/sriov_numvfs")" 0
t_is "delay: 0 clears it" "$(wr "$CTL" "delay 0000:83:00.0 sriov_numvfs 0")" OK
wr "$PF/sriov_numvfs" 2 >/dev/null
ctl rule numvfs_ebusy off
t_is "rule numvfs_ebusy off: 2 -> 3 is allowed (a deliberately wrong kernel)" \
	"$(wr "$PF/sriov_numvfs" 3)$(rd "$PF/sriov_numvfs")$(count_virtfn "$PF")" OK33
ctl rule numvfs_ebusy on
t_is "rule numvfs_ebusy on: 3 -> 2 is EBUSY again" "$(wr "$PF/sriov_numvfs" 2)" "$EBUSY"
ctl ids 0000:83:00.0 10ee 9048
t_is "ids: the device keeps its IDs until it is rescanned" "$(rd "$PF/device")" 0x903f
wr "$PF/remove" 1 >/dev/null
wr "$S/bus/pci/rescan" 1 >/dev/null
t_is "ids: after remove + rescan the new IDs show" "$(rd "$PF/vendor") $(rd "$PF/device")" "0x10ee 0x9048"

# --- sim-control: write log -------------------------------------------------------------------
ctl log clear
t_is "log: empty after 'log clear'" "$(rd "$CTL")" ""
wr "$PF/qdma/qmax" 32 >/dev/null
wr "$PF/sriov_numvfs" 2 >/dev/null
wr "$VF0/driver_override" vfio-pci >/dev/null
wr "$S/bus/pci/drivers_probe" 0000:83:00.4 >/dev/null
t_is "log: every write, in order, as '<path> <value>'" "$(rd "$CTL")" \
	"devices/pci0000:83/0000:83:00.0/qdma/qmax 32
devices/pci0000:83/0000:83:00.0/sriov_numvfs 2
devices/pci0000:83/0000:83:00.4/driver_override vfio-pci
bus/pci/drivers_probe 0000:83:00.4"

# --- 64 concurrent clients --------------------------------------------------------------------
vf_bdf() { printf '0000:83:%02x.%x' $(((4 + $1) / 8)) $(((4 + $1) % 8)); }
stress_worker() {
	local id=$1 i bdf
	bdf=$(vf_bdf $((id % 40)))
	for i in 1 2 3 4 5 6 7 8 9 10; do
		case $((id % 4)) in
		0 | 1)
			echo vfio-pci >"$D/$bdf/driver_override"
			echo "$bdf" >"$S/bus/pci/drivers_probe"
			readlink "$D/$bdf/driver"
			echo "$bdf" >"$S/bus/pci/drivers/vfio-pci/unbind"
			echo >"$D/$bdf/driver_override"
			echo "$bdf" >"$S/bus/pci/drivers/qdma-vf/bind"
			;;
		2)
			cat "$PF/vendor" "$PF/sriov_numvfs" "$D/$bdf/device" "$CTL"
			ls "$D" "$PF" "$S/kernel/iommu_groups"
			;;
		3)
			if [ "$id" -lt 12 ]; then
				echo 0 >"$PF/sriov_numvfs"
				echo 40 >"$PF/sriov_numvfs"
			else
				readlink -f "$PF/virtfn$((i + id % 30))/iommu_group"
				echo "$i" >"$PF/qdma/qmax"
			fi
			;;
		esac
	done >/dev/null 2>&1
}
wr "$PF/sriov_numvfs" 0 >/dev/null
wr "$PF/sriov_numvfs" 40 >/dev/null
ctl log clear
workers=()
for id in $(seq 0 63); do
	stress_worker "$id" &
	workers+=($!)
done
deadline=$((SECONDS + 180))
while [ $SECONDS -lt $deadline ]; do
	alive=0
	for w in "${workers[@]}"; do kill -0 "$w" 2>/dev/null && alive=$((alive + 1)); done
	[ "$alive" -eq 0 ] && break
	sleep 0.2
done
if [ "$alive" -eq 0 ]; then
	wait
	t_pass "64 concurrent clients finished within 180 s"
else
	for w in "${workers[@]}"; do kill "$w" 2>/dev/null; done
	wait
	t_fail "64 concurrent clients finished within 180 s" "$alive still running (simulator deadlocked?)"
fi
t_ok "stress: the simulator process survived" kill -0 "$qdma_pid"
writes=$(wc -l <"$CTL")
if [ "$writes" -ge 1000 ]; then t_pass "stress: the clients really wrote ($writes writes logged)"; else
	t_fail "stress: the clients really wrote" "only $writes writes logged"; fi
t_ok "stress: the mount is still up" mountpoint -q "$S"
t_is "stress: the simulator still answers" "$(rd "$PF/vendor")" 0x10ee
n=$(rd "$PF/sriov_numvfs")
t_is "stress: numvfs matches the virtfn links" "$(count_virtfn "$PF")" "$n"
t_is "stress: every virtfn link resolves to a listed device" \
	"$(for l in "$PF"/virtfn*; do [ -e "$D/$(basename "$(readlink "$l")")" ] || echo "dangling $l"; done)" ""
t_is "stress: every driver link is mirrored in its driver's directory" \
	"$(for dv in "$D"/*; do
		[ -L "$dv/driver" ] || continue
		[ -L "$(readlink -f "$dv/driver")/$(basename "$dv")" ] || echo "unmirrored $dv"
	done)" ""

# --- malformed topologies -----------------------------------------------------------------------
printf '# fine so far\npf 0000:83:00.0 vendor=10ee device=903f totalvfs=4\npf 0000:84:00.0 vendor=10ee device=xyz totalvfs=4\n' \
	>"$work/bad.topo"
t_run bad "$sim_dir/sim-start" "$work/bad.topo" "$work/badmnt"
t_is "malformed topology: sim-start exits 1" "$bad_rc" 1
t_like "malformed topology: one line naming file:line" "$bad_err" "^sim-start: .*bad\.topo:3: device: expected 1-4 hex digits"
t_is "malformed topology: nothing left mounted" "$(mountpoint -q "$work/badmnt" && echo mounted)" ""
t_run chk "$ESFM_BUILD/tests/sim/esfm-sysfs-sim" --check "$work/bad.topo"
t_is "malformed topology: the simulator itself exits 2" "$chk_rc" 2
t_is "malformed topology: its message is 'esfm-sysfs-sim: file:line: what'" "$chk_err" \
	"esfm-sysfs-sim: $work/bad.topo:3: device: expected 1-4 hex digits without 0x, got 'xyz'"
printf 'pf 0000:83:00.0 vendor=10ee device=903f totalvfs=8 offset=1\ndev 0000:83:00.3 vendor=8086 device=1\n' >"$work/clash.topo"
t_run chk "$ESFM_BUILD/tests/sim/esfm-sysfs-sim" --check "$work/clash.topo"
t_like "malformed topology: a device on a VF's address is rejected" "$chk_rc $chk_err" "^2 .*clash\.topo:2: address 0000:83:00\.3 is used twice"

# --- stopping -------------------------------------------------------------------------------------
t_ok "sim-stop: stops the simulator" "$sim_dir/sim-stop" "$S" "$qdma_pid"
t_fails "sim-stop: the mount is gone" mountpoint -q "$S"
state=$(sed -n 's/^State:[[:space:]]*//p' "/proc/$qdma_pid/status" 2>/dev/null)
t_like "sim-stop: the process is gone (or a zombie)" "${state:-gone}" '^(gone|Z|X)'

t_ok "sim-stop: a second call is harmless" "$sim_dir/sim-stop" "$S" "$qdma_pid"
stop_all
t_is "no sanitizer or leak report from any simulator" \
	"$(grep -lE 'AddressSanitizer|LeakSanitizer|runtime error|SUMMARY:' "$work"/*.sim.log 2>/dev/null)" ""

t_done
