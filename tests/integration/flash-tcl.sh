#!/usr/bin/env bash
# The programming scripts esfm ships (flash/program-vivado.tcl, flash/program-xsct.tcl) run under a
# real tclsh against stand-ins of the Vivado and xsct commands (tests/flash/*-stub.tcl) that record
# every call: the order and arguments of the calls, target selection (the only card; a selector
# naming one of two cards by serial; two cards and no selector; a selector matching none), the
# bitstream path, a missing bitstream, an unreachable hw_server and a failed programming, each with
# its exit status and its one-line reason.
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/lib/tap.sh"

if ! command -v tclsh >/dev/null; then
	t_fail "tclsh is installed (Debian package tcl, .ci/deps.sh)"
	t_done
	exit 1
fi
work=$(mktemp -d /tmp/esfm-flash-tcl.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
bit=$work/qdma_demo.bit
printf 'not really a bitstream\n' >"$bit"
one=21770205K01L:xcu55c
two="21770205K01L:xcu55c 21770205K02L:xcu55c"

# prog TOOL CARDS FAIL ARGS...: runs the tool's script under its stub; sets rc, out, err, calls.
prog() {
	local tool=$1
	: >"$work/log"
	ESFM_FAKE_CARDS=$2 ESFM_FAKE_FAIL=$3 ESFM_FAKE_LOG=$work/log \
		tclsh "$top/tests/flash/$tool-stub.tcl" "$top/flash/program-$tool.tcl" "${@:4}" \
		>"$work/out" 2>"$work/err"
	rc=$?
	out=$(cat "$work/out") err=$(cat "$work/err") calls=$(cat "$work/log")
}
no_program() { ! grep -qE '^(program_hw_devices|fpga) ' <<<"$calls"; }

# --- Vivado -------------------------------------------------------------------------------------
prog vivado "$one" "" "$bit"
t_is "vivado, one card: exit 0" "$rc" 0
t_is "vivado, one card: the hardware-manager sequence" "$calls" "open_hw_manager
connect_hw_server -url localhost:3121
get_hw_targets
open_hw_target localhost:3121/xilinx_tcf/Xilinx/21770205K01L
get_hw_devices
current_hw_device xcu55c_0
refresh_hw_device -update_hw_probes false xcu55c_0
set_property PROBES.FILE  xcu55c_0
set_property PROGRAM.FILE $bit xcu55c_0
program_hw_devices xcu55c_0 file=$bit card=21770205K01L
refresh_hw_device xcu55c_0
close_hw_target localhost:3121/xilinx_tcf/Xilinx/21770205K01L
disconnect_hw_server localhost:3121
close_hw_manager"
t_like "vivado, one card: says what it programmed" "$out" "programmed xcu55c_0"

prog vivado "$two" "" "$bit" target=02L server=hw1:3121
t_is "vivado, two cards, target=02L: exit 0" "$rc" 0
t_like "... programs the card with that serial" "$calls" "program_hw_devices xcu55c_0 file=$bit card=21770205K02L"
t_like "... on the named hw_server" "$calls" "connect_hw_server -url hw1:3121"

prog vivado "$two" "" "$bit"
t_is "vivado, two cards, no selector: exit 1" "$rc" 1
t_like "... names both targets and the fix" "$err" "esfm-program: 2 JTAG targets found \(.*21770205K01L, .*21770205K02L\); name one with flash_target"
t_ok "... and programs nothing" no_program

prog vivado "$two" "" "$bit" target=99X
t_is "vivado, selector matching no card: exit 1" "$rc" 1
t_like "... lists the targets found" "$err" "no JTAG target matches '99X' \(found: .*K01L, .*K02L\)"

prog vivado "$one" "" "$work/missing.bit"
t_is "vivado, missing bitstream: exit 1" "$rc" 1
t_like "... names the file" "$err" "esfm-program: bitstream '$work/missing.bit' is not a readable file"
t_is "... before touching the hardware manager" "$calls" ""

prog vivado "" "" "$bit"
t_is "vivado, no card attached: exit 1" "$rc" 1
t_like "... says so" "$err" "no JTAG target found; is the card's JTAG cable connected"

prog vivado "21770205K01L:arm_dap" "" "$bit"
t_is "vivado, a target without an FPGA: exit 1" "$rc" 1
t_like "... says so" "$err" "no FPGA on .*21770205K01L found"

prog vivado "$one" connect "$bit"
t_is "vivado, hw_server unreachable: exit 1" "$rc" 1
t_like "... names the server" "$err" "cannot connect to hw_server at localhost:3121"

prog vivado "$one" program "$bit"
t_is "vivado, programming fails: exit 1" "$rc" 1
t_like "... with Vivado's reason" "$err" "programming xcu55c_0 on .*K01L failed: .*End of startup status: LOW"

prog vivado "$one" "" "$bit" bogus
t_is "vivado, unknown argument: exit 1" "$rc" 1
t_like "... named" "$err" "unknown argument 'bogus'"

prog vivado "$one" "" ""
t_is "vivado, no arguments: exit 1 with usage" "$rc:$err" "1:esfm-program: usage: program-vivado.tcl BITSTREAM [target=SELECTOR] [server=HOST:PORT]"

# --- xsct ---------------------------------------------------------------------------------------
prog xsct "$one" "" "$bit"
t_is "xsct, one card: exit 0" "$rc" 0
t_is "xsct, one card: the command sequence" "$calls" "connect -url tcp:localhost:3121
targets -target-properties -filter name =~ \"xc*\"
targets -set 1
fpga -file $bit card=21770205K01L
disconnect"

prog xsct "21770205K01L:arm_dap,xcu55c 21770205K02L:xcu55c" "" "$bit" target=02L
t_is "xsct, two cards, target=02L: exit 0" "$rc" 0
t_like "... programs the card with that serial" "$calls" "fpga -file $bit card=21770205K02L"

prog xsct "$two" "" "$bit"
t_is "xsct, two cards, no selector: exit 1" "$rc" 1
t_like "... names both and the fix" "$err" "2 FPGA targets found \(xcu55c_0 \(cable .*21770205K01L\), xcu55c_0 \(cable .*21770205K02L\)\); name one with flash_target"
t_ok "... and programs nothing" no_program

prog xsct "$two" "" "$bit" target=nothing
t_is "xsct, selector matching none: exit 1" "$rc" 1
t_like "... lists the FPGA targets" "$err" "no FPGA target matches 'nothing'"

prog xsct "$one" "" "$work/missing.bit"
t_is "xsct, missing bitstream: exit 1, nothing called" "$rc:$calls" "1:"

prog xsct "" "" "$bit"
t_is "xsct, no FPGA target: exit 1" "$rc" 1
t_like "... says so" "$err" "no FPGA target found on localhost:3121"

prog xsct "$one" program "$bit"
t_is "xsct, programming fails: exit 1" "$rc" 1
t_like "... with xsct's reason" "$err" "programming xcu55c_0 .* failed: fpga configuration failed"

t_done
