#!/usr/bin/env bash
# The static lane: what can be checked without building or booting.
#  - series/ applies with 'git am' on 'base' (in a scratch worktree);
#  - the tree holds what series/ holds (else the lanes test something else);
#  - checkpatch.pl --strict on every patch: no ERROR, WARNING or CHECK;
#  - the claims in tests/series-claims.txt about the patched sources.
# Writes build/results/static.tap and static.log.
. "$(dirname "$0")/lib.sh"

# checkpatch runs scripts/spdxcheck.py with "python3" from PATH: Debian's, with
# its modules (a python3 earlier in PATH may lack them).
ensure_pkgs git python3 "${PKGS_CHECK[@]}"
tap=$RESULTS/static.tap
logf=$RESULTS/static.log
tap_begin "$tap"
: >"$logf"
shopt -s nullglob
patches=("$SERIES"/[0-9][0-9][0-9][0-9]-*.patch)
real=()
for p in "${patches[@]}"; do case ${p##*/} in 0000-*) ;; *) real+=("$p") ;; esac; done

git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree at $TREE: run 'make tree' first"

# 1. The series applies on base.
scratch=$BUILD/static-apply
t0=$SECONDS
git -C "$TREE" worktree remove --force "$scratch" >/dev/null 2>&1 || rm -rf "$scratch"
git -C "$TREE" worktree prune
git -C "$TREE" worktree add -q --detach "$scratch" base >>"$logf" 2>&1
applied=1
for p in "${real[@]}"; do
	if ! git -C "$scratch" -c user.name=kit -c user.email=kit@localhost \
		am -q "$p" >>"$logf" 2>&1; then
		echo "does not apply: ${p##*/}" >>"$logf"
		git -C "$scratch" am --show-current-patch=diff 2>/dev/null |
			sed -n 's|^+++ b/|  touches: |p' >>"$logf"
		applied=0
		break
	fi
done
if (( applied )); then
	tap_add "$tap" pass "series-applies (${#real[@]} patches)" $((SECONDS - t0))
else
	tap_add "$tap" fail "series-applies: ${p##*/} does not apply" $((SECONDS - t0))
fi

# 2. The tree is what series/ says (compare the resulting trees).
if (( applied )); then
	want=$(git -C "$scratch" rev-parse 'HEAD^{tree}')
	have=$(git -C "$TREE" rev-parse 'HEAD^{tree}')
	if [ "$want" = "$have" ]; then
		tap_add "$tap" pass "tree-matches-series" 0
	else
		echo "the tree at $TREE differs from base + series/: 'make export' (or 'make tree')" >>"$logf"
		tap_add "$tap" fail "tree-matches-series: $TREE differs from series/ (make export?)" 0
	fi
fi
git -C "$TREE" worktree remove --force "$scratch" >/dev/null 2>&1 || true

# 3. checkpatch --strict, one line per patch.
# FILE_PATH_CHANGES ("does MAINTAINERS need updating?") fires for any added
# file; whether the new files have maintainers is checked below with
# get_maintainer.pl instead.  UNKNOWN_COMMIT_ID: a tree unpacked from a
# tarball has no upstream history to look cited commits up in; they are
# checked against tests/upstream-commits.txt below instead.
ignore=FILE_PATH_CHANGES
if [ "$(git -C "$TREE" rev-list --count base)" = 1 ]; then
	ignore=$ignore,UNKNOWN_COMMIT_ID
fi
for p in "${real[@]}"; do
	t0=$SECONDS
	out=$(cd "$TREE" && PATH=/usr/bin:$PATH perl scripts/checkpatch.pl --strict \
		--no-color --ignore "$ignore" "$p" 2>&1) || true
	{ echo "== checkpatch ${p##*/}"; echo "$out"; } >>"$logf"
	total=$(grep -E '^total: ' <<<"$out" | tail -n 1)
	if grep -qE '^total: 0 errors, 0 warnings, (0 checks, )?[0-9]+ lines checked' <<<"$out"; then
		tap_add "$tap" pass "checkpatch ${p##*/}" $((SECONDS - t0))
	else
		tap_add "$tap" fail "checkpatch ${p##*/}: ${total:-no verdict}" $((SECONDS - t0))
	fi
done

# 3b. Every upstream commit a message cites ('Fixes: <id> ("subject")' or
#     'commit <id> ("subject")', possibly wrapped) is in
#     tests/upstream-commits.txt with that subject.
known=$BASE_ROOT/tests/upstream-commits.txt
if (( ${#real[@]} )); then
	t0=$SECONDS
	bad=$(python3 - "$known" "${real[@]}" <<'EOF_PY'
import re, sys
known = {}
try:
    for line in open(sys.argv[1]):
        line = line.rstrip("\n")
        if line and not line.startswith("#"):
            sha, subj = line.split(" ", 1)
            known[sha] = subj
except FileNotFoundError:
    pass
for path in sys.argv[2:]:
    text = open(path).read()
    msg = text.split("\n---\n", 1)[0]
    flat = re.sub(r"\s*\n\s*", " ", msg)
    for sha, subj in re.findall(r"\b([0-9a-f]{12,40}) \(\"(.+?)\"\)", flat):
        want = known.get(sha[:12])
        if want is None:
            print(f"{path.rsplit('/', 1)[-1]}: {sha} is not in upstream-commits.txt")
        elif want != subj:
            print(f"{path.rsplit('/', 1)[-1]}: {sha} is \"{want}\", cited as \"{subj}\"")
EOF_PY
)
	if [ -z "$bad" ]; then
		tap_add "$tap" pass "cited upstream commits are known" $((SECONDS - t0))
	else
		echo "$bad" >>"$logf"
		tap_add "$tap" fail "cited upstream commits: $(head -n 1 <<<"$bad")" $((SECONDS - t0))
	fi
fi

# 4. Every file the series adds has a maintainer entry (MAINTAINERS F:
#    patterns), not just the catch-all linux-kernel list.
if (( ${#real[@]} )); then
	t0=$SECONDS
	orphans=()
	while read -r f; do
		who=$(cd "$TREE" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
			--no-rolestats -f "$f" 2>/dev/null | grep -v 'linux-kernel@vger.kernel.org' || true)
		[ -n "$who" ] || orphans+=("$f")
	done < <(git -C "$TREE" diff --name-only --diff-filter=A base HEAD)
	if (( ${#orphans[@]} )); then
		echo "added files without a MAINTAINERS entry: ${orphans[*]}" >>"$logf"
		tap_add "$tap" fail "new files have maintainers: ${orphans[*]}" $((SECONDS - t0))
	else
		tap_add "$tap" pass "new files have maintainers" $((SECONDS - t0))
	fi
fi

# 5. Claims about the patched sources, from tests/series-claims.txt:
#      absent SYMBOL        git grep finds SYMBOL nowhere in the tree
#      present FILE REGEX   FILE (in the tree) matches REGEX
#      lacks FILE REGEX     FILE exists and does not match REGEX
#      in-system-map SYMBOL the patched x86_64 kernel's System.map has SYMBOL
claims=$CLAIMS
if (( ${#real[@]} == 0 )); then
	tap_add "$tap" skip "series-claims" 0 "series/ is empty: the claims are about the series"
else
	while read -r kind a b; do
		case $kind in ''|'#'*) continue ;; esac
		case $kind in
		absent)
			if hits=$(git -C "$TREE" grep -n -w -e "$a" -- . 2>/dev/null); then
				echo "$hits" >>"$logf"
				tap_add "$tap" fail "claim: $a absent ($(wc -l <<<"$hits") hit(s))" 0
			else
				tap_add "$tap" pass "claim: $a absent" 0
			fi ;;
		present)
			if grep -qE "$b" "$TREE/$a" 2>/dev/null; then
				tap_add "$tap" pass "claim: $a has /$b/" 0
			else
				tap_add "$tap" fail "claim: $a has /$b/" 0
			fi ;;
		lacks)
			if [ ! -f "$TREE/$a" ]; then
				tap_add "$tap" fail "claim: $a lacks /$b/ (no such file)" 0
			elif grep -nE "$b" "$TREE/$a" >>"$logf"; then
				tap_add "$tap" fail "claim: $a lacks /$b/" 0
			else
				tap_add "$tap" pass "claim: $a lacks /$b/" 0
			fi ;;
		in-system-map)
			map=$(out_dir patched x86_64)/System.map
			if [ ! -f "$map" ]; then
				tap_add "$tap" fail "claim: $a in System.map (no $map: 'make build' first)" 0
			elif grep -qE " $a\$" "$map"; then
				tap_add "$tap" pass "claim: $a in System.map" 0
			else
				tap_add "$tap" fail "claim: $a in System.map" 0
			fi ;;
		*) die "$claims: unknown claim '$kind'" ;;
		esac
	done <"$claims"
fi

# 6. Every purpose-made defect and probe (tests/broken/, with the probes
#    its .expect names in '#!with') and every experiment (experiments/)
#    still applies to the tree's HEAD, so that 'make broken' and 'make
#    vectoring' can show their tests fail.  Applied to a scratch index
#    (git apply --cached), the tree's files are not touched.
if (( ${#real[@]} )) && [ "${KIT_BASE:-7.3}" = 7.3 ]; then
	idx=$(mktemp "$BUILD/static-index.XXXXXX")
	stale=()
	for p in "$BASE_ROOT"/tests/broken/*.patch "$KIT_ROOT"/experiments/*.patch; do
		[ -f "$p" ] || continue
		e=${p%.patch}.expect
		rm -f "$idx"
		# A probe for plain 7.3 (NAME-base.patch, kit/soak.sh) goes on base.
		on=HEAD; case ${p##*/} in *-base.patch) on=base ;; esac
		GIT_INDEX_FILE=$idx git -C "$TREE" read-tree "$on"
		ok=1
		for w in $(sed -n 's/^#!with //p' "$e" 2>/dev/null); do
			GIT_INDEX_FILE=$idx git -C "$TREE" apply --cached "$BASE_ROOT/tests/broken/$w.patch" \
				>>"$logf" 2>&1 || ok=0
		done
		GIT_INDEX_FILE=$idx git -C "$TREE" apply --cached "$p" >>"$logf" 2>&1 || ok=0
		(( ok )) || stale+=("${p#"$KIT_ROOT"/}")
	done
	rm -f "$idx"
	if (( ${#stale[@]} )); then
		tap_add "$tap" fail "defects and experiments apply to the tree: not ${stale[*]}" 0
	else
		tap_add "$tap" pass "defects and experiments apply to the tree" 0
	fi
fi
tap_end "$tap"
! grep -q '^not ok' "$tap"
