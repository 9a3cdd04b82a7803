# esfm: program a bitstream into an FPGA over JTAG with Vivado's hardware manager.
#
#   vivado -mode batch -nojournal -nolog -notrace -source program-vivado.tcl \
#          -tclargs BITSTREAM [target=SELECTOR] [server=HOST:PORT]
#
# SELECTOR picks the JTAG target (one cable, usually one card): a part of its name, which holds the
# cable's serial number (e.g. localhost:3121/xilinx_tcf/Xilinx/21770205K01L); empty means "the only
# one" and is an error when several are attached. The hw_server defaults to localhost:3121 (Vivado
# starts a local hw_server itself). On the target, the programmed device is the one FPGA of its
# chain (devices whose part starts with "xc"; debug cores such as arm_dap are not FPGAs).
#
# esfm runs this with execve (flash_tool = vivado in esfm.conf), after the PF has left the PCI bus,
# and rescans the bus afterwards. Exit status 0: programmed; 1: nothing was programmed, the reason
# is the last line on stderr ("esfm-program: ...").

# The one element of $items that contains $selector (any, when it is empty), else fail naming
# every candidate, so that the operator can write a selector.
proc pick_one {what items selector none_hint many_hint} {
	set matches {}
	foreach item $items {
		if {$selector eq "" || [string first $selector $item] >= 0} {
			lappend matches $item
		}
	}
	if {[llength $matches] == 1} {
		return [lindex $matches 0]
	}
	if {[llength $items] == 0} {
		fail "no $what found; $none_hint"
	}
	if {[llength $matches] == 0} {
		fail "no $what matches '$selector' (found: [join $items {, }])"
	}
	if {$selector eq ""} {
		fail "[llength $matches] ${what}s found ([join $matches {, }]); $many_hint"
	}
	fail "[llength $matches] ${what}s match '$selector' ([join $matches {, }]); $many_hint"
}

# fail, and the arguments: bitstream, selector, server.
set program program-vivado.tcl
source [file join [file dirname [info script]] program-args.tcl]

open_hw_manager
if {[catch {connect_hw_server -url $server} msg]} {
	fail "cannot connect to hw_server at $server: $msg"
}
set target [pick_one "JTAG target" [get_hw_targets] $selector \
	"is the card's JTAG cable connected to this host?" \
	"name one with flash_target (a part of its name, e.g. the cable's serial number)"]
puts "esfm-program: target $target"
if {[catch {open_hw_target $target} msg]} {
	fail "cannot open JTAG target $target: $msg"
}
set fpgas {}
foreach dev [get_hw_devices] {
	if {[string match -nocase "xc*" [get_property PART $dev]]} {
		lappend fpgas $dev
	}
}
set dev [pick_one "FPGA on $target" $fpgas "" "is this the card's cable?" \
	"esfm programs cards with one FPGA on their JTAG chain"]
puts "esfm-program: device $dev, bitstream $bitstream"
current_hw_device $dev
refresh_hw_device -update_hw_probes false $dev
set_property PROBES.FILE {} $dev
set_property PROGRAM.FILE $bitstream $dev
if {[catch {program_hw_devices $dev} msg]} {
	fail "programming $dev on $target failed: $msg"
}
refresh_hw_device $dev
close_hw_target $target
disconnect_hw_server $server
close_hw_manager
puts "esfm-program: programmed $dev"
exit 0
