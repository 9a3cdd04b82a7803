# What both recording stubs (vivado-stub.tcl, xsct-stub.tcl) share: the call log, the injected
# failure, and running the script under test with its own argv. Sourced first by each stub.
set log [open $env(ESFM_FAKE_LOG) a]
proc record {args} {
	puts $::log [join $args " "]
	flush $::log
}
proc failing {what} {
	expr {[info exists ::env(ESFM_FAKE_FAIL)] && $::env(ESFM_FAKE_FAIL) eq $what}
}
# run_script: the stub's arguments are SCRIPT ARGS...; run SCRIPT at global level with ARGS as
# its argv, as the real tool would.
proc run_script {} {
	uplevel #0 {
		set script [lindex $argv 0]
		set argv [lrange $argv 1 end]
		set argc [llength $argv]
		set argv0 $script
		source $script
	}
}
