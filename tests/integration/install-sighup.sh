#!/usr/bin/env bash
# install.sh's libvirtd handling, the only part that runs without a DESTDIR, exercised
# without touching the machine: the install goes to a temporary --prefix and
# --sysconfdir, and runs in a private mount namespace (unshare -m) with its own /run,
# where a fake "libvirtd" (a script that counts the SIGHUPs it gets) writes
# /run/libvirtd.pid. install.sh signals only daemons of its own mount namespace, so a
# real libvirtd, and a fake one started outside (a renamed sleep, which SIGHUP would
# kill), are out of its reach; the test checks that they were not signalled.
#   - install with a running libvirtd: SIGHUP once, and says so;
#   - again: nothing changed, no second SIGHUP ("already sent");
#   - --files-only: no SIGHUP, says how to send it;
#   - a libvirtd started after the hook was registered is not signalled;
#   - no libvirtd: says it will find the hook when it starts;
#   - uninstall signals nothing.
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ESFM_BUILD:-$top/build/check}
. "$top/tests/lib/tap.sh"

missing=
[ "$(id -u)" = 0 ] || missing="$missing root"
for c in unshare mount sleep pidof; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
for f in esfm esfm-hook esfm-hook-handler esfm-hook-worker; do
	[ -x "$build/$f" ] || missing="$missing $build/$f"
done
if [ -n "$missing" ]; then
	t_fail "prerequisites of the install SIGHUP tests" "missing:$missing"
	t_done
	exit 1
fi

work=$(mktemp -d /tmp/esfm-install-hup.XXXXXX)
chmod 0755 "$work"
outside=
cleanup() {
	[ -z "$outside" ] || kill "$outside" 2>/dev/null
	if [ "${ESFM_KEEP:-0}" = 1 ]; then echo "# kept $work" >&2; else rm -rf -- "$work"; fi
}
trap cleanup EXIT

# A fake libvirtd outside the namespace, found by pidof: SIGHUP would end it.
mkdir -p "$work/outside"
cp "$(command -v sleep)" "$work/outside/libvirtd"
"$work/outside/libvirtd" 300 &
outside=$!

# The fake libvirtd inside: counts SIGHUPs in $1.
cat >"$work/libvirtd" <<'EOF'
#!/bin/bash
trap 'echo hup >>"$1"' HUP
while :; do sleep 0.05; done
EOF
chmod 0755 "$work/libvirtd"

# The part that runs in the private namespace; prints "key=value" lines for the checks.
cat >"$work/inner.sh" <<'EOF'
set -u
work=$1 top=$2 build=$3
mount -t tmpfs -o mode=0755 esfm-test-run /run || { echo "fatal=cannot mount /run"; exit 1; }
inst() { "$top/install.sh" --builddir "$build" --prefix "$work/prefix" --sysconfdir "$work/etc" "$@"; }
emit() { printf '%s=%s\n' "$1" "$(printf '%s' "$2" | tr '\n' '|')"; }
start_daemon() { # log
	"$work/libvirtd" "$1" & dpid=$!
	echo "$dpid" >/run/libvirtd.pid
	sleep 0.2
}
stop_daemon() { kill "$dpid"; wait "$dpid" 2>/dev/null; rm -f /run/libvirtd.pid; }
# SIGHUPs the fake got; its trap runs when its current sleep ends, so wait for that.
hups() { sleep 0.3; [ -f "$1" ] && grep -c hup "$1" || echo 0; }

start_daemon "$work/hup1"
emit d1 "$dpid"
out=$(inst 2>&1); emit i1_rc $?; emit i1 "$out"; emit i1_hups "$(hups "$work/hup1")"
out=$(inst 2>&1); emit i2_rc $?; emit i2 "$out"; emit i2_hups "$(hups "$work/hup1")"
out=$("$top/install.sh" --builddir "$build" --prefix "$work/prefix2" --sysconfdir "$work/etc2" \
	--files-only 2>&1)
emit f_rc $?; emit f "$out"; emit f_hups "$(hups "$work/hup1")"
stop_daemon
sleep 1.1 # later than the link's change time, at the resolution of /proc/stat
start_daemon "$work/hup2"
emit d2 "$dpid"
out=$(inst 2>&1); emit i3_rc $?; emit i3 "$out"; emit i3_hups "$(hups "$work/hup2")"
stop_daemon
out=$(inst 2>&1); emit i4_rc $?; emit i4 "$out"
start_daemon "$work/hup3"
out=$(inst --uninstall 2>&1); emit u_rc $?; emit u "$out"
out=$("$top/install.sh" --uninstall --prefix "$work/prefix2" 2>&1); emit u2_rc $?
emit u_hups "$(hups "$work/hup3")"
stop_daemon
emit left "$(cd "$work" && ls -d prefix prefix2 etc/libvirt/hooks/qemu.d/esfm etc2/libvirt/hooks/qemu.d/esfm 2>/dev/null)"
EOF

res=$(unshare -m --propagation private bash "$work/inner.sh" "$work" "$top" "$build" 2>&1)
rc=$?
get() { printf '%s\n' "$res" | sed -n "s/^$1=//p" | head -1; }
t_is "the namespaced run completes" "$rc $(get fatal)" "0 "
[ "$rc" = 0 ] || printf '%s\n' "$res" | sed 's/^/# /'

d1=$(get d1)
t_is "install with a running libvirtd exits 0" "$(get i1_rc)" 0
t_like "it sends SIGHUP to that libvirtd and says so" "$(get i1)" \
	"sent SIGHUP to libvirtd \\(pid $d1\\)"
t_is "the libvirtd got exactly one SIGHUP" "$(get i1_hups)" 1
t_like "a second install says nothing changed" "$(get i2_rc) $(get i2)" '^0 .*nothing changed'
t_like "it knows the libvirtd was already signalled" "$(get i2)" "libvirtd \\(pid $d1\\) was already sent SIGHUP"
t_is "and sends no second SIGHUP" "$(get i2_hups)" 1
t_is "install --files-only exits 0" "$(get f_rc)" 0
t_like "install --files-only says how to make libvirtd see the hook" "$(get f)" \
	"libvirtd \\(pid $d1\\) is running .*kill -HUP $d1"
t_is "install --files-only sends no SIGHUP" "$(get f_hups)" 1
t_like "a libvirtd started after the hook was registered is left alone" "$(get i3_rc) $(get i3)" \
	"^0 .*libvirtd \\(pid $(get d2)\\) started after the hook was registered.*nothing changed"
t_is "it got no SIGHUP" "$(get i3_hups)" 0
t_like "without libvirtd, install says the hook is found when it starts" "$(get i4_rc) $(get i4)" \
	'^0 .*(libvirtd is not running: it will find the hook when it starts|libvirt is not installed)'
t_like "uninstall exits 0 and says libvirt needs no signal" "$(get u_rc) $(get u)" \
	'^0 .*libvirt needs no signal'
t_is "uninstall sends no SIGHUP" "$(get u_hups)" 0
t_is "both uninstalls removed everything" "$(get u2_rc) '$(get left)'" "0 ''"
if kill -0 "$outside" 2>/dev/null; then
	t_pass "a libvirtd of another mount namespace was never signalled"
else
	t_fail "a libvirtd of another mount namespace was never signalled" "it is gone"
fi
t_done
