#!/usr/bin/env bash
# An attach worker killed (kill -9, OOM) before it attached its VF: the domain runs without
# the VF, the ledger says "reserved" and nothing is working on it. The next reconcile
# (esfm recover) frees it and says so; a reservation whose worker lives, or whose domain has
# not reached `started` yet, is kept. Found by `make crash` (tests/integration/crash-inject.sh).
# Simulator + libvirt's test driver (vm-k, vm-w, vm-p run without hostdevs); the hooks get
# an esfm.conf whose libvirt is a TCP listener that never answers (tclsh), so their workers
# hang in virConnectOpen until killed, after `started` recorded them.
set -u
. "$ESFM_TOP/tests/lib/tap.sh"
. "$ESFM_TOP/tests/lib/sim.sh"

top=$ESFM_TOP
build=$ESFM_BUILD
t_require "the killed-worker test" "(make SANITIZE=1 tests; package tcl)" root /dev/fuse fusermount3 \
	pgrep tclsh "$build/esfm" "$build/esfm-hook" "$build/esfm-hook-worker" "$build/tests/sim/esfm-sysfs-sim"
work=$(mktemp -d /tmp/esfm-wkill.XXXXXX)
chmod 0755 "$work"
mnt=$work/sys
state=$work/state
listener=
workers() { pgrep -f "^$build/esfm-hook-worker .*${1:-}"; }
cleanup() {
	local w
	for w in $(workers); do kill -KILL "$w" 2>/dev/null; done
	[ -z "$listener" ] || kill "$listener" 2>/dev/null
	sim_finish "$work"
}
trap cleanup EXIT
sim_up "$top/tests/integration/hook-fixtures/hook.topo" "$mnt"

cat >"$work/listen.tcl" <<'TCL'
set s [socket -server {apply {{c a p} {}}} -myaddr 127.0.0.1 0]
puts [lindex [fconfigure $s -sockname] 2]
flush stdout
vwait forever
TCL
tclsh "$work/listen.tcl" >"$work/port" &
listener=$!
for _ in $(seq 1 100); do
	[ ! -s "$work/port" ] || break
	sleep 0.05
done
port=$(cat "$work/port")
t_like "a libvirt that never answers listens (port $port)" "$port" '^[0-9]+$'

mkdir -p "$work/conf/pools.d" "$work/hookconf/pools.d"
cat >"$work/conf/pools.d/fpga0.xml" <<'POOL'
<pool type='sriov'><name>fpga0</name><source><pf address='0000:83:00.0'/></source><vfs count='4' driver='vfio-pci'/></pool>
POOL
cp "$work/conf/pools.d/fpga0.xml" "$work/hookconf/pools.d/"
cat >"$work/conf/esfm.conf" <<CONF
sysfs_root = $mnt
state_dir = $state
template_dir = $top/xml-templates
log_file = $work/esfm.log
libvirt_uri = test://$work/node.xml
lock_timeout_ms = 30000
CONF
sed "s|^libvirt_uri = .*|libvirt_uri = qemu+tcp://127.0.0.1:$port/system|" "$work/conf/esfm.conf" \
	>"$work/hookconf/esfm.conf"

uuid() { printf '6b3f0d5c-0000-4000-8000-%012d' "$1"; }
annot='<esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0" count="1"/>'
dom() { # name uuid-number: as the hook reads it
	printf "<domain type='kvm' id='1'><name>%s</name><uuid>%s</uuid><metadata>%s</metadata>" "$1" "$(uuid "$2")" "$annot"
	printf "<memory unit='KiB'>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices/></domain>\n"
}
dom vm-k 1 >"$work/vm-k.xml"
dom vm-w 2 >"$work/vm-w.xml"
dom vm-p 3 >"$work/vm-p.xml"
{
	echo '<node>'
	for d in "vm-k 1" "vm-w 2" "vm-p 3"; do
		set -- $d
		printf "<domain type='test'><name>%s</name><uuid>%s</uuid><metadata>%s</metadata>" "$1" "$(uuid "$2")" "$annot"
		printf '<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices/></domain>\n'
	done
	echo '</node>'
} >"$work/node.xml"

envv=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root)
[ -z "${ASAN_OPTIONS:-}" ] || envv+=("ASAN_OPTIONS=$ASAN_OPTIONS")
[ -z "${UBSAN_OPTIONS:-}" ] || envv+=("UBSAN_OPTIONS=$UBSAN_OPTIONS")
hook() {
	(cd / && exec "${envv[@]}" ESFM_CONF_DIR="$work/hookconf" "$build/esfm-hook" "$1" "$2" "$3" - <"$work/$1.xml")
}
recover() { t_run R "${envv[@]}" ESFM_CONF_DIR="$work/conf" "$build/esfm" recover fpga0; }
slot() { # index: its state
	sed -n "s/.*<vf index=\"$1\"[^>]*state=\"\([a-z]*\)\".*/\1/p" "$state/fpga0.state"
}
worker_of() { workers "$(uuid "$1")"; }
wait_gone() {
	for _ in $(seq 1 100); do
		worker_of "$1" >/dev/null || return 0
		sleep 0.05
	done
	return 1
}

t_ok "prepare vm-k, vm-w, vm-p" eval 'hook vm-k prepare begin && hook vm-w prepare begin && hook vm-p prepare begin'
t_is "VFs 0, 1, 2 reserved" "$(slot 0) $(slot 1) $(slot 2)" "reserved reserved reserved"
t_ok "started vm-k and vm-w launch their attach workers" eval 'hook vm-k started begin && hook vm-w started begin'
wk=$(worker_of 1)
ww=$(worker_of 2)
t_like "vm-k's worker waits for libvirt" "$wk" '^[0-9]+$'
t_like "vm-w's worker waits for libvirt" "$ww" '^[0-9]+$'
t_like "started recorded vm-k's worker on its reservation" "$(grep 'index="0"' "$state/fpga0.state")" \
	"worker-pid=\"$wk\""
kill -KILL "$wk"
t_ok "vm-k's worker is killed" wait_gone 1

recover
t_is "esfm recover exits 0" "$R_rc" 0
t_like "frees VF 0, saying its attach worker died" "$R_out$R_err" \
	"free VF 0 \(0000:83:00\.4\), reserved by 'vm-k': its attach worker \(pid $wk\) died before attaching it"
t_is "VF 0 is free" "$(slot 0)" free
t_is "VF 1 stays reserved: vm-w's worker is at work" "$(slot 1)" reserved
t_is "VF 2 stays reserved: vm-p has not reached started" "$(slot 2)" reserved
t_unlike "nothing said about VF 1 or VF 2" "$R_out$R_err" "VF [12] "
kill -KILL "$ww"
t_ok "vm-w's worker is killed too" wait_gone 2
recover
t_like "the next recover frees VF 1" "$R_out$R_err" "free VF 1 .*its attach worker \(pid $ww\) died"
t_is "VF 1 is free, VF 2 still reserved" "$(slot 1) $(slot 2)" "free reserved"
t_ok "release vm-p frees its reservation" hook vm-p release end
t_is "VF 2 is free" "$(slot 2)" free
t_done
