#!/usr/bin/env bash
# kit/soak.sh: guests on every CPU while the host takes a storm of timer,
# IPI, device and NMI events (kit/probe/soak), on plain 7.3 and on the
# series, each on the idt and the fred lane, in one run.
#
#   SOAK_DURATION   seconds of guest time per run (default 20; DURATION= on
#                   the make command line)
#   SOAK_KERNELS    "base patched" (default): which kernels
#   SOAK_LANES      "idt fred" (default)
#
# Each kernel is the tree (patched) or 'base' plus the kit's NMI probe
# (tests/broken/nmi-probe.patch, nmi-probe-base.patch on 7.3: the NMI
# source), built in its own worktree ($BUILD/probe*/); the Bochs host gets
# a second UART for the device interrupts (tests/plans/soak.plan).  Each run
# passes when the program's counts agree and the console is clean (the
# lane's dmesg-clean check).  Writes $RESULTS/soak.md (the figures) and
# $RESULTS/soak.tap; exit 0 iff every run passed.
. "$(dirname "$0")/lib.sh"

duration=${SOAK_DURATION:-20}
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "SOAK_DURATION/DURATION=$duration: a whole number of seconds"
kernels=${SOAK_KERNELS:-base patched}
lanes=${SOAK_LANES:-idt fred}
for k in $kernels; do case $k in base | patched) ;; *) die "SOAK_KERNELS: base and/or patched, not '$k'" ;; esac; done
for l in $lanes; do case $l in idt | fred) ;; *) die "SOAK_LANES: idt and/or fred, not '$l'" ;; esac; done
git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree at $TREE: run 'make tree' first"

# The plan with this run's duration (its name, soak, names the results).
mkdir -p "$BUILD/soak"
plan=$BUILD/soak/soak.plan
sed "s/^probe\/soak .*/probe\/soak $duration/; s/^#!timeout .*/#!timeout $((duration * 3 + 120))/" \
	"$PLANS/soak.plan" >"$plan"

tap=$RESULTS/soak.tap
md=$RESULTS/soak.md
taps=()
for k in $kernels; do
	v=$(probe_kernel "$k")
	for l in $lanes; do
		# Host seconds: boot, and the soak at Bochs' pace (~6 host s per
		# guest s with two busy CPUs), with room.
		KIT_VMX_LANE=$l KIT_SELFTESTS_FROM=patched KIT_VMX_TIMEOUT=$((600 + duration * 15)) \
			bash "$KIT_ROOT/kit/lane-vmx.sh" "$v" "$plan" || true
		t=$(vmx_result "$l" "$v" patched x86_64 "$plan").tap
		taps+=("$k $l $t")
	done
done

# The figures of each run, from its console's KIT-SOAK lines.
fig() {	# fig LOG KIND FIELD
	sed -n "s/.*KIT-SOAK kind=$2 .*\\b$3=\\([0-9.]*\\).*/\\1/p" "$1" | tr -d '\r' | head -n 1
}
tap_begin "$tap"
{
	echo "# make soak: ${duration} s of guest time per run ($(date -u +%Y-%m-%d))"
	echo
	echo "Guests on every CPU; the host takes timer, IPI, device (ttyS1) and NMI (probe)"
	echo "events at once.  sent / handled on the host (/proc/interrupts or the probe) /"
	echo "IRQ exits of the vCPUs.  'lost' is what was sent and not handled: must be 0."
	echo
	echo "| kernel | lane | result | guest s | timer due/handled/LOC | IPI calls/CAL | device bytes/IRQs | NMI sent/handled/via exit | all IRQs | IRQ exits | lost |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
} >"$md"
for e in "${taps[@]}"; do
	read -r k l t <<<"$e"
	logf=${t%.tap}.log
	if [ ! -f "$t" ]; then
		tap_add "$tap" fail "soak: $k $l" 0 "no result (the lane did not run)"
		echo "| $k | $l | no run | | | | | | | | |" >>"$md"
		continue
	fi
	bad=$(grep -E '^not ok ' "$t" | head -n 1 | cut -c1-120 || true)
	res=pass; [ -z "$bad" ] || res=FAIL
	grep -qE '^ok [0-9]+ probe/soak( |$)' "$t" && ! grep -qE '^ok [0-9]+ probe/soak # SKIP' "$t" ||
		{ res=FAIL; bad=${bad:-probe/soak did not run}; }
	td=$(fig "$logf" timer sent) th=$(fig "$logf" timer handled) tl=$(fig "$logf" timer irqs)
	ic=$(fig "$logf" ipi sent) ii=$(fig "$logf" ipi irqs)
	db=$(fig "$logf" device sent) di=$(fig "$logf" device irqs)
	ns=$(fig "$logf" nmi sent) nh=$(fig "$logf" nmi handled) nk=$(fig "$logf" nmi via_kvm)
	secs=$(fig "$logf" all seconds) ai=$(fig "$logf" all irqs) ae=$(fig "$logf" all irq_exits)
	lost=$(( ${ns:-0} - ${nh:-0} ))
	echo "| $k | $l | $res | ${secs:-?} | ${td:-?}/${th:-?}/${tl:-?} | ${ic:-?}/${ii:-?} | ${db:-?}/${di:-?} | ${ns:-?}/${nh:-?}/${nk:-?} | ${ai:-?} | ${ae:-?} | $lost |" >>"$md"
	if [ "$res" = pass ]; then
		tap_add "$tap" pass "soak: $k $l" "${secs%.*}" "timer ${th}, IPI ${ic}, device ${db}, NMI ${nh} (${nk} via exits), ${ae} IRQ exits"
	else
		tap_add "$tap" fail "soak: $k $l" "${secs%.*}" "$bad"
	fi
done
cat "$md"
tap_finish "$tap" soak
