#!/usr/bin/env bash
# Install everything esfm needs to build and test on a fresh Debian 12 machine.
# Used by .ci/run, `make deps` and the demo. Idempotent. clang and its runtime libraries
# (libclang-rt-14-dev holds libFuzzer) are for `make fuzz`; python3-nova and python3-placement
# are for tests only.
set -euo pipefail
packages=(
	build-essential pkg-config clang-format valgrind clang libclang-rt-14-dev
	libvirt-dev libxml2-dev zlib1g-dev liblzma-dev libxml2-utils libjson-c-dev libfuse3-dev fuse3 libcmocka-dev
	libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils
	debootstrap e2fsprogs busybox-static cpio util-linux procps
	man-db groff-base bash-completion time
	tcl
	# tests only (tests/integration/nova.sh): OpenStack Nova 26 and Placement 8 validate the
	# provider file and enforce capacity in-process (placement.direct needs wsgi-intercept);
	# esfm never needs them at run time
	python3-nova python3-placement python3-wsgi-intercept
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q "${missing[@]}"
fi
# The Debian libvirt packages try to start services; on a machine without
# systemd as PID 1 nothing runs, which is what the tests expect.
echo "deps: all installed"
