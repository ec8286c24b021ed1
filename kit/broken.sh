#!/usr/bin/env bash
# kit/broken.sh [NAME] [PLAN]
#
# A purpose-made defect and the lanes that must catch it: builds the
# 'broken' variant, the patched tree plus tests/broken/NAME.patch (default
# fred-orig-ax), in a worktree ($BUILD/broken/linux), with the config the
# .expect file names ('#!config NAME', default x86_64), boots it on the
# lanes it names (idt, fred: the vmx lanes with PLAN, default the check
# plan; qemu: the KUnit lane; '#!with NAME' applies tests/broken/NAME.patch
# first), and judges
# tests/broken/NAME.expect (a lane must stay green, or named tests or lane
# checks such as dmesg-clean must fail there).  Writes $RESULTS/broken-NAME.tap; exit 0 iff the lanes said
# what the .expect file says.  Not part of 'make check' (a kernel build):
# 'make broken'.
#
# BROKEN_CONFIG=NAME builds it with that config instead of the .expect
# file's (the unwind probe with clang: x86_64-cfi); the results are then
# $RESULTS/broken-NAME-CONFIG.tap.
. "$(dirname "$0")/lib.sh"

name=${1:-fred-orig-ax}
plan=${2:-}
# The base's own defects: tests/broken/ (7.3), backport/6.12/tests/broken/.
bdir=$BASE_ROOT/tests/broken
patch=$bdir/$name.patch
expect=$bdir/$name.expect
[ -f "$expect" ] ||
	die "no defect '$name': ${bdir#"$KIT_ROOT"/}/ has $(cd "$bdir" 2>/dev/null && ls -- *.expect 2>/dev/null | sed 's/\.expect$//' | tr '\n' ' ')"
# Without a NAME.patch the .expect must name its probe ('#!with'): the
# probe judged on another config or plan (unwind-probe-i386).
withs=$(sed -n 's/^#!with //p' "$expect")
[ -f "$patch" ] || [ -n "$withs" ] ||
	die "${bdir#"$KIT_ROOT"/}/$name.expect: no $name.patch and no '#!with' probe"
# The selftests: the patched tree's (a kernel defect judged by the series'
# tests), or '#!selftests broken' (a defect in a selftest itself).
stfrom=$(sed -n 's/^#!selftests //p' "$expect" | head -n 1)
stfrom=${stfrom:-patched}
case $stfrom in patched | broken) ;;
*) die "${bdir#"$KIT_ROOT"/}/$name.expect: '#!selftests $stfrom' (patched or broken)" ;;
esac
git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree at $TREE: run 'make tree' first"

# '#!with NAME' lines in the .expect file: tests/broken/NAME.patch goes in
# first (a probe the defect is measured with), then the defect's own.
patches=()
for w in $withs; do
	[ -f "$bdir/$w.patch" ] ||
		die "${bdir#"$KIT_ROOT"/}/$name.expect: '#!with $w': no $w.patch there"
	patches+=("$bdir/$w.patch")
done
[ ! -f "$patch" ] || patches+=("$patch")

# The worktree at the tree's HEAD plus the patches.
[ -n "${KIT_BROKEN_PARSE_ONLY:-}" ] ||
	patched_worktree "$BROKEN_SRC" "$(git -C "$TREE" rev-parse HEAD)" "${patches[@]}"
log "broken/$name: the tree's HEAD + $(printf 'tests/broken/%s ' "${patches[@]##*/}")"

# The kernel config: '#!config NAME' in the .expect file, else x86_64.
cfg=$(sed -n 's/^#!config //p' "$expect" | head -n 1)
cfg=${cfg:-x86_64}
tname=$name
if [ -n "${BROKEN_CONFIG:-}" ]; then
	[ "$BROKEN_CONFIG" = "$cfg" ] || tname=$name-$BROKEN_CONFIG
	cfg=$BROKEN_CONFIG
fi
# The plan: the argument, else '#!plan NAME' (tests/plans/NAME.plan), else
# the check plan.
if [ -z "$plan" ]; then
	plan=$(sed -n 's/^#!plan //p' "$expect" | head -n 1)
	plan=$PLANS/${plan:-vmx-check}.plan
fi
[ -f "$plan" ] || die "no plan $plan"
# KIT_BROKEN_PARSE_ONLY=1: judge the last run's lane results again.
parse_only=${KIT_BROKEN_PARSE_ONLY:-}
[ -n "$parse_only" ] || bash "$KIT_ROOT/kit/build.sh" broken "$cfg"
tap=$RESULTS/broken-$tname.tap
declare -A laneTap=()
for lane in $(awk '!/^#/ && NF { print $1 }' "$expect" | sort -u); do
	if [ "$lane" = qemu ]; then
		[ -n "$parse_only" ] || KIT_CONFIG=$cfg bash "$KIT_ROOT/kit/lane-qemu.sh" broken || true
		laneTap[$lane]=$RESULTS/qemu-broken.tap
		[ "$cfg" = x86_64 ] || laneTap[$lane]=$RESULTS/qemu-broken-$cfg.tap
		continue
	fi
	[ -n "$parse_only" ] || KIT_CONFIG=$cfg KIT_VMX_LANE=$lane KIT_SELFTESTS_FROM=$stfrom \
		bash "$KIT_ROOT/kit/lane-vmx.sh" broken "$plan" || true
	t=$(vmx_result "$lane" broken "$stfrom" "$cfg" "$plan").tap
	laneTap[$lane]=$t
done

# reliable FUNC: FUNC+0x... is in the lane's $trace, not as a '?' entry.
reliable() { grep -E "(^|[[:space:]])$1\+0x" <<<"$trace" | grep -vE '\? ' >/dev/null; }

# console_lines N ERE LOG: the first N console lines of LOG matching ERE,
# without the printk timestamp, cut to 110 columns.
console_lines() {
	grep -a -m"$1" -E -- "$2" "$3" 2>/dev/null | tr -d '\r' |
		sed -E 's/^\[ *[0-9.]+\] //' | cut -c1-110 || true
}

tap_begin "$tap"
while read -r lane verdict tests; do
	case $lane in '' | '#'*) continue ;; esac
	t=${laneTap[$lane]}
	if [ "$verdict" = reports ]; then
		# The kernel reports the defect on the console (a CFI or IBT
		# trap, a KASAN or lockdep report), whether or not it boots on,
		# and the lane is not green.
		logf=${t%.tap}.log
		hit=$(console_lines 1 "$tests" "$logf")
		if [ -z "$hit" ]; then
			tap_add "$tap" fail "$name: $lane lane reports /$tests/" 0 "not on the console${t:+ (${logf#"$KIT_ROOT"/})}"
		elif [ -f "$t" ] && ! grep -q '^not ok ' "$t"; then
			tap_add "$tap" fail "$name: $lane lane reports /$tests/" 0 "reported, but the lane stayed green: $hit"
		else
			tap_add "$tap" pass "$name: $lane lane reports /$tests/" 0 "$hit"
		fi
		continue
	fi
	if [ "$verdict" = says ]; then
		# A probe's measurement: the console has a line matching the
		# ERE (a figure the probe prints), the lane green or not.
		logf=${t%.tap}.log
		hit=$(console_lines 1 "$tests" "$logf")
		if [ -n "$hit" ]; then
			tap_add "$tap" pass "$name: $lane lane says /$tests/" 0 "$hit"
		else
			got=$(console_lines 3 "${tests%% *}" "$logf" | paste -sd';')
			tap_add "$tap" fail "$name: $lane lane says /$tests/" 0 "${got:-no such line on the console}"
		fi
		continue
	fi
	if ! grep -q '^ok [0-9]* boot' "$t" 2>/dev/null; then
		tap_add "$tap" fail "$name: $lane lane" 0 "did not boot: cannot judge"
		continue
	fi
	case $verdict in
	green)
		bad=$(grep '^not ok ' "$t" | head -n 1 || true)
		# On a vmx lane every test of the plan must have run and passed:
		# a skipped or missing test does not make a lane green.
		if [ -z "$bad" ] && [ "$lane" != qemu ]; then
			for pt in $(plan_tests "$plan"); do
				grep -qE "^ok [0-9]+ $pt( |$)" "$t" && ! grep -qE "^ok [0-9]+ $pt # SKIP" "$t" ||
					{ bad="$pt: did not run, or skipped"; break; }
			done
		fi
		if [ -z "$bad" ]; then
			tap_add "$tap" pass "$name: $lane lane stays green" 0 "$(grep -c '^ok ' "$t") ok"
		else
			tap_add "$tap" fail "$name: $lane lane stays green" 0 "$(cut -c1-120 <<<"$bad")"
		fi ;;
	red)
		for tst in $tests; do
			case $tst in
			kunit:*:*)	# A KUnit case: its suite's line names it.
				suite=${tst#kunit:}; kcase=${suite#*:}; suite=${suite%%:*}
				line=$(grep -E "^not ok [0-9]+ kunit:$suite( |$)" "$t" || true)
				if [[ " ${line#*failed:} " == *" $kcase "* ]]; then
					tap_add "$tap" pass "$name: $lane lane: $tst red" 0 "with the defect"
				else
					tap_add "$tap" fail "$name: $lane lane: $tst red" 0 "${line:-the suite passed, or did not run}"
				fi ;;
			*/*) tap_expect_red "$tap" "$name: $lane lane: $tst red" "$t" "$tst" "with the defect" ;;
			*)	# A lane check (dmesg-clean, kit-end, ...): any failure.
				line=$(grep -E "^not ok [0-9]+ $tst( |$)" "$t" || true)
				if [ -n "$line" ]; then
					tap_add "$tap" pass "$name: $lane lane: $tst red" 0 "$(sed 's/^not ok [0-9]* [^ ]* # //' <<<"${line%% # time=*}" | cut -c1-110)"
				else
					tap_add "$tap" fail "$name: $lane lane: $tst red" 0 "it passed, or did not run"
				fi ;;
			esac
		done ;;
	breaks | unwinds | nmi-breaks | nmi-unwinds | perf-reaches | perf-misses)
		# The probe's stack traces on the console: 'unwinds' asks that
		# the one dumped in external_interrupt() (KIT-PROBE ..
		# KIT-PROBE-END) reach each FUNC as a reliable entry, with no
		# unreliable ('? ') entry on the way; 'breaks' is the negative
		# (shows that 'unwinds' can fail).  'nmi-unwinds', 'nmi-breaks':
		# the same for the NMI backtrace (show_regs() of an NMI that hit
		# that window: KIT-PROBE-NMI .. KIT-PROBE-NMI-END).
		# 'perf-reaches': the kernel callchain that perf records for that
		# NMI (get_perf_callchain(), KIT-PROBE-PERF .. KIT-PROBE-PERF-END)
		# has each FUNC, and every entry is a kernel symbol; 'perf-misses'
		# is the negative.
		case $verdict in
		nmi-*) from='KIT-PROBE-NMI vector' to=KIT-PROBE-NMI-END what="NMI backtrace" ;;
		perf-*) from='KIT-PROBE-PERF [0-9]+ entries' to=KIT-PROBE-PERF-END what="perf callchain" ;;
		*) from='KIT-PROBE vector' to=KIT-PROBE-END what=trace ;;
		esac
		trace=$(tr -d '\r' <"${t%.tap}.log" | sed -En "/$from/,/$to/p")
		case $what in
		perf*) grep -q "$to" <<<"$trace" || trace="" ;;
		*) grep -q 'Call Trace' <<<"$trace" || trace="" ;;
		esac
		if [ -z "$trace" ]; then
			tap_add "$tap" fail "$name: $lane lane: a probe $what" 0 "no ${from%% *} $what on the console"
			continue
		fi
		echo "# $lane lane: the probe's $what:" >>"$tap"
		sed 's/^/#   /' <<<"$trace" >>"$tap"
		for f in $tests; do
			reached=0
			reliable "$f" && reached=1
			case ${verdict#nmi-}$reached in
			unwinds1 | perf-reaches1) tap_add "$tap" pass "$name: $lane lane: the $what reaches $f" 0 ;;
			unwinds0) tap_add "$tap" fail "$name: $lane lane: the $what reaches $f" 0 "not in it as a reliable entry" ;;
			perf-reaches0) tap_add "$tap" fail "$name: $lane lane: the $what reaches $f" 0 "not in it" ;;
			breaks1 | perf-misses1) tap_add "$tap" fail "$name: $lane lane: the $what does not reach $f" 0 "it does" ;;
			breaks0 | perf-misses0) tap_add "$tap" pass "$name: $lane lane: the $what does not reach $f" 0 ;;
			esac
		done
		if [ "$verdict" = perf-reaches ]; then
			n=$(grep -oE 'KIT-PROBE-PERF [0-9]+ entries' <<<"$trace" | grep -oE '[0-9]+' || true)
			bad=$(grep -E 'KIT-PROBE-PERF  ' <<<"$trace" | grep -vE 'KIT-PROBE-PERF  [A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-f]+/0x[0-9a-f]+' || true)
			if [ -z "$bad" ] && [ "${n:-0}" -gt 0 ]; then
				tap_add "$tap" pass "$name: $lane lane: every perf callchain entry is a kernel symbol" 0 "$n entries"
			else
				tap_add "$tap" fail "$name: $lane lane: every perf callchain entry is a kernel symbol" 0 "${n:-0} entries; $(head -n 1 <<<"$bad" | cut -c1-80)"
			fi
			continue
		fi
		[ "${verdict#nmi-}" = unwinds ] || continue
		# 'unwinds' also: '?' entries from the first FUNC to the
		# last are a break in the chain, except the frame builder's
		# own regs->ip, which the register dump above it already
		# printed and the 32-bit FIXUP_FRAME gap repeats.  Not counted:
		# the stale words the 32-bit unwinder prints below the last
		# FUNC, and those in the probe's own frames above the first
		# (if the first FUNC is not in the trace, from its top).
		regips=$(grep -oE '(EIP|RIP): ([0-9a-f]{4}:)?[A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-f]+/0x[0-9a-f]+' <<<"$trace" |
			sed -E 's/^(EIP|RIP): ([0-9a-f]{4}:)?//' | sort -u || true)
		firstf=${tests%% *} lastf=${tests##* }
		reliable "$firstf" || firstf=
		above=$(awk -v f="$firstf" -v l="$lastf" '
			function at(x) { return $0 ~ "(^|[[:space:]])" x "\\+0x" && $0 !~ /\? / }
			f == "" || at(f) { on = 1 }
			on && at(l) { exit }
			on { print }' <<<"$trace")
		# Any '? sym+off/size' in a line: test output written to the
		# console at the same time can split a trace line.
		qre='\? [A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-f]+/0x[0-9a-f]+'
		unrel=""
		while read -r q sym; do
			[ "$q" = "?" ] || continue
			grep -qxF "$sym" <<<"$regips" || unrel+="? $sym; "
		done < <(grep -oE "$qre" <<<"$above" || true)
		stale=$(( $(grep -oE "$qre" <<<"$trace" | wc -l) ))
		if [ -z "$unrel" ]; then
			tap_add "$tap" pass "$name: $lane lane: $what: no unreliable entry from ${firstf:-the top} to $lastf" 0 "$stale '?' line(s) in all"
		else
			tap_add "$tap" fail "$name: $lane lane: $what: no unreliable entry from ${firstf:-the top} to $lastf" 0 "$unrel"
		fi ;;
	*) die "${bdir#"$KIT_ROOT"/}/$name.expect: '$verdict' (green, red, reports, says, unwinds, breaks, nmi-unwinds, nmi-breaks, perf-reaches or perf-misses)" ;;
	esac
done <"$expect"
tap_finish "$tap" "broken/$name"
