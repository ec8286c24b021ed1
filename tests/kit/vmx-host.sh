#!/usr/bin/env bash
# tests/kit/vmx-host.sh: the kit's choice of Intel host for the vmx lanes
# (vmx_host in kit/lib.sh, kit/lane-vmx.sh), on made-up machines: an AMD
# one, Intel ones with and without VMX, nesting or FRED.  Checks the
# choice and its reason, the error for a forced host that cannot run, the
# launch line (KIT_VMX_DRYRUN) and the judging of a console log that names
# a real CPU.  QEMU/KVM itself is not started: that needs a real Intel
# host.  Writes $RESULTS/kit.tap; exit 0 iff all pass.
. "$(dirname "$0")/../../kit/lib.sh"

tap=$RESULTS/kit.tap
tap_begin "$tap"
fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT

# A machine: cpuinfo with VENDOR and FLAGS, /dev/kvm (a writable file
# stands in), kvm_intel's nested parameter.
machine() {	# machine VENDOR FLAGS NESTED [CPUS]
	local vendor=$1 flags=$2 nested=$3 cpus=${4:-1} i
	for ((i = 0; i < cpus; i++)); do
		printf 'processor\t: %d\nvendor_id\t: %s\nmodel name\t: Made-up %s CPU\nflags\t\t: fpu %s\n' \
			"$i" "$vendor" "$vendor" "$flags"
		# A real entry's other lines: a big host's cpuinfo is hundreds of KiB.
		printf 'bugs\t\t: %s\n\n' "$(printf 'spectre_v%d ' $(seq 1 40))"
	done >"$fake/cpuinfo"
	: >"$fake/kvm"
	echo "$nested" >"$fake/nested"
	export KIT_HOST_CPUINFO=$fake/cpuinfo KIT_HOST_KVM_DEV=$fake/kvm KIT_HOST_KVM_NESTED=$fake/nested
}
check() {	# check NAME EXPECTED-HOST EXPECTED-STDERR-REGEX LANE [ENV...]
	local name=$1 want=$2 re=$3 lane=$4 got err rc=0
	shift 4
	got=$(env "$@" bash -c '. "$0"/kit/lib.sh; vmx_host "$1"' "$KIT_ROOT" "$lane" 2>"$fake/err") || rc=$?
	err=$(cat "$fake/err")
	if [ "$got" = "$want" ] && [[ $err =~ $re ]] && { [ -n "$want" ] || (( rc != 0 )); }; then
		tap_add "$tap" pass "vmx-host: $name" 0 "-> ${got:-error}${err:+: $(head -n 1 <<<"$err" | cut -c1-90)}"
	else
		tap_add "$tap" fail "vmx-host: $name" 0 "got '${got}' rc=$rc stderr '$err', want '$want' /$re/"
	fi
}

machine AuthenticAMD "svm" Y
check "AMD: Bochs, says why" bochs 'not Intel \(AuthenticAMD' idt
machine GenuineIntel "vmx" Y
check "Intel, VMX, nested: QEMU/KVM for the idt lane" qemu-kvm '^$' idt
check "Intel without FRED: Bochs for the fred lane" bochs 'has no FRED' fred
machine GenuineIntel "vmx fred" Y
check "Intel with FRED: QEMU/KVM for the fred lane" qemu-kvm '^$' fred
# A 512-CPU host: its cpuinfo is read to the end, whatever the pipe does.
machine GenuineIntel "vmx fred" Y 512
check "Intel with FRED, 512 CPUs: QEMU/KVM for the fred lane" qemu-kvm '^$' fred
machine GenuineIntel "vmx" N
check "Intel, nesting off: Bochs, says how to turn it on" bochs 'nested=1' idt
machine GenuineIntel "sse" Y
check "Intel without VMX: Bochs" bochs 'no VMX' idt
machine GenuineIntel "vmx" Y
rm -f "$fake/kvm"
check "no /dev/kvm: Bochs" bochs 'no usable' idt
machine AuthenticAMD "svm" Y
check "forced qemu-kvm on AMD: one error" '' 'error: KIT_VMX_HOST=qemu-kvm: the CPU is not Intel' idt KIT_VMX_HOST=qemu-kvm
check "forced bochs-2.7 on the fred lane: error" '' 'no FRED model' fred KIT_VMX_HOST=bochs-2.7
check "unknown host: error" '' 'auto, bochs, bochs-fred' idt KIT_VMX_HOST=vbox
check "forced bochs on a usable Intel host" bochs '^$' idt KIT_VMX_HOST=bochs

# The launch lines (needs the patched kernel: skipped without it).
kernel=$(out_dir patched x86_64)/arch/x86/boot/bzImage
plan=$PLANS/vmx-smoke.plan
dry() { env "$@" KIT_VMX_DRYRUN=1 bash "$KIT_ROOT/kit/lane-vmx.sh" patched "$plan" 2>"$fake/err"; }
if [ ! -f "$kernel" ]; then
	tap_add "$tap" skip "vmx-host: launch lines" 0 "no $kernel ('make build')"
else
	machine GenuineIntel "vmx fred" Y
	out=$(dry KIT_VMX_LANE=idt) || true
	if grep -q -- '-accel kvm -cpu host' <<<"$out" && grep -q -- "-kernel $kernel" <<<"$out" &&
	   grep -q 'fred=off' <<<"$out" && grep -q 'host: qemu-kvm: Made-up GenuineIntel CPU (KVM' <<<"$out"; then
		tap_add "$tap" pass "vmx-host: qemu-kvm idt launch line (-cpu host, fred=off)" 0
	else
		tap_add "$tap" fail "vmx-host: qemu-kvm idt launch line" 0 "$(tail -n 3 <<<"$out$(cat "$fake/err")" | tr '\n' ' ' | cut -c1-200)"
	fi
	out=$(dry KIT_VMX_LANE=fred) || true
	if grep -q -- '-accel kvm' <<<"$out" && ! grep -q 'fred=off' <<<"$out" &&
	   grep -q "tap: ${RESULTS#"$KIT_ROOT"/}/vmx-fred-patched-vmx-smoke.tap" <<<"$out"; then
		tap_add "$tap" pass "vmx-host: qemu-kvm fred launch line" 0
	else
		tap_add "$tap" fail "vmx-host: qemu-kvm fred launch line" 0 "$(tail -n 3 <<<"$out" | tr '\n' ' ' | cut -c1-200)"
	fi
	machine AuthenticAMD "svm" Y
	out=$(dry KIT_VMX_LANE=fred) || true
	if grep -q 'bochsrc: cpu: model=wildcat_lake,.*cpuid_freq=ips' <<<"$out" &&
	   grep -q 'enable_apicv=0' <<<"$out" && grep -q '/obj/bochs -q -f bochsrc' <<<"$out"; then
		tap_add "$tap" pass "vmx-host: bochs fred lane: wildcat_lake, cpuid_freq=ips, the kit's Bochs" 0
	else
		tap_add "$tap" fail "vmx-host: bochs fred lane launch" 0 "$(grep -m2 -E 'model=|bochs' <<<"$out" | tr '\n' ' ' | cut -c1-200)"
	fi
fi

# Judging a console log from a real CPU: the host line names it, FRED on
# the fred lane is required.  A made-up run in a scratch build dir.
judge() {	# judge LANE KIT-CPU-LINE
	local b=$fake/build name=vmx-patched-empty
	[ "$1" = idt ] || name=vmx-$1-patched-empty
	mkdir -p "$b/obj-x86_64/arch/x86/boot" "$b/results" "$b/linux/tools/testing/selftests/kvm"
	: >"$b/obj-x86_64/arch/x86/boot/bzImage"
	printf 'KIT-BEGIN kernel=7.3.4 cpus=2\n%s\nKIT-KVM ok\nKIT-DMESG-CLEAN\nKIT-END uptime=1\n' "$2" >"$b/results/$name.log"
	: >"$b/results/$name.times"
	echo "10 0 0 qemu-kvm: Made-up CPU (KVM, nested VMX) x2, FRED on" >"$b/results/$name.run"
	printf '#!require-kvm\n' >"$fake/empty.plan"
	BUILD_DIR=$b KIT_VMX_HOST=qemu-kvm KIT_VMX_LANE=$1 KIT_VMX_PARSE_ONLY=1 \
		bash "$KIT_ROOT/kit/lane-vmx.sh" patched "$fake/empty.plan" >/dev/null 2>&1 || true
	grep -E '^(not )?ok [0-9]+ host|^# host:' "$b/results/$name.tap" 2>/dev/null | tr '\n' ' ' || true
}
machine GenuineIntel "vmx fred" Y
got=$(judge fred 'KIT-CPU fred=on ibt=on vmx=on hypervisor=on model=Made-up CPU')
if [[ $got == *"# host: qemu-kvm: Made-up CPU (KVM, nested VMX) x2, FRED on"* &&
      $got == *" ok "[0-9]*" host # FRED on, kernel IBT on"* ]]; then
	tap_add "$tap" pass "vmx-host: a real CPU's log: host line names it, FRED on passes" 0
else
	tap_add "$tap" fail "vmx-host: a real CPU's log, FRED on" 0 "${got:-no TAP}"
fi
got=$(judge fred 'KIT-CPU fred=off ibt=off vmx=on hypervisor=on model=Made-up CPU')
if [[ $got == *"not ok "[0-9]*" host # the fred lane needs FRED on"* ]]; then
	tap_add "$tap" pass "vmx-host: fred lane on a kernel without FRED fails" 0
else
	tap_add "$tap" fail "vmx-host: fred lane on a kernel without FRED" 0 "${got:-no TAP}"
fi

# The result names every target reads a lane's TAP by (vmx_result): the
# lane writes them, debug, soak, broken, bench, parity, red and vectoring
# read them, so a change here must show in each.
names_ok=1 names_bad=""
while read -r want args; do
	# shellcheck disable=SC2086 # ARGS are words
	got=$(vmx_result $args); got=${got#"$RESULTS"/}
	[ "$got" = "$want" ] || { names_ok=0; names_bad+=" [$args] -> $got, want $want;"; }
done <<'EOF'
vmx-patched-vmx-check idt patched patched x86_64 tests/plans/vmx-check.plan
vmx-fred-patched-vmx-check fred patched patched x86_64 vmx-check
vmx-base-tests-patched-vmx-check idt base patched x86_64 vmx-check
vmx-fred-base-tests-patched-x86_64-debug-vmx-check fred base patched x86_64-debug vmx-check
vmx-broken-tests-patched-x86_64-cfi-vmx-check idt broken patched x86_64-cfi vmx-check.plan
vmx-fred-probe-tests-patched-soak fred probe patched x86_64 soak
vmx-tests-vmx-check idt tests tests x86_64 vmx-check
vmx-fred-patched-emu-bochs-unpatched fred patched patched x86_64 emu unpatched
EOF
if (( names_ok )); then
	tap_add "$tap" pass "vmx-host: result names (vmx_result) for 8 lane/kernel/config/plan cases" 0
else
	tap_add "$tap" fail "vmx-host: result names (vmx_result)" 0 "$names_bad"
fi
tap_end "$tap"
log "kit: $(grep -c '^ok ' "$tap" || true) ok, $(grep -c '^not ok ' "$tap" || true) not ok -> ${tap#"$KIT_ROOT"/}"
grep '^not ok ' "$tap" >&2 || exit 0
exit 1
