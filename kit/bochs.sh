#!/usr/bin/env bash
# kit/bochs.sh [patched|unpatched]
#
# Build Bochs from source (kit/bochs/bochs.conf): the emulated Intel host
# of the vmx lanes, with FRED.  'patched' (default) applies
# kit/bochs/patches/ (the emulator's interrupt-masking fixes);
# 'unpatched' is the same source without them, for the tests that show
# each fix is needed (make bochs-red).
#
# Source, first that exists:
#   BOCHS_SRC=<dir>            a Bochs source dir (the bochs/ directory of
#                              the upstream repository), used as it is
#   ../shared/bochs/$BOCHS_TARBALL   sha256-checked
#   a clone of $BOCHS_GIT at $BOCHS_COMMIT (network)
# Out of tree, incremental, with ccache: the source is synced into
# build/emu/<flavour>/src (only changed files get a new mtime) and built in
# build/emu/<flavour>/obj.  Prints the path of the binary on stdout.
. "$(dirname "$0")/lib.sh"
# shellcheck source=kit/bochs/bochs.conf
. "$KIT_ROOT/kit/bochs/bochs.conf"

flavour=${1:-patched}
case $flavour in patched | unpatched) ;; *) die "usage: bochs.sh [patched|unpatched] (got '$flavour')" ;; esac
ensure_pkgs build-essential ccache xz-utils rsync git

emu=$KIT_ROOT/build/emu
dir=$emu/$flavour
src=$dir/src
obj=$dir/obj
mkdir -p "$emu/dl" "$dir"

# ---- The pristine source, as a directory.
pristine=
if [ -n "${BOCHS_SRC:-}" ]; then
	[ -f "$BOCHS_SRC/configure" ] && [ -d "$BOCHS_SRC/cpu" ] ||
		die "BOCHS_SRC=$BOCHS_SRC is not a Bochs source dir (no configure or cpu/; the repository's bochs/ subdir?)"
	pristine=$(cd "$BOCHS_SRC" && pwd)
	origin="BOCHS_SRC=$pristine"
else
	shared=$KIT_ROOT/../shared/bochs/$BOCHS_TARBALL
	unpacked=$emu/dl/bochs-${BOCHS_COMMIT:0:9}
	if [ ! -f "$unpacked/.kit-complete" ]; then
		rm -rf "$unpacked" "$unpacked.tmp"
		if [ -f "$shared" ]; then
			sum=$(sha256sum <"$shared" | cut -d' ' -f1)
			[ "$sum" = "$BOCHS_SHA256" ] ||
				die "$shared: sha256 $sum, kit/bochs/bochs.conf pins $BOCHS_SHA256"
			mkdir -p "$unpacked.tmp"
			tar -xJf "$shared" -C "$unpacked.tmp" --strip-components=1 ||
				die "could not unpack $shared"
		else
			log "bochs: no ${shared#"$KIT_ROOT"/}; cloning $BOCHS_GIT at ${BOCHS_COMMIT:0:12}"
			git init -q "$emu/dl/git"
			git -C "$emu/dl/git" fetch -q --depth 1 "$BOCHS_GIT" "$BOCHS_COMMIT" ||
				die "no Bochs source: ../shared/bochs/$BOCHS_TARBALL missing and $BOCHS_GIT unreachable (or set BOCHS_SRC=<dir>)"
			mkdir -p "$unpacked.tmp"
			git -C "$emu/dl/git" archive FETCH_HEAD bochs | tar -x -C "$unpacked.tmp" --strip-components=1
		fi
		touch "$unpacked.tmp/.kit-complete"
		mv "$unpacked.tmp" "$unpacked"
	fi
	pristine=$unpacked
	origin="Bochs ${BOCHS_COMMIT:0:12}"
fi

# ---- Pristine + patches in a scratch dir, synced into src/ by content, so
# that make rebuilds only what a patch or source change touched.
patches=()
if [ "$flavour" = patched ]; then
	for p in "$KIT_ROOT"/kit/bochs/patches/*.patch; do [ -e "$p" ] && patches+=("$p"); done
fi
stage=$dir/stage
rm -rf "$stage"
rsync -a --exclude=.git --exclude=.kit-complete "$pristine/" "$stage/"
for p in "${patches[@]}"; do
	patch -s -p1 -d "$stage" --no-backup-if-mismatch <"$p" ||
		{ rm -rf "$stage"; die "bochs: ${p#"$KIT_ROOT"/} does not apply to $origin"; }
done
mkdir -p "$src"
rsync -rlc --delete "$stage/" "$src/"
rm -rf "$stage"

# ---- Configure (again when the configure line or the source's configure
# changed), then make.
confline="CC='ccache gcc' CXX='ccache g++' CFLAGS='-O2 -pipe' CXXFLAGS='-O2 -pipe' $src/configure ${BOCHS_CONFIGURE[*]}"
confsum=$({ echo "$confline"; sha256sum <"$src/configure"; } | sha256sum)
mkdir -p "$obj"
if [ ! -f "$obj/Makefile" ] || [ "$confsum" != "$(cat "$obj/.kit-configure" 2>/dev/null)" ]; then
	rm -f "$obj/.kit-configure"
	run_logged "bochs ($flavour): configure" "$dir/configure.log" \
		env -C "$obj" CC='ccache gcc' CXX='ccache g++' CFLAGS='-O2 -pipe' CXXFLAGS='-O2 -pipe' \
		"$src/configure" "${BOCHS_CONFIGURE[@]}"
	printf '%s\n' "$confsum" >"$obj/.kit-configure"
	printf '%s\n' "$confline" >"$dir/configure-line.txt"
fi
run_logged "bochs ($flavour): make" "$dir/make.log" make -C "$obj" -j"$(nproc)" bochs
[ -x "$obj/bochs" ] || die "bochs ($flavour): no binary $obj/bochs after make"
# What was built from what: read by the lanes for their result lines.
{
	echo "origin=$origin"
	echo "flavour=$flavour"
	echo "patches=${patches[*]##*/}"
	echo "bios=$src/bios"
} >"$dir/build-info"
echo "$obj/bochs"
