# Common helpers for the kit scripts.  Source it; do not run it.
# shellcheck shell=bash

set -euo pipefail

KIT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The base the kit works on: 7.3 (the series, series/) or 6.12 (the 6.12.y
# backport, backport/6.12/).  Each has kit/base-<base>.conf, its own series,
# plans, claims and KUnit list under BASE_DIR, and its own build dir.
KIT_BASE=${KIT_BASE:-7.3}
[ -f "$KIT_ROOT/kit/base-$KIT_BASE.conf" ] ||
	{ printf 'kit: error: no base %s (kit/base-*.conf: 7.3, 6.12)\n' "$KIT_BASE" >&2; exit 1; }
# shellcheck source=kit/base-7.3.conf
. "$KIT_ROOT/kit/base-$KIT_BASE.conf"
BASE_ROOT=$(cd "$KIT_ROOT/$BASE_DIR" && pwd)
case $KIT_BASE in
7.3) _build_default=$KIT_ROOT/build ;;
*) _build_default=$KIT_ROOT/build/$KIT_BASE ;;
esac
BUILD=${BUILD_DIR:-$_build_default}
# The kernel tree the kit works in: ours (made by 'make tree') or the
# developer's own (KERNEL_TREE=/path/to/linux).
TREE=${KERNEL_TREE:-$BUILD/linux}
# A git worktree of the tree at tag 'base': the baseline sources.  Its
# object dirs sit at the same relative place as the patched ones
# (obj-<config> next to linux/), so that ccache with CCACHE_BASEDIR=$BUILD
# shares the objects both builds have in common.
BASE_SRC=$BUILD/base/linux
RESULTS=$BUILD/results
SERIES=$BASE_ROOT/series
PLANS=$BASE_ROOT/tests/plans
CLAIMS=$BASE_ROOT/tests/series-claims.txt
KUNIT_SUITES=$BASE_ROOT/tests/kunit-suites.txt
# A config fragment: the base's own copy if it has one, else configs/.
config_frag() {
	if [ -f "$BASE_ROOT/configs/$1.config" ]; then
		echo "$BASE_ROOT/configs/$1.config"
	else
		echo "$KIT_ROOT/configs/$1.config"
	fi
}

_t0=$(date +%s)

log()  { printf '[kit %4ss] %s\n' "$(( $(date +%s) - _t0 ))" "$*" >&2; }
warn() { printf 'kit: warning: %s\n' "$*" >&2; }
die()  { printf 'kit: error: %s\n' "$*" >&2; exit 1; }

# Run a long command, printing a heartbeat with the elapsed time every
# minute so that a two-core build does not look hung.  Output goes to $log.
run_logged() {
	local what=$1 logf=$2; shift 2
	local start=$SECONDS rc=0
	log "$what (log: ${logf#"$KIT_ROOT"/})"
	# Its own process group: a background job of a script ignores SIGINT,
	# so Ctrl-C (or a TERM) reaches it through the trap, which stops the
	# whole group (make's children, tar's xz) before the script ends.
	setsid "$@" >"$logf" 2>&1 </dev/null &
	local pid=$!
	# shellcheck disable=SC2064
	trap "kill -TERM -- -$pid 2>/dev/null; wait $pid 2>/dev/null; log '$what: stopped'; exit 130" INT TERM
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		if (( (SECONDS - start) % 60 < 5 && SECONDS - start >= 60 )); then
			log "  ... $what: $(( (SECONDS - start) / 60 )) min"
		fi
	done
	wait "$pid" || rc=$?
	trap - INT TERM
	if (( rc != 0 )); then
		# The errors first (a parallel make goes on building after
		# one, so the log's tail may not show it), then the tail.
		local errs
		errs=$(grep -E ': (fatal )?error:|No space left on device' "$logf" | head -n 20 || true)
		if [ -n "$errs" ]; then
			printf -- '--- errors in %s:\n%s\n--- the log'"'"'s last lines:\n' "$logf" "$errs" >&2
		fi
		tail -n 20 "$logf" >&2
		die "$what failed (exit $rc), see $logf"
	fi
	log "$what: done in $(( SECONDS - start )) s"
}

# Install Debian packages that are missing.  'apt-get update' runs once per
# machine (marker in /var/lib/apt/lists).
ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'ok installed' >/dev/null ||
			missing+=("$p")
	done
	(( ${#missing[@]} )) || return 0
	[ "$(id -u)" = 0 ] || die "packages missing: ${missing[*]} (run as root or install them)"
	log "installing: ${missing[*]}"
	if [ ! -e /var/lib/apt/lists/.kit-updated ]; then
		apt-get update -q >&2 || die "apt-get update failed"
		touch /var/lib/apt/lists/.kit-updated
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}

# Packages per job.
PKGS_BUILD=(build-essential bc bison flex libelf-dev libssl-dev dwarves ccache
	    xz-utils python3 cpio rsync kmod git)
PKGS_INITRAMFS=(busybox-static cpio lz4)
PKGS_QEMU=(qemu-system-x86)
# The Bochs lanes: the boot disk's tools (Bochs itself is built by
# kit/bochs.sh); Debian's Bochs 2.7 only for KIT_VMX_HOST=bochs-2.7.
PKGS_BOCHS=(syslinux syslinux-common mtools dosfstools fdisk)
PKGS_BOCHS_DEB=(bochs bochsbios vgabios)
PKGS_MAIL=(git-email libmailtools-perl libio-socket-ssl-perl)
# checkpatch (its SPDX check) and the matrix's sparse.
PKGS_CHECK=(perl python3-ply python3-git sparse)

# The series as applied: a hash of series/*.patch, and the file in the
# tree's git dir where tree.sh and export.sh record "<hash> <HEAD>" of the
# tree that holds exactly series/.  The cover letter is left out of the
# hash: editing it does not change the tree, so it must not make 'make
# tree' apply the series again (which touches every file the series does
# and costs a rebuild).
series_hash() {
	local f
	for f in "$SERIES"/*.patch; do
		case ${f##*/} in 0000-*) continue ;; esac
		if [ -e "$f" ]; then cat "$f"; fi
	done | sha256sum | cut -d' ' -f1
}
series_stamp_file() {
	local d
	d=$(git -C "$TREE" rev-parse --git-dir)
	case $d in /*) ;; *) d=$TREE/$d ;; esac
	echo "$d/kit-series"
}

# Test names of plans (tests/plans/*.plan): the first word of each line,
# comments and blank lines skipped, in plan order.
plan_tests() { sed -e 's/#.*//' "$@" | awk 'NF { print $1 }'; }

# The source of a plan's test: a KVM selftest of the tree SRC
# (x86/name -> SRC/tools/testing/selftests/kvm/x86/name.c), or a kit
# program built against the selftests' library (bench/name ->
# kit/bench/name.c, emu/name -> kit/emu/name.c, uspace/name ->
# kit/uspace/name.c, i386/name -> kit/i386/name.c, see kit/progs.mk).
plan_test_source() {
	case $2 in
	bench/* | emu/* | uspace/* | probe/* | i386/*) echo "$KIT_ROOT/kit/$2.c" ;;
	*) echo "$1/tools/testing/selftests/kvm/$2.c" ;;
	esac
}

# A console line that fails a lane: a kernel warning, bug, oops, lockdep or
# KASAN report, or a panic.
BAD_CONSOLE='WARNING:|BUG:|Oops|possible circular|inconsistent lock state|KASAN|Kernel panic'
# splat_sigs LOG: one line per splat on a serial console LOG, with what
# differs between two kernels or two boots taken out (timestamps, CPU and
# PID, line numbers, code offsets), so that a splat of the series can be
# told from one plain 7.3 prints as well (kit/debug.sh, KIT_KNOWN_SPLATS).
splat_sigs() {
	{ grep -a -E "$BAD_CONSOLE" "$1" || true; } |
		sed -E 's/^KIT-DMESG //; s/^\[ *[0-9.]+\] //; s/CPU: [0-9]+ PID: [0-9]+ //;
			s/, CPU#[0-9]+: .*$//; s/ \[#[0-9]+\]//; s/\(pid:? ?[0-9]+\)//g;
			s/(\.[chS]):[0-9]+/\1/g; s/\+0x[0-9a-f]+(\/0x[0-9a-f]+)?//g;
			s/ffff[0-9a-f]{12}/ADDR/g; s/[[:space:]]+$//' |
		sort -u
}

# The third variant, 'tests': the base with only the series' test patches
# (kit/red.sh), to show that the tests fail without the fixes.
TESTS_SRC=$BUILD/tests/linux
# The fourth, 'broken': the patched tree plus one purpose-made defect of
# tests/broken/ (kit/broken.sh), to show which lane's tests catch it.
BROKEN_SRC=$BUILD/broken/linux
# The fifth, 'experiment': the patched tree plus a debug-only change of
# experiments/ (kit/vectoring.sh), never mailed.
EXPERIMENT_SRC=$BUILD/experiment/linux
# The sixth and seventh, 'probe' and 'probe-base': the patched tree and the
# baseline with the kit's NMI probe (tests/broken/nmi-probe*.patch), for
# kit/soak.sh, which measures both in one run.
PROBE_SRC=$BUILD/probe/linux
PROBE_BASE_SRC=$BUILD/probe-base/linux

# Where a kernel build goes.  variant is 'base', 'patched' or 'tests';
# config names a fragment set (see kit/build.sh).
out_dir() {
	case $1 in
	base) echo "$BUILD/base/obj-$2" ;;
	patched) echo "$BUILD/obj-$2" ;;
	tests) echo "$BUILD/tests/obj-$2" ;;
	broken) echo "$BUILD/broken/obj-$2" ;;
	experiment) echo "$BUILD/experiment/obj-$2" ;;
	probe) echo "$BUILD/probe/obj-$2" ;;
	probe-base) echo "$BUILD/probe-base/obj-$2" ;;
	*) die "unknown variant '$1' (base, patched, tests, broken, experiment, probe or probe-base)" ;;
	esac
}

# Source dir of a variant.
src_dir() {
	case $1 in
	base) echo "$BASE_SRC" ;;
	patched) echo "$TREE" ;;
	tests) echo "$TESTS_SRC" ;;
	broken) echo "$BROKEN_SRC" ;;
	experiment) echo "$EXPERIMENT_SRC" ;;
	probe) echo "$PROBE_SRC" ;;
	probe-base) echo "$PROBE_BASE_SRC" ;;
	*) die "unknown variant '$1' (base, patched, tests, broken, experiment, probe or probe-base)" ;;
	esac
}

# worktree_at DIR COMMIT: DIR is a detached worktree of the tree at COMMIT.
# An existing one is checked out again, so that only the files that differ
# are rewritten and its build stays incremental, and cleaned of the files
# an earlier patch added (the objects are outside it).
worktree_at() {
	local dir=$1 commit=$2
	mkdir -p "$(dirname "$dir")"
	if [ -f "$dir/Makefile" ]; then
		git -C "$dir" checkout -q -f --detach "$commit"
		git -C "$dir" clean -q -f -d
	else
		rm -rf "$dir"
		git -C "$TREE" worktree prune
		git -C "$TREE" worktree add -q --detach "$dir" "$commit"
	fi
}

# patched_worktree DIR COMMIT PATCH...: DIR a worktree of the tree at
# COMMIT with PATCHes applied in order.  Checked out again only when the
# commit or a patch changed (a stamp beside DIR), so that the build in it
# stays incremental; a patch that does not apply is one error, and the stamp
# is not written, so the next run starts over.
patched_worktree() {
	local dir=$1 commit=$2 p want stamp
	shift 2
	stamp=$(dirname "$dir")/kit-stamp
	want="$commit $(cat "$@" | sha256sum | cut -d' ' -f1)"
	[ -f "$dir/Makefile" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
	rm -f "$stamp"
	worktree_at "$dir" "$commit"
	for p; do
		git -C "$dir" apply "$p" ||
			die "${p#"$KIT_ROOT"/} does not apply to $(git -C "$TREE" log -1 --format='%h ("%s")' "$commit")"
	done
	echo "$want" >"$stamp"
}

# probe_kernel base|patched: build the kernel with the kit's NMI probe
# (tests/broken/nmi-probe.patch on the tree's HEAD, nmi-probe-base.patch on
# 'base') in its worktree, incrementally, and print its variant
# (probe, probe-base).  For kit/soak.sh and kit/bench.sh.
probe_kernel() {
	local v=probe commit pp=nmi-probe.patch
	case $1 in
	patched) commit=$(git -C "$TREE" rev-parse HEAD) ;;
	base) v=probe-base commit=$(git -C "$TREE" rev-parse base) pp=nmi-probe-base.patch ;;
	*) die "probe_kernel: base or patched, not '$1'" ;;
	esac
	patched_worktree "$(src_dir "$v")" "$commit" "$KIT_ROOT/tests/broken/$pp"
	bash "$KIT_ROOT/kit/build.sh" "$v" x86_64 >&2
	echo "$v"
}

# The series' test patches: those whose subject names selftests or KUnit.
series_test_patches() {
	local p
	for p in "$SERIES"/[0-9][0-9][0-9][0-9]-*.patch; do
		[ -e "$p" ] || continue
		case ${p##*/} in 0000-*) continue ;; esac
		grep -m1 '^Subject: ' "$p" | grep -q -E 'selftests|KUnit' && echo "$p"
	done
	return 0
}

# A vmx lane's TAP line of a test that failed as a test (an assertion or
# a non-zero exit), not by a hang, crash or skip: what the red lanes want.
is_red_line() {
	[[ $1 == "not ok "* ]] && [[ $1 == *"assertion"* || $1 == *"rc="[1-9]* ]] &&
		[[ $1 != *"no result"* ]]
}

# tap_expect_red OUT NAME LANE-TAP TEST WHERE: a line NAME in OUT that
# passes iff TEST failed as a test in LANE-TAP (as it must, WHERE).
tap_expect_red() {
	local out=$1 name=$2 src=$3 t=$4 where=$5 line
	line=$(grep -E "^(not )?ok [0-9]+ $t( |$)" "$src" 2>/dev/null || true)
	if is_red_line "$line"; then
		tap_add "$out" pass "$name" 0 "fails $where, as it must: $(sed 's/.*# //' <<<"${line%% # time=*}" | cut -c1-100)"
	else
		tap_add "$out" fail "$name" 0 "does not fail $where: ${line:-did not run}"
	fi
}

# tap_finish FILE WHAT: close FILE and log its counts; false if it has a
# 'not ok' (printed on stderr).
tap_finish() {
	tap_end "$1"
	log "$2: $(grep -c '^ok ' "$1" || true) ok, $(grep -c '^not ok ' "$1" || true) not ok -> ${1#"$KIT_ROOT"/}"
	! grep '^not ok ' "$1" >&2
}

# vmx_result LANE VARIANT SELFTESTS_FROM CONFIG PLAN [FLAVOUR]: where
# lane-vmx.sh leaves a run's results, without the extension (.tap, .log,
# .times, .run and .bochs.log sit there):
# $RESULTS/vmx[-fred]-VARIANT[-tests-FROM][-CONFIG]-PLANNAME[-bochs-unpatched].
# The one place that name is spelt: the lane writes it, every target that
# reads a lane's TAP asks here.
vmx_result() {
	local lane=$1 variant=$2 stv=$3 cfg=$4 plan=$5 flavour=${6:-patched} n
	n=$variant
	[ "$stv" = "$variant" ] || n+=-tests-$stv
	[ "$cfg" = x86_64 ] || n+=-$cfg
	[ "$lane" = idt ] || n=$lane-$n
	n=vmx-$n-$(basename "$plan" .plan)
	[ "$flavour" = patched ] || n+=-bochs-$flavour
	echo "$RESULTS/$n"
}

# Results: each lane writes build/results/<lane>.tap and <lane>.log.
# result_line <file> ok|not ok <n> <name> [# SKIP reason] [time]
tap_begin() { mkdir -p "$RESULTS"; : >"$1"; echo "TAP version 13" >>"$1"; }
tap_add() {
	# tap_add FILE STATUS NAME SECONDS [DIRECTIVE]
	local f=$1 st=$2 name=$3 secs=$4 dir=${5:-}
	local n
	n=$(( $(grep -c '^\(not \)\?ok ' "$f" || true) + 1 ))
	case $st in
	pass) echo "ok $n $name${dir:+ # $dir} # time=${secs}s" >>"$f" ;;
	fail) echo "not ok $n $name${dir:+ # $dir} # time=${secs}s" >>"$f" ;;
	skip) echo "ok $n $name # SKIP ${dir:-no reason given} # time=${secs}s" >>"$f" ;;
	*) die "tap_add: bad status $st" ;;
	esac
}
tap_end() { local n; n=$(grep -c '^\(not \)\?ok ' "$1" || true); echo "1..$n" >>"$1"; }

# ---- The Intel host of the vmx lanes (kit/lane-vmx.sh).
# The machine's CPU, KVM device and kvm_intel's nesting switch; the
# KIT_HOST_* variables point them elsewhere (tests/kit/vmx-host.sh).
_host_cpuinfo() { cat "${KIT_HOST_CPUINFO:-/proc/cpuinfo}" 2>/dev/null; }
# These read cpuinfo to the end: under pipefail, a reader that stops early
# (head, grep -m1, grep -q) can kill the writer with SIGPIPE on a big host
# (512 CPUs: ~1 MiB) and fail the pipe although the answer was found.
cpuinfo_field() { _host_cpuinfo | awk -F': ' -v k="$1" '!n && $1 ~ "^" k "[ \t]*$" { print $2; n = 1 }'; }
cpu_model_name() { cpuinfo_field 'model name'; }
host_cpu_has() { cpuinfo_field flags | awk -v f="$1" '{ for (i = 1; i <= NF; i++) if ($i == f) y = 1 } END { exit !y }'; }

# Why this machine cannot be the qemu-kvm host (nested VMX under KVM on
# a real Intel CPU); prints nothing when it can.
qemu_kvm_unusable() {
	local dev=${KIT_HOST_KVM_DEV:-/dev/kvm}
	local nested=${KIT_HOST_KVM_NESTED:-/sys/module/kvm_intel/parameters/nested}
	local vendor n
	vendor=$(cpuinfo_field vendor_id)
	if [ "$vendor" != GenuineIntel ]; then
		echo "the CPU is not Intel (${vendor:-no vendor_id}: $(cpu_model_name))"
	elif ! host_cpu_has vmx; then
		echo "the CPU shows no VMX (off in the firmware, or this is a VM without nesting)"
	elif [ ! -r "$dev" ] || [ ! -w "$dev" ]; then
		echo "no usable $dev (kvm_intel not loaded, or no permission)"
	else
		n=$(cat "$nested" 2>/dev/null || echo missing)
		case $n in
		Y | y | 1) ;;
		*) echo "kvm_intel does not allow nesting ($nested: $n; modprobe kvm_intel nested=1)" ;;
		esac
	fi
}

# vmx_host LANE: the host the lane (idt or fred) runs on.  KIT_VMX_HOST
# forces one (bochs, bochs-fred, bochs-2.7, qemu-kvm); auto takes a real
# Intel CPU when qemu_kvm_unusable has no objection (and, for the fred
# lane, the CPU has FRED), else Bochs, and says why on stderr.
vmx_host() {
	local lane=$1 h=${KIT_VMX_HOST:-auto} why
	case $h in
	bochs | bochs-fred) echo bochs ;;
	bochs-2.7)
		[ "$lane" = idt ] || die "KIT_VMX_HOST=bochs-2.7: Debian's Bochs 2.7 has no FRED model"
		echo bochs-2.7 ;;
	qemu-kvm)
		why=$(qemu_kvm_unusable)
		[ -z "$why" ] || die "KIT_VMX_HOST=qemu-kvm: $why"
		[ "$lane" = idt ] || host_cpu_has fred ||
			die "KIT_VMX_HOST=qemu-kvm: the fred lane needs a CPU with FRED ($(cpu_model_name) has none)"
		echo qemu-kvm ;;
	auto)
		why=$(qemu_kvm_unusable)
		[ -n "$why" ] || [ "$lane" = idt ] || host_cpu_has fred ||
			why="$(cpu_model_name) has no FRED"
		if [ -z "$why" ]; then
			echo qemu-kvm
		else
			printf 'kit: vmx-%s lane on Bochs, not on this machine'"'"'s CPU: %s\n' "$lane" "$why" >&2
			echo bochs
		fi ;;
	*) die "KIT_VMX_HOST=$h: auto, bochs, bochs-fred, bochs-2.7 or qemu-kvm" ;;
	esac
}

# Debian's i386 busybox-static (for the initramfs of an i386 kernel),
# fetched once with a private apt configuration under $BUILD/apt-i386 (the
# system's apt sources and state are not touched).  Prints its path.
BUSYBOX_I386_SOURCE=${BUSYBOX_I386_SOURCE:-"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main"}
busybox_i386() {
	local apt=$BUILD/apt-i386 dir=$BUILD/busybox-i386 deb
	if [ -x "$dir/bin/busybox" ]; then
		echo "$dir/bin/busybox"
		return 0
	fi
	ensure_pkgs apt dpkg debian-archive-keyring
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/dl"
	echo "$BUSYBOX_I386_SOURCE" >"$apt/sources.list"
	local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		    -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
		    -o Dir::State::status=/dev/null -o APT::Architecture=i386
		    -o APT::Architectures::=i386)
	log "fetching busybox-static:i386 (private apt config in ${apt#"$KIT_ROOT"/})" >&2
	apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 ||
		{ cat "$apt/update.log" >&2; die "apt-get update for i386 ('$BUSYBOX_I386_SOURCE') failed"; }
	rm -f "$apt/dl"/*.deb
	(cd "$apt/dl" && apt-get "${opts[@]}" download busybox-static:i386) >"$apt/download.log" 2>&1 ||
		{ cat "$apt/download.log" >&2; die "apt-get download busybox-static:i386 failed"; }
	deb=$(ls "$apt/dl"/busybox-static_*_i386.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || die "no busybox-static i386 package in $apt/dl"
	rm -rf "$dir.new" && mkdir -p "$dir.new"
	dpkg -x "$deb" "$dir.new"
	[ -x "$dir.new/bin/busybox" ] || die "$deb has no bin/busybox"
	rm -rf "$dir" && mv "$dir.new" "$dir"
	echo "$dir/bin/busybox"
}
