#!/bin/bash
# shellcheck disable=SC2154 # t_run sets <prefix>_out, _err, _rc
# e2e-timeout: 1200
# The esfm command line on a real host: `init 2` attaches VF0/VF1 to running everestg0/everestg1
# (live XML and inside the L2 Linux); `reconf 3` gives everestg2 a VF and keeps the others
# attached; list_vfs / list_vf_vm; `reconf 2 -p` on this stock QEMU warns and falls back to
# hot-unplug; detach / attach; `reconf 1` leaves only everestg0 with a VF; a VM that got its VF
# from the hook keeps it across a reconf, with its state and live metadata still true, and esfm
# commands run during its start fail neither it nor themselves; kill -9 right after a reconf's
# hot-unplug, and the next command gives the guest its VF back and says so.
. "$(dirname "$0")/../lib/common.sh"
. "$E2E_LIB/l2.sh"
. "$E2E_LIB/esfm.sh"

e2e_esfm_begin everestg0 everestg1 everestg2 e2e20-h
e2e_esfm_install || t_bail "esfm installed" "$E2E_INSTALL_OUT"
printf 'log_file = %s\nlog_level = info\n' "$hooklog" >/etc/esfm/esfm.conf
: >"$hooklog"
e2e_esfm_pool nvme0 "$pf" 4

has_alias() { virsh_ dumpxml "$1" 2>/dev/null | grep -q "<alias name='$2'/>"; }
no_alias() { ! has_alias "$@"; }
# in_order TEXT REGEX...: each REGEX (grep -E) matches a line of TEXT after the previous match
in_order() {
	local text=$1 prev=0 n re
	shift
	for re in "$@"; do
		n=$(printf '%s\n' "$text" | tail -n +$((prev + 1)) | grep -nE -- "$re" | head -n 1 | cut -d: -f1)
		[ -n "$n" ] || return 1
		prev=$((prev + n))
	done
}
ident() { printf 'esfm-vf,pool=nvme0,index=%s,pf=%s' "$1" "$pf"; } # VF $1's identity port

# One boot at a time (l2_start_linux waits for each): L2 boots under nested KVM share L1's two
# CPUs, and three at once took longer than a boot may take (tests/e2e/README.md).
for i in 0 1 2; do
	l2_domain_xml "everestg$i" --linux >"$E2E_WORK/everestg$i.xml"
	virsh_ define "$E2E_WORK/everestg$i.xml" >/dev/null
	t_run st l2_start_linux "everestg$i"
	[ "$st_rc" = 0 ] || t_bail "L2 Linux in everestg$i booted" "$st_out" "$st_err"
done
t_pass "three L2 Linux guests everestg0..2 are up"

# --- init 2 ---
esfm_ "init 2" 0 "$pf" init 2 -y
t_like "init prints one line per step with its time" "$E_out" "ok +[0-9]+ ms  attach VF 1 to 'everestg1' \(live and persistent\)"
for i in 0 1; do
	t_ok "everestg$i has VF $i live (ua-esfm-nvme0-$i)" has_alias "everestg$i" "ua-esfm-nvme0-$i"
	t_like "... and in its persistent config" "$(virsh_ dumpxml --inactive "everestg$i")" \
		"<alias name='ua-esfm-nvme0-$i'/>"
	if l2_wait_serial "everestg$i" '^ESFM-L2-PCI-ADD [0-9a-f:.]+ 1b36 0010' 60; then
		t_pass "the L2 Linux in everestg$i sees its VF"
	else
		t_fail "the L2 Linux in everestg$i sees its VF" "$(tail -n 8 "$(l2_serial_log "everestg$i")")"
	fi
	if l2_wait_vport "everestg$i" "$(ident $i)" present 30; then
		t_pass "... and reads what it is: $(ident $i)"
	else
		t_fail "... and reads what it is ($(ident $i))" "$(grep VPORT "$(l2_serial_log "everestg$i")")"
	fi
done
t_ok "everestg2 has no VF yet" no_alias everestg2 ua-esfm-nvme0-2

# --- reconf 3: everestg2 gets VF 2, the others are unplugged and re-attached ---
esfm_ "reconf 3" 0 "$pf" reconf 3 -y
t_like "reconf hot-unplugs VF 0 from everestg0" "$E_out" "hot-unplug VF 0 from 'everestg0'"
t_like "... re-attaches it" "$E_out" "re-attach VF 0 to 'everestg0' \(live\)"
for i in 0 1 2; do
	t_ok "everestg$i has VF $i after reconf 3" has_alias "everestg$i" "ua-esfm-nvme0-$i"
done
if l2_wait_serial everestg2 '^ESFM-L2-PCI-ADD [0-9a-f:.]+ 1b36 0010' 60; then
	t_pass "the L2 Linux in everestg2 sees its new VF"
else
	t_fail "the L2 Linux in everestg2 sees its new VF" "$(tail -n 8 "$(l2_serial_log everestg2)")"
fi
# everestg0's identity went with its VF and came back with it
log0=$(tr -d '\r' <"$(l2_serial_log everestg0)")
# (in which order the guest notices the port and the VF go or come is its own: with ACPI
# hot-plug both can land within one of its half-second scans)
if in_order "$log0" "^ESFM-L2-VPORT-GONE $(ident 0)$" "^ESFM-L2-VPORT-ADD $(ident 0)$"; then
	t_pass "everestg0: its identity went with its VF and came back with it"
else
	t_fail "everestg0: its identity went with its VF and came back with it" \
		"$(grep -E 'VPORT|PCI-' <<<"$log0")"
fi
t_ok "everestg0 reads its identity after reconf 3" l2_wait_vport everestg0 "$(ident 0)" present 30
t_ok "everestg2 reads the identity of its new VF" l2_wait_vport everestg2 "$(ident 2)" present 30

# --- listings ---
esfm_ "list_vfs" 0 "$pf" list_vfs
t_like "list_vfs: VF 2 bound to vfio-pci, attached to everestg2" "$E_out" \
	"^2 +[0-9a-f:.]+ +vfio-pci +attached +everestg2"
t_is "list_vfs: three VF rows" "$(printf '%s\n' "$E_out" | grep -c '^[0-9]')" 3
esfm_ "list_vf_vm" 0 "$pf" list_vf_vm
t_like "list_vf_vm: VF 1 live and persistent in everestg1" "$E_out" \
	"^1 +[0-9a-f:.]+ +everestg1 +yes +yes +ua-esfm-nvme0-1"

# --- reconf 2 -p: stock QEMU has no device_pause ---
esfm_ "reconf 2 -p" 0 "$pf" reconf 2 -p -y
t_like "-p warns that QEMU has no device_pause and hot-unplugs instead" "$E_err" \
	"warning: VM 'everestg0': QEMU has no device_pause; hot-unplugging VF 0 instead"
t_ok "everestg0 has VF 0 after reconf 2 -p" has_alias everestg0 ua-esfm-nvme0-0
t_ok "everestg1 has VF 1 after reconf 2 -p" has_alias everestg1 ua-esfm-nvme0-1
t_ok "everestg2 lost VF 2 (live)" no_alias everestg2 ua-esfm-nvme0-2
t_unlike "... and from its persistent config" "$(virsh_ dumpxml --inactive everestg2)" "ua-esfm-nvme0-2"

# --- detach / attach ---
esfm_ "detach 1" 0 "$pf" detach 1 -y
t_ok "everestg1 no longer has VF 1" no_alias everestg1 ua-esfm-nvme0-1
t_ok "... and its L2 Linux finds VF 1's identity gone" l2_wait_vport everestg1 "$(ident 1)" absent 30
t_unlike "... from its persistent config too" "$(virsh_ dumpxml --inactive everestg1)" "ua-esfmid-nvme0-1"
esfm_ "attach 1 everestg2" 0 "$pf" attach 1 everestg2
t_ok "everestg2 has VF 1 now" has_alias everestg2 ua-esfm-nvme0-1
t_ok "... and its L2 Linux reads VF 1's identity" l2_wait_vport everestg2 "$(ident 1)" present 30
esfm_ "attach 1 everestg0 (taken)" 3 "$pf" attach 1 everestg0
t_like "... refused, naming the holder" "$E_err" "VF 1 \([0-9a-f:.]+\) is already attached to 'everestg2'"

# --- reconf 1 ---
esfm_ "reconf 1" 0 "$pf" reconf 1 -y
t_ok "everestg0 keeps VF 0" has_alias everestg0 ua-esfm-nvme0-0
t_ok "everestg2 lost VF 1" no_alias everestg2 ua-esfm-nvme0-1
esfm_ "list_vf_vm after reconf 1" 0 "$pf" list_vf_vm
t_is "only one VF is left" "$(printf '%s\n' "$E_out" | grep -c '^[0-9]')" 1

# --- a VM that got its VF from the hook survives a reconf ---
esfm_ "reconf 3 with VMs nosuch0.. (none exist)" 0 "$pf" reconf 3 -y -vm nosuch
t_like "missing VMs are named" "$E_err" "VMs nosuch1, nosuch2 not found"
l2_domain_xml e2e20-h --native-hotplug >"$E2E_WORK/e2e20-h.xml"
virsh_ define "$E2E_WORK/e2e20-h.xml" >/dev/null
virsh_ metadata e2e20-h --uri urn:esfm:vf:1 --key esfm --set '<vf pool="nvme0"/>' --config >/dev/null
# esfm commands that read or reconcile the pool keep running while the VM starts (the hook's
# prepare reserves a VF, the worker attaches it after QEMU is up): none may fail the start, free
# the reserved VF or fail itself.
gclog=$E2E_WORK/gc-during-start.log
: >"$gclog"
(
	while [ ! -e "$E2E_WORK/start.done" ]; do
		$esfm pool-gc >>"$gclog" 2>&1
		echo "pool-gc rc=$?" >>"$gclog"
		$esfm "$pf" list_vf_vm >>"$gclog" 2>&1
		echo "list_vf_vm rc=$?" >>"$gclog"
	done
) &
gcpid=$!
e2e_wait 60 grep -q 'rc=' "$gclog" || t_diag "no esfm command finished within 60 s before the start"
t_ok "virsh start e2e20-h (annotated) while pool-gc and list_vf_vm run in a loop" \
	virsh_ start e2e20-h
if e2e_wait 60 has_alias e2e20-h ua-esfm-nvme0-1; then
	t_pass "the hook gave e2e20-h VF 1 (the lowest free)"
else
	t_fail "the hook gave e2e20-h VF 1" "$(tail -n 10 "$hooklog")"
fi
touch "$E2E_WORK/start.done"
wait "$gcpid"
cp "$gclog" "$E2E_ARTIFACTS/" 2>/dev/null
t_diag "esfm commands run during the start: $(grep -c 'rc=' "$gclog")"
t_is "... every one of them exited 0" "$(grep 'rc=' "$gclog" | grep -v 'rc=0$')" ""
t_like "... and pool-gc left VF 1 to e2e20-h" "$($esfm status)" \
	"^1 +[0-9a-f:.]+ +vfio-pci +attached +hook +e2e20-h"
esfm_ "reconf 3 (through 0) with the hook's VM running" 0 "$pf" reconf 3 -y -vm nosuch
t_ok "e2e20-h has VF 1 again after the reconf" has_alias e2e20-h ua-esfm-nvme0-1
t_ok "everestg0 has VF 0 again" has_alias everestg0 ua-esfm-nvme0-0
t_like "state: VF 1 attached to e2e20-h by the hook" "$($esfm status)" \
	"^1 +[0-9a-f:.]+ +vfio-pci +attached +hook +e2e20-h"
t_like "live metadata still records VF 1" \
	"$(virsh_ metadata e2e20-h --uri urn:esfm:vf:1 --live 2>&1)" "allocation [^>]*index=.1"
t_ok "destroy e2e20-h" virsh_ destroy e2e20-h
t_like "release freed VF 1" "$($esfm status)" "^1 +[0-9a-f:.]+ +vfio-pci +free"
# --- kill -9 right after a hot-unplug in a reconf: the next command gives the VF back ---
# esfm writes each finished step's line to stdout at once. With stdout a pipe that is already
# full, its first line (the hot-unplug of VF 0 from everestg0, done) blocks it in write(2): the
# kill lands after the unplug and before sriov_numvfs is touched, every time.
fifo=$E2E_WORK/esfm-out.fifo
mkfifo "$fifo"
exec {pipe_fd}<>"$fifo"
head -c 65536 /dev/zero >&"$pipe_fd" # a pipe holds 64 KiB: now it is full
adds=$(grep -c '^ESFM-L2-PCI-ADD' "$(l2_serial_log everestg0)")
$esfm "$pf" reconf 2 -y -vm nosuch >"$fifo" 2>"$E2E_WORK/killed.err" &
victim=$!
blocked() { [ "$(cat "/proc/$victim/wchan" 2>/dev/null)" = pipe_write ]; }
if e2e_wait 120 blocked; then
	t_pass "reconf 2 finished its first step and blocked writing its line"
else
	t_fail "reconf 2 finished its first step and blocked writing its line" \
		"wchan: $(cat "/proc/$victim/wchan" 2>&1)" "$(cat "$E2E_WORK/killed.err")"
fi
kill -KILL "$victim"
wait "$victim" 2>/dev/null
exec {pipe_fd}>&-
rm -f "$fifo"
t_ok "everestg0's VF 0 was hot-unplugged when esfm died" no_alias everestg0 ua-esfm-nvme0-0
t_is "sriov_numvfs was not touched" "$(cat "/sys/bus/pci/devices/$pf/sriov_numvfs")" 3
esfm_ "the next command, list_vf_vm" 0 "$pf" list_vf_vm
t_like "... says the change was cut off and is being recovered" "$E_err" \
	"pool 'nvme0': a change to 2 VFs was cut off half way; recovering"
t_like "... says it gave VF 0 back to everestg0" "$E_err" \
	"pool 'nvme0': recover: VF 0 re-attached to 'everestg0'"
t_ok "everestg0 has VF 0 again" has_alias everestg0 ua-esfm-nvme0-0
t_ok "... and its identity channel" l2_wait_vport everestg0 "$(ident 0)" present 30
t_like "... listed as live in everestg0" "$E_out" "^0 +[0-9a-f:.]+ +everestg0 +yes"
if e2e_wait 60 test "$(grep -c '^ESFM-L2-PCI-ADD' "$(l2_serial_log everestg0)")" -gt "$adds"; then
	t_pass "the L2 Linux in everestg0 sees its VF again"
else
	t_fail "the L2 Linux in everestg0 sees its VF again" "$(tail -n 8 "$(l2_serial_log everestg0)")"
fi
esfm_ "no journal left: a second list_vf_vm recovers nothing" 0 "$pf" list_vf_vm
t_unlike "... and says nothing about it" "$E_err$E_out" "recover"

# --- identity channels follow the VFs: the next command repairs a lost or a stray one ---
t_ok "virsh takes everestg0's identity channel away (as a crash between two attaches would)" \
	virsh_ detach-device-alias everestg0 ua-esfmid-nvme0-0 --live
t_ok "... its L2 Linux sees it go" l2_wait_vport everestg0 "$(ident 0)" absent 30
printf "<channel type='null'><target type='virtio' name='%s'/><alias name='ua-esfmid-nvme0-2'/></channel>\n" \
	"$(ident 2)" >"$E2E_WORK/stray.xml"
t_ok "virsh gives everestg0 a channel naming VF 2, which it does not hold" \
	virsh_ attach-device everestg0 "$E2E_WORK/stray.xml" --live
t_ok "... its L2 Linux reads it" l2_wait_vport everestg0 "$(ident 2)" present 30
esfm_ "pool-gc" 0 pool-gc
t_like "... adds VF 0's identity again and says so" "$E_out$E_err" \
	"pool 'nvme0': VF 0 of 'everestg0' had no identity channel: added again"
t_like "... removes the stray one and says so" "$E_out$E_err" \
	"pool 'nvme0': identity channel of VF 2 removed from 'everestg0': it holds no such VF"
t_ok "... the L2 Linux reads VF 0's identity again" l2_wait_vport everestg0 "$(ident 0)" present 30
t_ok "... and no longer the stray one" l2_wait_vport everestg0 "$(ident 2)" absent 30
esfm_ "a second pool-gc" 0 pool-gc
t_unlike "... has nothing to repair" "$E_out$E_err" "identity"

esfm_ "reconf 0" 0 "$pf" reconf 0 -y
t_ok "everestg0 has no VF after reconf 0" no_alias everestg0 ua-esfm-nvme0-0
t_ok "... nor its identity" l2_wait_vport everestg0 "$(ident 0)" absent 30
t_done
