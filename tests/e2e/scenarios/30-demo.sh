#!/bin/bash
# shellcheck disable=SC2154 # t_run sets <prefix>_out, _err, _rc
# e2e-timeout: 420
# The demo (`make demo`): a narrated operator session on a host with a real SR-IOV device,
# following the README's walkthrough. Install esfm, declare a pool, annotate VM everestg3 with
# `virsh metadata`, `virsh start everestg3` -> it gets a VF and its guest sees it, `esfm reconf`
# keeps it, `esfm status` shows who holds what, the VM stops -> the VF is back in the pool.
# The "# " lines are the narration; every step is also checked.
. "$(dirname "$0")/../lib/common.sh"
. "$E2E_LIB/l2.sh"
. "$E2E_LIB/esfm.sh"

say() { printf '#\n# == %s\n' "$*"; }
show() { printf '%s\n' "$@" | sed 's/^/#    /'; }
run() { # command...: shows it, runs it, shows its output
	printf '#  $ %s\n' "$*"
	t_run R "$@"
	show "$R_out" "$R_err" | grep -v '^#    $'
	return "$R_rc"
}

pf=$(e2e_find_pf) || t_bail "an SR-IOV 1b36:0010 PF is present" "$(lspci -nn 2>&1)"
vm=everestg3
trap 'e2e_esfm_cleanup "$pf" "$vm"' EXIT
e2e_esfm_cleanup "$pf"

say "This host (L1) has an SR-IOV NVMe controller; the kernel can give it 4 VFs"
show "$(lspci -nn -s "$pf")" "sriov_totalvfs: $(cat "/sys/bus/pci/devices/$pf/sriov_totalvfs")"

say "Install esfm: binaries, the libvirt hook drop-in, man pages; libvirtd gets SIGHUP"
run "$E2E_SRC/install.sh" --builddir "$E2E_BUILD" --prefix /usr/local
t_is "install.sh" "$R_rc" 0
: >/etc/esfm/esfm.conf

say "Declare a pool of the PF's 4 VFs (/etc/esfm/pools.d/nvme0.xml)"
e2e_esfm_pool nvme0 "$pf" 4
show "$(cat /etc/esfm/pools.d/nvme0.xml)"
run esfm pool-check
t_is "esfm pool-check" "$R_out" "configuration OK (1 pool)"

say "VM $vm (a small Linux guest) asks for a VF of pool nvme0 in its metadata"
l2_domain_xml "$vm" --linux >"$E2E_WORK/$vm.xml"
virsh_ define "$E2E_WORK/$vm.xml" >/dev/null
run virsh -c qemu:///system metadata "$vm" --uri urn:esfm:vf:1 --key esfm --set '<vf pool="nvme0"/>' --config
t_is "virsh metadata" "$R_rc" 0

say "Start it like any VM: the hook reserves a VF, binds it to vfio-pci, hot-plugs it after start"
printf '#  $ virsh start %s\n' "$vm"
t_run R l2_start_linux "$vm"
t_is "virsh start $vm" "$R_rc" 0
hotplugged() { virsh_ dumpxml "$vm" 2>/dev/null | grep -q "<alias name='ua-esfm-nvme0-0'/>"; }
t_ok "the VF is in $vm's live XML" e2e_wait 60 hotplugged
show "$(virsh_ dumpxml "$vm" | sed -n '/<hostdev/,/<\/hostdev>/p')"
if l2_wait_serial "$vm" '^ESFM-L2-PCI(-ADD)? [0-9a-f:.]+ 1b36 0010' 60; then
	t_pass "the guest sees the VF"
	say "Inside the guest, the VF is on its PCI bus"
	show "$(grep -E '1b36 0010' "$(l2_serial_log "$vm")" | tr -d '\r' | head -2)"
else
	t_fail "the guest sees the VF" "$(tail -n 10 "$(l2_serial_log "$vm")")"
fi
run esfm status
t_like "esfm status: VF 0 attached to $vm by the hook" "$R_out" "^0 +[0-9a-f:.]+ +vfio-pci +attached +hook +$vm"

say "Change the number of VFs: the kernel demands a pass through 0, esfm unplugs and re-attaches"
run esfm "$pf" reconf 3 -y
t_is "esfm reconf 3" "$R_rc" 0
t_ok "$vm has its VF again" hotplugged
run esfm status
t_like "esfm status after reconf: still attached to $vm" "$R_out" "^0 +[0-9a-f:.]+ +vfio-pci +attached +hook +$vm"

say "Stop the VM: release gives the VF back to the pool"
run virsh -c qemu:///system destroy "$vm"
run esfm status --json
t_is "every VF is free again" "$(printf '%s\n' "$R_out" | grep -c '"state": "free"')" 3
t_done
