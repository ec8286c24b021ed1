#!/usr/bin/env bash
# make matrix: does every patch of the series build on its own?
#
# In a worktree of its own (build/matrix/linux), checks out 'base' and then
# each commit of the series in order, and builds each configuration
# (MATRIX_CONFIGS of kit/base-<base>.conf; a modular config builds the modules too)
# incrementally in
# its own O= dir: a step rebuilds only what its patch touched (ccache is
# shared with the other builds).  A step's warning lines (compiler and
# objtool) that the base build did not print count as added.  At the tip,
# the C files the series touches are built again with W=1 and with sparse
# (C=2), and their warnings compared with the same files at 'base'; and
# scripts/kernel-doc -none runs on the touched headers, C files and the
# series' new documentation.
#
# Writes build/results/matrix.tap, build/results/matrix.md (the table,
# patch x config -> ok/FAIL and warnings added) and the logs in
# build/matrix/logs/.
. "$(dirname "$0")/lib.sh"

ensure_pkgs "${PKGS_BUILD[@]}" "${PKGS_CHECK[@]}"
# shellcheck disable=SC2206 # a list of names
configs=($MATRIX_CONFIGS)
mdir=$BUILD/matrix
wt=$mdir/linux
logs=$mdir/logs
tap=$RESULTS/matrix.tap
md=$RESULTS/matrix.md
mkdir -p "$logs"

git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree at $TREE: run 'make tree' first"
mapfile -t commits < <(git -C "$TREE" rev-list --reverse base..HEAD)
(( ${#commits[@]} )) || die "no commits on base: nothing to check"
if [ ! -e "$wt/Makefile" ]; then
	git -C "$TREE" worktree prune
	rm -rf "$wt"
	git -C "$TREE" worktree add -q --detach "$wt" base
fi

# kit/build.sh with the matrix worktree as the tree (KERNEL_TREE) and its
# own O= dir (MATRIX_OUT).
matrix_build() {
	local cfg=$1 logf=$2 rc=0
	KERNEL_TREE=$wt MATRIX_OUT=$mdir/obj-$cfg \
		bash "$KIT_ROOT/kit/build.sh" patched "$cfg" >"$logf.kit" 2>&1 || rc=$?
	cp "$mdir/obj-$cfg/build.log" "$logf" 2>/dev/null || : >"$logf"
	grep -E 'warning:|error:' "$logf" | sed -E "s|^[./]*(\.\./)*linux/||" | sort -u >"$logf.w" || true
	return $rc
}

tap_begin "$tap"
{
	echo "# Build matrix: each patch of the series on its own"
	echo
	echo "Base: $(git -C "$TREE" log -1 --format='%h %s' base). Configs: tinyconfig +"
	echo "configs/ fragments (KVM_INTEL=y, DEBUG_ENTRY=y on x86_64, objtool noinstr"
	echo "validation on x86_64). A cell is ok/FAIL and the number of warning lines the"
	echo "step printed that the base build of that config did not."
	echo
	printf '| patch |'; printf ' %s |' "${configs[@]}"; echo
	printf '|---|'; printf -- '---|%.0s' "${configs[@]}"; echo
} >"$md"

declare -A basew
step=0
for c in base "${commits[@]}"; do
	git -C "$wt" checkout -q --detach "$c"
	subj=$(git -C "$wt" log -1 --format=%s HEAD)
	[ "$c" = base ] && subj="base: $subj"
	row="| $step ${subj:0:60} |"
	for cfg in "${configs[@]}"; do
		logf=$logs/$step-$cfg.log
		t0=$SECONDS
		if matrix_build "$cfg" "$logf"; then res=ok; else res=FAIL; fi
		if [ "$c" = base ]; then
			cp "$logf.w" "$logs/base-$cfg.w"
			added=0
		else
			added=$(comm -23 "$logf.w" "$logs/base-$cfg.w" | tee "$logf.added" | wc -l)
		fi
		row+=" $res, +$added |"
		name="step $step $cfg: ${subj:0:50}"
		if [ "$res" = ok ] && [ "$added" = 0 ]; then
			tap_add "$tap" pass "$name" $((SECONDS - t0))
		else
			tap_add "$tap" fail "$name ($res, $added new warning line(s), see ${logf#"$KIT_ROOT"/})" $((SECONDS - t0))
		fi
		log "matrix: $name -> $res, +$added ($((SECONDS - t0)) s)"
	done
	echo "$row" >>"$md"
	step=$((step + 1))
done

# At the tip: W=1 and sparse on the touched C files that the widest x86_64
# config builds, against base.
xcfg=x86_64-guests
[[ " ${configs[*]} " == *" $xcfg "* ]] || xcfg=x86_64
mapfile -t cfiles < <(git -C "$TREE" diff --name-only base HEAD -- '*.c' |
	grep -v '^tools/' || true)
mapfile -t docfiles < <(git -C "$TREE" diff --name-only base HEAD -- '*.h' '*.c' |
	grep -v '^tools/' || true)
extra_checks() {
	local what=$1 rev=$2 out=$3
	shift 3
	git -C "$wt" checkout -q --detach "$rev"
	: >"$out"
	local f
	for f in "${cfiles[@]}"; do
		# Only what the config builds (a file it leaves out proves nothing).
		[ -f "$wt/$f" ] && [ -f "$mdir/obj-$xcfg/${f%.c}.o" ] || continue
		make -C "$wt" O="$mdir/obj-$xcfg" ARCH=x86_64 "$@" "${f%.c}.o" 2>&1 |
			grep -E 'warning:|error:' | sed -E "s|^[./]*(\.\./)*linux/||" >>"$out" || true
	done
	sort -u -o "$out" "$out"
}
for kind in W1 sparse; do
	case $kind in
	W1) args=(W=1) ;;
	sparse) args=(C=2) ;;
	esac
	t0=$SECONDS
	extra_checks "$kind" base "$logs/tip-$kind-base.w" "${args[@]}"
	extra_checks "$kind" HEAD "$logs/tip-$kind.w" "${args[@]}"
	git -C "$wt" checkout -q --detach "${commits[-1]}"
	added=$(comm -23 "$logs/tip-$kind.w" "$logs/tip-$kind-base.w" | tee "$logs/tip-$kind.added" | wc -l)
	if (( added == 0 )); then
		tap_add "$tap" pass "$kind on the touched C files ($xcfg): nothing new" $((SECONDS - t0))
	else
		tap_add "$tap" fail "$kind on the touched C files: $added new (${logs#"$KIT_ROOT"/}/tip-$kind.added)" $((SECONDS - t0))
	fi
	echo "- $kind on the C files the series touches that $xcfg builds: $added new warning line(s)" >>"$md.tail"
done
# kernel-doc on the touched headers and C files, base against tip.
kerneldoc() {
	git -C "$wt" checkout -q --detach "$1"
	local f docs=()
	for f in "${docfiles[@]}"; do [ -f "$wt/$f" ] && docs+=("$f"); done
	(cd "$wt" && perl scripts/kernel-doc -none -Wall "${docs[@]}") 2>&1 |
		grep -E 'warning|error' | sed -E 's/:[0-9]+:/:/' | sort -u || true
}
kerneldoc base >"$logs/kernel-doc-base.w"
kerneldoc "${commits[-1]}" >"$logs/kernel-doc.w"
added=$(comm -23 "$logs/kernel-doc.w" "$logs/kernel-doc-base.w" | tee "$logs/kernel-doc.added" | wc -l)
if (( added == 0 )); then
	tap_add "$tap" pass "kernel-doc on the touched headers and C files: nothing new" 0
else
	tap_add "$tap" fail "kernel-doc: $added new warning(s) (${logs#"$KIT_ROOT"/}/kernel-doc.added)" 0
fi
echo "- kernel-doc -none -Wall on the ${#docfiles[@]} touched headers and C files: $added new warning(s)" >>"$md.tail"
{ echo; echo "At the tip:"; cat "$md.tail"; } >>"$md"
rm -f "$md.tail"
tap_end "$tap"
log "matrix: ${md#"$KIT_ROOT"/}"
cat "$md"
! grep -q '^not ok' "$tap"
