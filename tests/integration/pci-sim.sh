#!/usr/bin/env bash
# The pci layer (src/pci.c, through esfm-pcictl) against the FUSE sysfs simulator: every
# function and every error path, 16+ VFs in numeric order, autoprobe on and off, bind/unbind,
# QDMA qmax, remove/rescan. The simulator behaves like the kernel (FACTS.md section 3), so a
# simulator that broke a kernel rule makes these fail too (e.g. the EBUSY rule: test "raw 2->3").
set -u
. "$ESFM_TOP/tests/lib/tap.sh"
. "$ESFM_TOP/tests/lib/sim.sh"

top=$ESFM_TOP
work=$(mktemp -d /tmp/esfm-pci-sim.XXXXXX)
mnt=$work/sys
trap 'sim_finish "$work"' EXIT
sim_up "$top/tests/sim/topologies/qdma.topo" "$mnt"
export ESFM_SYSFS_ROOT=$mnt
P=$ESFM_BUILD/tests/tools/esfm-pcictl
QDMA=0000:83:00.0
NVME=0000:01:00.0
PLAIN=0000:00:1f.0
ctl() { sim_ctl "$@"; }
wlog() { sim_log; }
pc() { t_run R "$P" "$@"; } # sets R_out, R_err, R_rc

# --- PF facts ---
pc info $QDMA
t_is "info exits 0" "$R_rc" 0
t_is "info reads every PF fact" "$(printf '%s' "$R_out" | tr '\n' ' ')" \
	"vendor=10ee device=903f driver=qdma-pf totalvfs=252 numvfs=0 offset=4 stride=1 vf_device=a03f autoprobe=1 qdma=1"
pc info $NVME
t_like "info of the NVMe PF: no qdma" "$R_out" "qdma=0"
pc info $PLAIN
t_is "info of a device without SR-IOV: exit 2" "$R_rc" 2
t_like "... says it is not a PF" "$R_err" "^esfm-pcictl: PCI device $PLAIN is not an SR-IOV physical function"
pc info 0000:99:00.0
t_is "info of a missing device: exit 1" "$R_rc" 1
t_like "... names the address and where it looked" "$R_err" "PCI device 0000:99:00.0 not found in $mnt/bus/pci/devices; check the address with lspci -D"
for bad in 0000:83:00 0000:83:20.0 0000:83:00.8 83:00.0 0000:83:00.0x ' 0000:83:00.0' zzzz:83:00.0; do
	pc info "$bad"
	t_is "invalid address '$bad' refused with exit 2" "$R_rc" 2
done
t_like "... with the expected form in the message" "$R_err" "use the form DDDD:BB:DD.F"
pc list-pfs
t_is "list-pfs: the SR-IOV PFs, sorted" "$(printf '%s' "$R_out" | tr '\n' ' ')" "$NVME $QDMA"

# --- VF addresses before the VFs exist ---
pc vf-addr $QDMA 0
t_is "vf-addr 0 = PF devfn + offset 4" "$R_out" 0000:83:00.4
pc vf-addr $QDMA 251
t_is "vf-addr 251 = last VF" "$R_out" 0000:83:1f.7

# --- create VFs: autoprobe off, 18 VFs, numeric order ---
ctl log clear
pc set-numvfs $QDMA 18 --no-autoprobe
t_is "set-numvfs 18 --no-autoprobe" "$R_rc" 0
t_is "autoprobe off is written before sriov_numvfs" "$(wlog | awk '{print $1, $2}' | sed 's|.*/||' | tr '\n' ' ')" \
	"sriov_drivers_autoprobe 0 sriov_numvfs 18 "
pc list-vfs $QDMA
t_is "18 VFs listed" "$(printf '%s\n' "$R_out" | wc -l)" 18
t_is "virtfn10 comes after virtfn9 (numeric order)" "$(printf '%s\n' "$R_out" | sed -n '10,11p' | tr '\n' ' ')" \
	"9 0000:83:01.5 - 10 0000:83:01.6 - "
t_like "VF 17 at the predicted address, unbound (autoprobe off)" "$R_out" "^17 0000:83:02\.5 -$"
predicted=$("$P" vf-addr $QDMA 17)
t_is "prediction matches the kernel's virtfn17" "$predicted" "$(basename "$(readlink "$mnt/bus/pci/devices/$QDMA/virtfn17")")"

# --- the kernel's rules through the pci layer ---
pc write-numvfs $QDMA 19
t_is "raw 2->3 (18->19) write refused: exit 3 (busy)" "$R_rc" 3
t_like "... EBUSY, with the path" "$R_err" "cannot write '19' to .*/sriov_numvfs: Device or resource busy"
pc info $QDMA
t_like "... still 18 VFs" "$R_out" "numvfs=18"
ctl log clear
pc set-numvfs $QDMA 20
t_is "set-numvfs 18 -> 20 goes through 0" "$R_rc" 0
t_is "... the writes were 0 then 20" "$(wlog | grep sriov_numvfs | awk '{print $2}' | tr '\n' ' ')" "0 20 "
ctl log clear
pc set-numvfs $QDMA 20
t_is "same value: no-op, success" "$R_rc" 0
t_is "... and no write at all" "$(wlog)" ""
pc set-numvfs $QDMA 253
t_is "above totalvfs: exit 2" "$R_rc" 2
t_like "... says the maximum" "$R_err" "PF $QDMA: cannot create 253 VFs: Numerical result out of range; the PF supports at most 252 VFs \(sriov_totalvfs\)"
pc write-numvfs $QDMA 253
t_like "raw write above totalvfs: ERANGE from the kernel" "$R_err" "Numerical result out of range"
ctl "fail $QDMA sriov_numvfs EIO"
pc set-numvfs $QDMA 0
t_is "injected EIO: exit 1" "$R_rc" 1
t_like "... names the PF, value, path and errno" "$R_err" "PF $QDMA: cannot write '0' to .*/sriov_numvfs: Input/output error"
pc set-numvfs $QDMA 0
t_is "then 0 works" "$R_rc" 0
pc list-vfs $QDMA
t_is "no VFs listed" "$R_out" ""

# --- autoprobe on: VFs bind to their default driver ---
pc set-numvfs $NVME 2
t_is "NVMe PF: 2 VFs with autoprobe on" "$R_rc" 0
t_is "they bound to nvme" "$("$P" list-vfs $NVME | awk '{print $3}' | tr '\n' ' ')" "nvme nvme "
pc set-numvfs $NVME 0
# A PF without a driver cannot enable VFs: ENOENT.
pc unbind $NVME
t_is "unbind the NVMe PF" "$R_rc" 0
pc driver $NVME
t_is "... it has no driver" "$R_out" "-"
pc set-numvfs $NVME 1
t_is "VFs on a PF without driver: exit 1" "$R_rc" 1
t_like "... ENOENT with the hint to bind the PF driver" "$R_err" "No such file or directory; the PF has no driver with SR-IOV support bound"
pc bind $NVME nvme
t_is "rebind the PF to nvme" "$R_rc" 0

# --- bind / unbind through driver_override + drivers_probe ---
pc set-numvfs $QDMA 2 --no-autoprobe
ctl log clear
pc bind 0000:83:00.4 vfio-pci
t_is "bind VF 0 to vfio-pci" "$R_rc" 0
t_is "... driver_override then drivers_probe" "$(wlog | awk '{print $1}' | sed 's|.*/||' | tr '\n' ' ')" "driver_override drivers_probe "
t_is "... the driver link says vfio-pci" "$(basename "$(readlink "$mnt/bus/pci/devices/0000:83:00.4/driver")")" vfio-pci
ctl log clear
pc bind 0000:83:00.4 vfio-pci
t_is "binding again to the same driver: nothing written" "$(wlog)" ""
pc bind 0000:83:00.4 qdma-vf
t_is "rebind to qdma-vf (unbinds vfio-pci first)" "$R_rc" 0
pc driver 0000:83:00.4
t_is "... now qdma-vf" "$R_out" qdma-vf
pc bind 0000:83:00.5 no-such-driver
t_is "bind to a driver that does not exist: exit 1" "$R_rc" 1
t_like "... says the probe left it unbound and how to fix" "$R_err" "0000:83:00.5: cannot bind to no-such-driver: probe left it unbound; is the no-such-driver module loaded"
pc unbind 0000:83:00.4
t_is "unbind" "$R_rc" 0
pc driver 0000:83:00.4
t_is "... unbound" "$R_out" -
pc unbind 0000:83:00.4
t_is "unbind of an unbound device: nothing to do" "$R_rc" 0
ctl "fail 0000:83:00.5 driver_override EPERM"
pc bind 0000:83:00.5 vfio-pci
t_like "driver_override refused: errno text" "$R_err" "cannot bind to vfio-pci: cannot write 'vfio-pci' to .*/driver_override: Operation not permitted"
pc iommu-group 0000:83:00.4
t_like "iommu-group: a number" "$R_out" '^[0-9]+$'

# --- QDMA qmax ---
pc qmax $QDMA
t_is "qmax starts at 0" "$R_out" 0
pc qmax $QDMA 32
t_is "qmax 32 written and verified" "$R_rc" 0
pc qmax $QDMA
t_is "... reads 32" "$R_out" 32
ctl "queues_active $QDMA 1"
pc qmax $QDMA 64
t_is "qmax while queues are active: exit 3" "$R_rc" 3
t_like "... says what to do" "$R_err" "QDMA queues are active; stop their users"
ctl "queues_active $QDMA 0"
pc qmax $NVME
t_is "qmax on a PF without QDMA: exit 2" "$R_rc" 2

# --- remove and rescan ---
pc set-numvfs $QDMA 0
pc remove $QDMA
t_is "remove the PF" "$R_rc" 0
t_ok "it is gone" test ! -e "$mnt/bus/pci/devices/$QDMA"
pc wait $QDMA 200
t_is "wait for it: times out, exit 1" "$R_rc" 1
t_like "... naming the device and the time" "$R_err" "PCI device $QDMA did not appear within 200 ms"
pc rescan
t_is "rescan" "$R_rc" 0
pc wait $QDMA 2000
t_is "the PF is back" "$R_rc" 0
pc qmax $QDMA
t_is "... with qmax reset to 0" "$R_out" 0

# --- hostdev XML for a VF ---
pc set-numvfs $QDMA 1 --no-autoprobe
t_run H env ESFM_TEMPLATE_DIR="$top/xml-templates" "$P" hostdev-xml 0000:83:00.4 ua-esfm-fpga0-0
t_like "hostdev XML: managed='no', the VF's address, the alias" "$(printf '%s' "$H_out" | tr -d '\n')" \
	"managed=\"no\".*bus=\"0x83\" slot=\"0x00\" function=\"0x4\".*<alias name=\"ua-esfm-fpga0-0\"/>"
t_ok "simulator still alive" kill -0 "$SIM_PID"
t_done
