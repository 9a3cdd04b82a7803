#!/bin/bash
# Builds the L1 image of the nested e2e test bed:
#   debootstrap bookworm (minbase + image/packages.txt) -> rootfs -> raw ext4 (mkfs.ext4 -d),
#   plus the rootfs' own kernel and initrd, booted with -kernel/-initrd.
#
# usage: build-image.sh OUTDIR
#   writes OUTDIR/l1.img, OUTDIR/vmlinuz, OUTDIR/initrd.img (each replaced atomically at the end).
# env:   ESFM_E2E_MIRROR  Debian mirror URI (default: the bookworm URI of this machine's apt sources)
#
# The run-time parts (the test script itself) are NOT baked in: the image only gets a systemd unit
# that mounts the 9p shares and runs tests/e2e/guest/l1-main.sh from the shared checkout, so only a
# change of this file or of packages.txt needs a new image (run-e2e.sh hashes both into a stamp).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-image.sh OUTDIR}
pkgfile=$here/packages.txt

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
for t in debootstrap mkfs.ext4 timeout chroot; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done

# The bookworm URI from the machine's own apt sources (deb822 *.sources first, then one-line lists).
find_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			function flush() {
				if (uri != "" && types ~ /(^| )deb( |$)/ && suites ~ /(^| )bookworm( |$)/ && enabled != "no") {
					print uri; found = 1; exit
				}
				uri = ""; types = ""; suites = ""; enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{
				key = $1; sub(/:$/, "", key); key = tolower(key)
				val = $0; sub(/^[^:]*:[ \t]*/, "", val)
				if (key == "types") types = val
				else if (key == "uris") { split(val, u, /[ \t]+/); uri = u[1] }
				else if (key == "suites") suites = val
				else if (key == "enabled") enabled = tolower(val)
			}
			END { if (!found) flush() }
		' "$f"
	done | head -n1 | grep . && return 0
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [options] URI suite components...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }'
	done | head -n1 | grep .
}

mirror=${ESFM_E2E_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(find_mirror) || die "no 'bookworm' deb source in /etc/apt/sources.list{,.d/*} (set ESFM_E2E_MIRROR)"
fi
pkgs=$(sed -e 's/#.*//' "$pkgfile" | tr -s ' \t\n' '\n' | grep . | paste -sd, -)
log "mirror $mirror"
log "packages $pkgs"

mkdir -p "$out"
work=$(mktemp -d "$out/build.XXXXXX")
blog=$out/image-build.log # kept after a failure
: >"$blog"
root=$work/rootfs
cleanup() {
	# debootstrap unmounts what it mounted; be sure nothing of ours stays mounted, then remove.
	local m
	for m in proc sys dev/pts dev; do
		if mountpoint -q "$root/$m" 2>/dev/null; then umount -l "$root/$m"; fi
	done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

t0=$(date +%s)
# debootstrap only lays down minbase: its own resolver cannot handle this package set (virtual
# packages such as logind, dbus-system-bus); apt inside the chroot installs the rest.
log "debootstrap (minbase) into $root"
if ! timeout 1200 debootstrap --variant=minbase --components=main bookworm "$root" "$mirror" \
	>>"$blog" 2>&1; then
	tail -n 40 "$blog" >&2
	[ -f "$root/debootstrap/debootstrap.log" ] && tail -n 40 "$root/debootstrap/debootstrap.log" >&2
	die "debootstrap failed"
fi
log "debootstrap done in $(($(date +%s) - t0)) s; apt-get install in the chroot"

# Nothing may start in the chroot: policy-rc.d says no to every service start.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t devpts -o newinstance devpts "$root/dev/pts"
echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
inchroot=(chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C)
read -r -a pkglist <<<"$(tr , ' ' <<<"$pkgs")"
if ! { timeout 600 "${inchroot[@]}" apt-get update -q &&
	timeout 2400 "${inchroot[@]}" apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 \
		"${pkglist[@]}"; } >>"$blog" 2>&1; then
	tail -n 40 "$blog" >&2
	die "apt-get install in the chroot failed (log: $blog)"
fi
umount "$root/dev/pts" "$root/sys" "$root/proc"
rm -f "$root/usr/sbin/policy-rc.d"
log "packages installed ($(($(date +%s) - t0)) s so far)"

# --- configuration (plain files; nothing is started in the chroot) ---
echo esfm-l1 >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tesfm-l1\n' >"$root/etc/hosts"
printf '/dev/vda\t/\text4\trw,relatime\t0\t1\n' >"$root/etc/fstab"
chroot "$root" passwd -d root >/dev/null # console login for debugging; the VM has no network

# The unit that runs the test: mounts the two 9p shares and runs the shared guest script.
cat >"$root/usr/local/sbin/esfm-e2e-l1" <<'EOF'
#!/bin/sh
# Baked into the L1 image by tests/e2e/image/build-image.sh.
src=/mnt/esfm-src res=/mnt/esfm-results
say() { echo "esfm-e2e-l1: $*" >/dev/console; }
modprobe 9pnet_virtio 2>/dev/null; modprobe 9p 2>/dev/null
mkdir -p "$src" "$res"
mountpoint -q "$src" || mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro esfm-src "$src" ||
	{ say "no esfm-src 9p share: nothing to do"; exit 0; }
mountpoint -q "$res" || mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 esfm-results "$res" ||
	{ say "no esfm-results 9p share"; exit 1; }
say "running $src/tests/e2e/guest/l1-main.sh"
/bin/bash "$src/tests/e2e/guest/l1-main.sh" "$src" "$res"
rc=$?
say "l1-main.sh exited $rc"
sync
exit $rc
EOF
chmod 755 "$root/usr/local/sbin/esfm-e2e-l1"

cat >"$root/etc/systemd/system/esfm-e2e.service" <<'EOF'
[Unit]
Description=esfm nested e2e test run (then power off)
After=local-fs.target systemd-udev-trigger.service systemd-modules-load.service
ConditionKernelCommandLine=esfm.e2e=1
# (Success|Failure)Action belong to [Unit]: systemd 252 ignores SuccessAction under [Service].
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/esfm-e2e-l1
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/esfm-e2e.service "$root/etc/systemd/system/multi-user.target.wants/esfm-e2e.service"

# Nothing in L1 needs these; they only cost boot time under TCG.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
	man-db.timer dpkg-db-backup.timer logrotate.timer libvirt-guests.service systemd-timesyncd.service \
	getty@tty1.service; do
	ln -sf /dev/null "$root/etc/systemd/system/$u"
done
# No default NAT network (no dnsmasq/iptables work at libvirtd start; L2 domains have no NIC).
rm -f "$root/etc/libvirt/qemu/networks/autostart/default.xml"

# --- kernel, initrd ---
kver=$(basename "$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)")
kver=${kver#vmlinuz-}
[ -n "$kver" ] || die "no kernel in $root/boot"
if [ ! -s "$root/boot/initrd.img-$kver" ]; then
	log "generating initrd for $kver"
	mount -t proc proc "$root/proc"
	"${inchroot[@]}" update-initramfs -c -k "$kver" >>"$blog" 2>&1
	umount "$root/proc"
fi
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$work/initrd.img"
log "kernel $kver"

"${inchroot[@]}" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/debootstrap "$root"/var/log/*.log

# --- raw ext4 image: used size + 1.5 GiB headroom for the build and the tests inside L1 ---
used_mb=$(du -sm --one-file-system "$root" | cut -f1)
size_mb=$((used_mb + 1536))
log "rootfs ${used_mb} MiB -> ext4 image ${size_mb} MiB"
truncate -s "${size_mb}M" "$work/l1.img"
timeout 600 mkfs.ext4 -q -F -L esfm-l1 -E lazy_itable_init=0,lazy_journal_init=0 -d "$root" "$work/l1.img" >&2 ||
	die "mkfs.ext4 -d failed"

mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/initrd.img" "$out/initrd.img"
mv -f "$work/l1.img" "$out/l1.img"
log "done in $(($(date +%s) - t0)) s"
