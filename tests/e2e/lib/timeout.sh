# shellcheck shell=bash
# e2e_scenario_timeout SCRIPT: the seconds SCRIPT may run before the runner kills it:
# $ESFM_E2E_SCENARIO_TIMEOUT when set, else the script's own "# e2e-timeout: SECS" line, else 300.
# Used by run-e2e.sh (host watchdog) and guest/l1-main.sh (the kill), so both agree.
e2e_scenario_timeout() {
	local t
	if [ -n "${ESFM_E2E_SCENARIO_TIMEOUT:-}" ]; then
		echo "$ESFM_E2E_SCENARIO_TIMEOUT"
		return
	fi
	t=$(sed -n 's/^# e2e-timeout: *\([0-9][0-9]*\) *$/\1/p' "$1" 2>/dev/null | head -n1)
	echo "${t:-300}"
}
