#!/usr/bin/env bash
# OpenStack Nova and Placement, with their own code (Debian's python3-nova 26 and
# python3-placement 8, run by /usr/bin/python3; .ci/deps.sh installs them), against the FUSE
# sysfs simulator (nova-fixtures/nova.topo) and libvirt's test driver:
#   - the hook (run like libvirtd runs it) gives VFs to Nova domains whose metadata was written
#     by Nova's own LibvirtConfigGuestMetaNova* classes (flavor mapped in the pool file, the
#     Zed shape) or by hand in the 2025.2 shape (extra specs, which then alone count); an
#     annotation wins over Nova's metadata; release frees; a Nova domain asking for nothing
#     of esfm's, and a plain one, are decided by the front alone (it never runs the handler);
#   - every provider file `esfm nova-export` writes passes Nova's get_provider_configs();
#     a file with a broken class name does not; placement.direct (SQLite) given an exported
#     inventory accepts exactly total - reserved single-VF allocations and refuses the next,
#     none with --drain; reserved counts VFs held by anything but Nova instances asking for
#     the pool; a pool without VFs is left out; the file is 0644 and rewritten only when it
#     changes; colliding class names, an unknown --drain pool, a missing directory and an
#     unreachable libvirt are refused with one line and change nothing.
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ESFM_BUILD:-$top/build/check}
fix=$top/tests/integration/nova-fixtures
hfix=$top/tests/integration/hook-fixtures
py=/usr/bin/python3
tool=$fix/nova-tool.py
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/sim.sh"

t_require "the Nova tests" \
	"(packages python3-nova python3-placement fuse3 libxml2-utils; make SANITIZE=1 tests)" \
	root /dev/fuse fusermount3 xmllint "$py" "$build/esfm" "$build/esfm-hook" \
	"$build/esfm-hook-handler" "$build/tests/sim/esfm-sysfs-sim" || exit 1
# Nova and Placement are what this test is about: without them it fails, never skips.
if ! nv=$(cd / && "$py" -c 'import nova.compute.provider_config, placement.direct, nova.version as v; print(v.version_string())' 2>&1); then
	t_fail "Nova and Placement import under $py" "$nv" "(install python3-nova python3-placement: .ci/deps.sh)"
	t_done
	exit 1
fi
t_like "Nova $nv imports under $py" "$nv" '^[0-9]+\.'

work=$(mktemp -d /tmp/esfm-nova.XXXXXX)
chmod 0755 "$work"
mnt=$work/sys
conf=$work/conf
state=$work/state
out=$work/provider
# sim_up sets SIM_PID and SIM_MNT, which sim_finish stops and unmounts
SIM_PID= SIM_MNT=
trap 'sim_finish "$work"' EXIT
trap 'exit 130' INT TERM HUP
ESFM_BUILD=$build ESFM_SIM_LOG=$work/sim.log sim_up "$fix/nova.topo" "$mnt"

mkdir -p "$conf/pools.d" "$out"
cp "$fix/pools.d/"*.xml "$conf/pools.d/"
{
	echo "sysfs_root = $mnt"
	echo "state_dir = $state"
	echo "template_dir = $top/xml-templates"
	echo "log_file = $work/esfm.log"
	echo "log_level = info"
	echo "libvirt_uri = test://$work/node.xml"
} >"$conf/esfm.conf"
export ESFM_CONF_DIR=$conf
unset ESFM_SYSFS_ROOT ESFM_STATE_DIR ESFM_LIBVIRT_URI ESFM_TEMPLATE_DIR

# --- domains: Nova's metadata from Nova's own classes, and the 2025.2 shape ---------------------
uuid_of() { printf '00000000-0000-4000-8000-%012d' "$1"; }
zed_meta() { (cd / && "$py" "$tool" meta "$1" "$2"); }
new_meta() { sed -n '/^<nova:instance/,$p' "$fix/nova-2025.2.xml" | sed "s/@NAME@/$1/"; }
annot() { printf '<esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="%s"/>' "$1"; }
# domxml NAME UUID METADATA: the domain as libvirt hands it to a hook
domxml() {
	local t
	t=$(cat "$hfix/domain.xml")
	t="<domain${t#*<domain}"
	t=${t//@NAME@/$1}
	t=${t//@UUID@/$2}
	t=${t//@METADATA@/$3}
	t=${t//@HOSTDEVS@/}
	printf '%s\n' "$t"
}
# name number metadata: zed1/zed2 (Nova 26 flavors mapped to fpga0, 1 and 2 VFs), new1 (2025.2
# extra specs: 1 VF of nic0), m1 (a Nova flavor nobody maps), annot1 (an esfm annotation, no
# Nova), both (an annotation for nic0 and Nova metadata whose flavor is mapped to fpga0)
if ! zm1=$(zed_meta instance-00000001 fpga.small) || ! zm2=$(zed_meta instance-00000002 fpga.large) ||
	! zm3=$(zed_meta instance-00000003 m1.small) || ! zm5=$(zed_meta instance-00000005 fpga.small); then
	t_fail "Nova's LibvirtConfigGuestMetaNova* write the metadata" "$zm1"
	t_done
	exit 1
fi
declare -A META=(
	[zed1]=$zm1 [zed2]=$zm2 [new1]=$(new_meta instance-00000004) [m1]=$zm3
	[annot1]=$(annot fpga0) [both]="$(annot nic0)$zm5" [plain]=''
)
declare -A NUM=([zed1]=1 [zed2]=2 [new1]=4 [m1]=3 [annot1]=6 [both]=5 [plain]=7)
for d in "${!META[@]}"; do
	domxml "$d" "$(uuid_of "${NUM[$d]}")" "${META[$d]}" >"$work/$d.xml"
done
t_like "Nova 26's metadata names the flavor (LibvirtConfigGuestMetaNovaFlavor)" "$zm1" \
	'<nova:flavor name="fpga.small">'
t_ok "the 2025.2 fixture is well-formed XML" xmllint --noout "$work/new1.xml"
# libvirt's test driver knows them all but 'gone' (a holder libvirt does not know)
{
	echo "<node>"
	for d in "${!META[@]}"; do
		printf "<domain type='test'><name>%s</name><uuid>%s</uuid><metadata>%s</metadata>" \
			"$d" "$(uuid_of "${NUM[$d]}")" "${META[$d]}"
		printf "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>\n"
	done
	echo "</node>"
} >"$work/node.xml"

hook_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root "ESFM_CONF_DIR=$conf")
[ -z "${ASAN_OPTIONS:-}" ] || hook_env+=("ASAN_OPTIONS=$ASAN_OPTIONS")
[ -z "${UBSAN_OPTIONS:-}" ] || hook_env+=("UBSAN_OPTIONS=$UBSAN_OPTIONS")
# hook EXE DOMAIN OP SUBOP: sets h_rc, h_out, h_err
hook() {
	(cd / && exec timeout -s KILL 30 "${hook_env[@]}" "$1" "$2" "$3" "$4" - <"$work/$2.xml" \
		>"$work/h.out" 2>"$work/h.err")
	h_rc=$?
	h_out=$(cat "$work/h.out")
	h_err=$(cat "$work/h.err")
}
# used POOL: "index:name" of every VF that is not free
used() {
	[ -e "$state/$1.state" ] || return 0
	xmllint --xpath "/esfm-state/vf[@state!='free']" "$state/$1.state" 2>/dev/null |
		sed -n 's/.*index="\([0-9]*\)".*name="\([^"]*\)".*/\1:\2/p' | tr '\n' ' ' | sed 's/ $//'
}
st_sum() { (cd "$state" 2>/dev/null && cat -- *.state 2>/dev/null) | sha256sum; }
# A front with no handler next to it: a domain it would pass on fails its prepare.
mkdir -p "$work/front-only"
cp "$build/esfm-hook" "$work/front-only/"

# --- nova-export before any VF exists ------------------------------------------------------------
e() { t_run E "$build/esfm" "$@" </dev/null; }
printf "<pool type='sriov'><name>ghost</name><source><pf address='0000:99:00.0'/></source><vfs count='2'/></pool>\n" \
	>"$conf/pools.d/ghost.xml"
e nova-export --output "$out/esfm.yaml"
rm -f "$conf/pools.d/ghost.xml"
t_is "nova-export with no VFs: exit 0" "$E_rc" 0
t_like "a pool whose PF is missing is left out, saying why" "$E_err" \
	"warning: pool 'ghost': PF 0000:99:00.0 has no VFs \(.*0000:99:00.0.*\): left out of the provider file$"

t_like "a pool without VFs is left out, said on stderr" "$E_err" \
	"warning: pool 'fpga0': PF 0000:83:00.0 has no VFs .*left out of the provider file"
v=$(cd / && "$py" "$tool" validate "$out")
t_is "Nova accepts the file with no classes" "$v" ""
t_like "it says to restart nova-compute" "$E_out" "wrote $out/esfm.yaml \(0 resource classes\); restart nova-compute"

# --- the hook: Nova domains ----------------------------------------------------------------------
hook "$work/front-only/esfm-hook" plain prepare begin
t_is "a plain domain: the front alone exits 0 silently" "$h_rc:$h_out:$h_err" "0::"
hook "$work/front-only/esfm-hook" m1 prepare begin
t_is "a Nova domain whose flavor nobody maps: the front alone exits 0 silently" "$h_rc:$h_out:$h_err" "0::"
hook "$work/front-only/esfm-hook" zed1 prepare begin
t_like "a Nova domain whose flavor is mapped goes past the front" "$h_rc:$h_err" "^1:esfm: domain 'zed1': cannot run"
hook "$work/front-only/esfm-hook" new1 prepare begin
t_like "a Nova 2025.2 domain with an esfm extra spec goes past the front" "$h_rc:$h_err" "^1:esfm: domain 'new1': cannot run"
t_is "no state written by any of that" "$(ls "$state" 2>/dev/null | grep -c '\.state$')" 0

hook "$build/esfm-hook" m1 prepare begin
t_is "the full hook leaves the Nova domain asking nothing alone" "$h_rc:$h_out:$h_err" "0::"
hook "$build/esfm-hook" zed1 prepare begin
t_is "zed1 (flavor fpga.small, Nova 26 metadata): prepare exit 0" "$h_rc:$h_err" "0:"
t_is "zed1 holds 1 VF of fpga0" "$(used fpga0)" "0:zed1"
hook "$build/esfm-hook" zed2 prepare begin
t_is "zed2 (flavor fpga.large, count 2): 2 more VFs of fpga0" "$(used fpga0)" "0:zed1 1:zed2 2:zed2"
hook "$build/esfm-hook" new1 prepare begin
t_is "new1 (2025.2 extra spec CUSTOM_ESFM_NIC0=1): prepare exit 0" "$h_rc:$h_err" "0:"
t_is "new1 holds 1 VF of nic0 and none of fpga0 (extra specs alone count)" "$(used nic0)|$(used fpga0)" \
	"0:new1|0:zed1 1:zed2 2:zed2"
hook "$build/esfm-hook" annot1 prepare begin
hook "$build/esfm-hook" both prepare begin
t_is "an annotation wins over Nova's metadata ('both' gets nic0 only)" "$(used nic0)|$(used fpga0)" \
	"0:new1 1:both|0:zed1 1:zed2 2:zed2 3:annot1"
before=$(st_sum)
hook "$build/esfm-hook" zed1 prepare begin
t_is "a second prepare of zed1 keeps its VF" "$(used fpga0)" "0:zed1 1:zed2 2:zed2 3:annot1"

# --- nova-export with holders --------------------------------------------------------------------
e nova-export --output "$out/esfm.yaml"
t_is "nova-export: exit 0" "$E_rc:$E_err" "0:"
t_like "fpga0: total 4, reserved 1 (annot1 is not Nova's), max_unit 4" "$E_out" \
	"pool fpga0 +CUSTOM_ESFM_FPGA0 +total 4 reserved 1 max_unit 4"
t_like "nic0: reserved 1 ('both' holds nic0, its flavor asks for fpga0)" "$E_out" \
	"pool nic0 +CUSTOM_ESFM_NIC0 +total 4 reserved 1 max_unit 4"
v=$(cd / && "$py" "$tool" validate "$out" 2>&1)
t_like "Nova's get_provider_configs() accepts it: fpga0" "$v" \
	"CUSTOM_ESFM_FPGA0 total 4 reserved 1 max_unit 4 min_unit 1 step_size 1 allocation_ratio 1.0"
t_like "... nic0" "$v" "CUSTOM_ESFM_NIC0 total 4 reserved 1 max_unit 4"
t_like "... the pool traits" "$(printf '%s' "$v" | tr '\n' ' ')" "trait CUSTOM_ESFM_POOL_FPGA0.*trait CUSTOM_ESFM_PCI_10EE_903F.*trait CUSTOM_ESFM_POOL_NIC0.*trait CUSTOM_ESFM_PCI_1B36_0010"
t_is "the file is 0644 (nova-compute runs as its own user)" "$(stat -c %a "$out/esfm.yaml")" 644
p=$(cd / && "$py" "$tool" placement "$out/esfm.yaml" CUSTOM_ESFM_FPGA0 2>&1)
t_is "Placement accepts exactly total - reserved (3) single-VF allocations, then 409" "$p" "accepted 3 refused 409"
m=$(stat -c %Y.%i "$out/esfm.yaml")
e nova-export --output "$out/esfm.yaml"
t_like "the same export again: up to date, nothing to restart" "$E_out" "is up to date; nothing to restart"
t_is "... and the file was not rewritten" "$(stat -c %Y.%i "$out/esfm.yaml")" "$m"

e nova-export --output "$out/esfm.yaml" --drain fpga0
t_like "--drain fpga0: reserved = total" "$E_out" "pool fpga0 +CUSTOM_ESFM_FPGA0 +total 4 reserved 4"
t_like "... nic0 unchanged" "$E_out" "pool nic0 +CUSTOM_ESFM_NIC0 +total 4 reserved 1"
v=$(cd / && "$py" "$tool" validate "$out" 2>&1)
t_like "Nova accepts the drained file" "$v" "CUSTOM_ESFM_FPGA0 total 4 reserved 4"
p=$(cd / && "$py" "$tool" placement "$out/esfm.yaml" CUSTOM_ESFM_FPGA0 2>&1)
t_is "Placement refuses every allocation of a drained pool" "$p" "accepted 0 refused 409"

# --- release -------------------------------------------------------------------------------------
hook "$build/esfm-hook" zed1 release end
t_is "release of zed1 (Nova metadata only): its VF is free" "$(used fpga0)" "1:zed2 2:zed2 3:annot1"
hook "$build/esfm-hook" new1 release end
t_is "release of new1 (2025.2): its nic0 VF is free" "$(used nic0)" "1:both"
hook "$build/esfm-hook" m1 release end
t_is "release of the Nova domain asking nothing: silent" "$h_rc:$h_out:$h_err" "0::"

# --- what a holder is ----------------------------------------------------------------------------
# zed2 vanishes from libvirt: its VFs are no Nova instance's any more (reserved)
grep -v '<name>zed2</name>' "$work/node.xml" >"$work/node2.xml"
sed -i "s|test://$work/node.xml|test://$work/node2.xml|" "$conf/esfm.conf"
e nova-export --output "$out/esfm.yaml"
t_like "holders libvirt does not know are reserved (zed2's 2 + annot1's 1)" "$E_out" \
	"pool fpga0 +CUSTOM_ESFM_FPGA0 +total 4 reserved 3"
p=$(cd / && "$py" "$tool" placement "$out/esfm.yaml" CUSTOM_ESFM_FPGA0 2>&1)
t_is "Placement: 1 allocation, then 409" "$p" "accepted 1 refused 409"
sed -i "s|test://$work/node2.xml|test://$work/node.xml|" "$conf/esfm.conf"

e pool-show fpga0
t_like "pool-show lists the Nova flavors the pool serves" "$(printf '%s' "$E_out" | tr '\n' ' ')" \
	"nova      flavor 'fpga.small' asks for 1 VF.*nova      flavor 'fpga.large' asks for 2 VFs"

# --- refusals that change nothing ----------------------------------------------------------------
sum=$(sha256sum <"$out/esfm.yaml")
e nova-export --output "$out/esfm.yaml" --drain nosuch
t_is "--drain of an unknown pool: exit 1, one line" "$E_rc:$(printf '%s\n' "$E_err" | grep -c '')" "1:1"
t_like "... naming it" "$E_err" "^esfm: --drain: pool 'nosuch' is not defined; esfm pool-list shows the pools$"
cp "$fix/FPGA0.xml" "$conf/pools.d/"
e nova-export --output "$out/esfm.yaml"
t_like "two pools mapping to one class: exit 2, both named" "$E_rc:$E_err" \
	"^2:esfm: pools 'FPGA0' and 'fpga0' both map to the resource class CUSTOM_ESFM_FPGA0; rename one of them"
rm -f "$conf/pools.d/FPGA0.xml"
sed -i "s|test://$work/node.xml|qemu+unix:///system?socket=$work/no-libvirtd.sock|" "$conf/esfm.conf"
e nova-export --output "$out/esfm.yaml"
t_like "libvirt unreachable while hook loans exist: exit 1, nothing written" "$E_rc:$E_err" \
	"^1:esfm: pool 'fpga0': cannot tell which VFs Nova instances hold"
sed -i "s|qemu+unix:///system?socket=$work/no-libvirtd.sock|test://$work/node.xml|" "$conf/esfm.conf"
e nova-export --output "$work/no/such/dir/esfm.yaml"
t_like "a missing directory: exit 1 with the hint" "$E_rc:$E_err" \
	"^1:esfm: provider file $work/no/such/dir/esfm.yaml: cannot open the directory .*provider_config_location"
t_is "the provider file is untouched by every refusal" "$(sha256sum <"$out/esfm.yaml")" "$sum"
e status --output "$out/x.yaml"
t_like "--output goes with nova-export only" "$E_rc:$E_err" "^2:esfm: --output and --drain go with the nova-export command"

# --- reconf and init leave running Nova instances their VFs, unless forced -----------------------
# libvirt's test driver: a running Nova instance holding VF 0 of fpga0 live, a plain VM VF 1
hd() {
	printf "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x83' slot='0x00' function='0x%x'/></source><alias name='ua-esfm-fpga0-%d'/></hostdev>" \
		$((4 + $1)) "$1"
}
{
	echo "<node>"
	printf "<domain type='test'><name>nova-vm</name><uuid>%s</uuid><metadata>%s</metadata>" "$(uuid_of 11)" "$zm1"
	printf "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices>%s</devices></domain>\n" "$(hd 0)"
	printf "<domain type='test'><name>plain-vm</name><uuid>%s</uuid>" "$(uuid_of 12)"
	printf "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices>%s</devices></domain>\n" "$(hd 1)"
	echo "</node>"
} >"$work/node3.xml"
conf3=$work/conf3
mkdir -p "$conf3/pools.d"
cp "$conf/pools.d/"*.xml "$conf3/pools.d/"
sed -e "s|^state_dir = .*|state_dir = $work/state3|" -e "s|^libvirt_uri = .*|libvirt_uri = test://$work/node3.xml|" \
	"$conf/esfm.conf" >"$conf3/esfm.conf"
sim_ctl log clear
ESFM_CONF_DIR=$conf3 e 0000:83:00.0 reconf 2 -y
t_like "the view first records what libvirt shows" "$E_err" "VF 0 is in running domain 'nova-vm' but was recorded as free"
t_like "reconf while a running Nova instance holds a VF: exit 3, naming it" "$E_rc:$(printf '%s\n' "$E_err" | tail -n 1)" \
	"^3:esfm: VM 'nova-vm' is a running Nova instance holding VF 0 of pool 'fpga0'; drain the pool for Nova \(esfm nova-export --drain fpga0, restart nova-compute\), wait until its Nova instances have stopped, or give --force$"
ESFM_CONF_DIR=$conf3 e 0000:83:00.0 init 2 -y
t_like "init too" "$E_rc:$E_err" "^3:esfm: VM 'nova-vm' is a running Nova instance holding VF 0"
t_is "nothing was written to sysfs" "$(sim_log)" ""
ESFM_CONF_DIR=$conf3 e 0000:83:00.0 reconf 2 -y --force
t_like "with --force it goes on (the test driver then cannot detach)" "$E_rc:$E_err" \
	"^1:.*cannot detach the device"
t_unlike "... past the Nova check" "$E_err" "is a running Nova instance"
sed -i '/nova-vm/d' "$work/node3.xml"
ESFM_CONF_DIR=$conf3 e 0000:83:00.0 reconf 2 -y
t_unlike "without a Nova instance, no Nova refusal (a plain VM's VF is only confirmed with -y)" "$E_err" \
	"is a running Nova instance"

# --- Nova refuses a broken file ------------------------------------------------------------------
mkdir -p "$work/broken"
sed 's/"CUSTOM_ESFM_FPGA0"/"CUSTOM_ESFM_fpga-0"/' "$out/esfm.yaml" >"$work/broken/esfm.yaml"
v=$(cd / && "$py" "$tool" validate "$work/broken" 2>&1)
t_like "Nova's get_provider_configs() refuses a broken class name" "$v" "^refused: .*"
sed 's/"CUSTOM_ESFM_FPGA0"/"ESFM_FPGA0"/' "$out/esfm.yaml" >"$work/broken/esfm.yaml"
v=$(cd / && "$py" "$tool" validate "$work/broken" 2>&1)
t_like "... and a class that is not CUSTOM_" "$v" "^refused: .*"

t_done
