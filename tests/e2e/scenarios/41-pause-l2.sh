#!/bin/bash
# shellcheck disable=SC2154 # t_run sets <prefix>_out, _err, _rc
# e2e-timeout: 1200
# esfm reconf -p with L2 Linux guests in libvirt on esfm's patched QEMU (<emulator>, installed in
# L1 from the read-only checkout share as `make install-qemu` would), each with an NVMe VF that its
# nvme driver uses: a pattern written to the shared namespace before, read back after.
#   reconf 3 -p   (2 -> 3 VFs) everestg0/1 keep their devices: no DEVICE_DELETED, no remove seen by
#                 the guest, the same address and controller with the driver bound; everestg2 (no
#                 OS) gets the new VF 2. everestg0's guest then resets its nvme controller (sysfs
#                 reset_controller), everestg1's is left alone with a read waiting on the device.
#   reconf 2 -p   (3 -> 2) the same again; everestg2's paused VF 2 is gone and detached.
#   reconf 3      (2 -> 3, hot-unplug) the comparison: the guests see the remove and the new device.
# Prints the time from the start of each reconf to the pattern read back, per guest, and whether the
# guest saw a remove. The bed's NVMe VFs need queue/interrupt resources, online and the namespace
# after each re-creation: esfm runs lib/nvme-vf-setup as its vf_setup_command for each new VF.
. "$(dirname "$0")/../lib/common.sh"
. "$E2E_LIB/l2.sh"
. "$E2E_LIB/esfm.sh"
. "$E2E_LIB/nvme.sh"

SRC_QEMU=${ESFM_E2E_QEMU:-/mnt/esfm-src/build/qemu/bin/qemu-system-x86_64}
if [ ! -x "$SRC_QEMU" ]; then
	echo "1..0 # SKIP no patched QEMU handed in ($SRC_QEMU): run make qemu on the host before make e2e"
	exit 0
fi
QEMU=/usr/local/libexec/esfm/qemu-system-x86_64

pf=$(e2e_find_pf) || t_bail "an SR-IOV 1b36:0010 PF is present" "$(lspci -nn 2>&1)"
esfm=/usr/local/bin/esfm
ev_pids=()
cleanup() {
	[ ${#ev_pids[@]} -gt 0 ] && kill "${ev_pids[@]}" 2>/dev/null
	e2e_esfm_cleanup "$pf" everestg0 everestg1 everestg2
}
trap cleanup EXIT
e2e_esfm_cleanup "$pf"
e2e_esfm_install || t_bail "esfm installed" "$E2E_INSTALL_OUT"
printf 'log_file = %s\nlog_level = info\nvf_setup_command = %s {pf} {index}\n' \
	"$E2E_ESFM_HOOKLOG" "$E2E_LIB/nvme-vf-setup" >/etc/esfm/esfm.conf
e2e_esfm_pool nvme0 "$pf" 4
mkdir -p "$(dirname "$QEMU")" && install -m 755 "$SRC_QEMU" "$QEMU" ||
	t_bail "the patched QEMU installed as $QEMU"

has_alias() { virsh_ dumpxml "$1" 2>/dev/null | grep -q "<alias name='$2'/>"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
group_of() { basename "$(readlink "/sys/bus/pci/devices/$(basename "$(readlink -f "/sys/bus/pci/devices/$pf/virtfn$1")")/iommu_group")"; }
qemu_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null; }
# what the domain's QEMU sees of /dev/vfio in its own mount namespace, and the host's
vfio_view() {
	printf 'host: %s; %s: %s\n' "$(ls -ln /dev/vfio | awk 'NR > 1 { printf "%s %s:%s %s%s; ", $NF, $3, $4, $5, $6 }')" \
		"$1" "$(ls -ln "/proc/$(qemu_pid "$1")/root/dev/vfio" 2>&1 | awk 'NR > 1 { printf "%s %s:%s %s%s; ", $NF, $3, $4, $5, $6 }')"
}
status_of() { l2_cmd "$1" 60 'l2nvme status' | grep '^ESFM-L2-NVME'; }
scans_of() { l2_cmd "$1" 60 'l2nvme scans' | sed -n 's/^ESFM-L2-SCANS //p'; }
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# wait_nvme NAME SECS: the guest's nvme driver is bound with a live controller and the namespace
wait_nvme() {
	local end=$(($(date +%s) + $2)) s
	while :; do
		s=$(status_of "$1")
		[[ $s == *driver=nvme*state=live*blk=nvme* ]] && { printf '%s\n' "$s"; return 0; }
		[ "$(date +%s)" -ge "$end" ] && { printf '%s\n' "$s"; return 1; }
		sleep 1
	done
}
gone_count() { grep -c '^ESFM-L2-PCI-GONE' "$(l2_serial_log "$1")"; }

t_diag "PF $pf, QEMU $QEMU"
t_diag "libvirt: $(virsh_ capabilities | grep -A1 '<secmodel>' | tr -d ' \n'); qemu.conf: $(grep -E '^[[:space:]]*(user|group|namespaces|security_driver|cgroup_device_acl|dynamic_ownership)[[:space:]]*=' /etc/libvirt/qemu.conf | tr '\n' ' ')"

# --- the NVMe PF: flexible resources to the secondaries, their ids ---
t_ok "PF's flexible queue/interrupt resources freed for its VFs" nvme_pf_free_flexible "$pf"
timeout 30 nvme primary-ctrl-caps "$(nvme_pf_dev "$pf")" >"$E2E_ARTIFACTS/primary-ctrl-caps.txt" 2>&1

# --- the guests: everestg0/1 L2 Linux with the nvme driver, everestg2 without OS ---
for i in 0 1; do
	l2_domain_xml "everestg$i" --linux --nvme --emulator "$QEMU" --cmd-port "446$i" >"$E2E_WORK/everestg$i.xml" ||
		t_bail "domain XML of everestg$i" "$(cat "$E2E_WORK/everestg$i.xml")"
	virsh_ define "$E2E_WORK/everestg$i.xml" >/dev/null || t_bail "everestg$i defined"
done
l2_domain_xml everestg2 --native-hotplug --emulator "$QEMU" >"$E2E_WORK/everestg2.xml"
virsh_ define "$E2E_WORK/everestg2.xml" >/dev/null || t_bail "everestg2 defined"

# init with the guests shut off: VF i goes into everestg<i>'s config, and the guests boot with it
esfm_ "init 2 (VMs shut off)" 0 "$pf" init 2 -y
t_like "init set up VF 1 with vf_setup_command before binding it" "$(printf '%s' "$E_out" | tr '\n' ' ')" \
	"set up VF 1 \(vf_setup_command\).*bind VF 1"
t_is "VF i is secondary controller i + 1" "$(nvme_scid "$pf" 0) $(nvme_scid "$pf" 1)" "1 2"
for i in 0 1; do
	t_run st l2_start_linux "everestg$i" 240
	[ "$st_rc" = 0 ] || t_bail "L2 Linux in everestg$i booted with VF $i" "$st_out" "$st_err"
done
t_ok "virsh start everestg2 (no OS)" virsh_ start everestg2
t_pass "everestg0/1 (L2 Linux, nvme) and everestg2 (no OS) run on the patched QEMU"
t_like "everestg0's QEMU is the patched one" "$(tr '\0' ' ' <"/proc/$(qemu_pid everestg0)/cmdline")" "^$QEMU "

declare -A bdf ctrl
for i in 0 1; do
	g=everestg$i
	s=$(wait_nvme "$g" 90) && t_pass "$g: nvme driver bound to VF $i, namespace visible" ||
		t_fail "$g: nvme driver bound to VF $i, namespace visible" "$s" "$(tail -n 20 "$(l2_serial_log "$g")")"
	bdf[$g]=$(field bdf "$s")
	ctrl[$g]=$(field ctrl "$s")
	t_diag "$g: $s"
	t_like "$g: pattern written" "$(l2_cmd "$g" 120 "l2nvme write $i p$i")" "^ESFM-L2-IO $i p$i written"
	t_like "$g: pattern read back" "$(l2_cmd "$g" 120 "l2nvme read $i p$i")" "^ESFM-L2-IO $i p$i ok"
done

# QMP events of each guest, for the whole run
for g in everestg0 everestg1; do
	timeout 1100 virsh -c "$E2E_URI" qemu-monitor-event "$g" --loop --timestamp >"$E2E_ARTIFACTS/$g-events.log" 2>&1 &
	ev_pids+=($!)
done

# round LABEL MODE ARGS...: one reconf with both guests measured. MODE pause: everestg0 resets its
# controller once the VFs are online, everestg1 waits on a read; MODE unplug: both read once their
# driver has the new device. Fills res_ms[LABEL,g] (ms to the pattern read back, or "never") and
# res_gone[LABEL,g] (the guest saw its device go).
declare -A res_ms res_gone res_how
round() {
	local label=$1 mode=$2 t0 g i left n
	shift 2
	local -A gone0 done_at
	for i in 0 1; do gone0[everestg$i]=$(gone_count "everestg$i"); done
	t_diag "$label: IOMMU groups before: VF0 $(group_of 0), VF1 $(group_of 1); $(vfio_view everestg0)"
	t0=$(date +%s%N)
	esfm_ "$label" 0 "$@" -y
	t_diag "$label: esfm took $(ms_since "$t0") ms"
	t_diag "$label: IOMMU groups after: VF0 $(group_of 0), VF1 $(group_of 1); $(vfio_view everestg0)"
	if [ "$mode" = pause ]; then
		l2_cmd everestg1 30 "l2nvme read 1 p1 &" >/dev/null
		l2_cmd everestg0 30 "{ l2nvme reset; l2nvme read 0 p0; } &" >/dev/null
		res_how[$label,everestg0]="controller reset by the guest"
		res_how[$label,everestg1]="nvme driver left alone"
	else
		res_how[$label,everestg0]="driver probes the new device"
		res_how[$label,everestg1]="driver probes the new device"
	fi
	left=2
	local end=$(($(date +%s) + 300))
	while [ "$left" -gt 0 ] && [ "$(date +%s)" -lt "$end" ]; do
		for i in 0 1; do
			g=everestg$i
			[ -n "${done_at[$g]:-}" ] && continue
			if [ "$mode" = unplug ]; then
				# one read at a time, once the guest's driver has the new device
				[[ $(status_of "$g") == *state=live*blk=nvme* ]] &&
					[[ $(l2_cmd "$g" 60 "l2nvme read $i p$i") == *" ok "* ]] &&
					done_at[$g]=$(ms_since "$t0")
			else
				n=$(tr -d '\r' <"$(l2_serial_log "$g")" | grep -c "^ESFM-L2-IO $i p$i ok")
				[ "$n" -gt "${reads_ok[$g]:-1}" ] && done_at[$g]=$(ms_since "$t0") && reads_ok[$g]=$n
			fi
			[ -n "${done_at[$g]:-}" ] && left=$((left - 1))
		done
		sleep 0.25
	done
	for i in 0 1; do
		g=everestg$i
		res_ms[$label,$g]=${done_at[$g]:-never}
		[ "$(gone_count "$g")" -gt "${gone0[$g]}" ] && res_gone[$label,$g]=yes || res_gone[$label,$g]=no
		if [ -n "${done_at[$g]:-}" ]; then
			t_pass "$label: $g reads its pattern back (${res_how[$label,$g]})"
		else
			t_fail "$label: $g reads its pattern back (${res_how[$label,$g]})" \
				"$(status_of "$g")" "$(tail -n 5 "$(l2_serial_log "$g")")"
		fi
	done
}
declare -A reads_ok=([everestg0]=1 [everestg1]=1)

# --- reconf 3 -p ---
round "reconf 3 -p" pause "$pf" reconf 3 -p
t_like "reconf 3 -p paused VF 0 in everestg0" "$E_out" "pause VF 0 in 'everestg0'"
t_like "... resumed it" "$E_out" "resume VF 0 in 'everestg0'"
t_unlike "... hot-unplugged nothing" "$E_out" "hot-unplug"
t_like "... set up VF 0 before resuming it" "$(printf '%s' "$E_out" | tr '\n' ' ')" \
	"set up VF 0 \(vf_setup_command\).*resume VF 0"
t_ok "everestg2 got the new VF 2" has_alias everestg2 ua-esfm-nvme0-2
for i in 0 1; do
	g=everestg$i
	s=$(status_of "$g")
	t_is "$g: the same guest address, driver bound" "$(field bdf "$s") $(field driver "$s")" "${bdf[$g]} nvme"
	t_is "$g: the same nvme controller" "$(field ctrl "$s")" "${ctrl[$g]}"
	t_is "$g: the guest saw no remove" "${res_gone[reconf 3 -p,$g]}" no
	t_is "$g: its kernel enumerated the device once (at boot)" "$(scans_of "$g")" 1
done

# --- reconf 2 -p: the same once more, everestg2's paused VF 2 is detached ---
round "reconf 2 -p" pause "$pf" reconf 2 -p
t_like "reconf 2 -p detached everestg2's paused VF 2" "$E_out" "detach paused VF 2 from 'everestg2'"
for i in 0 1; do
	g=everestg$i
	s=$(status_of "$g")
	t_is "$g: the same address, driver and controller" "$(field bdf "$s") $(field driver "$s") $(field ctrl "$s")" "${bdf[$g]} nvme ${ctrl[$g]}"
	t_is "$g: the guest saw no remove" "${res_gone[reconf 2 -p,$g]}" no
done
for g in everestg0 everestg1; do
	t_unlike "$g: no DEVICE_DELETED while paused" "$(cat "$E2E_ARTIFACTS/$g-events.log")" "DEVICE_DELETED"
done

# --- reconf 3 without -p: the comparison ---
round "reconf 3" unplug "$pf" reconf 3
t_like "reconf 3 hot-unplugged VF 0 from everestg0" "$E_out" "hot-unplug VF 0 from 'everestg0'"
for i in 0 1; do
	g=everestg$i
	t_is "$g: the guest saw the remove" "${res_gone[reconf 3,$g]}" yes
	t_like "$g: QEMU sent DEVICE_DELETED" "$(cat "$E2E_ARTIFACTS/$g-events.log")" "DEVICE_DELETED"
done

# what each guest's kernel saw, for the README's contract
for g in everestg0 everestg1; do
	l2_cmd "$g" 60 'l2nvme kmsg' >"$E2E_ARTIFACTS/$g-kmsg.log"
	t_diag "$g kernel, nvme and PCI lines: $(grep -E 'nvme|pci.*1b36|pcieport|acpiphp|remov' "$E2E_ARTIFACTS/$g-kmsg.log" | grep -v 'nvme_core\|Linux version' | sed 's/^ESFM-L2-KMSG //' | tr '\n' '|')"
done

t_diag "time from the start of the reconf to the pattern read back in the guest (ms)"
t_diag "$(printf '%-12s %-10s %-10s %-8s %s' reconf guest ms removed 'how the guest recovered')"
for label in "reconf 3 -p" "reconf 2 -p" "reconf 3"; do
	for g in everestg0 everestg1; do
		t_diag "$(printf '%-12s %-10s %-10s %-8s %s' "$label" "$g" "${res_ms[$label,$g]}" "${res_gone[$label,$g]}" "${res_how[$label,$g]}")"
	done
done
t_done
