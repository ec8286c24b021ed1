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
#
# kit/parity.sh --lanes [PLAN]: the same comparison between the idt and
# the fred lane, both on the patched kernel (build/results/lanes.md and
# lanes.tap): what the FRED host does differently.
. "$(dirname "$0")/lib.sh"

mode=kernels
if [ "${1:-}" = --lanes ]; then mode=lanes; shift; fi
plan=${1:-$PLANS/vmx-full.plan}
pname=$(basename "$plan" .plan)
if [ "$mode" = kernels ]; then
	btap=$(vmx_result idt base base x86_64 "$plan").tap
	ptap=$(vmx_result idt patched patched x86_64 "$plan").tap
	aname=baseline bname=patched out=parity
	title="Parity: upstream KVM selftests, baseline vs patched (vmx lane)"
else
	btap=$(vmx_result idt patched patched x86_64 "$plan").tap
	ptap=$(vmx_result fred patched patched x86_64 "$plan").tap
	aname="idt lane" bname="fred lane" out=lanes
	title="The idt and the fred lane: upstream KVM selftests on the patched kernel"
fi
if [ -z "${RESULTS_ONLY:-}" ]; then
	if [ "$mode" = kernels ]; then
		for v in base patched; do
			bash "$KIT_ROOT/kit/lane-vmx.sh" "$v" "$plan" || true
		done
	else
		for l in idt fred; do
			KIT_VMX_LANE=$l bash "$KIT_ROOT/kit/lane-vmx.sh" patched "$plan" || true
		done
	fi
fi
[ -f "$btap" ] && [ -f "$ptap" ] || die "no results of $pname for both runs ($btap, $ptap)"

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

tap=$RESULTS/$out.tap
md=$RESULTS/$out.md
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
		tap_add "$tap" fail "parity $t: $aname $br, $bname $pr" 0
		note="DIFFERS: $bname ${preason:0:90}"
	fi
	rows+=("| $t | $br | $pr | $note |")
done
tap_end "$tap"
{
	echo "# $title"
	echo
	echo "Plan: \`${plan#"$KIT_ROOT"/}\` (${#tests[@]} tests), results $(date -u +%Y-%m-%d)."
	echo "$aname: $(sed -n 's/^# lane: //p' "$btap"); host $(sed -n 's/^# host: //p' "$btap")."
	echo "$bname: $(sed -n 's/^# lane: //p' "$ptap"); host $(sed -n 's/^# host: //p' "$ptap")."
	echo
	echo "Same result on both: $same of ${#tests[@]} ($passes pass on both);"
	echo "different: $diff. Tests that fail or skip on both are limitations of"
	echo "the lane (the emulator, 2 CPUs, no posted interrupts, no PMU, ...), listed with"
	echo "the reason the first run printed."
	echo
	echo "| test | $aname | $bname | note |"
	echo "|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
} >"$md"
log "$out: $same same ($passes pass on both), $diff different -> ${md#"$KIT_ROOT"/}"
(( diff == 0 ))
