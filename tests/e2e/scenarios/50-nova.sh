#!/bin/bash
# shellcheck disable=SC2154 # t_run sets <prefix>_out, _err, _rc
# e2e-timeout: 600
# An OpenStack Nova instance on a real host, as Nova 26 (Zed) defines it: no esfm annotation,
# only Nova's <nova:instance> metadata, whose flavor 'fpga.small' the pool file maps to the pool.
# `virsh start` -> the hook gives it a VF, hot-plugged, seen by the L2 Linux; nova-export counts
# it as Nova's (not reserved); reconf refuses to take it; destroy -> the VF is free again. A Nova
# instance of an unmapped flavor starts without one.
. "$(dirname "$0")/../lib/common.sh"
. "$E2E_LIB/l2.sh"
. "$E2E_LIB/esfm.sh"

e2e_esfm_begin e2e50-nova e2e50-other

rc=0
e2e_esfm_install || rc=$?
t_is "install.sh exits 0" "$rc" 0
printf 'log_file = %s\nlog_level = info\n' "$hooklog" >/etc/esfm/esfm.conf
: >"$hooklog"
cat >/etc/esfm/pools.d/nvme0.xml <<POOL
<pool type='sriov'>
  <name>nvme0</name>
  <source><pf address='$pf'/></source>
  <vfs count='4' driver='vfio-pci'/>
  <nova flavor='fpga.small' count='1'/>
</pool>
POOL
t_is "pool-check" "$($esfm pool-check 2>&1)" "configuration OK (1 pool)"

# nova_meta NAME FLAVOR: <nova:instance> in the shape Nova 26's LibvirtConfigGuestMetaNova* write
nova_meta() {
	printf '<nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">'
	printf '<nova:package version="26.2.2"/><nova:name>%s</nova:name>' "$1"
	printf '<nova:creationTime>2025-11-26 06:00:00</nova:creationTime>'
	printf '<nova:flavor name="%s"><nova:memory>256</nova:memory><nova:disk>0</nova:disk>' "$2"
	printf '<nova:swap>0</nova:swap><nova:ephemeral>0</nova:ephemeral><nova:vcpus>1</nova:vcpus></nova:flavor>'
	printf '<nova:owner><nova:user uuid="5d5c1f1e-0c1d-4b61-8b4a-3f1f0e2d9a01">demo</nova:user>'
	printf '<nova:project uuid="8e0c2c4a-6f0e-4d1f-9a55-1f0b1f2d3c04">demo</nova:project></nova:owner>'
	printf '<nova:root type="image" uuid="c4bd5a8e-2d1b-4cf1-9f8e-5c9b1d1c8a11"/></nova:instance>'
}
# define NAME FLAVOR [l2_domain_xml options]: a domain with Nova's metadata and nothing of esfm's
define() {
	local name=$1 flavor=$2
	shift 2
	l2_domain_xml "$name" "$@" |
		sed "s|^  <name>$name</name>|&\n  <metadata>$(nova_meta "$name" "$flavor")</metadata>|" \
			>"$E2E_WORK/$name.xml"
	rm -f "$(l2_serial_log "$name")"
	virsh_ define "$E2E_WORK/$name.xml" >/dev/null
}
has_alias() { virsh_ dumpxml "$1" 2>/dev/null | grep -q "<alias name='$2'/>"; }
vf_state() { $esfm status 2>/dev/null | awk -v i="$1" '$1 == i && $2 ~ /:/ { print $4, $6; exit }'; }

define e2e50-nova fpga.small --linux
t_like "the domain carries Nova's metadata and no esfm annotation" \
	"$(virsh_ dumpxml e2e50-nova --inactive)" '<nova:flavor name=.fpga\.small.>'
t_unlike "... no esfm annotation" "$(virsh_ dumpxml e2e50-nova --inactive)" 'urn:esfm:vf:1'

# --- virsh start: the flavor is mapped to nvme0, the VF is hot-plugged ---
t0=$(date +%s)
t_run st l2_start_linux e2e50-nova
t_is "virsh start e2e50-nova (L2 Linux up after $L2_ATTEMPTS attempt(s))" "$st_rc" 0
if e2e_wait 60 has_alias e2e50-nova ua-esfm-nvme0-0; then
	t_pass "VF 0 hot-plugged into the Nova instance ($(($(date +%s) - t0)) s after start)"
else
	t_fail "VF 0 hot-plugged into the Nova instance" "$(tail -n 20 "$hooklog")"
fi
virsh_ dumpxml e2e50-nova >"$E2E_ARTIFACTS/e2e50-nova-live.xml" 2>&1
t_is "esfm status: VF 0 attached to e2e50-nova" "$(vf_state 0)" "attached e2e50-nova"
t_like "live metadata records the allocation" \
	"$(virsh_ metadata e2e50-nova --uri urn:esfm:vf:1 --live 2>&1)" "allocation [^>]*pool=.nvme0"
if l2_wait_serial e2e50-nova '^ESFM-L2-(PCI|PCI-ADD) [0-9a-f:.]+ 1b36 0010' 200; then
	t_pass "the L2 Linux of the Nova instance sees the VF (1b36:0010)"
else
	t_fail "the L2 Linux of the Nova instance sees the VF" "$(tail -n 15 "$(l2_serial_log e2e50-nova)" 2>&1)"
fi

# --- what Placement is told, and the reconf guard ---
t_run ex $esfm nova-export --output "$E2E_WORK/esfm.yaml"
t_is "nova-export exits 0" "$ex_rc:$ex_err" "0:"
t_like "the Nova instance's VF is not reserved" "$ex_out" \
	"pool nvme0 +CUSTOM_ESFM_NVME0 +total 4 reserved 0 max_unit 4"
cp "$E2E_WORK/esfm.yaml" "$E2E_ARTIFACTS/" 2>/dev/null
t_run rc $esfm "$pf" reconf 2 -y
t_is "reconf while the Nova instance runs: refused, exit 3" "$rc_rc" 3
t_like "... naming it" "$rc_err" "VM 'e2e50-nova' is a running Nova instance holding VF 0 of pool 'nvme0'"
t_is "... and the VF stays with it" "$(vf_state 0)" "attached e2e50-nova"

# --- an instance of an unmapped flavor: left alone ---
define e2e50-other m1.small
t_ok "virsh start e2e50-other (flavor m1.small, mapped nowhere)" virsh_ start e2e50-other
sleep 3
t_unlike "it gets no VF" "$(virsh_ dumpxml e2e50-other 2>&1)" "ua-esfm-"
t_unlike "the hook logged nothing about it" "$(cat "$hooklog")" "e2e50-other"
t_ok "destroy e2e50-other" virsh_ destroy e2e50-other

# --- destroy: the VF goes back ---
t_ok "destroy e2e50-nova" virsh_ destroy e2e50-nova
t_is "esfm status: VF 0 free after destroy" "$(vf_state 0)" "free -"
t_like "the hook log names the release" "$(cat "$hooklog")" "VF 0 \([0-9a-f:.]+\) released by domain 'e2e50-nova'"
t_done
