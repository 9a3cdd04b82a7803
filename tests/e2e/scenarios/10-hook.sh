#!/bin/bash
# shellcheck disable=SC2154 # t_run sets <prefix>_out, _err, _rc
# e2e-timeout: 900
# The libvirt qemu hook on a real host: esfm installed with install.sh (the hook is a qemu.d
# drop-in, libvirtd gets SIGHUP), a pool on the real SR-IOV PF, VMs annotated with
# `virsh metadata`. `virsh start` of an annotated VM -> the VF is hot-plugged (live XML, live
# metadata, inside the L2 Linux); destroy -> the VF is free again and the next VM gets it;
# static mode -> the VF is there from boot; five VMs started in parallel on a 4-VF pool -> four
# get a VF, one fails with the pool-exhausted line; a libvirtd restart keeps the allocations.
. "$(dirname "$0")/../lib/common.sh"
. "$E2E_LIB/l2.sh"
. "$E2E_LIB/esfm.sh"

e2e_esfm_begin e2e10-a e2e10-b e2e10-s e2e10-p0 e2e10-p1 e2e10-p2 e2e10-p3 e2e10-p4

# --- install: binaries, templates, the qemu.d drop-in, SIGHUP to libvirtd ---
rc=0
e2e_esfm_install || rc=$?
t_is "install.sh exits 0" "$rc" 0
t_is "the hook is a qemu.d drop-in" "$(readlink /etc/libvirt/hooks/qemu.d/esfm)" \
	/usr/local/libexec/esfm/esfm-hook
t_like "install.sh told libvirtd (SIGHUP) or found it will see the hook" "$E2E_INSTALL_OUT" \
	'SIGHUP|signalled|sees|will find|already'
printf 'log_file = %s\nlog_level = info\n' "$hooklog" >/etc/esfm/esfm.conf
: >"$hooklog"
e2e_esfm_pool nvme0 "$pf" 4
t_is "pool-check" "$($esfm pool-check 2>&1)" "configuration OK (1 pool)"

define() { # name [l2_domain_xml options]
	local name=$1
	shift
	l2_domain_xml "$name" "$@" >"$E2E_WORK/$name.xml"
	rm -f "$(l2_serial_log "$name")"
	virsh_ define "$E2E_WORK/$name.xml" >/dev/null
}
annotate() { # name element
	virsh_ metadata "$1" --uri urn:esfm:vf:1 --key esfm --set "$2" --config >/dev/null
}
has_alias() { virsh_ dumpxml "$1" 2>/dev/null | grep -q "<alias name='$2'/>"; }
vf_state() { # index -> "state vm" from esfm status --json, via plain text status
	$esfm status 2>/dev/null | awk -v i="$1" '$1 == i && $2 ~ /:/ { print $4, $6; exit }'
}

# --- 1. virsh start of an annotated VM: hot-plugged right after start ---
define e2e10-a --linux
t_ok "annotate e2e10-a with virsh metadata" annotate e2e10-a '<vf pool="nvme0"/>'
t0=$(date +%s)
t_run st l2_start_linux e2e10-a
t_is "virsh start e2e10-a (L2 Linux up after $L2_ATTEMPTS attempt(s))" "$st_rc" 0
if e2e_wait 60 has_alias e2e10-a ua-esfm-nvme0-0; then
	t_pass "VF 0 hot-plugged into e2e10-a as ua-esfm-nvme0-0 ($(($(date +%s) - t0)) s after start)"
else
	t_fail "VF 0 hot-plugged into e2e10-a" "$(tail -n 20 "$hooklog")"
fi
virsh_ dumpxml e2e10-a >"$E2E_ARTIFACTS/e2e10-a-live.xml" 2>&1
meta=$(virsh_ metadata e2e10-a --uri urn:esfm:vf:1 --live 2>&1)
t_like "live metadata records the allocation" "$meta" "allocation [^>]*alias=.ua-esfm-nvme0-0"
t_is "esfm status: VF 0 attached to e2e10-a" "$(vf_state 0)" "attached e2e10-a"
if l2_wait_serial e2e10-a '^ESFM-L2-(PCI|PCI-ADD) [0-9a-f:.]+ 1b36 0010' 200; then
	t_pass "the L2 Linux in e2e10-a sees the VF (1b36:0010)"
else
	t_fail "the L2 Linux in e2e10-a sees the VF" "$(tail -n 15 "$(l2_serial_log e2e10-a)" 2>&1)"
fi
t_like "the hook log names pool, VF, domain and UUID" "$(cat "$hooklog")" \
	"pool 'nvme0': VF 0 \([0-9a-f:.]+\) attached to domain 'e2e10-a' \([0-9a-f-]{36}\)"
id0="esfm-vf,pool=nvme0,index=0,pf=$pf"
if l2_wait_vport e2e10-a "$id0" present 60; then
	t_pass "the L2 Linux in e2e10-a reads its VF's identity in /sys/class/virtio-ports: $id0"
else
	t_fail "the L2 Linux in e2e10-a reads its VF's identity ($id0)" \
		"$(grep VPORT "$(l2_serial_log e2e10-a)")" "$(tail -n 5 "$hooklog")"
fi

# --- 2. destroy: the VF goes back, the next VM gets it ---
t_ok "destroy e2e10-a" virsh_ destroy e2e10-a
t_is "esfm status: VF 0 free after destroy" "$(vf_state 0)" "free -"
define e2e10-b
annotate e2e10-b '<vf pool="nvme0"/>'
t_ok "virsh start e2e10-b" virsh_ start e2e10-b
if e2e_wait 60 has_alias e2e10-b ua-esfm-nvme0-0; then
	t_pass "e2e10-b got the freed VF 0"
else
	t_fail "e2e10-b got the freed VF 0" "$(tail -n 20 "$hooklog")"
fi
t_ok "destroy e2e10-b" virsh_ destroy e2e10-b

# --- 3. static mode: the hostdev is in the domain XML, present from power-on ---
vf1=$("$E2E_BUILD/tests/tools/esfm-pcictl" vf-addr "$pf" 1)
"$E2E_BUILD/tests/tools/esfm-pcictl" hostdev-xml "$vf1" ua-esfm-nvme0-1 >"$E2E_WORK/static-hostdev.xml"
define e2e10-s --linux --hostdev "$E2E_WORK/static-hostdev.xml"
annotate e2e10-s '<vf pool="nvme0" mode="static"/>'
t_run st l2_start_linux e2e10-s
t_is "virsh start e2e10-s (static: the hook binds the VF before QEMU opens it)" "$st_rc" 0
[ "$st_rc" = 0 ] || t_diag "$st_out"
t_is "esfm status: VF 1 attached to e2e10-s" "$(vf_state 1)" "attached e2e10-s"
if [ "$st_rc" = 0 ]; then
	boot=$(sed -n '1,/^ESFM-L2-READY/p' "$(l2_serial_log e2e10-s)" | tr -d '\r')
	t_like "the VF is on the L2 PCI bus at boot (listed before READY)" "$boot" \
		'^ESFM-L2-PCI [0-9a-f:.]+ 1b36 0010'
else
	t_fail "the static L2 Linux booted" "$(tail -n 15 "$(l2_serial_log e2e10-s)" 2>&1)"
fi
t_ok "destroy e2e10-s" virsh_ destroy e2e10-s
t_is "esfm status: VF 1 free after destroy" "$(vf_state 1)" "free -"

# --- 4. five VMs start at once on a 4-VF pool ---
for i in 0 1 2 3 4; do
	define "e2e10-p$i"
	annotate "e2e10-p$i" '<vf pool="nvme0"/>'
done
for i in 0 1 2 3 4; do
	(virsh_ start "e2e10-p$i" >"$E2E_WORK/p$i.out" 2>&1; echo $? >"$E2E_WORK/p$i.rc") &
done
wait
ok=0 refused=0 msg=
for i in 0 1 2 3 4; do
	if [ "$(cat "$E2E_WORK/p$i.rc")" = 0 ]; then
		ok=$((ok + 1))
	else
		refused=$((refused + 1))
		msg=$(cat "$E2E_WORK/p$i.out")
	fi
done
t_is "four of five parallel starts succeed" "$ok" 4
t_is "one is refused" "$refused" 1
t_like "... with the pool-exhausted line" "$msg" \
	"esfm: pool 'nvme0' has no free VF \(4 of 4 in use: [^)]*\); stop one of them or grow the pool"
attached() {
	local n=0 d
	for d in 0 1 2 3 4; do
		virsh_ dumpxml "e2e10-p$d" 2>/dev/null | grep -q "alias name='ua-esfm-nvme0-" && n=$((n + 1))
	done
	[ "$n" = 4 ]
}
if e2e_wait 90 attached; then
	t_pass "the four running VMs each have a VF in their live XML"
else
	t_fail "the four running VMs each have a VF" "$($esfm status 2>&1)"
fi
t_is "no VF twice: 4 distinct VFs attached" \
	"$($esfm status --json | grep -c '"state": "attached"')" 4

# --- 5. a libvirtd restart keeps the running VMs and their allocations ---
before=$($esfm status --json)
t_ok "systemctl restart libvirtd" systemctl restart libvirtd
t_ok "libvirtd answers again" e2e_wait 60 virsh_ version
sleep 1
running=0
for i in 0 1 2 3 4; do
	[ "$(virsh_ domstate "e2e10-p$i" 2>/dev/null)" = running ] && running=$((running + 1))
done
t_is "the four VMs are still running" "$running" 4
t_is "allocations unchanged after the restart" "$($esfm status --json)" "$before"
t_unlike "no hook failure at reconnect" "$(cat "$hooklog")" "reconnect .*failed"
for i in 0 1 2 3 4; do virsh_ destroy "e2e10-p$i" >/dev/null 2>&1; done
t_is "every VF free after the VMs stop" "$($esfm status --json | grep -c '"state": "free"')" 4
t_done
