#!/usr/bin/env bash
# kit/selftests.sh VARIANT PLAN...
#
# Build the KVM selftests that the PLANs (tests/plans/*.plan) name, static,
# from the sources of VARIANT (base or patched), into
# $BUILD/selftests-VARIANT/<name> (e.g. .../x86/state_test).  Plan
# entries bench/<name> and emu/<name> are the kit's own programs
# (kit/bench/<name>.c, kit/emu/<name>.c), built against the same tree's
# selftest library (kit/progs.mk).
#   - the UAPI headers: 'make headers' (O=$out/hdr-obj, incremental), then
#     synced into $out/usr/include, which is what 'headers_install' makes;
#     the sync keeps unchanged headers' times, so nothing rebuilds needlessly
#   - the tests: the selftests' own Makefile with OUTPUT=$out, only the
#     named targets; static (LDFLAGS on the command line replaces the
#     Makefile's '-pthread -no-pie', so they are given again).
# Runs under 'nice'; do not run it while a kernel build runs on a small
# machine.
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: selftests.sh base|patched PLAN...}
shift
(( $# )) || die "usage: selftests.sh base|patched PLAN..."
src=$(src_dir "$variant")
out=$BUILD/selftests-$variant
kvm=$src/tools/testing/selftests/kvm
[ -d "$kvm" ] || die "no KVM selftests at $kvm (run 'make tree' first?)"

# The tests the plans name (first word of each non-comment line).
for p in "$@"; do [ -f "$p" ] || die "no plan $p"; done
mapfile -t tests < <(plan_tests "$@" | sort -u)
if (( ${#tests[@]} == 0 )); then
	log "selftests: the plan(s) name no tests, nothing to build"
	exit 0
fi

ensure_pkgs "${PKGS_BUILD[@]}"
# 32-bit programs (kit/i386/) need the i386 C library.
printf '%s\n' "${tests[@]}" | grep '^i386/' >/dev/null && ensure_pkgs gcc-multilib
mkdir -p "$out/hdr-obj" "$out/usr/include"

MAKE=(nice -n 10 make -j"$(nproc)")

# Headers: skip make when no UAPI source is newer than the last sync.
stamp=$out/usr/.kit-stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$src/include/uapi" "$src/arch/x86/include/uapi" \
	"$src/arch/x86/entry/syscalls" "$src/scripts/headers_install.sh" \
	-newer "$stamp" -print -quit)" ]; then
	run_logged "selftests/$variant: UAPI headers" "$out/headers.log" \
		"${MAKE[@]}" -C "$src" O="$out/hdr-obj" ARCH=x86_64 headers
	rsync -a --delete --exclude=.kit-stamp "$out/hdr-obj/usr/include/" "$out/usr/include/"
	touch "$stamp"
fi

targets=()
for t in "${tests[@]}"; do
	s=$(plan_test_source "$src" "$t")
	[ -f "$s" ] || die "no KVM selftest '$t' in $variant ($s)"
	targets+=("$out/$t")
done
# bench/* and emu/* programs come from kit/ (kit/progs.mk adds their rules).
KMAKE=("${MAKE[@]}" -C "$kvm" -f Makefile -f "$KIT_ROOT/kit/progs.mk"
       KIT_PROGS_SRC="$KIT_ROOT/kit" ARCH=x86 OUTPUT="$out"
       KHDR_INCLUDES="-isystem $out/usr/include" LDFLAGS="-static -pthread -no-pie")
if "${KMAKE[@]}" -q "${targets[@]}" >/dev/null 2>&1; then
	log "selftests/$variant: ${#tests[@]} KVM selftest(s) up to date"
else
	run_logged "selftests/$variant: ${#tests[@]} KVM selftest(s), static" "$out/build.log" \
		"${KMAKE[@]}" "${targets[@]}"
fi

for t in "${targets[@]}"; do
	LC_ALL=C readelf -l "$t" | grep 'program interpreter' >/dev/null && die "$t is not static"
done
log "selftests/$variant: ${tests[*]}"
