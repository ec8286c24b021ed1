#!/usr/bin/env bash
# tests/kit/bad-input.sh [CASE...]
#
# Every way a user can get the kit's input wrong must end in one clear line
# (the last line on stderr: 'kit: error: ...', a lane's 'SKIP: ...', or
# make's 'Makefile:N: *** ...  Stop.' for a bad variable) and
# a non-zero exit, and must leave nothing half-done that breaks the next
# run.  Each case runs the real kit scripts on a scratch copy of the kit
# (its own build dir, its own ../shared), never on build/: a series that
# does not apply, a KERNEL_TREE that is not a kernel or is the wrong
# version or has uncommitted work, a corrupt or unreachable base tarball,
# a corrupt or unreachable Bochs source, an unknown config, an unknown
# 'make broken' defect or a bad '#!selftests' in its .expect, a missing or
# unknown 'make bench-experiment' EXPERIMENT, 'make debian-changes' without
# the package's changelog, a kernel build that fails, a full disk while
# unpacking and while building, an emulator that does not start, and
# Ctrl-C (SIGINT to the process group, as a terminal sends it) in the
# middle of the download, the unpack, the 'git am' of the series, a
# kernel build and a vmx lane.  After each failure the case checks the
# state, and where the kit should recover, it runs the step again and
# checks that it completes.
#
# Needs the base tarball (make tree fetches it) and, for the emulator
# cases, a built x86_64 kernel (make build).  CASE names a subset (see
# 'cases' below).  Writes $RESULTS/bad-input.tap; exit 0 iff all pass.
# About 6 min; two cases build a few kernel files (one core-minute each).
. "$(dirname "$0")/../../kit/lib.sh"

tap=$RESULTS/bad-input.tap
S=${KIT_BAD_INPUT_DIR:-$BUILD/bad-input}
tarball=$BUILD/dl/${BASE_TARBALL##*/}
[ -f "$tarball" ] || die "no base tarball $tarball: run 'make tree' first"

base_commit=$(git -C "$TREE" rev-parse base)
# The cases set these themselves, where they mean to.
unset KERNEL_TREE BUILD_DIR
rm -rf "$S"
mkdir -p "$S"
tap_begin "$tap"
failures=0

# ---- The scratch kit: a copy of the kit's files (no build/, no .git), a
# ../shared beside it with only what a case puts there, and a build dir
# holding a hard link of the base tarball (no download).
kit=$S/main
rsync -a --exclude=/build --exclude=/.git "$KIT_ROOT/" "$kit/"
mkdir -p "$S/shared/bochs" "$kit/build/dl"
ln "$tarball" "$kit/build/dl/" 2>/dev/null || cp "$tarball" "$kit/build/dl/"
cp "$tarball.version" "$kit/build/dl/"

# A kernel tree of the developer's own: a clone of the kit's tree at base.
kt=$S/kt
devtree() {
	local gd
	if [ ! -d "$kt" ]; then
		git clone -q --shared --no-checkout "$TREE" "$kt"
		git -C "$kt" checkout -q -b work "$base_commit"
	fi
	gd=$(git -C "$kt" rev-parse --absolute-git-dir)
	git -C "$kt" am --abort >/dev/null 2>&1 || true
	git -C "$kt" checkout -q -f -B work "$base_commit"
	git -C "$kt" branch -D series >/dev/null 2>&1 || true
	git -C "$kt" tag -d base >/dev/null 2>&1 || true
	rm -f "$gd/kit-series"*
}

# expect_error NAME REGEX CMD...: CMD fails (non-zero), and the last line
# of its stderr is the kit's one clear line and matches REGEX.
last_err=
expect_error() {
	local name=$1 re=$2 rc=0 t0=$SECONDS line
	shift 2
	"$@" >"$S/$name.out" 2>"$S/$name.err" </dev/null || rc=$?
	# The last line, but make's own 'make: *** [...] Error 1' after it.
	line=$(grep -v -E '^[[:space:]]*$|^make(\[[0-9]+\])?: \*\*\* ' "$S/$name.err" | tail -n 1 || true)
	last_err=$line
	if (( rc == 0 )); then
		result fail "$name" "exit 0, want an error /$re/ (stderr: ${line:-empty})" "$t0"
		return 1
	elif ! [[ $line =~ ^(kit:\ error:\ |SKIP:\ |Makefile:[0-9]+:\ \*\*\*\ ) ]] || ! [[ $line =~ $re ]]; then
		result fail "$name" "exit $rc, last line '${line}', want 'kit: error: ...' matching /$re/" "$t0"
		return 1
	fi
	return 0
}
# interrupt NAME WAIT-CMD CMD...: runs CMD in its own process group, waits
# until WAIT-CMD succeeds (the step is under way), sends SIGINT to the
# group as a terminal's Ctrl-C does, and waits for it; fails if CMD ended
# before it could be interrupted, or if a process of its group survives.
interrupt() {
	local name=$1 waitcmd=$2 pid i rc=0
	shift 2
	# A background job of a script starts with SIGINT ignored; a terminal's
	# foreground job does not: perl puts the default action back.
	setsid perl -e '$SIG{INT} = $SIG{QUIT} = "DEFAULT"; exec @ARGV or die "exec: $!"' -- \
		"$@" >"$S/$name.out" 2>"$S/$name.err" </dev/null &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; last_err="ended before the interrupt"; return 1; }
		eval "$waitcmd" && break
		sleep 0.2
	done
	kill -INT -- "-$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	for ((i = 0; i < 50; i++)); do
		pgrep -g "$pid" >/dev/null || break
		sleep 0.2
	done
	if pgrep -g "$pid" >/dev/null; then
		last_err="processes left after Ctrl-C: $(pgrep -g "$pid" -l | tr '\n' ' ')"
		pkill -KILL -g "$pid" || true
		return 1
	fi
	(( rc != 0 )) || { last_err="exit 0 after Ctrl-C"; return 1; }
	return 0
}
result() {	# result pass|fail NAME WHAT T0
	tap_add "$tap" "$1" "$2" $(( SECONDS - $4 )) "$3"
	[ "$1" = pass ] || failures=$((failures + 1))
	printf '%-8s %-28s %s\n' "${1/pass/ok}" "$2" "$3" >&2
}
# The tree made by the scratch kit's 'make tree', and its commits.
scratch_tree_ok() {
	local n
	n=$(git -C "$kit/build/linux" rev-list --count base..series 2>/dev/null) || return 1
	[ "$n" = "$npatches" ] && [ -z "$(git -C "$kit/build/linux" status --porcelain --untracked-files=no)" ]
}
npatches=$(find "$SERIES" -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | wc -l)
mk() { make -C "$kit" --no-print-directory "$@"; }
# tree_again NAME: the next 'make tree' of the scratch kit makes the tree
# (series applied, clean); its output in $S/NAME.rerun.
tree_again() { mk tree >"$S/$1.rerun" 2>&1 && scratch_tree_ok; }

# ---------------------------------------------------------------- cases
case_unknown_base() {
	local t0=$SECONDS
	expect_error unknown-base "no base '?5\\.10" env KIT_BASE=5.10 make -C "$kit" --no-print-directory tree &&
		result pass unknown-base "$last_err" "$t0"
}

case_not_a_kernel() {
	local t0=$SECONDS d=$S/notkernel
	mkdir -p "$d/plain" "$d/git"
	git -C "$d/git" init -q && echo hi >"$d/git/README" &&
		git -C "$d/git" add README && git -C "$d/git" -c user.name=t -c user.email=t@t commit -qm t
	expect_error not-a-git-tree 'is not a git tree' env KERNEL_TREE="$d/plain" make -C "$kit" --no-print-directory tree &&
		result pass not-a-git-tree "$last_err" "$t0"
	t0=$SECONDS
	if expect_error not-a-kernel 'is not a kernel tree' env KERNEL_TREE="$d/git" make -C "$kit" --no-print-directory tree; then
		if git -C "$d/git" rev-parse -q --verify refs/tags/base >/dev/null; then
			result fail not-a-kernel "the kit tagged 'base' in a tree it refused" "$t0"
		else
			result pass not-a-kernel "$last_err; nothing written to it" "$t0"
		fi
	fi
}

case_wrong_version() {
	local t0=$SECONDS
	devtree
	sed -i 's/^PATCHLEVEL = .*/PATCHLEVEL = 1/' "$kt/Makefile"
	git -C "$kt" -c user.name=t -c user.email=t@t commit -qam 'Linux 7.1'
	if expect_error wrong-version 'is Linux 7\.1\..*for 7\.3' env KERNEL_TREE="$kt" make -C "$kit" --no-print-directory tree; then
		if git -C "$kt" rev-parse -q --verify refs/tags/base >/dev/null; then
			result fail wrong-version "the kit tagged 'base' in a tree it refused" "$t0"
		else
			result pass wrong-version "$last_err; nothing written to it" "$t0"
		fi
	fi
}

case_dirty_tree() {
	local t0=$SECONDS
	devtree
	echo '/* work in progress */' >>"$kt/arch/x86/kernel/irq.c"
	if expect_error dirty-tree 'uncommitted changes' env KERNEL_TREE="$kt" make -C "$kit" --no-print-directory tree; then
		if grep -q 'work in progress' "$kt/arch/x86/kernel/irq.c"; then
			result pass dirty-tree "$last_err; the change is still there" "$t0"
		else
			result fail dirty-tree "the uncommitted change is gone" "$t0"
		fi
	fi
}

# series/ with one patch whose context no longer matches, on the
# developer's tree: the error names the patch and the file; the tree is
# left on 'series' at base with no 'git am' in progress; with series/
# fixed, 'make tree' applies it all.
case_series_does_not_apply() {
	local t0=$SECONDS p
	devtree
	p=$(ls "$kit/series/"0007-*.patch)
	cp "$p" "$S/0007.good"
	# Change one context line of the first hunk on irq.c.
	awk '/^\+\+\+ b\/arch\/x86\/kernel\/irq.c/ { f = 1 } f && /^ / && !done { sub(/^ /, " XX"); done = 1 } { print }' \
		"$S/0007.good" >"$p"
	if expect_error series-does-not-apply 'patch 0007-.* does not apply.*arch/x86/kernel/irq\.c' \
		env KERNEL_TREE="$kt" make -C "$kit" --no-print-directory tree; then
		local gd head
		gd=$(git -C "$kt" rev-parse --absolute-git-dir)
		head=$(git -C "$kt" rev-parse HEAD)
		if [ -d "$gd/rebase-apply" ]; then
			result fail series-does-not-apply "a 'git am' is left in progress" "$t0"
		elif [ "$head" != "$(git -C "$kt" rev-parse base)" ] || [ -n "$(git -C "$kt" status --porcelain --untracked-files=no)" ]; then
			result fail series-does-not-apply "the tree is left half-applied (HEAD $head) or dirty" "$t0"
		else
			cp "$S/0007.good" "$p"
			if env KERNEL_TREE="$kt" make -C "$kit" --no-print-directory tree >"$S/reapply.out" 2>&1 &&
			   [ "$(git -C "$kt" rev-list --count base..series)" = "$npatches" ]; then
				result pass series-does-not-apply "$last_err; tree at base, then the fixed series applied" "$t0"
			else
				result fail series-does-not-apply "the fixed series did not apply afterwards (see $S/reapply.out)" "$t0"
			fi
		fi
	fi
	cp "$S/0007.good" "$p"
}

# A base tarball that was cut short: refused, removed, fetched again by
# the next run (which must then make the tree).
case_corrupt_base() {
	local t0=$SECONDS dl=$kit/build/dl f
	f=$dl/${BASE_TARBALL##*/}
	rm -rf "$kit/build/linux" "$kit/build/base" "$f"
	head -c 50000000 "$tarball" >"$f"
	if expect_error corrupt-base 'is corrupt.*removed it' make -C "$kit" --no-print-directory tree; then
		if [ -e "$f" ] || [ -e "$kit/build/linux" ]; then
			result fail corrupt-base "the corrupt tarball or a tree from it is left" "$t0"
		else
			result pass corrupt-base "$last_err" "$t0"
		fi
	fi
	rm -f "$f"; ln "$tarball" "$f" 2>/dev/null || cp "$tarball" "$f"
	cp "$tarball.version" "$dl/"
}

# The package cannot be fetched (no mirror): one line, nothing left.
case_base_unreachable() {
	local t0=$SECONDS dl=$kit/build/dl
	mv "$dl" "$dl.keep"
	sed -i 's|^BASE_APT_SOURCE=.*|BASE_APT_SOURCE="deb [trusted=yes] http://127.0.0.1:9/debian trixie-backports main"|' \
		"$kit/kit/base-7.3.conf"
	if expect_error base-unreachable 'could not reach the mirror' make -C "$kit" --no-print-directory tree; then
		if [ -e "$kit/build/linux" ] || ls "$dl"/*.tmp >/dev/null 2>&1; then
			result fail base-unreachable "a tree or a partial download is left" "$t0"
		else
			result pass base-unreachable "$last_err" "$t0"
		fi
	fi
	cp "$KIT_ROOT/kit/base-7.3.conf" "$kit/kit/base-7.3.conf"
	rm -rf "$dl"; mv "$dl.keep" "$dl"
}

# Ctrl-C while the package is downloaded: the next run fetches it.
case_interrupt_download() {
	local t0=$SECONDS dl=$kit/build/dl
	mv "$dl" "$dl.keep"
	rm -rf "$kit/build/linux" "$kit/build/base"
	if ! interrupt interrupt-download "grep -q 'downloading' '$S/interrupt-download.err'" make -C "$kit" --no-print-directory tree; then
		result fail interrupt-download "$last_err" "$t0"
	elif ! tree_again interrupt-download; then
		result fail interrupt-download "the next 'make tree' failed (see $S/interrupt-download.rerun)" "$t0"
	else
		result pass interrupt-download "stopped; the next 'make tree' fetched the package and made the tree" "$t0"
	fi
	rm -rf "$dl"; mv "$dl.keep" "$dl"
}

# Ctrl-C in the unpack: nothing half-unpacked is left; the next run works.
case_interrupt_unpack() {
	local t0=$SECONDS
	rm -rf "$kit/build/linux" "$kit/build/base" "$kit/build/linux.unpack"
	if ! interrupt interrupt-unpack "[ -d '$kit/build/linux.unpack/arch' ]" make -C "$kit" --no-print-directory tree; then
		result fail interrupt-unpack "$last_err" "$t0"
	elif [ -e "$kit/build/linux.unpack" ] || [ -e "$kit/build/linux" ]; then
		result fail interrupt-unpack "a half-unpacked tree is left" "$t0"
	elif ! tree_again interrupt-unpack; then
		result fail interrupt-unpack "the next 'make tree' failed (see $S/interrupt-unpack.rerun)" "$t0"
	else
		result pass interrupt-unpack "nothing left; the next 'make tree' made the tree" "$t0"
	fi
}

# Ctrl-C while 'git am' applies the series (own tree): the next run
# throws the half-applied branch away and applies series/ again.
case_interrupt_am() {
	local t0=$SECONDS gd
	[ -d "$kit/build/linux" ] || mk tree >/dev/null 2>&1 || { result fail interrupt-am "no scratch tree" "$t0"; return; }
	gd=$(git -C "$kit/build/linux" rev-parse --absolute-git-dir)
	rm -f "$gd/kit-series"	# as if series/ had changed: apply it again
	if ! interrupt interrupt-am "[ \"\$(git -C '$kit/build/linux' rev-list --count base..HEAD 2>/dev/null)\" -ge 3 ] 2>/dev/null" \
		make -C "$kit" --no-print-directory tree; then
		result fail interrupt-am "$last_err" "$t0"
	elif ! tree_again interrupt-am; then
		result fail interrupt-am "the next 'make tree' failed or left the tree wrong (see $S/interrupt-am.rerun)" "$t0"
	else
		result pass interrupt-am "stopped half-way through 'git am'; the next 'make tree' applied the series again" "$t0"
	fi
}

case_unknown_config() {
	local t0=$SECONDS
	expect_error unknown-config "no fragment nosuch\.config" bash "$kit/kit/build.sh" patched x86_64-nosuch &&
		result pass unknown-config "$last_err" "$t0"
}

# make broken: a defect that is not there, and an .expect with neither a
# patch of its own nor a probe to apply ('#!with').
case_unknown_defect() {
	local t0=$SECONDS e=$kit/tests/broken/kit-lonely.expect
	expect_error unknown-defect "no defect 'nosuch': tests/broken/ has .*fred-orig-ax" \
		bash "$kit/kit/broken.sh" nosuch || return 0
	printf '#!config x86_64\nidt green\n' >"$e"
	expect_error lonely-expect "kit-lonely\.expect: no kit-lonely\.patch and no '#!with' probe" \
		bash "$kit/kit/broken.sh" kit-lonely || { rm -f "$e"; return 0; }
	printf '#!selftests tests\nidt green\n' >"$e"
	touch "${e%.expect}.patch"
	expect_error bad-selftests "kit-lonely\.expect: '#!selftests tests' \(patched or broken\)" \
		bash "$kit/kit/broken.sh" kit-lonely || { rm -f "$e" "${e%.expect}.patch"; return 0; }
	rm -f "$e" "${e%.expect}.patch"
	result pass unknown-defect "$last_err" "$t0"
}

# make bench-experiment: no EXPERIMENT, or one that is not in experiments/
# (refused before any build); make debian-changes without the package's
# changelog (a base tarball fetched before 'make tree' kept it).
case_unknown_experiment() {
	local t0=$SECONDS
	expect_error no-experiment "bench-experiment needs EXPERIMENT=NAME, one of: .*vectoring-requeue" \
		make -C "$kit" --no-print-directory bench-experiment || return 0
	expect_error unknown-experiment "no experiments/nosuch\.patch" \
		make -C "$kit" --no-print-directory bench-experiment EXPERIMENT=nosuch || return 0
	rm -f "$kit/build/dl/changelog.Debian.gz"
	expect_error no-changelog "no build/dl/changelog\.Debian\.gz: 'make tree' saves it" \
		bash "$kit/kit/debian-changes.sh" || return 0
	result pass unknown-experiment "$last_err" "$t0"
}

# A series patch that breaks the build (a host program every build
# compiles first): the error points at the log, whose tail shows the
# compiler's error; the next build after the fix gets past it.
case_build_fails() {
	local t0=$SECONDS
	devtree
	git -C "$kt" tag base
	printf '#error a broken series patch\n' >>"$kt/scripts/sorttable.c"
	git -C "$kt" -c user.name=t -c user.email=t@t commit -qam 'broken'
	if expect_error build-fails 'building patched/x86_64 .* failed .*build\.log' \
		env KERNEL_TREE="$kt" BUILD_DIR="$S/bfail" bash "$kit/kit/build.sh" patched x86_64; then
		if grep -q 'error: #error a broken series patch' "$S/build-fails.err"; then
			result pass build-fails "$last_err (the compiler's error above it)" "$t0"
		else
			result fail build-fails "the compiler's error is not shown" "$t0"
		fi
	fi
}

# A full disk: the unpack on a file system with room for the tarball and
# not for its tree fails with one line and leaves nothing; a kernel build
# whose O= dir fills up says so, with the compiler's ENOSPC above it.
case_full_disk() {
	local t0=$SECONDS m=$S/small
	mkdir -p "$m"
	if ! mount -t tmpfs -o size=200m kit-bad-input "$m" 2>/dev/null; then
		result fail full-disk "cannot mount a small tmpfs (needs root)" "$t0"
		return
	fi
	mkdir -p "$m/build/dl"
	cp "$tarball" "$tarball.version" "$m/build/dl/"
	if expect_error full-disk-unpack 'unpacking .* failed' env BUILD_DIR="$m/build" make -C "$kit" --no-print-directory tree; then
		if [ -e "$m/build/linux.unpack" ] || [ -e "$m/build/linux" ]; then
			result fail full-disk-unpack "a half-unpacked tree is left on the full disk" "$t0"
		else
			result pass full-disk-unpack "$last_err; nothing left" "$t0"
		fi
	fi
	rm -rf "${m:?}/build"
	mount -o remount,size=24m "$m"
	t0=$SECONDS
	devtree
	git -C "$kt" tag base
	if expect_error full-disk-build 'building patched/x86_64 .* failed' \
		env KERNEL_TREE="$kt" BUILD_DIR="$m/build" bash "$kit/kit/build.sh" patched x86_64; then
		if grep -q 'No space left on device' "$S/full-disk-build.err"; then
			result pass full-disk-build "$last_err ('No space left on device' above it)" "$t0"
		else
			result fail full-disk-build "the build failed, but not for lack of space" "$t0"
		fi
	fi
	umount "$m"
}

# Ctrl-C in a kernel build: make stops, nothing of the group runs on, and
# the next build starts again from where it was.
case_interrupt_build() {
	local t0=$SECONDS o=$S/ibuild
	devtree
	git -C "$kt" tag base
	if ! interrupt interrupt-build "[ -f '$o/obj-x86_64/build.log' ] && grep -q ' CC ' '$o/obj-x86_64/build.log'" \
		env KERNEL_TREE="$kt" BUILD_DIR="$o" bash "$kit/kit/build.sh" patched x86_64; then
		result fail interrupt-build "$last_err" "$t0"
	elif ! env KERNEL_TREE="$kt" BUILD_DIR="$o" bash "$kit/kit/build.sh" patched x86_64 prepare \
		>"$S/interrupt-build.rerun" 2>&1; then
		result fail interrupt-build "the next build failed (see $S/interrupt-build.rerun)" "$t0"
	else
		result pass interrupt-build "stopped, no process left; the next build ran" "$t0"
	fi
}

# The Bochs source: a corrupt tarball in ../shared is refused; with none
# and no network, one line says what to do.
case_bochs_source() {
	local t0=$SECONDS tb
	tb=$(sed -n 's/^BOCHS_TARBALL=//p' "$kit/kit/bochs/bochs.conf")
	head -c 1000000 "$KIT_ROOT/../shared/bochs/$tb" >"$S/shared/bochs/$tb" 2>/dev/null ||
		echo 'not a tarball' >"$S/shared/bochs/$tb"
	if expect_error bochs-corrupt 'sha256 .*pins' bash "$kit/kit/bochs.sh"; then
		if compgen -G "$kit/build/emu/dl/bochs-*/.kit-complete" >/dev/null; then
			result fail bochs-corrupt "a Bochs source is marked complete" "$t0"
		else
			result pass bochs-corrupt "$last_err" "$t0"
		fi
	fi
	t0=$SECONDS
	rm -f "$S/shared/bochs/$tb"
	cp "$kit/kit/bochs/bochs.conf" "$S/bochs.conf.keep"
	sed -i 's|^BOCHS_GIT=.*|BOCHS_GIT=http://127.0.0.1:9/Bochs.git|' "$kit/kit/bochs/bochs.conf"
	expect_error bochs-missing 'no Bochs source.*BOCHS_SRC' bash "$kit/kit/bochs.sh" &&
		result pass bochs-missing "$last_err" "$t0"
	cp "$S/bochs.conf.keep" "$kit/kit/bochs/bochs.conf"
	t0=$SECONDS
	expect_error bochs-src-not-bochs 'is not a Bochs source dir' env BOCHS_SRC="$S" bash "$kit/kit/bochs.sh" &&
		result pass bochs-src-not-bochs "$last_err" "$t0"
}

# The emulator: one that exits at once with an error makes the lane say
# SKIP with Bochs' own message and exit non-zero; Ctrl-C while it runs
# leaves no emulator behind.  Uses the kit's built kernel (read only).
case_emulator() {
	local t0=$SECONDS b=$S/vbuild fake=$S/fakebochs
	local obj=$BUILD/obj-x86_64
	if [ ! -f "$obj/arch/x86/boot/bzImage" ]; then
		result fail emulator-does-not-start "no built kernel ($obj): run 'make build' first" "$t0"
		return
	fi
	# A build dir that sees the kit's tree, kernel and selftests.
	mkdir -p "$b"
	for f in linux obj-x86_64 base "$(basename "$(ls -d "$BUILD"/selftests-* 2>/dev/null | head -n 1)")"; do
		[ -e "$BUILD/$f" ] && ln -sfn "$BUILD/$f" "$b/$f"
	done
	mkdir -p "$fake"
	printf '#!/bin/sh\necho ">>PANIC<< ROM: could not read the BIOS image" >&2\nexit 1\n' >"$fake/bochs"
	printf '#!/bin/bash\nexec -a "$0" sleep 600\n' >"$fake/slow"
	chmod +x "$fake/bochs" "$fake/slow"
	if expect_error emulator-does-not-start 'could not start.*BIOS image' \
		env BUILD_DIR="$b" KIT_VMX_HOST=bochs KIT_BOCHS_BIN="$fake/bochs" KIT_BOCHS_BIOS="$fake" \
		bash "$kit/kit/lane-vmx.sh" patched "$PLANS/vmx-smoke.plan"; then
		result pass emulator-does-not-start "$last_err" "$t0"
	fi
	t0=$SECONDS
	expect_error emulator-not-executable 'KIT_BOCHS_BIN=.* is not an executable' \
		env BUILD_DIR="$b" KIT_VMX_HOST=bochs KIT_BOCHS_BIN="$fake/nosuch" \
		bash "$kit/kit/lane-vmx.sh" patched "$PLANS/vmx-smoke.plan" &&
		result pass emulator-not-executable "$last_err" "$t0"
	t0=$SECONDS
	if ! interrupt interrupt-lane "pgrep -f '$fake/slow' >/dev/null" \
		env BUILD_DIR="$b" KIT_VMX_HOST=bochs KIT_BOCHS_BIN="$fake/slow" KIT_BOCHS_BIOS="$fake" \
		bash "$kit/kit/lane-vmx.sh" patched "$PLANS/vmx-smoke.plan"; then
		result fail interrupt-lane "$last_err" "$t0"
	elif pgrep -f "$fake/slow" >/dev/null; then
		result fail interrupt-lane "the emulator still runs after Ctrl-C" "$t0"
		pkill -f "$fake/slow" || true
	elif ls -d "$b"/bochs/run-* >/dev/null 2>&1; then
		result fail interrupt-lane "the run's directory is left: $(ls -d "$b"/bochs/run-*)" "$t0"
	else
		result pass interrupt-lane "the emulator stopped with the lane; its run dir removed" "$t0"
	fi
}

cases=(unknown_base not_a_kernel wrong_version dirty_tree series_does_not_apply
	corrupt_base base_unreachable interrupt_download interrupt_unpack interrupt_am
	unknown_config unknown_defect unknown_experiment build_fails full_disk interrupt_build bochs_source emulator)
sel=("$@")
(( ${#sel[@]} )) || sel=("${cases[@]}")
for c in "${sel[@]}"; do
	c=${c//-/_}
	declare -F "case_$c" >/dev/null || die "no case '$c' (cases: ${cases[*]})"
	log "bad input: $c"
	"case_$c" || true
done
tap_end "$tap"
log "bad input: $(grep -c '^ok ' "$tap") ok, $failures failed -> ${tap#"$KIT_ROOT"/}"
(( failures == 0 ))
