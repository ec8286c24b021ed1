#!/usr/bin/env bash
# tests/kit/matrix-table.sh: make matrix builds its table from per-config
# column files (kit/matrix.sh), so that the full matrix can be built a
# config at a time and on different machines.  On a scratch git repo (tag
# base and two commits; nothing is built: MATRIX_TABLE_ONLY=1) and a
# scratch build dir, with column files written by hand: a column of this
# series fills its cells, one landed in results/matrix/ is used when the
# build dir has none, one of another series or kit is not used ('-'); a
# rebase that changes commit ids but no content keeps a column, a change
# of content drops it.  Writes $RESULTS/kit-matrix.tap; exit 0 iff all pass.
. "$(dirname "$0")/../../kit/lib.sh"

tap=$RESULTS/kit-matrix.tap
tap_begin "$tap"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
repo=$scratch/linux b=$scratch/build landed=$scratch/landed
mkdir -p "$repo" "$b/results/matrix" "$landed"
g() { git -C "$repo" -c user.name=t -c user.email=t@kit.test "$@"; }
g init -q
echo 0 >"$repo/f"; g add f; g commit -q -m "Linux 0"; g tag base
echo 1 >"$repo/f"; g commit -q -am "x86: first"
echo 2 >"$repo/f"; g commit -q -am "KVM: second"

# table: kit/matrix.sh in table-only mode; its table in $scratch/md.
table() {
	rc=0
	env BUILD_DIR="$b" KERNEL_TREE="$repo" MATRIX_LANDED="$landed" MATRIX_TABLE_ONLY=1 \
		MATRIX_CONFIGS="x86_64 i386" bash "$KIT_ROOT/kit/matrix.sh" >"$scratch/out" 2>&1 || rc=$?
	cp "$b/results/matrix.md" "$scratch/md" 2>/dev/null || : >"$scratch/md"
}
# row STEP: the cells of the step's row in the x86_64 and i386 columns, as
# "a|b", and the other columns of the base's list must say '-' (found by
# the header: the bases list their configs in different orders).
row() {
	awk -F' *\\| *' -v s="$1" '
		$2 == "patch" { for (i = 3; i < NF; i++) col[$i] = i; next }
		$2 ~ "^" s " " {
			x = col["x86_64"]; y = col["i386"]; o = $x "|" $y
			for (i = 3; i < NF; i++)
				if (i != x && i != y && $i != "-")
					o = o "|" $i
			print o
		}' "$scratch/md"
}
check() { # check NAME WANT GOT
	if [ "$2" = "$3" ]; then
		tap_add "$tap" pass "matrix table: $1" 0
	else
		tap_add "$tap" fail "matrix table: $1" 0 "want '$2', got '$3'"
	fi
}
# column FILE SERIES KIT: a column with step 1 failed and +2 at step 2.
column() {
	printf '%s\n' "# test" "series $2" "kit $3" "date 2026-12-02T00:00Z" \
		"step 0 ok 0 5 base: Linux 0" "step 1 FAIL 0 5 x86: first" "step 2 ok 2 5 KVM: second" "seconds 900" >"$1"
}

table
sid=$(sed -n 's/^# series \([0-9a-f]*\), kit .*/\1/p' "$b/results/matrix.tap")
kid=$(sed -n 's/^# series [0-9a-f]*, kit \([0-9a-f]*\)$/\1/p' "$b/results/matrix.tap")
check "no column: exit 0 and every cell '-'" "0 -|-" "$rc $(row 1)"
[ -n "$sid" ] && [ -n "$kid" ] || { tap_add "$tap" fail "matrix table: series and kit id in the TAP" 0 "none"; }

column "$b/results/matrix/x86_64.txt" "$sid" "$kid"
column "$b/results/matrix/i386.txt" 0123456789ab "$kid"
table
check "a column of this series fills its cells; another series' does not" "ok, +0|-;FAIL, +0|-;ok, +2|-" "$(row 0);$(row 1);$(row 2)"
grep -q '^- i386: not built for this series' "$scratch/md" && r=yes || r=no
check "the other series' column is named as not built" yes "$r"

column "$landed/i386.txt" "$sid" "$kid"
column "$landed/x86_64.txt" "$sid" 0123456789ab
table
check "a landed column is used; the build dir's comes first" "ok, +2|ok, +2" "$(row 2)"
mv "$b/results/matrix/x86_64.txt" "$scratch/x86_64.txt"
table
check "a column of another kit (config fragments) is not used" "-|ok, +2" "$(row 2)"
mv "$scratch/x86_64.txt" "$b/results/matrix/x86_64.txt"

# A rebase that keeps every tree: the same series.
g reset -q --hard base
echo 1 >"$repo/f"; GIT_COMMITTER_DATE="2030-01-01T00:00:00Z" g commit -q -am "x86: first"
echo 2 >"$repo/f"; GIT_COMMITTER_DATE="2030-01-01T00:00:00Z" g commit -q -am "KVM: second"
table
check "new commit ids, same content: the columns stay" "ok, +2|ok, +2" "$(row 2)"
echo 3 >"$repo/f"; g commit -q --amend -am "KVM: second"
table
check "changed content: the columns go" "-|-" "$(row 2)"

tap_finish "$tap" kit-matrix
