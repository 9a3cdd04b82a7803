#!/usr/bin/env bash
# Build esfm's patched QEMU: Debian 12's qemu source package with Debian's own patches,
# then ours (qemu/patches/series), configured by qemu/configure-flags. Results are
# cached, so QEMU is rebuilt only when the source version, a patch or the configure
# line changes.
#
#   qemu/esfm-qemu.sh build [OUTDIR]   fetch, patch, configure, build (or take the cached
#                                      build) and install the binary as
#                                      OUTDIR/bin/qemu-system-x86_64 (default build/qemu)
#   qemu/esfm-qemu.sh path             print the cached binary built from the current
#                                      patches and configure line (no network); exit 1
#                                      if there is none
#   qemu/esfm-qemu.sh key              print the cache key's local part (patches and
#                                      configure line)
#
# The source comes through a private apt configuration (its own sources list, lists
# and cache under the cache directory) with deb-src entries for the Debian mirrors
# and suites of the machine's own deb entries; the machine's apt configuration is
# never changed. Build dependencies missing on the machine are installed with apt-get.
#
# Environment:
#   ESFM_QEMU_CACHE    cache directory (default /var/tmp/esfm-qemu)
#   ESFM_QEMU_VERSION  source version to build (default: the newest 1:7.2+dfsg-7+deb12u*
#                      the mirror offers)
#   ESFM_QEMU_JOBS     parallel build jobs (default 2)
#   ESFM_QEMU_KEEP_WORK=1  keep the unpacked, built tree (about 1 GB) after a build
#
# Exit status: 0 done, 1 failure, 2 usage error.
set -euo pipefail

prog=esfm-qemu.sh
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cache=${ESFM_QEMU_CACHE:-/var/tmp/esfm-qemu}
jobs=${ESFM_QEMU_JOBS:-2}
version_re='^1:7\.2\+dfsg-7\+deb12u[0-9]+$'
build_deps=(dpkg-dev patch meson ninja-build pkg-config gcc libc6-dev
	libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev python3)

die() {
	echo "$prog: $*" >&2
	exit 1
}

now() { date +%s; }

# The configure flags without comments and blank lines, one per line.
configure_flags() {
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$here/configure-flags"
}

# The patches of the series, in order, as paths.
series_patches() {
	local p
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$here/patches/series" |
		while read -r p; do
			[ -f "$here/patches/$p" ] || die "patch '$p' listed in qemu/patches/series does not exist"
			printf '%s\n' "$here/patches/$p"
		done
}

# Hash of what we add to the source: the series, every patch, the configure line.
local_key() {
	{
		echo "series"
		cat "$here/patches/series"
		series_patches | while read -r p; do
			printf 'patch %s\n' "$(basename "$p")"
			cat "$p"
		done
		echo "configure"
		configure_flags
	} | sha256sum | cut -c1-16
}

# Cache directory name for a source version: the version without the epoch.
key_dir() {
	printf '%s/%s-%s\n' "$cache" "${1#*:}" "$(local_key)"
}

cmd_path() {
	local k d best=''
	k=$(local_key)
	for d in "$cache"/*-"$k"; do
		if [ -f "$d/complete" ] && [ -x "$d/bin/qemu-system-x86_64" ]; then
			if [ -z "$best" ] || [ "$d/complete" -nt "$best/complete" ]; then
				best=$d
			fi
		fi
	done
	[ -n "$best" ] || return 1
	printf '%s\n' "$best/bin/qemu-system-x86_64"
}

install_deps() {
	local missing=() p
	for p in "${build_deps[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "$prog: installing build dependencies: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# apt-get and apt-cache with the private configuration.
papt() {
	local tool=$1
	shift
	"$tool" -o Dir::Etc::SourceList="$cache/apt/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$cache/apt/lists" \
		-o Dir::Cache="$cache/apt/cache" "$@"
}

# deb-src lines for the Debian archives the machine's deb entries use. apt itself
# reports those entries (one line per URI, suite and component, whatever the format
# of the files they come from); only Debian's own archives are kept.
write_sources() {
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg opt=''
	[ -r "$keyring" ] && opt="[signed-by=$keyring] "
	mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial"
	# shellcheck disable=SC2016 # apt's own $(FIELD) placeholders
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT) $(ORIGIN)' \
		'Identifier: Packages' |
		awk -v opt="$opt" '
			$4 == "Debian" || ($4 == "" && $1 ~ /\/debian(-security)?\/$/) {
				line = "deb-src " opt $1 " " $2 " " $3
				if (!(line in seen)) { seen[line] = 1; print line }
			}' >"$cache/apt/sources.list.new"
	[ -s "$cache/apt/sources.list.new" ] ||
		die "no Debian deb entry in the machine's apt sources; cannot find the qemu source package"
	mv "$cache/apt/sources.list.new" "$cache/apt/sources.list"
}

resolve_version() {
	local v
	if [ -n "${ESFM_QEMU_VERSION:-}" ]; then
		printf '%s\n' "$ESFM_QEMU_VERSION"
		return
	fi
	v=$(papt apt-cache showsrc qemu 2>/dev/null | awk '/^Version: / { print $2 }' |
		grep -E "$version_re" | sort -V | tail -n 1)
	[ -n "$v" ] || die "the mirror offers no qemu source 1:7.2+dfsg-7+deb12u*; set ESFM_QEMU_VERSION"
	printf '%s\n' "$v"
}

cmd_build() {
	local out=${1:-$top/build/qemu}
	local t0 t stage_log dir ver work src flags p cached
	mkdir -p "$cache"
	exec 9>"$cache/lock"
	flock 9

	t0=$(now)
	stage_log=''
	stage() { # name seconds
		printf '%s: %-9s %4d s\n' "$prog" "$1" "$2"
		stage_log+="$1 $2"$'\n'
	}

	t=$(now)
	install_deps
	stage deps $(($(now) - t))

	t=$(now)
	write_sources
	papt apt-get -q update >"$cache/apt/update.log" 2>&1 || {
		tail -n 5 "$cache/apt/update.log" >&2
		die "apt-get update with the private deb-src configuration failed (log: $cache/apt/update.log)"
	}
	ver=$(resolve_version)
	dir=$(key_dir "$ver")
	echo "$prog: source qemu $ver, patches+configure $(local_key), cache $dir"
	if [ -f "$dir/complete" ] && [ -x "$dir/bin/qemu-system-x86_64" ]; then
		cached=1
		stage lookup $(($(now) - t))
		t=$(now)
	else
		cached=0
		rm -rf "$dir" "$cache/work"
		work=$cache/work
		mkdir -p "$work" "$cache/dl/$ver"
		if ! ls "$cache/dl/$ver/"*.dsc >/dev/null 2>&1; then
			(cd "$cache/dl/$ver" && papt apt-get -q source --download-only "qemu=$ver") \
				>"$cache/dl/fetch.log" 2>&1 || {
				tail -n 5 "$cache/dl/fetch.log" >&2
				die "cannot download the qemu $ver source package (log: $cache/dl/fetch.log)"
			}
		fi
		# dpkg-source checks the checksums of the .dsc and applies Debian's patches.
		dpkg-source -x "$cache/dl/$ver/"*.dsc "$work/qemu" >"$work/unpack.log" 2>&1 || {
			tail -n 5 "$work/unpack.log" >&2
			die "cannot unpack the qemu $ver source (log: $work/unpack.log)"
		}
		stage fetch $(($(now) - t))

		t=$(now)
		src=$work/qemu
		while read -r p; do
			patch -d "$src" -p1 --forward --batch --quiet <"$p" >"$work/patch.log" 2>&1 || {
				cat "$work/patch.log" >&2
				die "patch $(basename "$p") does not apply to qemu $ver"
			}
		done < <(series_patches)
		stage patch $(($(now) - t))

		t=$(now)
		mapfile -t flags < <(configure_flags)
		mkdir -p "$src/build"
		(cd "$src/build" && PYTHON=/usr/bin/python3 ../configure --prefix=/usr/local "${flags[@]}") \
			>"$work/configure.log" 2>&1 || {
			tail -n 20 "$work/configure.log" >&2
			die "QEMU's configure failed (log: $work/configure.log)"
		}
		stage configure $(($(now) - t))

		t=$(now)
		ninja -C "$src/build" -j "$jobs" qemu-system-x86_64 >"$work/build.log" 2>&1 || {
			grep -E -A5 'error|FAILED' "$work/build.log" | head -n 40 >&2
			die "building QEMU failed (log: $work/build.log)"
		}
		stage build $(($(now) - t))

		t=$(now)
		mkdir -p "$dir/bin"
		install -m 0755 "$src/build/qemu-system-x86_64" "$dir/bin/qemu-system-x86_64"
		{
			echo "version $ver"
			echo "local-key $(local_key)"
			echo "patches $(series_patches | xargs -n1 basename | tr '\n' ' ')"
			echo "configure $(configure_flags | tr '\n' ' ')"
		} >"$dir/inputs"
		cp "$work/configure.log" "$work/build.log" "$dir/"
		if [ "${ESFM_QEMU_KEEP_WORK:-0}" != 1 ]; then
			rm -rf "$work"
		fi
		printf '%s' "$stage_log" >"$dir/timings"
		touch "$dir/complete"
	fi

	mkdir -p "$out/bin"
	install -m 0755 "$dir/bin/qemu-system-x86_64" "$out/bin/qemu-system-x86_64.new"
	mv "$out/bin/qemu-system-x86_64.new" "$out/bin/qemu-system-x86_64"
	cp "$dir/inputs" "$out/inputs"
	stage install $(($(now) - t))
	if [ "$cached" = 1 ]; then
		echo "$prog: cached build (built $(date -r "$dir/complete" '+%F %T'))"
	fi
	printf '%s: total     %4d s -> %s\n' "$prog" $(($(now) - t0)) "$out/bin/qemu-system-x86_64"
}

case ${1:-} in
build)
	shift
	cmd_build "$@"
	;;
path)
	cmd_path || exit 1
	;;
key)
	local_key
	;;
-h | --help)
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
	;;
*)
	echo "$prog: usage: $prog build [OUTDIR] | path | key | --help" >&2
	exit 2
	;;
esac
