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

# cmocka's exit code is the number of failed tests; valgrind's own is 99.
for t in "$rel"/tests/unit/test_*; do
	name=$(basename "$t")
	case $name in test_pause) continue ;; esac # needs FUSE and the test driver: covered below
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "${vg[@]}" "$t" 2>&1)
	rc=$?
	if [ "$rc" = 99 ]; then
		t_fail "$name is valgrind-clean" "$(printf '%s\n' "$out" | grep '^==' | head -30)"
	else
		t_pass "$name is valgrind-clean"
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
<pool type='sriov'><name>fpga0</name><source><pf address='0000:83:00.0'/></source><vfs count='4' driver='vfio-pci'/><qdma qmax='16'/></pool>
POOL
export ESFM_CONF_DIR=$work/conf
dom='<domain><name>vm1</name><uuid>11111111-2222-3333-4444-555555555555</uuid><metadata><esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0" count="2"/></metadata><devices/></domain>'

vgrun() { # what, stdin text, command...
	local what=$1 input=$2 out rc
	shift 2
	out=$(printf '%s' "$input" | "${vg[@]}" "$@" 2>&1)
	rc=$?
	if [ "$rc" = 99 ]; then
		t_fail "$what: valgrind-clean" "$(printf '%s\n' "$out" | grep '^==' | head -30)"
	else
		t_pass "$what: valgrind-clean (exit $rc)"
	fi
}
vgrun "esfm-hook-handler prepare" "$dom" "$rel/esfm-hook-handler" vm1 prepare begin -
vgrun "esfm-hook-handler reconnect" "$dom" "$rel/esfm-hook-handler" vm1 reconnect begin -
vgrun "esfm-hook-handler release" "$dom" "$rel/esfm-hook-handler" vm1 release end -
vgrun "esfm-hook-handler prepare, malformed XML" "<domain>" "$rel/esfm-hook-handler" vm1 prepare begin -
# The front is linked statically, where memcheck cannot follow malloc; check the same
# source linked dynamically.
if cc -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -DESFM_VERSION='"vg"' \
	-o "$work/esfm-hook" "$top/hooks/esfm-hook.c" 2>"$work/cc.err"; then
	vgrun "esfm-hook (front), unannotated" "<domain><name>x</name></domain>" "$work/esfm-hook" x prepare begin -
	big=$(head -c 17000000 /dev/zero | tr '\0' 'x')
	vgrun "esfm-hook (front), oversized unannotated input" "$big" "$work/esfm-hook" x prepare begin -
else
	t_fail "the hook front builds dynamically for valgrind" "$(cat "$work/cc.err")"
fi
vgrun "esfm-hook-worker (no such domain)" "" "$rel/esfm-hook-worker" --conf-dir "$work/conf" 11111111-2222-3333-4444-555555555555
vgrun "esfm status" "" "$rel/esfm" status
vgrun "esfm status --json" "" "$rel/esfm" status --json
vgrun "esfm pool-check" "" "$rel/esfm" pool-check
vgrun "esfm pool-show" "" "$rel/esfm" pool-show fpga0
vgrun "esfm list_vfs" "" "$rel/esfm" 0000:83:00.0 list_vfs
vgrun "esfm list_vf_vm (test driver)" "" "$rel/esfm" 0000:83:00.0 list_vf_vm
vgrun "esfm reconf 3 (test driver)" "" "$rel/esfm" 0000:83:00.0 reconf 3 -y -vm nosuch
vgrun "esfm init 2 (test driver)" "" "$rel/esfm" 0000:83:00.0 init 2 -y -vm nosuch
vgrun "esfm usage error" "" "$rel/esfm" 0000:83:00.0 bogus
t_done
