# TAP helpers for the integration scripts. Source it; call t_done at the end.
# Each check prints "ok N - what" or "not ok N - what" plus diagnostics on "#" lines.
t_n=0
t_failed=0

t_pass() { t_n=$((t_n + 1)); echo "ok $t_n - $1"; }
t_fail() {
	t_n=$((t_n + 1)); t_failed=$((t_failed + 1))
	echo "not ok $t_n - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/# /'; done
}

# t_ok "what" cmd args...: passes if the command exits 0.
t_ok() {
	local what=$1 out; shift
	if out=$("$@" 2>&1); then t_pass "$what"; else t_fail "$what" "command: $*" "exit: $?" "$out"; fi
}

# t_fails "what" cmd args...: passes if the command exits non-zero.
t_fails() {
	local what=$1 out; shift
	if out=$("$@" 2>&1); then t_fail "$what" "command unexpectedly succeeded: $*" "$out"; else t_pass "$what"; fi
}

# t_is "what" actual expected
t_is() {
	if [ "$2" = "$3" ]; then t_pass "$1"; else t_fail "$1" "got:      $2" "expected: $3"; fi
}

# t_like "what" actual regex (grep -E)
t_like() {
	if printf '%s' "$2" | grep -qE -- "$3"; then t_pass "$1"; else t_fail "$1" "got:      $2" "expected to match: $3"; fi
}

# t_unlike "what" actual regex
t_unlike() {
	if printf '%s' "$2" | grep -qE -- "$3"; then t_fail "$1" "got:      $2" "expected not to match: $3"; else t_pass "$1"; fi
}

# t_run VAR_PREFIX cmd args...: runs the command, sets ${P}_out, ${P}_err, ${P}_rc.
t_run() {
	local p=$1 of ef; shift
	of=$(mktemp) ef=$(mktemp)
	"$@" >"$of" 2>"$ef"
	printf -v "${p}_rc" '%s' "$?"
	printf -v "${p}_out" '%s' "$(cat "$of")"
	printf -v "${p}_err" '%s' "$(cat "$ef")"
	rm -f "$of" "$ef"
}

# t_require WHAT HINT NEED...: each NEED is "root", a device under /dev, an executable path
# (with a /) or a command name. When one is missing: one failed check naming them and HINT,
# the plan, exit 1 (a script that cannot run must not pass).
t_require() {
	local what=$1 hint=$2 n missing=
	shift 2
	for n in "$@"; do
		case $n in
		root) [ "$(id -u)" = 0 ] || missing="$missing root" ;;
		/dev/*) [ -c "$n" ] || missing="$missing $n" ;;
		*/*) [ -x "$n" ] || missing="$missing $n" ;;
		*) command -v "$n" >/dev/null || missing="$missing $n" ;;
		esac
	done
	[ -n "$missing" ] || return 0
	t_fail "prerequisites of $what" "missing:$missing" "$hint"
	t_done
	exit 1
}

t_done() {
	echo "1..$t_n"
	[ "$t_failed" -eq 0 ]
}
