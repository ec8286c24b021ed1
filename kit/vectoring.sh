#!/usr/bin/env bash
# kit/vectoring.sh [RUN...]: must KVM requeue an event found in the
# IDT-vectoring information?  (issue 13, make vectoring)
#
# Runs x86/event_vectoring_test (a selftest of the series: events whose
# delivery faults in EPT must be delivered exactly once) in each run of
# experiments/vectoring.runs: on the series and on plain 7.3 (the series'
# selftest binary), idt and fred lanes, and on the 'experiment' kernel,
# the series plus experiments/vectoring-requeue.patch (never mailed), with
# the kernel arguments that make it drop or alter what KVM requeues.
# Judges each case of each run against the runs file (the cases named
# there must fail, all others pass), writes $RESULTS/vectoring.tap and the
# table $RESULTS/vectoring.md (cases x runs).  Exit 0 iff every case said
# what the runs file says.  Not in 'make check': two more kernels to build
# and eight boots (~12 min warm).  KIT_VECTORING_PARSE_ONLY=1 judges the
# last runs' console logs again.
. "$(dirname "$0")/lib.sh"

runs=$KIT_ROOT/experiments/vectoring.runs
xpatch=$KIT_ROOT/experiments/vectoring-requeue.patch
plan=$PLANS/vectoring.plan
test=x86/event_vectoring_test
# The test's cases, in the order of the table.
CASES=(pf gp ud db_single_step db_data icebp int3 int_n int3_two_exits
       injected pending nested extint gp_irq_pending nmi)

[ -f "$runs" ] && [ -f "$xpatch" ] && [ -f "$plan" ] || die "experiments/ or $plan missing"
git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree at $TREE: run 'make tree' first"

# The runs to do: all, or those named.
declare -a R_NAME R_KERNEL R_LANE R_CMD R_FAIL
while read -r name kernel lane cmd fails; do
	case $name in '' | '#'*) continue ;; esac
	case $kernel in patched | base | experiment) ;; *) die "${runs#"$KIT_ROOT"/}: $name: kernel '$kernel'" ;; esac
	case $lane in idt | fred) ;; *) die "${runs#"$KIT_ROOT"/}: $name: lane '$lane'" ;; esac
	for c in $fails; do
		[ "$c" = - ] || [[ " ${CASES[*]} " == *" $c "* ]] ||
			die "${runs#"$KIT_ROOT"/}: $name: no case '$c' (${CASES[*]})"
	done
	if (( $# )) && [[ " $* " != *" $name "* ]]; then continue; fi
	R_NAME+=("$name"); R_KERNEL+=("$kernel"); R_LANE+=("$lane"); R_CMD+=("$cmd"); R_FAIL+=("$fails")
done <"$runs"
(( ${#R_NAME[@]} )) || die "no run named '$*' in ${runs#"$KIT_ROOT"/}"

# The experiment kernel: the tree's HEAD + the patch, in its own worktree;
# checked out again only when either changed (incremental build).
parse_only=${KIT_VECTORING_PARSE_ONLY:-}
if [ -z "$parse_only" ] && [[ " ${R_KERNEL[*]} " == *" experiment "* ]]; then
	patched_worktree "$EXPERIMENT_SRC" "$(git -C "$TREE" rev-parse HEAD)" "$xpatch"
	bash "$KIT_ROOT/kit/build.sh" experiment x86_64
fi
if [ -z "$parse_only" ] && [[ " ${R_KERNEL[*]} " == *" base "* ]]; then
	bash "$KIT_ROOT/kit/build.sh" base x86_64
fi

# cases LOG: 'CASE ok|fail|skip REASON' for each case the test reported on
# the console LOG (kselftest harness lines 'ok N vectoring.CASE.delivered_once').
cases() {
	tr -d '\r' <"$1" | awk -v t="$test" '
		$1 == "KIT-TEST-START" && $2 == t { on = 1; msg = ""; next }
		$1 == "KIT-TEST-END" && $2 == t { on = 0 }
		!on { next }
		/^#  RUN / { msg = ""; next }
		# The first line of the assertion message after the backtrace.
		/^==== Test Assertion Failure/ { inassert = 1; nl = 0; next }
		inassert && /^  pid=/ { nl = 1; next }
		inassert && nl && /^     [0-9]/ { next }
		inassert && nl && /^  [^ ]/ { sub(/^  /, ""); msg = $0; inassert = 0; next }
		# The message can come after kernel lines on the same console.
		msg == "" && /^  .*want/ { m2 = $0; sub(/^  /, "", m2); msg = m2 }
		/Test terminated by timeout/ { msg = "hang: killed by the harness timeout" }
		/^(not )?ok [0-9]+ vectoring\./ {
			split($0, w, " "); st = (w[1] == "not") ? "fail" : "ok"
			name = (st == "fail") ? w[4] : w[3]
			split(name, p, "."); c = p[2]
			if ($0 ~ /# SKIP/) { st = "skip"; m = $0; sub(/.*# SKIP */, "", m) } else m = msg
			print c, st, m
			msg = ""
		}'
}

tap=$RESULTS/vectoring.tap
table=$RESULTS/vectoring.md
mkdir -p "$RESULTS" "$BUILD/vectoring"
declare -A CELL=()
for i in "${!R_NAME[@]}"; do
	name=${R_NAME[$i]} kernel=${R_KERNEL[$i]} lane=${R_LANE[$i]} cmd=${R_CMD[$i]}
	# One plan per run: the run's name is in the plan's, so each run
	# keeps its own console log and TAP.
	rplan=$BUILD/vectoring/vectoring-$name.plan
	cp "$plan" "$rplan"
	[ "$cmd" = - ] || echo "#!cmdline $cmd" >>"$rplan"
	[ -n "$parse_only" ] || KIT_VMX_LANE=$lane KIT_SELFTESTS_FROM=patched \
		bash "$KIT_ROOT/kit/lane-vmx.sh" "$kernel" "$rplan" || true
	lt=$(vmx_result "$lane" "$kernel" patched x86_64 "$rplan").tap
	if ! grep -q '^ok [0-9]* boot' "$lt" 2>/dev/null; then
		for c in "${CASES[@]}"; do CELL[$name.$c]="no-boot"; done
		continue
	fi
	while read -r c st msg; do
		CELL[$name.$c]="$st $msg"
	done < <(cases "${lt%.tap}.log")
	echo "$lt" >"$BUILD/vectoring/$name.tapfile"
done

tap_begin "$tap"
for i in "${!R_NAME[@]}"; do
	name=${R_NAME[$i]}
	for c in "${CASES[@]}"; do
		cell=${CELL[$name.$c]:-missing}
		st=${cell%% *} msg=${cell#* }; [ "$msg" = "$cell" ] && msg=""
		if [[ " ${R_FAIL[$i]} " == *" $c "* ]]; then
			want=fail
		else
			want=ok
		fi
		if [ "$st" = "$want" ]; then
			tap_add "$tap" pass "vectoring:$name:$c" 0 "$st${msg:+: $(cut -c1-100 <<<"$msg")}"
		else
			tap_add "$tap" fail "vectoring:$name:$c" 0 "want $want, got $st${msg:+: $(cut -c1-100 <<<"$msg")}"
		fi
	done
done

# The table: one column per run, a cell per case ('ok', 'FAIL: why').
{
	echo "| case | $(IFS='|'; sed 's/|/ | /g' <<<"${R_NAME[*]}") |"
	printf '|---|'; for _ in "${R_NAME[@]}"; do printf -- '---|'; done; echo
	for c in "${CASES[@]}"; do
		printf '| %s |' "$c"
		for name in "${R_NAME[@]}"; do
			cell=${CELL[$name.$c]:-missing}
			st=${cell%% *} msg=${cell#* }; [ "$msg" = "$cell" ] && msg=""
			case $st in
			ok) printf ' ok |' ;;
			fail) printf ' **FAIL**%s |' "${msg:+: $(sed 's/|/\\|/g' <<<"$msg" | cut -c1-90)}" ;;
			*) printf ' %s |' "$st" ;;
			esac
		done
		echo
	done
	echo
	for i in "${!R_NAME[@]}"; do
		echo "- ${R_NAME[$i]}: ${R_KERNEL[$i]} kernel, ${R_LANE[$i]} lane, ${R_CMD[$i]/#-/no extra arguments}"
	done
} >"$table"
log "vectoring: table -> ${table#"$KIT_ROOT"/}"
tap_finish "$tap" vectoring
