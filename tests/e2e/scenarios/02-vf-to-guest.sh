#!/bin/bash
# shellcheck disable=SC2154 # t_run sets <prefix>_out, _err, _rc
# e2e-timeout: 420
# A VF really reaching a guest: a libvirt domain with a VF <hostdev> (XML from esfm-pcictl
# hostdev-xml, managed='no', the VF bound to vfio-pci beforehand) starts; the VF is in the live XML
# under its alias; the L2 Linux sees the VF's PCI ID on its serial console; live detach removes it
# (checked in the live XML and in L2, not from virsh's exit code).
. "$(dirname "$0")/../lib/common.sh"
. "$E2E_LIB/l2.sh"

dom=e2e02-l2
alias=ua-esfm-e2e02-0
pf=$(e2e_find_pf) || t_bail "an SR-IOV 1b36:0010 PF is present" "$(lspci -nn 2>&1)"
cleanup() {
	e2e_destroy_domain "$dom"
	cp "$(l2_serial_log "$dom")" "$E2E_ARTIFACTS/" 2>/dev/null
	e2e_reset_pf "$pf"
}
trap cleanup EXIT
e2e_reset_pf "$pf"
e2e_require_pcictl

# --- one VF, bound to vfio-pci by us (managed='no') ---
t_ok "set-numvfs 1 --no-autoprobe" pcictl set-numvfs "$pf" 1 --no-autoprobe
vf=$(pcictl vf-addr "$pf" 0 2>&1)
t_like "VF 0 address predicted" "$vf" '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$'
t_ok "VF $vf exists" test -e "/sys/bus/pci/devices/$vf"
t_ok "bind $vf to vfio-pci" pcictl bind "$vf" vfio-pci
t_is "$vf is bound to vfio-pci" "$(pcictl driver "$vf" 2>&1)" vfio-pci
IFS=":." read -r _ vbus vslot vfn <<<"$vf"

# --- hostdev XML from the template ---
t_run hx pcictl hostdev-xml "$vf" "$alias"
t_is "hostdev-xml exits 0" "$hx_rc" 0
[ "$hx_rc" = 0 ] || t_bail "hostdev XML generated" "$hx_err"
printf '%s\n' "$hx_out" >"$E2E_WORK/hostdev.xml"
cp "$E2E_WORK/hostdev.xml" "$E2E_ARTIFACTS/"
hx_flat=$(tr -s ' \n\t' ' ' <"$E2E_WORK/hostdev.xml")
t_like "hostdev XML is managed='no'" "$hx_flat" "<hostdev [^>]*managed=['\"]no['\"]"
t_like "hostdev XML carries the alias" "$hx_flat" "<alias name=['\"]${alias}['\"]"
t_like "hostdev XML has the VF's source address" "$hx_flat" \
	"<address [^>]*bus=['\"]0x${vbus}['\"][^>]*slot=['\"]0x${vslot}['\"][^>]*function=['\"]0x${vfn}['\"]"

# --- the L2 domain with the VF cold-plugged, booting the tiny L2 Linux ---
l2_domain_xml "$dom" --linux --hostdev "$E2E_WORK/hostdev.xml" >"$E2E_WORK/$dom.xml"
cp "$E2E_WORK/$dom.xml" "$E2E_ARTIFACTS/"
t_diag "L2 domain type $(l2_virt_type)"
rm -f "$(l2_serial_log "$dom")"
t_ok "domain defined" virsh_ define "$E2E_WORK/$dom.xml"
t0=$(date +%s)
t_run st l2_start_linux "$dom"
[ "$L2_ATTEMPTS" -gt 1 ] && t_diag "L2 boot attempts: $L2_ATTEMPTS ($st_out)"
[ "$st_rc" = 1 ] && t_bail "domain with the VF hostdev starts" "$st_out"
t_pass "domain with the VF hostdev starts"
if [ "$st_rc" = 0 ]; then
	t_pass "L2 Linux booted and listed its PCI devices ($(($(date +%s) - t0)) s after start)"
else
	t_fail "L2 Linux booted" "$st_out" "serial tail:" "$(tail -n 20 "$(l2_serial_log "$dom")" 2>&1)"
fi

# live XML, by XPath: the hostdev with our alias, and its source address
live_xpath() { virsh_ dumpxml "$dom" 2>/dev/null | xmllint --xpath "$1" - 2>/dev/null; }
hd="//devices/hostdev[alias/@name='$alias']"
virsh_ dumpxml "$dom" >"$E2E_ARTIFACTS/live-before-detach.xml" 2>&1
t_is "live XML has one hostdev with alias $alias" "$(live_xpath "count($hd)")" 1
t_is "its source address is the VF" \
	"$(live_xpath "string($hd/source/address/@bus)") $(live_xpath "string($hd/source/address/@slot)") $(live_xpath "string($hd/source/address/@function)")" \
	"0x$vbus 0x$vslot 0x$vfn"
t_is "it is managed='no'" "$(live_xpath "string($hd/@managed)")" no

serial=$(tr -d '\r' <"$(l2_serial_log "$dom")" 2>/dev/null)
l2bdf=$(printf '%s\n' "$serial" | awk '$1 == "ESFM-L2-PCI" && $3 == "1b36" && $4 == "0010" { print $2; exit }')
t_like "L2 sees the VF (1b36:0010) on its PCI bus" "$serial" '^ESFM-L2-PCI [0-9a-f:.]+ 1b36 0010'
t_diag "VF $vf is $l2bdf in L2"

# --- live detach with the same XML ---
t0=$(date +%s)
t_run dt virsh_ detach-device "$dom" "$E2E_WORK/hostdev.xml" --live
t_diag "detach-device exit $dt_rc after $(($(date +%s) - t0)) s: $dt_out $dt_err"
gone() { [ "$(live_xpath "count($hd)")" = 0 ]; }
if e2e_wait 20 gone; then
	t_pass "hostdev $alias gone from the live XML ($(($(date +%s) - t0)) s)"
else
	t_fail "hostdev $alias gone from the live XML" "$(live_xpath "$hd")"
fi
virsh_ dumpxml "$dom" >"$E2E_ARTIFACTS/live-after-detach.xml" 2>&1
if [ -n "$l2bdf" ]; then
	if l2_wait_serial "$dom" "^ESFM-L2-PCI-GONE $l2bdf" 20; then
		t_pass "L2 saw the VF go ($l2bdf)"
	else
		t_fail "L2 saw the VF go ($l2bdf)" "serial tail:" "$(tail -n 10 "$(l2_serial_log "$dom")" 2>&1)"
	fi
fi
t_is "domain still running after the detach" "$(virsh_ domstate "$dom" 2>&1)" running
t_is "$vf still bound to vfio-pci (managed='no': libvirt leaves it)" "$(pcictl driver "$vf" 2>&1)" vfio-pci

t_ok "domain destroyed" virsh_ destroy "$dom"
t_ok "domain undefined" virsh_ undefine "$dom"
t_ok "VF unbound" pcictl unbind "$vf"
t_ok "set-numvfs 0" pcictl set-numvfs "$pf" 0
t_done
