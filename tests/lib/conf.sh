# shellcheck shell=bash
# esfm.conf for an integration script (source it).
#   conf_set FILE [KEY=VALUE...]  set each KEY in FILE, replacing a line that sets it already:
#                                 esfm.conf refuses a key set twice
conf_set() {
	local f=$1 kv
	shift
	for kv in "$@"; do
		sed -i "/^${kv%%=*} = /d" "$f"
		echo "${kv%%=*} = ${kv#*=}" >>"$f"
	done
}
