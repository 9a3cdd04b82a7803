# esfm: what program-vivado.tcl and program-xsct.tcl share, sourced by both: the one-line failure
# and the arguments, BITSTREAM then optional target=SELECTOR and server=HOST:PORT (named, so that
# an empty selector needs no empty argument). The sourcing script sets program (its name for the
# usage line). Sets bitstream, selector and server; exits 1 with
# "esfm-program: ..." on stderr for a bad argument or an unreadable bitstream.

proc fail {msg} {
	puts stderr "esfm-program: $msg"
	exit 1
}

set bitstream [lindex $argv 0]
set selector ""
set server localhost:3121
foreach arg [lrange $argv 1 end] {
	switch -glob -- $arg {
		target=* { set selector [string range $arg 7 end] }
		server=* { set server [string range $arg 7 end] }
		default { fail "unknown argument '$arg' (expected target=SELECTOR or server=HOST:PORT)" }
	}
}
if {$bitstream eq ""} {
	fail "usage: $program BITSTREAM \[target=SELECTOR\] \[server=HOST:PORT\]"
}
if {![file isfile $bitstream] || ![file readable $bitstream]} {
	fail "bitstream '$bitstream' is not a readable file"
}
