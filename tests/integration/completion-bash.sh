#!/usr/bin/env bash
# Bash completion (completion/esfm), sourced in a clean bash and driven the way bash
# drives it (COMP_WORDS, COMP_CWORD; a PCI address split at ':' as bash splits it),
# against a fake sysfs (two SR-IOV PFs, one of them with VFs 0-2 and 10, and a plain
# device), a fake configuration directory (two pools and a README) and a fake virsh on
# PATH (no libvirtd needed): commands, options, PF addresses, VF indices, pool names,
# VM names (with the libvirt URI; bounded when virsh hangs; quiet when it fails), files
# after -b. The command and option lists must be those of `esfm --help`. Also: the
# installed name is the one bash-completion's loader looks for.
set -u
top=${ESFM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${ESFM_BUILD:-$top/build/check}
. "$top/tests/lib/tap.sh"

comp=$top/completion/esfm
missing=
[ -f "$comp" ] || missing="$missing $comp"
[ -x "$build/esfm" ] || missing="$missing $build/esfm"
command -v timeout >/dev/null || missing="$missing timeout"
if [ -n "$missing" ]; then
	t_fail "prerequisites of the completion tests" "missing:$missing"
	t_done
	exit 1
fi

work=$(mktemp -d /tmp/esfm-completion.XXXXXX)
trap 'rm -rf -- "$work"' EXIT

# --- fakes -------------------------------------------------------------------------------------
sys=$work/sys
devs=$sys/bus/pci/devices
for d in 0000:83:00.0 0000:84:00.0 0000:00:1f.0 0000:83:00.1 0000:83:00.2 0000:83:00.3 0000:83:01.3; do
	mkdir -p "$devs/$d"
done
echo 16 >"$devs/0000:83:00.0/sriov_totalvfs"
echo 4 >"$devs/0000:84:00.0/sriov_totalvfs"
ln -s ../0000:83:00.1 "$devs/0000:83:00.0/virtfn0"
ln -s ../0000:83:00.2 "$devs/0000:83:00.0/virtfn1"
ln -s ../0000:83:00.3 "$devs/0000:83:00.0/virtfn2"
ln -s ../0000:83:01.3 "$devs/0000:83:00.0/virtfn10"
conf=$work/conf
mkdir -p "$conf/pools.d"
: >"$conf/pools.d/fpga0.xml"
: >"$conf/pools.d/nic.1.xml"
: >"$conf/pools.d/README"
mkdir -p "$work/bits"
: >"$work/bits/design.bit"
: >"$work/bits/design.bin"
: >"$work/bits/other.txt"

# virsh fakes: one lists two domains (one with a space) and logs its arguments.
mkdir -p "$work/bin-ok" "$work/bin-hang" "$work/bin-fail" "$work/bin-none"
cat >"$work/bin-ok/virsh" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$work/virsh.args"
printf 'vm-a\nvm b\n\n'
EOF
printf '#!/bin/sh\nexec sleep 30\n' >"$work/bin-hang/virsh"
printf '#!/bin/sh\necho "error: failed to connect to the hypervisor" >&2\nexit 1\n' >"$work/bin-fail/virsh"
chmod 0755 "$work"/bin-*/virsh

# complete [env...] -- WORD...: run the completion for the last word in a clean bash;
# prints the candidates sorted, one line (stderr of the completion shown after '!').
complete_words() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	env -i HOME="$work" PATH="${PATHX:-$work/bin-ok:/usr/bin:/bin}" ESFM_SYSFS_ROOT="$sys" \
		ESFM_CONF_DIR="$conf" "${envs[@]}" \
		bash --norc --noprofile -c '
			source "$1" || exit 9
			shift
			COMP_WORDS=("$@")
			COMP_CWORD=$(($# - 1))
			COMP_LINE="$*"
			COMP_POINT=${#COMP_LINE}
			_esfm 2>"$HOME/comp.err"
			printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " " | sed "s/ $//"
			[ -s "$HOME/comp.err" ] && printf " !%s" "$(cat "$HOME/comp.err")"
			exit 0' _ "$comp" "$@"
}
# t_comp WHAT EXPECTED WORD...: candidates for the last word.
t_comp() {
	local what=$1 want=$2
	shift 2
	t_is "$what" "$(complete_words -- "$@")" "$want"
}

# --- registration ------------------------------------------------------------------------------
t_ok "completion/esfm is valid bash" bash -n "$comp"
t_is "sourcing it registers the function for esfm" \
	"$(env -i bash --norc --noprofile -c 'source "$1" && complete -p esfm' _ "$comp" 2>&1)" \
	"complete -F _esfm esfm"

# --- positions -----------------------------------------------------------------------------
t_comp "first word: SR-IOV PFs (not the plain device, not VFs) and pool commands" \
	"0000:83:00.0 0000:84:00.0 nova-export pool-check pool-gc pool-list pool-show reconcile recover status" esfm ""
t_comp "first word, a PF address being typed (bash split it at ':')" \
	"83:00.0 84:00.0" esfm 0000 : 8
t_comp "first word, the address nearly complete" "00.0" esfm 0000 : 84 : 0
t_comp "after a PF: the PF commands" \
	"attach detach init list_vf_vm list_vfs print_kernel reconf" esfm 0000:83:00.0 ""
t_comp "after a PF split at ':' as bash does: the PF commands" \
	"attach detach init list_vf_vm list_vfs print_kernel reconf" esfm 0000 : 83 : 00.0 ""
t_comp "a PF command by prefix" "list_vf_vm list_vfs" esfm 0000 : 83 : 00.0 list
t_comp "pool commands by prefix" "pool-check pool-gc pool-list pool-show" esfm pool
t_comp "attach: the PF's VF indices, in numeric order" "0 1 10 2" esfm 0000:83:00.0 attach ""
t_is "attach: the indices are offered as 0 1 2 10 (numeric, not lexical)" \
	"$(env -i PATH=/usr/bin:/bin ESFM_SYSFS_ROOT="$sys" bash --norc -c 'source "$1"; _esfm_vf_indices 0000:83:00.0 | tr "\n" " "' _ "$comp")" \
	"0 1 2 10 "
t_comp "detach: the PF's VF indices" "0 1 10 2" esfm 0000 : 83 : 00.0 detach ""
t_comp "detach of a PF without VFs: nothing" "" esfm 0000:84:00.0 detach ""
t_comp "options may come before the PF" "attach detach init list_vf_vm list_vfs print_kernel reconf" \
	esfm -y 0000:83:00.0 ""
rm -f "$work/virsh.args"
t_comp "attach <idx>: VM names from virsh (names with spaces kept whole)" "vm b vm-a" \
	esfm 0000:83:00.0 attach 1 ""
t_is "virsh is asked for every domain of qemu:///system" "$(cat "$work/virsh.args" 2>&1)" \
	"-q -c qemu:///system list --all --name"
rm -f "$work/virsh.args"
t_is "ESFM_LIBVIRT_URI picks the connection" \
	"$(complete_words ESFM_LIBVIRT_URI=test:///default -- esfm 0000:83:00.0 attach 1 vm-)|$(cat "$work/virsh.args")" \
	"vm-a|-q -c test:///default list --all --name"
t0=$(date +%s%N)
t_is "a virsh that hangs (libvirtd stuck): no names, no error" \
	"$(PATHX=$work/bin-hang:/usr/bin:/bin complete_words -- esfm 0000:83:00.0 attach 1 "")" ""
t1=$(date +%s%N)
t_like "... and the completion gives up within 3 s ($(((t1 - t0) / 1000000)) ms)" \
	"$(((t1 - t0) / 1000000))" '^([0-9]{1,3}|[12][0-9]{3})$'
t_is "a virsh that fails (no libvirtd): no names, nothing on the terminal" \
	"$(PATHX=$work/bin-fail:/usr/bin:/bin complete_words -- esfm 0000:83:00.0 attach 1 "")" ""
t_is "no virsh at all: no names" \
	"$(PATHX=$work/bin-none:/usr/bin:/bin complete_words -- esfm 0000:83:00.0 attach 1 "")" ""
t_comp "pool-show: the pools of pools.d (README ignored)" "fpga0 nic.1" esfm pool-show ""
t_comp "pool-show by prefix" "nic.1" esfm pool-show n
t_is "no pools.d: no pool names, no error" \
	"$(complete_words ESFM_CONF_DIR=$work/nowhere -- esfm pool-show "")" ""
t_is "no sysfs: no PFs, still the pool commands" \
	"$(complete_words ESFM_SYSFS_ROOT=$work/nowhere -- esfm "")" "nova-export pool-check pool-gc pool-list pool-show reconcile recover status"
t_comp "status: --json" "--json" esfm status ""

# --- options -----------------------------------------------------------------------------------
all_opts="--bitstream --driver_log --help --json --pause --print-paths --queues_num --quiet --verbose --version --vm_names --yes"
t_comp "long options after status (with --json)" "$all_opts" esfm status --
t_comp "long options after a PF command (no --json; --force for init and reconf)" \
	"$(printf '%s\n' ${all_opts/--json /} --force | sort | tr '\n' ' ' | sed 's/ $//')" esfm 0000:83:00.0 init 2 --
t_comp "every option after '-' (no --json for a PF command)" \
	"$(printf '%s\n' ${all_opts/--json /} --force | sort | tr '\n' ' ' | sed 's/ $//') -b -d -h -p -q -qn -v -vm -y" \
	esfm 0000 : 83 : 00.0 reconf 4 -
t_comp "no --force after attach" "${all_opts/--json /}" esfm 0000:83:00.0 attach 1 vm1 --
t_comp "nova-export: --output and --drain too" \
	"$(printf '%s\n' $all_opts --output --drain | grep -vx -- --json | sort | tr '\n' ' ' | sed 's/ $//')" esfm nova-export --
t_comp "--drain: the pools of pools.d" "fpga0 nic.1" esfm nova-export --drain ""
t_comp "an option by prefix" "--verbose --version --vm_names" esfm 0000:83:00.0 init 2 --v
t_comp "-b: files" "$work/bits/design.bin $work/bits/design.bit" esfm 0000:83:00.0 init 2 -b "$work/bits/design"
t_comp "--bitstream: files" "$work/bits/other.txt" esfm 0000:83:00.0 init 2 --bitstream "$work/bits/o"
t_comp "after -b FILE: nothing (the kind is free text)" "" esfm 0000:83:00.0 init 2 -b x.bit ""
t_comp "-vm: nothing (a free name)" "" esfm 0000:83:00.0 init 2 -vm ""
t_comp "-qn: nothing (a number)" "" esfm 0000:83:00.0 init 2 -qn ""
t_comp "the word after -vm's value is not taken for the PF" \
	"attach detach init list_vf_vm list_vfs print_kernel reconf" esfm -vm base 0000:83:00.0 ""

# --- the lists are those of esfm --help ----------------------------------------------------------
help_cmds=() help_opts=()
sec=
while IFS= read -r line; do
	case $line in
	'Commands on a PF:' | 'Pool commands:') sec=cmd; continue ;;
	'Options:') sec=opt; continue ;;
	'') sec=; continue ;;
	esac
	[ -n "$sec" ] || continue
	lead=${line%%[! ]*}
	[ "${#lead}" -lt 30 ] || continue
	entry=${line#"$lead"}
	entry=${entry%%  *}
	if [ "$sec" = cmd ]; then
		help_cmds+=("${entry%% *}")
	else
		for tok in $entry; do case $tok in -*) help_opts+=("${tok%,}") ;; esac; done
	fi
done < <("$build/esfm" --help)
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' '; }
comp_lists=$(env -i bash --norc --noprofile -c 'source "$1"; echo $_esfm_pf_commands $_esfm_pool_commands; echo $_esfm_options' _ "$comp")
t_is "the completion's commands are those of esfm --help" \
	"$(sorted $(printf '%s\n' "$comp_lists" | head -1))" "$(sorted "${help_cmds[@]}")"
t_is "the completion's options are those of esfm --help" \
	"$(sorted $(printf '%s\n' "$comp_lists" | tail -1))" "$(sorted "${help_opts[@]}")"

# --- robustness ------------------------------------------------------------------------------------
t_is "it works in a shell with set -u" \
	"$(env -i PATH=/usr/bin:/bin ESFM_SYSFS_ROOT="$sys" ESFM_CONF_DIR="$conf" bash --norc -uc '
		source "$1"; COMP_WORDS=(esfm 0000 : 83 : 00.0 ""); COMP_CWORD=6; _esfm; echo "${#COMPREPLY[@]}"' _ "$comp" 2>&1)" 7

# --- where bash-completion looks -----------------------------------------------------------------
bc=/usr/share/bash-completion/bash_completion
if [ -f "$bc" ]; then
	mkdir -p "$work/share/bash-completion/completions"
	cp "$comp" "$work/share/bash-completion/completions/esfm"
	t_is "bash-completion's loader finds share/bash-completion/completions/esfm on XDG_DATA_DIRS" \
		"$(env -i HOME="$work" PATH=/usr/bin:/bin XDG_DATA_DIRS="$work/share" bash --norc --noprofile -c '
			source "$1" >/dev/null 2>&1
			__load_completion esfm >/dev/null 2>&1 || _completion_loader esfm >/dev/null 2>&1
			complete -p esfm' _ "$bc" 2>&1)" "complete -F _esfm esfm"
else
	t_pass "bash-completion's loader finds the file # SKIP bash-completion not installed"
fi

t_done
