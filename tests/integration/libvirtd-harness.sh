#!/usr/bin/env bash
# The private-libvirtd harness (tests/lib/libvirtd.sh) works, leaves the machine alone,
# and the libvirt qemu-hook behaviour esfm is built on holds: prepare/start/started on
# start, stopped/release on destroy, the domain XML (with <metadata>) on the hook's stdin,
# a failing prepare aborts the start with the hook's stderr in the error and still fires
# release, a daemon restart keeps guests running and fires reconnect; a daemon started
# without hooks ignores a hook added later until SIGHUP, one started with a hook reads
# qemu.d/ again at every call.
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/libvirtd.sh"

missing=
[ "$(id -u)" = 0 ] || missing="$missing root"
for c in libvirtd virtlogd virsh unshare qemu-system-x86_64; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
if [ -n "$missing" ]; then
	t_fail "prerequisites for a private libvirtd" "missing:$missing" \
		"(packages libvirt-daemon-system libvirt-clients qemu-system-x86, run as root)"
	t_done
	exit 1
fi

lv_enter_ns "$0" "$@" || { t_fail "enter a private mount namespace"; t_done; exit 1; }

now() { printf '%s' "${EPOCHREALTIME/[.,]/}"; }           # microseconds
took() { printf '%d.%02d' $(($1 / 1000000)) $(($1 % 1000000 / 10000)); } # -> seconds
note() { echo "# $*"; }

# What the machine has before the harness runs (we are in our namespace, nothing mounted
# yet, so these are the real directories).
etc_state() {
	find /etc/libvirt -type f | sort | xargs -r sha256sum
	find /etc/libvirt -printf '%p %m %U %G %y\n' | sort
}
var_state() { find /var/lib/libvirt /var/log/libvirt -printf '%p %m %U %s %T@\n' 2>/dev/null | sort; }
run_state() { ls -d /run/libvirt /run/libvirtd.pid /run/virtlogd.pid 2>/dev/null; }
cg_state() { find /sys/fs/cgroup -maxdepth 3 -name 'machine*' 2>/dev/null | sort; }
# Other test runs on the machine mount and unmount their sysfs simulators meanwhile, and our
# namespace's copy of those mounts goes when they do: this harness never mounts one, so they
# are not counted.
mnt_state() { findmnt -n -l -o TARGET,SOURCE,FSTYPE | grep -v ' fuse\.esfm-sysfs-sim$' | sort; }
etc_before=$(etc_state | sha256sum)
var_before=$(var_state | sha256sum)
run_before=$(run_state)
cg_before=$(cg_state)
mnt_before=$(mnt_state) # of this namespace: nobody else mounts in it

work=$(mktemp -d /tmp/esfm-lvh.XXXXXX)
chmod 0755 "$work"
cleanup() {
	[ "$t_failed" = 0 ] || lv_diag
	lv_stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# A recording hook. libvirt gives hooks a bare environment (LC_ALL, PATH, HOME), so it
# reads where to log and what to look for on stdin from a file beside qemu.d/.
cat >"$work/recorder" <<'EOF'
#!/bin/sh
conf=/etc/libvirt/hooks/recorder.conf
{ read -r dir; read -r marker; } <"$conf" || exit 0
in=$(cat)
m=no
case $in in *"$marker"*) m=yes ;; esac
keys=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | sort | tr '\n' ' ')
echo "${0##*/} $1 $2 $3 $4 meta=$m env=$keys" >>"$dir/hooks.log"
if [ -e "$dir/fail-$2-$1" ]; then
	echo "recorder: refusing $1 at $2 (harness test)" >&2
	exit 1
fi
exit 0
EOF
chmod 0700 "$work/recorder"
cp "$work/recorder" "$work/10-record"
cp "$work/recorder" "$work/20-late"
: >"$work/hooks.log"
marker='urn:esfm:vf:1'

# events HOOK DOMAIN: "op subop extra meta=..." lines that hook recorded for that domain,
# on one line separated by "; ".
events() {
	awk -v h="$1" -v d="$2" '$1 == h && $2 == d { printf "%s%s %s %s %s", sep, $3, $4, $5, $6; sep = "; " }' \
		"$work/hooks.log"
}
nlog() { wc -l <"$work/hooks.log"; }

# --- 1. a daemon started without hooks -----------------------------------------------------
# libvirt caches "this driver has hooks" at daemon start and on SIGHUP (virHookInitialize);
# a hook added to a daemon that started with none runs only after SIGHUP or a restart.
t0=$(now)
if lv_start 2>"$work/start.err"; then
	t_pass "lv_start brings up a private libvirtd (no hooks)"
else
	t_fail "lv_start brings up a private libvirtd (no hooks)" "$(cat "$work/start.err")"
	t_done
	exit 1
fi
note "lv_start: $(took $(($(now) - t0))) s"
printf '%s\n%s\n' "$work" "$marker" >"$LV_ROOT/etc/hooks/recorder.conf"
root1=$LV_ROOT
t_is "LV_URI" "$LV_URI" "qemu:///system"
t_is "/etc/libvirt is the private copy" "$(findmnt -n -o TARGET /etc/libvirt)" "/etc/libvirt"
t_is "/run is a private tmpfs" "$(findmnt -n -o FSTYPE,SOURCE /run)" "tmpfs  esfm-lv-run"
t_is "/var/lib/libvirt and /var/log/libvirt are private" \
	"$(findmnt -n -o TARGET /var/lib/libvirt) $(findmnt -n -o TARGET /var/log/libvirt)" \
	"/var/lib/libvirt /var/log/libvirt"
t_like "virsh answers through lv_virsh" "$(lv_virsh version 2>&1)" 'Running hypervisor: QEMU'
t_ok "lv_install_hook into a running daemon" lv_install_hook "$work/10-record"
t_ok "the hook is visible at /etc/libvirt/hooks/qemu.d, root-owned 0755" \
	test "$(stat -c '%U %a' /etc/libvirt/hooks/qemu.d/10-record)" = "root 755"
lv_domain_xml lvh0 >"$work/lvh0.xml"
# shellcheck disable=SC2016
t_ok "define and start a domain" eval 'lv_virsh define "$work/lvh0.xml" && lv_virsh start lvh0'
t_is "a hook added to a daemon that started with none does not run" "$(events 10-record lvh0)" ""
t_ok "lv_sighup" lv_sighup
t0=$(now)
t_ok "virsh destroy" lv_virsh destroy lvh0
note "virsh destroy: $(took $(($(now) - t0))) s"
t_is "after SIGHUP it runs: destroy fires stopped, release" "$(events 10-record lvh0)" \
	"stopped end - meta=no; release end - meta=no"
t0=$(now)
t_ok "lv_stop" lv_stop
note "lv_stop (no guest): $(took $(($(now) - t0))) s"
t_ok "lv_stop removed the private root" test ! -e "$root1"
t_is "lv_stop unmounted everything it mounted" "$(mnt_state)" "$mnt_before"

# --- 2. a daemon started with a hook ------------------------------------------------------
: >"$work/hooks.log"
t0=$(now)
if lv_start "$work/10-record" 2>"$work/start.err"; then
	t_pass "lv_start again in the same namespace, with a hook"
else
	t_fail "lv_start again in the same namespace, with a hook" "$(cat "$work/start.err")"
	t_done
	exit 1
fi
note "lv_start: $(took $(($(now) - t0))) s"
printf '%s\n%s\n' "$work" "$marker" >"$LV_ROOT/etc/hooks/recorder.conf"
t_ok "the hook was copied into LV_HOOKDIR, root-owned 0755" \
	test "$(stat -c '%U %a' "$LV_HOOKDIR/10-record")" = "root 755" -a "$LV_HOOKDIR" = "$LV_ROOT/etc/hooks/qemu.d"

lv_domain_xml lvh1 '<esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0"/>' >"$work/lvh1.xml"
lv_domain_xml lvh2 >"$work/lvh2.xml"
if command -v virt-xml-validate >/dev/null; then
	t_ok "lv_domain_xml output validates against libvirt's schema" virt-xml-validate "$work/lvh1.xml" domain
fi
t_ok "define a domain with esfm metadata" lv_virsh define "$work/lvh1.xml"
t_like "metadata survives define" "$(lv_virsh dumpxml --inactive lvh1)" \
	'<esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0"/>'

t0=$(now)
t_ok "virsh start" lv_virsh start lvh1
note "virsh start: $(took $(($(now) - t0))) s"
t_ok "domain is running" lv_wait_state lvh1 running 10
pid1=$(lv_qemu_pid lvh1)
qemus=$pid1
t_like "its QEMU pid is known" "$pid1" '^[0-9]+$'
live=$(lv_virsh dumpxml lvh1)
t_is "q35 with 4 pcie-root-ports, all free (nothing on buses 1-4)" \
	"$(grep -c "model='pcie-root-port'" <<<"$live") $(grep -c "bus='0x0[1-4]'" <<<"$live")" "4 0"
t_is "start fires prepare, start, started, with the metadata on stdin" "$(events 10-record lvh1)" \
	"prepare begin - meta=yes; start begin - meta=yes; started begin - meta=yes"
env_keys=$(awk '$1 == "10-record" { sub(/.*env=/, ""); print; exit }' "$work/hooks.log")
t_unlike "hooks get a bare environment (no test variables): $env_keys" "$env_keys" 'ESFM_|LV_'

# Once the driver has hooks, qemu.d/ itself is read again at every call.
t_ok "lv_install_hook adds a second hook" lv_install_hook "$work/20-late"
: >"$work/hooks.log"
t0=$(now)
t_ok "virsh destroy" lv_virsh destroy lvh1
note "virsh destroy: $(took $(($(now) - t0))) s"
t_ok "domain is shut off" lv_wait_state lvh1 "shut off" 10
t_is "destroy fires stopped, release" "$(events 10-record lvh1)" "stopped end - meta=yes; release end - meta=yes"
t_is "a hook added to qemu.d of a daemon that has hooks runs without SIGHUP" "$(events 20-late lvh1)" \
	"stopped end - meta=yes; release end - meta=yes"

t0=$(now)
t_ok "lv_sighup" lv_sighup
note "lv_sighup: $(took $(($(now) - t0))) s"
: >"$work/hooks.log"
t_ok "virsh start again" lv_virsh start lvh1
t_is "both hooks run, in name order" \
	"$(awk '$2 == "lvh1" { printf "%s:%s ", $1, $3 }' "$work/hooks.log")" \
	"10-record:prepare 20-late:prepare 10-record:start 20-late:start 10-record:started 20-late:started "
pid1=$(lv_qemu_pid lvh1)
qemus="$qemus $pid1"

# --- daemon restart ----------------------------------------------------------------------
: >"$work/hooks.log"
old_daemon=$(cat /run/libvirtd.pid)
t0=$(now)
t_ok "lv_restart" lv_restart
note "lv_restart: $(took $(($(now) - t0))) s"
t_unlike "libvirtd has a new pid" "$(cat /run/libvirtd.pid)" "^$old_daemon\$"
t_is "the old libvirtd has exited" "$(_lv_alive "$old_daemon" libvirtd && echo alive)" ""
t_ok "the guest is still running after the restart" lv_wait_state lvh1 running 5
t_is "same QEMU process" "$(lv_qemu_pid lvh1)" "$pid1"
t_is "restart fires reconnect, with the metadata on stdin" \
	"$(events 10-record lvh1) | $(events 20-late lvh1)" "reconnect begin - meta=yes | reconnect begin - meta=yes"

# --- a failing prepare hook --------------------------------------------------------------
t_ok "define a second domain" lv_virsh define "$work/lvh2.xml"
: >"$work/hooks.log"
touch "$work/fail-prepare-lvh2"
st_rc='' st_err=''
t_run st lv_virsh start lvh2 # sets st_rc, st_out, st_err
t_is "virsh start fails when a hook exits 1 at prepare" "$st_rc" 1
t_like "the error carries libvirt's text" "$st_err" 'Hook script execution failed: internal error: Child process .*lvh2 prepare begin -.* unexpected exit status 1'
t_like "the error carries the hook's stderr" "$st_err" 'recorder: refusing lvh2 at prepare \(harness test\)'
t_is "domain is shut off (failed)" "$(lv_virsh domstate --reason lvh2 | head -n 1)" "shut off (failed)"
t_is "stopped and release still fire" "$(events 10-record lvh2)" \
	"prepare begin - meta=no; stopped end - meta=no; release end - meta=no"
t_is "the other hook still ran" "$(events 20-late lvh2)" \
	"prepare begin - meta=no; stopped end - meta=no; release end - meta=no"
t_is "the other guest is untouched" "$(lv_virsh domstate lvh1 | head -n 1) $(lv_qemu_pid lvh1)" "running $pid1"
rm -f "$work/fail-prepare-lvh2"

# --- stop with a guest running -----------------------------------------------------------
daemons="$(cat /run/libvirtd.pid) $(cat /run/virtlogd.pid)"
root=$LV_ROOT
: >"$work/hooks.log"
t0=$(now)
lv_stop
stop_rc=$?
note "lv_stop (one running guest): $(took $(($(now) - t0))) s"
t_is "lv_stop succeeds" "$stop_rc" 0
t_is "lv_stop destroyed the running guest (hooks saw it)" "$(events 10-record lvh1)" \
	"stopped end - meta=yes; release end - meta=yes"
t_is "no libvirtd, virtlogd or QEMU of this instance is left" "$(lv_leftovers | tr '\n' ' ')" ""
alive=
for p in $daemons; do _lv_alive "$p" && alive="$alive $p"; done
t_is "the daemons have exited" "$alive" ""
t_is "no QEMU this test started still runs" \
	"$(for p in $qemus; do _lv_alive "$p" && echo "$p"; done)" ""
t_ok "the private root is removed" test ! -e "$root"
t_is "nothing of ours is mounted any more" "$(mnt_state)" "$mnt_before"
t_is "the real /etc/libvirt is unchanged" "$(etc_state | sha256sum)" "$etc_before"
t_is "the real /var/lib/libvirt and /var/log/libvirt are unchanged" "$(var_state | sha256sum)" "$var_before"
t_is "the real /run has no libvirt state" "$(run_state)" "$run_before"
t_is "no cgroup was created under /sys/fs/cgroup" "$(cg_state)" "$cg_before"
t_ok "lv_stop again is a no-op" lv_stop

t_done
