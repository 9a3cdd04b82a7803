#!/usr/bin/env bash
# Crash injection: random interleavings of the hook (prepare, started and its attach worker,
# release, reconnect) and the CLI (attach, detach, reconf, init -b, pool-gc, recover) on one
# pool, one esfm process SIGKILLed at a random point per round, then `esfm recover` and the
# invariants:
#   I1 every VF a running domain holds live is recorded for that domain;
#   I2 no VF is recorded twice (two slots, one address) and no VF runs in two domains;
#   I3 no VF is recorded as held that its domain does not hold (live, or for an operator's
#      assignment in its persistent XML): once every esfm process has ended, a reservation
#      is not in flight any more either;
#   I4 the PF is on the bus (sriov_numvfs readable);
#   I5 no busy mark and no journal is left once every esfm process has ended.
#
# Reality is played by the script: the FUSE sysfs simulator (tests/sim) for the devices and
# libvirt's test driver on a node file for the domains, rewritten as "libvirt" would change
# them: a domain is active from its prepare on (as in libvirt's qemu driver); a failed or
# killed prepare, started or reconnect stops it and fires release; static-mode domains hold
# their hostdev live while they run. The test driver keeps a process's own changes to itself
# and cannot hot-plug: esfm's attaches fail there and its XML edits do not reach the node
# file, so every CLI change is judged against the unchanged reality (its failure paths and
# the sysfs side of reconf/init are what runs). Write latency on sriov_numvfs, remove and
# rescan widens the windows a kill can hit.
#
#   ESFM_CRASH_KILLS=N   kills to inject (default 50, `make crash` 1000)
#   ESFM_CRASH_SEED=S    PRNG seed (printed); the same seed replays the same operations,
#                        victims and delays (where a kill lands still depends on timing)
#
# It prints kills, interleavings (distinct operation sequences with their kill point),
# violations, the seed and the wall time, and fails on any violation or when it could not
# inject the kills it was asked for.
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ESFM_BUILD:-$top/build/check}
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/sim.sh"

want=${ESFM_CRASH_KILLS:-50}
seed=${ESFM_CRASH_SEED:-$(($(date +%s%N) % 2147483647))}
case "$want$seed" in *[!0-9]*)
	t_fail "ESFM_CRASH_KILLS and ESFM_CRASH_SEED are numbers" "got '$want' and '$seed'"
	t_done
	exit 1
	;;
esac

t_require "the crash injection" "(make SANITIZE=1 tests)" root /dev/fuse fusermount3 flock pgrep \
	"$build/esfm" "$build/esfm-hook" "$build/esfm-hook-handler" "$build/esfm-hook-worker" \
	"$build/tests/sim/esfm-sysfs-sim"

# Forks are what costs on a loaded machine: the loop below uses builtins where it can.
now_ms() { printf '%s' $((${EPOCHREALTIME/[.,]/} / 1000)); }
t_start=$(now_ms)
exec {sleep_fd}<> <(:) # a pipe nobody writes: `read -t` on it is a sleep without a fork
sleep_ms() {
	local t
	[ "$1" -gt 0 ] || return 0
	printf -v t '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
	read -r -t "$t" -u "$sleep_fd"
}
# get VAR FILE [DEFAULT]: the first line of FILE
get() { read -r "$1" 2>/dev/null <"$2" || printf -v "$1" '%s' "${3:-}"; }
echo "# crash injection: seed $seed (replay: ESFM_CRASH_SEED=$seed ESFM_CRASH_KILLS=$want)"

work=$(mktemp -d /tmp/esfm-crash.XXXXXX)
chmod 0755 "$work"
mnt=$work/sys
conf=$work/conf
state=$work/state
trap 'sim_finish "$work"' EXIT
trap 'exit 130' INT TERM HUP

sim_up "$top/tests/integration/hook-fixtures/hook.topo" "$mnt"
PF=0000:83:00.0
sim_ctl "delay $PF sriov_numvfs 15"
sim_ctl "delay $PF remove 10"
sim_ctl "delay - bus/pci/rescan 10"

mkdir -p "$conf/pools.d" "$work/bin" "$work/run" "$work/dom" "$work/dur"
cat >"$conf/pools.d/fpga0.xml" <<'EOF'
<pool type='sriov'><name>fpga0</name><source><pf address='0000:83:00.0'/></source><vfs count='4' driver='vfio-pci'/></pool>
EOF
printf '#!/bin/sh\nsleep 0.03\nexit 0\n' >"$work/bin/program"
chmod 0755 "$work/bin/program"
: >"$work/bit"
cat >"$conf/esfm.conf" <<EOF
sysfs_root = $mnt
state_dir = $state
template_dir = $top/xml-templates
log_file = $work/esfm.log
log_level = info
libvirt_uri = test://$work/node.xml
attach_timeout_ms = 20000
lock_timeout_ms = 30000
flash_tool = command
flash_command = $work/bin/program {bitstream} {pf} {kind}
EOF

# --- the domains ------------------------------------------------------------------------
# h0-h2 hotplug (1 VF), h3 hotplug (2 VFs); s0 and s1 static on VF 2 (one must be refused
# while the other runs), s2 static on VF 3; everestg0-3 plain, the operator's targets.
doms=(h0 h1 h2 h3 s0 s1 s2 everestg0 everestg1 everestg2 everestg3)
hookdoms=(h0 h1 h2 h3 s0 s1 s2)
declare -A uuid annot hd
n=1
for d in "${doms[@]}"; do
	uuid[$d]=$(printf '6b3f0d5c-0000-4000-8000-%012d' "$n")
	n=$((n + 1))
	annot[$d]='' hd[$d]=''
done
a() { printf '<esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0" count="%s" mode="%s"/>' "$1" "$2"; }
for d in h0 h1 h2; do annot[$d]=$(a 1 hotplug); done
annot[h3]=$(a 2 hotplug)
for d in s0 s1 s2; do annot[$d]=$(a 1 static); done
hd[s0]=6 hd[s1]=6 hd[s2]=7 # function of 0000:83:00.x: VF 2 is .6, VF 3 is .7
hostdev() {
	printf "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x83' slot='0x00' function='0x%s'/></source></hostdev>" "$1"
}
for d in "${hookdoms[@]}"; do
	{
		echo "<domain type='kvm' id='1'><name>$d</name><uuid>${uuid[$d]}</uuid>"
		echo "<metadata>${annot[$d]}</metadata><memory unit='KiB'>65536</memory><vcpu>1</vcpu>"
		echo "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><devices>"
		[ -z "${hd[$d]}" ] || hostdev "${hd[$d]}"
		echo "</devices></domain>"
	} >"$work/dom/$d.xml"
done

# The node file from $work/run/<domain> (1: active): rewritten under a lock, atomically.
write_node() {
	local d r
	{
		echo '<node>'
		for d in "${doms[@]}"; do
			printf "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
			printf '<name>%s</name><uuid>%s</uuid><metadata>%s</metadata>' "$d" "${uuid[$d]}" "${annot[$d]}"
			printf '<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices>'
			[ -z "${hd[$d]}" ] || hostdev "${hd[$d]}"
			printf '</devices>'
			get r "$work/run/$d"
			[ "$r" = 1 ] || printf '<test:runstate>5</test:runstate>'
			printf '</domain>\n'
		done
		echo '</node>'
	} >"$work/node.xml.$BASHPID" && mv "$work/node.xml.$BASHPID" "$work/node.xml"
}
set_active() { # domain 0|1; two operations at once may call it: an O_EXCL lock file
	until (set -o noclobber && : >"$work/node.lock") 2>/dev/null; do sleep_ms 2; done
	echo "$2" >"$work/run/$1"
	write_node
	rm -f "$work/node.lock"
}
active() {
	local r
	get r "$work/run/$1"
	[ "$r" = 1 ]
}
for d in "${doms[@]}"; do echo 0 >"$work/run/$d"; done
write_node

# --- running one esfm process, maybe killing it -----------------------------------------------
envv=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root ESFM_CONF_DIR="$conf")
[ -z "${ASAN_OPTIONS:-}" ] || envv+=("ASAN_OPTIONS=$ASAN_OPTIONS")
[ -z "${UBSAN_OPTIONS:-}" ] || envv+=("UBSAN_OPTIONS=$UBSAN_OPTIONS")

alive() { # pid: exists and is not a zombie
	local s
	read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	s=${s##*) }
	case ${s%% *} in Z | X | x) return 1 ;; esac
}
# How long a kind of process took when not killed (the last run), for the next delay.
dur_of() { get "$1" "$work/dur/$2" 20; }
# kill_at PID KIND PERMILLE: SIGKILL after (PERMILLE/1000)^2 of KIND's usual run (early
# points are favoured: a run that fails early is shorter than the one measured); records a
# kill (the process was still running) or a miss.
kill_at() {
	local pid=$1 kind=$2 pm=$3 dur
	dur_of dur "$kind"
	sleep_ms $((pm * pm / 1000 * dur / 1000))
	if alive "$pid" && kill -KILL "$pid" 2>/dev/null; then
		echo "$kind" >>"$work/kills"
		# in time: aim a little later next time (a run that is not measured, the worker)
		echo $((dur * 9 / 8 + 1)) >"$work/dur/$kind"
		return 0
	fi
	echo "$kind" >>"$work/misses"
	# too late: aim earlier next time
	echo $((dur * 3 / 4)) >"$work/dur/$kind"
	return 1
}
# run KIND VICTIM PERMILLE INPUT CMD...: one esfm process (killed if VICTIM is 1); its status
run() {
	local kind=$1 victim=$2 pm=$3 in=$4 pid rc t0
	shift 4
	t0=${EPOCHREALTIME/[.,]/}
	(cd / && exec "${envv[@]}" "$@" <"$in" >>"$work/out.log" 2>&1) &
	pid=$!
	[ "$victim" = 0 ] || kill_at "$pid" "$kind" "$pm"
	wait "$pid" 2>/dev/null
	rc=$?
	[ "$victim" = 1 ] || echo $(((${EPOCHREALTIME/[.,]/} - t0) / 1000)) >"$work/dur/$kind"
	return "$rc"
}
hook() { # KIND VICTIM PM DOMAIN OP SUB
	run "$1" "$2" "$3" "$work/dom/$4.xml" "$build/esfm-hook" "$4" "$5" "$6" -
}
cli() { run "$1" "$2" "$3" /dev/null "$build/esfm" "${@:4}"; }
workers() { pgrep -f "^$build/esfm-hook-worker " 2>/dev/null; }

# --- the operations (libvirt's side of each hook call included) ------------------------------
# op_start DOMAIN PART PM: PART names the process to kill (prepare|started|worker|release|-)
op_start() {
	local d=$1 part=$2 pm=$3 w v n
	set_active "$d" 1
	v=0
	[ "$part" != prepare ] || v=1
	if ! hook prepare "$v" "$pm" "$d" prepare begin; then
		# the victim was to be a later step: the release libvirt fires instead
		set_active "$d" 0
		v=0
		case $part in started | worker) v=1 ;; esac
		hook release "$v" "$pm" "$d" release end
		return 0
	fi
	v=0
	[ "$part" != started ] || v=1
	if ! hook started "$v" "$pm" "$d" started begin; then
		set_active "$d" 0
		v=0
		[ "$part" != worker ] || v=1
		hook release "$v" "$pm" "$d" release end
		return 0
	fi
	[ "$part" = worker ] || return 0
	# The worker is held at the pool lock (unless it got past it already) while its pid
	# is read from the log line of `started`, then killed at a random point after.
	exec 7>"$state/fpga0.lock"
	flock 7
	w=$(grep -oE "'$d' \(${uuid[$d]}\): attach worker started \(pid [0-9]+\)" "$work/esfm.log" | tail -n 1)
	w=${w##*pid }
	w=${w%)}
	exec 7>&-
	if [ -n "$w" ]; then
		kill_at "$w" worker "$pm"
	else
		echo worker >>"$work/misses"
	fi
}
op_stop() {
	set_active "$1" 0
	local v=0
	[ "$2" != release ] || v=1
	hook release "$v" "$3" "$1" release end
}
op_reconnect() {
	local v=0
	[ "$2" != reconnect ] || v=1
	hook reconnect "$v" "$3" "$1" reconnect begin && return 0
	# a failed reconnect makes libvirt kill the guest
	set_active "$1" 0
	hook release 0 0 "$1" release end
}
op_cli() { # PART PM KIND ARGS...
	local v=0
	[ "$1" = "$3" ] && v=1
	cli "$3" "$v" "$2" "${@:4}"
}

# --- the invariants ---------------------------------------------------------------------------
# SLOTS: one "index state origin uuid address" per VF of the ledger.
slots() {
	local text line k v idx st orig u addr re='([a-z-]+)="([^"]*)"'
	SLOTS=()
	[ -e "$state/fpga0.state" ] || return 0
	while read -r line; do
		[[ $line == "<vf "* ]] || continue
		idx='' st='' orig=- u=- addr=''
		text=$line
		while [[ $text =~ $re ]]; do
			k=${BASH_REMATCH[1]} v=${BASH_REMATCH[2]}
			text=${text#*"${BASH_REMATCH[0]}"}
			case $k in index) idx=$v ;; state) st=$v ;; origin) orig=$v ;; uuid) u=$v ;; address) addr=$v ;; esac
		done
		SLOTS+=("$idx $st $orig $u $addr")
	done <"$state/fpga0.state"
}
# VIOLATIONS: one line per invariant broken now.
check() {
	local idx st orig u addr d owner fn ok n line
	local -A by_addr=() live_of=() rec=()
	VIOLATIONS=()
	if [ ! -e "$mnt/bus/pci/devices/$PF" ] || ! read -r n <"$mnt/bus/pci/devices/$PF/sriov_numvfs" 2>/dev/null; then
		VIOLATIONS+=("I4: PF $PF is not on the bus (sriov_numvfs unreadable)")
	fi
	while read -r line; do
		[[ $line != *"<busy "* && $line != *"<journal"* ]] ||
			VIOLATIONS+=("I5: left in the ledger: ${line#"${line%%[! ]*}"}")
	done <"$state/fpga0.state"
	# reality: the running static domains' VFs (VF index = function - 4)
	for d in s0 s1 s2; do
		active "$d" || continue
		fn=${hd[$d]}
		idx=$((fn - 4))
		[ -z "${live_of[$idx]:-}" ] || VIOLATIONS+=("I2: VF $idx runs in two domains: ${live_of[$idx]} and $d")
		live_of[$idx]=$d
	done
	slots
	for line in "${SLOTS[@]}"; do
		read -r idx st orig u addr <<<"$line"
		[ "$st" != free ] || continue
		owner=
		for d in "${doms[@]}"; do [ "${uuid[$d]}" != "$u" ] || owner=$d; done
		rec[$idx]=$owner
		[ -z "${by_addr[$addr]:-}" ] || VIOLATIONS+=("I2: VF $addr recorded twice: slots ${by_addr[$addr]} and $idx")
		by_addr[$addr]=$idx
		ok=0
		if [ -n "$owner" ] && [ "${live_of[$idx]:-}" = "$owner" ]; then
			ok=1 # its running domain holds it live
		elif [ -n "$owner" ] && [ "$orig" = cli ] && [ -n "${hd[$owner]}" ] &&
			[ $((${hd[$owner]} - 4)) = "$idx" ]; then
			ok=1 # an assignment in its persistent XML
		fi
		[ "$ok" = 1 ] || VIOLATIONS+=("I3: VF $idx recorded $st ($orig) for '${owner:-$u}', which does not hold it")
	done
	for idx in "${!live_of[@]}"; do
		[ "${rec[$idx]:-}" = "${live_of[$idx]}" ] ||
			VIOLATIONS+=("I1: VF $idx runs in '${live_of[$idx]}' but is recorded for '${rec[$idx]:-nobody}'")
	done
}

# --- the rounds -------------------------------------------------------------------------------
RANDOM=$seed
launch() { # run an operation; in the background when it shares its step with another
	if [ "$nops" = 1 ]; then
		"$@"
	else
		"$@" &
		pids+=($!)
	fi
}
pick() { # one of the arguments, by the seeded PRNG (main shell only)
	local i=$((RANDOM % $#))
	shift "$i"
	PICK=$1
}
: >"$work/kills"
: >"$work/misses"
declare -A seen=()
rounds=0 violations=0 recover_fail=0
max_rounds=$((want * 6 + 50))
kills() {
	local k
	mapfile -t k <"$work/kills"
	NKILLS=${#k[@]}
}
first_violation=
NKILLS=0
while [ "$NKILLS" -lt "$want" ] && [ "$rounds" -lt "$max_rounds" ]; do
	rounds=$((rounds + 1))
	nsteps=$((1 + RANDOM % 2))
	vstep=$((RANDOM % nsteps))
	sig=
	for ((s = 0; s < nsteps; s++)); do
		# one or two operations at once; the victim is in step vstep
		nops=$((1 + (RANDOM % 3 == 0)))
		busy=
		pids=()
		for ((o = 0; o < nops; o++)); do
			pm=$((RANDOM % 1000))
			victim=$((s == vstep && o == 0))
			pick hook hook hook cli
			if [ "$PICK" = hook ]; then
				pick "${hookdoms[@]}"
				d=$PICK
				case " $busy " in *" $d "*) continue ;; esac
				busy="$busy $d"
				if active "$d"; then
					pick stop stop reconnect
					op=$PICK
					part=-
					[ "$victim" = 0 ] || part=$op
					[ "$part" != stop ] || part=release
					launch "op_$op" "$d" "$part" "$pm"
				else
					op=start part=-
					if [ "$victim" = 1 ]; then
						if [ -n "${hd[$d]}" ]; then pick prepare prepare started; else pick prepare started worker worker; fi
						part=$PICK
					fi
					launch op_start "$d" "$part" "$pm"
				fi
				sig="$sig $op:${d%%[0-9]*}"
				[ "$part" = - ] || sig="$sig/$part@$((pm / 100))"
			else
				pick attach attach detach reconf reconf init gc recover
				op=$PICK
				part=-
				[ "$victim" = 0 ] || part=$op
				pick 0 1 2 3 4
				i=$PICK
				case $op in
				attach) pick everestg0 everestg1 h0 s2; args=("$PF" attach "$i" "$PICK") ;;
				detach) args=("$PF" detach "$i" -y) ;;
				reconf) pick 0 2 3 4 5 6; args=("$PF" reconf "$PICK" -y) ;;
				init) pick 1 2 3 4; args=("$PF" init "$PICK" -y -b "$work/bit") ;;
				gc) args=(pool-gc fpga0) ;;
				recover) args=(recover fpga0) ;;
				esac
				launch op_cli "$part" "$pm" "$op" "${args[@]}"
				sig="$sig $op"
				[ "$part" = - ] || sig="$sig/$part@$((pm / 100))"
			fi
		done
		for p in "${pids[@]}"; do wait "$p"; done
		sig="$sig |"
	done
	# every attach worker ends (or is ended) before the check
	for ((n = 0; n < 300; n++)); do
		[[ $sig == *start:h* ]] && [ -n "$(workers)" ] || break
		sleep_ms 20
	done
	seen["$sig"]=1
	out=$(cd / && "${envv[@]}" "$build/esfm" recover fpga0 2>&1)
	rc=$?
	if [ "$rc" != 0 ]; then
		recover_fail=$((recover_fail + 1))
		v="esfm recover exited $rc: $out"
	else
		check
	fi
	[ "$rc" = 0 ] || VIOLATIONS=("esfm recover exited $rc: $out")
	if [ "${#VIOLATIONS[@]}" -gt 0 ]; then
		violations=$((violations + ${#VIOLATIONS[@]}))
		echo "# VIOLATION in round $rounds (seed $seed):$sig"
		printf '#   %s\n' "${VIOLATIONS[@]}"
		slots
		printf '#   ledger: %s\n' "${SLOTS[@]}"
		[ -n "$first_violation" ] || first_violation="round $rounds:$sig: ${VIOLATIONS[0]}"
	fi
	kills
done

kills
nk=$NKILLS
nm=$(wc -l <"$work/misses")
ms=$(($(now_ms) - t_start))
echo "# kills: $nk ($(sort "$work/kills" | uniq -c | awk '{ printf "%s%s %s", s, $2, $1; s = ", " }'))"
echo "# missed (the process had ended before its kill): $nm"
echo "# rounds: $rounds, interleavings (distinct operation sequences with the victim and its kill point, in tenths of its run): ${#seen[@]}"
echo "# violations: $violations"
echo "# seed: $seed; wall time: $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
t_ok "injected $want kills (got $nk in $rounds rounds)" test "$nk" -ge "$want"
t_is "no invariant violated after esfm recover (seed $seed)" "$violations${first_violation:+: $first_violation}" 0
t_is "esfm recover succeeded after every round" "$recover_fail" 0
t_is "no esfm process is left" "$(workers | wc -l)" 0
t_done
