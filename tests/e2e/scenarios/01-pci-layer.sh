#!/bin/bash
# shellcheck disable=SC2154 # t_run sets <prefix>_out, _err, _rc
# The esfm pci layer on a real kernel (L1), through the esfm-pcictl test tool: SR-IOV facts of the
# emulated NVMe PF, creating VFs with autoprobe off, the kernel's EBUSY rule, the pass through 0,
# VF address prediction, vfio-pci binding via driver_override, and the VFIO group nodes.
. "$(dirname "$0")/../lib/common.sh"

pf=$(e2e_find_pf) || t_bail "an SR-IOV 1b36:0010 PF is present" "$(lspci -nn 2>&1)"
sys=/sys/bus/pci/devices/$pf
trap 'e2e_reset_pf "$pf"' EXIT
e2e_reset_pf "$pf"
e2e_require_pcictl
t_diag "PF $pf"

# --- PF facts ---
t_run info pcictl info "$pf"
t_is "info exits 0" "$info_rc" 0
t_is "info: vendor" "$(e2e_kv vendor "$info_out")" 1b36
t_is "info: device" "$(e2e_kv device "$info_out")" 0010
t_is "info: driver" "$(e2e_kv driver "$info_out")" nvme
t_is "info: totalvfs" "$(e2e_kv totalvfs "$info_out")" 4
t_is "info: offset" "$(e2e_kv offset "$info_out")" 1
t_is "info: stride" "$(e2e_kv stride "$info_out")" 1
t_is "info: numvfs" "$(e2e_kv numvfs "$info_out")" 0
t_is "info: vf_device" "$(e2e_kv vf_device "$info_out")" 0010

# --- 0 -> 2 VFs, autoprobe off ---
t_ok "set-numvfs 2 --no-autoprobe" pcictl set-numvfs "$pf" 2 --no-autoprobe
t_is "sysfs sriov_numvfs is 2" "$(cat "$sys/sriov_numvfs")" 2
t_is "sysfs sriov_drivers_autoprobe is 0" "$(cat "$sys/sriov_drivers_autoprobe")" 0
t_run info pcictl info "$pf"
t_is "info: numvfs 2, autoprobe 0" "$(e2e_kv numvfs "$info_out") $(e2e_kv autoprobe "$info_out")" "2 0"
t_run lv pcictl list-vfs "$pf"
t_is "list-vfs lists 2 VFs" "$(printf '%s\n' "$lv_out" | grep -c .)" 2
t_is "no VF is bound to a driver (autoprobe off)" "$(printf '%s\n' "$lv_out" | awk '{ print $3 }' | sort -u)" -

# --- 2 -> 3 directly: the kernel refuses (EBUSY) ---
t_run wr pcictl write-numvfs "$pf" 3
t_is "write-numvfs 3 while 2 are enabled exits 3 (busy)" "$wr_rc" 3
t_like "the error is esfm-pcictl's" "$wr_err" '^esfm-pcictl: '
t_like "the error names the PF" "$wr_err" "$pf"
t_like "the error says the device is busy" "$wr_err" '[Bb]usy|EBUSY'
t_is "still 2 VFs after the refused write" "$(cat "$sys/sriov_numvfs")" 2

# --- 2 -> 0 -> 3 through set-numvfs ---
t_ok "set-numvfs 3 --no-autoprobe (passes through 0)" pcictl set-numvfs "$pf" 3 --no-autoprobe
t_is "sysfs sriov_numvfs is 3" "$(cat "$sys/sriov_numvfs")" 3
t_run lv pcictl list-vfs "$pf"
t_is "list-vfs lists 3 VFs" "$(printf '%s\n' "$lv_out" | grep -c .)" 3

# --- VF addresses: tool's prediction = kernel's virtfn links = offset/stride arithmetic ---
IFS=':.' read -r pdom pbus pdev pfn <<<"$pf"
vfs=()
for i in 0 1 2; do
	devfn=$((0x$pdev * 8 + 0x$pfn + 1 + 1 * i)) bus=$((0x$pbus))
	bus=$((bus + devfn / 256)) devfn=$((devfn % 256))
	want=$(printf '%s:%02x:%02x.%x' "$pdom" "$bus" $((devfn / 8)) $((devfn % 8)))
	t_is "vf-addr $i = PF devfn + offset + stride*$i" "$(pcictl vf-addr "$pf" "$i" 2>&1)" "$want"
	t_is "kernel virtfn$i is $want" "$(basename "$(readlink -f "$sys/virtfn$i")")" "$want"
	t_is "list-vfs entry $i" "$(printf '%s\n' "$lv_out" | awk -v i="$i" '$1 == i { print $2 }')" "$want"
	t_is "VF $want: physfn is the PF" "$(basename "$(readlink -f "/sys/bus/pci/devices/$want/physfn")")" "$pf"
	vfs+=("$want")
done

# --- each VF to vfio-pci via driver_override; its VFIO group node ---
groups=()
for vf in "${vfs[@]}"; do
	t_ok "bind $vf to vfio-pci" pcictl bind "$vf" vfio-pci
	t_is "$vf: driver (tool)" "$(pcictl driver "$vf" 2>&1)" vfio-pci
	t_is "$vf: driver (sysfs)" "$(basename "$(readlink -f "/sys/bus/pci/devices/$vf/driver")")" vfio-pci
	t_is "$vf: driver_override" "$(cat "/sys/bus/pci/devices/$vf/driver_override")" vfio-pci
	g=$(pcictl iommu-group "$vf" 2>&1)
	t_is "$vf: iommu-group (tool) = sysfs" "$g" "$(basename "$(readlink -f "/sys/bus/pci/devices/$vf/iommu_group")")"
	t_ok "$vf: /dev/vfio/$g is a character device" test -c "/dev/vfio/$g"
	groups+=("$g")
done
t_is "each VF has its own IOMMU group" "$(printf '%s\n' "${groups[@]}" | sort -u | grep -c .)" 3

t_ok "unbind ${vfs[0]}" pcictl unbind "${vfs[0]}"
t_is "${vfs[0]}: no driver after unbind" "$(pcictl driver "${vfs[0]}" 2>&1)" -

# --- back to 0 ---
for vf in "${vfs[@]}"; do pcictl unbind "$vf" >/dev/null 2>&1; done
t_ok "set-numvfs 0" pcictl set-numvfs "$pf" 0
t_is "sysfs sriov_numvfs is 0" "$(cat "$sys/sriov_numvfs")" 0
t_done
