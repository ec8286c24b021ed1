#!/usr/bin/env bash
# make matrix: does every patch of the series build on its own?
#
# In a worktree of its own (build/matrix/linux), builds 'base' and then
# each commit of the series in order, for each configuration
# (MATRIX_CONFIGS of kit/base-<base>.conf; a modular config builds the
# modules too, a '#!llvm' one is a clang build), incrementally in its own
# O= dir: a step rebuilds only what its patch touched (ccache is shared
# with the other builds).  A step's warning lines (compiler and objtool)
# that the base build did not print count as added.
#
# One config at a time, each ending in a column file,
# build/results/matrix/<config>.txt: the series id (the tree ids of base
# and of every step), the kit id (the config fragments and build.sh), the
# date and one line per step.  The table, build/results/matrix.md, is made
# from every column file of this series and kit, from this run, an earlier
# one, or one that landed in results/matrix/ from another machine; so the
# full matrix can be built a config at a time.  MATRIX_SKIP_DONE=1 builds
# only the configs that have no column for this series yet;
# MATRIX_TABLE_ONLY=1 (make matrix-table) builds nothing and only makes the
# table.  MATRIX_LANDED: where landed column files are (results/matrix/).
#
# At the tip (MATRIX_TIP=0 leaves it out), if the run built x86_64 or
# x86_64-guests: the C files the series touches are built again with W=1
# and with sparse (C=2) and their warnings compared with the same files at
# 'base'; and scripts/kernel-doc -none runs on the touched headers and C
# files, base against tip.
#
# Writes build/results/matrix.tap (this run's steps), the column files,
# build/results/matrix.md and the logs in build/matrix/logs/.
. "$(dirname "$0")/lib.sh"

table_only=${MATRIX_TABLE_ONLY:-0}
# shellcheck disable=SC2206 # a list of names
configs=($MATRIX_CONFIGS)
if [ "$table_only" = 1 ]; then
	configs=()
else
	ensure_pkgs "${PKGS_BUILD[@]}" "${PKGS_CHECK[@]}"
fi
# The base's full list, for the table's columns.
# shellcheck disable=SC1090 # the base's own conf
read -ra allconfigs < <(unset MATRIX_CONFIGS; . "$KIT_ROOT/kit/base-$KIT_BASE.conf"; echo "$MATRIX_CONFIGS")
mdir=$BUILD/matrix
wt=$mdir/linux
logs=$mdir/logs
tap=$RESULTS/matrix.tap
md=$RESULTS/matrix.md
cols=$RESULTS/matrix
landed=${MATRIX_LANDED:-$BASE_ROOT/results/matrix}
mkdir -p "$logs" "$cols"

git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree at $TREE: run 'make tree' first"
mapfile -t commits < <(git -C "$TREE" rev-list --reverse base..HEAD)
(( ${#commits[@]} )) || die "no commits on base: nothing to check"
steps=(base "${commits[@]}")
if [ "$table_only" != 1 ] && [ ! -e "$wt/Makefile" ]; then
	git -C "$TREE" worktree prune
	rm -rf "$wt"
	git -C "$TREE" worktree add -q --detach "$wt" base
fi

# What a column was built from: the content of every step (not the commit
# ids, which change with every 'git am'), and what the kit builds it with.
series_id=$(for c in "${steps[@]}"; do git -C "$TREE" rev-parse "$c^{tree}"; done | sha1sum | cut -c1-12)
kit_id=$(cat "$KIT_ROOT"/configs/*.config "$BASE_ROOT"/configs/*.config "$KIT_ROOT/kit/build.sh" 2>/dev/null |
	sha1sum | cut -c1-12)

# column_file CFG: the newest column file of this series and kit, if any.
column_file() {
	local f
	for f in "$cols/$1.txt" "$landed/$1.txt"; do
		[ -f "$f" ] || continue
		grep -qx "series $series_id" "$f" && grep -qx "kit $kit_id" "$f" && { echo "$f"; return 0; }
	done
	return 1
}

# matrix_build CFG LOG: kit/build.sh with the matrix worktree as the tree
# (KERNEL_TREE) and its own O= dir (MATRIX_OUT).
matrix_build() {
	local cfg=$1 logf=$2 rc=0
	KERNEL_TREE=$wt MATRIX_OUT=$mdir/obj-$cfg \
		bash "$KIT_ROOT/kit/build.sh" patched "$cfg" >"$logf.kit" 2>&1 || rc=$?
	cp "$mdir/obj-$cfg/build.log" "$logf" 2>/dev/null || : >"$logf"
	grep -E 'warning:|error:' "$logf" | sed -E "s|^[./]*(\.\./)*linux/||" | sort -u >"$logf.w" || true
	return $rc
}

tap_begin "$tap"
echo "# series $series_id, kit $kit_id" >>"$tap"
built=()
for cfg in "${configs[@]}"; do
	if [ "${MATRIX_SKIP_DONE:-0}" = 1 ] && f=$(column_file "$cfg"); then
		log "matrix: $cfg: done for this series ($(sed -n 's/^date //p' "$f"), ${f#"$KIT_ROOT"/}): skipped"
		echo "# $cfg: done for this series in ${f#"$KIT_ROOT"/}: not built again" >>"$tap"
		continue
	fi
	col=$cols/$cfg.txt
	{
		echo "# make matrix column: $cfg"
		echo "series $series_id"
		echo "kit $kit_id"
		echo "date $(date -u +%Y-%m-%dT%H:%MZ)"
	} >"$col.new"
	t_cfg=$SECONDS
	step=0
	for c in "${steps[@]}"; do
		git -C "$wt" checkout -q --detach "$c"
		subj=$(git -C "$wt" log -1 --format=%s HEAD)
		[ "$c" = base ] && subj="base: $subj"
		logf=$logs/$step-$cfg.log
		t0=$SECONDS
		if matrix_build "$cfg" "$logf"; then res=ok; else res=FAIL; fi
		if [ "$c" = base ]; then
			cp "$logf.w" "$logs/base-$cfg.w"
			added=0
		else
			added=$(comm -23 "$logf.w" "$logs/base-$cfg.w" | tee "$logf.added" | wc -l)
		fi
		echo "step $step $res $added $((SECONDS - t0)) $subj" >>"$col.new"
		name="step $step $cfg: ${subj:0:50}"
		if [ "$res" = ok ] && [ "$added" = 0 ]; then
			tap_add "$tap" pass "$name" $((SECONDS - t0))
		else
			tap_add "$tap" fail "$name ($res, $added new warning line(s), see ${logf#"$KIT_ROOT"/})" $((SECONDS - t0))
		fi
		log "matrix: $name -> $res, +$added ($((SECONDS - t0)) s)"
		step=$((step + 1))
	done
	echo "seconds $((SECONDS - t_cfg))" >>"$col.new"
	mv "$col.new" "$col"
	built+=("$cfg")
done

# The table: every config of the base's list and of this run, from the
# column files of this series.
tabcfgs=("${allconfigs[@]}")
for cfg in "${configs[@]}"; do
	[[ " ${tabcfgs[*]} " == *" $cfg "* ]] || tabcfgs+=("$cfg")
done
declare -A colf
for cfg in "${tabcfgs[@]}"; do
	colf[$cfg]=$(column_file "$cfg" || true)
done
{
	echo "# Build matrix: each patch of the series on its own"
	echo
	echo "Base: $(git -C "$TREE" log -1 --format='%h %s' base). Series id $series_id"
	echo "(the tree of every step), kit id $kit_id (configs/, kit/build.sh)."
	echo "Configs: tinyconfig + configs/ fragments with CPU_MITIGATIONS (kit/build.sh:"
	echo "KVM_INTEL=y, DEBUG_ENTRY=y and objtool noinstr validation on x86_64;"
	echo "x86_64-kvm-m: KVM_INTEL=m, modules built; x86_64-guests: Hyper-V, Xen HVM,"
	echo "ACRN and KVM guest support; x86_64-cfi: clang 19 with CONFIG_CFI and kernel"
	echo "IBT; x86_64-nofred (6.12): X86_FRED=n; i386: KVM_INTEL on 32-bit).  A cell"
	echo "is ok/FAIL and the number of warning lines the step printed that the base"
	echo "build of that config did not; '-' is a config not built for this series."
	echo
	printf '| patch |'; printf ' %s |' "${tabcfgs[@]}"; echo
	printf '|---|'; printf -- '---|%.0s' "${tabcfgs[@]}"; echo
	for ((step = 0; step < ${#steps[@]}; step++)); do
		subj=$(git -C "$TREE" log -1 --format=%s "${steps[step]}")
		[ "$step" = 0 ] && subj="base: $subj"
		row="| $step ${subj:0:60} |"
		for cfg in "${tabcfgs[@]}"; do
			cell=-
			if [ -n "${colf[$cfg]}" ]; then
				cell=$(awk -v s="$step" '$1 == "step" && $2 == s { print $3 ", +" $4 }' "${colf[$cfg]}")
				[ -n "$cell" ] || cell=-
			fi
			row+=" $cell |"
		done
		echo "$row"
	done
	echo
	echo "Columns:"
	for cfg in "${tabcfgs[@]}"; do
		if [ -n "${colf[$cfg]}" ]; then
			echo "- $cfg: built $(sed -n 's/^date //p' "${colf[$cfg]}") in $(( $(sed -n 's/^seconds //p' "${colf[$cfg]}") / 60 )) min"
		else
			echo "- $cfg: not built for this series"
		fi
	done
} >"$md"

# At the tip: W=1 and sparse on the touched C files that the widest x86_64
# config of this run builds, against base.
xcfg=
for c in x86_64 x86_64-guests; do
	[[ " ${built[*]} " == *" $c "* ]] && xcfg=$c
done
if [ "${MATRIX_TIP:-1}" = 1 ] && [ -n "$xcfg" ]; then
	mapfile -t cfiles < <(git -C "$TREE" diff --name-only base HEAD -- '*.c' |
		grep -v '^tools/' || true)
	mapfile -t docfiles < <(git -C "$TREE" diff --name-only base HEAD -- '*.h' '*.c' |
		grep -v '^tools/' || true)
	extra_checks() {
		local rev=$1 out=$2
		shift 2
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
	echo >>"$md"
	echo "At the tip:" >>"$md"
	for kind in W1 sparse; do
		case $kind in
		W1) args=(W=1) ;;
		sparse) args=(C=2) ;;
		esac
		t0=$SECONDS
		extra_checks base "$logs/tip-$kind-base.w" "${args[@]}"
		extra_checks "${commits[-1]}" "$logs/tip-$kind.w" "${args[@]}"
		added=$(comm -23 "$logs/tip-$kind.w" "$logs/tip-$kind-base.w" | tee "$logs/tip-$kind.added" | wc -l)
		if (( added == 0 )); then
			tap_add "$tap" pass "$kind on the touched C files ($xcfg): nothing new" $((SECONDS - t0))
		else
			tap_add "$tap" fail "$kind on the touched C files: $added new (${logs#"$KIT_ROOT"/}/tip-$kind.added)" $((SECONDS - t0))
		fi
		echo "- $kind on the C files the series touches that $xcfg builds: $added new warning line(s)" >>"$md"
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
	echo "- kernel-doc -none -Wall on the ${#docfiles[@]} touched headers and C files: $added new warning(s)" >>"$md"
else
	log "matrix: no W=1/sparse/kernel-doc at the tip (MATRIX_TIP=0, or no x86_64 config built in this run)"
	echo "# no W=1/sparse/kernel-doc at the tip in this run" >>"$tap"
fi
tap_end "$tap"
log "matrix: ${md#"$KIT_ROOT"/}; column files in ${cols#"$KIT_ROOT"/}/ (copy them to ${landed#"$KIT_ROOT"/}/ to land them)"
cat "$md"
! grep -q '^not ok' "$tap"
