#!/usr/bin/env bash
# Programming an FPGA with the shipped JTAG scripts: `esfm PF init N -b FILE` with
# flash_tool = vivado (and xsct) in esfm.conf, against the sysfs simulator and libvirt's test
# driver. The tools are stand-ins on disk (fake vivado / xsct executables) that record their argv
# and whether the PF was on the bus, then run the real flash/program-*.tcl under tclsh with the
# recording stubs of tests/flash/. Checked: the argv esfm builds (script, bitstream, the pool's
# <jtag target> or flash_target, hw_server), the order PF removed -> programmer -> rescan -> qmax
# -> VFs, a programmer that refuses (two cards, no target) failing the command with its reason and
# the PF rescanned, and configuration errors (no vivado_path, a missing script, no programmer)
# refused before anything is touched.
set -u
. "$ESFM_TOP/tests/lib/tap.sh"
. "$ESFM_TOP/tests/lib/sim.sh"

top=$ESFM_TOP
if ! command -v tclsh >/dev/null; then
	t_fail "tclsh is installed (Debian package tcl, .ci/deps.sh)"
	t_done
	exit 1
fi
work=$(mktemp -d /tmp/esfm-flash-sim.XXXXXX)
mnt=$work/sys
trap 'sim_finish "$work"' EXIT
sim_up "$top/tests/sim/topologies/qdma.topo" "$mnt"
PF=0000:83:00.0
pfdir=devices/pci0000:83/$PF

mkdir -p "$work/conf/pools.d" "$work/state" "$work/bin" "$work/fw"
chmod 700 "$work/state"
printf '<node/>\n' >"$work/node.xml"
bit=$work/fw/qdma_demo.bit
printf 'bitstream\n' >"$bit"
for tool in vivado xsct; do
	cat >"$work/bin/$tool" <<TOOL
#!/bin/sh
# Stand-in for $tool: records its argv and whether the PF is on the bus, then runs the Tcl script
# it was given under the recording stub.
printf '%s\n' "\$@" >"$work/$tool.argv"
if [ -e "$mnt/bus/pci/devices/$PF" ]; then echo "pf present" >>"$work/$tool.argv"; else echo "pf absent" >>"$work/$tool.argv"; fi
if [ $tool = vivado ]; then
	while [ \$# -gt 0 ]; do
		case \$1 in -source) script=\$2; shift ;; -tclargs) shift; break ;; esac
		shift
	done
else
	script=\$1; shift
fi
ESFM_FAKE_LOG=$work/$tool.calls exec tclsh "$top/tests/flash/$tool-stub.tcl" "\$script" "\$@"
TOOL
	chmod 755 "$work/bin/$tool"
done
pool() { # extra XML inside <pool>
	printf "<pool type='sriov'><name>fpga0</name><source><pf address='%s'/></source><vfs count='8'/>%s</pool>\n" \
		"$PF" "${1:-}" >"$work/conf/pools.d/fpga0.xml"
}
conf() { # extra esfm.conf lines
	{
		echo "sysfs_root = $mnt"
		echo "state_dir = $work/state"
		echo "template_dir = $top/xml-templates"
		echo "libvirt_uri = test://$work/node.xml"
		echo "vf_timeout_ms = 3000"
		printf '%s\n' "$@"
	} >"$work/conf/esfm.conf"
}
export ESFM_CONF_DIR=$work/conf
unset ESFM_SYSFS_ROOT ESFM_STATE_DIR ESFM_LIBVIRT_URI ESFM_TEMPLATE_DIR
e() { t_run E "$ESFM_BUILD/esfm" "$@" </dev/null; }
log_clear() { sim_ctl "log clear"; }
wlog() { sim_log | grep -v '^#'; }
# t_order WHAT LOG REGEX...: the regexes match lines of LOG in this order.
t_order() {
	local what=$1 log=$2 n=0 re
	shift 2
	for re in "$@"; do
		n=$(printf '%s\n' "$log" | grep -nE -- "$re" | awk -F: -v min="$n" '$1 > min { print $1; exit }')
		[ -n "$n" ] || { t_fail "$what" "not found in order: $re" "$log"; return; }
	done
	t_pass "$what"
}

# --- Vivado, the pool names its card ---
export ESFM_FAKE_CARDS="21770205K01L:xcu55c 21770205K02L:xcu55c"
pool "<jtag target='K02L'/>"
conf "flash_tool = vivado" "vivado_path = $work/bin/vivado" "flash_script_dir = $top/flash" \
	"hw_server = localhost:3121"
log_clear
e $PF init 2 -b "$bit" -y -v
t_is "init 2 -b with flash_tool = vivado: exit 0" "$E_rc" 0
[ "$E_rc" = 0 ] || t_diag "$E_out" "$E_err"
t_like "the programmer's output goes to the log, line by line and tagged" "$E_err" \
	"PF $PF: programmer: esfm-program: programmed xcu55c_"
t_is "vivado's argv: batch mode, the shipped script, the bitstream, the pool's target, hw_server" \
	"$(cat "$work/vivado.argv" 2>/dev/null)" "-mode
batch
-nojournal
-nolog
-notrace
-source
$top/flash/program-vivado.tcl
-tclargs
$bit
target=K02L
server=localhost:3121
pf absent"
t_like "the card the pool names was programmed" "$(cat "$work/vivado.calls" 2>/dev/null)" \
	"program_hw_devices xcu55c_0 file=$bit card=21770205K02L"
t_order "PF removed, programmed, rescan, qmax, VFs" "$(wlog)" "^$pfdir/remove 1$" "^bus/pci/rescan 1$" \
	"^$pfdir/qdma/qmax 32$" "^$pfdir/sriov_numvfs 2$"
t_like "the step is reported" "$E_out" "ok +[0-9]+ ms  program $work/bin/vivado"
e $PF print_kernel
t_like "print_kernel names the bitstream" "$E_out" "^$bit \(flashed "

# --- Vivado, two cards and no target anywhere: the script refuses, esfm fails and rescans ---
pool ""
conf "flash_tool = vivado" "vivado_path = $work/bin/vivado" "flash_script_dir = $top/flash"
rm -f "$work/vivado.calls"
log_clear
e $PF init 2 -b "$bit" -y
t_is "two cards, no target: exit 1" "$E_rc" 1
t_like "... the script's reason reaches the operator in the error line" "$E_err" \
	"exited with status 1: esfm-program: 2 JTAG targets found"
t_like "... and esfm's error names the PF" "$E_err" "PF $PF: programming failed"
t_unlike "... nothing was programmed" "$(cat "$work/vivado.calls" 2>/dev/null)" "program_hw_devices"
t_order "... the PF was rescanned" "$(wlog)" "^$pfdir/remove 1$" "^bus/pci/rescan 1$"
t_is "... and is back on the bus" "$(cat "$mnt/$pfdir/vendor")" 0x10ee

# --- xsct with flash_target from esfm.conf ---
conf "flash_tool = xsct" "xsct_path = $work/bin/xsct" "flash_script_dir = $top/flash" "flash_target = K01L"
e $PF init 2 -b "$bit" -y
t_is "init 2 -b with flash_tool = xsct: exit 0" "$E_rc" 0
t_is "xsct's argv: the script, the bitstream, flash_target" "$(cat "$work/xsct.argv" 2>/dev/null)" \
	"$top/flash/program-xsct.tcl
$bit
target=K01L
pf absent"
t_like "the card flash_target names was programmed" "$(cat "$work/xsct.calls" 2>/dev/null)" \
	"fpga -file $bit card=21770205K01L"

# --- configuration errors: refused before anything is touched ---
refused() { # what regex
	log_clear
	e $PF init 2 -b "$bit" -y
	t_is "$1: exit 2" "$E_rc" 2
	t_like "... one line naming the setting" "$E_err" "$2"
	t_is "... nothing written to sysfs" "$(wlog)" ""
}
conf "flash_tool = vivado" "flash_script_dir = $top/flash"
refused "flash_tool = vivado without vivado_path" "flash_tool = vivado needs vivado_path in $work/conf/esfm.conf"
conf "flash_tool = vivado" "vivado_path = $work/bin/vivado" "flash_script_dir = $work"
refused "a missing programming script" "programming script '$work/program-vivado.tcl' cannot be read"
conf "flash_tool = vivado" "vivado_path = $work/fw/qdma_demo.bit" "flash_script_dir = $top/flash"
refused "a vivado_path that cannot run" "vivado_path '$work/fw/qdma_demo.bit' cannot be run"
conf
refused "no programmer at all" "no programmer configured in $work/conf/esfm.conf.*flash_tool = vivado"
conf "flash_tool = jtag"
refused "an unknown flash_tool" "esfm.conf:[0-9]+: invalid value for flash_tool: 'jtag'"
conf "flash_tool = vivado" "vivado_path = $work/bin/vivado" "flash_tool = xsct"
refused "flash_tool set twice" "esfm.conf:[0-9]+: flash_tool is set twice"
conf "flash_tool = vivado" "flash_target = two words"
refused "a flash_target with a space" "invalid value for flash_target"

t_done
