# Stand-ins for the Vivado hardware-manager commands that flash/program-vivado.tcl uses, so that the
# script runs under a plain tclsh: every call is appended to $ESFM_FAKE_LOG, one per line.
#
#   tclsh vivado-stub.tcl SCRIPT ARGS...
#
# env: ESFM_FAKE_CARDS  the cards on the JTAG server, words SERIAL:PART[,PART...] (e.g.
#                       "21770205K01L:xcu55c 21770205K02L:xcu55c,arm_dap"); a card's devices are
#                       named PART_N as Vivado does
#      ESFM_FAKE_FAIL   connect | open | program: that call raises an error
#      ESFM_FAKE_LOG    the call log
source [file join [file dirname [info script]] stub-common.tcl]
set server ""
set open_target ""
set cards [dict create]
if {[info exists env(ESFM_FAKE_CARDS)]} {
	foreach card $env(ESFM_FAKE_CARDS) {
		lassign [split $card :] serial parts
		set devs {}
		set n 0
		foreach part [split $parts ,] {
			lappend devs "${part}_$n" $part
			incr n
		}
		dict set cards $serial $devs
	}
}
proc target_name {serial} {
	return "$::server/xilinx_tcf/Xilinx/$serial"
}

proc open_hw_manager {} { record open_hw_manager }
proc close_hw_manager {} { record close_hw_manager }
proc connect_hw_server {opt url} {
	record connect_hw_server $opt $url
	if {[failing connect]} { error "ERROR: \[Labtoolstcl 44-26\] No hardware server at $url" }
	set ::server $url
}
proc disconnect_hw_server {url} { record disconnect_hw_server $url }
proc get_hw_targets {} {
	record get_hw_targets
	set names {}
	foreach serial [dict keys $::cards] { lappend names [target_name $serial] }
	return $names
}
proc open_hw_target {t} {
	record open_hw_target $t
	if {[failing open]} { error "ERROR: \[Labtoolstcl 44-199\] cannot open $t" }
	foreach serial [dict keys $::cards] {
		if {[target_name $serial] eq $t} { set ::open_target $serial; return }
	}
	error "ERROR: no target $t"
}
proc close_hw_target {t} { record close_hw_target $t }
proc get_hw_devices {} {
	record get_hw_devices
	return [dict keys [dict get $::cards $::open_target]]
}
proc get_property {prop obj} {
	if {$prop ne "PART"} { error "stub: get_property $prop not modelled" }
	return [dict get $::cards $::open_target $obj]
}
proc set_property {prop value obj} {
	record set_property $prop $value $obj
	set ::props($obj,$prop) $value
}
proc current_hw_device {dev} { record current_hw_device $dev }
proc refresh_hw_device {args} { record refresh_hw_device {*}$args }
proc program_hw_devices {dev} {
	record program_hw_devices $dev file=$::props($dev,PROGRAM.FILE) card=$::open_target
	if {[failing program]} { error "ERROR: \[Labtools 27-3165\] End of startup status: LOW" }
}

run_script
