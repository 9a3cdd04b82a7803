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
#   l2_initramfs [nvme]           builds (once per scenario and variant) and prints the initramfs
#                                 path; "nvme" adds L1's nvme driver (loaded at boot) and the guest
#                                 helper l2nvme (see below)
#   l2_domain_xml NAME [opts]     prints the domain XML (type l2_virt_type with --linux, else
#                                 qemu: a guest without OS needs no nested KVM); opts:
#       --linux                   boot the L2 Linux (default: no OS, sits in SeaBIOS)
#       --hostdev FILE            put this device XML (e.g. from esfm-pcictl hostdev-xml) in <devices>
#       --ports N                 spare pcie-root-ports (default 4)
#       --memory MIB              default 256
#       --vcpus N                 default 1
#       --native-hotplug          ACPI hot-plug off: native PCIe hot-plug (detach works without OS)
#       --emulator PATH           the QEMU binary (<emulator>), e.g. esfm's patched one
#       --nvme                    with --linux: the initramfs with the nvme driver
#       --cmd-port PORT           with --linux: a command channel, a second serial port listening
#                                 on 127.0.0.1:PORT in L1 (l2_cmd)
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
#   l2_cmd NAME SECS 'COMMAND'    runs one line of shell in the L2 Linux NAME (defined with
#                                 --cmd-port) and waits up to SECS for it: prints its output (the
#                                 serial console lines between its markers), returns its status,
#                                 124 when it did not finish. The guest's init runs it between two
#                                 polls, so a COMMAND that may block long ends with '&' and prints
#                                 its own result line, for l2_wait_serial.
#
# In the nvme initramfs, the shell function l2nvme (in the guest, through l2_cmd) prints one line:
#   status                ESFM-L2-NVME bdf=B driver=D ctrl=nvmeN state=S blk=nvmeNn1
#   scans                 ESFM-L2-SCANS K: how often the kernel enumerated a 1b36:0010 device
#   write IDX TAG         writes a 4 KiB pattern made of TAG to block IDX of the namespace
#   read IDX TAG          ESFM-L2-IO IDX TAG ok|bad|error uptime=SECS (reads with the caches dropped)
#   reset                 the nvme controller reset (sysfs reset_controller)
#   kmsg                  the kernel log since boot, each line prefixed ESFM-L2-KMSG

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
	local variant=${1:-} out dir bb m mods=$L2_MODULES
	out=$E2E_WORK/l2-initramfs${variant:+-$variant}.cpio.gz
	dir=$E2E_WORK/l2-initramfs${variant:+-$variant}
	if [ ! -s "$out" ]; then
		bb=$(command -v busybox) || return 1
		rm -rf "$dir"
		mkdir -p "$dir"/bin "$dir"/proc "$dir"/sys "$dir"/dev "$dir"/tmp
		if [ "$variant" = nvme ]; then
			mods="$mods nvme"
			l2_nvme_helper >"$dir/nvme.sh"
		fi
		cp "$bb" "$dir/bin/busybox"
		ln -s busybox "$dir/bin/sh"
		# Debian builds virtio-pci and virtio_console as modules: the guest needs them to see
		# the identity channel esfm plugs in with each VF (/sys/class/virtio-ports/*/name).
		# modprobe prints them and their dependencies in load order; init insmods that list.
		mkdir -p "$dir/lib/modules"
		# -a: every argument is a module (without it, the second would be the first's parameter)
		modprobe -a --show-depends --set-version "$(l2_kernel_release)" $mods \
			>"$dir/mods" || return 1
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }' "$dir/mods" | while read -r ko; do
			cp "$ko" "$dir/lib/modules/" || exit 1
			echo "/lib/modules/${ko##*/}"
		done >"$dir/modules.order" || return 1
		rm -f "$dir/mods"
		for m in $mods; do
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
[ -f /nvme.sh ] && . /nvme.sh
# the command channel (l2_cmd): lines from the second serial port, read where the loop sleeps
cmdch=
read -r cmdline </proc/cmdline
case " $cmdline " in *" esfm.l2cmd=1 "*)
	if [ -e /dev/ttyS1 ] && stty -F /dev/ttyS1 -echo && exec 3<>/dev/ttyS1; then cmdch=1; fi ;;
esac
runcmd() {
	local id=${1%% *}
	echo "ESFM-L2-CMD-BEGIN $id"
	eval "${1#* }" </dev/null
	echo "ESFM-L2-CMD-END $id rc=$?"
}
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
	# a sleep without a fork: nothing ever writes to the fifo (the command channel may)
	if read -r -t 0.5 line <&3 && [ -n "$cmdch" ] && [ -n "$line" ]; then runcmd "$line"; fi
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
	local name=$1 linux='' hostdev='' ports=4 mem=256 vcpus=1 native='' emulator='' nvme='' port='' i
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--linux) linux=1 ;;
		--hostdev) hostdev=$2; shift ;;
		--ports) ports=$2; shift ;;
		--memory) mem=$2; shift ;;
		--vcpus) vcpus=$2; shift ;;
		--native-hotplug) native=1 ;;
		--emulator) emulator=$2; shift ;;
		--nvme) nvme=nvme ;;
		--cmd-port) port=$2; shift ;;
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
		echo "    <initrd>$(l2_initramfs $nvme)</initrd>"
		echo "    <cmdline>console=ttyS0,115200 quiet loglevel=3 panic=-1 esfm.l2=1${port:+ esfm.l2cmd=1}${L2_CMDLINE_EXTRA:+ $L2_CMDLINE_EXTRA}</cmdline>"
	fi
	echo "  </os>"
	echo "  <features><acpi/><apic/></features>"
	echo "  <clock offset='utc'/>"
	echo "  <on_poweroff>destroy</on_poweroff>"
	echo "  <on_reboot>destroy</on_reboot>"
	echo "  <on_crash>destroy</on_crash>"
	echo "  <devices>"
	[ -n "$emulator" ] && echo "    <emulator>$emulator</emulator>"
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
	if [ -n "$port" ]; then
		echo "    <serial type='tcp'>"
		echo "      <source mode='bind' host='127.0.0.1' service='$port'/>"
		echo "      <protocol type='raw'/>"
		echo "      <target port='1'/>"
		echo "    </serial>"
		echo "$port" >"$E2E_WORK/$name.cmd-port"
	fi
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

# The guest helper of the nvme initramfs: a shell function the init sources, so l2_cmd runs it in
# init's own shell. It forks only for dd, md5sum and dmesg: every fork or exec in L2 is costly
# under nested KVM on TCG (tests/e2e/README.md). It returns, never exits (it runs in PID 1).
l2_nvme_helper() {
	cat <<'HELPER'
# l2nvme (tests/e2e/lib/l2.sh): the nvme VF as this L2 guest sees it
l2nvme() {
	local p v d b c k n st u _
	b= c= k= st=none
	for p in /sys/bus/pci/devices/*; do
		read -r v <"$p/vendor"; read -r d <"$p/device"
		[ "$v $d" = "0x1b36 0x0010" ] && { b=${p##*/}; break; }
	done
	for p in /sys/class/nvme/nvme*; do [ -e "$p" ] && { c=${p##*/}; read -r st <"$p/state"; break; }; done
	for p in /sys/block/nvme*n1; do # the namespace (with multipath, not the hidden nvmeXcYnZ)
		n=${p##*/}
		case $n in *c*) continue ;; esac
		[ -e "/dev/$n" ] && { k=$n; break; }
	done
	read -r u _ </proc/uptime
	case $1 in
	status)
		d=none
		[ -n "$b" ] && [ -e "/sys/bus/pci/drivers/nvme/$b" ] && d=nvme
		echo "ESFM-L2-NVME bdf=${b:-none} driver=$d ctrl=${c:-none} state=$st blk=${k:-none}"
		;;
	scans) echo "ESFM-L2-SCANS $(dmesg | grep -c '\[1b36:0010\]')" ;;
	write | read)
		[ -n "$k" ] || { echo "ESFM-L2-IO $2 $3 error no-block-device uptime=$u"; return 1; }
		n=0
		while [ $n -lt 64 ]; do printf 'esfm-%-58s\n' "$3-$n"; n=$((n + 1)); done >/tmp/pat.$3
		if [ "$1" = write ]; then
			dd if=/tmp/pat.$3 of=/dev/$k bs=4096 seek="$2" count=1 conv=fsync 2>/dev/null ||
				{ echo "ESFM-L2-IO $2 $3 error write uptime=$u"; return 1; }
			echo "ESFM-L2-IO $2 $3 written blk=$k"
			return 0
		fi
		echo 3 >/proc/sys/vm/drop_caches
		dd if=/dev/$k of=/tmp/got.$3 bs=4096 skip="$2" count=1 2>/dev/null
		read -r u _ </proc/uptime
		if [ "$(md5sum </tmp/got.$3)" = "$(md5sum </tmp/pat.$3)" ]; then
			echo "ESFM-L2-IO $2 $3 ok uptime=$u blk=$k"
		else
			echo "ESFM-L2-IO $2 $3 bad uptime=$u blk=$k"
			return 1
		fi
		;;
	reset)
		[ -n "$c" ] || { echo "no nvme controller"; return 1; }
		echo 1 >"/sys/class/nvme/$c/reset_controller"
		;;
	kmsg) dmesg | sed 's/^/ESFM-L2-KMSG /' ;;
	*) echo "usage: l2nvme status|scans|write IDX TAG|read IDX TAG|reset|kmsg"; return 2 ;;
	esac
}
HELPER
}

# l2_cmd NAME SECS COMMAND (see the top of this file). One connection per command: QEMU's
# socket chardev takes the next client after this one closes.
L2_CMD_SEQ=0
l2_cmd() {
	local name=$1 secs=$2 id port fd log rc
	log=$(l2_serial_log "$name")
	port=$(cat "$E2E_WORK/$name.cmd-port" 2>/dev/null) || { echo "l2_cmd: $name has no command port"; return 2; }
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || { echo "l2_cmd: cannot connect to $name's port $port"; return 2; }
	L2_CMD_SEQ=$((L2_CMD_SEQ + 1))
	id=c$L2_CMD_SEQ-$BASHPID-$RANDOM
	printf '\n%s %s\n' "$id" "$3" >&"$fd" # a first byte may be lost: an empty line first
	if ! l2_wait_serial "$name" "^ESFM-L2-CMD-END $id rc=" "$secs"; then
		exec {fd}>&-
		echo "l2_cmd: $name: no end of '$3' within $secs s"
		return 124
	fi
	exec {fd}>&-
	tr -d '\r' <"$log" | sed -n "/^ESFM-L2-CMD-BEGIN $id\$/,/^ESFM-L2-CMD-END $id rc=/p" | sed '1d;$d'
	rc=$(tr -d '\r' <"$log" | sed -n "s/^ESFM-L2-CMD-END $id rc=\([0-9]*\).*/\1/p" | head -n1)
	return "${rc:-1}"
}
