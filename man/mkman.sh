#!/usr/bin/env bash
# Turn the man page sources man/*.in into roff pages.
#
#   man/mkman.sh --esfm BUILD/esfm --out DIR [--paths FILE] [--strict] [SRC.in...]
#
# The sources are roff with two additions, so that esfm(1) and `esfm --help`
# have one source (the command and option tables in src/cli.c):
#
#   @SYNOPSIS@ @PF_COMMANDS@ @POOL_COMMANDS@ @OPTIONS@
#       replaced by entries built from `esfm --help`: every command and option
#       it lists, with its synopsis and its one-line help;
#   @detail NAME ... @end
#       roff appended to the entry of command NAME (e.g. init) or option NAME
#       (its long form, e.g. --bitstream); these blocks are cut out of the text.
#
# A command or option of --help without a @detail block, or a @detail block
# naming nothing --help lists, is reported; with --strict it is an error
# (`make man` and tests/integration/man-render.sh use --strict).
#
# Placeholders in every page: @VERSION@ @DATE@ @BINDIR@ @LIBEXECDIR@ (the
# directory holding esfm-hook) @DATADIR@ (templates) @CONFDIR@ (esfm.conf,
# pools.d) @HOOKSDIR@ (libvirt's hooks directory). The directories are those
# `esfm --print-paths` prints (what the binary was built for), or those of
# --paths FILE (the same name=value lines; install.sh passes the layout it
# installs to). @DATE@ is SOURCE_DATE_EPOCH,
# else the last commit touching man/, else the newest source's mtime: the same
# tree always gives the same pages. Needs only bash, awk, sed and coreutils.
set -euo pipefail

esfm='' out='' paths='' strict=0
srcs=()
usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--esfm) esfm=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--paths) paths=$2; shift 2 ;;
	--strict) strict=1; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "mkman: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) srcs+=("$1"); shift ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
[ ${#srcs[@]} -gt 0 ] || srcs=("$here"/*.in)
if [ -z "$esfm" ] || [ -z "$out" ]; then
	echo "mkman: --esfm and --out are required" >&2
	exit 2
fi
[ -x "$esfm" ] || { echo "mkman: $esfm is not an executable (build it first: make)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/esfm-mkman.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$esfm" --help >"$tmp/help"
version=$("$esfm" --version | awk '{print $2}')
[ -n "$version" ] || { echo "mkman: '$esfm --version' printed no version" >&2; exit 1; }
if [ -n "$paths" ]; then
	cp "$paths" "$tmp/paths" || exit 2
else
	"$esfm" --print-paths >"$tmp/paths"
fi
declare -A dir=()
while IFS='=' read -r k v; do
	[ -z "$k" ] || dir[$k]=$v
done <"$tmp/paths"
for k in bindir libexecdir datadir confdir hooksdir; do
	[ -n "${dir[$k]:-}" ] || { echo "mkman: no $k in the paths (esfm --print-paths or --paths)" >&2; exit 1; }
done

epoch=${SOURCE_DATE_EPOCH:-}
if [ -z "$epoch" ] && git -C "$here" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	epoch=$(git -C "$here" log -1 --format=%ct -- . 2>/dev/null || true)
fi
if [ -z "$epoch" ]; then
	epoch=0
	for s in "${srcs[@]}"; do
		m=$(stat -c %Y "$s")
		[ "$m" -le "$epoch" ] || epoch=$m
	done
fi
date=$(date -u -d "@$epoch" +%Y-%m-%d)

mkdir -p "$out"
rc=0
for src in "${srcs[@]}"; do
	name=$(basename "$src" .in)
	case $name in
	*.[1-8]) ;;
	*) echo "mkman: $src: expected NAME.SECTION.in" >&2; exit 2 ;;
	esac
	awk -v strict="$strict" -v src="$src" \
		-v VERSION="$version" -v DATE="$date" -v BINDIR="${dir[bindir]}" \
		-v LIBEXECDIR="${dir[libexecdir]}" -v DATADIR="${dir[datadir]}" \
		-v CONFDIR="${dir[confdir]}" -v HOOKSDIR="${dir[hooksdir]}" \
		-f "$here/mkman.awk" "$tmp/help" "$src" "$src" >"$tmp/$name" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "mkman: $src: failed" >&2
		exit "$rc"
	fi
	if grep -n '@[A-Z_][A-Z_]*@' "$tmp/$name" >&2; then
		echo "mkman: $src: unknown placeholder above" >&2
		exit 1
	fi
	# Replace only when different: make and install see an unchanged page as unchanged.
	if ! cmp -s "$tmp/$name" "$out/$name"; then
		cp "$tmp/$name" "$out/$name.tmp"
		mv -f "$out/$name.tmp" "$out/$name"
	fi
done
