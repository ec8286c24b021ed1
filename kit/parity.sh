#!/usr/bin/env bash
# kit/parity.sh [PLAN]: the upstream KVM selftests on the baseline and on
# the patched kernel, on the vmx lane, and the comparison.
#
# Runs the plan (default tests/plans/vmx-full.plan) on both kernels, then
# writes build/results/parity.md: one row per test with its result on each
# (PASS, FAIL, SKIP, with the reason the test printed), and the verdict:
# the patched pass set must equal the baseline's.  A test that fails or
# skips on the baseline too is a limitation of the lane (the emulator), not
# of the series; the table says so.  build/results/parity.tap has one line
# per test (fails where patched and baseline differ) for the summary.
# RESULTS_ONLY=1 compares the last runs without running them again.
. "$(dirname "$0")/lib.sh"

plan=${1:-$PLANS/vmx-full.plan}
pname=$(basename "$plan" .plan)
if [ -z "${RESULTS_ONLY:-}" ]; then
	for v in base patched; do
		bash "$KIT_ROOT/kit/lane-vmx.sh" "$v" "$plan" || true
	done
fi
btap=$RESULTS/vmx-base-$pname.tap
ptap=$RESULTS/vmx-patched-$pname.tap
[ -f "$btap" ] && [ -f "$ptap" ] || die "no results of $pname for both kernels"

# "result<TAB>reason" of one test in a TAP file.
result_of() {
	local line
	line=$(grep -E "^(not )?ok [0-9]+ $2( |$)" "$1" | head -n 1)
	case $line in
	"") printf 'MISSING\t-\n' ;;
	"not ok"*) printf 'FAIL\t%s\n' "$(sed -E 's/^not ok [0-9]+ [^ ]+ (# )?//; s/ # time=.*//' <<<"$line")" ;;
	*"# SKIP"*) printf 'SKIP\t%s\n' "$(sed -E 's/.*# SKIP //; s/ # time=.*//' <<<"$line")" ;;
	*) printf 'PASS\t-\n' ;;
	esac
}

tap=$RESULTS/parity.tap
md=$RESULTS/parity.md
tap_begin "$tap"
mapfile -t tests < <(plan_tests "$plan")
same=0 diff=0 limits=0 passes=0
rows=()
for t in "${tests[@]}"; do
	IFS=$'\t' read -r br breason < <(result_of "$btap" "$t")
	IFS=$'\t' read -r pr preason < <(result_of "$ptap" "$t")
	note=""
	if [ "$br" = "$pr" ]; then
		same=$((same + 1))
		tap_add "$tap" pass "parity $t ($br)" 0
		[ "$br" = PASS ] && passes=$((passes + 1))
		if [ "$br" != PASS ]; then
			limits=$((limits + 1))
			note="lane limitation: ${breason:0:90}"
		fi
	else
		diff=$((diff + 1))
		tap_add "$tap" fail "parity $t: baseline $br, patched $pr" 0
		note="DIFFERS: patched ${preason:0:90}"
	fi
	rows+=("| $t | $br | $pr | $note |")
done
tap_end "$tap"
{
	echo "# Parity: upstream KVM selftests, baseline vs patched (vmx lane)"
	echo
	echo "Plan: \`${plan#"$KIT_ROOT"/}\` (${#tests[@]} tests). Lane: $(sed -n 's/^# lane: //p' "$ptap")."
	echo "Baseline: $(sed -n 's/^# lane: \(vmx [a-z]* kernel\).*/\1/p' "$btap"), results $(date -u +%Y-%m-%d)."
	echo
	echo "Same result on both kernels: $same of ${#tests[@]} ($passes pass on both);"
	echo "different: $diff. Tests that fail or skip on both are limitations of"
	echo "the lane (Bochs 2.7, 2 CPUs, no posted interrupts, no PMU, ...), listed with"
	echo "the reason the baseline run printed."
	echo
	echo "| test | baseline | patched | note |"
	echo "|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} >"$md"
log "parity: $same same ($passes pass on both), $diff different -> ${md#"$KIT_ROOT"/}"
(( diff == 0 ))
