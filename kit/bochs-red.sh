#!/usr/bin/env bash
# kit/bochs-red.sh: the emulator's fixes are needed.
#
# Boots the patched kernel on the kit's Bochs built without
# kit/bochs/patches/ ('kit/bochs.sh unpatched'), on each lane that
# tests/red-on-bochs.txt names, with tests/plans/emu.plan, and judges each
# line there: the test must fail with an assertion (a boot failure, hang or
# skip does not count; a lane that does not boot is tried again at other
# instruction rates, KIT_BOCHS_RED_IPS).  The same tests pass on the patched Bochs in
# 'make check' (vmx-check.plan).  Writes $RESULTS/bochs-red.tap; exit 0
# iff every listed test is red there.
. "$(dirname "$0")/lib.sh"

expect=$KIT_ROOT/tests/red-on-bochs.txt
plan=$KIT_ROOT/tests/plans/emu.plan
tap=$RESULTS/bochs-red.tap
mkdir -p "$RESULTS"

"$KIT_ROOT/kit/bochs.sh" unpatched >/dev/null
declare -A ran=()
results=()
while read -r lane t args; do
	case $lane in '' | '#'*) continue ;; idt | fred) ;; *) die "${expect#"$KIT_ROOT"/}: lane '$lane' (idt or fred)" ;; esac
	vtap=$(vmx_result "$lane" patched patched x86_64 "$plan" unpatched).tap
	if [ -z "${ran[$lane $args]:-}" ]; then
		# The unpatched emulator can hang the kernel at boot (an
		# interrupt nested where it corrupts state): a boot failure
		# proves nothing about the test, so try other instruction
		# rates, which move the interrupts elsewhere in the boot.
		for ips in ${KIT_BOCHS_RED_IPS:-50000000 40000000 60000000}; do
			KIT_BOCHS_IPS=$ips KIT_VMX_TIMEOUT=${KIT_VMX_TIMEOUT:-180} \
			KIT_VMX_BOOT_TIMEOUT=${KIT_VMX_BOOT_TIMEOUT:-60} \
			KIT_VMX_HOST=bochs KIT_VMX_LANE=$lane KIT_BOCHS_FLAVOUR=unpatched KIT_KERNEL_EXTRA="$args" \
				bash "$KIT_ROOT/kit/lane-vmx.sh" patched "$plan" || true
			grep -q '^ok [0-9]* boot' "$vtap" 2>/dev/null && break
			warn "bochs-red: the $lane lane did not boot on the unpatched Bochs at ips=$ips"
		done
		ran[$lane $args]=1
	fi
	results+=("$lane|$t|$vtap")
done <"$expect"

tap_begin "$tap"
for r in "${results[@]}"; do
	IFS='|' read -r lane t vtap <<<"$r"
	if ! grep -q '^ok [0-9]* boot' "$vtap" 2>/dev/null; then
		tap_add "$tap" fail "red:$lane:$t" 0 "the $lane lane did not boot on the unpatched Bochs: cannot judge"
		continue
	fi
	tap_expect_red "$tap" "red:$lane:$t" "$vtap" "$t" "on the unpatched Bochs"
done
tap_finish "$tap" bochs-red
