#!/bin/bash
# shellcheck disable=SC2154 # t_run sets <prefix>_out, _err, _rc
# e2e-timeout: 420
# The nested platform itself, in plain shell (no esfm code): the emulated NVMe PF with SR-IOV, the
# IOMMU, VFIO, libvirtd, and the tiny L2 Linux reporting its PCI devices on the serial log.
. "$(dirname "$0")/../lib/common.sh"
. "$E2E_LIB/l2.sh"

dom=e2e00-l2
cleanup() { e2e_destroy_domain "$dom"; }
trap cleanup EXIT

pf=$(e2e_find_pf)
t_ok "an SR-IOV 1b36:0010 (QEMU NVMe) PF is present" test -n "$pf"
[ -n "$pf" ] || t_bail "PF found" "$(lspci -nn 2>&1)"
t_diag "PF $pf: $(lspci -s "$pf" 2>/dev/null)"
sys=/sys/bus/pci/devices/$pf
t_is "sriov_totalvfs is 4" "$(cat "$sys/sriov_totalvfs")" 4
t_is "sriov_numvfs starts at 0" "$(cat "$sys/sriov_numvfs")" 0
t_is "the PF is bound to nvme" "$(basename "$(readlink -f "$sys/driver")")" nvme
t_ok "the IOMMU is on (the PF has an IOMMU group)" test -e "$sys/iommu_group"
t_ok "the vfio-pci driver is loaded" test -d /sys/bus/pci/drivers/vfio-pci
t_ok "/dev/vfio exists" test -c /dev/vfio/vfio
t_ok "libvirtd answers" virsh_ version
t_diag "/dev/kvm: $(ls -l /dev/kvm 2>&1); L2 domain type: $(l2_virt_type)"

# The tiny L2 Linux boots and lists its PCI devices.
initrd=$(l2_initramfs)
t_ok "busybox initramfs for L2 built" test -s "$initrd"
l2_domain_xml "$dom" --linux >"$E2E_WORK/$dom.xml"
rm -f "$(l2_serial_log "$dom")"
t_ok "L2 domain defined" virsh_ define "$E2E_WORK/$dom.xml"
t0=$(date +%s)
t_run st l2_start_linux "$dom"
[ "$L2_ATTEMPTS" -gt 1 ] && t_diag "L2 boot attempts: $L2_ATTEMPTS ($st_out)"
if [ "$st_rc" = 0 ]; then
	t_pass "L2 domain starts, its Linux reaches userspace and lists its PCI devices ($(($(date +%s) - t0)) s)"
else
	t_fail "L2 domain starts, its Linux reaches userspace" "$st_out" "serial log tail:" \
		"$(tail -n 20 "$(l2_serial_log "$dom")" 2>&1)"
fi
t_like "L2 sees its q35 host bridge (8086:29c0)" "$(cat "$(l2_serial_log "$dom")" 2>&1)" \
	'ESFM-L2-PCI [0-9a-f:.]+ 8086 29c0'
cp "$(l2_serial_log "$dom")" "$E2E_ARTIFACTS/" 2>/dev/null
t_ok "L2 domain destroyed" virsh_ destroy "$dom"
t_ok "L2 domain undefined" virsh_ undefine "$dom"
t_done
