# shellcheck shell=bash
# Common helpers for the e2e scenarios (they run as root inside L1). Source it first:
#   . "$(dirname "$0")/../lib/common.sh"
# It sources tests/lib/tap.sh (t_ok, t_is, t_like, t_done, ...) and sets:
#   E2E_SRC        the project copy inside L1 (ESFM_E2E_SRC, default: this checkout)
#   E2E_BUILD      its release build dir (ESFM_E2E_BUILD)
#   E2E_WORK       scratch dir of this scenario (ESFM_E2E_WORK), created here
#   E2E_ARTIFACTS  dir whose files end up in the host's results (ESFM_E2E_ARTIFACTS)
#   PCICTL         build/release/tests/tools/esfm-pcictl
#   VIRSH          virsh on qemu:///system, every call bounded by a timeout

E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_SRC=${ESFM_E2E_SRC:-$(cd "$E2E_LIB/../../.." && pwd)}
E2E_BUILD=${ESFM_E2E_BUILD:-$E2E_SRC/build/release}
E2E_NAME=$(basename "$0" .sh)
E2E_WORK=${ESFM_E2E_WORK:-/var/tmp/esfm-e2e/$E2E_NAME}
E2E_ARTIFACTS=${ESFM_E2E_ARTIFACTS:-$E2E_WORK/artifacts}
export ESFM_TEMPLATE_DIR=${ESFM_TEMPLATE_DIR:-$E2E_SRC/xml-templates}
PCICTL=$E2E_BUILD/tests/tools/esfm-pcictl
E2E_URI=qemu:///system
mkdir -p "$E2E_WORK" "$E2E_ARTIFACTS"

# shellcheck source=../../lib/tap.sh
. "$E2E_SRC/tests/lib/tap.sh"

# t_diag text...: a TAP diagnostic line.
t_diag() { printf '# %s\n' "$*"; }

# t_bail "why": the scenario cannot go on; the remaining checks are not run.
t_bail() {
	t_fail "$1" "${@:2}"
	t_diag "stopping here: $1"
	t_done
	exit 1
}

# virsh with a bound (default 60 s, E2E_VIRSH_TIMEOUT) on every call.
virsh_() { timeout --kill-after=5 "${E2E_VIRSH_TIMEOUT:-60}" virsh -c "$E2E_URI" "$@"; }

# pcictl args...: esfm-pcictl, bounded.
pcictl() { timeout --kill-after=5 60 "$PCICTL" "$@"; }

# e2e_wait SECONDS cmd args...: polls the command (every 0.25 s) until it succeeds; 1 on timeout.
e2e_wait() {
	local end=$(($(date +%s) + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.25
	done
}

# e2e_find_pf: prints the first SR-IOV capable 1b36:0010 (QEMU NVMe) PF, by plain sysfs.
e2e_find_pf() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[ -f "$d/sriov_totalvfs" ] || continue
		[ "$(cat "$d/vendor")" = 0x1b36 ] && [ "$(cat "$d/device")" = 0x0010 ] || continue
		basename "$d"
		return 0
	done
	return 1
}

# e2e_kv KEY TEXT: value of "KEY=value" in the key=value lines of TEXT.
e2e_kv() { printf '%s\n' "$2" | sed -n "s/^$1=//p" | head -n1; }

# e2e_reset_pf PF: no VFs, their drivers and driver_override cleared, autoprobe back on.
# Plain sysfs on purpose: the cleanup must not depend on the code under test.
e2e_reset_pf() {
	local pf=/sys/bus/pci/devices/$1 vf
	for vf in "$pf"/virtfn*; do
		[ -e "$vf" ] || continue
		[ -e "$vf/driver" ] && basename "$(readlink -f "$vf")" >"$vf/driver/unbind" 2>/dev/null
		echo >"$vf/driver_override" 2>/dev/null
	done
	[ "$(cat "$pf/sriov_numvfs")" = 0 ] || timeout 60 sh -c "echo 0 >'$pf/sriov_numvfs'"
	echo 1 >"$pf/sriov_drivers_autoprobe" 2>/dev/null
	return 0
}

# e2e_destroy_domain NAME: destroy (if running) and undefine, quietly.
e2e_destroy_domain() {
	virsh_ domstate "$1" >/dev/null 2>&1 || return 0
	virsh_ destroy "$1" >/dev/null 2>&1
	virsh_ undefine "$1" >/dev/null 2>&1
	return 0
}

# e2e_require_pcictl: bail out (one failing check) when the test tool was not built.
e2e_require_pcictl() {
	[ -x "$PCICTL" ] || t_bail "esfm-pcictl is built" "missing: $PCICTL (make tests)"
}
