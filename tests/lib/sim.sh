# shellcheck shell=bash
# The sysfs simulator for an integration script (source after tap.sh).
#   sim_up TOPOLOGY MOUNTPOINT  starts it (stopped by pid at exit, with the work dir cleaned by
#                               the caller); on failure reports one failed check and exits
#   sim_down                    stops it (idempotent)
#   sim_finish WORKDIR          sim_down, then removes WORKDIR unless the mount is still there
#                               (it is kept and said so) or ESFM_KEEP=1; for EXIT traps
#   sim_ctl COMMAND...          one line to sim-control (fault and latency injection)
#   sim_log                     the write log (one "<path> <value>" line per write)
SIM_PID=
SIM_MNT=

sim_up() {
	SIM_MNT=$2
	if ! SIM_PID=$("$ESFM_TOP/tests/sim/sim-start" "$1" "$SIM_MNT" 2>&1); then
		t_fail "the sysfs simulator starts" "$SIM_PID"
		SIM_PID=
		t_done
		exit 1
	fi
}

sim_down() {
	[ -n "$SIM_PID" ] && "$ESFM_TOP/tests/sim/sim-stop" "$SIM_MNT" "$SIM_PID" >/dev/null 2>&1
	SIM_PID=
}

sim_ctl() { printf '%s\n' "$*" >"$SIM_MNT/sim-control"; }
sim_log() { cat "$SIM_MNT/sim-control"; }

sim_finish() {
	sim_down
	if [ -n "$SIM_MNT" ] && mountpoint -q "$SIM_MNT" 2>/dev/null; then
		echo "# $SIM_MNT still mounted: $1 kept" >&2
	elif [ "${ESFM_KEEP:-0}" = 1 ]; then
		echo "# kept $1" >&2
	else
		rm -rf --one-file-system -- "$1"
	fi
}
