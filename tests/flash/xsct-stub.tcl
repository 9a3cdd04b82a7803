# Stand-ins for the xsct commands that flash/program-xsct.tcl uses, so that the script runs under a
# plain tclsh: every call is appended to $ESFM_FAKE_LOG, one per line.
#
#   tclsh xsct-stub.tcl SCRIPT ARGS...
#
# env: ESFM_FAKE_CARDS  the cards, words SERIAL:PART[,PART...]; each part is a target named PART_N
#                       (xsct's FPGA targets are named after the device, e.g. xcu55c_0)
#      ESFM_FAKE_FAIL   connect | program: that call raises an error
#      ESFM_FAKE_LOG    the call log
source [file join [file dirname [info script]] stub-common.tcl]
set all_targets {}
set current ""
if {[info exists env(ESFM_FAKE_CARDS)]} {
	set id 1
	foreach card $env(ESFM_FAKE_CARDS) {
		lassign [split $card :] serial parts
		set n 0
		foreach part [split $parts ,] {
			lappend all_targets [dict create target_id $id name "${part}_$n" \
				jtag_cable_serial $serial jtag_cable_name "Xilinx Alveo $serial"]
			incr id
			incr n
		}
	}
}

proc connect {opt url} {
	record connect $opt $url
	if {[failing connect]} { error "Connection refused: $url" }
}
proc disconnect {} { record disconnect }
# Only the two forms the script uses: -target-properties -filter {name =~ "PATTERN"}, and -set ID.
proc targets {args} {
	record targets {*}$args
	if {[lindex $args 0] eq "-set"} {
		set ::current [lindex $args 1]
		return
	}
	if {$args ne {-target-properties -filter {name =~ "xc*"}}} {
		error "stub: targets $args not modelled"
	}
	set out {}
	foreach t $::all_targets {
		if {[string match "xc*" [dict get $t name]]} { lappend out $t }
	}
	return $out
}
proc fpga {opt file} {
	foreach t $::all_targets {
		if {[dict get $t target_id] == $::current} { set serial [dict get $t jtag_cable_serial] }
	}
	record fpga $opt $file card=$serial
	if {[failing program]} { error "fpga configuration failed. DONE PIN is not HIGH" }
}

run_script
