#!/usr/bin/env bash
# kit/debug.sh [VARIANT] [CONFIG]
#
# A debug kernel on both vmx lanes: builds VARIANT (patched, default, or
# base) with CONFIG (x86_64-debug: configs/debug.config, lockdep, entry,
# atomic-sleep, RCU and debug-objects checks), boots it on the idt and the
# fred lane with the check plan and prints the verdict.  A splat fails the
# lane's dmesg-clean result; run it on 'base' too to tell the series' splats
# from 7.3's.  Results: $RESULTS/vmx[-fred]-VARIANT-CONFIG-vmx-check.tap.
. "$(dirname "$0")/lib.sh"

variant=${1:-patched}
cfg=${2:-x86_64-debug}
plan=$PLANS/vmx-check.plan
pname=$(basename "$plan" .plan)
bash "$KIT_ROOT/kit/build.sh" "$variant" "$cfg"
stv=$variant; [ "$variant" = base ] && stv=patched
taps=() lanes=()
for lane in idt fred; do
	KIT_CONFIG=$cfg KIT_VMX_LANE=$lane KIT_SELFTESTS_FROM=$stv \
		bash "$KIT_ROOT/kit/lane-vmx.sh" "$variant" "$plan" || true
	t=vmx-$variant; [ "$stv" = "$variant" ] || t+=-tests-$stv
	t+=-$cfg-$pname
	[ "$lane" = idt ] || t=vmx-fred-${t#vmx-}
	taps+=("$RESULTS/$t.tap") lanes+=("$t")
done
REQUIRED_LANES="${lanes[*]}" bash "$KIT_ROOT/kit/summary.sh" "${taps[@]}"
