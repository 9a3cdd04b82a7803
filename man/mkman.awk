# Used by mkman.sh: awk -f mkman.awk HELP SRC SRC (see mkman.sh for the format).
# Plain POSIX awk (Debian's default is mawk): no gensub, no arrays of arrays.

function esc(s) {
	gsub(/\\/, "\\e", s)
	return s
}

# A '-' that starts a word (an option named in prose) becomes \-.
function hy_text(s,    out, i, c, prev) {
	out = ""; prev = " "
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "-" && (prev == " " || prev == "(" || prev == "-" || prev == "["))
			out = out "\\-"
		else
			out = out c
		prev = c
	}
	return out
}

# <X> becomes italic X.
function angles(s,    out) {
	out = ""
	while (match(s, /<[^<>]+>/)) {
		out = out substr(s, 1, RSTART - 1) "\\fI" substr(s, RSTART + 1, RLENGTH - 2) "\\fR"
		s = substr(s, RSTART + RLENGTH)
	}
	return out s
}

function text(s) {
	s = angles(hy_text(esc(s)))
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

# A synopsis or an option's left column: options and the command in bold,
# <values> and [optional words] in italics.
function code(s, bold_first,    n, t, i, w, pre, suf, core, out) {
	n = split(s, t, " ")
	out = ""
	for (i = 1; i <= n; i++) {
		w = esc(t[i]); pre = ""; suf = ""
		while (w ~ /^\[/) { pre = pre "["; w = substr(w, 2) }
		while (w ~ /[],|]$/) { suf = substr(w, length(w)) suf; w = substr(w, 1, length(w) - 1) }
		if (w ~ /^<.*>$/)
			core = "\\fI" substr(w, 2, length(w) - 2) "\\fR"
		else if (w ~ /^-/) {
			gsub(/-/, "\\-", w)
			core = "\\fB" w "\\fR"
		} else if (i == 1 && bold_first)
			core = "\\fB" w "\\fR"
		else
			core = "\\fI" w "\\fR"
		out = out (i > 1 ? " " : "") pre core suf
	}
	return out
}

function key_of(sec, left,    n, t, i) {
	n = split(left, t, " ")
	if (sec != "opt")
		return t[1]
	for (i = 1; i <= n; i++)
		if (t[i] ~ /^--/) { sub(/,$/, "", t[i]); return t[i] }
	sub(/,$/, "", t[1])
	return t[1]
}

function subst(s) {
	gsub(/@VERSION@/, VERSION, s); gsub(/@DATE@/, DATE, s)
	gsub(/@BINDIR@/, BINDIR, s); gsub(/@LIBEXECDIR@/, LIBEXECDIR, s)
	gsub(/@DATADIR@/, DATADIR, s); gsub(/@CONFDIR@/, CONFDIR, s)
	gsub(/@HOOKSDIR@/, HOOKSDIR, s)
	return s
}

function emit_entries(sec,    i, k) {
	emitted[sec] = 1
	for (i = 1; i <= n[sec]; i++) {
		k = keys[sec, i]
		print ".TP"
		print code(lefts[sec, i], sec != "opt")
		print text(help[sec, i]) (help[sec, i] ~ /[.!?)]$/ ? "" : ".")
		if (k in detail)
			printf "%s", subst(detail[k])
	}
}

function emit_synopsis(    i, s) {
	print ".nf"
	for (i = 1; i <= n["pf"]; i++)
		print "\\fBesfm\\fR \\fIpf_bdf\\fR " code(lefts["pf", i], 1) " [\\fIoptions\\fR]"
	for (i = 1; i <= n["pool"]; i++)
		print "\\fBesfm\\fR " code(lefts["pool", i], 1) " [\\fIoptions\\fR]"
	print "\\fBesfm\\fR \\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR"
	print ".fi"
}

FNR == 1 { fileno++ }

# Pass 0: `esfm --help`.
fileno == 1 {
	if ($0 ~ /^Commands on a PF:/) { sec = "pf"; next }
	if ($0 ~ /^Pool commands:/) { sec = "pool"; next }
	if ($0 ~ /^Options:/) { sec = "opt"; next }
	if ($0 == "") { sec = ""; next }
	if (sec == "") next
	ind = match($0, /[^ ]/)
	if (ind >= 31 && n[sec] > 0) {
		help[sec, n[sec]] = help[sec, n[sec]] " " substr($0, ind)
		next
	}
	rest = substr($0, ind)
	if (match(rest, /  +/)) {
		left = substr(rest, 1, RSTART - 1); h = substr(rest, RSTART + RLENGTH)
	} else {
		left = rest; h = ""
	}
	n[sec]++
	lefts[sec, n[sec]] = left; help[sec, n[sec]] = h
	keys[sec, n[sec]] = key_of(sec, left)
	known[key_of(sec, left)] = sec
	next
}

# Pass 1: collect the @detail blocks.
fileno == 2 {
	if ($0 ~ /^@detail /) { cur = $2; detail[cur] = ""; capture = 1; dline[cur] = FNR; next }
	if ($0 ~ /^@end *$/) { capture = 0; next }
	if (capture) detail[cur] = detail[cur] $0 "\n"
	next
}

# Pass 2: the page.
fileno == 3 {
	if ($0 ~ /^@detail /) { skip = 1; next }
	if (skip) { if ($0 ~ /^@end *$/) skip = 0; next }
	if ($0 == "@SYNOPSIS@") { emit_synopsis(); next }
	if ($0 == "@PF_COMMANDS@") { emit_entries("pf"); next }
	if ($0 == "@POOL_COMMANDS@") { emit_entries("pool"); next }
	if ($0 == "@OPTIONS@") { emit_entries("opt"); next }
	print subst($0)
}

END {
	if (fileno < 3) { print "mkman: expected HELP SRC SRC" > "/dev/stderr"; exit 2 }
	bad = 0
	for (s in emitted) {
		if (n[s] == 0) {
			printf "mkman: %s: `esfm --help` lists no %s entries\n", src, s > "/dev/stderr"
			bad++
		}
		for (i = 1; i <= n[s]; i++)
			if (!(keys[s, i] in detail)) {
				printf "mkman: %s: '%s' from `esfm --help` has no @detail block\n", src, keys[s, i] > "/dev/stderr"
				bad++
			}
	}
	for (k in detail)
		if (!(k in known) || !(known[k] in emitted)) {
			printf "mkman: %s:%d: @detail %s names no command or option of `esfm --help`\n", src, dline[k], k > "/dev/stderr"
			bad++
		}
	if (bad && strict == 1) exit 1
}
