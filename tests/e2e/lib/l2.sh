# shellcheck shell=bash
# L2 guests for the e2e scenarios (source after common.sh).
#
# An L2 guest is a diskless q35 libvirt domain in L1 with spare pcie-root-ports. Either it just
# sits in SeaBIOS (enough for attach/detach with native PCIe hot-plug), or it boots the tiny L2
# Linux: L1's own kernel plus a busybox initramfs built here, whose init prints
#   ESFM-L2-BOOT <kernel release>
#   ESFM-L2-PCI <bdf> <vendor> <device>      once per device in /sys/bus/pci/devices
#   ESFM-L2-VPORT <name>                     once per named virtio-serial port
#   ESFM-L2-READY
# and then keeps running, printing ESFM-L2-PCI-ADD / ESFM-L2-PCI-GONE lines when devices come
# and go (the kernel itself acknowledges hot-unplug requests), and ESFM-L2-VPORT-ADD /
# ESFM-L2-VPORT-GONE for the names in /sys/class/virtio-ports/*/name (esfm's VF identity
# channels). It loads $L2_MODULES (virtio-pci, virtio_console) first. A --linux guest has a
# virtio-serial controller. The serial console goes to
# /var/log/libvirt/qemu/<name>-serial.log (l2_serial_log).
#
#   l2_virt_type                  $ESFM_E2E_L2_TYPE if set, else kvm if libvirt can use /dev/kvm in
#                                 L1, else qemu (TCG)
#   l2_initramfs                  builds (once per scenario) and prints the initramfs path
#   l2_domain_xml NAME [opts]     prints the domain XML (type l2_virt_type with --linux, else
#                                 qemu: a guest without OS needs no nested KVM); opts:
#       --linux                   boot the L2 Linux (default: no OS, sits in SeaBIOS)
#       --hostdev FILE            put this device XML (e.g. from esfm-pcictl hostdev-xml) in <devices>
#       --ports N                 spare pcie-root-ports (default 4)
#       --memory MIB              default 256
#       --vcpus N                 default 1
#       --native-hotplug          ACPI hot-plug off: native PCIe hot-plug (detach works without OS)
#   l2_start_linux NAME [SECS] [TRIES]  starts a defined --linux domain and waits for ESFM-L2-READY.
#                                 A boot is CPU-bound on L1's two emulated CPUs and takes 45-70 s
#                                 here under nested KVM (tests/e2e/README.md), so SECS (default 180
#                                 with kvm, 600 with TCG) is a limit for a stuck guest, not an
#                                 estimate: a slow boot that is killed and restarted never finishes.
#                                 A stuck boot is destroyed and started again, up to TRIES (2)
#                                 times. Start L2 Linux guests one at a time: boots at once share
#                                 L1's CPUs and each takes as long as all of them. Sets L2_ATTEMPTS,
#                                 records the boot for the run's summary (ESFM_E2E_L2_BOOTLOG) and
#                                 keeps every stuck boot's serial log in $E2E_ARTIFACTS. Prints
#                                 virsh's error and returns 1 if virsh start itself fails, 2 if no
#                                 boot got there.
#   l2_serial_log NAME            path of the serial log
#   l2_wait_serial NAME REGEX SECONDS   waits until the serial log matches (grep -E)
#   l2_vport NAME PORT            "present"/"absent": the guest's last word on the virtio-serial
#                                 port named PORT (esfm's VF identity channel)
#   l2_wait_vport NAME PORT present|absent SECONDS

l2_virt_type() {
	local cache=$E2E_WORK/.l2-virt-type
	if [ -n "${ESFM_E2E_L2_TYPE:-}" ]; then
		echo "$ESFM_E2E_L2_TYPE"
		return
	fi
	if [ ! -s "$cache" ]; then
		if [ -c /dev/kvm ] && virsh_ domcapabilities --virttype kvm --arch x86_64 --machine q35 \
			>/dev/null 2>&1; then
			echo kvm >"$cache"
		else
			echo qemu >"$cache"
		fi
	fi
	cat "$cache"
}

l2_kernel() {
	local k=/boot/vmlinuz-$(uname -r)
	[ -f "$k" ] || k=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1)
	printf '%s\n' "$k"
}

# Modules the L2 Linux loads at boot (with their dependencies), from L1's kernel.
L2_MODULES=${L2_MODULES:-virtio_pci virtio_console}

# The release of the kernel l2_kernel prints (its modules are L1's /lib/modules/<release>).
l2_kernel_release() {
	local k
	k=$(l2_kernel)
	k=${k##*/vmlinuz-}
	printf '%s\n' "$k"
}

l2_initramfs() {
	local out=$E2E_WORK/l2-initramfs.cpio.gz dir=$E2E_WORK/l2-initramfs bb m
	if [ ! -s "$out" ]; then
		bb=$(command -v busybox) || return 1
		rm -rf "$dir"
		mkdir -p "$dir"/bin "$dir"/proc "$dir"/sys "$dir"/dev
		cp "$bb" "$dir/bin/busybox"
		ln -s busybox "$dir/bin/sh"
		# Debian builds virtio-pci and virtio_console as modules: the guest needs them to see
		# the identity channel esfm plugs in with each VF (/sys/class/virtio-ports/*/name).
		# modprobe prints them and their dependencies in load order; init insmods that list.
		mkdir -p "$dir/lib/modules"
		# -a: every argument is a module (without it, the second would be the first's parameter)
		modprobe -a --show-depends --set-version "$(l2_kernel_release)" $L2_MODULES \
			>"$dir/mods" || return 1
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }' "$dir/mods" | while read -r ko; do
			cp "$ko" "$dir/lib/modules/" || exit 1
			echo "/lib/modules/${ko##*/}"
		done >"$dir/modules.order" || return 1
		rm -f "$dir/mods"
		for m in $L2_MODULES; do
			grep -q "/$m\.ko\$" "$dir/modules.order" ||
				{ echo "l2_initramfs: module $m not found for $(l2_kernel_release)" >&2; return 1; }
		done
		cat >"$dir/init" <<'EOF'
#!/bin/sh
# Tiny L2 Linux (tests/e2e/lib/l2.sh): report PCI devices on the serial console, then keep running.
# After the setup nothing here forks: under nested KVM on TCG a fork or exec in L2 costs L1 dearly
# (shadow paging), and an idle L2 must leave L1's CPUs to the others (tests/e2e/README.md).
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkfifo /tick
exec </dev/console >/dev/console 2>&1 3<>/tick
while read -r ko; do insmod "$ko" || echo "ESFM-L2-MODULE-FAILED $ko"; done </modules.order
read -r rel </proc/sys/kernel/osrelease
echo "ESFM-L2-BOOT $rel"
scan() { cur=' '; for p in /sys/bus/pci/devices/*; do [ -e "$p" ] && cur="$cur${p##*/} "; done; }
# The names of the virtio-serial ports (a port's name arrives a moment after the port itself).
vscan() {
	vcur=' '
	for p in /sys/class/virtio-ports/*; do
		n=
		[ -e "$p/name" ] && read -r n 2>/dev/null <"$p/name"
		[ -n "$n" ] && vcur="$vcur$n "
	done
}
show() {
	local v=? d=?
	read -r v 2>/dev/null <"/sys/bus/pci/devices/$2/vendor"
	read -r d 2>/dev/null <"/sys/bus/pci/devices/$2/device"
	echo "$1 $2 ${v#0x} ${d#0x}"
}
scan
for b in $cur; do show ESFM-L2-PCI "$b"; done
read -t 1 _ <&3 # give a port plugged in at boot the moment its name takes
vscan
for n in $vcur; do echo "ESFM-L2-VPORT $n"; done
echo "ESFM-L2-READY"
prev=$cur
vprev=$vcur
while :; do
	read -t 0.5 _ <&3 # a sleep without a fork: nothing ever writes to the fifo
	scan
	vscan
	[ "$cur" = "$prev" ] && [ "$vcur" = "$vprev" ] && continue
	for b in $cur; do case $prev in *" $b "*) ;; *) show ESFM-L2-PCI-ADD "$b" ;; esac; done
	for b in $prev; do case $cur in *" $b "*) ;; *) echo "ESFM-L2-PCI-GONE $b" ;; esac; done
	for n in $vcur; do case $vprev in *" $n "*) ;; *) echo "ESFM-L2-VPORT-ADD $n" ;; esac; done
	for n in $vprev; do case $vcur in *" $n "*) ;; *) echo "ESFM-L2-VPORT-GONE $n" ;; esac; done
	prev=$cur
	vprev=$vcur
done
EOF
		chmod 755 "$dir/init"
		(cd "$dir" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp" && mv "$out.tmp" "$out" ||
			return 1
		chmod 644 "$out"
	fi
	printf '%s\n' "$out"
}

l2_serial_log() { printf '/var/log/libvirt/qemu/%s-serial.log\n' "$1"; }

l2_domain_xml() {
	local name=$1 linux='' hostdev='' ports=4 mem=256 vcpus=1 native='' i
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--linux) linux=1 ;;
		--hostdev) hostdev=$2; shift ;;
		--ports) ports=$2; shift ;;
		--memory) mem=$2; shift ;;
		--vcpus) vcpus=$2; shift ;;
		--native-hotplug) native=1 ;;
		*) echo "l2_domain_xml: unknown option $1" >&2; return 2 ;;
		esac
		shift
	done
	# Only a guest with an OS to boot gets nested KVM: every KVM guest in a TCG L1 risks the
	# emulated SVM hanging L1; a guest that sits in SeaBIOS is just as good under TCG.
	local type=qemu
	[ -n "$linux" ] && type=$(l2_virt_type)
	echo "<domain type='$type' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
	echo "  <name>$name</name>"
	echo "  <memory unit='MiB'>$mem</memory>"
	echo "  <vcpu placement='static'>$vcpus</vcpu>"
	echo "  <os>"
	echo "    <type arch='x86_64' machine='q35'>hvm</type>"
	if [ -n "$linux" ]; then
		echo "    <kernel>$(l2_kernel)</kernel>"
		echo "    <initrd>$(l2_initramfs)</initrd>"
		echo "    <cmdline>console=ttyS0,115200 quiet loglevel=3 panic=-1 esfm.l2=1${L2_CMDLINE_EXTRA:+ $L2_CMDLINE_EXTRA}</cmdline>"
	fi
	echo "  </os>"
	echo "  <features><acpi/><apic/></features>"
	echo "  <clock offset='utc'/>"
	echo "  <on_poweroff>destroy</on_poweroff>"
	echo "  <on_reboot>destroy</on_reboot>"
	echo "  <on_crash>destroy</on_crash>"
	echo "  <devices>"
	echo "    <controller type='pci' index='0' model='pcie-root'/>"
	for i in $(seq 1 "$ports"); do
		echo "    <controller type='pci' index='$i' model='pcie-root-port'/>"
	done
	echo "    <controller type='usb' model='none'/>"
	# The Linux guest gets a virtio-serial controller, as virt-install gives most VMs: esfm hot-plugs
	# each VF's identity channel on it (libvirt cannot hot-plug the controller itself). On the root
	# bus, so it takes none of the spare ports.
	[ -n "$linux" ] &&
		echo "    <controller type='virtio-serial' index='0'><address type='pci' domain='0x0000' bus='0x00' slot='0x0a' function='0x0'/></controller>"
	echo "    <serial type='file'>"
	echo "      <source path='$(l2_serial_log "$name")'/>"
	echo "      <target port='0'/>"
	echo "    </serial>"
	echo "    <memballoon model='none'/>"
	[ -n "$hostdev" ] && sed 's/^/    /' "$hostdev"
	echo "  </devices>"
	if [ -n "$native" ]; then
		echo "  <qemu:commandline>"
		echo "    <qemu:arg value='-global'/>"
		echo "    <qemu:arg value='ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'/>"
		echo "  </qemu:commandline>"
	fi
	echo "</domain>"
}

l2_start_linux() {
	local name=$1 secs=${2:-} tries=${3:-2} log out t0 took
	[ -n "$secs" ] || { [ "$(l2_virt_type)" = kvm ] && secs=180 || secs=600; }
	log=$(l2_serial_log "$name")
	L2_ATTEMPTS=0
	while [ "$L2_ATTEMPTS" -lt "$tries" ]; do
		L2_ATTEMPTS=$((L2_ATTEMPTS + 1))
		rm -f "$log"
		t0=$(date +%s.%N)
		out=$(virsh_ start "$name" 2>&1) || { printf '%s\n' "$out"; return 1; }
		if l2_wait_serial "$name" '^ESFM-L2-READY' "$secs"; then
			took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
			l2_record_boot "$name" "$took" ready
			return 0
		fi
		cp "$log" "$E2E_ARTIFACTS/$name-stuck-boot-$L2_ATTEMPTS.log" 2>/dev/null
		echo "l2_start_linux: $name: no ESFM-L2-READY within $secs s (attempt $L2_ATTEMPTS/$tries)"
		virsh_ destroy "$name" >/dev/null 2>&1
	done
	l2_record_boot "$name" "$secs" never
	return 2
}

# l2_record_boot NAME SECS RESULT: one line per boot for the run's summary (run-e2e.sh).
l2_record_boot() {
	[ -n "${ESFM_E2E_L2_BOOTLOG:-}" ] || return 0
	printf '%s %s %s %s %s\n' "${ESFM_E2E_KEY:-$E2E_NAME}" "$1" "$2" "$L2_ATTEMPTS" "$3" >>"$ESFM_E2E_L2_BOOTLOG"
}

l2_wait_serial() {
	local log
	log=$(l2_serial_log "$1")
	e2e_wait "$3" grep -qE -- "$2" "$log"
}

# l2_vport NAME PORT: "present" or "absent": whether the L2 Linux in NAME last reported a
# virtio-serial port named PORT (ESFM-L2-VPORT[-ADD]) or its going (ESFM-L2-VPORT-GONE).
l2_vport() {
	local state
	state=$(tr -d '\r' <"$(l2_serial_log "$1")" 2>/dev/null | awk -v p="$2" '
		($1 == "ESFM-L2-VPORT" || $1 == "ESFM-L2-VPORT-ADD") && $2 == p { s = "present" }
		$1 == "ESFM-L2-VPORT-GONE" && $2 == p { s = "absent" }
		END { print s ? s : "absent" }')
	printf '%s\n' "$state"
}
# l2_wait_vport NAME PORT present|absent SECONDS
_l2_vport_is() { [ "$(l2_vport "$1" "$2")" = "$3" ]; }
l2_wait_vport() { e2e_wait "$4" _l2_vport_is "$1" "$2" "$3"; }
