# shellcheck shell=bash
# The emulated NVMe PF's secondary controllers (its VFs) in L1, for scenarios whose L2 guests use
# a VF with the nvme driver (source after common.sh). QEMU's NVMe VFs start offline, with no queue
# or interrupt resources and no namespace (the bed's namespace is created detached): a guest's
# nvme driver cannot enable such a controller. This is what a host does with a real NVMe SR-IOV
# device too (tests/e2e/README.md, 41-pause-l2).
#
#   nvme_pf_dev PF                 the PF's controller character device (/dev/nvmeN)
#   nvme_pf_free_flexible PF       takes the primary's flexible queue and interrupt resources away
#                                  (they start all assigned to the PF) and resets the PF function
#                                  so that takes effect; needs sriov_numvfs 0
#   nvme_vf_online PF INDEX        VF INDEX: 2 queue and 1 interrupt resources (the same every
#                                  time, so its MSI-X table has 1 entry before and after), online,
#                                  namespace 1 attached; prints what it did, 1 on a failure
#   nvme_scid PF INDEX             the secondary controller id of VF INDEX (list-secondary)
#
# nvme-vf-setup (next to this file) runs nvme_vf_online as esfm's vf_setup_command, so esfm
# prepares every VF it creates before binding it or giving it to a guest.
NVME_NSID=1

nvme_pf_dev() {
	local c
	for c in /sys/bus/pci/devices/"$1"/nvme/nvme*; do
		[ -e "$c" ] && { echo "/dev/${c##*/}"; return 0; }
	done
	return 1
}

# nvme_scid PF INDEX: the secondary controller id of VF INDEX (list-secondary maps VFN = INDEX+1
# to SCID); QEMU numbers them PF cntlid + 1 + INDEX, the fallback.
nvme_scid() {
	local dev scid vfn
	dev=$(nvme_pf_dev "$1") || return 1
	while read -r scid vfn; do
		[ $((vfn)) = $(($2 + 1)) ] && { echo $((scid)); return 0; }
	done < <(timeout 30 nvme list-secondary "$dev" 2>/dev/null |
		awk '/SCID/ { s = $NF } /VFN/ { print s, $NF }')
	echo $(($2 + 1))
}

nvme_pf_free_flexible() {
	local pf=$1 dev cntlid
	dev=$(nvme_pf_dev "$pf") || { echo "no nvme controller on $pf"; return 1; }
	cntlid=$(timeout 30 nvme id-ctrl "$dev" 2>/dev/null | awk '$1 == "cntlid" { print $3; exit }')
	cntlid=$((${cntlid:-0}))
	timeout 30 nvme virt-mgmt "$dev" -c "$cntlid" -r 0 -a 1 -n 0 || return 1
	timeout 30 nvme virt-mgmt "$dev" -c "$cntlid" -r 1 -a 1 -n 0 || return 1
	echo 1 >"/sys/bus/pci/devices/$pf/reset" || return 1
	# the nvme driver re-enables the PF after the reset; its device node may come back
	e2e_wait 30 nvme_pf_dev "$pf" >/dev/null
}

nvme_vf_online() {
	local pf=$1 i=$2 dev scid
	dev=$(nvme_pf_dev "$pf") || { echo "no nvme controller on $pf"; return 1; }
	scid=$((i + 1)) # QEMU: PF cntlid (0) + 1 + index; nvme_scid asks, at a cost of 0.5 s in L1
	timeout 30 nvme virt-mgmt "$dev" -c "$scid" -r 0 -a 8 -n 2 &&
		timeout 30 nvme virt-mgmt "$dev" -c "$scid" -r 1 -a 8 -n 1 &&
		timeout 30 nvme virt-mgmt "$dev" -c "$scid" -r 0 -a 9 -n 0 &&
		timeout 30 nvme attach-ns "$dev" -n "$NVME_NSID" -c "$scid"
}
