#!/bin/bash
# shellcheck disable=SC2154 # t_run sets <prefix>_out, _err, _rc
# device_pause on a real VF: esfm's patched QEMU (qemu/; `make qemu` on the host, handed in through
# the read-only checkout share, since build/ is not copied into L1) runs a q35 TCG guest (SeaBIOS, no
# OS) with an NVMe VF as vfio-pci. Pausing must let go of the VF (no /dev/vfio fd left, so
# sriov_numvfs=0 completes at once, and no unplug request), resuming must refuse while the VF is
# missing or not bound to vfio-pci (the device stays paused) and take the re-created VF back at the
# same guest address. What an L2 Linux driver does across a pause is not covered here.
. "$(dirname "$0")/../lib/common.sh"

QEMU=${ESFM_E2E_QEMU:-/mnt/esfm-src/build/qemu/bin/qemu-system-x86_64}
if [ ! -x "$QEMU" ]; then
	echo "1..0 # SKIP no patched QEMU handed in ($QEMU): run make qemu on the host before make e2e"
	exit 0
fi

pf=$(e2e_find_pf) || t_bail "an SR-IOV 1b36:0010 PF is present" "$(lspci -nn 2>&1)"
sys=/sys/bus/pci/devices/$pf
port=4447
events=$E2E_ARTIFACTS/qmp-events.log
qlog=$E2E_ARTIFACTS/qemu.log
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && sleep 1 && kill -9 "$qpid" 2>/dev/null
	e2e_reset_pf "$pf"
}
trap cleanup EXIT
e2e_reset_pf "$pf"
e2e_require_pcictl
t_diag "PF $pf, QEMU $QEMU"

# qmp JSON: sends one command on the QMP connection (fd $QMP), prints the reply line; events seen
# meanwhile go to $events.
qmp() {
	local line
	printf '%s\n' "$1" >&"$QMP"
	while IFS= read -r -t 60 line <&"$QMP"; do
		line=${line%$'\r'}
		case $line in
		*'"event"'*) printf '%s\n' "$line" >>"$events" ;;
		*) printf '%s\n' "$line"; return 0 ;;
		esac
	done
	echo "no QMP reply to $1"
	return 1
}
paused() { qmp '{"execute":"qom-get","arguments":{"path":"/machine/peripheral/hostdev0","property":"x-paused"}}'; }
pause() { qmp "{\"execute\":\"device_pause\",\"arguments\":{\"id\":\"hostdev0\",\"pause\":$1}}"; }
vfio_fds() { find "/proc/$qpid/fd" -maxdepth 1 -lname '/dev/vfio/*' 2>/dev/null | wc -l; }
# the guest's view of the device (HMP "info pci": address, IDs, BARs), on one line
guest_view() {
	qmp '{"execute":"human-monitor-command","arguments":{"command-line":"info pci"}}' |
		sed 's/\\r\\n/\n/g' |
		awk '/Bus +1, device/ { on = 1 } on { gsub(/^ +/, ""); printf "%s; ", $0 } on && /id \\"hostdev0\\"/ { exit }'
}
# waits until SeaBIOS has given BAR0 an address and the view stays the same for 2 s
guest_view_settled() {
	local a b
	for _ in $(seq 1 30); do
		a=$(guest_view)
		sleep 2
		b=$(guest_view)
		if [ "$a" = "$b" ] && [[ $a == *"BAR0: "* ]] && [[ $a != *"at 0xffffffffffffffff"* ]]; then
			printf '%s\n' "$a"
			return 0
		fi
	done
	printf '%s\n' "$b"
	return 1
}

t_ok "set-numvfs 2 --no-autoprobe" pcictl set-numvfs "$pf" 2 --no-autoprobe
vf=$(basename "$(readlink -f "$sys/virtfn0")")
t_ok "VF 0 ($vf) bound to vfio-pci" pcictl bind "$vf" vfio-pci
group=$(basename "$(readlink "/sys/bus/pci/devices/$vf/iommu_group")")
t_diag "VF $vf, IOMMU group $group"

"$QEMU" -machine q35 -accel tcg -m 128 -nodefaults -display none -serial none \
	-device pcie-root-port,id=rp0,chassis=1,slot=1 \
	-device "vfio-pci,host=$vf,id=hostdev0,bus=rp0" \
	-qmp "tcp:127.0.0.1:$port,server=on,wait=off" </dev/null >"$qlog" 2>&1 &
qpid=$!
connected=
for _ in $(seq 1 120); do
	if { exec {QMP}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then connected=1; break; fi
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.5
done
[ -n "$connected" ] || t_bail "the patched QEMU starts with the VF and answers QMP" "$(cat "$qlog")"
IFS= read -r -t 30 greeting <&"$QMP"
t_like "QMP greeting" "$greeting" '"QMP"'
t_like "qmp_capabilities" "$(qmp '{"execute":"qmp_capabilities"}')" '"return"'
t_like "device_pause is offered" "$(qmp '{"execute":"query-commands"}')" '"device_pause"'
t_like "x-paused is false at start" "$(paused)" '"return": false'
t_is "QEMU holds the VF's group and container open" "$(vfio_fds)" 2
before=$(guest_view_settled)
t_like "the guest sees the VF on the root port, BAR0 assigned by SeaBIOS" "$before" 'PCI device 1b36:0010.*BAR0: [^;]* at 0x'
t_diag "guest view: $before"

# --- pause: QEMU lets go of the VF ---
t=$(date +%s%N)
t_like "device_pause true" "$(pause true)" '"return": \{\}'
t_diag "pause took $((($(date +%s%N) - t) / 1000000)) ms"
t_like "x-paused is true" "$(paused)" '"return": true'
t_like "pausing again: already paused" "$(pause true)" 'already paused'
t_is "no /dev/vfio fd left in QEMU" "$(vfio_fds)" 0
t_is "the guest still sees the device, unchanged" "$(guest_view)" "$before"

t=$(date +%s%N)
t_ok "sriov_numvfs=0 completes while the device is paused" timeout 30 sh -c "echo 0 >'$sys/sriov_numvfs'"
ms=$((($(date +%s%N) - t) / 1000000))
t_diag "sriov_numvfs 2 -> 0 took $ms ms"
t_like "... at once (under 5 s; an unpaused VF makes the kernel wait for an unplug)" "$ms" '^[0-9]{1,3}$|^[0-4][0-9]{3}$'

r=$(pause false)
t_like "resume with the VF gone is refused, naming its sysfs path" "$r" "host device /sys/bus/pci/devices/$vf is missing"
t_like "... and says the device stays paused" "$r" 'stays paused'
t_like "x-paused is still true" "$(paused)" '"return": true'

t_ok "VFs re-created (set-numvfs 2 --no-autoprobe)" pcictl set-numvfs "$pf" 2 --no-autoprobe
t_is "VF 0 has the same address" "$(basename "$(readlink -f "$sys/virtfn0")")" "$vf"
r=$(pause false)
t_like "resume while the VF is not bound to vfio-pci is refused" "$r" 'stays paused'
t_like "x-paused is still true" "$(paused)" '"return": true'

t_ok "VF 0 bound to vfio-pci again" pcictl bind "$vf" vfio-pci
t_diag "IOMMU group now $(basename "$(readlink "/sys/bus/pci/devices/$vf/iommu_group")")"
t=$(date +%s%N)
t_like "device_pause false takes the re-created VF back" "$(pause false)" '"return": \{\}'
t_diag "resume took $((($(date +%s%N) - t) / 1000000)) ms"
t_like "x-paused is false" "$(paused)" '"return": false'
t_like "resuming again: not paused" "$(pause false)" 'not paused'
t_is "QEMU holds the VF's group and container again" "$(vfio_fds)" 2
t_is "the guest sees the same device at the same address" "$(guest_view)" "$before"

t_like "QEMU still runs the guest" "$(qmp '{"execute":"query-status"}')" '"status": "running"'
t_unlike "no DEVICE_DELETED or unplug event" "$(cat "$events" 2>/dev/null)" 'DEVICE_DELETED|UNPLUG'
qmp '{"execute":"quit"}' >/dev/null
e2e_wait 30 sh -c "! kill -0 $qpid 2>/dev/null"
wait "$qpid"
t_is "QEMU exits 0" "$?" 0
qpid=
t_diag "QEMU's output: $(tr '\n' ' ' <"$qlog")"
t_done
