#!/usr/bin/env bash
# make mail: the series as mails, ready for git send-email.
#
# Copies series/ to build/mail/, adds To: (maintainers) and Cc: (reviewers
# and lists) to each patch from scripts/get_maintainer.pl run on the patched
# tree, gives the cover letter the union of them, and runs
# 'git send-email --dry-run' over the result; the transcript, with every
# recipient, is build/mail/dry-run.txt.  Nothing is sent.
. "$(dirname "$0")/lib.sh"

ensure_pkgs git perl "${PKGS_MAIL[@]}"
out=$BUILD/mail
shopt -s nullglob
patches=("$SERIES"/[0-9][0-9][0-9][0-9]-*.patch)
(( ${#patches[@]} > 1 )) || die "series/ has no patches: nothing to mail"
git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree at $TREE: run 'make tree' first"
FROM=${MAIL_FROM:-$(sed -n '2s/^From: //p' "${patches[1]}")}

rm -rf "$out"
mkdir -p "$out"
declare -A all_to all_cc

# Recipients of one patch: "to" and "cc" lines on stdout.
recipients() {
	(cd "$TREE" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
		--no-tree "$1") | while IFS= read -r line; do
		# "Name <addr> (role...)" or "addr (role...)"
		case $line in
		*'>'*) addr=${line%%>*}'>' ;;
		*) addr=${line%% *} ;;
		esac
		case $line in
		*"(maintainer:"*|*"(supporter:"*) echo "to $addr" ;;
		*) echo "cc $addr" ;;
		esac
	done
}

# Insert header lines after the Subject: header (and its folded lines).
add_headers() {
	local f=$1 hdr=$2
	python3 - "$f" "$hdr" <<'EOF'
import sys
path, hdr = sys.argv[1], sys.argv[2]
lines = open(path).read().split("\n")
i = next(n for n, l in enumerate(lines) if l.startswith("Subject: "))
i += 1
while i < len(lines) and lines[i][:1] in (" ", "\t"):
    i += 1
lines[i:i] = [l for l in hdr.split("\n") if l]
open(path, "w").write("\n".join(lines))
EOF
}

for p in "${patches[@]}"; do
	name=${p##*/}
	cp "$p" "$out/$name"
	[[ $name == 0000-* ]] && continue
	to=() cc=()
	while read -r kind addr; do
		case $kind in
		to) to+=("$addr"); all_to[$addr]=1 ;;
		cc) cc+=("$addr"); all_cc[$addr]=1 ;;
		esac
	done < <(recipients "$p")
	hdr=""
	(( ${#to[@]} )) && hdr+="To: $(IFS=,; echo "${to[*]}" | sed 's/,/, /g')"$'\n'
	(( ${#cc[@]} )) && hdr+="Cc: $(IFS=,; echo "${cc[*]}" | sed 's/,/, /g')"$'\n'
	add_headers "$out/$name" "$hdr"
done
for a in "${!all_to[@]}"; do unset "all_cc[$a]"; done
cover=$out/0000-cover-letter.patch
if [ -f "$cover" ]; then
	hdr="To: $(printf '%s\n' "${!all_to[@]}" | sort | paste -sd, | sed 's/,/, /g')"$'\n'
	hdr+="Cc: $(printf '%s\n' "${!all_cc[@]}" | sort | paste -sd, | sed 's/,/, /g')"$'\n'
	add_headers "$cover" "$hdr"
	grep -q '\*\*\* \(SUBJECT\|BLURB\) HERE \*\*\*' "$cover" &&
		die "the cover letter is still the template: edit series/0000-cover-letter.patch"
fi

log "mails in ${out#"$KIT_ROOT"/}; git send-email --dry-run:"
git -c sendemail.confirm=never send-email --dry-run --from="$FROM" \
	--suppress-cc=self --no-validate "$out"/*.patch </dev/null >"$out/dry-run.txt" 2>&1 ||
	{ cat "$out/dry-run.txt" >&2; die "git send-email --dry-run failed"; }
# Every mail's recipients and subject (the headers with their folded lines).
awk '/^(To|Cc|Subject):/ { show = 1; print; next }
     show && /^[ \t]/ { print; next } { show = 0 }' "$out/dry-run.txt"
ok=$(grep -c '^Dry-OK' "$out/dry-run.txt" || true)
(( ok == ${#patches[@]} )) ||
	die "git send-email --dry-run handled $ok of ${#patches[@]} mails (see $out/dry-run.txt)"
cat <<EOF

$ok mails ready in ${out#"$KIT_ROOT"/}, transcript in ${out#"$KIT_ROOT"/}/dry-run.txt.
To send them for real (with your identity and SMTP settings in git config):
    git send-email --from="Your Name <you@example.org>" ${out#"$KIT_ROOT"/}/*.patch
Then sign off with your own name: each patch carries Signed-off-by of its author.
EOF
