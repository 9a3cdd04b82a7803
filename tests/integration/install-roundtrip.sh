#!/usr/bin/env bash
# install.sh into temporary roots (--destdir), never the real /etc or /usr, never a
# running libvirtd (with a DESTDIR nothing is signalled):
#   - a root holding a user's libvirt hook (etc/libvirt/hooks/qemu) and a user pool:
#     --dry-run changes nothing; install puts every file and the qemu.d/esfm link in
#     place, with their modes, leaves the user's files alone, creates a commented
#     esfm.conf that esfm accepts; a second install (and a --files-only one) changes
#     nothing, not even a time stamp, and says so; uninstall (after a dry run that
#     changes nothing) gives back a tree identical to the one before, byte for byte;
#   - an edited esfm.conf, and a user's pool in a pools.d the install created, survive
#     uninstall;
#   - a foreign qemu.d/esfm (file or link elsewhere) makes install refuse, changing nothing;
#     another qemu.d hook stays;
#   - another --prefix or --sysconfdir than the binaries were built for is warned about,
#     and the installed man pages and completion use the install's paths;
#   - the layout is the binaries' (esfm --print-paths): a build made for other directories
#     stages its files, link, manifest and man pages there, with no warning;
#   - make install calls install.sh --files-only with DESTDIR and BUILDDIR only;
#   - usage errors.
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ESFM_BUILD:-$top/build/check}
. "$top/tests/lib/tap.sh"

missing=
for f in esfm esfm-hook esfm-hook-handler esfm-hook-worker; do
	[ -x "$build/$f" ] || missing="$missing $build/$f"
done
for c in sha256sum stat find cmp man; do
	command -v "$c" >/dev/null || missing="$missing $c"
done
if [ -n "$missing" ]; then
	t_fail "prerequisites of the install tests" "missing:$missing" "(build with: make SANITIZE=1 tests)"
	t_done
	exit 1
fi

work=$(mktemp -d /tmp/esfm-install-test.XXXXXX)
cleanup() {
	if [ "${ESFM_KEEP:-0}" = 1 ]; then echo "# kept $work" >&2; else rm -rf -- "$work"; fi
}
trap cleanup EXIT

inst() { "$top/install.sh" --builddir "$build" "$@"; }
# flat TEXT: on one line, for matching an exit status with output that spans lines.
flat() { printf '%s' "$*" | tr '\n' ' '; }

# listing ROOT [times]: every path under ROOT with type, mode, owner, content checksum or
# link target (and the modification time with "times").
listing() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' p; do
			local_t=
			[ "${2:-}" = times ] && local_t=" $(stat -c %y "$p")"
			if [ -L "$p" ]; then
				printf '%s link -> %s%s\n' "$p" "$(readlink "$p")" "$local_t"
			elif [ -d "$p" ]; then
				printf '%s dir %s%s\n' "$p" "$(stat -c '%a %u:%g' "$p")" "$local_t"
			else
				printf '%s file %s %s%s\n' "$p" "$(stat -c '%a %u:%g' "$p")" \
					"$(sha256sum <"$p" | cut -c1-64)" "$local_t"
			fi
		done
	)
}

# t_same WHAT A B: two listings are equal (diff shown otherwise).
t_same() {
	if [ "$2" = "$3" ]; then
		t_pass "$1"
	else
		t_fail "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -30)"
	fi
}

# A valid pool the user wrote before installing.
user_pool() {
	cat <<'EOF'
<pool type='sriov'>
  <name>mine</name>
  <source><pf address='0000:83:00.0'/></source>
  <vfs count='2'/>
</pool>
EOF
}

# --- the main root: a user's qemu hook and pool already there ------------------------------
A=$work/rootA
mkdir -p "$A/etc/libvirt/hooks" "$A/etc/esfm/pools.d"
printf '#!/bin/sh\n# the user'"'"'s own hook\nexit 0\n' >"$A/etc/libvirt/hooks/qemu"
chmod 0750 "$A/etc/libvirt/hooks/qemu"
user_pool >"$A/etc/esfm/pools.d/mine.xml"
chmod 0640 "$A/etc/esfm/pools.d/mine.xml"
before=$(listing "$A")
before_t=$(listing "$A" times)

t_run dry inst --destdir "$A" --dry-run
t_is "install --dry-run exits 0" "$dry_rc" 0
t_like "install --dry-run says it changes nothing" "$dry_out" 'dry run.*nothing (is|was) changed'
t_like "install --dry-run lists the hook link it would make" "$dry_out" \
	"link +$A/etc/libvirt/hooks/qemu.d/esfm -> /usr/local/libexec/esfm/esfm-hook"
t_same "install --dry-run changes nothing (listing with times)" "$before_t" "$(listing "$A" times)"

t_run i1 inst --destdir "$A"
t_is "install exits 0" "$i1_rc" 0
[ "$i1_rc" = 0 ] || echo "# $i1_out $i1_err"
t_like "install with a DESTDIR signals no daemon, and says so" "$i1_out" 'no daemon signalled'
t_unlike "install with a DESTDIR never sends SIGHUP" "$i1_out" 'SIGHUP'
t_like "install reports its changes" "$i1_out" 'done: [0-9]+ change'

# check_file PATH MODE [SOURCE]: a regular file with that mode (and content).
check_file() {
	local p=$A$1 what="$1 is a regular file, mode $2${3:+, same as $(basename "$3")}"
	if [ -f "$p" ] && [ ! -L "$p" ] && [ "$(stat -c %a "$p")" = "$2" ] &&
		{ [ -z "${3:-}" ] || cmp -s "$3" "$p"; }; then
		t_pass "$what"
	else
		t_fail "$what" "$(ls -l "$p" 2>&1)"
	fi
}
check_file /usr/local/bin/esfm 755 "$build/esfm"
check_file /usr/local/libexec/esfm/esfm-hook 755 "$build/esfm-hook"
check_file /usr/local/libexec/esfm/esfm-hook-handler 755 "$build/esfm-hook-handler"
check_file /usr/local/libexec/esfm/esfm-hook-worker 755 "$build/esfm-hook-worker"
check_file /usr/local/share/esfm/hostdev.xml 644 "$top/xml-templates/hostdev.xml"
check_file /usr/local/share/esfm/identity.xml 644 "$top/xml-templates/identity.xml"
check_file /usr/local/share/esfm/pool.rng 644 "$top/xml-templates/pool.rng"
check_file /usr/local/share/man/man1/esfm.1 644
check_file /usr/local/share/man/man5/esfm-pool.5 644
check_file /usr/local/share/man/man8/esfm-hook.8 644
check_file /usr/local/share/bash-completion/completions/esfm 644 "$top/completion/esfm"
check_file /etc/esfm/esfm.conf 644
check_file /etc/esfm/pools.d/README 644
check_file /usr/local/share/esfm/install-manifest 644

link=$A/etc/libvirt/hooks/qemu.d/esfm
if [ -L "$link" ] && [ "$(readlink "$link")" = /usr/local/libexec/esfm/esfm-hook ]; then
	t_pass "qemu.d/esfm is a symlink to /usr/local/libexec/esfm/esfm-hook"
else
	t_fail "qemu.d/esfm is a symlink to /usr/local/libexec/esfm/esfm-hook" "$(ls -l "$link" 2>&1)"
fi
hookdir=$(dirname "$A$(readlink "$link")")
t_is "the link's target (inside the root) is the installed hook, next to its handler and worker" \
	"$(cmp -s "$A$(readlink "$link")" "$build/esfm-hook" && [ -x "$hookdir/esfm-hook-handler" ] &&
		[ -x "$hookdir/esfm-hook-worker" ] && echo yes)" yes
t_is "qemu.d was created 0755" "$(stat -c %a "$A/etc/libvirt/hooks/qemu.d" 2>&1)" 755

t_same "the user's qemu hook and pool are untouched" \
	"$(printf '%s\n' "$before" | grep -E '^\./etc/(libvirt/hooks/qemu|esfm/pools\.d/mine\.xml) ')" \
	"$(listing "$A" | grep -E '^\./etc/(libvirt/hooks/qemu|esfm/pools\.d/mine\.xml) ')"

conf=$A/etc/esfm/esfm.conf
t_is "esfm.conf is all comments" "$(grep -cvE '^[[:space:]]*(#|$)' "$conf")" 0
for k in sysfs_root state_dir libvirt_uri template_dir log_level log_file lock_timeout_ms \
	attach_timeout_ms vf_timeout_ms flash_tool vivado_path xsct_path flash_script_dir flash_target \
	hw_server flash_command; do
	grep -qE "^#$k = " "$conf" || t_fail "esfm.conf shows $k commented out" "$(cat "$conf")"
done
t_pass "esfm.conf shows every setting of src/conf.c commented out"
# Every commented setting, uncommented, is accepted as it stands (the defaults are real).
mkdir -p "$work/confcheck/pools.d"
sed -n 's/^#\([a-z_]* = \)/\1/p' "$conf" | grep -v '^flash_command' >"$work/confcheck/esfm.conf"
t_run cc env ESFM_CONF_DIR="$work/confcheck" "$build/esfm" pool-check
t_is "the commented defaults of esfm.conf are valid settings" "$(flat "$cc_rc $cc_out")" "0 configuration OK (0 pools)"
t_run pc env -u ESFM_SYSFS_ROOT -u ESFM_STATE_DIR ESFM_CONF_DIR="$A/etc/esfm" \
	ESFM_TEMPLATE_DIR="$A/usr/local/share/esfm" "$build/esfm" pool-check
t_is "esfm accepts the installed esfm.conf, schema and pools.d (README ignored)" \
	"$(flat "$pc_rc $pc_out")" "0 configuration OK (1 pool)"
# The example of pools.d/README, saved as fpga0.xml, is a valid pool.
mkdir -p "$work/readme/pools.d"
sed -n '/^  <pool /,/^  <\/pool>/p' "$A/etc/esfm/pools.d/README" >"$work/readme/pools.d/fpga0.xml"
t_run rx env ESFM_CONF_DIR="$work/readme" ESFM_TEMPLATE_DIR="$top/xml-templates" "$build/esfm" pool-check
t_is "the example pool of pools.d/README is valid as it stands" "$(flat "$rx_rc $rx_out $rx_err")" \
	"0 configuration OK (1 pool) "
t_like "the manifest records the link" "$(cat "$A/usr/local/share/esfm/install-manifest")" \
	$'link\t/etc/libvirt/hooks/qemu.d/esfm\t/usr/local/libexec/esfm/esfm-hook'
t_unlike "the manifest does not claim the user's files or pre-existing directories" \
	"$(cat "$A/usr/local/share/esfm/install-manifest")" \
	$'(hooks/qemu\t|mine\\.xml|dir\t/etc/esfm\t|dir\t/etc/esfm$|dir\t/etc/libvirt/hooks$|dir\t/etc$)'
t_like "the installed esfm(1) renders" "$(MANWIDTH=80 man -l "$A/usr/local/share/man/man1/esfm.1" 2>&1)" \
	'^ESFM\(1\)'

after_t=$(listing "$A" times)
t_run i2 inst --destdir "$A"
t_is "second install exits 0" "$i2_rc" 0
t_like "second install says nothing changed" "$i2_out" 'nothing changed'
t_unlike "second install lists no change" "$i2_out" '^ +(install|update|mkdir|link|create|remove|rmdir) '
t_same "second install changes nothing, not even a time stamp" "$after_t" "$(listing "$A" times)"
t_run i3 inst --destdir "$A" --files-only
t_like "install --files-only over it says nothing changed" "$(flat "$i3_rc $i3_out")" '^0 .*nothing changed'
t_same "install --files-only changes nothing either" "$after_t" "$(listing "$A" times)"

t_run ud inst --destdir "$A" --uninstall --dry-run
t_is "uninstall --dry-run exits 0" "$ud_rc" 0
t_like "uninstall --dry-run would remove the link" "$ud_out" "remove +$A/etc/libvirt/hooks/qemu.d/esfm"
t_like "uninstall --dry-run would remove the directories it made" "$ud_out" "rmdir +$A/usr$"
t_same "uninstall --dry-run changes nothing" "$after_t" "$(listing "$A" times)"

t_run u1 inst --destdir "$A" --uninstall
t_is "uninstall exits 0" "$u1_rc" 0
t_unlike "uninstall keeps nothing it made" "$u1_out" 'keep '
t_same "after uninstall the tree is identical to the one before install" "$before" "$(listing "$A")"
t_run u2 inst --destdir "$A" --uninstall
t_like "a second uninstall has nothing to do and says so" "$(flat "$u2_rc $u2_out")" '^0 .*nothing to uninstall'
t_same "a second uninstall changes nothing" "$before" "$(listing "$A")"

# --- an edited esfm.conf stays ------------------------------------------------------------
inst --destdir "$A" >/dev/null 2>&1
echo "log_level = debug" >>"$A/etc/esfm/esfm.conf"
t_run u3 inst --destdir "$A" --uninstall
t_like "uninstall keeps an edited esfm.conf and says so" "$(flat "$u3_rc $u3_out")" \
	"^0 .*keep +$A/etc/esfm/esfm.conf \(modified since install\)"
t_is "the edited esfm.conf is still there, with the edit" "$(tail -1 "$A/etc/esfm/esfm.conf" 2>&1)" \
	"log_level = debug"
rm -f "$A/etc/esfm/esfm.conf"
t_same "apart from it, uninstall restored the tree" "$before" "$(listing "$A")"

# --- a pristine root: etc/esfm is the install's; a user's pool in it stays -----------------
B=$work/rootB
mkdir -p "$B"
inst --destdir "$B" >/dev/null 2>&1
t_is "install creates etc/esfm/pools.d when absent" "$(stat -c %a "$B/etc/esfm/pools.d" 2>&1)" 755
user_pool >"$B/etc/esfm/pools.d/mine.xml"
t_run u4 inst --destdir "$B" --uninstall
t_like "uninstall keeps a pools.d holding a user's pool" "$(flat "$u4_rc $u4_out")" \
	"^0 .*keep +$B/etc/esfm/pools.d \(not empty\)"
t_is "the user's pool survives uninstall" "$(cat "$B/etc/esfm/pools.d/mine.xml" 2>&1)" "$(user_pool)"
t_is "only the user's pool and its directories are left" \
	"$(cd "$B" && find . -mindepth 1 | LC_ALL=C sort | tr '\n' ' ')" \
	"./etc ./etc/esfm ./etc/esfm/pools.d ./etc/esfm/pools.d/mine.xml "

# --- conflicts: a foreign qemu.d/esfm ------------------------------------------------------
C=$work/rootC
mkdir -p "$C/etc/libvirt/hooks/qemu.d"
printf '#!/bin/sh\nexit 0\n' >"$C/etc/libvirt/hooks/qemu.d/esfm"
chmod 0755 "$C/etc/libvirt/hooks/qemu.d/esfm"
c_before=$(listing "$C" times)
t_run cf inst --destdir "$C"
t_is "install refuses when qemu.d/esfm is someone else's file (exit 1)" "$cf_rc" 1
t_like "the refusal names the file and says nothing was changed" "$cf_err" \
	"qemu.d/esfm exists and is not esfm's link.*Nothing was changed"
t_same "a refused install changes nothing" "$c_before" "$(listing "$C" times)"
rm -f "$C/etc/libvirt/hooks/qemu.d/esfm"
ln -s /opt/other/esfm-hook "$C/etc/libvirt/hooks/qemu.d/esfm"
c_before=$(listing "$C" times)
t_run cl inst --destdir "$C"
t_like "install refuses when qemu.d/esfm links elsewhere" "$(flat "$cl_rc $cl_err")" \
	"^1 .*already points to /opt/other/esfm-hook"
t_same "that refused install changes nothing" "$c_before" "$(listing "$C" times)"

# --- another hook in qemu.d stays; qemu.d is not the install's -----------------------------
D=$work/rootD
mkdir -p "$D/etc/libvirt/hooks/qemu.d"
printf '#!/bin/sh\nexit 0\n' >"$D/etc/libvirt/hooks/qemu.d/10-other"
chmod 0755 "$D/etc/libvirt/hooks/qemu.d/10-other"
d_before=$(listing "$D")
inst --destdir "$D" >/dev/null 2>&1
t_is "the hook link sits beside another qemu.d hook" \
	"$(ls "$D/etc/libvirt/hooks/qemu.d" | tr '\n' ' ')" "10-other esfm "
t_unlike "the manifest does not claim the existing qemu.d" \
	"$(cat "$D/usr/local/share/esfm/install-manifest")" $'dir\t/etc/libvirt/hooks/qemu.d'
inst --destdir "$D" --uninstall >/dev/null 2>&1
t_same "uninstall leaves qemu.d and the other hook as they were" "$d_before" "$(listing "$D")"

# --- DESTDIR from the environment, the spelling packagers and make users type -----------------
# First as a dry run: an install.sh that ignored DESTDIR would name the machine's own /etc and
# /usr/local; then the script stops rather than install into the real root.
F=$work/rootF
t_run ed env DESTDIR="$F" "$top/install.sh" --builddir "$build" --dry-run
t_like "DESTDIR=... install.sh --dry-run stages under DESTDIR" "$ed_out" \
	"link +$F/etc/libvirt/hooks/qemu.d/esfm -> /usr/local/libexec/esfm/esfm-hook"
if ! printf '%s' "$ed_out" | grep -q -- "$F/etc/libvirt"; then
	t_fail "DESTDIR=... install.sh is not run for real: its dry run did not stage under DESTDIR"
	t_done
	exit 1
fi
t_run ei env DESTDIR="$F" "$top/install.sh" --builddir "$build"
t_is "DESTDIR=... install.sh exits 0" "$ei_rc" 0
t_is "... the files are under DESTDIR" \
	"$( [ -x "$F/usr/local/bin/esfm" ] && [ -L "$F/etc/libvirt/hooks/qemu.d/esfm" ] && echo yes)" yes
t_like "... and no daemon is signalled" "$ei_out" 'no daemon signalled'
t_run eu env DESTDIR="$F" "$top/install.sh" --builddir "$build" --uninstall
t_is "DESTDIR=... install.sh --uninstall removes it all" "$eu_rc:$(find "$F" -mindepth 1 | head -n 3)" "0:"

# --- the layout comes from the binaries, nowhere else -----------------------------------------
# A build made with other Makefile directories (PREFIX=/usr LIBEXECDIR=/usr/lib ...): its esfm
# prints them with --print-paths and is the real one for everything else.
G=$work/rootG L=$work/otherbuild
mkdir -p "$L"
for f in esfm-hook esfm-hook-handler esfm-hook-worker; do cp "$build/$f" "$L/"; done
cat >"$L/esfm" <<FAKE
#!/bin/sh
if [ "\$1" = --print-paths ]; then
	printf '%s\n' prefix=/usr sysconfdir=/etc bindir=/usr/bin libexecdir=/usr/lib/esfm \\
		datadir=/usr/share/esfm mandir=/usr/share/man confdir=/etc/esfm hooksdir=/etc/libvirt/hooks \\
		completiondir=/usr/share/bash-completion/completions
	exit 0
fi
exec "$build/esfm" "\$@"
FAKE
chmod 0755 "$L/esfm"
t_run lg env DESTDIR="$G" "$top/install.sh" --builddir "$L" --files-only
t_is "a staged install of that build exits 0 and warns of nothing" "$lg_rc:$lg_err" "0:"
t_is "... every file and link is where the build's --print-paths says" \
	"$(cd "$G" && find . ! -type d | LC_ALL=C sort | tr '\n' ' ')" \
	"./etc/esfm/esfm.conf ./etc/esfm/pools.d/README ./etc/libvirt/hooks/qemu.d/esfm ./usr/bin/esfm \
./usr/lib/esfm/esfm-hook ./usr/lib/esfm/esfm-hook-handler ./usr/lib/esfm/esfm-hook-worker \
./usr/share/bash-completion/completions/esfm ./usr/share/esfm/hostdev.xml \
./usr/share/esfm/identity.xml ./usr/share/esfm/install-manifest ./usr/share/esfm/pool.rng ./usr/share/esfm/program-args.tcl \
./usr/share/esfm/program-vivado.tcl ./usr/share/esfm/program-xsct.tcl \
./usr/share/man/man1/esfm.1 ./usr/share/man/man5/esfm-pool.5 ./usr/share/man/man8/esfm-hook.8 "
t_is "... the hook link points into its libexecdir" \
	"$(readlink "$G/etc/libvirt/hooks/qemu.d/esfm" 2>&1)" /usr/lib/esfm/esfm-hook
t_like "... and its esfm-hook(8) names that libexecdir" \
	"$(MANWIDTH=200 man -l "$G/usr/share/man/man8/esfm-hook.8" 2>&1)" '/usr/lib/esfm/esfm-hook'
t_run lu env DESTDIR="$G" "$top/install.sh" --builddir "$L" --uninstall
t_is "... and uninstall finds its manifest there and removes it all" \
	"$lu_rc:$(find "$G" -mindepth 1 | head -n 3)" "0:"

# --- paths other than the build's ---------------------------------------------------------
E=$work/rootE
t_run pe inst --destdir "$E" --prefix /opt/esfm --sysconfdir /srv/etc
t_is "install with another prefix and sysconfdir exits 0" "$pe_rc" 0
t_like "it warns that the binaries were built for another data directory" "$pe_err" \
	'warning: the binaries .* (built for data in /usr/local/share/esfm|not built for prefix /opt/esfm)'
t_like "it warns that the binaries were built for another SYSCONFDIR" "$pe_err" \
	'warning: .*not built for /srv/etc/esfm'
t_is "files go under the prefix" \
	"$( [ -x "$E/opt/esfm/bin/esfm" ] && [ -x "$E/opt/esfm/libexec/esfm/esfm-hook-worker" ] && echo yes)" yes
t_is "the link goes under sysconfdir, to the prefix's hook" \
	"$(readlink "$E/srv/etc/libvirt/hooks/qemu.d/esfm" 2>&1)" /opt/esfm/libexec/esfm/esfm-hook
t_like "esfm.conf under sysconfdir names the prefix's data directory" \
	"$(cat "$E/srv/etc/esfm/esfm.conf" 2>&1)" '#template_dir = /opt/esfm/share/esfm'
t_like "the installed completion looks in the install's configuration directory" \
	"$(cat "$E/opt/esfm/share/bash-completion/completions/esfm" 2>&1)" \
	'_esfm_conf_dir_default=/srv/etc/esfm'
t_like "the installed esfm-pool(5) shows the install's paths" \
	"$(MANWIDTH=200 man -l "$E/opt/esfm/share/man/man5/esfm-pool.5" 2>&1)" \
	'template_dir = /opt/esfm/share/esfm'
t_like "the installed esfm-hook(8) shows the install's hook link" \
	"$(MANWIDTH=200 man -l "$E/opt/esfm/share/man/man8/esfm-hook.8" 2>&1)" \
	'/srv/etc/libvirt/hooks/qemu.d/esfm'
inst --destdir "$E" --prefix /opt/esfm --uninstall >/dev/null 2>&1
t_is "uninstall with the same prefix removes all, even the DESTDIR it created" \
	"$(ls -A "$E" 2>&1)" "ls: cannot access '$E': No such file or directory"

# --- make install ----------------------------------------------------------------------------
t_run mk make -n -C "$top" install SANITIZE=1 DESTDIR=/x/root
t_like "make install runs install.sh --files-only with DESTDIR and BUILDDIR (the paths are the build's)" \
	"$mk_out" '\./install\.sh --destdir "/x/root" --builddir "build/check" --files-only'
t_unlike "... and passes no directory of its own" "$mk_out" 'install\.sh .*--(prefix|sysconfdir)'
t_run mu make -n -C "$top" uninstall SANITIZE=1 DESTDIR=/x/root
t_like "make uninstall runs install.sh --uninstall on the same build" "$mu_out" \
	'\./install\.sh --uninstall --destdir "/x/root" --builddir "build/check"'

# --- usage ------------------------------------------------------------------------------------
t_run h "$top/install.sh" --help
t_like "install.sh --help exits 0 and lists the options" "$(flat "$h_rc $h_out")" \
	'^0 .*--destdir.*--prefix.*--sysconfdir.*--builddir.*--files-only.*--dry-run.*--uninstall'
t_run bad "$top/install.sh" --frobnicate
t_like "an unknown option is a usage error (exit 2)" "$(flat "$bad_rc $bad_err")" "^2 .*unknown argument '--frobnicate'"
t_run rel "$top/install.sh" --prefix usr/local --destdir "$work/rootF" --builddir "$build"
t_like "a relative --prefix is a usage error (exit 2)" "$(flat "$rel_rc $rel_err")" '^2 .*absolute'
t_run nb "$top/install.sh" --destdir "$work/rootF" --builddir "$work/nowhere"
t_like "a missing build fails (exit 1) and says to build" "$(flat "$nb_rc $nb_err")" '^1 .*build first'
t_is "failed runs created nothing" "$(ls -A "$work" | grep -c rootF)" 0

t_done
