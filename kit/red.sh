#!/usr/bin/env bash
# kit/red.sh: the series' tests must fail on the base without the fixes.
#
# Makes the 'tests' variant, the base with only the series' test patches
# (subjects naming selftests or KUnit) applied, in a worktree
# ($BUILD/tests/linux), builds it, boots it on the qemu lane (KUnit) and on
# the vmx lane with the red plan, and judges each line of
# tests/red-on-base.txt:
#   kunit SUITE CASE   the KUnit case must fail (its suite ran, the case is
#                      among the failed ones)
#   vmx TEST           the KVM selftest must fail with an assertion (a boot
#                      failure, hang or skip does not count)
# and that the machine booted.  Writes $RESULTS/red.tap: 'ok' = red on the
# base, as it must be.  Exit 0 iff every listed test is red there.
. "$(dirname "$0")/lib.sh"

expect=$BASE_ROOT/tests/red-on-base.txt
plan=$PLANS/red.plan
tap=$RESULTS/red.tap
mkdir -p "$RESULTS"
tap_begin "$tap"

mapfile -t tpatches < <(series_test_patches)
if (( ${#tpatches[@]} == 0 )) || [ ! -s "$expect" ]; then
	tap_add "$tap" skip red-on-base 0 "series/ has no test patches or ${expect#"$KIT_ROOT"/} names none"
	tap_end "$tap"
	exit 0
fi
git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree at $TREE: run 'make tree' first"

# The worktree: base + the test patches.  The commit is made in a scratch
# worktree, then checked out in $TESTS_SRC: only the files that differ are
# rewritten, so the build stays incremental.
want=$(cat "${tpatches[@]}" | sha256sum | cut -d' ' -f1)
stamp=$BUILD/tests/kit-tests-stamp
if [ ! -f "$TESTS_SRC/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want $(git -C "$TREE" rev-parse base)" ]; then
	mkdir -p "$BUILD/tests"
	scratch=$BUILD/tests/scratch
	git -C "$TREE" worktree remove --force "$scratch" >/dev/null 2>&1 || rm -rf "$scratch"
	git -C "$TREE" worktree prune
	run_logged "tests variant: base + the test patches" "$BUILD/tests/worktree.log" \
		git -C "$TREE" worktree add --detach "$scratch" base
	for p in "${tpatches[@]}"; do
		git -C "$scratch" -c user.name=kit -c user.email=kit@localhost \
			am -q --committer-date-is-author-date "$p" >"$BUILD/tests/am.log" 2>&1 ||
			{ cat "$BUILD/tests/am.log" >&2; git -C "$scratch" am --abort >/dev/null 2>&1 || true;
			  git -C "$TREE" worktree remove --force "$scratch" >/dev/null 2>&1 || true
			  rm -f "$stamp"; die "test patch ${p##*/} does not apply on base without the rest of the series"; }
	done
	commit=$(git -C "$scratch" rev-parse HEAD)
	git -C "$TREE" worktree remove --force "$scratch"
	if [ -f "$TESTS_SRC/Makefile" ]; then
		git -C "$TESTS_SRC" checkout -q --detach "$commit"
	else
		rm -rf "$TESTS_SRC"
		git -C "$TREE" worktree prune
		git -C "$TREE" worktree add -q --detach "$TESTS_SRC" "$commit"
	fi
	echo "$want $(git -C "$TREE" rev-parse base)" >"$stamp"
fi
log "tests variant: base + ${#tpatches[@]} test patch(es): ${tpatches[*]##*/}"

bash "$KIT_ROOT/kit/build.sh" tests x86_64
bash "$KIT_ROOT/kit/lane-qemu.sh" tests || true
bash "$KIT_ROOT/kit/lane-vmx.sh" tests "$plan" || true
qtap=$RESULTS/qemu-tests.tap
vtap=$(vmx_result idt tests tests x86_64 "$plan").tap

for f in "$qtap" "$vtap"; do
	if grep -q '^ok [0-9]* boot' "$f" 2>/dev/null; then
		tap_add "$tap" pass "boots:${f##*/}" 0
	else
		tap_add "$tap" fail "boots:${f##*/}" 0 "the tests variant did not boot there: cannot judge"
	fi
done

while read -r kind a b; do
	case $kind in ''|'#'*) continue ;; esac
	case $kind in
	kunit)
		line=$(grep -E "^(not )?ok [0-9]+ kunit:$a( |$)" "$qtap" || true)
		if [[ $line == "not ok "* ]] && [[ " ${line#*failed:} " == *" $b "* ]]; then
			tap_add "$tap" pass "red:kunit:$a.$b" 0 "fails on base + tests, as it must"
		else
			tap_add "$tap" fail "red:kunit:$a.$b" 0 "does not fail on the base: ${line:-suite did not run}"
		fi ;;
	vmx)
		tap_expect_red "$tap" "red:$a" "$vtap" "$a" "on base + tests" ;;
	*) die "${expect#"$KIT_ROOT"/}: unknown kind '$kind' (kunit or vmx)" ;;
	esac
done <"$expect"
tap_finish "$tap" red
