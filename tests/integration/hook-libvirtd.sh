#!/usr/bin/env bash
# esfm-hook under a real (private) libvirtd, with TCG domains and the FUSE sysfs simulator:
#   - unannotated domains start and stop with esfm touching nothing;
#   - an annotated domain starts: prepare reserves a VF, the detached worker's live attach
#     fails on this VFIO-less host, so the worker frees the VF, logs why and records an
#     <error> in the domain's live metadata (never in its persistent config); the guest
#     keeps running and destroy leaves the pool all free;
#   - a reservation the worker could not act on (libvirt unreachable) is freed by release;
#   - an exhausted pool makes `virsh start` fail with our one-line `esfm:` message, and the
#     release that follows leaves the holder's VF alone;
#   - a libvirtd restart with an annotated guest running fires reconnect, which must not
#     fail (libvirt would kill the guest): the guest keeps running, same QEMU;
#   - the machine's /etc/libvirt is untouched.
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ESFM_BUILD:-$top/build/check}
fix=$top/tests/integration/hook-fixtures
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/sim.sh"
. "$top/tests/lib/libvirtd.sh"
. "$top/tests/lib/conf.sh"

missing=
[ "$(id -u)" = 0 ] || missing="$missing root"
[ -c /dev/fuse ] || missing="$missing /dev/fuse"
for c in libvirtd virtlogd virsh unshare qemu-system-x86_64 fusermount3 xmllint; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
for f in esfm-hook esfm-hook-worker tests/sim/esfm-sysfs-sim; do
	[ -x "$build/$f" ] || missing="$missing $build/$f"
done
if [ -n "$missing" ]; then
	t_fail "prerequisites of the libvirtd hook tests" "missing:$missing" \
		"(packages libvirt-daemon-system libvirt-clients qemu-system-x86 fuse3; make SANITIZE=1 tests)"
	t_done
	exit 1
fi

lv_enter_ns "$0" "$@" || {
	t_fail "enter a private mount namespace"
	t_done
	exit 1
}

now_ms() { printf '%s' $((${EPOCHREALTIME/[.,]/} / 1000)); }
ms_since() { printf '%s' $(($(now_ms) - $1)); }
note() { echo "# $*"; }
t_start=$(now_ms)

# The real /etc/libvirt, seen before anything is mounted over it.
etc_state() {
	find /etc/libvirt -type f | sort | xargs -r sha256sum
	find /etc/libvirt -printf '%p %m %U %G %y\n' | sort
}
etc_before=$(etc_state | sha256sum)

work=$(mktemp -d /tmp/esfm-hookl.XXXXXX)
chmod 0755 "$work"
mnt=$work/sys
conf=$work/conf
state=$work/state
log=$work/hook.log
events=$work/events.log
sim_pid=

cleanup() {
	[ "$t_failed" = 0 ] || {
		lv_diag
		[ ! -s "$log" ] || tail -n 20 "$log" | sed 's/^/# hook.log: /'
	}
	lv_stop || echo "# lv_stop failed" >&2
	SIM_PID=$sim_pid SIM_MNT=$mnt
	sim_finish "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- simulator, configuration, hooks ------------------------------------------------------------
ESFM_BUILD=$build ESFM_SIM_LOG=$work/sim.log sim_up "$fix/hook.topo" "$mnt"
sim_pid=$SIM_PID
t_like "sysfs simulator runs in the test's mount namespace (pid $sim_pid)" "$sim_pid" '^[0-9]+$'
sysd=$mnt/bus/pci/devices

mkdir -p "$conf/pools.d"
cp "$fix/pools.d/fpga0.xml" "$fix/pools.d/solo.xml" "$conf/pools.d/"
# write_conf [KEY=VALUE...]: the test's esfm.conf, and overrides
write_conf() {
	{
		echo "# written by hook-libvirtd.sh"
		echo "sysfs_root = $mnt"
		echo "state_dir = $state"
		echo "template_dir = $top/xml-templates"
		echo "log_file = $log"
		echo "log_level = info"
		echo "libvirt_uri = qemu:///system"
		echo "attach_timeout_ms = 30000"
	} >"$conf/esfm.conf"
	conf_set "$conf/esfm.conf" "$@"
}
write_conf

# libvirtd runs hooks with a bare environment: the wrapper names the configuration and execs
# the built binary (which finds esfm-hook-worker beside itself through /proc/self/exe).
mkdir -p "$work/hooks"
{
	echo '#!/bin/sh'
	echo '# esfm-hook for the private test libvirtd (tests/integration/hook-libvirtd.sh)'
	echo "ESFM_CONF_DIR='$conf'"
	echo 'export ESFM_CONF_DIR'
	[ -z "${ASAN_OPTIONS:-}" ] || echo "ASAN_OPTIONS='$ASAN_OPTIONS'; export ASAN_OPTIONS"
	[ -z "${UBSAN_OPTIONS:-}" ] || echo "UBSAN_OPTIONS='$UBSAN_OPTIONS'; export UBSAN_OPTIONS"
	echo "exec '$build/esfm-hook' \"\$@\""
} >"$work/hooks/esfm"
# Runs after esfm (qemu.d is run in name order, one hook after the other): what libvirt fired.
cat >"$work/hooks/zz-record" <<EOF
#!/bin/sh
cat >/dev/null
echo "\$1 \$2 \$3 \$4" >>'$events'
exit 0
EOF
chmod 0755 "$work/hooks/esfm" "$work/hooks/zz-record"
: >"$events"

t0=$(now_ms)
if lv_start "$work/hooks/esfm" "$work/hooks/zz-record" 2>"$work/lv-start.err"; then
	t_pass "private libvirtd with the esfm hook wrapper in qemu.d ($(ms_since "$t0") ms)"
else
	t_fail "private libvirtd with the esfm hook wrapper in qemu.d" "$(cat "$work/lv-start.err")"
	t_done
	exit 1
fi
t_is "hooks installed: esfm wrapper, then the recorder" "$(cd "$LV_HOOKDIR" && echo *)" "esfm zz-record"

# --- helpers ----------------------------------------------------------------------------------
stf() { printf '%s' "$state/$1.state"; }
xq() { xmllint --xpath "$2" "$(stf "$1")" 2>/dev/null; }
vf_attr() { xq "$1" "string(/esfm-state/vf[@index='$2']/@$3)"; }
used() {
	[ -e "$(stf "$1")" ] || return 0
	awk 'function a(k) { return match($0, " " k "=\"[^\"]*\"") ? substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 4) : "" }
		/<vf / && a("state") != "free" { printf "%s%s:%s:%s", sep, a("index"), a("state"), a("name"); sep = " " }' "$(stf "$1")"
}
drv() { local l; l=$(readlink "$sysd/$1/driver" 2>/dev/null) && printf '%s' "${l##*/}"; }
# t_logged WHAT REGEX: the hook log has a line matching REGEX (grep -E)
t_logged() {
	if grep -qE -- "$2" "$log" 2>/dev/null; then
		t_pass "$1"
	else
		t_fail "$1" "no line of $log matches: $2" "last lines:" "$(tail -n 8 "$log" 2>/dev/null)"
	fi
}
# ev DOMAIN: the hook calls libvirt made for it, "op subop; ..."
ev() { awk -v d="$1" '$1 == d { printf "%s%s %s", sep, $2, $3; sep = "; " }' "$events"; }
uuid_in() { sed -n 's|.*<uuid>\(.*\)</uuid>.*|\1|p' "$1" | head -n 1; }
annot() { printf '<esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="%s" count="%s"/>' "$1" "${2:-1}"; }
# wait_log REGEX SECONDS: until the hook log has a matching line
wait_log() {
	local end=$((SECONDS + $2))
	until grep -qE -- "$1" "$log" 2>/dev/null; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}
workers() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$build/esfm-hook-worker" ] && printf ' %s' "${p#/proc/}"
	done
}
# t_define NAME [METADATA]: define a TCG domain from lv_domain_xml; its uuid in uuid_NAME
uuid_lva='' uuid_lvb='' uuid_lvx='' uuid_lvr=''
st_rc='' st_err='' # set by t_run
t_define() {
	local out
	lv_domain_xml "$1" "${2:-}" >"$work/$1.xml"
	printf -v "uuid_$1" '%s' "$(uuid_in "$work/$1.xml")"
	if out=$(lv_virsh define "$work/$1.xml" 2>&1); then
		t_pass "define $1${2:+ (annotated)}"
	else
		t_fail "define $1${2:+ (annotated)}" "$out"
	fi
}

# === 1. unannotated domains ======================================================================
t_define lvu1
t_define lvu2
t0=$(now_ms)
t_ok "virsh start of unannotated domains" eval 'lv_virsh start lvu1 && lv_virsh start lvu2'
note "2 starts: $(ms_since "$t0") ms"
t_ok "both run" eval 'lv_wait_state lvu1 running 10 && lv_wait_state lvu2 running 10'
t_ok "virsh destroy" eval 'lv_virsh destroy lvu1 && lv_virsh destroy lvu2'
t_is "libvirt ran the hooks for them" "$(ev lvu1)" \
	"prepare begin; start begin; started begin; stopped end; release end"
t_ok "the state directory was never created" test ! -e "$state"
t_ok "no hook log was written" test ! -e "$log"
t_is "no sysfs attribute was written" "$(cat "$mnt/sim-control")" ""

# === 2. an annotated domain on this VFIO-less host ==============================================
t_define lva "$(annot fpga0)"
: >"$events"
t0=$(now_ms)
t_run st lv_virsh start lva
t_is "virsh start lva succeeds ($(ms_since "$t0") ms)" "$st_rc" 0
[ "$st_rc" = 0 ] || note "$st_err"
t_ok "lva runs" lv_wait_state lva running 10
t_is "prepare, start, started fired" "$(ev lva)" "prepare begin; start begin; started begin"
t_logged "prepare reserved VF 0 for lva" \
	"pool 'fpga0': VF 0 \(0000:83:00\.4\) reserved for domain 'lva' \($uuid_lva\)"
t_is "the pool's VFs were created with autoprobe off, VF 0 bound to vfio-pci" \
	"$(cat "$sysd/0000:83:00.0/sriov_numvfs") $(cat "$sysd/0000:83:00.0/sriov_drivers_autoprobe") $(drv 0000:83:00.4)" \
	"8 0 vfio-pci"
t_logged "started launched the attach worker" "domain 'lva' \($uuid_lva\): attach worker started"
t0=$(now_ms)
t_ok "the worker finishes (its closing log line)" wait_log "attach worker for $uuid_lva: " 30
note "worker done $(ms_since "$t0") ms after virsh start returned"
t_logged "the failed attach is logged with libvirt's reason" \
	"attach to domain 'lva' \($uuid_lva\) failed: pool 'fpga0': VF 0 \(0000:83:00\.4\): cannot attach the device: .*host doesn't support passthrough of host PCI devices"
t_is "the worker freed the reservation" "[$(used fpga0)] $(vf_attr fpga0 0 last-uuid)" "[] $uuid_lva"
t_is "the worker had no trouble recording it in the live metadata" \
	"$(grep "domain 'lva': cannot record allocations in live metadata" "$log")" ""
# virsh metadata prints the element without its prefix, dumpxml with it
meta=$(lv_virsh metadata lva --uri urn:esfm:vf:1 --live 2>&1)
t_like "the live metadata records the error" "$meta" \
	"<(esfm:)?error pool=\"fpga0\" message=\"[^\"]*host doesn.*t support passthrough of host PCI devices"
t_like "... next to the request" "$meta" '<(esfm:)?pool name="fpga0" count="1"/>'
t_like "... visible in the live dumpxml" "$(lv_virsh dumpxml lva | grep -A3 '<metadata>')" '<esfm:error pool="fpga0"'
t_unlike "the persistent config keeps the plain annotation" "$(lv_virsh dumpxml --inactive lva)" 'esfm:error'
t_is "no hostdev reached the guest" "$(lv_virsh dumpxml lva | grep -c '<hostdev')" 0
t_is "the guest keeps running" "$(lv_virsh domstate lva | head -n 1)" running
t_is "no worker process is left" "$(workers)" ""
t0=$(now_ms)
t_ok "virsh destroy lva" lv_virsh destroy lva
note "destroy: $(ms_since "$t0") ms"
t_is "stopped and release fired" "$(ev lva)" "prepare begin; start begin; started begin; stopped end; release end"
t_is "the pool is all free" "$(used fpga0)" ""

# === 3. a reservation the worker cannot act on is freed by release ==============================
# The worker cannot reach libvirt (a socket that does not exist): it gives up and leaves the
# VF reserved; the domain's release must give it back.
write_conf "libvirt_uri=qemu+unix:///system?socket=$work/no-such-socket"
t_define lvb "$(annot fpga0 2)"
t_ok "virsh start lvb" lv_virsh start lvb
t_ok "the worker gives up: libvirt unreachable" wait_log "attach worker for $uuid_lvb: .*cannot connect" 30
t_is "lvb's 2 VFs stay reserved" "$(used fpga0)" "0:reserved:lvb 1:reserved:lvb"
write_conf
t_ok "virsh destroy lvb" lv_virsh destroy lvb
t_is "release freed them" "$(grep -c "released by domain 'lvb'" "$log")" 2
t_is "the pool is all free" "$(used fpga0)" ""

# === 4. an exhausted pool refuses the start ======================================================
# Pool solo has one VF. A direct prepare, as libvirt would run it for a domain "holder" that is
# not defined here, holds it.
lv_domain_xml holder "$(annot solo)" >"$work/holder.xml"
holder_uuid=$(uuid_in "$work/holder.xml")
hook_direct() {
	(cd / && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root \
		${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} ${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
		ESFM_CONF_DIR="$conf" "$build/esfm-hook" "$1" "$2" "$3" - <"$4")
}
t_ok "a direct prepare of 'holder' takes pool solo's only VF" hook_direct holder prepare begin "$work/holder.xml"
t_is "solo: VF 0 reserved by holder" "$(used solo) $(vf_attr solo 0 uuid)" "0:reserved:holder $holder_uuid"
t_define lvx "$(annot solo)"
: >"$events"
t_run st lv_virsh start lvx
t_is "virsh start lvx fails with exit 1" "$st_rc" 1
t_like "libvirt reports the hook failure" "$st_err" "Hook script execution failed: .*lvx prepare begin -.* unexpected exit status 1"
t_like "with our one line" "$st_err" \
	"unexpected exit status 1: esfm: pool 'solo' has no free VF \(1 of 1 in use: holder\); stop one of them or grow the pool"
t_is "... and nothing else from the hook" "${st_err#*unexpected exit status 1: }" \
	"esfm: pool 'solo' has no free VF (1 of 1 in use: holder); stop one of them or grow the pool"
t_is "lvx is shut off (failed)" "$(lv_virsh domstate --reason lvx | head -n 1)" "shut off (failed)"
t_is "libvirt fired stopped and release after the refused prepare" "$(ev lvx)" "prepare begin; stopped end; release end"
t_is "release left holder's VF alone, nothing is held for lvx" "$(used solo)" "0:reserved:holder"
t_logged "the refusal is in the hook log" \
	"domain 'lvx': start refused: pool 'solo' has no free VF"
t_ok "holder's release (direct) frees the VF" hook_direct holder release end "$work/holder.xml"
t_ok "now virsh start lvx succeeds" lv_virsh start lvx
t_ok "... its worker finishes" wait_log "attach worker for $uuid_lvx: " 30
t_is "... and gave the VF back after the failed attach" "$(used solo)" ""
t_ok "virsh destroy lvx" lv_virsh destroy lvx

# === 5. libvirtd restart with an annotated guest running ===========================================
t_define lvr "$(annot fpga0)"
t_ok "virsh start lvr" lv_virsh start lvr
t_ok "... its worker finishes" wait_log "attach worker for $uuid_lvr: " 30
qpid=$(lv_qemu_pid lvr)
t_like "lvr's QEMU runs" "$qpid" '^[0-9]+$'
: >"$events"
lines=$(wc -l <"$log")
t0=$(now_ms)
t_ok "lv_restart" lv_restart
note "libvirtd restart: $(ms_since "$t0") ms"
# libvirtd reconnects to running guests in threads of their own, which may run the hook after
# the daemon already answers: wait for it.
has_ev() { [ "$(ev "$1")" = "$2" ]; }
wait_ev() {
	local end=$((SECONDS + 30))
	until has_ev "$1" "$2"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
wait_ev lvr "reconnect begin"
t_is "reconnect fired for lvr" "$(ev lvr)" "reconnect begin"
t_ok "lvr still runs" lv_wait_state lvr running 5
t_is "same QEMU process" "$(lv_qemu_pid lvr)" "$qpid"
t_is "the hook logged no failure at reconnect" "$(tail -n +"$((lines + 1))" "$log" | grep -c 'fail\|refused\|esfm: ')" 0
t_unlike "libvirtd logged no hook failure" "$(cat "$LV_ROOT/log/libvirtd.log" 2>/dev/null)" 'reconnect begin.*(exit status|failed)'
t_like "the live metadata survived the restart" "$(lv_virsh metadata lvr --uri urn:esfm:vf:1 --live 2>&1)" '<(esfm:)?error pool="fpga0"'
t_ok "virsh destroy lvr" lv_virsh destroy lvr
t_is "stopped and release fired" "$(ev lvr)" "reconnect begin; stopped end; release end"
t_is "every pool is all free" "$(used fpga0)|$(used solo)" "|"

# === end ==========================================================================================
t_is "no worker process is left" "$(workers)" ""
t_ok "hook log lines all carry the esfm-hook ident" test "$(grep -vc ' esfm-hook\[[0-9]*\]: ' "$log")" = 0
t_ok "lv_stop" lv_stop
t_is "no libvirtd, virtlogd or QEMU of the instance is left" "$(lv_leftovers | tr '\n' ' ')" ""
"$top/tests/sim/sim-stop" "$mnt" "$sim_pid"
t_is "sim-stop" "$?" 0
sim_pid=
t_is "nothing of the test is mounted" "$(findmnt -rn -o TARGET | grep -c "^$work")" 0
t_is "the machine's /etc/libvirt is unchanged" "$(etc_state | sha256sum)" "$etc_before"
note "hook-libvirtd: $(ms_since "$t_start") ms"
t_done
