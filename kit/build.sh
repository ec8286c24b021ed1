#!/usr/bin/env bash
# kit/build.sh VARIANT CONFIG [make targets...]
#
# Build a kit kernel: VARIANT is 'patched' (the tree) or 'base' (the
# baseline worktree); CONFIG names the fragments (configs/, or the base's
# own copy under BASE_DIR/configs/) on top of tinyconfig:
#   x86_64         common + mitigations + x86_64 + tests
#   x86_64-NAME    the same plus NAME.config (x86_64-kvm-m: KVM_INTEL=m;
#                  x86_64-guests: Hyper-V and Xen HVM guests; x86_64-nofred
#                  on 6.12, where KVM_INTEL does not yet select X86_FRED)
#   i386           common + mitigations + i386 + tests (KVM_INTEL on 32-bit)
#   x86_64-cfi     clang with kCFI (configs/cfi.config has '#!llvm')
# The build is incremental (O= dir outside the source, ccache); the .config
# is regenerated from the fragments every time but only replaced when its
# content changes, so an unchanged tree rebuilds nothing.
. "$(dirname "$0")/lib.sh"

variant=${1:?usage: build.sh base|patched CONFIG [targets]}
cfg=${2:?usage: build.sh base|patched CONFIG [targets]}
shift 2
targets=("$@")
src=$(src_dir "$variant")
# MATRIX_OUT: another O= dir (kit/matrix.sh builds each patch there).
out=${MATRIX_OUT:-$(out_dir "$variant" "$cfg")}

case $cfg in
x86_64)   arch=x86_64; names=(common mitigations x86_64) ;;
x86_64-*) arch=x86_64; names=(common mitigations x86_64 "${cfg#x86_64-}") ;;
i386)     arch=i386;   names=(common mitigations i386) ;;
*) die "unknown config '$cfg' (x86_64, x86_64-NAME with configs/NAME.config, i386)" ;;
esac
frags=()
for n in "${names[@]}"; do
	f=$(config_frag "$n")
	[ -f "$f" ] || die "config '$cfg': no fragment $n.config in configs/ or $BASE_DIR/configs/"
	frags+=("$f")
done
tests_frag=$(config_frag tests)

# A fragment with the line '#!llvm' (configs/cfi.config) makes it a clang
# build: LLVM=-$KIT_LLVM_VERSION (Debian 12's clang-19, lld, llvm tools).
llvm=
grep -qx '#!llvm' "${frags[@]}" && llvm=${KIT_LLVM_VERSION:-19}

ensure_pkgs "${PKGS_BUILD[@]}"
[ -z "$llvm" ] || ensure_pkgs "clang-$llvm" "lld-$llvm" "llvm-$llvm"
[ -f "$src/Makefile" ] || die "no kernel sources at $src: run 'make tree' first"
mkdir -p "$out"

export CCACHE_BASEDIR=$BUILD CCACHE_NOHASHDIR=1 CCACHE_SLOPPINESS=time_macros
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2026" KBUILD_BUILD_USER=kit KBUILD_BUILD_HOST=kit
cc=gcc; [ -z "$llvm" ] || cc=clang-$llvm
MAKEARGS=(-C "$src" O="$out" ARCH="$arch" ${llvm:+LLVM="-$llvm"} CC="ccache $cc" HOSTCC="ccache $cc" -j"$(nproc)")

# Merge fragments: the last assignment of a symbol wins.
merge() {
	awk '/^CONFIG_[A-Za-z0-9_]+=/ { split($0, kv, "="); sym = kv[1] }
	     /^# CONFIG_[A-Za-z0-9_]+ is not set/ { sym = $2 }
	     sym != "" { if (!(sym in val)) order[n++] = sym; val[sym] = $0; sym = "" }
	     END { for (i = 0; i < n; i++) print val[order[i]] }' "$@"
}
# What we ask for, and the fragment: tinyconfig's own settings, then ours.
wanted=$out/kit.wanted
frag=$out/kit.fragment
merge "${frags[@]}" "$tests_frag" >"$wanted"
merge "$src/kernel/configs/tiny.config" "$src/arch/x86/configs/tiny.config" "$wanted" >"$frag"

make "${MAKEARGS[@]}" -s KCONFIG_CONFIG=.config.kit-new KCONFIG_ALLCONFIG="$frag" \
	allnoconfig >"$out/kconfig.log" 2>&1 || { cat "$out/kconfig.log" >&2; die "kconfig failed for $variant/$cfg"; }

# Every symbol the fragments ask for must have the value asked for, but the
# tests' ones, which a tree may not have (the series' suite on 'base').
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*) sym=${line%%=*} ;;
	"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
	*) continue ;;
	esac
	got=$(grep -E "^($sym=|# $sym is not set)" "$out/.config.kit-new" || true)
	if [ "$got" != "$line" ] && ! { [ -z "$got" ] && [ "${line#\# }" != "$line" ]; }; then
		if grep -qx "$line" "$tests_frag"; then
			echo "note: $sym not available in this tree (test suite left out)" >&2
		else
			echo "kit: $variant/$cfg: asked for '$line', got '${got:-nothing}'" >&2
			bad=1
		fi
	fi
done <"$wanted"
(( bad == 0 )) || die "the config for $variant/$cfg does not have what configs/ asks for (see above)"

if cmp -s "$out/.config.kit-new" "$out/.config"; then
	rm -f "$out/.config.kit-new"
else
	mv "$out/.config.kit-new" "$out/.config"
fi
# Default targets: bzImage, and for a modular config (x86_64-kvm-m) the
# modules too, so that kvm-intel.ko links against what the series exports.
if (( ${#targets[@]} == 0 )); then
	targets=(bzImage)
	if grep -qx "CONFIG_MODULES=y" "$out/.config"; then targets+=(modules); fi
fi

run_logged "building $variant/$cfg (${targets[*]}) from ${src#"$KIT_ROOT"/}" "$out/build.log" \
	make "${MAKEARGS[@]}" "${targets[@]}"
grep -E 'warning:' "$out/build.log" | sort -u >"$out/warnings.txt" || true
[ -s "$out/warnings.txt" ] && log "$variant/$cfg: $(wc -l <"$out/warnings.txt") warning line(s), see $out/warnings.txt"
exit 0
