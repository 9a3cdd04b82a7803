#!/usr/bin/env bash
# esfm pool-gc (alias esfm reconcile): frees exactly the VFs whose recorded holder no longer
# holds them, keeps the rest, in a short cycle under the pool lock. Simulator + libvirt's test:// driver with a node file: "holder"
# runs and has VF 4 in its XML, "idle" runs without hostdevs, "off" is defined but shut off.
set -u
. "$ESFM_TOP/tests/lib/tap.sh"
. "$ESFM_TOP/tests/lib/sim.sh"

top=$ESFM_TOP
work=$(mktemp -d /tmp/esfm-gc.XXXXXX)
mnt=$work/sys
trap 'sim_finish "$work"' EXIT
sim_up "$top/tests/sim/topologies/qdma.topo" "$mnt"
uuid() { printf '6b3f0d5c-0000-4000-8000-%012d' "$1"; }
dom() { # name index running hostdev-function-or-empty
	printf "  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
	printf '    <name>%s</name>\n    <uuid>%s</uuid>\n' "$1" "$(uuid "$2")"
	printf '    <memory>65536</memory>\n    <vcpu>1</vcpu>\n    <os><type>hvm</type></os>\n'
	printf '    <devices>\n'
	[ -n "$4" ] && printf "      <hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x83' slot='0x01' function='0x%s'/></source><alias name='ua-esfm-fpga0-4'/></hostdev>\n" "$4"
	printf '    </devices>\n'
	[ "$3" = 0 ] && printf '    <test:runstate>5</test:runstate>\n'
	printf '  </domain>\n'
}
{
	echo '<node>'
	dom holder 1 1 0
	dom idle 2 1 ''
	dom off 3 0 ''
	echo '</node>'
} >"$work/node.xml"
mkdir -p "$work/conf/pools.d" "$work/state"
chmod 700 "$work/state"
cat >"$work/conf/esfm.conf" <<EOF
sysfs_root = $mnt
state_dir = $work/state
template_dir = $top/xml-templates
libvirt_uri = test://$work/node.xml
EOF
cat >"$work/conf/pools.d/fpga0.xml" <<'EOF'
<pool type='sriov'><name>fpga0</name><source><pf address='0000:83:00.0'/></source><vfs count='6' driver='vfio-pci'/></pool>
EOF
export ESFM_CONF_DIR=$work/conf
now=$(date +%s)
slot() { # index function state origin uuid name since
	printf '  <vf index="%s" address="0000:83:%s" state="%s" origin="%s" uuid="%s" name="%s" alias="ua-esfm-fpga0-%s" since="%s"/>\n' \
		"$1" "$2" "$3" "$4" "$5" "$6" "$1" "$7"
}
{
	echo "<esfm-state version='1' pool='fpga0' pf='0000:83:00.0' generation='1'>"
	slot 0 00.4 reserved hook "$(uuid 9)" gone-old 1000        # VM gone, old: freed
	slot 1 00.5 reserved hook "$(uuid 2)" idle "$now"          # reserved for a running (starting) VM: kept
	slot 2 00.6 attached cli "$(uuid 2)" idle 1000             # running, XML lacks it: freed
	slot 3 00.7 attached hook "$(uuid 3)" off 1000             # hook loan, VM not running: freed
	slot 4 01.0 attached hook "$(uuid 1)" holder 1000          # running and holds it: kept
	slot 5 01.1 free hook "" "" 1000 | sed 's/ origin="hook" uuid="" name=""//'
	echo "</esfm-state>"
} >"$work/state/fpga0.state"
chmod 600 "$work/state/fpga0.state"

E=$ESFM_BUILD/esfm
t_run G "$E" pool-gc
t_is "pool-gc exits 0" "$G_rc" 0
t_like "frees VF 0: its VM no longer exists" "$G_out" "free VF 0 \(0000:83:00.4\), reserved by 'gone-old': its VM no longer exists"
t_like "frees VF 2: the running VM does not hold it" "$G_out" "free VF 2 \(0000:83:00.6\), attached by 'idle': its VM does not hold it"
t_like "frees VF 3: a hook loan whose VM is not running" "$G_out" "free VF 3 \(0000:83:00.7\), attached by 'off': its VM is not running"
t_like "says how many" "$G_out" "pool-gc: 3 VFs freed"
t_unlike "keeps VF 1 (reserved for a VM that runs: its worker may be attaching it)" "$G_out" "VF 1 "
t_unlike "keeps VF 4 (its VM runs and holds it)" "$G_out" "VF 4 "
st=$(cat "$work/state/fpga0.state")
t_like "state: VF 1 still reserved" "$st" "index=\"1\"[^>]*state=\"reserved\""
t_like "state: VF 4 still attached to holder" "$st" "index=\"4\"[^>]*state=\"attached\"[^>]*name=\"holder\""
t_like "state: VF 0 free, its last owner remembered" "$st" "index=\"0\"[^>]*state=\"free\"[^>]*last-uuid=\"$(uuid 9)\""
t_run G2 "$E" pool-gc fpga0
t_like "a second run frees nothing" "$G2_out" "pool-gc: 0 VFs freed"
t_run G5 "$E" reconcile fpga0
t_is "esfm reconcile is pool-gc under its other name: exit 0" "$G5_rc" 0
t_like "... and says so in its own name" "$G5_out" "^esfm: reconcile: 0 VFs freed$"
t_run G3 "$E" pool-gc ../etc
t_is "a pool name with a path trick: exit 2" "$G3_rc" 2
t_like "... named in the error" "$G3_err" "invalid pool name '../etc'"
exec 9>"$work/state/fpga0.lock"
flock 9
sed -i 's/^lock_timeout_ms.*//' "$work/conf/esfm.conf"
echo "lock_timeout_ms = 300" >>"$work/conf/esfm.conf"
t_run G4 "$E" pool-gc fpga0
t_is "while the pool is locked: exit 3 (busy)" "$G4_rc" 3
t_like "... saying it is in use" "$G4_err" "pool 'fpga0' is in use"
flock -u 9
exec 9>&-
t_done
