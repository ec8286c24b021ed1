#!/usr/bin/env bash
# kit/bench.sh [PLAN]
#
# 'make bench': what a host interrupt or NMI that hits a running guest
# costs, baseline vs patched, in one run.  Boots the baseline and then the
# patched kernel on the vmx lane (Bochs, 2 CPUs) with PLAN
# (tests/plans/bench.plan): the same exit_bench binary, built from the
# patched tree's selftest library, runs on both.  Then kit/bench/table.py
# makes the table: printed, and written to build/results/bench.md (the
# committed copy is bench/results.md; tests/plans/bench-noflush.plan runs
# it with the L1D flush off on both kernels, to show the dispatch alone).
#
# BENCH_KERNELS=probe runs it on the kernels with the kit's NMI probe
# (7.3 and the series, each + tests/broken/nmi-probe*.patch, built in their
# own worktrees): tests/plans/bench-nmi.plan takes the NMIs from the
# probe, whose handler is short, so that the NMI dispatch shows ('make
# bench-nmi').  The probe adds the same two calls to x86_entry_from_kvm()
# on both kernels.  The table goes to $RESULTS/PLANNAME.md.
#
# BENCH_KERNELS=experiment EXPERIMENT=NAME runs plain 7.3 against the
# series plus experiments/NAME.patch (a change not in the series, never
# mailed; its own worktree and build): 'make bench-experiment
# EXPERIMENT=NAME'.
#
# BENCH_LANE=fred runs it on the fred lane (the kit's FRED Bochs, or a
# real FRED CPU): the figures only, as that Bochs has no debugger for the
# breakdown; the table is then $RESULTS/PLANNAME-fred.md.
#
# Fails only when the benchmark did not produce figures (a lane that did
# not run, a kind without samples); never on the figures themselves.
. "$(dirname "$0")/lib.sh"

plan=${1:-$PLANS/bench.plan}
[ -f "$plan" ] || die "no plan $plan"
pname=$(basename "$plan" .plan)
case ${BENCH_KERNELS:-plain} in
plain) kbase=base kpatched=patched ;;
probe) kbase=$(probe_kernel base) kpatched=$(probe_kernel patched) ;;
experiment)
	xpatch=$KIT_ROOT/experiments/${EXPERIMENT:-}.patch
	[ -n "${EXPERIMENT:-}" ] && [ -f "$xpatch" ] ||
		die "BENCH_KERNELS=experiment needs EXPERIMENT=NAME, one of: $(cd "$KIT_ROOT/experiments" && ls -- *.patch | sed 's/\.patch$//' | tr '\n' ' ')"
	patched_worktree "$EXPERIMENT_SRC" "$(git -C "$TREE" rev-parse HEAD)" "$xpatch"
	bash "$KIT_ROOT/kit/build.sh" experiment x86_64
	kbase=base kpatched=experiment ;;
*) die "BENCH_KERNELS=$BENCH_KERNELS: plain, probe or experiment" ;;
esac
# 2 CPUs: the vCPU on CPU 1, the events sent from CPU 0.  With
# KIT_BOCHS_CPUS=1 only the timer kind runs (the others say SKIP).
export KIT_BOCHS_CPUS=${KIT_BOCHS_CPUS:-2} KIT_SELFTESTS_FROM=patched
# The breakdown drives Bochs' internal debugger, which the kit's own build
# leaves out: the idt lane's benchmark runs on Debian's Bochs 2.7.
lane=${BENCH_LANE:-idt}
case $lane in
idt) export KIT_VMX_HOST=bochs-2.7 out=$pname ;;
fred) export KIT_VMX_LANE=fred; out=$pname-fred ;;
*) die "BENCH_LANE=$lane: idt or fred" ;;
esac
# An experiment's table and logs carry its name: PLANNAME-EXPERIMENT.md.
[ "$kpatched" != experiment ] || out+=-$EXPERIMENT

# Two runs per kernel: a plain one for the figures, and one under Bochs'
# debugger with breakpoints for the split into handler and the rest (a
# stop ends a CPU's round early, which shifts the tick counts a little, so
# the headline figures come from the undisturbed run).
# Where the vmx lane leaves a run of VARIANT with the patched tree's programs.
lane_result() { vmx_result "$lane" "$1" patched x86_64 "$plan"; }
rc=0
for which in base patched; do
	v=$kbase; [ "$which" = base ] || v=$kpatched
	bash "$KIT_ROOT/kit/lane-vmx.sh" "$v" "$plan" || rc=$?
	(( rc != 2 )) || die "vmx lane could not run Bochs ($v kernel): no figures"
	cp "$(lane_result "$v").log" "$RESULTS/$out-$which.log"
	[ "$lane" = idt ] || continue
	stops=$RESULTS/$out-$which.stops
	split=$RESULTS/$out-$which.breakdown.json
	# Bochs' debugger now and then skips a stop, and which ones varies from
	# run to run (runs are not bit-identical: the guest's RDRAND seeds, stack
	# randomization).  An exit with a skipped stop of its handler is left
	# out; if that leaves a kind with none, try again (twice at most).
	for try in 1 2 3; do
		KIT_BOCHS_DRIVER="python3 $KIT_ROOT/kit/bench/bochs_breakdown.py drive --obj $(out_dir "$v" "${KIT_CONFIG:-x86_64}") --out $stops --" \
			bash "$KIT_ROOT/kit/lane-vmx.sh" "$v" "$plan" || rc=$?
		python3 "$KIT_ROOT/kit/bench/bochs_breakdown.py" analyze --json \
			--cpu $(( KIT_BOCHS_CPUS > 1 ? 1 : 0 )) "$stops" >"$split" ||
			warn "no breakdown for the $v kernel (see $stops)"
		empty=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(k for k, v in sorted(d.items()) if not v["exits"]))' "$split" 2>/dev/null || echo '?')
		[ -n "$empty" ] || break
		warn "breakdown, $v kernel, try $try: no complete exit of: $empty"
	done
done
base_log=$RESULTS/$out-base.log
patched_log=$RESULTS/$out-patched.log

# The setup, for the results file.
npatches=0
for f in "$SERIES"/*.patch; do
	case $f in */0000-*|*'*'*) ;; *) npatches=$((npatches + 1)) ;; esac
done
base_tap=$(lane_result "$kbase").tap
host=$(sed -n 's/^# host: [^:]*: //p' "$base_tap" | head -n 1)
setup="Measured by \`kit/bench.sh\` ($pname, ${BENCH_KERNELS:-plain} kernels) on $(date -u +%Y-%m-%d) ($(git -C "$KIT_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')).

- Host: ${host:-?} ($lane lane); \`clock: sync=none\`, fixed \`time0\`.
- Workload: kit/bench/exit_bench.c (guest on CPU 1 spinning on RDTSC with IF=1,
  events sent from CPU 0); $(grep -a -m1 -o 'exit_bench: threshold=[0-9]*' "$patched_log" | sed 's/exit_bench: //') (gaps below it are not exits).
- Figures: the guest's TSC gap per exit (last guest instruction before the VM exit
  to the first after the next VM entry). On Bochs one TSC tick is one executed
  instruction (bench/README.md); on a real CPU they are cycles.
- Baseline: $(grep -a -m1 -o 'KIT-BEGIN kernel=[^ ]*' "$base_log" | sed 's/.*=//') at tag \`base\`;
  patched: the same with series/ ($npatches patches).
- Plan: tests/plans/$pname.plan$(sed -n 's/^#!cmdline \(.*\)/ (kernel arguments: \1)/p' "$plan" | head -n 1).
"
[ "$kpatched" != experiment ] || setup+="- Patched is the series plus experiments/$EXPERIMENT.patch (not in the series).
"
[ "$kbase" = base ] || setup+="- Both kernels carry the kit's NMI probe (tests/broken/nmi-probe*.patch): the NMI
  source, and two calls in x86_entry_from_kvm() on each.
"
split=()
[ "$lane" = fred ] || split=(--breakdown "$RESULTS/$out-base.breakdown.json" "$RESULTS/$out-patched.breakdown.json")
python3 "$KIT_ROOT/kit/bench/table.py" "$base_log" "$patched_log" "${split[@]}" \
	--setup "$setup" --md "$RESULTS/$out.md" || die "no figures (see the logs ${base_log#"$KIT_ROOT"/} and ${patched_log#"$KIT_ROOT"/})"
log "bench: table in ${RESULTS#"$KIT_ROOT"/}/$out.md (committed copy: bench/results.md)"
(( rc == 0 )) || warn "a vmx lane reported failures (rc=$rc): see build/results/vmx-*-$pname.tap"
exit 0
