#!/usr/bin/env bash
# tests/kit/mail-identity.sh: 'make mail' (kit/mail.sh) refuses to mail the
# series under a placeholder identity and puts the sender's own on the
# mails.  Runs kit/mail.sh with a scratch HOME, global git config and build
# dir (BUILD_DIR; the kernel tree is the kit's, KERNEL_TREE) and the
# identity in GIT_CONFIG_COUNT entries, which git takes over every config
# file, the repo's own included.  Refused: the kit's placeholder author,
# an unset name or address, "Your Name", an address without '@' or at a
# reserved domain, a placeholder MAIL_FROM; a refusal leaves the previous
# build/mail/ as it was.  Accepted: "Ada Lovelace <ada@kernel-dev.net>":
# every mail is from her and signed off by her, only the placeholder's
# From:/Signed-off-by: lines and the To:/Cc: headers differ from series/,
# which is not changed.  Nothing is sent (MAIL_SEND is unset).  Writes
# $RESULTS/kit-mail.tap; exit 0 iff all pass.
. "$(dirname "$0")/../../kit/lib.sh"

tap=$RESULTS/kit-mail.tap
tap_begin "$tap"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
b=$scratch/build
placeholder="Kit Developer <kit-dev@example.org>"

finish() {
	tap_end "$tap"
	log "kit-mail: $(grep -c '^ok ' "$tap" || true) ok, $(grep -c '^not ok ' "$tap" || true) not ok -> ${tap#"$KIT_ROOT"/}"
	grep '^not ok ' "$tap" >&2 || exit 0
	exit 1
}
if ! git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1; then
	tap_add "$tap" skip "mail: identity" 0 "no kernel tree at $TREE ('make tree')"
	finish
fi

# mail NAME EMAIL [VAR=VALUE...]: kit/mail.sh with user.name NAME and
# user.email EMAIL ('-': not set at all), on a build dir whose mail/ holds
# one file of an earlier run.  Sets rc; stdout+stderr in $scratch/out.
mail() {
	local name=$1 email=$2 n=0 cfg=()
	shift 2
	if [ "$name" != - ]; then
		cfg+=("GIT_CONFIG_KEY_$n=user.name" "GIT_CONFIG_VALUE_$n=$name"); n=$((n + 1))
	fi
	if [ "$email" != - ]; then
		cfg+=("GIT_CONFIG_KEY_$n=user.email" "GIT_CONFIG_VALUE_$n=$email"); n=$((n + 1))
	fi
	rm -rf "$b"
	mkdir -p "$b/mail"
	echo "an earlier run" >"$b/mail/earlier"
	rc=0
	env -u MAIL_SEND -u MAIL_FROM -u GIT_CONFIG_PARAMETERS -u GIT_CONFIG \
		HOME="$scratch/home" GIT_CONFIG_GLOBAL="$scratch/gitconfig" GIT_CONFIG_NOSYSTEM=1 \
		GIT_CONFIG_COUNT=$n "${cfg[@]}" BUILD_DIR="$b" KERNEL_TREE="$TREE" "$@" \
		bash "$KIT_ROOT/kit/mail.sh" </dev/null >"$scratch/out" 2>&1 || rc=$?
}
# refused NAME: the last run failed with one error that says how to set
# the identity, and left build/mail/ as the earlier run had it.
refused() {
	local why=""
	(( rc != 0 )) || why="exit 0"
	[ -n "$why" ] || grep -q '^kit: error: .*git config user.name ".*"; git config user.email ' "$scratch/out" ||
		why="no 'kit: error: ... git config user.name ...; git config user.email ...'"
	[ -n "$why" ] || [ "$(ls -A "$b/mail")" = earlier ] || why="build/mail/ now holds: $(ls -A "$b/mail" | head -n 3 | paste -sd' ')"
	[ -n "$why" ] || [ -z "$(find "$b" -mindepth 1 -maxdepth 1 ! -name mail)" ] ||
		why="left behind: $(find "$b" -mindepth 1 -maxdepth 1 ! -name mail -printf '%f ')"
	if [ -z "$why" ]; then
		tap_add "$tap" pass "mail: refuses $1" 0 \
			"$(grep -m1 '^kit: error:' "$scratch/out" | sed 's/^kit: error: refusing to mail the series //; s/; set yours.*//' | cut -c1-110)"
	else
		tap_add "$tap" fail "mail: refuses $1" 0 "$why (rc=$rc): $(tail -n 2 "$scratch/out" | tr '\n' ' ' | cut -c1-160)"
	fi
}

mail "Kit Developer" kit-dev@example.org
refused "the kit's placeholder author"
mail - -
if [ -n "$(git -C "$KIT_ROOT" config --local --get-regexp '^user\.(name|email)$' || true)" ]; then
	tap_add "$tap" skip "mail: refuses an unset identity" 0 "the kit repo's own config sets user.*"
else
	refused "an unset identity"
fi
mail "Ada Lovelace" ""
refused "an empty user.email"
mail "Ada Lovelace" -
refused "an unset user.email"
mail "Your Name" ada@kernel-dev.net
refused "'Your Name'"
mail "Ada Lovelace" ada.kernel-dev.net
refused "an address without '@'"
mail "Seed maintainers" maintainers@users.noreply.h-seed.example
refused "an address in *.example"
mail "Ada Lovelace" ada@mail.invalid
refused "an address in *.invalid"
mail "Ada Lovelace" ada@localhost
refused "ada@localhost"
mail "Ada Lovelace" ada@kernel-dev.net MAIL_FROM="$placeholder"
refused "a placeholder MAIL_FROM over a good git config"

# A real-looking identity.
ada="Ada Lovelace <ada@kernel-dev.net>"
sums() { (cd "$SERIES" && sha256sum ./*.patch); }
before=$(sums)
# What the mails are compared with: series/ as it was.
cp -r "$SERIES" "$scratch/series"
t0=$SECONDS
mail "Ada Lovelace" ada@kernel-dev.net
secs=$((SECONDS - t0))
after=$(sums)
shopt -s nullglob
series=("$scratch"/series/[0-9][0-9][0-9][0-9]-*.patch)
mails=("$b"/mail/*.patch)
why=""
(( rc == 0 )) || why="exit $rc: $(grep -m1 'error' "$scratch/out")"
[ -n "$why" ] || (( ${#mails[@]} == ${#series[@]} )) ||
	why="${#mails[@]} mails for ${#series[@]} patches"
[ -n "$why" ] || [ ! -e "$b/mail/earlier" ] || why="the earlier run's build/mail/ is still there"
[ -n "$why" ] || [ "$(ls -A "$b")" = mail ] || why="left behind: $(ls -A "$b" | paste -sd' ')"
for m in "${mails[@]}"; do
	[ -z "$why" ] || break
	f=${m##*/}
	# The headers end at the first empty line.
	sed '/^$/q' "$m" | grep -qxF "From: $ada" || { why="$f: no 'From: $ada' header"; break; }
	if [[ $f != 0000-* ]]; then
		grep -qxF "Signed-off-by: $ada" "$m" || { why="$f: no 'Signed-off-by: $ada'"; break; }
	fi
	! grep -q 'kit-dev@example\.org' "$m" || { why="$f: still has kit-dev@example.org"; break; }
	# Against series/: only the placeholder's From:/Signed-off-by: went,
	# only Ada's and the To:/Cc: headers came.
	odd=$(diff "$scratch/series/$f" "$m" | grep '^[<>]' |
		grep -vxF -e "< From: $placeholder" -e "< Signed-off-by: $placeholder" \
			-e "> From: $ada" -e "> Signed-off-by: $ada" |
		grep -vE '^> ((To|Cc): |	)' | head -n 2 | tr '\n' ' ' || true)
	[ -z "$odd" ] || why="$f: unexpected change: $odd"
done
[ -n "$why" ] || [ "$before" = "$after" ] || why="series/ changed"
[ -n "$why" ] || grep -q '^MAIL FROM:<ada@kernel-dev.net>' "$b/mail/dry-run.txt" ||
	why="the dry run is not from ada@kernel-dev.net"
# The hint names the base's target: make mail, or make backport-mail.
hint="make mail MAIL_SEND=1"
[ "$KIT_BASE" = 7.3 ] || hint="make backport-mail MAIL_SEND=1"
[ -n "$why" ] || grep -qF "$hint" "$scratch/out" || why="no '$hint' hint"
if [ -z "$why" ]; then
	tap_add "$tap" pass "mail: $ada: ${#mails[@]} mails from her, signed off by her, series/ unchanged" "$secs"
else
	tap_add "$tap" fail "mail: $ada" "$secs" "$why"
fi
finish
