#!/usr/bin/env bash
# kit/debug.sh [CONFIG [KERNEL...]]
#
# Debug kernels on both vmx lanes.  CONFIG is x86_64-debug (default;
# configs/debug.config: lockdep, entry, atomic-sleep, RCU and debug-objects
# checks) or another config with a debug fragment (x86_64-cfi, ...).  Each
# KERNEL (default: base patched) is built with CONFIG and booted on the idt
# and the fred lane with the check plan.  Plain 7.3 goes first: what it
# prints (splat_sigs in kit/lib.sh) is written to
# $RESULTS/debug-CONFIG-LANE.splats, and the patched lane's dmesg-clean
# records those splats in a note instead of failing on them
# (KIT_KNOWN_SPLATS); any other splat fails it.  Results: the lanes' TAPs,
# $RESULTS/debug-CONFIG.md (lane x kernel, result, splats) and the verdict
# over the patched lanes (7.3's own test results are shown, not judged:
# it lacks the series' tests).
. "$(dirname "$0")/lib.sh"

cfg=${1:-x86_64-debug}
shift || true
kernels=${*:-base patched}
for k in $kernels; do
	case $k in base|patched) ;; *) die "kernel '$k': base or patched" ;; esac
done
# base before patched, whatever the order given
order=""
[[ " $kernels " == *" base "* ]] && order+=" base"
[[ " $kernels " == *" patched "* ]] && order+=" patched"

plan=$PLANS/vmx-check.plan
# KASAN slows the guest's programs enough that set_memory_region_test runs
# past the plan's per-test limit (240 s of guest time) on 7.3 and the
# series alike: its runs get the time limits tripled (KIT_VMX_TIME_SCALE,
# kit/lane-vmx.sh; set it to choose another factor).
[ "$cfg" != x86_64-kasan ] || export KIT_VMX_TIME_SCALE=${KIT_VMX_TIME_SCALE:-3}
for k in $order; do
	bash "$KIT_ROOT/kit/build.sh" "$k" "$cfg"
done
md=$RESULTS/debug-$cfg.md
mkdir -p "$RESULTS"
{
	echo "# Debug kernels: $cfg"
	echo
	echo "| lane | kernel | ok | not ok | splats (normalised; '7.3 too' = plain 7.3 printed it as well) |"
	echo "|---|---|---|---|---|"
} >"$md.new"
taps=() lanes=()
for k in $order; do
	for lane in idt fred; do
		splats=$RESULTS/debug-$cfg-$lane.splats
		known=""
		if [ "$k" = patched ]; then
			if [ -f "$splats" ]; then
				known=$splats
			else
				log "debug: no $splats (run base first): every splat of $lane/patched is blamed"
			fi
		fi
		KIT_CONFIG=$cfg KIT_VMX_LANE=$lane KIT_SELFTESTS_FROM=patched KIT_KNOWN_SPLATS=$known \
			bash "$KIT_ROOT/kit/lane-vmx.sh" "$k" "$plan" || true
		t=$(vmx_result "$lane" "$k" patched "$cfg" "$plan"); t=${t##*/}
		[ -f "$RESULTS/$t.tap" ] || die "lane $lane/$k left no $RESULTS/$t.tap"
		sigs=$(splat_sigs "$RESULTS/$t.log")
		[ "$k" = base ] && printf '%s\n' "$sigs" | sed '/^$/d' >"$splats"
		cell=""
		while IFS= read -r sg; do
			[ -n "$sg" ] || continue
			mark=""
			[ -n "$known" ] && grep -q -x -F -e "$sg" "$known" && mark=" (7.3 too)"
			cell+="${cell:+<br>}\`${sg//|/\\|}\`$mark"
		done <<<"$sigs"
		nok=$(grep -c '^ok ' "$RESULTS/$t.tap" || true)
		nnot=$(grep -c '^not ok ' "$RESULTS/$t.tap" || true)
		notok=$(sed -n 's/^not ok [0-9]* \([^ #]*\).*/\1/p' "$RESULTS/$t.tap" | paste -s -d, -)
		printf '| %s | %s | %s | %s | %s |\n' "$lane" "$k" "$nok" "$nnot${notok:+ ($notok)}" \
			"${cell:-none}" >>"$md.new"
		if [ "$k" = patched ]; then
			taps+=("$RESULTS/$t.tap") lanes+=("$t")
		else
			log "debug: 7.3 on $lane (shown, not judged): $nok ok, $nnot not ok, $(wc -l <"$splats") splat(s) -> ${splats#"$KIT_ROOT"/}"
		fi
	done
done
mv "$md.new" "$md"
log "debug: ${md#"$KIT_ROOT"/}"
(( ${#taps[@]} )) || exit 0
REQUIRED_LANES="${lanes[*]}" bash "$KIT_ROOT/kit/summary.sh" "${taps[@]}"
