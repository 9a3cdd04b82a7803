#!/usr/bin/env bash
# Install esfm and register its libvirt hook; --uninstall reverses exactly that.
#
#   ./install.sh [--destdir DIR] [--prefix DIR] [--sysconfdir DIR] [--builddir DIR]
#                [--files-only] [--dry-run] [--uninstall] [-h]
#
# Installs where the binaries were built for (the Makefile's PREFIX, BINDIR, ...,
# SYSCONFDIR, as `esfm --print-paths` prints them; --prefix and --sysconfdir move
# that layout to another root). With the Makefile's defaults:
#   <prefix>/bin/esfm
#   <prefix>/libexec/esfm/esfm-hook, esfm-hook-handler, esfm-hook-worker (real files,
#       side by side: each finds the next one next to its own resolved path)
#   <prefix>/share/esfm/hostdev.xml, identity.xml, pool.rng  (the binaries' ESFM_DATADIR)
#   <prefix>/share/esfm/program-vivado.tcl, program-xsct.tcl, program-args.tcl  (JTAG, flash_tool)
#   <prefix>/share/man/man1/esfm.1, man5/esfm-pool.5, man8/esfm-hook.8
#   <prefix>/share/bash-completion/completions/esfm
#   <sysconfdir>/libvirt/hooks/qemu.d/esfm -> <prefix>/libexec/esfm/esfm-hook (a symlink,
#       never a copy, for that reason)
#   <sysconfdir>/esfm/esfm.conf, <sysconfdir>/esfm/pools.d/README: commented examples,
#       created only if absent, never overwritten
# and records what it created in <prefix>/share/esfm/install-manifest.
#
# Then, unless --files-only, --dry-run or a DESTDIR is given, it sends SIGHUP to a
# running libvirtd (libvirtd looks for hooks only at start and on SIGHUP).
#
# --files-only (what `make install` uses): every file and link above, but no
# signal to any process: right for staging a package (DESTDIR) and for
# `sudo make install`, which then says how to make a running libvirtd see the hook.
#
# Never touches: an existing <sysconfdir>/libvirt/hooks/qemu, any file in qemu.d but
# its own link, an existing esfm.conf or pool file. Refuses (before changing anything)
# if qemu.d/esfm exists and is not its own link. Running it again changes nothing and
# says so. --uninstall removes only what the manifest lists, and only if unchanged:
# an edited esfm.conf, a directory holding files of yours, stay. Directories are
# recorded only if this script created them (a DESTDIR too).
set -euo pipefail
umask 022

prog=install.sh
# DESTDIR in the environment stages like --destdir (the spelling packagers type); --destdir wins.
destdir=${DESTDIR:-} prefix='' sysconfdir='' builddir=build/release
files_only=0 dry=0 uninstall=0

usage() {
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
	cat <<'EOF'

Options:
  --destdir DIR     staging root prepended to every path (default: $DESTDIR, else none)
  --prefix DIR      installation prefix (default: the build's, esfm --print-paths)
  --sysconfdir DIR  where libvirt/ and esfm/ live (default: the build's)
  --builddir DIR    where `make` put the binaries (default build/release)
  --files-only      install files and links, signal nothing
  --dry-run         print what would be done, change nothing
  --uninstall       remove what a previous install recorded in its manifest
  -h, --help        this help
Exit status: 0 done (or nothing to do), 1 failure or conflict, 2 usage error.
EOF
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--destdir | --prefix | --sysconfdir | --builddir)
		[ $# -ge 2 ] || { echo "$prog: $1 needs a value" >&2; exit 2; }
		v=$2
		case $1 in
		--destdir) destdir=$v ;;
		--prefix) prefix=$v ;;
		--sysconfdir) sysconfdir=$v ;;
		--builddir) builddir=$v ;;
		esac
		shift 2
		;;
	--destdir=* | --prefix=* | --sysconfdir=* | --builddir=*)
		v=${1#*=}
		case $1 in
		--destdir=*) destdir=$v ;;
		--prefix=*) prefix=$v ;;
		--sysconfdir=*) sysconfdir=$v ;;
		--builddir=*) builddir=$v ;;
		esac
		shift
		;;
	--files-only) files_only=1; shift ;;
	--dry-run | -n) dry=1; shift ;;
	--uninstall) uninstall=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$prog: unknown argument '$1'" >&2; echo "Try '$0 --help'." >&2; exit 2 ;;
	esac
done

top=$(cd "$(dirname "$0")" && pwd)
strip_slash() {
	local p=$1
	while [ "${#p}" -gt 1 ] && [ "${p%/}" != "$p" ]; do p=${p%/}; done
	printf '%s' "$p"
}
destdir=$(strip_slash "$destdir")
[ "$destdir" != / ] || destdir=''
prefix=$(strip_slash "$prefix")
sysconfdir=$(strip_slash "$sysconfdir")
for v in prefix sysconfdir; do
	case ${!v} in
	/* | '') ;;
	*) echo "$prog: --$v must be an absolute path, not '${!v}'" >&2; exit 2 ;;
	esac
done
if [ -n "$destdir" ]; then
	case $destdir in
	/*) ;;
	*) destdir=$(pwd)/$destdir ;;
	esac
fi
case $builddir in
/*) ;;
*) if [ -d "$(pwd)/$builddir" ]; then builddir=$(pwd)/$builddir; else builddir=$top/$builddir; fi ;;
esac

# The layout is the build's: `esfm --print-paths` (name=value lines, from the Makefile).
declare -A built=()
read_built_paths() {
	local k v out
	[ -x "$builddir/esfm" ] || return 1
	out=$("$builddir/esfm" --print-paths) || return 1
	while IFS='=' read -r k v; do
		[ -z "$k" ] || built[$k]=$v
	done <<<"$out"
	[ -n "${built[prefix]:-}" ] && [ -n "${built[datadir]:-}" ] && [ -n "${built[hooksdir]:-}" ]
}
# rebase PATH OLD NEW: PATH with its leading directory OLD replaced by NEW (PATH itself
# when it is not under OLD, e.g. a MANDIR outside the PREFIX).
rebase() {
	case $1 in
	"$2") printf '%s' "$3" ;;
	"${2%/}"/*) printf '%s' "${3%/}${1#"${2%/}"}" ;;
	*) printf '%s' "$1" ;;
	esac
}
if read_built_paths; then
	[ -n "$prefix" ] || prefix=${built[prefix]}
	[ -n "$sysconfdir" ] || sysconfdir=${built[sysconfdir]}
	for v in bindir libexecdir datadir mandir completiondir; do
		printf -v "$v" '%s' "$(rebase "${built[$v]}" "${built[prefix]}" "$prefix")"
	done
	for v in confdir hooksdir; do
		printf -v "$v" '%s' "$(rebase "${built[$v]}" "${built[sysconfdir]}" "$sysconfdir")"
	done
elif [ "$uninstall" = 1 ]; then
	# No build to ask: only the manifest is needed, and it lists everything else.
	prefix=${prefix:-/usr/local} sysconfdir=${sysconfdir:-/etc}
	datadir=$prefix/share/esfm
	bindir='' libexecdir='' mandir='' completiondir='' confdir='' hooksdir=''
else
	die "$builddir/esfm not found or too old to print its paths: build first (make), or give --builddir"
fi
hooklink=$hooksdir/qemu.d/esfm
hooktarget=$libexecdir/esfm-hook
manifest=$datadir/install-manifest
R=$destdir # every path below is a final path; $R$path is where it is written

tmp=$(mktemp -d "${TMPDIR:-/tmp}/esfm-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

changes=0
shown() { if [ "$1" = / ] && [ -n "$R" ]; then printf '%s' "$R"; else printf '%s' "$R$1"; fi; }
say() { printf '  %-8s %s\n' "$1" "$2"; }
note() { echo "$prog: $*"; }
warn() { echo "$prog: warning: $*" >&2; }

# ---------------------------------------------------------------------------
# The manifest: one entry per line, tab-separated, in creation order.
#   dir  PATH          a directory this script created
#   file PATH SHA256   a file it installed (program files, data, man pages, completion)
#   conf PATH SHA256   a configuration example it created (SHA256 as created)
#   link PATH TARGET   a symbolic link it created
#   hup  NAME PID START  the libvirt daemon it sent SIGHUP (not a path)
# ---------------------------------------------------------------------------
declare -A old_kind=() old_val=() dry_made=()
old_order=()
new_lines=()
declare -A new_seen=()

read_manifest() {
	local kind path val rest
	[ -f "$R$manifest" ] || return 0
	while IFS=$'\t' read -r kind path val rest; do
		case $kind in
		dir | file | conf | link | hup) ;;
		*) continue ;;
		esac
		old_kind[$path]=$kind
		old_val[$path]=$val${rest:+$'\t'$rest}
		old_order+=("$path")
	done <"$R$manifest"
}

record() { # kind path [value]
	[ -z "${new_seen[$2]:-}" ] || return 0
	new_seen[$2]=1
	new_lines+=("$1"$'\t'"$2${3:+$'\t'$3}")
}

ours() { [ -n "${old_kind[$1]:-}" ]; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------------------
# Primitive changes. Each prints one line, counts, and does nothing on --dry-run.
# ---------------------------------------------------------------------------
ensure_dir() { # path: create it and its missing parents, recording those we create
	local path=$1 parent
	# Parents first, always: the manifest lists directories in the same order every run.
	parent=$(dirname "$path")
	[ "$parent" = "$path" ] || ensure_dir "$parent"
	if [ -d "$R$path" ]; then
		ours "$path" && [ "${old_kind[$path]}" = dir ] && record dir "$path"
		return 0
	fi
	[ -n "${dry_made[$path]:-}" ] && return 0
	[ -e "$R$path" ] || [ -L "$R$path" ] && die "$R$path exists and is not a directory"
	dry_made[$path]=1
	say mkdir "$(shown "$path")"
	changes=$((changes + 1))
	[ "$dry" = 1 ] || mkdir -m 0755 "$R$path"
	record dir "$path"
}

# install_file SRC PATH MODE [kind]: a file this script owns (replaced when it differs).
install_file() {
	local src=$1 path=$2 mode=$3 kind=${4:-file} verb
	ensure_dir "$(dirname "$path")"
	if [ -f "$R$path" ] && [ ! -L "$R$path" ] && cmp -s "$src" "$R$path" &&
		[ "$(stat -c %a "$R$path")" = "$mode" ]; then
		record "$kind" "$path" "$(sha "$src")"
		return 0
	fi
	[ ! -d "$R$path" ] || die "$R$path is a directory"
	if [ -e "$R$path" ] || [ -L "$R$path" ]; then verb=update; else verb=install; fi
	say "$verb" "$R$path"
	changes=$((changes + 1))
	if [ "$dry" = 0 ]; then
		# A new name then rename: a running hook or a reader never sees half a file.
		cp "$src" "$R$path.esfm-new"
		chmod "$mode" "$R$path.esfm-new"
		mv -f "$R$path.esfm-new" "$R$path"
	fi
	record "$kind" "$path" "$(sha "$src")"
}

# create_conf SRC PATH: a commented example, only if nothing is there.
create_conf() {
	local src=$1 path=$2
	ensure_dir "$(dirname "$path")"
	if [ -e "$R$path" ] || [ -L "$R$path" ]; then
		if ours "$path" && [ "${old_kind[$path]}" = conf ]; then
			record conf "$path" "${old_val[$path]}" # as created, so uninstall sees edits
		else
			say keep "$R$path (exists, not overwritten)"
		fi
		return 0
	fi
	say create "$R$path (commented example)"
	changes=$((changes + 1))
	if [ "$dry" = 0 ]; then
		cp "$src" "$R$path.esfm-new"
		chmod 0644 "$R$path.esfm-new"
		mv -f "$R$path.esfm-new" "$R$path"
	fi
	record conf "$path" "$(sha "$src")"
}

link_created=0
make_link() { # path target (conflicts were ruled out by preflight)
	local path=$1 target=$2
	ensure_dir "$(dirname "$path")"
	if [ -L "$R$path" ] && [ "$(readlink "$R$path")" = "$target" ]; then
		record link "$path" "$target"
		return 0
	fi
	say link "$R$path -> $target"
	changes=$((changes + 1))
	link_created=1
	if [ "$dry" = 0 ]; then
		ln -s "$target" "$R$path.esfm-new"
		mv -Tf "$R$path.esfm-new" "$R$path"
	fi
	record link "$path" "$target"
}

# Remove one manifest entry if it is still what we made. Prints what it did.
removed=0
remove_entry() { # path kind value; sets removed=1 if it removed (or would remove) it
	local path=$1 kind=$2 val=$3
	removed=0
	case $kind in
	link)
		if [ -L "$R$path" ] && [ "$(readlink "$R$path")" = "$val" ]; then
			say remove "$R$path"
			changes=$((changes + 1)) removed=1
			[ "$dry" = 1 ] || rm -f "$R$path"
		elif [ -e "$R$path" ] || [ -L "$R$path" ]; then
			say keep "$R$path (changed since install: not ours any more)"
		fi
		;;
	file | conf)
		if [ -f "$R$path" ] && [ ! -L "$R$path" ] && [ "$(sha "$R$path")" = "$val" ]; then
			say remove "$R$path"
			changes=$((changes + 1)) removed=1
			[ "$dry" = 1 ] || rm -f "$R$path"
		elif [ -e "$R$path" ] || [ -L "$R$path" ]; then
			say keep "$R$path (modified since install)"
		fi
		;;
	dir)
		if [ -d "$R$path" ] && [ ! -L "$R$path" ]; then
			if [ -z "$(ls -A "$R$path")" ] || { [ "$dry" = 1 ] && dir_empty_after "$path"; }; then
				say rmdir "$(shown "$path")"
				changes=$((changes + 1)) removed=1
				[ "$dry" = 1 ] || rmdir "$R$path"
			else
				say keep "$(shown "$path") (not empty)"
			fi
		fi
		;;
	esac
}

# On --dry-run nothing is removed, so judge a directory by what would be left.
declare -A dry_removed=()
dir_empty_after() {
	local d=$1 e
	for e in "$R$d"/* "$R$d"/.[!.]* "$R$d"/..?*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		[ -n "${dry_removed[${e#"$R"}]:-}" ] || return 1
	done
	return 0
}

# ---------------------------------------------------------------------------
# libvirt daemons: which ones run here (same mount namespace, so the same
# /etc/libvirt), since when, and SIGHUP.
# ---------------------------------------------------------------------------
daemon_pids() { # name
	local name=$1 pid pids=() p
	if [ -r "/run/$name.pid" ]; then
		pid=$(tr -dc 0-9 <"/run/$name.pid" 2>/dev/null || true)
		[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && pids=("$pid")
	fi
	if [ ${#pids[@]} -eq 0 ] && command -v pidof >/dev/null; then
		read -ra pids <<<"$(pidof "$name" 2>/dev/null || true)"
	fi
	for p in "${pids[@]}"; do
		[ "$(readlink "/proc/$p/ns/mnt" 2>/dev/null)" = "$(readlink /proc/self/ns/mnt)" ] && echo "$p"
	done
	return 0
}

proc_start() { # pid -> "<ticks since boot>" (field 22 of /proc/pid/stat)
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086 # split the fields on purpose
	set -- $s
	echo "${20}"
}

proc_start_epoch() {
	local ticks btime hz
	ticks=$(proc_start "$1") || return 1
	btime=$(awk '/^btime/ {print $2}' /proc/stat)
	hz=$(getconf CLK_TCK)
	echo $((btime + ticks / hz))
}

# ---------------------------------------------------------------------------
# Checks before any change.
# ---------------------------------------------------------------------------
check_build() {
	local f
	for f in esfm esfm-hook esfm-hook-handler esfm-hook-worker; do
		[ -x "$builddir/$f" ] || die "$builddir/$f not found: build first (make), or give --builddir"
	done
	for f in xml-templates/hostdev.xml xml-templates/identity.xml xml-templates/pool.rng \
		flash/program-vivado.tcl flash/program-xsct.tcl flash/program-args.tcl; do
		[ -f "$top/$f" ] || die "$top/$f missing"
	done
	[ -f "$top/completion/esfm" ] || die "$top/completion/esfm missing"
	[ -x "$top/man/mkman.sh" ] || die "$top/man/mkman.sh missing"
}

# The binaries look for their templates and esfm.conf where they were built to
# (esfm --print-paths); another --prefix or --sysconfdir is allowed, and said.
check_built_paths() {
	if [ "$datadir" != "${built[datadir]}" ]; then
		warn "the binaries in $builddir were built for data in ${built[datadir]}, not $datadir:" \
			"rebuild with the same prefix (make PREFIX=$prefix) or set" \
			"template_dir = $datadir in $confdir/esfm.conf"
	fi
	if [ "$confdir" != "${built[confdir]}" ]; then
		warn "the binaries in $builddir were not built for $confdir (SYSCONFDIR): esfm and" \
			"the hook will not read $confdir/esfm.conf; rebuild with make SYSCONFDIR=$sysconfdir"
	fi
}

preflight_link() {
	if [ -L "$R$hooklink" ]; then
		local t
		t=$(readlink "$R$hooklink")
		[ "$t" = "$hooktarget" ] && return 0
		die "$R$hooklink already points to $t (another esfm installation?)." \
			"Uninstall that one, or remove the link, then run $prog again. Nothing was changed."
	elif [ -e "$R$hooklink" ]; then
		die "$R$hooklink exists and is not esfm's link; it was left as is. Move it away" \
			"(libvirt runs every executable in qemu.d) and run $prog again. Nothing was changed."
	fi
}

check_libvirt_version() {
	local v major minor
	command -v libvirtd >/dev/null || return 0
	v=$(libvirtd --version 2>/dev/null | awk '{print $NF}')
	major=${v%%.*} minor=${v#*.}
	minor=${minor%%.*}
	case $major$minor in *[!0-9]* | '') return 0 ;; esac
	if [ "$major" -lt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -lt 5 ]; }; then
		warn "libvirt $v runs no hooks from qemu.d/ (needs 6.5.0): link $hooksdir/qemu" \
			"to $hooktarget instead, if you have no qemu hook yet"
	fi
}

# ---------------------------------------------------------------------------
# Generated content.
# ---------------------------------------------------------------------------
write_examples() {
	cat >"$tmp/esfm.conf" <<EOF
# esfm.conf: settings shared by the esfm command and the libvirt hook.
# "key = value" lines; a line starting with # is a comment. Every setting is
# optional: the defaults are shown. After an edit run: esfm pool-check
# See esfm-pool(5).

# Root of sysfs.
#sysfs_root = /sys

# Where the per-pool state files and locks live.
#state_dir = /run/esfm

# libvirt connection of esfm and of the hook's attach worker.
#libvirt_uri = qemu:///system

# Where hostdev.xml and pool.rng are.
#template_dir = $datadir

# What the hook logs: err, warning, notice, info or debug.
#log_level = info

# Log to this file instead of syslog (ident esfm-hook).
#log_file = /var/log/esfm-hook.log

# How long the hook and esfm wait for a pool's lock, in milliseconds.
#lock_timeout_ms = 10000

# Bound on the hook's attach worker, in milliseconds.
#attach_timeout_ms = 60000

# How long to wait for new VFs, or for a PF after flashing, in milliseconds.
#vf_timeout_ms = 5000

# Programmer used by 'esfm <pf> init N -b FILE': vivado or xsct (JTAG, with the
# scripts esfm installs in flash_script_dir), or command (flash_command).
#flash_tool = vivado
#vivado_path = /tools/Xilinx/Vivado/2023.2/bin/vivado
#xsct_path = /tools/Xilinx/Vitis/2023.2/bin/xsct
#flash_script_dir = $datadir

# The card to program when several are attached (a pool's <jtag target='...'/>
# wins): a part of the JTAG target's name or of the cable's serial number.
#flash_target = 21770205K01L

# The Xilinx hardware server (default: the tool's own, localhost:3121).
#hw_server = localhost:3121

# Any other programmer (flash_tool = command): an absolute program path and its
# arguments, run without a shell; {bitstream}, {pf} and {kind} are replaced.
#flash_command = /usr/local/bin/program-card --pci {pf} {bitstream}
EOF
	cat >"$tmp/README" <<EOF
esfm pools: one file per pool, named <pool>.xml, in this directory.
Files not ending in .xml (like this one) are ignored. See esfm-pool(5).

A pool is one SR-IOV PF and its first <count> VFs. Example, as fpga0.xml:

  <pool type='sriov'>
    <name>fpga0</name>                                 <!-- = the file name -->
    <source><pf address='0000:83:00.0'/></source>      <!-- the PF -->
    <vfs count='4' driver='vfio-pci'/>                 <!-- VFs 0-3 -->
    <!-- optional:
    <qdma qmax='32'/>
    <bitstream path='/lib/firmware/design.bit' kind='bit'/>
    <vms base='everestg'/>
    <reconf pause='yes'/>
    -->
  </pool>

Check with: esfm pool-check
Give a domain one VF of the pool at each start:

  virsh metadata DOMAIN --uri urn:esfm:vf:1 --key esfm --config --set '<vf pool="fpga0"/>'
EOF
	sed "s|^_esfm_conf_dir_default=.*|_esfm_conf_dir_default=$confdir|" \
		"$top/completion/esfm" >"$tmp/completion"
	printf '%s\n' "bindir=$bindir" "libexecdir=$libexecdir" "datadir=$datadir" \
		"confdir=$confdir" "hooksdir=$hooksdir" >"$tmp/paths"
	"$top/man/mkman.sh" --esfm "$builddir/esfm" --paths "$tmp/paths" --out "$tmp/man" >&2 ||
		die "cannot generate the man pages"
}

# ---------------------------------------------------------------------------
do_install() {
	local version
	check_build
	version=$("$builddir/esfm" --version | awk '{print $2}')
	preflight_link
	read_manifest
	echo "esfm $version: install into ${R:-/} (prefix $prefix, sysconfdir $sysconfdir)${R:+, staged}$([ "$dry" = 1 ] && echo ', dry run: nothing is changed')"
	check_built_paths
	[ -n "$R" ] || check_libvirt_version
	write_examples

	install_file "$builddir/esfm" "$bindir/esfm" 755
	install_file "$builddir/esfm-hook" "$libexecdir/esfm-hook" 755
	install_file "$builddir/esfm-hook-handler" "$libexecdir/esfm-hook-handler" 755
	install_file "$builddir/esfm-hook-worker" "$libexecdir/esfm-hook-worker" 755
	install_file "$top/xml-templates/hostdev.xml" "$datadir/hostdev.xml" 644
	install_file "$top/xml-templates/identity.xml" "$datadir/identity.xml" 644
	install_file "$top/xml-templates/pool.rng" "$datadir/pool.rng" 644
	install_file "$top/flash/program-vivado.tcl" "$datadir/program-vivado.tcl" 644
	install_file "$top/flash/program-xsct.tcl" "$datadir/program-xsct.tcl" 644
	install_file "$top/flash/program-args.tcl" "$datadir/program-args.tcl" 644
	install_file "$tmp/man/esfm.1" "$mandir/man1/esfm.1" 644
	install_file "$tmp/man/esfm-pool.5" "$mandir/man5/esfm-pool.5" 644
	install_file "$tmp/man/esfm-hook.8" "$mandir/man8/esfm-hook.8" 644
	install_file "$tmp/completion" "$completiondir/esfm" 644

	create_conf "$tmp/esfm.conf" "$confdir/esfm.conf"
	ensure_dir "$confdir/pools.d"
	create_conf "$tmp/README" "$confdir/pools.d/README"

	if [ -e "$R$hooksdir/qemu" ] || [ -L "$R$hooksdir/qemu" ]; then
		say keep "$R$hooksdir/qemu (existing hook; libvirt runs it before qemu.d/esfm)"
	fi
	make_link "$hooklink" "$hooktarget"

	# Entries of an earlier install that this one no longer makes (e.g. an older version).
	local p
	for ((i = ${#old_order[@]} - 1; i >= 0; i--)); do
		p=${old_order[i]}
		[ -z "${new_seen[$p]:-}" ] || continue
		case ${old_kind[$p]} in
		hup) ;;
		dir) ;; # below, after the files
		*) remove_entry "$p" "${old_kind[$p]}" "${old_val[$p]}" ;;
		esac
	done
	for ((i = ${#old_order[@]} - 1; i >= 0; i--)); do
		p=${old_order[i]}
		[ -z "${new_seen[$p]:-}" ] && [ "${old_kind[$p]}" = dir ] && remove_entry "$p" dir ""
	done

	signal_libvirtd

	write_manifest
	if [ "$changes" -eq 0 ]; then
		note "nothing changed: esfm $version is already installed${R:+ in $R}"
	elif [ "$dry" = 1 ]; then
		note "dry run: $changes change(s) would be made; nothing was changed"
	else
		note "done: $changes change(s); manifest $R$manifest"
		if ! ours "$hooklink"; then
			cat <<EOF
Next: define a pool in $confdir/pools.d (see its README and esfm-pool(5)), check it
with 'esfm pool-check', and annotate a domain:
  virsh metadata DOMAIN --uri urn:esfm:vf:1 --key esfm --config --set '<vf pool="NAME"/>'
Uninstall with: $0 --uninstall${R:+ --destdir $R} --prefix $prefix
EOF
		fi
	fi
}

write_manifest() {
	local line
	# Keep the SIGHUP records of earlier runs unless a new one was made.
	for line in "${old_order[@]}"; do
		[ "${old_kind[$line]}" = hup ] && record hup "$line" "${old_val[$line]}"
	done
	{
		echo "# esfm install manifest, written by install.sh: what it created."
		echo "# '$prog --uninstall' removes these (files only if unchanged). Do not edit."
		for line in "${new_lines[@]}"; do printf '%s\n' "$line"; done
	} >"$tmp/manifest"
	if [ -f "$R$manifest" ] && cmp -s "$tmp/manifest" "$R$manifest"; then
		return 0
	fi
	[ "$dry" = 1 ] && return 0
	cp "$tmp/manifest" "$R$manifest.esfm-new"
	chmod 0644 "$R$manifest.esfm-new"
	mv -f "$R$manifest.esfm-new" "$R$manifest"
}

# libvirtd looks for hooks at start and on SIGHUP only (if it then found a qemu hook
# it lists qemu.d again at every call, otherwise it runs none). Say what is true.
signal_libvirtd() {
	local name pid found=0 started linktime rec
	if [ -n "$R" ]; then
		note "staged into $R: no daemon signalled"
		return 0
	fi
	for name in libvirtd virtqemud; do
		for pid in $(daemon_pids "$name"); do
			found=1
			started=$(proc_start_epoch "$pid" || echo 0)
			linktime=$(stat -c %Z "$hooklink" 2>/dev/null || echo 0)
			rec="$pid"$'\t'"$(proc_start "$pid" || echo 0)"
			if [ "$link_created" = 0 ] && [ "$linktime" -gt 0 ] && [ "$started" -gt "$linktime" ]; then
				note "$name (pid $pid) started after the hook was registered: it runs it"
				continue
			fi
			if [ "$link_created" = 0 ] && [ "${old_kind[$name]:-}" = hup ] && [ "${old_val[$name]}" = "$rec" ]; then
				note "$name (pid $pid) was already sent SIGHUP for this hook: it runs it"
				continue
			fi
			if [ "$files_only" = 1 ] || [ "$dry" = 1 ]; then
				note "$name (pid $pid) is running and may not run the hook until it is told:" \
					"run 'kill -HUP $pid' (or $0 without --files-only)"
				continue
			fi
			if kill -HUP "$pid"; then
				say signal "$name (pid $pid): SIGHUP"
				changes=$((changes + 1))
				note "sent SIGHUP to $name (pid $pid): domains started from now on go through the esfm hook"
				record hup "$name" "$rec"
			else
				warn "cannot signal $name (pid $pid): run 'kill -HUP $pid' or restart it"
			fi
		done
	done
	if [ "$found" = 0 ]; then
		if command -v libvirtd >/dev/null || command -v virtqemud >/dev/null; then
			note "libvirtd is not running: it will find the hook when it starts (no other step needed)"
		else
			note "libvirt is not installed here: the hook will be found when libvirtd starts"
		fi
	fi
}

do_uninstall() {
	local p i
	if [ ! -f "$R$manifest" ]; then
		note "nothing to uninstall: no manifest at $R$manifest (was esfm installed with" \
			"another --prefix${R:+ or --destdir}?)"
		return 0
	fi
	read_manifest
	echo "$prog: uninstall from ${R:-/} (manifest $R$manifest)$([ "$dry" = 1 ] && echo ', dry run: nothing is changed')"
	for ((i = ${#old_order[@]} - 1; i >= 0; i--)); do
		p=${old_order[i]}
		case ${old_kind[$p]} in
		dir | hup) ;;
		*)
			remove_entry "$p" "${old_kind[$p]}" "${old_val[$p]}"
			[ "$removed" = 0 ] || dry_removed[$p]=1
			;;
		esac
	done
	say remove "$R$manifest"
	changes=$((changes + 1))
	dry_removed[$manifest]=1
	[ "$dry" = 1 ] || rm -f "$R$manifest"
	for ((i = ${#old_order[@]} - 1; i >= 0; i--)); do
		p=${old_order[i]}
		if [ "${old_kind[$p]}" = dir ]; then
			remove_entry "$p" dir ""
			[ "$removed" = 0 ] || dry_removed[$p]=1
		fi
	done
	if [ -z "$R" ] && [ -d /run/esfm ] &&
		grep -lqsE 'state="(reserved|attached|paused)"' /run/esfm/*.state 2>/dev/null; then
		warn "VFs are still held (see /run/esfm/*.state): domains running now will not give" \
			"them back through the hook when they stop"
	fi
	if [ "$dry" = 1 ]; then
		note "dry run: $changes change(s) would be made; nothing was changed"
	else
		note "done: $changes change(s). libvirt needs no signal: it skips a hook that is gone."
	fi
}

if [ "$uninstall" = 1 ]; then
	do_uninstall
else
	do_install
fi
