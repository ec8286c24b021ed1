#!/usr/bin/env bash
# kit/summary.sh [LANE-TAP...]: the verdict table from build/results/*.tap
# (lane, test, result, time), then one line 'N passed, N failed, N skipped'.
# Exit status: 1 if any test failed, or if a required lane (REQUIRED_LANES,
# space separated TAP basenames) is missing or has no test that ran.
. "$(dirname "$0")/lib.sh"

files=("$@")
if (( ${#files[@]} == 0 )); then
	shopt -s nullglob
	files=("$RESULTS"/*.tap)
fi
pass=0 fail=0 skip=0 bad=0
# HOST: what the lane ran on (the TAP's '# hostcol:' line), else '-'.
printf '\n%-26s %-36s %-50s %-6s %s\n' LANE HOST TEST RESULT TIME
printf '%-26s %-36s %-50s %-6s %s\n' ---- ---- ---- ------ ----
for f in "${files[@]}"; do
	lane=$(basename "$f" .tap)
	hostc=$(sed -n 's/^# hostcol: //p' "$f" | head -n 1)
	hostc=${hostc:--}
	while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*) ;;
		*) continue ;;
		esac
		secs=$(sed -n 's/.*# time=\([0-9.]*s\).*/\1/p' <<<"$line")
		name=$(sed -E 's/^(not )?ok [0-9]+ //; s/ # time=[0-9.]+s$//' <<<"$line")
		if [[ $line == "not ok "* ]]; then
			res=FAIL; fail=$((fail + 1))
		elif [[ $line == *"# SKIP"* ]]; then
			res=SKIP; skip=$((skip + 1))
		else
			res=PASS; pass=$((pass + 1))
		fi
		printf '%-26s %-36s %-50s %-6s %s\n' "$lane" "${hostc:0:36}" "${name:0:50}" "$res" "${secs:--}"
	done <"$f"
done
for lane in ${REQUIRED_LANES:-}; do
	f=$RESULTS/$lane.tap
	if [ ! -f "$f" ]; then
		printf '%-26s %-36s %-50s %-6s %s\n' "$lane" - "(lane did not run)" FAIL -
		fail=$((fail + 1)); bad=1
	elif ! awk '/^ok / && !/# SKIP/ { y = 1 } END { exit !y }' "$f"; then
		printf '%-26s %-36s %-50s %-6s %s\n' "$lane" - "(required lane skipped: $(grep -m1 -o 'SKIP.*' "$f" || echo 'no test ran'))" FAIL -
		fail=$((fail + 1)); bad=1
	fi
done
echo
echo "$pass passed, $fail failed, $skip skipped"
(( fail == 0 && bad == 0 ))
