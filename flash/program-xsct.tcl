# esfm: program a bitstream into an FPGA over JTAG with the Xilinx Software Command-line Tool.
#
#   xsct program-xsct.tcl BITSTREAM [target=SELECTOR] [server=HOST:PORT]
#
# SELECTOR picks the card: a part of the JTAG cable's serial number or name, or of the FPGA target's
# name; empty means "the only FPGA" and is an error when several are attached. The hw_server defaults
# to localhost:3121. FPGA targets are those whose name starts with "xc" (e.g. xcu55c_0); processor
# and debug targets (arm_dap, PS) are left alone.
#
# esfm runs this with execve (flash_tool = xsct in esfm.conf), after the PF has left the PCI bus,
# and rescans the bus afterwards. Exit status 0: programmed; 1: nothing was programmed, the reason
# is the last line on stderr ("esfm-program: ...").

# fail, and the arguments: bitstream, selector, server.
set program program-xsct.tcl
source [file join [file dirname [info script]] program-args.tcl]

if {[catch {connect -url tcp:$server} msg]} {
	fail "cannot connect to hw_server at $server: $msg"
}
# Every FPGA target, described for messages; the ones the selector matches, with their ids.
set found {}
set matches {}
foreach t [targets -target-properties -filter {name =~ "xc*"}] {
	set desc "[dict get $t name] (cable [dict get $t jtag_cable_name], serial [dict get $t jtag_cable_serial])"
	lappend found $desc
	set hay "[dict get $t name] [dict get $t jtag_cable_serial] [dict get $t jtag_cable_name]"
	if {$selector eq "" || [string first $selector $hay] >= 0} {
		lappend matches [list [dict get $t target_id] $desc]
	}
}
if {[llength $found] == 0} {
	fail "no FPGA target found on $server; is the card's JTAG cable connected?"
}
if {[llength $matches] == 0} {
	fail "no FPGA target matches '$selector' (found: [join $found {, }])"
}
if {[llength $matches] > 1} {
	set names {}
	foreach m $matches {
		lappend names [lindex $m 1]
	}
	set hint "name one with flash_target (a part of the cable's serial number)"
	if {$selector eq ""} {
		fail "[llength $matches] FPGA targets found ([join $names {, }]); $hint"
	}
	fail "[llength $matches] FPGA targets match '$selector' ([join $names {, }]); $hint"
}
lassign [lindex $matches 0] id desc
puts "esfm-program: target $desc, bitstream $bitstream"
targets -set $id
if {[catch {fpga -file $bitstream} msg]} {
	fail "programming $desc failed: $msg"
}
disconnect
puts "esfm-program: programmed $desc"
exit 0
