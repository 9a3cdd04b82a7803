#!/usr/bin/env bash
# The documents describe this program: both sides are read mechanically, the code from
# its sources and the man pages from man/*.in, and compared in both directions.
#   - commands and options: the tables of src/cli.c against the @detail blocks of
#     esfm(1); the options the hook programs test in argv against esfm-hook(8)'s SYNOPSIS;
#   - exit codes: the literal `return N;` of src/esfm.c and of esfm_err_exit_code against
#     esfm(1)'s EXIT STATUS entries, those of hooks/esfm-hook*.c against esfm-hook(8)'s;
#   - esfm.conf keys: the keys src/conf.c parses against the `key = default` entries of
#     esfm-pool(5), and the settings esfm-hook(8) says the hook uses;
#   - environment variables: every "ESFM_..." string of src/ and hooks/ against the
#     ENVIRONMENT entries of esfm(1), and every ESFM_ name a page mentions;
#   - files: the file names the code builds (string literals naming *.conf, *.xml, *.rng,
#     *.state, *.lock, *.tcl, *.d directories, absolute paths but /dev/null; state_path's
#     extensions)
#     against the FILES sections, and every FILES entry against the sources, install.sh
#     and the Makefile.
#   - modules: every header of src/ is named in README's Layout, and libvirt is used by virt alone.
# man-render.sh checks the rendered pages against `esfm --help`; this needs no build.
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top/tests/lib/tap.sh"

man=$top/man
tmp=$(mktemp /tmp/esfm-docs-code.XXXXXX)
trap 'rm -f -- "$tmp" "$tmp.files"' EXIT
# plain FILE: roff source without font escapes, with \- as - and \(aq as '.
plain() { sed -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\&//g' "$1"; }
# section FILE NAME: the plain text of one .SH section of a source.
section() {
	plain "$1" | awk -v s="$2" '/^\.SH / { on = (substr($0, 5) == s || substr($0, 5) == "\"" s "\""); next } on'
}
# tp_entries: the first word of each line that follows .TP or .TQ (stdin), .B/.I/.BR/.IR stripped.
tp_entries() { awk '(prev == ".TP" || prev == ".TQ") { sub(/^\.[BI]R? /, ""); print } { prev = $0 }'; }
# compare WHAT CODE_LIST DOC_LIST: one test each way (lists one item a line).
compare() {
	local what=$1 code=$2 doc=$3 extra gone
	extra=$(comm -23 <(printf '%s\n' "$code" | sort -u) <(printf '%s\n' "$doc" | sort -u) | tr '\n' ' ')
	gone=$(comm -13 <(printf '%s\n' "$code" | sort -u) <(printf '%s\n' "$doc" | sort -u) | tr '\n' ' ')
	t_is "$what: every one in the code is documented ($(printf '%s\n' "$code" | sort -u | wc -l))" \
		"${extra% }" ""
	t_is "$what: every one documented is in the code" "${gone% }" ""
}
# nonempty WHAT LIST: a derivation that finds nothing is broken, not a pass.
nonempty() {
	t_like "$1 found ($(printf '%s\n' "$2" | grep -c .))" "$2" '.'
}

# --- commands and options of esfm ---------------------------------------------------------------
code_cmds=$(grep -oE '^	\{"[a-z_-]+", ESFM_CMD_' "$top/src/cli.c" | cut -d'"' -f2)
code_opts=$(grep -oE '^	\{("-[a-z]+"|NULL), "--[a-z_-]+"' "$top/src/cli.c" | cut -d'"' -f4 |
	grep -v '^$'; grep -oE '^	\{NULL, "--[a-z_-]+"' "$top/src/cli.c" | cut -d'"' -f2)
nonempty "commands in src/cli.c" "$code_cmds"
nonempty "options in src/cli.c" "$code_opts"
details=$(grep -oE '^@detail [^ ]+' "$man/esfm.1.in" | cut -d' ' -f2)
compare "esfm(1) commands" "$code_cmds" "$(printf '%s\n' "$details" | grep -v '^-')"
compare "esfm(1) options" "$code_opts" "$(printf '%s\n' "$details" | grep '^-')"

# --- options of the hook programs ---------------------------------------------------------------
code_hookopts=$(cat "$top"/hooks/esfm-hook*.c | grep -oE 'strcmp\(argv\[[0-9]\], "--[a-z-]+"\)' |
	cut -d'"' -f2)
doc_hookopts=$(section "$man/esfm-hook.8.in" SYNOPSIS | grep -oE -- '--[a-z][a-z-]*')
nonempty "options of hooks/esfm-hook*.c" "$code_hookopts"
compare "esfm-hook(8) options" "$code_hookopts" "$doc_hookopts"

# --- exit codes ---------------------------------------------------------------------------------
# The class -> code table, and what main returns itself.
code_exit=$( (awk '/^int esfm_err_exit_code\(/ { on = 1 } on && /^}/ { on = 0 } on' "$top/src/err.c"
	cat "$top/src/esfm.c") | grep -oE 'return [0-9]+;' | grep -oE '[0-9]+')
doc_exit=$(section "$man/esfm.1.in" 'EXIT STATUS' | tp_entries)
nonempty "exit codes of src/esfm.c and esfm_err_exit_code" "$code_exit"
compare "esfm(1) exit codes" "$code_exit" "$doc_exit"
code_hookexit=$(cat "$top"/hooks/esfm-hook*.c | grep -oE 'return [0-9]+;' | grep -oE '[0-9]+')
doc_hookexit=$(section "$man/esfm-hook.8.in" 'EXIT STATUS' | tp_entries)
compare "esfm-hook(8) exit codes" "$code_hookexit" "$doc_hookexit"

# --- esfm.conf keys -----------------------------------------------------------------------------
code_keys=$(grep -oE '!strcmp\(key, "[a-z_]+"\)' "$top/src/conf.c" | cut -d'"' -f2)
doc_keys=$(section "$man/esfm-pool.5.in" ESFM.CONF | tp_entries | sed -n 's/^\([a-z_]*\) =\( .*\)\{0,1\}$/\1/p')
nonempty "esfm.conf keys of src/conf.c" "$code_keys"
compare "esfm-pool(5) esfm.conf keys" "$code_keys" "$doc_keys"
# esfm-hook(8) lists the settings the hook uses: each must be a key.
hook_keys=$(section "$man/esfm-hook.8.in" CONFIGURATION |
	awk '/settings the hook uses/ { on = 1 } on { print } on && /^see$/ { exit }' |
	grep -oE '^\.BR? [a-z_]+' | awk '{ print $2 }')
nonempty "settings esfm-hook(8) says the hook uses" "$hook_keys"
t_is "esfm-hook(8) names only esfm.conf keys the code has" \
	"$(comm -13 <(printf '%s\n' "$code_keys" | sort -u) <(printf '%s\n' "$hook_keys" | sort -u) | tr '\n' ' ' | sed 's/ $//')" ""

# --- environment variables ----------------------------------------------------------------------
code_env=$(cat "$top"/src/*.c "$top"/hooks/*.c | grep -oE '"ESFM_[A-Z0-9_]+"' | tr -d '"')
doc_env=$(section "$man/esfm.1.in" ENVIRONMENT | tp_entries)
nonempty "ESFM_ variables of src/ and hooks/" "$code_env"
compare "esfm(1) ENVIRONMENT" "$code_env" "$doc_env"
# The hook loads its settings with esfm_conf_load too: esfm-hook(8) names its variables.
conf_env=$(grep -oE '"ESFM_[A-Z0-9_]+"' "$top/src/conf.c" | tr -d '"' | sort -u)
hook_env=$(plain "$man/esfm-hook.8.in" | grep -oE 'ESFM_[A-Z0-9_]*[A-Z0-9]' | sort -u)
nonempty "ESFM_ variables of src/conf.c" "$conf_env"
t_is "esfm-hook(8) names every ESFM_ variable esfm_conf_load reads" \
	"$(comm -23 <(printf '%s\n' "$conf_env") <(printf '%s\n' "$hook_env") | tr '\n' ' ' | sed 's/ $//')" ""
mentioned=$(plain "$man/esfm.1.in"; plain "$man/esfm-pool.5.in"; plain "$man/esfm-hook.8.in")
# (CUSTOM_ESFM_... are Placement names, not variables)
mentioned=$(printf '%s\n' "$mentioned" | grep -oE '(^|[^A-Z0-9_])ESFM_[A-Z0-9_]*[A-Z0-9]' |
	sed 's/^[^E]//' | sort -u)
t_is "the man pages mention no ESFM_ variable the code lacks" \
	"$(comm -13 <(printf '%s\n' "$code_env" | sort -u) <(printf '%s\n' "$mentioned") | tr '\n' ' ' | sed 's/ $//')" ""

# --- files --------------------------------------------------------------------------------------
# Code: literals naming a file or directory, "%s" as *, leading directories dropped.
code_files=$( (cat "$top"/src/*.c "$top"/hooks/*.c |
	grep -oE '"(%s/)*[A-Za-z0-9_%.-]+\.(conf|xml|rng|state|lock|tcl|d)"|"/dev/[a-z]+"|"/run/[a-z]+"' |
		grep -vxF '"/dev/null"'
	grep -oE 'state_path\([^,]+, [^,]+, "[a-z]+"' "$top/src/state.c" | sed -E 's/.*"([a-z]+)"/"%s.\1"/') |
	tr -d '"' | sed -e 's|^\(%s/\)*||' -e 's/%s/*/g' | grep -vxF '.xml')
nonempty "file names in src/ and hooks/" "$code_files"
# An italic part inside an entry (\fIpool\fP) stands for any name: *.
doc_files=$(for p in esfm.1 esfm-pool.5 esfm-hook.8; do
	awk '/^\.SH / { on = ($0 == ".SH FILES") } on' "$man/$p.in" | tp_entries |
		sed -e 's/^\.I //' -e 's/\\fR, \\fI/\n/g' -e 's/\\fI[^\\]*\\fP/*/g' >"$tmp.files"
	plain "$tmp.files"
done | sed -e 's|/$||' -e 's/^@[A-Z]*@//')
nonempty "FILES entries of the man pages" "$doc_files"
# Each code name is the last part (or a directory part) of a FILES entry; * matches one name.
bad=
while IFS= read -r f; do
	re=$(printf '%s' "$f" | sed -e 's/[.]/\\./g' -e 's/\*/[A-Za-z0-9_*-]+/g')
	printf '%s\n' "$doc_files" | grep -qE "(^|/)$re(/|\$)" || bad="$bad $f"
done < <(printf '%s\n' "$code_files" | sort -u)
t_is "every file the code uses is in a FILES section" "$bad" ""
# Each FILES entry's last part is a literal of the code that installs or opens it.
bad=
while IFS= read -r f; do
	base=${f##*/} dir=${f%/*}
	case $base in
	*'*'*) # a pattern: the code builds it from a name and this extension
		printf '%s\n' "$code_files" | grep -qxF "*.${base##*.}" || bad="$bad $f" ;;
	*) [ "$dir" = "$f" ] && dir=
		grep -qF "\"$f\"" "$top"/src/*.c "$top"/hooks/*.c 2>/dev/null ||
			grep -qE "[\"/]$base([\"/ ]|\$)" "$top"/src/*.c "$top"/hooks/*.c "$top/install.sh" \
				"$top/Makefile" || bad="$bad $f" ;;
	esac
done < <(printf '%s\n' "$doc_files" | sort -u)
t_is "every FILES entry is a file the code opens or installs" "$bad" ""

# --- modules ------------------------------------------------------------------------------------
# README's Layout names every module of src/ (a header; ops_* as one).
layout=$(awk '/^## Layout/ { on = 1; next } /^## / { on = 0 } on' "$top/README.md")
bad=
for h in "$top"/src/*.h; do
	m=$(basename "$h" .h)
	case $m in ops*) m='ops_\*' ;; esac
	printf '%s\n' "$layout" | grep -qE "\`$m\`" || bad="$bad $m"
done
t_is "README's Layout names every module of src/" "${bad# }" ""

# README's Layout says virt is the only module that calls libvirt: no libvirt header, type or
# call (vir + a capital) anywhere else in the product's C.
bad=$(cd "$top" && grep -nE '<libvirt/|\bvir[A-Z][A-Za-z]+' src/*.c src/*.h hooks/*.c hooks/*.h 2>/dev/null |
	grep -vE '^src/virt\.[ch]:' | grep -vE ':[0-9]+:\s*(/?\*|//)' || true)
t_is "libvirt is used by src/virt.c alone" "$bad" ""

t_done
