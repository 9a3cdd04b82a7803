# shellcheck shell=bash
# esfm installed on L1, for the scenarios that use the hook or the CLI (source after common.sh
# and l2.sh).
#   e2e_esfm_install              install.sh into /usr/local (binaries, the qemu.d drop-in,
#                                 SIGHUP to libvirtd); sets E2E_INSTALL_OUT, returns its status
#   e2e_esfm_pool NAME PF COUNT   writes /etc/esfm/pools.d/NAME.xml
#   e2e_esfm_cleanup PF DOMAIN... destroys and undefines the domains (their serial logs and the
#                                 state files go to the artifacts), drops pools and state, resets
#                                 the PF
#   e2e_esfm_begin DOMAIN...      a scenario's start: sets pf (bails out without an SR-IOV PF),
#                                 esfm and hooklog; e2e_esfm_cleanup of the DOMAINs now and at exit
#   esfm_ LABEL RC ARGS...        runs $esfm (default /usr/local/bin/esfm) with ARGS (E_out, E_err,
#                                 E_rc as t_run sets them), appends it to the artifact esfm.log
#                                 and checks that it exited RC
E2E_ESFM_HOOKLOG=/var/log/esfm-hook.log

e2e_esfm_install() {
	local rc=0
	E2E_INSTALL_OUT=$("$E2E_SRC/install.sh" --builddir "$E2E_BUILD" --prefix /usr/local 2>&1) || rc=$?
	printf '%s\n' "$E2E_INSTALL_OUT" >>"$E2E_ARTIFACTS/install.log"
	return "$rc"
}

e2e_esfm_pool() {
	cat >"/etc/esfm/pools.d/$1.xml" <<POOL
<pool type='sriov'>
  <name>$1</name>
  <source><pf address='$2'/></source>
  <vfs count='$3' driver='vfio-pci'/>
</pool>
POOL
}

e2e_esfm_cleanup() {
	local pf=$1 d
	shift
	for d in "$@"; do
		e2e_destroy_domain "$d"
		cp "$(l2_serial_log "$d")" "$E2E_ARTIFACTS/" 2>/dev/null
	done
	cp "$E2E_ESFM_HOOKLOG" /run/esfm/*.state "$E2E_ARTIFACTS/" 2>/dev/null
	rm -f /etc/esfm/pools.d/*.xml
	rm -rf /run/esfm
	e2e_reset_pf "$pf"
}

e2e_esfm_begin() {
	pf=$(e2e_find_pf) || t_bail "an SR-IOV 1b36:0010 PF is present" "$(lspci -nn 2>&1)"
	esfm=/usr/local/bin/esfm
	hooklog=$E2E_ESFM_HOOKLOG
	# shellcheck disable=SC2064 # the PF and the domain names are known now
	trap "e2e_esfm_cleanup '$pf' $*" EXIT
	e2e_esfm_cleanup "$pf"
}

esfm_() {
	local label=$1 want=$2
	shift 2
	t_run E timeout 300 "${esfm:-/usr/local/bin/esfm}" "$@"
	printf '$ esfm %s\n%s\n%s\n' "$*" "$E_out" "$E_err" >>"$E2E_ARTIFACTS/esfm.log"
	t_is "$label (exit $want)" "$E_rc" "$want"
	[ "$E_rc" = "$want" ] || t_diag "$E_out" "$E_err"
}
