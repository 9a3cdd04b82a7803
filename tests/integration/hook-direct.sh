#!/usr/bin/env bash
# esfm-hook run directly, exactly as libvirtd runs a qemu hook (argv <domain> <op> <subop>
# <extra>, the domain XML on stdin, a bare environment, cwd /), against the FUSE sysfs
# simulator (tests/sim) with the topology hook-fixtures/hook.topo:
#   - an unannotated domain is none of esfm's business: every op exits 0 silently and
#     touches nothing (no state dir, no log, no sysfs write);
#   - prepare reserves (creating the pool's VFs with autoprobe off, binding vfio-pci),
#     is idempotent, sticky (same domain, same VF), race-free under 64 parallel starts, all
#     or nothing across pools; every refusal is exit 1 with one `esfm: ` line on stderr
#     and leaves the state as it was;
#   - release frees, idempotently; reconnect never fails and adopts the VFs of the pool that
#     the live XML holds (by source address), leaving a VF recorded for another domain alone;
#   - static mode reserves exactly the domain's own VF hostdevs;
#   - sysfs faults and delays, and a pool lock held from outside, fail prepare cleanly
#     and in bounded time;
#   - started (hotplug) returns at once and its detached worker frees the VF when the
#     attach fails (libvirt's test driver cannot attach).
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ESFM_BUILD:-$top/build/check}
fix=$top/tests/integration/hook-fixtures
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/sim.sh"
. "$top/tests/lib/conf.sh"

missing=
[ "$(id -u)" = 0 ] || missing="$missing root"
[ -c /dev/fuse ] || missing="$missing /dev/fuse"
for c in fusermount3 flock xmllint sha256sum timeout; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
for f in esfm-hook esfm-hook-worker tests/sim/esfm-sysfs-sim; do
	[ -x "$build/$f" ] || missing="$missing $build/$f"
done
for f in "$top/tests/sim/sim-start" "$top/tests/sim/sim-stop"; do
	[ -x "$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	t_fail "prerequisites of the hook tests" "missing:$missing" "(build with: make SANITIZE=1 tests)"
	t_done
	exit 1
fi

now_ms() { printf '%s' $((${EPOCHREALTIME/[.,]/} / 1000)); }
note() { echo "# $*"; }
t_start=$(now_ms)

work=$(mktemp -d /tmp/esfm-hookd.XXXXXX)
chmod 0755 "$work"
mnt=$work/sys
conf=$work/conf
state=$work/state
log=$work/hook.log
sim_pid=
bg_pids=()

cleanup() {
	local p
	for p in "${bg_pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SIM_PID=$sim_pid SIM_MNT=$mnt
	sim_finish "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ESFM_BUILD=$build ESFM_SIM_LOG=$work/sim.log sim_up "$fix/hook.topo" "$mnt"
sim_pid=$SIM_PID
t_like "sysfs simulator runs (pid $sim_pid)" "$sim_pid" '^[0-9]+$'
sysd=$mnt/bus/pci/devices
pf=0000:83:00.0

# --- configuration ------------------------------------------------------------------------
mkdir -p "$conf/pools.d"
for p in fpga0 fpga.1 nic0 nodrv ghost plain broken badschema misnamed; do
	cp "$fix/pools.d/$p.xml" "$conf/pools.d/"
done
# write_conf [KEY=VALUE...]: esfm.conf with the test's paths, and overrides.
write_conf() {
	{
		echo "# written by hook-direct.sh"
		echo "sysfs_root = $mnt"
		echo "state_dir = $state"
		echo "template_dir = $top/xml-templates"
		echo "log_file = $log"
		echo "log_level = info"
		echo "libvirt_uri = test://$work/node.xml"
		echo "attach_timeout_ms = 20000"
		# 64 parallel prepares queue on one pool lock: on a loaded machine the last of them
		# can wait longer than the default 10 s (sections 8 and 9 set 500 ms themselves)
		echo "lock_timeout_ms = 60000"
	} >"$conf/esfm.conf"
	conf_set "$conf/esfm.conf" "$@"
}
write_conf

# --- running the hook like libvirtd ----------------------------------------------------------
# libvirtd gives hooks only LC_ALL, PATH and HOME, cwd /. The sanitizer settings of the test
# runner pass through so that a sanitizer report fails the test.
hook_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root)
[ -z "${ASAN_OPTIONS:-}" ] || hook_env+=("ASAN_OPTIONS=$ASAN_OPTIONS")
[ -z "${UBSAN_OPTIONS:-}" ] || hook_env+=("UBSAN_OPTIONS=$UBSAN_OPTIONS")

# hook_cd CONFDIR DOMAIN OP SUBOP INPUT: run the hook ($hook_exe if set); sets h_rc, h_out,
# h_err, h_ms.
hook_cd() {
	local c=$1 t0
	shift
	t0=$(now_ms)
	# a hook that blocks (it must never) is killed after 30 s instead of hanging the test
	(cd / && exec timeout -s KILL 30 "${hook_env[@]}" ESFM_CONF_DIR="$c" "${hook_exe:-$build/esfm-hook}" \
		"$1" "$2" "$3" - <"$4" >"$work/h.out" 2>"$work/h.err" 9>&-)
	h_rc=$?
	h_ms=$(($(now_ms) - t0))
	h_out=$(cat "$work/h.out")
	h_err=$(cat "$work/h.err")
}
hook() { hook_cd "$conf" "$@"; }

# t_refused WHAT REGEX: the last hook call exited 1 with exactly one stderr line, matching.
t_refused() {
	local lines
	lines=$(printf '%s\n' "$h_err" | grep -c '')
	if [ "$h_rc" = 1 ] && [ -z "$h_out" ] && [ "$lines" = 1 ] && [ -n "$h_err" ] &&
		printf '%s' "$h_err" | grep -qE -- "$2"; then
		t_pass "$1"
	else
		t_fail "$1" "exit: $h_rc (want 1), stdout: '$h_out'" "stderr ($lines lines): $h_err" \
			"expected one line matching: $2"
	fi
}
# t_silent WHAT: the last hook call exited 0 and printed nothing.
t_silent() { t_is "$1" "rc=$h_rc out='$h_out' err='$h_err'" "rc=0 out='' err=''"; }

# --- domain XML ------------------------------------------------------------------------------
uuid_of() { printf '00000000-0000-4000-8000-%012d' "$1"; }
# annot POOL [COUNT] [MODE]
annot() {
	printf '<esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="%s"%s%s/>' "$1" \
		"${2:+ count=\"$2\"}" "${3:+ mode=\"$3\"}"
}
# hostdev BDF [ALIAS]: a PCI hostdev as libvirt shows it
hostdev() {
	local b=$1
	printf "    <hostdev mode='subsystem' type='pci' managed='no'>\n"
	printf "      <source><address domain='0x%s' bus='0x%s' slot='0x%s' function='0x%s'/></source>\n" \
		"${b:0:4}" "${b:5:2}" "${b:8:2}" "${b:11:1}"
	[ -z "${2:-}" ] || printf "      <alias name='%s'/>\n" "$2"
	printf "    </hostdev>\n"
}
# domxml NAME UUID [METADATA] [HOSTDEVS]
domxml() {
	local t
	t=$(cat "$fix/domain.xml")
	t="<domain${t#*<domain}"
	t=${t//@NAME@/$1}
	t=${t//@UUID@/$2}
	t=${t//@METADATA@/${3:-}}
	t=${t//@HOSTDEVS@/${4:-}}
	printf '%s\n' "$t"
}
# mkdom FILE NAME UUID [METADATA] [HOSTDEVS]
mkdom() {
	local f=$work/$1
	shift
	domxml "$@" >"$f"
}

# --- state and sysfs -----------------------------------------------------------------------
stf() { printf '%s' "$state/$1.state"; }
xq() { xmllint --xpath "$2" "$(stf "$1")" 2>/dev/null; }
vf_attr() { xq "$1" "string(/esfm-state/vf[@index='$2']/@$3)"; }
n_in() { xq "$1" "count(/esfm-state/vf[@state='$2'])"; }
n_vfs() { xq "$1" "count(/esfm-state/vf)"; }
# used POOL: "index:state:name" of every VF that is not free, space separated
used() {
	[ -e "$(stf "$1")" ] || return 0
	awk 'function a(k) { return match($0, " " k "=\"[^\"]*\"") ? substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 4) : "" }
		/<vf / && a("state") != "free" { printf "%s%s:%s:%s", sep, a("index"), a("state"), a("name"); sep = " " }' "$(stf "$1")"
}
# st_sum: checksum of every state file (names and contents); lock files do not count
st_sum() { (cd "$state" 2>/dev/null && ls -- *.state 2>/dev/null && cat -- *.state 2>/dev/null) | sha256sum; }
attr() { cat "$sysd/$1/$2" 2>/dev/null; }
drv() { local l; l=$(readlink "$sysd/$1/driver" 2>/dev/null) && printf '%s' "${l##*/}"; }
numvfs() { attr "$1" sriov_numvfs; }
loglines() { grep -c -- "$1" "$log" 2>/dev/null; }
ms_since() { printf '%s' $(($(now_ms) - $1)); }
# t_logged WHAT REGEX: the hook log has a line matching REGEX (grep -E)
t_logged() {
	if grep -qE -- "$2" "$log" 2>/dev/null; then
		t_pass "$1"
	else
		t_fail "$1" "no line of $log matches: $2" "last lines:" "$(tail -n 8 "$log" 2>/dev/null)"
	fi
}

A=$(uuid_of 1) B=$(uuid_of 2)

# === 1. unannotated domains =================================================================
mkdom plain.xml vm-plain "$(uuid_of 9)" "" "$(hostdev 0000:83:00.4)"
ops="prepare:begin start:begin started:begin stopped:end release:end reconnect:begin migrate:begin restore:begin"
for o in $ops; do
	hook vm-plain "${o%%:*}" "${o#*:}" "$work/plain.xml"
	t_silent "unannotated domain: ${o%%:*} ${o#*:} exits 0 silently"
done
printf '<domain><name>x' >"$work/plain-broken.xml"
hook vm-x prepare begin "$work/plain-broken.xml"
t_silent "unannotated, not even well-formed XML: prepare exits 0 (no parse without the URN)"
: >"$work/empty.xml"
hook vm-x prepare begin "$work/empty.xml"
t_silent "empty stdin: prepare exits 0"
# no configuration is read for such a domain: a broken esfm.conf does not matter
mkdir -p "$work/conf-bad"
echo "bogus_key = 1" >"$work/conf-bad/esfm.conf"
hook_cd "$work/conf-bad" vm-plain prepare begin "$work/plain.xml"
t_silent "unannotated domain with a broken esfm.conf: prepare exits 0 (conf not read)"
t_ok "no state directory was created" test ! -e "$state"
t_ok "no log file was written" test ! -e "$log"
t_is "no sysfs attribute was written" "$(sim_log)" ""
mkdom urn-only.xml vm-urn "$(uuid_of 8)"
sed -i 's|<description>.*</description>|<description>mentions urn:esfm:vf:1 but has no annotation</description>|' "$work/urn-only.xml"
hook vm-urn prepare begin "$work/urn-only.xml"
t_silent "a domain that only mentions the URN: prepare exits 0"
t_ok "... and creates no state directory" test ! -e "$state"
t_is "... and writes no sysfs attribute" "$(sim_log)" ""
# libvirt accepts domain XML up to its 32 MiB RPC limit; the hook reads at most 16 MiB
{
	printf "<domain type='kvm'>\n  <name>vm-big</name>\n  <uuid>%s</uuid>\n  <description>" "$(uuid_of 7)"
	head -c $((17 << 20)) /dev/zero | tr '\0' x
	printf '</description>\n</domain>\n'
} >"$work/big.xml"
hook vm-big prepare begin "$work/big.xml"
t_silent "unannotated domain with a 17 MiB XML: prepare exits 0 silently"
rm -f "$work/big.xml"

# === 2. prepare, idempotence, release ========================================================
t_is "before: the PF has no VFs" "$(numvfs $pf)" 0
mkdom a.xml vm-a "$A" "$(annot fpga0 1)"
hook vm-a prepare begin "$work/a.xml"
t_silent "prepare of an annotated domain exits 0 silently (${h_ms} ms)"
t_is "the pool's 8 VFs were created" "$(numvfs $pf)" 8
t_is "with sriov_drivers_autoprobe 0" "$(attr $pf sriov_drivers_autoprobe)" 0
t_is "the QDMA PF got the default 32 queues" "$(attr $pf qdma/qmax)" 32
writes=$(sim_log)
t_like "qmax was set before the VFs were created" \
	"$(grep -nE 'qdma/qmax 32|sriov_numvfs 8' <<<"$writes" | cut -d: -f2- | tr '\n' '|')" \
	'qdma/qmax 32\|.*sriov_numvfs 8\|$'
t_like "autoprobe was switched off before the VFs were created" \
	"$(grep -nE 'sriov_drivers_autoprobe 0|sriov_numvfs 8' <<<"$writes" | cut -d: -f2- | tr '\n' '|')" \
	'sriov_drivers_autoprobe 0\|.*sriov_numvfs 8\|$'
t_is "VF 0 (0000:83:00.4) is bound to vfio-pci" "$(drv 0000:83:00.4)" vfio-pci
t_is "through driver_override" "$(attr 0000:83:00.4 driver_override)" vfio-pci
t_like "and drivers_probe" "$writes" 'drivers_probe 0000:83:00\.4'
t_is "the other VFs stay unbound (autoprobe off)" "$(drv 0000:83:00.5)$(drv 0000:83:01.3)" ""
t_is "state file: pool and PF" "$(xq fpga0 'string(/esfm-state/@pool)') $(xq fpga0 'string(/esfm-state/@pf)')" \
	"fpga0 0000:83:00.0"
t_is "state file: 8 VFs, 1 reserved, 7 free" "$(n_vfs fpga0) $(n_in fpga0 reserved) $(n_in fpga0 free)" "8 1 7"
t_is "VF 0 reserved for vm-a with its uuid, alias and origin" \
	"$(vf_attr fpga0 0 state) $(vf_attr fpga0 0 uuid) $(vf_attr fpga0 0 name) $(vf_attr fpga0 0 alias) $(vf_attr fpga0 0 origin)" \
	"reserved $A vm-a ua-esfm-fpga0-0 hook"
t_is "VF addresses follow offset 4 (VF 0, 3, 4, 7)" \
	"$(vf_attr fpga0 0 address) $(vf_attr fpga0 3 address) $(vf_attr fpga0 4 address) $(vf_attr fpga0 7 address)" \
	"0000:83:00.4 0000:83:00.7 0000:83:01.0 0000:83:01.3"
t_is "state dir 0700, state and lock files 0600" \
	"$(stat -c %a "$state") $(stat -c %a "$(stf fpga0)") $(stat -c %a "$state/fpga0.lock")" "700 600 600"
t_logged "the reservation is logged to log_file" \
	"pool 'fpga0': VF 0 \(0000:83:00\.4\) reserved for domain 'vm-a' \($A\)"

sim_ctl log clear
sum=$(st_sum)
hook vm-a prepare begin "$work/a.xml"
t_silent "prepare again (idempotent) exits 0"
t_is "still exactly VF 0 for vm-a" "$(used fpga0)" "0:reserved:vm-a"
t_is "no VF was re-created or re-bound" "$(sim_log | grep -cE 'sriov_numvfs|driver_override|drivers_probe')" 0

for o in start:begin stopped:end migrate:begin restore:begin; do
	sum=$(st_sum)
	hook vm-a "${o%%:*}" "${o#*:}" "$work/a.xml"
	t_silent "annotated domain: ${o%%:*} ${o#*:} exits 0 silently (no XML printed)"
	t_is "... and leaves the state alone" "$(st_sum)" "$sum"
done

hook vm-a release end "$work/a.xml"
t_silent "release exits 0"
t_is "VF 0 is free again" "$(used fpga0)" ""
t_is "it remembers its last owner" "$(vf_attr fpga0 0 last-uuid) [$(vf_attr fpga0 0 uuid)]" "$A []"
t_logged "the release is logged" "VF 0 \(0000:83:00\.4\) released by domain 'vm-a'"
sum=$(st_sum)
hook vm-a release end "$work/a.xml"
t_silent "release again exits 0 (idempotent)"
t_is "... and changes nothing" "$(st_sum)" "$sum"

# release gives back what the hook lent, not a VF the operator assigned with the CLI
hook vm-a prepare begin "$work/a.xml"
sed -i "/<vf index=\"5\"/s|state=\"free\"|state=\"attached\" origin=\"cli\" uuid=\"$A\" name=\"vm-a\" alias=\"ua-esfm-fpga0-5\"|" "$(stf fpga0)"
t_is "setup: vm-a holds VF 0 (hook) and VF 5 (assigned by the CLI)" "$(used fpga0) $(vf_attr fpga0 5 origin)" \
	"0:reserved:vm-a 5:attached:vm-a cli"
hook vm-a release end "$work/a.xml"
t_silent "release of a domain holding a CLI-assigned VF exits 0"
t_is "... frees the hook's VF 0 only" "$(used fpga0)" "5:attached:vm-a"
sed -i "/<vf index=\"5\"/s|state=\"attached\" origin=\"cli\" uuid=\"$A\" name=\"vm-a\" alias=\"ua-esfm-fpga0-5\"|state=\"free\"|" "$(stf fpga0)"
t_is "setup: VF 5 free again" "$(used fpga0)" ""

# the same domain gets the same VF back, even when others start first
mkdom b.xml vm-b "$B" "$(annot fpga0)"
hook vm-a prepare begin "$work/a.xml"
hook vm-b prepare begin "$work/b.xml"
t_is "vm-a gets VF 0, vm-b VF 1" "$(used fpga0)" "0:reserved:vm-a 1:reserved:vm-b"
hook vm-a release end "$work/a.xml"
hook vm-b release end "$work/b.xml"
hook vm-b prepare begin "$work/b.xml"
t_is "restarted first, vm-b gets its VF 1 back (not the first free one)" "$(used fpga0)" "1:reserved:vm-b"
hook vm-a prepare begin "$work/a.xml"
t_is "and vm-a its VF 0" "$(used fpga0)" "0:reserved:vm-a 1:reserved:vm-b"
hook vm-a release end "$work/a.xml"
hook vm-b release end "$work/b.xml"
t_is "both released" "$(used fpga0)" ""

# === 3. 64 parallel prepares on an 8-VF pool =================================================
par=$work/par
mkdir -p "$par"
: >"$log"
names=()
for i in $(seq 0 63); do
	n=$(printf 'par-%02d' "$i")
	names+=("$n")
	domxml "$n" "$(uuid_of $((100 + i)))" "$(annot fpga0 1)" >"$par/$n.xml"
done
# run_parallel OP SUBOP: every par-NN domain at once (they wait for a common go signal)
run_parallel() {
	local n pids=()
	rm -f "$par/go" "$par"/*.rc
	for n in "${names[@]}"; do
		(
			while [ ! -e "$par/go" ]; do sleep 0.01; done
			cd / && "${hook_env[@]}" ESFM_CONF_DIR="$conf" "$build/esfm-hook" "$n" "$1" "$2" - \
				<"$par/$n.xml" >"$par/$n.out" 2>"$par/$n.err"
			echo $? >"$par/$n.rc"
		) &
		pids+=($!)
	done
	touch "$par/go"
	wait "${pids[@]}"
}
t0=$(now_ms)
run_parallel prepare begin
par_ms=$(ms_since "$t0")
ok=() refused=() other=()
for n in "${names[@]}"; do
	case $(cat "$par/$n.rc" 2>/dev/null) in
	0) ok+=("$n") ;;
	1) refused+=("$n") ;;
	*) other+=("$n:$(cat "$par/$n.rc" 2>/dev/null)") ;;
	esac
done
note "64 parallel prepares: $par_ms ms"
t_is "64 parallel prepares: exactly 8 succeed" "${#ok[@]}" 8
t_is "56 are refused with exit 1" "${#refused[@]}" 56
t_is "no other exit status" "${other[*]:-}" ""
bad=
for n in "${ok[@]}"; do
	[ -s "$par/$n.out" ] || [ -s "$par/$n.err" ] && bad="$bad $n"
done
t_is "the successful ones print nothing" "$bad" ""
re="^esfm: pool 'fpga0' has no free VF \(8 of 8 in use: par-[0-9]{2}(, par-[0-9]{2}){7}\); stop one of them or grow the pool$"
bad=
for n in "${refused[@]}"; do
	if [ "$(grep -c '' "$par/$n.err")" != 1 ] || ! grep -qE "$re" "$par/$n.err" || [ -s "$par/$n.out" ]; then
		bad="$bad $n"
	fi
done
if [ -z "$bad" ]; then
	t_pass "every refusal is one line: esfm: pool 'fpga0' has no free VF (8 of 8 in use: ...)"
else
	first_bad=${bad# }
	first_bad=${first_bad%% *}
	t_fail "every refusal is one line: esfm: pool 'fpga0' has no free VF (8 of 8 in use: ...)" \
		"not so:$bad" "$first_bad: $(cat "$par/$first_bad.err")" "expected: $re"
fi
t_is "state: 8 reserved" "$(n_in fpga0 reserved) of $(n_vfs fpga0)" "8 of 8"
t_is "the owners in the state are exactly the 8 that succeeded" \
	"$(used fpga0 | tr ' ' '\n' | cut -d: -f3 | sort | tr '\n' ' ')" "$(printf '%s ' "${ok[@]}" | tr ' ' '\n' | sort | grep . | tr '\n' ' ')"
t_is "8 reservations logged, no VF given twice" \
	"$(grep -oE "VF [0-9]+ \(0000:83:[0-9a-f:.]+\) reserved for domain 'par-" "$log" | sort | uniq | wc -l) $(grep -c "reserved for domain 'par-" "$log")" "8 8"
t_is "the owners' uuids are distinct" "$(for i in 0 1 2 3 4 5 6 7; do vf_attr fpga0 $i uuid; echo; done | sort -u | grep -c .)" 8
bound=0
for b in 0000:83:00.4 0000:83:00.5 0000:83:00.6 0000:83:00.7 0000:83:01.0 0000:83:01.1 0000:83:01.2 0000:83:01.3; do
	[ "$(drv $b)" = vfio-pci ] && bound=$((bound + 1))
done
t_is "all 8 VFs are bound to vfio-pci" "$bound" 8
t_is "no 9th VF was created" "$(numvfs $pf)" 8

t0=$(now_ms)
run_parallel release end
note "64 parallel releases: $(ms_since "$t0") ms"
bad=
for n in "${names[@]}"; do
	[ "$(cat "$par/$n.rc")" = 0 ] && [ ! -s "$par/$n.err" ] && [ ! -s "$par/$n.out" ] || bad="$bad $n"
done
t_is "64 parallel releases (8 holders, 56 refused starts) exit 0 silently" "$bad" ""
t_is "all 8 VFs are free" "$(n_in fpga0 free) $(used fpga0)" "8 "
t_is "8 releases logged" "$(grep -c "released by domain 'par-" "$log")" 8

# === 4. refusals ==============================================================================
hook vm-a prepare begin "$work/a.xml"
t_is "setup: vm-a holds VF 0" "$(used fpga0)" "0:reserved:vm-a"
# refuse NAME REGEX METADATA [HOSTDEVS]: prepare of a domain annotated so is refused and
# changes no state file
n_ref=0
refuse() {
	local what=$1 re=$2 f
	n_ref=$((n_ref + 1))
	f=ref-$n_ref.xml
	mkdom "$f" "vm-ref$n_ref" "$(uuid_of $((200 + n_ref)))" "$3" "${4:-}"
	refuse_file "$what" "$re" "$work/$f" "vm-ref$n_ref"
}
# refuse_file NAME REGEX FILE [DOMNAME] [CONFDIR]
refuse_file() {
	local sum0
	sum0=$(st_sum)
	hook_cd "${5:-$conf}" "${4:-vm-x}" prepare begin "$3"
	t_refused "refused: $1" "$2"
	t_is "... state files unchanged" "$(st_sum)" "$sum0"
}
# refuse_rolled_back NAME REGEX FILE DOMNAME: a refusal after an earlier pool was reserved
# and given back (the state files are rewritten, so only what is held is compared)
refuse_rolled_back() {
	local held0
	held0="$(used fpga0) | $(used nic0)"
	hook "$4" prepare begin "$3"
	t_refused "refused: $1" "$2"
	t_is "... all or nothing: what is held is as before" "$(used fpga0) | $(used nic0)" "$held0"
}
refuse "unknown pool" "^esfm: pool 'nosuch' is not defined; create .*/pools.d/nosuch.xml" "$(annot nosuch)"
refuse "pool name with a path trick ../etc" "^esfm: domain 'vm-ref[0-9]+': annotation names an invalid pool '\.\./etc'; " \
	"$(annot ../etc)"
refuse "pool name fpga0/../fpga0" "annotation names an invalid pool 'fpga0/\.\./fpga0'" "$(annot fpga0/../fpga0)"
refuse "pool name .." "annotation names an invalid pool '\.\.'" "$(annot ..)"
refuse "pool name with a space" "annotation names an invalid pool 'fpga 0'" "$(annot 'fpga 0')"
refuse "pool name of 65 characters" "annotation names an invalid pool 'p{65}'" "$(annot "$(printf 'p%.0s' $(seq 65))")"
refuse "empty pool attribute" "^esfm: domain 'vm-ref[0-9]+': annotation names no pool" "$(annot '')"
refuse "count 0" "^esfm: domain 'vm-ref[0-9]+': annotation: invalid count '0' for pool 'fpga0' \(1 to 64\)$" "$(annot fpga0 0)"
refuse "count not a number" "invalid count 'two' for pool 'fpga0'" "$(annot fpga0 two)"
refuse "count -1" "invalid count '-1' for pool 'fpga0'" "$(annot fpga0 -1)"
refuse "count 65 (above the per-VM maximum)" "invalid count '65' for pool 'fpga0'" "$(annot fpga0 65)"
refuse "unknown mode" "^esfm: domain 'vm-ref[0-9]+': annotation: invalid mode 'cold' \(use hotplug or static\)$" \
	"$(annot fpga0 1 cold)"
refuse "both annotation forms at once" "both a pool attribute and <pool> children" \
	'<esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0"><esfm:pool name="nic0"/></esfm:vf>'
refuse "the same pool twice" "annotation names pool 'fpga0' twice" \
	'<esfm:vf xmlns:esfm="urn:esfm:vf:1"><esfm:pool name="fpga0"/><esfm:pool name="fpga0"/></esfm:vf>'
refuse "more than 8 pools" "annotation names more than 8 pools" \
	"<esfm:vf xmlns:esfm=\"urn:esfm:vf:1\">$(for i in 1 2 3 4 5 6 7 8 9; do printf '<esfm:pool name="p%s"/>' $i; done)</esfm:vf>"
refuse "two esfm elements in <metadata>" "more than one esfm annotation in <metadata>" \
	"$(annot fpga0)$(annot nic0)"
refuse "wrong annotation element" "annotation element is <vm>, expected <vf>" \
	'<esfm:vm xmlns:esfm="urn:esfm:vf:1" pool="fpga0"/>'
refuse "count above the free VFs (8 requested, 7 free)" \
	"^esfm: pool 'fpga0' has only 7 free VFs, 8 requested \(1 of 8 in use: vm-a\); stop one of them or grow the pool$" \
	"$(annot fpga0 8)"
refuse "PF not on the bus" "^esfm: pool 'ghost': PCI device 0000:99:00\.0 not found in $mnt/bus/pci/devices" \
	"$(annot ghost)"
refuse "PF not SR-IOV capable" "^esfm: pool 'plain': PCI device 0000:00:1f\.0 is not an SR-IOV physical function" \
	"$(annot plain)"
refuse "PF without a driver (sriov_numvfs ENOENT)" \
	"^esfm: pool 'nodrv': PF 0000:84:00\.0: .*No such file or directory; the PF has no driver" "$(annot nodrv)"
t_is "... nothing created on that PF" "$(numvfs 0000:84:00.0)" 0
refuse "malformed pool file" "^esfm: $conf/pools.d/broken\.xml:[0-9]+: malformed XML" "$(annot broken)"
refuse "pool file violating the schema" "^esfm: $conf/pools.d/badschema\.xml:" "$(annot badschema)"
refuse "pool file whose name differs from its file" \
	"^esfm: $conf/pools.d/misnamed\.xml: pool name 'other' differs from the file name" "$(annot misnamed)"
# the domain XML itself
printf '<domain>\n  <name>vm-trunc</name>\n  <metadata><esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0"/>\n' \
	>"$work/trunc.xml"
refuse_file "truncated domain XML" "^esfm: domain XML:[0-9]+: malformed XML" "$work/trunc.xml" vm-trunc
head -c 300 "$work/a.xml" >"$work/cut.xml"
printf 'urn:esfm:vf:1' >>"$work/cut.xml"
refuse_file "domain XML cut short" "^esfm: domain XML:[0-9]+: malformed XML" "$work/cut.xml" vm-a
# reproducible binary garbage (no NUL bytes) with the URN in the middle
LC_ALL=C awk 'BEGIN { srand(42); for (i = 0; i < 4000; i++) { printf "%c", 1 + int(rand() * 255); if (i == 2000) printf " urn:esfm:vf:1 " } }' \
	>"$work/garbage.bin"
refuse_file "binary garbage naming the URN" "^esfm: domain XML" "$work/garbage.bin" vm-garbage
printf '<vm><name>x</name><esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0"/></vm>\n' >"$work/notdom.xml"
refuse_file "root element is not <domain>" "^esfm: domain XML: root element is not <domain>$" "$work/notdom.xml"
mkdom nouuid.xml vm-nouuid "not-a-uuid" "$(annot fpga0)"
refuse_file "invalid <uuid>" "^esfm: domain 'vm-nouuid': missing or invalid <uuid>$" "$work/nouuid.xml" vm-nouuid
# a damaged state file is an error, never silently reset
printf '<esfm-state pool="nic0" pf="0000:01:00.0" generation="3"><vf index="0" address="0000:01:00.1" state="reserved"' \
	>"$(stf nic0)"
chmod 0600 "$(stf nic0)"
refuse "damaged state file" "^esfm: $state/nic0\.state:[0-9]+: malformed XML.*; the file is damaged" "$(annot nic0)"
printf '<esfm-state pool="nic0" pf="0000:01:00.0" generation="3"><vf index="0" address="0000:01:00.1" state="reserved"/></esfm-state>\n' \
	>"$(stf nic0)"
refuse "state file with an ownerless reservation" "nic0\.state:[0-9]+: vf 0 is reserved but has no owner" "$(annot nic0)"
rm -f "$(stf nic0)"
# configuration problems
mkdom c.xml vm-c "$(uuid_of 300)" "$(annot fpga0)"
refuse_file "esfm.conf with an unknown setting" "^esfm: $work/conf-bad/esfm\.conf:1: unknown setting 'bogus_key'$" \
	"$work/c.xml" vm-c "$work/conf-bad"
mkdir -p "$work/conf-link" "$work/state-target"
ln -s "$work/state-target" "$work/state-link"
sed "s|^state_dir = .*|state_dir = $work/state-link|" "$conf/esfm.conf" >"$work/conf-link/esfm.conf"
cp -r "$conf/pools.d" "$work/conf-link/"
refuse_file "state_dir that is a symlink" "^esfm: state directory $work/state-link is not a directory" \
	"$work/c.xml" vm-c "$work/conf-link"
t_is "... nothing written through the symlink" "$(ls -A "$work/state-target")" ""
t_is "after all refusals only vm-a's VF 0 is held" "$(used fpga0) | $(used nic0)" "0:reserved:vm-a | "

# the stop after a refused start fires release: harmless for a domain that holds nothing
sum=$(st_sum)
for f in ref-1 ref-2 ref-18; do
	hook "vm-$f" release end "$work/$f.xml"
	if [ "$h_rc" != 0 ] || [ -n "$h_err$h_out" ]; then break; fi
done
t_silent "release after a refused start exits 0 silently"
t_is "... and frees nothing of vm-a" "$(st_sum)" "$sum"

# === 5. reconnect never fails ================================================================
sum=$(st_sum)
recon_inputs="garbage.bin empty.xml trunc.xml cut.xml notdom.xml nouuid.xml ref-1.xml ref-2.xml ref-8.xml ref-20.xml"
for f in $recon_inputs; do
	hook vm-x reconnect begin "$work/$f"
	t_silent "reconnect with ${f%.*} input exits 0 silently"
done
hook_cd "$work/conf-bad" vm-a reconnect begin "$work/a.xml"
t_silent "reconnect with a broken esfm.conf exits 0 silently"
hook_cd "$work/conf-bad" vm-a release end "$work/a.xml"
t_silent "release with a broken esfm.conf exits 0 silently"
t_is "none of them changed the state" "$(st_sum)" "$sum"

R=$(uuid_of 400)
mkdom r.xml vm-r "$R" "$(annot fpga0)" \
	"$(hostdev 0000:83:00.7 ua-esfm-fpga0-3)$(hostdev 0000:01:00.1 ua-esfm-nic0-0)$(hostdev 0000:83:01.0 hostdev7)"
hook vm-r reconnect begin "$work/r.xml"
t_silent "reconnect of a domain with esfm hostdevs exits 0"
t_is "its VF 3 is adopted as attached" \
	"$(vf_attr fpga0 3 state) $(vf_attr fpga0 3 uuid) $(vf_attr fpga0 3 name) $(vf_attr fpga0 3 alias)" \
	"attached $R vm-r ua-esfm-fpga0-3"
t_is "VF 4 (alias hostdev7, but a VF of fpga0 by its source address) is recorded too; nic0 (not in its annotation) is left alone" \
	"$(used fpga0) | $(used nic0)" "0:reserved:vm-a 3:attached:vm-r 4:attached:vm-r | "
t_logged "the adoption is logged" "pool 'fpga0': VF 3 is in running domain 'vm-r' but was recorded as free: recorded as attached to it"
sum=$(st_sum)
hook vm-r reconnect begin "$work/r.xml"
t_silent "reconnect again exits 0"
t_is "... and changes nothing" "$(st_sum)" "$sum"
mkdom s2.xml vm-thief "$(uuid_of 401)" "$(annot fpga0)" "$(hostdev 0000:83:00.7 ua-esfm-fpga0-3)"
hook vm-thief reconnect begin "$work/s2.xml"
t_silent "reconnect of a second domain claiming the same VF exits 0"
t_is "... the VF stays vm-r's" "$(st_sum)" "$sum"
t_logged "... and the conflict is logged" "VF 3 is in domain 'vm-thief' but recorded for 'vm-r'; left alone"
mkdom a-live.xml vm-a "$A" "$(annot fpga0 1)" "$(hostdev 0000:83:00.4 ua-esfm-fpga0-0)"
hook vm-a reconnect begin "$work/a-live.xml"
t_silent "reconnect of vm-a with its VF 0 in the live XML exits 0"
t_is "its reservation becomes attached" "$(used fpga0)" "0:attached:vm-a 3:attached:vm-r 4:attached:vm-r"
mkdom c2.xml vm-c2 "$(uuid_of 402)" "$(annot fpga0 2)"
hook vm-c2 prepare begin "$work/c2.xml"
t_is "a new domain gets no adopted VF" "$(used fpga0)" "0:attached:vm-a 1:reserved:vm-c2 2:reserved:vm-c2 3:attached:vm-r 4:attached:vm-r"
hook vm-r release end "$work/r.xml"
hook vm-c2 release end "$work/c2.xml"
hook vm-a release end "$work/a.xml"
t_is "release frees adopted and reserved VFs alike" "$(used fpga0)" ""

# === 6. static mode ==========================================================================
S=$(uuid_of 500)
mkdom s.xml vm-s "$S" "$(annot fpga0 1 static)" "$(hostdev 0000:83:00.6)$(hostdev 0000:01:00.3)"
sim_ctl log clear
hook vm-s prepare begin "$work/s.xml"
t_silent "static mode: prepare exits 0"
t_is "exactly the domain's own VF 2 is reserved" "$(used fpga0)" "2:reserved:vm-s"
t_is "VF 2 is bound to vfio-pci" "$(drv 0000:83:00.6)" vfio-pci
hook vm-s started begin "$work/s.xml"
t_silent "static mode: started exits 0"
t_is "VF 2 is now attached" "$(used fpga0)" "2:attached:vm-s"
t_is "no attach worker was started for a static domain" "$(loglines "'vm-s' ($S): attach worker started")" 0
mkdom t.xml vm-t "$(uuid_of 501)" "$(annot fpga0 1 static)" "$(hostdev 0000:83:00.6)"
refuse_file "static: another domain naming the same VF" \
	"^esfm: pool 'fpga0': VF 2 is attached by 'vm-s'; stop 'vm-s' first or give this VM another VF$" "$work/t.xml" vm-t
mkdom u.xml vm-u "$(uuid_of 502)" "$(annot fpga0 1 static)" "$(hostdev 0000:83:01.5)"
refuse_file "static: a VF of the PF outside the pool (VF 9)" \
	"^esfm: hostdev 0000:83:01\.5 is VF 9 of PF, outside pool 'fpga0' \(VFs 0-7\)" "$work/u.xml" vm-u
mkdom v.xml vm-v "$(uuid_of 503)" "$(annot fpga0 1 static)" "$(hostdev 0000:01:00.1)"
refuse_file "static: no hostdev of the pool" \
	"^esfm: static mode, but no <hostdev> in the domain is a VF of pool 'fpga0'" "$work/v.xml" vm-v
hook vm-s prepare begin "$work/s.xml"
t_silent "static: prepare again for the owner exits 0"
t_is "... VF 2 is its again, reserved until started (a missed release leaves nothing 'attached' that is not)" \
	"$(used fpga0)" "2:reserved:vm-s"
hook vm-s started begin "$work/s.xml"
t_is "... and attached at started" "$(used fpga0)" "2:attached:vm-s"
hook vm-s release end "$work/s.xml"
t_silent "static: release exits 0"
t_is "VF 2 is free" "$(used fpga0)" ""

# === 7. several pools: all or nothing ========================================================
M=$(uuid_of 600)
multi='<esfm:vf xmlns:esfm="urn:esfm:vf:1"><esfm:pool name="fpga0" count="2"/><esfm:pool name="nic0"/></esfm:vf>'
mkdom m.xml vm-m "$M" "$multi"
hook vm-m prepare begin "$work/m.xml"
t_silent "two pools: prepare exits 0"
t_is "2 VFs of fpga0 and 1 of nic0 are reserved" "$(used fpga0) | $(used nic0)" \
	"0:reserved:vm-m 1:reserved:vm-m | 0:reserved:vm-m"
t_is "nic0's PF got its 2 VFs, its VF 0 bound to vfio-pci" "$(numvfs 0000:01:00.0) $(drv 0000:01:00.1)" "2 vfio-pci"
t_is "nic0 VF alias" "$(vf_attr nic0 0 alias)" "ua-esfm-nic0-0"
hook vm-m release end "$work/m.xml"
t_is "release frees both pools" "$(used fpga0) | $(used nic0)" " | "
mkdom n1.xml vm-n1 "$(uuid_of 601)" "$(annot nic0 2)"
hook vm-n1 prepare begin "$work/n1.xml"
t_is "vm-n1 takes all of nic0" "$(used nic0)" "0:reserved:vm-n1 1:reserved:vm-n1"
refuse_rolled_back "two pools, the second exhausted" \
	"^esfm: pool 'nic0' has no free VF \(2 of 2 in use: vm-n1, vm-n1\); stop one of them or grow the pool$" "$work/m.xml" vm-m
t_is "... fpga0's reservations were rolled back" "$(used fpga0)" ""
t_logged "... as the log says" "released by domain 'vm-m'"
multi2='<esfm:vf xmlns:esfm="urn:esfm:vf:1"><esfm:pool name="fpga0"/><esfm:pool name="nosuch"/></esfm:vf>'
mkdom m2.xml vm-m2 "$(uuid_of 602)" "$multi2"
refuse_rolled_back "two pools, the second unknown" "^esfm: pool 'nosuch' is not defined" "$work/m2.xml" vm-m2
t_is "... nothing reserved in the first" "$(used fpga0)" ""
# A failure is logged once, where it is decided (the handler), not also where it happened.
t_is "... the refusal is one line of the log" "$(loglines "domain 'vm-m2'.*pool 'nosuch' is not defined")" 1
hook vm-n1 release end "$work/n1.xml"
t_is "nic0 free again" "$(used nic0)" ""

# a '.' in a pool name is spelled '_' in the alias: libvirt allows only [A-Za-z0-9_-] there
Dt=$(uuid_of 650)
mkdom dot.xml vm-dot "$Dt" "$(annot fpga.1 2)"
hook vm-dot prepare begin "$work/dot.xml"
t_silent "pool fpga.1: prepare exits 0"
t_is "its VFs are reserved with aliases ua-esfm-fpga_1-<index>" \
	"$(used fpga.1) $(vf_attr fpga.1 0 alias) $(vf_attr fpga.1 1 alias)" \
	"0:reserved:vm-dot 1:reserved:vm-dot ua-esfm-fpga_1-0 ua-esfm-fpga_1-1"
t_is "the pool's <qdma qmax='64'/> was applied" "$(attr 0000:85:00.0 qdma/qmax)" 64
hook vm-dot release end "$work/dot.xml"
mkdom dot-live.xml vm-dot "$Dt" "$(annot fpga.1 1)" "$(hostdev 0000:85:00.5 ua-esfm-fpga_1-1)"
hook vm-dot reconnect begin "$work/dot-live.xml"
t_silent "pool fpga.1: reconnect exits 0"
t_is "the hostdev ua-esfm-fpga_1-1 is adopted as its VF 1" "$(used fpga.1)" "1:attached:vm-dot"
hook vm-dot release end "$work/dot.xml"
t_is "release frees it" "$(used fpga.1)" ""

# === 8. sysfs faults and delays ==============================================================
reset_pf() { echo 0 >"$sysd/$pf/sriov_numvfs"; }
reset_pf
t_is "setup: the PF's VFs removed from outside" "$(numvfs $pf)" 0
F=$(uuid_of 700)
mkdom f.xml vm-f "$F" "$(annot fpga0)"
t_ok "arm: sriov_numvfs fails once with EIO" sim_ctl "fail $pf sriov_numvfs EIO"
refuse_file "sriov_numvfs write fails (EIO)" \
	"^esfm: pool 'fpga0': PF 0000:83:00\.0: .*Input/output error" "$work/f.xml" vm-f
t_is "... no VF created, nothing reserved" "$(numvfs $pf) [$(used fpga0)]" "0 []"
hook vm-f prepare begin "$work/f.xml"
t_silent "the fault was one-shot: prepare again exits 0"
t_is "... and reserves" "$(numvfs $pf) $(used fpga0)" "8 0:reserved:vm-f"
hook vm-f release end "$work/f.xml"

reset_pf
t_ok "arm: VF 0's driver_override fails once with EIO" sim_ctl "fail 0000:83:00.4 driver_override EIO"
refuse_file "binding the VF fails (driver_override EIO)" \
	"^esfm: pool 'fpga0': 0000:83:00\.4: cannot bind to vfio-pci: .*Input/output error" "$work/f.xml" vm-f
t_is "... nothing reserved, VF 0 unbound" "[$(used fpga0)] [$(drv 0000:83:00.4)]" "[] []"
t_ok "arm: drivers_probe fails once with ENODEV" sim_ctl "fail - bus/pci/drivers_probe ENODEV"
refuse_file "binding the VF fails (drivers_probe ENODEV)" \
	"^esfm: pool 'fpga0': 0000:83:00\.4: cannot bind to vfio-pci: .*No such device" "$work/f.xml" vm-f
t_is "... nothing reserved" "$(used fpga0)" ""
hook vm-f prepare begin "$work/f.xml"
t_is "faults consumed: prepare reserves again" "$h_rc $(used fpga0) $(drv 0000:83:00.4)" "0 0:reserved:vm-f vfio-pci"
hook vm-f release end "$work/f.xml"

# a slow VF creation holds the pool lock; a concurrent start gives up after lock_timeout_ms
reset_pf
write_conf lock_timeout_ms=500
t_ok "arm: sriov_numvfs takes 2 s" sim_ctl "delay $pf sriov_numvfs 2000"
mkdom d1.xml vm-d1 "$(uuid_of 701)" "$(annot fpga0)"
mkdom d2.xml vm-d2 "$(uuid_of 702)" "$(annot fpga0)"
t0=$(now_ms)
(cd / && exec "${hook_env[@]}" ESFM_CONF_DIR="$conf" "$build/esfm-hook" vm-d1 prepare begin - \
	<"$work/d1.xml" >"$work/d1.out" 2>"$work/d1.err") &
d1_pid=$!
bg_pids+=("$d1_pid")
for _ in $(seq 100); do
	grep -q "esfm-hook prepare 'vm-d1'" "$state/fpga0.lock" 2>/dev/null && break
	sleep 0.02
done
t_like "vm-d1's prepare holds the lock, named in the lock file" "$(cat "$state/fpga0.lock")" \
	"^esfm-hook prepare 'vm-d1' \(pid [0-9]+\)$"
hook vm-d2 prepare begin "$work/d2.xml"
t_refused "a concurrent prepare is refused: pool 'fpga0' is in use by vm-d1's hook" \
	"^esfm: pool 'fpga0' is in use by esfm-hook prepare 'vm-d1' \(pid [0-9]+\); try again when it is done$"
t_like "... after lock_timeout_ms, not hanging (${h_ms} ms)" "$h_ms" '^([5-9][0-9]{2}|[12][0-9]{3})$'
wait "$d1_pid"
d1_rc=$?
bg_pids=()
t_is "the slow prepare succeeds" "$d1_rc $(cat "$work/d1.err")" "0 "
t_like "... after the 2 s delay ($(ms_since "$t0") ms)" "$(ms_since "$t0")" '^[2-9][0-9]{3}$'
t_is "only vm-d1 holds a VF" "$(used fpga0)" "0:reserved:vm-d1"
t_ok "disarm the delay" sim_ctl "delay $pf sriov_numvfs 0"
hook vm-d1 release end "$work/d1.xml"

# === 9. the pool lock held from outside (e.g. `esfm reconf` at work) ==========================
exec 9<>"$state/fpga0.lock"
flock -x 9
printf 'esfm reconf (pid %s)\n' "$$" >"$state/fpga0.lock"
hook vm-a prepare begin "$work/a.xml"
t_refused "prepare while the lock is held elsewhere: 'pool fpga0 is in use', exit 1" \
	"^esfm: pool 'fpga0' is in use by esfm reconf \(pid $$\); try again when it is done$"
t_like "... in bounded time, not hanging (${h_ms} ms, lock_timeout_ms 500)" "$h_ms" '^([5-9][0-9]{2}|[12][0-9]{3})$'
hook vm-a release end "$work/a.xml"
t_silent "release while the lock is held exits 0 (never fails a stop)"
hook vm-a reconnect begin "$work/a-live.xml"
t_silent "reconnect while the lock is held exits 0 (a failure would kill the guest)"
t_is "nothing was reserved" "$(used fpga0)" ""
flock -u 9
exec 9>&-
hook vm-a prepare begin "$work/a.xml"
t_silent "once the lock is free, prepare exits 0"
t_is "... and reserves" "$(used fpga0)" "0:reserved:vm-a"
hook vm-a release end "$work/a.xml"
write_conf

# === 10. started in hotplug mode: the detached attach worker ==================================
# libvirt's test driver (libvirt_uri = test://<node file>) knows the domain but cannot
# attach devices, like a host without VFIO: the worker must free the VF and log why.
W=$(uuid_of 800)
cat >"$work/node.xml" <<EOF
<node>
  <domain type='test'>
    <name>vm-w</name>
    <uuid>$W</uuid>
    <metadata><esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0"/></metadata>
    <memory>65536</memory>
    <os><type>hvm</type></os>
  </domain>
</node>
EOF
mkdom w.xml vm-w "$W" "$(annot fpga0)"
hook vm-w prepare begin "$work/w.xml"
t_is "hotplug: prepare reserves" "$h_rc $(used fpga0)" "0 0:reserved:vm-w"
t0=$(now_ms)
# through a pipe, as libvirtd reads it: `cat` ends only when every writer has closed it
(cd / && exec timeout 15 "${hook_env[@]}" ESFM_CONF_DIR="$conf" "$build/esfm-hook" vm-w started begin - \
	<"$work/w.xml" 2>&1) | cat >"$work/started.out"
pipe_rc=${PIPESTATUS[0]}
started_ms=$(ms_since "$t0")
pipe_out=$(cat "$work/started.out")
t_is "started exits 0 silently and its stdout/stderr close at once (worker detached)" \
	"rc=$pipe_rc out='$pipe_out'" "rc=0 out=''"
t_like "... within 5 s (${started_ms} ms)" "$started_ms" '^[0-9]{1,3}$|^[1-4][0-9]{3}$'
t_logged "the hook logs that it started the worker" "domain 'vm-w' \($W\): attach worker started"
for _ in $(seq 150); do
	grep -q "attach worker for $W" "$log" && break
	sleep 0.1
done
t_logged "the worker logs the failed attach" \
	"attach to domain 'vm-w' \($W\) failed: pool 'fpga0': VF 0 \(0000:83:00\.4\): cannot attach the device"
t_logged "the worker ends with an error naming the domain" "attach worker for $W: "
t_is "the worker freed the reservation" "[$(used fpga0)] $(vf_attr fpga0 0 last-uuid)" "[] $W"
t_is "the worker recorded the outcome in the live metadata (the test driver takes it)" \
	"$(grep "domain 'vm-w': cannot record allocations in live metadata" "$log")" ""
workers() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$build/esfm-hook-worker" ] && printf ' %s' "${p#/proc/}"
	done
}
for _ in $(seq 50); do
	[ -z "$(workers)" ] && break
	sleep 0.1
done
t_is "the worker has exited" "$(workers)" ""
hook vm-w release end "$work/w.xml"
t_silent "release after the failed attach exits 0"

# === 11. hostile and broken inputs ===========================================================
# conf_copy DIR [KEY=VALUE...]: a configuration directory like $conf (its pools.d), with overrides
conf_copy() {
	local d=$1
	shift
	mkdir -p "$d"
	cp -r "$conf/pools.d" "$d/"
	cp "$conf/esfm.conf" "$d/esfm.conf"
	conf_set "$d/esfm.conf" "$@"
}
H=$(uuid_of 900)
mkdom h.xml vm-h "$H" "$(annot fpga0)"

# esfm-hook copied alone (a half-finished upgrade): it cannot exec its handler. It used to
# free the XML twice and abort (exit 134), and a non-zero reconnect makes libvirt kill the guest.
mkdir -p "$work/lone"
cp "$build/esfm-hook" "$work/lone/esfm-hook"
hook_exe=$work/lone/esfm-hook
for o in release:end reconnect:begin stopped:end; do
	hook vm-h "${o%%:*}" "${o#*:}" "$work/h.xml"
	t_silent "esfm-hook without its handler: ${o%%:*} ${o#*:} exits 0 silently"
done
hook vm-h prepare begin "$work/h.xml"
t_refused "esfm-hook without its handler: prepare is refused naming the missing file" \
	"^esfm: domain 'vm-h': cannot run $work/lone/esfm-hook-handler: No such file or directory; reinstall esfm$"
hook "$(printf 'vm\033[2J\nesfm: forged')" prepare begin "$work/h.xml"
t_refused "... and a domain name with control characters is escaped in that line" \
	"^esfm: domain 'vm\\\\x1b\\[2J\\\\nesfm: forged': cannot run "
unset hook_exe
t_is "none of them touched the state" "$(used fpga0)" ""

# two pool files naming one PF: pool-check refuses them, and so must the hook
conf_copy "$work/conf-2pf"
rm -f "$work/conf-2pf/pools.d/"*.xml
cp "$conf/pools.d/fpga0.xml" "$work/conf-2pf/pools.d/"
sed 's|<name>fpga0</name>|<name>a2</name>|' "$conf/pools.d/fpga0.xml" >"$work/conf-2pf/pools.d/a2.xml"
t_run pc env ESFM_CONF_DIR="$work/conf-2pf" "$build/esfm" pool-check
refuse_file "two pool files on one PF" \
	"^esfm: pools 'a2' and 'fpga0' both use PF 0000:83:00\.0; a PF belongs to one pool; remove one of them$" \
	"$work/h.xml" vm-h "$work/conf-2pf"
t_is "... with exactly pool-check's message" "$h_err" "$pc_err"
t_is "... nothing is held" "$(used fpga0)" ""

# the state file records the PF its owners live on: a pool file edited to another PF is refused
conf_copy "$work/conf-pf" "state_dir=$work/state-pf"
hook_cd "$work/conf-pf" vm-a prepare begin "$work/a.xml"
t_is "setup: vm-a holds VF 0 of PF 0000:83:00.0 in a second state directory" \
	"$h_rc $(xmllint --xpath 'string(/esfm-state/@pf)' "$work/state-pf/fpga0.state")" "0 0000:83:00.0"
find "$work/conf-pf/pools.d" -name '*.xml' ! -name fpga0.xml -delete # fpga.1 holds 0000:85:00.0
sed -i "s|address='0000:83:00.0'|address='0000:85:00.0'|" "$work/conf-pf/pools.d/fpga0.xml"
sum=$(sha256sum <"$work/state-pf/fpga0.state")
hook_cd "$work/conf-pf" vm-h prepare begin "$work/h.xml"
t_refused "a pool whose PF changed under its state is refused" \
	"^esfm: pool 'fpga0': its state records PF 0000:83:00\.0, the pool file names PF 0000:85:00\.0; the pool's PF was changed: stop the VMs of pool 'fpga0', then remove $work/state-pf/fpga0\.state"
t_is "... its state is unchanged" "$(sha256sum <"$work/state-pf/fpga0.state")" "$sum"
hook_cd "$work/conf-pf" vm-a release end "$work/a.xml"
t_silent "... and release still frees vm-a's VF"

# FIFOs where regular files belong used to block the hook (and libvirtd) forever
conf_copy "$work/conf-fifo" "state_dir=$work/state-fifo"
mkdir -m 0700 "$work/state-fifo"
mkfifo "$work/state-fifo/fpga0.state"
refuse_file "a FIFO as the state file" "^esfm: $work/state-fifo/fpga0\.state is a FIFO, not a regular file; replace it with a regular file$" \
	"$work/h.xml" vm-h "$work/conf-fifo"
t_like "... at once (${h_ms} ms)" "$h_ms" '^[0-9]{1,4}$'
rm -f "$work/conf-fifo/esfm.conf"
mkfifo "$work/conf-fifo/esfm.conf"
refuse_file "a FIFO as esfm.conf" "^esfm: $work/conf-fifo/esfm\.conf is a FIFO, not a regular file; replace it with a regular file$" \
	"$work/h.xml" vm-h "$work/conf-fifo"
hook_cd "$work/conf-fifo" vm-h release end "$work/h.xml"
t_silent "... release exits 0 silently"
conf_copy "$work/conf-fifo2"
rm -f "$work/conf-fifo2/pools.d/fpga0.xml"
mkfifo "$work/conf-fifo2/pools.d/fpga0.xml"
refuse_file "a FIFO as the pool file" "^esfm: $work/conf-fifo2/pools\.d/fpga0\.xml is a FIFO, not a regular file; replace it with a regular file$" \
	"$work/h.xml" vm-h "$work/conf-fifo2"
mkfifo "$work/log.fifo"
conf_copy "$work/conf-fifo3" "log_file=$work/log.fifo"
refuse_file "a FIFO as log_file" "^esfm: log_file: $work/log\.fifo is a FIFO, not a regular file; replace it with a regular file$" \
	"$work/h.xml" vm-h "$work/conf-fifo3"
hook_cd "$work/conf-fifo3" vm-h reconnect begin "$work/h.xml"
t_silent "... reconnect exits 0 silently"

# a state directory others can write: a forged state file there once gave VF 0 twice
hook vm-a prepare begin "$work/a.xml"
t_is "setup: vm-a holds VF 0" "$(used fpga0)" "0:reserved:vm-a"
conf_copy "$work/conf-own" "state_dir=$work/state-own"
mkdir "$work/state-own"
sed 's|state="reserved"|state="free"|' "$(stf fpga0)" >"$work/state-own/fpga0.state"
chown 65534:65534 "$work/state-own" "$work/state-own/fpga0.state"
chmod 0777 "$work/state-own"
refuse_file "a state directory owned by nobody, mode 0777" \
	"^esfm: state directory $work/state-own is unsafe: owner uid 65534, mode 0777; make it root's, not writable by group or others" \
	"$work/h.xml" vm-h "$work/conf-own"
t_is "... no lock file was created there" "$(ls "$work/state-own")" "fpga0.state"
chown 0:0 "$work/state-own"
refuse_file "a root-owned state directory, mode 0777" "^esfm: state directory $work/state-own is unsafe: owner uid 0, mode 0777" \
	"$work/h.xml" vm-h "$work/conf-own"
chmod 0755 "$work/state-own"
hook_cd "$work/conf-own" vm-h release end "$work/h.xml"
t_silent "a root-owned state directory, mode 0755, is used"
hook vm-a release end "$work/a.xml"

# control characters in a domain name go to log_file escaped: a newline once forged a line
: >"$log"
mkdom nl.xml vm-nlNAMETAIL "$(uuid_of 901)" "$(annot fpga0)"
sed -i 's|NAMETAIL|\&#10;2026-01-01T00:00:00 esfm-hook[1]: forged\&#9;x|' "$work/nl.xml"
hook x prepare begin "$work/nl.xml"
t_is "prepare of a domain whose name has a newline exits 0" "$h_rc" 0
t_logged "its reservation is logged on one line, escaped" \
	"reserved for domain 'vm-nl\\\\n2026-01-01T00:00:00 esfm-hook\\[1\\]: forged\\\\tx' "
t_is "no log line was forged" "$(grep -c '^2026-01-01T00:00:00 esfm-hook' "$log")" 0
hook x release end "$work/nl.xml"

# a NUL and garbage after </domain>: libvirt never sends that; prepare refuses it, release and
# reconnect read what precedes it
{ cat "$work/h.xml"; printf '\0<domain>garbage'; } >"$work/nul.xml"
refuse_file "a NUL and garbage after </domain>" "^esfm: domain XML: NUL byte at offset [0-9]+; not a libvirt domain XML$" \
	"$work/nul.xml" vm-h
hook vm-h prepare begin "$work/h.xml"
hook vm-h reconnect begin "$work/nul.xml"
t_silent "... reconnect with it exits 0 silently"
hook vm-h release end "$work/nul.xml"
t_silent "... release with it exits 0 silently"
t_is "... and frees the domain's VF" "$(used fpga0)" ""

# === end =====================================================================================
t_is "finally every VF of every pool is free" "$(used fpga0)|$(used fpga.1)|$(used nic0)" "||"
t_ok "hook log lines all carry the esfm-hook ident" \
	test "$(grep -vc ' esfm-hook\[[0-9]*\]: ' "$log")" = 0
"$top/tests/sim/sim-stop" "$mnt" "$sim_pid"
t_is "sim-stop" "$?" 0
sim_pid=
t_is "the simulator is unmounted" "$(findmnt -n "$mnt")" ""
note "hook-direct: $(ms_since "$t_start") ms"
t_done
