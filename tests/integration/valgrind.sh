#!/usr/bin/env bash
# valgrind memcheck on the release build (the sanitizers cover build/check): every unit test
# binary, and the real binaries on their main paths against the sysfs simulator. A leak or an
# invalid access anywhere makes the check fail.
set -u
. "$ESFM_TOP/tests/lib/tap.sh"

top=$ESFM_TOP
rel=$top/build/release
vg=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect)
if ! command -v valgrind >/dev/null || [ ! -x "$rel/esfm" ]; then
	t_fail "valgrind and the release build are there (make tests)"
	t_done
	exit 1
fi
work=$(mktemp -d /tmp/esfm-valgrind.XXXXXX)
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && ESFM_BUILD=$rel "$top/tests/sim/sim-stop" "$work/sys" "$sim_pid" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# cmocka's exit code is the number of failed tests; valgrind's own is 99. A test binary
# passes when it ran clean, every test passed and it printed as many results as it planned.
for t in "$rel"/tests/unit/test_*; do
	name=$(basename "$t")
	case $name in test_pause) continue ;; esac # needs FUSE and the test driver: covered below
	out=$(ESFM_TOP=$top CMOCKA_MESSAGE_OUTPUT=TAP "${vg[@]}" "$t" 2>&1)
	rc=$?
	plan=$(printf '%s\n' "$out" | sed -n 's/^1\.\.\([0-9]*\)$/\1/p' | head -1)
	oks=$(printf '%s\n' "$out" | grep -c '^ok ')
	if [ "$rc" = 0 ] && [ -n "$plan" ] && [ "$plan" = "$oks" ] && [ "$oks" -gt 0 ]; then
		t_pass "$name is valgrind-clean ($oks tests passed)"
	else
		t_fail "$name is valgrind-clean and passes" "exit $rc, plan ${plan:-none}, $oks passed" \
			"$(printf '%s\n' "$out" | grep -E '^(==|not ok|#)' | head -30)"
	fi
done

sim_pid=$(ESFM_BUILD=$rel "$top/tests/sim/sim-start" "$top/tests/sim/topologies/qdma.topo" "$work/sys")
mkdir -p "$work/conf/pools.d"
cat >"$work/conf/esfm.conf" <<CONF
sysfs_root = $work/sys
state_dir = $work/state
template_dir = $top/xml-templates
log_file = $work/hook.log
libvirt_uri = test:///default
CONF
cat >"$work/conf/pools.d/fpga0.xml" <<'POOL'
<pool type='sriov'><name>fpga0</name><source><pf address='0000:83:00.0'/></source><vfs count='4' driver='vfio-pci'/><qdma qmax='16'/><nova flavor='fpga.small'/></pool>
POOL
export ESFM_CONF_DIR=$work/conf
dom='<domain><name>vm1</name><uuid>11111111-2222-3333-4444-555555555555</uuid><metadata><esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0" count="2"/></metadata><devices/></domain>'
# nova FLAVOR: a Nova instance of that flavor (Nova 26's metadata shape), no esfm annotation
nova() {
	printf '<domain><name>instance-1</name><uuid>11111111-2222-3333-4444-666666666666</uuid><metadata>'
	printf '<nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1"><nova:flavor name="%s">' "$1"
	printf '<nova:vcpus>1</nova:vcpus></nova:flavor></nova:instance></metadata><devices/></domain>'
}

# vgrun WHAT RC REGEX INPUT COMMAND...: COMMAND under memcheck with INPUT on stdin must exit RC,
# with stdout+stderr matching REGEX (grep -E; '^$': no output at all), and no memcheck error
# (exit 99).
vgrun() {
	local what=$1 want=$2 re=$3 input=$4 out rc
	shift 4
	out=$(printf '%s' "$input" | "${vg[@]}" "$@" 2>&1)
	rc=$?
	if [ "$rc" = 99 ]; then
		t_fail "$what: valgrind-clean" "$(printf '%s\n' "$out" | grep '^==' | head -30)"
	elif [ "$rc" != "$want" ] || { [ "$re" = '^$' ] && [ -n "$out" ]; } ||
		{ [ "$re" != '^$' ] && ! printf '%s' "$out" | grep -qE -- "$re"; }; then
		t_fail "$what: exit $want, output matching $re" "exit $rc" "$(printf '%s\n' "$out" | head -20)"
	else
		t_pass "$what: valgrind-clean, exit $rc as expected"
	fi
}
# The handler is linked statically, where memcheck cannot follow malloc: the Makefile links
# the same objects dynamically as tests/esfm-hook-handler-dynamic for this.
handler=$rel/tests/esfm-hook-handler-dynamic
# held STATE: how many VFs of fpga0 the state file records in STATE
held() { grep -c "state=\"$1\"" "$work/state/fpga0.state" 2>/dev/null; }
vgrun "esfm-hook-handler prepare" 0 '^$' "$dom" "$handler" vm1 prepare begin -
t_is "... reserved vm1's 2 VFs" "$(held reserved)" 2
vgrun "esfm-hook-handler reconnect" 0 '^$' "$dom" "$handler" vm1 reconnect begin -
t_is "... left them reserved (no hostdev in the live XML)" "$(held reserved)" 2
vgrun "esfm-hook-handler release" 0 '^$' "$dom" "$handler" vm1 release end -
t_is "... freed them" "$(held reserved) $(held free)" "0 4"
vgrun "esfm-hook-handler prepare, malformed XML" 1 "^esfm: domain XML:[0-9]+: malformed XML" \
	'<domain><name>vm1</name><metadata><esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0">' \
	"$handler" vm1 prepare begin -
vgrun "esfm-hook-handler prepare, Nova instance of a mapped flavor" 0 '^$' "$(nova fpga.small)" \
	"$handler" instance-1 prepare begin -
t_is "... reserved its VF" "$(held reserved)" 1
vgrun "esfm-hook-handler release, Nova instance" 0 '^$' "$(nova fpga.small)" \
	"$handler" instance-1 release end -
t_is "... freed it" "$(held reserved)" 0
# The front is linked statically, where memcheck cannot follow malloc; check the same
# source linked dynamically.
if cc -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -DESFM_VERSION='"vg"' -I"$top/src" \
	-o "$work/esfm-hook" "$top/hooks/esfm-hook.c" "$top/hooks/hookscan.c" "$top/hooks/novascan.c" \
	2>"$work/cc.err"; then
	vgrun "esfm-hook (front), unannotated" 0 '^$' "<domain><name>x</name></domain>" "$work/esfm-hook" x prepare begin -
	big=$(head -c 17000000 /dev/zero | tr '\0' 'x')
	vgrun "esfm-hook (front), oversized unannotated input" 0 '^$' "$big" "$work/esfm-hook" x prepare begin -
	vgrun "esfm-hook (front), annotated, no handler next to it" 1 \
		"^esfm: domain 'vm1': cannot run $work/esfm-hook-handler: No such file or directory; reinstall esfm$" \
		"$dom" "$work/esfm-hook" vm1 prepare begin -
	vgrun "esfm-hook (front), annotated, no handler, release" 0 '^$' "$dom" "$work/esfm-hook" vm1 release end -
	vgrun "esfm-hook (front), Nova instance of an unmapped flavor (reads the pool files)" 0 '^$' \
		"$(nova m1.small)" "$work/esfm-hook" instance-1 prepare begin -
	vgrun "esfm-hook (front), Nova instance of a mapped flavor, no handler" 1 \
		"^esfm: domain 'instance-1': cannot run $work/esfm-hook-handler" \
		"$(nova fpga.small)" "$work/esfm-hook" instance-1 prepare begin -
else
	t_fail "the hook front builds dynamically for valgrind" "$(cat "$work/cc.err")"
fi
vgrun "esfm-hook-worker (no such domain)" 1 '^$' "" "$rel/esfm-hook-worker" --conf-dir "$work/conf" 11111111-2222-3333-4444-555555555555
t_like "... logs why it gave up" "$(cat "$work/hook.log")" "attach worker for 11111111-2222-3333-4444-555555555555: "
vgrun "esfm status" 0 "pool fpga0 +PF 0000:83:00\.0" "" "$rel/esfm" status
vgrun "esfm status --json" 0 '"pool": *"fpga0"' "" "$rel/esfm" status --json
vgrun "esfm pool-check" 0 "^configuration OK \(1 pool\)$" "" "$rel/esfm" pool-check
vgrun "esfm pool-show" 0 "^file +$work/conf/pools\.d/fpga0\.xml" "" "$rel/esfm" pool-show fpga0
vgrun "esfm list_vfs" 0 "^VF +ADDRESS" "" "$rel/esfm" 0000:83:00.0 list_vfs
vgrun "esfm list_vf_vm (test driver)" 0 "^VF +ADDRESS +VM +LIVE" "" "$rel/esfm" 0000:83:00.0 list_vf_vm
vgrun "esfm reconf 3 (test driver)" 0 "ok +[0-9]+ ms +set sriov_numvfs to 3" "" "$rel/esfm" 0000:83:00.0 reconf 3 -y -vm nosuch
t_is "... the PF has 3 VFs" "$(cat "$work/sys/bus/pci/devices/0000:83:00.0/sriov_numvfs")" 3
vgrun "esfm init 2 (test driver)" 0 "ok +[0-9]+ ms +set sriov_numvfs to 2" "" "$rel/esfm" 0000:83:00.0 init 2 -y -vm nosuch
t_is "... the PF has 2 VFs" "$(cat "$work/sys/bus/pci/devices/0000:83:00.0/sriov_numvfs")" 2
vgrun "esfm usage error" 2 "^esfm: unknown command 'bogus'; Try 'esfm --help'" "" "$rel/esfm" 0000:83:00.0 bogus
t_done
