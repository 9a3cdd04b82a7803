# shellcheck shell=bash
# A private, real libvirtd for the integration tests. Source it from a bash test script.
#
# The machine's own /etc/libvirt, /run, /var/lib/libvirt and /var/log/libvirt are never
# written: everything runs inside a private mount namespace, where a copy of /etc/libvirt
# (with the hooks under test in hooks/qemu.d/), a tmpfs /run and private /var/lib/libvirt
# and /var/log/libvirt are mounted over the real ones. /var/cache/libvirt (the QEMU
# capabilities cache) stays shared, so only the first start on a machine probes QEMU (~8 s).
# cgroups are switched off in the private qemu.conf (nothing written under /sys/fs/cgroup),
# and autostarted networks/pools/domains are dropped from the copy (no bridge, no firewall).
#
#   lv_enter_ns "$0" "$@"   first thing in the script: re-executes the script once with
#                           `unshare -m --propagation private` (environment kept, same pid,
#                           exit status passed through); the script then runs again from
#                           the top, inside the namespace, where lv_enter_ns returns 0.
#   lv_start [HOOK...]      private root + virtlogd + libvirtd; each HOOK (an executable
#                           file; a wrapper script is fine) is copied root:root 0755 into
#                           hooks/qemu.d/ under its basename. Waits (LV_START_TIMEOUT, 60 s)
#                           until virsh answers. Sets and exports LV_URI, LV_ROOT, LV_HOOKDIR.
#                           Call it in the test's main shell (not in $(...) or t_ok): a
#                           watchdog stops the instance when the calling shell dies.
#   lv_install_hook FILE [NAME]  copy one more hook into qemu.d/. libvirt reads qemu.d/ at
#                           every hook call, but only if the daemon found a qemu hook when
#                           it started or last got SIGHUP: a daemon started with no hook
#                           needs lv_sighup (or lv_restart) before the new one runs.
#   lv_virsh ARGS...        virsh -c "$LV_URI" ARGS, killed after LV_VIRSH_TIMEOUT (60) s.
#   lv_restart              SIGTERM libvirtd, wait until it has exited, start it again and
#                           wait until it answers. Running guests stay up (hooks: reconnect).
#   lv_sighup               SIGHUP libvirtd (rescans hooks, reloads configs), wait until it
#                           answers again.
#   lv_stop                 kill hooks still running after a 2 s grace (they are stuck:
#                           every virsh call has returned), destroy every running domain
#                           (its stopped/release hooks fire), then by pid, TERM then KILL,
#                           bounded: libvirtd, every QEMU of the instance, virtlogd, and
#                           anything else still in the instance that is not the test's own
#                           process tree (a hook's detached helper). Then unmounts and
#                           removes LV_ROOT (kept with LV_KEEP=1 or on trouble). Never
#                           unmounts while a process of the instance lives (it would see the
#                           real directories). Idempotent: put it in `trap ... EXIT`.
#                           Non-zero if anything was left over. Processes the test started
#                           itself are the test's to stop, before lv_stop.
#   lv_domain_xml NAME [METADATA]  print a minimal diskless q35 TCG domain (tests/lib/domains/
#                           minimal-q35.xml); METADATA, a file name or an XML string, goes
#                           verbatim inside <metadata>. UUID derived from NAME.
#   lv_wait_state NAME STATE [TIMEOUT]  poll `virsh domstate` (0.1 s) until it prints STATE
#                           ("running", "shut off", "paused"...); TIMEOUT seconds, default 30.
#   lv_qemu_pid NAME        print the pid of a running domain's QEMU.
#   lv_leftovers            pids of the current or last instance still alive: its daemons
#                           and QEMUs, and any process outside the test's own tree whose
#                           /var/lib/libvirt is the instance's (also in QEMU's child mount
#                           namespace). Empty after a clean lv_stop.
#   lv_diag                 tails of the private logs as TAP comment lines.
#
# Every function returns non-zero and says why on stderr when it fails; none calls exit.
# All state except LV_ROOT lives in files ($LV_ROOT/state, /run), so everything but
# lv_start may run in a subshell ($(...), t_ok). After lv_start the whole script sees the
# private /run (a product's /run/<x> state is private too) and /etc/libvirt.
# If the test dies without lv_stop (SIGKILL), a watchdog started by lv_start notices
# within a second and stops the daemons, QEMUs and hook helpers, and removes LV_ROOT.

LV_URI=qemu:///system
export LV_URI
LV_DOMAIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/domains

_lv_err() { echo "libvirtd.sh: $*" >&2; }

# --- namespace -------------------------------------------------------------------------

lv_enter_ns() {
	local script cur
	script=$(readlink -f -- "$1") || return 1
	shift
	cur=$(readlink /proc/self/ns/mnt) || return 1
	# The re-executed script keeps the pid of the original one (exec unshare, which
	# unshares without forking and execs bash): that tells "I am the re-exec" apart from a
	# nested test script that merely inherited the environment.
	if [ "${_LV_NS_CHILD:-}" = "$$" ] && [ -n "${_LV_NS_PARENT:-}" ]; then
		unset _LV_NS_CHILD
		if [ "$cur" = "$_LV_NS_PARENT" ]; then
			_lv_err "unshare did not give a new mount namespace"
			return 1
		fi
		LV_NS_MNT=$cur
		export LV_NS_MNT
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		_lv_err "needs root (mount namespace, libvirtd)"
		return 1
	fi
	export _LV_NS_PARENT=$cur _LV_NS_CHILD=$$
	exec unshare -m --propagation private -- "${BASH:-/bin/bash}" "$script" "$@"
}

_lv_in_private_ns() {
	local cur
	cur=$(readlink /proc/self/ns/mnt) || return 1
	if [ -z "${LV_NS_MNT:-}" ] || [ "$cur" != "$LV_NS_MNT" ] || [ "$cur" = "${_LV_NS_PARENT:-}" ]; then
		_lv_err "not inside the private mount namespace: call lv_enter_ns \"\$0\" \"\$@\" first"
		return 1
	fi
}

# --- processes -------------------------------------------------------------------------

# _lv_state PID: the state letter of a process, empty if it is gone.
_lv_state() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	printf '%s' "${s%% *}"
}

# _lv_alive PID [COMM-PREFIX]: exists and is not a zombie; if given, its comm starts so.
_lv_alive() {
	local st comm
	[ -n "${1:-}" ] || return 1
	st=$(_lv_state "$1")
	case $st in '' | Z | X | x) return 1 ;; esac
	if [ -n "${2:-}" ]; then
		comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
		case $comm in "$2"*) ;; *) return 1 ;; esac
	fi
	return 0
}

# _lv_wait_exit PID SECONDS: wait until the process has exited. A zombie has exited: PID 1
# here reaps slowly, a dead libvirtd stays a zombie for about 2 s.
_lv_wait_exit() {
	local pid=$1 end=$((SECONDS + $2))
	while _lv_alive "$pid"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
	return 0
}

# _lv_kill PID COMM SECONDS: TERM, wait, KILL, wait; only while the pid still is COMM.
_lv_kill() {
	local pid=$1 comm=$2 t=$3
	_lv_alive "$pid" "$comm" || return 0
	kill -TERM "$pid" 2>/dev/null
	_lv_wait_exit "$pid" "$t" && return 0
	_lv_err "${comm:-process} ($pid) ignored SIGTERM for ${t}s, sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	_lv_wait_exit "$pid" 10
}

_lv_pidfile() {
	local p
	p=$(cat "$1" 2>/dev/null) || return 1
	p=${p//[!0-9]/}
	[ -n "$p" ] && printf '%s' "$p"
}

# _lv_mine PID: PID is this test shell ($$), the watchdog (_LV_SELF), the current subshell,
# or a descendant of one of them. Builtins only: no fork per step.
_lv_mine() {
	local p=$1 l n=0
	while [ "$p" -gt 1 ] 2>/dev/null && [ "$n" -lt 100 ]; do
		case $p in "$$" | "${BASHPID:-$$}" | "${_LV_SELF:-$$}") return 0 ;; esac
		read -r l <"/proc/$p/stat" 2>/dev/null || return 1
		l=${l##*) }
		l=${l#* }
		p=${l%% *}
		n=$((n + 1))
	done
	return 1
}

# _lv_instance_pids ID: live processes whose /var/lib/libvirt is this instance's private
# directory (device:inode), whatever mount namespace they are in (libvirt starts QEMU in a
# child namespace of ours), except the test's own process tree: libvirtd, virtlogd, QEMU,
# hooks and whatever they left behind (a hook's detached helper).
_lv_instance_pids() {
	local id=${1:-} di path p
	[ -n "$id" ] || return 0
	# one stat for all processes; those we may not look into just fail
	stat -L -c '%d:%i %n' /proc/[0-9]*/root/var/lib/libvirt 2>/dev/null |
		while read -r di path; do
			[ "$di" = "$id" ] || continue
			p=${path#/proc/}
			p=${p%%/*}
			_lv_alive "$p" && ! _lv_mine "$p" && echo "$p"
		done
	return 0
}

_lv_in_instance() {
	[ -n "${2:-}" ] && [ "$(stat -L -c %d:%i "/proc/$1/root/var/lib/libvirt" 2>/dev/null)" = "$2" ]
}

# Instance state. /run/esfm-lv.root (in the private tmpfs) names LV_ROOT: pid files under
# /run are only believed while it does, so nothing ever reads or signals from the real /run.
_lv_id() { cat "$LV_ROOT/state/id" 2>/dev/null; }
_lv_run_is_ours() {
	[ -n "${LV_ROOT:-}" ] && [ "$(cat /run/esfm-lv.root 2>/dev/null)" = "$LV_ROOT" ]
}

# _lv_daemon_pid libvirtd|virtlogd: the live daemon of this instance, from its pid file.
_lv_daemon_pid() {
	local p
	_lv_run_is_ours || return 1
	p=$(_lv_pidfile "/run/$1.pid") || return 1
	_lv_alive "$p" "$1" && _lv_in_instance "$p" "$(_lv_id)" && printf '%s' "$p"
}

# Remember the QEMU pids of this instance (libvirt's pid files), for lv_stop.
_lv_track_qemu() {
	local f p
	_lv_run_is_ours || return 0
	for f in /run/libvirt/qemu/*.pid; do
		[ -e "$f" ] || continue
		p=$(_lv_pidfile "$f") || continue
		grep -qx "$p" "$LV_ROOT/state/qemu.pids" 2>/dev/null || echo "$p" >>"$LV_ROOT/state/qemu.pids"
	done
}

# --- daemons ---------------------------------------------------------------------------

_lv_wait_ready() {
	local t=$1 pid=$2 end out
	end=$((SECONDS + t))
	while :; do
		if ! _lv_alive "$pid" libvirtd; then
			_lv_err "libvirtd ($pid) died while starting"
			lv_diag >&2
			return 1
		fi
		if out=$(timeout -k 2 10 virsh -c "$LV_URI" version 2>&1); then
			return 0
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			_lv_err "libvirtd did not answer within ${t}s: $out"
			lv_diag >&2
			return 1
		fi
		sleep 0.1
	done
}

_lv_start_libvirtd() {
	local t=$1 end p
	_lv_run_is_ours || { _lv_err "/run is not the private tmpfs"; return 1; }
	rm -f /run/libvirtd.pid
	if ! libvirtd -d </dev/null >>"$LV_ROOT/state/libvirtd.stderr" 2>&1; then
		_lv_err "libvirtd -d failed: $(tail -n 5 "$LV_ROOT/state/libvirtd.stderr")"
		return 1
	fi
	end=$((SECONDS + 10))
	until p=$(_lv_daemon_pid libvirtd); do
		if [ "$SECONDS" -ge "$end" ]; then
			_lv_err "libvirtd wrote no /run/libvirtd.pid"
			lv_diag >&2
			return 1
		fi
		sleep 0.05
	done
	_lv_wait_ready "$t" "$p"
}

_lv_start_virtlogd() {
	local end
	_lv_run_is_ours || { _lv_err "/run is not the private tmpfs"; return 1; }
	if ! virtlogd -d </dev/null >>"$LV_ROOT/state/virtlogd.stderr" 2>&1; then
		_lv_err "virtlogd -d failed: $(tail -n 5 "$LV_ROOT/state/virtlogd.stderr")"
		return 1
	fi
	end=$((SECONDS + 10))
	until _lv_daemon_pid virtlogd >/dev/null && [ -S /run/libvirt/virtlogd-sock ]; do
		if [ "$SECONDS" -ge "$end" ]; then
			_lv_err "virtlogd did not come up (pid file, /run/libvirt/virtlogd-sock)"
			return 1
		fi
		sleep 0.05
	done
}

# _lv_kill_children PID GRACE: wait up to GRACE seconds for the children of PID (libvirtd:
# its hooks) to finish, then kill those left.
_lv_kill_children() {
	local kids p end=$((SECONDS + $2))
	while kids=$(ps -o pid= --ppid "$1" 2>/dev/null) && [ -n "$kids" ]; do
		if [ "$SECONDS" -ge "$end" ]; then
			for p in $kids; do
				_lv_err "killing $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)($p), still running under libvirtd"
				_lv_kill "$p" "" 5
			done
			return 0
		fi
		sleep 0.1
	done
}

# _lv_kill_instance: stop libvirtd, the QEMUs, virtlogd and then anything else of this
# instance (hooks and their helpers), all by pid, TERM then KILL, bounded. Returns non-zero
# if one of them is still alive afterwards.
_lv_kill_instance() {
	local id p qp rc=0
	id=$(_lv_id)
	_lv_track_qemu
	p=$(_lv_daemon_pid libvirtd) && { _lv_kill "$p" libvirtd 10 || rc=1; }
	qp="$(cat "$LV_ROOT/state/qemu.pids" 2>/dev/null) $(_lv_instance_pids "$id")"
	for p in $qp; do
		_lv_in_instance "$p" "$id" || continue
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		qemu-system*) _lv_kill "$p" qemu-system 10 || rc=1 ;;
		libvirtd) _lv_kill "$p" libvirtd 10 || rc=1 ;;
		esac
	done
	p=$(_lv_daemon_pid virtlogd) && { _lv_kill "$p" virtlogd 10 || rc=1; }
	for p in $(_lv_instance_pids "$id"); do
		_lv_kill "$p" "" 5 || rc=1
	done
	return "$rc"
}

# Watchdog: if the test dies without lv_stop (SIGKILL, a runner's timeout), it stops the
# daemons and QEMUs anyway and leaves the mounts alone (the namespace goes with its last
# process). It only signals pids of this instance.
_lv_start_watchdog() {
	local owner=$1
	(
		_LV_SELF=$BASHPID sp=
		trap - EXIT INT HUP
		trap '[ -z "$sp" ] || kill "$sp" 2>/dev/null; exit 0' TERM
		while kill -0 "$owner" 2>/dev/null; do
			sleep 1 &
			sp=$!
			wait "$sp"
		done
		trap - TERM
		[ ! -e "$LV_ROOT/state/stopped" ] || exit 0
		if _lv_kill_instance && [ "${LV_KEEP:-0}" != 1 ]; then
			# only the sources of our mounts live there, never a mount point
			rm -rf --one-file-system -- "$LV_ROOT"
		fi
	) </dev/null >/dev/null 2>&1 &
	echo "$!" >"$LV_ROOT/state/watchdog.pid"
}

# --- public ----------------------------------------------------------------------------

lv_install_hook() {
	local src=$1 name=${2:-} dst
	if [ -z "${LV_HOOKDIR:-}" ] || [ ! -d "$LV_HOOKDIR" ]; then
		_lv_err "lv_install_hook: no private libvirtd (lv_start)"
		return 1
	fi
	if [ ! -f "$src" ] || [ ! -x "$src" ]; then
		_lv_err "hook '$src' is not an executable file"
		return 1
	fi
	[ -n "$name" ] || name=$(basename -- "$src")
	dst=$LV_HOOKDIR/$name
	[ ! -e "$dst" ] || { _lv_err "hook '$name' is already installed"; return 1; }
	install -o root -g root -m 0755 -- "$src" "$dst"
}

# _lv_conf_set FILE KEY VALUE: comment out any setting of KEY (a list may span lines) in a
# libvirt config file and append KEY = VALUE.
_lv_conf_set() {
	local f=$1 k=$2 v=$3
	[ -f "$f" ] || : >"$f"
	awk -v k="$k" '
		!on && $0 ~ "^[ \t]*" k "[ \t]*=" { on = 1; d = 0 }
		on {
			t = $0; d += gsub(/\[/, "", t); t = $0; d -= gsub(/\]/, "", t)
			print "#" $0
			if (d <= 0) on = 0
			next
		}
		{ print }
		END { print ""; print "# esfm test harness (tests/lib/libvirtd.sh): private instance"; print k " = " v }
	' v="$v" "$f" >"$f.new" && cat "$f.new" >"$f" && rm -f "$f.new"
}

lv_start() {
	local t=${LV_START_TIMEOUT:-60} root h d m
	_lv_in_private_ns || return 1
	if [ -n "${LV_ROOT:-}" ] && [ -d "$LV_ROOT/state" ] && [ ! -e "$LV_ROOT/state/stopped" ]; then
		_lv_err "lv_start: already started (LV_ROOT=$LV_ROOT)"
		return 1
	fi
	if [ -e /run/esfm-lv.root ]; then
		_lv_err "lv_start: another instance owns /run in this namespace"
		return 1
	fi
	for h in libvirtd virtlogd virsh timeout install; do
		command -v "$h" >/dev/null || { _lv_err "lv_start: $h not found"; return 1; }
	done
	for h in "$@"; do
		if [ ! -f "$h" ] || [ ! -x "$h" ]; then
			_lv_err "lv_start: hook '$h' is not an executable file"
			return 1
		fi
	done

	root=$(mktemp -d "${TMPDIR:-/tmp}/esfm-lv.XXXXXX") || return 1
	chmod 0755 "$root"
	mkdir "$root/state"
	LV_ROOT=$root
	LV_HOOKDIR=$root/etc/hooks/qemu.d
	export LV_ROOT LV_HOOKDIR

	# /etc/libvirt: a copy, with cgroups off, no autostart, daemon logs to files.
	if ! cp -a /etc/libvirt "$root/etc"; then
		lv_stop
		return 1
	fi
	rm -f "$root"/etc/qemu/networks/autostart/* "$root"/etc/storage/autostart/* \
		"$root"/etc/qemu/autostart/* 2>/dev/null
	rm -rf "$root/etc/hooks"
	mkdir -p "$LV_HOOKDIR"
	chmod 0755 "$root/etc/hooks" "$LV_HOOKDIR"
	if ! _lv_conf_set "$root/etc/qemu.conf" cgroup_controllers '[ ]' ||
		! _lv_conf_set "$root/etc/libvirtd.conf" log_outputs '"3:file:/var/log/libvirt/libvirtd.log"' ||
		! _lv_conf_set "$root/etc/virtlogd.conf" log_outputs '"3:file:/var/log/libvirt/virtlogd.log"'; then
		lv_stop
		return 1
	fi
	for h in "$@"; do
		lv_install_hook "$h" || { lv_stop; return 1; }
	done

	# /var/lib/libvirt: the real one's top-level directories, owners and modes, plus qemu/.
	mkdir -p "$root/lib" "$root/log/qemu"
	chmod 0755 "$root/lib" "$root/log"
	for d in /var/lib/libvirt/*/ qemu; do
		d=$(basename "$d")
		[ -e "$root/lib/$d" ] && continue
		mkdir -p "$root/lib/$d"
		if [ -d "/var/lib/libvirt/$d" ]; then
			chown --reference="/var/lib/libvirt/$d" "$root/lib/$d"
			chmod --reference="/var/lib/libvirt/$d" "$root/lib/$d"
		fi
	done
	stat -c %d:%i "$root/lib" >"$root/state/id"
	_lv_last_id=$(cat "$root/state/id") _lv_last_pids=

	for m in "$root/etc:/etc/libvirt" "$root/lib:/var/lib/libvirt" "$root/log:/var/log/libvirt" "tmpfs:/run"; do
		if [ "${m%%:*}" = tmpfs ]; then
			mount -t tmpfs -o mode=0755,size=64m esfm-lv-run /run
		else
			mkdir -p "${m#*:}" && mount --bind "${m%%:*}" "${m#*:}"
		fi || {
			_lv_err "lv_start: mounting ${m#*:} failed"
			lv_stop
			return 1
		}
		echo "${m#*:}" >>"$root/state/mounts"
	done
	echo "$root" >/run/esfm-lv.root
	# what the tmpfs hides and libvirt (or the tests) may need
	mkdir -p /run/libvirt /run/lock /run/user
	chmod 1777 /run/lock

	_lv_start_watchdog "${BASHPID:-$$}"
	if ! _lv_start_virtlogd || ! _lv_start_libvirtd "$t"; then
		lv_stop
		return 1
	fi
	return 0
}

lv_virsh() {
	timeout -k 5 "${LV_VIRSH_TIMEOUT:-60}" virsh -c "$LV_URI" "$@"
}

lv_restart() {
	local pid
	_lv_run_is_ours || { _lv_err "lv_restart: no private libvirtd (lv_start)"; return 1; }
	_lv_track_qemu
	if pid=$(_lv_daemon_pid libvirtd); then
		kill -TERM "$pid"
		if ! _lv_wait_exit "$pid" 30; then
			_lv_err "lv_restart: libvirtd ($pid) did not exit within 30 s"
			return 1
		fi
	fi
	_lv_start_libvirtd "${LV_START_TIMEOUT:-60}" || return 1
	_lv_track_qemu
}

lv_sighup() {
	local pid
	_lv_run_is_ours || { _lv_err "lv_sighup: no private libvirtd (lv_start)"; return 1; }
	pid=$(_lv_daemon_pid libvirtd) || { _lv_err "lv_sighup: libvirtd is not running"; return 1; }
	kill -HUP "$pid"
	_lv_wait_ready "${LV_START_TIMEOUT:-60}" "$pid"
}

lv_stop() {
	local d m p rc=0 mounts
	if [ -z "${LV_ROOT:-}" ] || [ ! -d "$LV_ROOT/state" ] || [ -e "$LV_ROOT/state/stopped" ]; then
		unset LV_ROOT LV_HOOKDIR
		return 0
	fi
	_lv_last_id=$(_lv_id)
	_lv_track_qemu
	if p=$(_lv_daemon_pid libvirtd); then
		# Every virsh call has returned by now, so a hook still running after a grace
		# period is stuck, and would stall the destroys and libvirtd's exit: kill it.
		_lv_kill_children "$p" 2
		for d in $(LV_VIRSH_TIMEOUT=30 lv_virsh list --name 2>/dev/null); do
			LV_VIRSH_TIMEOUT=30 lv_virsh destroy "$d" >/dev/null 2>&1 ||
				_lv_err "lv_stop: virsh destroy $d failed"
		done
	fi
	_lv_last_pids="$(_lv_daemon_pid libvirtd) $(_lv_daemon_pid virtlogd) $(cat "$LV_ROOT/state/qemu.pids" 2>/dev/null)"
	_lv_kill_instance || rc=1
	p=$(cat "$LV_ROOT/state/watchdog.pid" 2>/dev/null) && [ -n "$p" ] && {
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	}
	if [ -n "$(lv_leftovers)" ]; then
		# a daemon that outlived its private dirs would write to the real ones
		_lv_err "lv_stop: processes left ($(lv_leftovers | tr '\n' ' ')), mounts kept"
		return 1
	fi
	mounts=$(tac "$LV_ROOT/state/mounts" 2>/dev/null)
	for m in $mounts; do
		umount "$m" 2>/dev/null || umount -l "$m" || rc=1
	done
	touch "$LV_ROOT/state/stopped"
	if [ "${LV_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then
		_lv_err "lv_stop: private root kept in $LV_ROOT"
	else
		rm -rf --one-file-system -- "$LV_ROOT"
	fi
	unset LV_ROOT LV_HOOKDIR
	return "$rc"
}

lv_leftovers() {
	local p id pids
	if [ -n "${LV_ROOT:-}" ] && [ -d "$LV_ROOT/state" ]; then
		id=$(_lv_id)
		pids="$(_lv_daemon_pid libvirtd) $(_lv_daemon_pid virtlogd) $(cat "$LV_ROOT/state/qemu.pids" 2>/dev/null)"
	else
		id=${_lv_last_id:-}
		pids=${_lv_last_pids:-}
	fi
	{
		for p in $pids; do
			case $(cat "/proc/$p/comm" 2>/dev/null) in
			libvirtd | virtlogd | qemu-system*) _lv_alive "$p" && echo "$p" ;;
			esac
		done
		_lv_instance_pids "$id"
	} | sort -un
	return 0
}

_lv_xml_escape() {
	local s=$1
	s=${s//&/&amp;}
	s=${s//</&lt;}
	s=${s//>/&gt;}
	s=${s//\'/&apos;}
	s=${s//\"/&quot;}
	printf '%s' "$s"
}

lv_domain_xml() {
	local name=${1:-} meta=${2:-} tmpl h uuid
	[ -n "$name" ] || { _lv_err "lv_domain_xml NAME [METADATA]"; return 1; }
	if [ -n "$meta" ] && [ -f "$meta" ]; then meta=$(cat -- "$meta") || return 1; fi
	tmpl=$(cat "$LV_DOMAIN_DIR/minimal-q35.xml") || return 1
	tmpl="<domain${tmpl#*<domain}" # drop the explanatory comment
	h=$(printf 'esfm-lv:%s' "$name" | md5sum)
	uuid="${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}"
	tmpl=${tmpl//@NAME@/"$(_lv_xml_escape "$name")"}
	tmpl=${tmpl//@UUID@/"$uuid"}
	printf '%s%s%s\n' "${tmpl%%@METADATA@*}" "$meta" "${tmpl#*@METADATA@}"
}

lv_wait_state() {
	local name=$1 want=$2 t=${3:-30} end st
	end=$((SECONDS + t))
	while :; do
		st=$(LV_VIRSH_TIMEOUT=10 lv_virsh domstate "$name" 2>&1 | head -n 1)
		[ "$st" = "$want" ] && return 0
		if [ "$SECONDS" -ge "$end" ]; then
			_lv_err "lv_wait_state: $name is '$st', not '$want' after ${t}s"
			return 1
		fi
		sleep 0.1
	done
}

lv_qemu_pid() {
	local p
	_lv_run_is_ours || return 1
	p=$(_lv_pidfile "/run/libvirt/qemu/$1.pid") && _lv_alive "$p" qemu-system || return 1
	_lv_track_qemu
	echo "$p"
}

lv_diag() {
	local f
	[ -n "${LV_ROOT:-}" ] && [ -d "$LV_ROOT/state" ] || return 0
	for f in "$LV_ROOT"/state/*.stderr "$LV_ROOT"/log/libvirtd.log "$LV_ROOT"/log/virtlogd.log \
		"$LV_ROOT"/log/qemu/*.log; do
		[ -s "$f" ] || continue
		echo "# --- ${f#"$LV_ROOT"/}"
		tail -n 15 "$f" | sed 's/^/# /'
	done
}
