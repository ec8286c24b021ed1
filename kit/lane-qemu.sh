#!/usr/bin/env bash
# kit/lane-qemu.sh VARIANT
#
# The fast non-VMX lane: boot the VARIANT (base|patched) x86_64 kernel in
# QEMU with the kunit plan's initramfs and judge
#   kunit:<suite>  every KUnit suite that ran at boot (its KTAP result), and
#                  every suite expected from configs/tests.config (via
#                  tests/kunit-suites.txt) that the .config has: missing =
#                  fail; a symbol the .config lacks = skip (a comment if
#                  the tree does not define it at all)
#   boot           /init started (KIT-BEGIN)
#   kit-end        /init finished (KIT-END: no hang, no crash)
#   dmesg-clean    no WARNING/BUG/Oops/lockdep/KASAN/panic on the console
# Output: $RESULTS/qemu-VARIANT[-CONFIG].tap and .log (the console).  Exit 0 iff
# the TAP has no 'not ok'.
#
# Env knobs:
#   KIT_QEMU_ACCEL     auto (default: try KVM, fall back to TCG) | kvm | tcg
#   KIT_QEMU_TIMEOUT   host-side limit of the run, seconds (120)
#   KIT_KERNEL_EXTRA   appended to the kernel command line
#   KIT_CONFIG         kernel config name (x86_64)
#   KIT_QEMU_PARSE_ONLY=1  do not run: judge the last run's log again
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: lane-qemu.sh base|patched}
cfg=${KIT_CONFIG:-x86_64}
obj=$(out_dir "$variant" "$cfg")
kernel=$obj/arch/x86/boot/bzImage
[ -f "$kernel" ] || die "no kernel $kernel: run make build"
[ -f "$obj/.config" ] || die "no $obj/.config"
ensure_pkgs "${PKGS_QEMU[@]}" "${PKGS_INITRAMFS[@]}"

plan=$PLANS/kunit.plan
# The config joins the names when it is not the default one; an i386
# kernel gets an i386 user space.
ctag=$variant; [ "$cfg" = x86_64 ] || ctag=$variant-$cfg
iarch=x86_64; [ "$cfg" = i386 ] && iarch=i386
initrd=$BUILD/initramfs/kunit-$ctag.cpio.lz4
KIT_VARIANT=$variant KIT_INITRAMFS_ARCH=$iarch "$KIT_ROOT/kit/initramfs.sh" "$initrd" "$plan"

name=qemu-$ctag
tap=$RESULTS/$name.tap
logf=$RESULTS/$name.log
mkdir -p "$RESULTS"
cmdline="console=ttyS0 panic=-1 ${KIT_KERNEL_EXTRA:-}"
accel=${KIT_QEMU_ACCEL:-auto}
tmo=${KIT_QEMU_TIMEOUT:-120}

# The machine; the console (and QEMU's messages) go to the log.
qemu=(qemu-system-x86_64 -smp 2 -m 1024 -nographic -no-reboot
      -kernel "$kernel" -initrd "$initrd" -append "$cmdline")

used=
note=
rc=0 start=$SECONDS
if [ -n "${KIT_QEMU_PARSE_ONLY:-}" ]; then
	# Judge the last run's console again (to work on this script).
	[ -f "$logf" ] || die "KIT_QEMU_PARSE_ONLY: no $logf"
	accel=parse-only used=parse-only
fi
# KVM acceleration: known not to work on a nested AMD host (QEMU aborts
# with "failed to set MSR 0x10a", or the guest hangs right after the BIOS).
# Give the kernel 6 s to print its banner; accept KVM only if it does.
if [ "$accel" != tcg ] && [ "$accel" != parse-only ]; then
	if [ -w /dev/kvm ]; then
		log "qemu/$variant: trying -accel kvm"
		start=$SECONDS
		timeout -k 5 "$tmo" "${qemu[@]}" -accel kvm -cpu host </dev/null >"$logf" 2>&1 &
		qpid=$!   # timeout's: it passes a TERM on to QEMU
		while kill -0 "$qpid" 2>/dev/null && (( SECONDS - start < 6 )) &&
			! grep -q 'Linux version' "$logf"; do sleep 0.5; done
		if grep -q 'Linux version' "$logf"; then
			used=kvm
			rc=0; wait "$qpid" || rc=$?
		else
			kill "$qpid" 2>/dev/null || true
			rc=0; wait "$qpid" || rc=$?
			# Last message of QEMU, without the terminal escapes.
			msg=$(sed -E 's/\x1b(\[[0-9;?]*[a-zA-Z]|c)//g; s/\r//g' "$logf" | grep -v '^\s*$' |
				grep -v 'terminating on signal' | tail -n 1 | cut -c1-120 || true)
			note="kvm failed: no kernel banner within 6 s (exit $rc, last output: $msg)"
		fi
	else
		note="no usable /dev/kvm"
	fi
	[ -n "$used" ] || log "qemu/$variant: $note"
	[ -n "$used" ] || [ "$accel" = auto ] || die "KIT_QEMU_ACCEL=kvm but $note"
fi
if [ -z "$used" ]; then
	log "qemu/$variant: -accel tcg -cpu max (timeout ${tmo}s)"
	start=$SECONDS
	rc=0; timeout -k 5 "$tmo" "${qemu[@]}" -accel tcg -cpu max </dev/null >"$logf" 2>&1 || rc=$?
	used=tcg
fi
(( rc == 124 || rc == 137 )) && note="${note:+$note; }$used run timed out after ${tmo}s"
wall=$(( SECONDS - start ))
log "qemu/$variant: ran in ${wall}s with $used"

# The console without CRs and printk time stamps.
clean=$(tr -d '\r' <"$logf" | sed -E 's/^\[ *[0-9]+\.[0-9]+\] //')

# KTAP: top-level 'ok N suite' lines are the suites' results; indented
# 'not ok' lines name the failing cases of the suite in progress.
# Prints: <suite> pass|fail|skip <reason>
suites=$(printf '%s\n' "$clean" | awk '
	/^ *# Subtest: / { sub(/^ *# Subtest: /, ""); cur = $0; bad[cur] = ""; next }
	/^ +not ok [0-9]+ / { t = $4; if (cur != "") bad[cur] = bad[cur] " " t; next }
	/^(not )?ok [0-9]+ / {
		st = ($1 == "not") ? "fail" : "pass"; nm = (st == "fail") ? $4 : $3
		rest = $0; why = ""
		if (match(rest, /# SKIP.*/)) { st = "skip"; why = substr(rest, RSTART + 7) }
		if (st == "fail") why = "failed:" bad[nm]
		print nm, st, why
	}')

# Expected suites: tests.config symbols that are =y in the .config.
declare -A want=() lacking=()
unmapped=()
while read -r sym; do
	suites_of=$(awk -v s="$sym" '$1 == s { $1 = ""; print }' "$KUNIT_SUITES")
	if ! grep -qx "$sym=y" "$obj/.config"; then
		for s in ${suites_of:-$sym}; do lacking[$s]=$sym; done
	elif [ -z "$suites_of" ]; then
		unmapped+=("$sym")
	else
		for s in $suites_of; do want[$s]=$sym; done
	fi
done < <(grep -oE '^CONFIG_[A-Z0-9_]+_KUNIT_TEST=y' "$(config_frag tests)" | cut -d= -f1)

tap_begin "$tap"
echo "# lane: qemu $variant, kernel ${kernel#"$KIT_ROOT"/}, accel=$used${note:+ ($note)}" >>"$tap"
echo "# hostcol: QEMU-${used^^} (no VMX)" >>"$tap"
echo "# cmdline: $cmdline" >>"$tap"
declare -A seen=()
while read -r s st why; do
	[ -n "$s" ] || continue
	seen[$s]=1
	case $st in
	pass) tap_add "$tap" pass "kunit:$s" 0 ;;
	skip) tap_add "$tap" skip "kunit:$s" 0 "$why" ;;
	fail) tap_add "$tap" fail "kunit:$s" 0 "$why" ;;
	esac
done <<<"$suites"
for s in $(printf '%s\n' "${!want[@]}" | sort); do
	[ -n "${seen[$s]:-}" ] || tap_add "$tap" fail "kunit:$s" 0 "expected (${want[$s]}=y) but did not run"
done
# A symbol the tree's Kconfig does not define is not a test of this tree
# (the series' suite on the base, or the name a suite had before the
# series renamed it): a comment, not a skip.
src=$(src_dir "$variant")
for s in $(printf '%s\n' "${!lacking[@]}" | sort); do
	[ -z "${seen[$s]:-}" ] || continue
	if grep -rqsx --include='Kconfig*' "config ${lacking[$s]#CONFIG_}" "$src"; then
		tap_add "$tap" skip "kunit:$s" 0 "tree lacks ${lacking[$s]} (not =y in the .config)"
	else
		echo "# kunit:$s: this tree has no ${lacking[$s]}" >>"$tap"
	fi
done
for sym in "${unmapped[@]}"; do
	tap_add "$tap" fail "kunit:$sym" 0 "no suite name for $sym in ${KUNIT_SUITES#"$KIT_ROOT"/}"
done

if grep -q 'KIT-BEGIN' <<<"$clean"; then
	tap_add "$tap" pass boot "$wall"
else
	tap_add "$tap" fail boot "$wall" "no KIT-BEGIN on the console${note:+ ($note)}"
fi
if grep -q 'KIT-END' <<<"$clean"; then
	tap_add "$tap" pass kit-end "$wall"
else
	tap_add "$tap" fail kit-end "$wall" "no KIT-END: crash or hang${note:+ ($note)}"
fi
bad=$(grep -E "$BAD_CONSOLE" <<<"$clean" | head -n 1 || true)
if [ -z "$bad" ]; then
	tap_add "$tap" pass dmesg-clean 0
else
	tap_add "$tap" fail dmesg-clean 0 "$(cut -c1-120 <<<"$bad")"
fi
tap_end "$tap"

log "qemu/$variant: $(grep -c '^ok ' "$tap" || true) ok, $(grep -c '^not ok ' "$tap" || true) not ok -> ${tap#"$KIT_ROOT"/}"
grep '^not ok ' "$tap" >&2 || exit 0
exit 1
