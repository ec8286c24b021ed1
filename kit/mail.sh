#!/usr/bin/env bash
# make mail: the series as mails, ready for git send-email.
#
# Copies series/ to build/mail/, puts the sender's identity on the copies
# (From: and Signed-off-by: instead of the kit's placeholder author, see
# below), adds To: (maintainers) and Cc: (reviewers and lists) to each
# patch from scripts/get_maintainer.pl run on the patched tree, gives the
# cover letter the union of them, and runs 'git send-email --dry-run' over
# the result; the transcript, with every recipient, is
# build/mail/dry-run.txt.  Nothing is sent unless MAIL_SEND=1: then
# 'git send-email --confirm=always' sends them, asking before each mail.
#
# The identity is 'git config user.name' and 'git config user.email' (as
# seen from the kit's repo), or MAIL_FROM="Name <addr>".  It refuses to
# mail under a placeholder: an unset name or address, the kit's "Kit
# Developer <kit-dev@example.org>", "Your Name", an address without '@' or
# at a reserved domain (example.org/.com/.net, *.example, *.invalid,
# *.test, localhost).  series/ is not changed; build/mail/ is replaced only
# when every mail is ready and the dry run went through.
. "$(dirname "$0")/lib.sh"

ensure_pkgs git perl python3 "${PKGS_MAIL[@]}"
out=$BUILD/mail
# The author the kit's series is written under.
PLACEHOLDER="Kit Developer <kit-dev@example.org>"
PLACEHOLDER_ADDR=kit-dev@example.org
case ${MAIL_SEND:-0} in
0 | 1) ;;
*) die "MAIL_SEND=${MAIL_SEND}: 1 sends the mails, unset (or 0) only checks them" ;;
esac

# Why NAME <EMAIL> cannot be the sender of the series; nothing if it can.
identity_problem() {
	local name=$1 email=$2 domain
	[ -n "$name" ] || { echo "no name (user.name is unset)"; return; }
	[ -n "$email" ] || { echo "no e-mail address (user.email is unset)"; return; }
	[[ $email == *@* ]] || { echo "'$email' is not an e-mail address (no '@')"; return; }
	local re='[[:space:]<>]'
	[[ $email =~ $re ]] && { echo "'$email' is not a bare e-mail address"; return; }
	domain=${email##*@}
	domain=${domain,,}
	domain=${domain%.}
	case $domain in
	'') echo "'$email' has no domain" ;;
	example.org | example.com | example.net | *.example.org | *.example.com | *.example.net | \
	example | *.example | invalid | *.invalid | test | *.test | localhost | *.localhost | localhost.localdomain)
		echo "'$email' is a placeholder address (reserved domain $domain)" ;;
	esac
	case ${name,,} in
	"kit developer" | "your name") echo "'$name' is a placeholder name" ;;
	esac
}

shopt -s nullglob
patches=("$SERIES"/[0-9][0-9][0-9][0-9]-*.patch)
(( ${#patches[@]} > 1 )) || die "series/ has no patches: nothing to mail"

# The sender, checked before anything is written.
how='set yours in the kit repo: git config user.name "First Last"; git config user.email first.last@your.domain (or MAIL_FROM="First Last <first.last@your.domain>")'
if [ -n "${MAIL_FROM:-}" ]; then
	src=MAIL_FROM
	re='^[[:space:]]*([^<>]*[^<>[:space:]])[[:space:]]*<([^<>]*)>[[:space:]]*$'
	[[ $MAIL_FROM =~ $re ]] ||
		die "MAIL_FROM='$MAIL_FROM' is not \"Name <addr>\"; $how"
	name=${BASH_REMATCH[1]} email=${BASH_REMATCH[2]}
else
	src="git config"
	name=$(git -C "$KIT_ROOT" config user.name || true)
	email=$(git -C "$KIT_ROOT" config user.email || true)
	# Leading and trailing blanks are not part of either.
	name=$(sed 's/^[[:space:]]*//; s/[[:space:]]*$//' <<<"$name")
	email=$(sed 's/^[[:space:]]*//; s/[[:space:]]*$//' <<<"$email")
fi
why=$(identity_problem "$name" "$email")
if [ -n "$why" ]; then
	who="($src)"
	[ -z "$name" ] || [ -z "$email" ] || who="as '$name <$email>' ($src)"
	die "refusing to mail the series $who: $(head -n 1 <<<"$why"); $how"
fi
FROM="$name <$email>"

git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree at $TREE: run 'make tree' first"

# Everything is made in a scratch dir next to build/mail/, which replaces
# it only at the end: a failure leaves the last good build/mail/ as it was.
mkdir -p "$BUILD"
work=$(mktemp -d "$BUILD/.mail.XXXXXX")
trap 'rm -rf "$work"' EXIT
declare -A all_to all_cc

# Put the sender on a copy: the placeholder author's From: header and
# Signed-off-by: lines become the sender's, other tags stay; a patch that
# then has no Signed-off-by: of the sender gets one after its last trailer
# (before '---').  The cover letter's From: is the sender's in any case.
set_identity() {
	python3 - "$1" "$name" "$email" "$PLACEHOLDER" <<'PY'
import re, sys
from email.utils import formataddr
path, name, email, placeholder = sys.argv[1:5]
cover = path.rsplit("/", 1)[-1].startswith("0000-")
ident = f"{name} <{email}>"
sob = f"Signed-off-by: {ident}"
with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
    lines = f.read().split("\n")
if "" not in lines:
    sys.exit(f"{path}: no end of the mail headers")
hend = lines.index("")
# The From: header (with its folded lines).
for i in range(hend):
    if lines[i].startswith("From: "):
        j = i + 1
        while j < hend and lines[j][:1] in (" ", "\t"):
            j += 1
        value = " ".join(l.strip() for l in lines[i:j])[len("From: "):]
        if cover or value == placeholder:
            lines[i:j] = ["From: " + formataddr((name, email), charset="utf-8")]
            hend -= j - i - 1
        break
else:
    lines.insert(hend, "From: " + formataddr((name, email), charset="utf-8"))
    hend += 1
# The commit message: from the headers to the '---' line.
end = next((n for n in range(hend + 1, len(lines)) if lines[n] == "---"), None)
if end is None:
    if not cover:
        sys.exit(f"{path}: no '---' line after the commit message")
    end = len(lines)
for n in range(hend + 1, end):
    if lines[n].rstrip() == f"Signed-off-by: {placeholder}":
        lines[n] = sob
if not cover:
    mine = [n for n in range(hend + 1, end) if lines[n] == sob]
    for n in reversed(mine[:-1]):	# the sender signs off once, last
        del lines[n]
        end -= 1
    if not mine:
        last = end - 1
        while last > hend and not lines[last].strip():
            last -= 1
        first = last
        while first > hend + 1 and lines[first - 1].strip():
            first -= 1
        trailer = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*: \S")
        block = lines[first:last + 1]
        in_trailers = bool(block) and trailer.match(block[0]) and all(
            trailer.match(l) or l[:1] in (" ", "\t") for l in block)
        lines[last + 1:last + 1] = [sob] if in_trailers else ["", sob]
# A name that is not ASCII needs the body's charset declared.
if not ident.isascii() and not any(l.lower().startswith("content-type:") for l in lines[:hend]):
    lines[hend:hend] = ["MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8",
                        "Content-Transfer-Encoding: 8bit"]
with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
    f.write("\n".join(lines))
PY
}

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
	python3 - "$f" "$hdr" <<'PY'
import sys
path, hdr = sys.argv[1], sys.argv[2]
lines = open(path).read().split("\n")
i = next(n for n, l in enumerate(lines) if l.startswith("Subject: "))
i += 1
while i < len(lines) and lines[i][:1] in (" ", "\t"):
    i += 1
lines[i:i] = [l for l in hdr.split("\n") if l]
open(path, "w").write("\n".join(lines))
PY
}

for p in "${patches[@]}"; do
	name_=${p##*/}
	cp "$p" "$work/$name_"
	set_identity "$work/$name_" || die "could not put the sender on $name_"
	[[ $name_ == 0000-* ]] && continue
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
	add_headers "$work/$name_" "$hdr"
done
for a in "${!all_to[@]}"; do unset "all_cc[$a]"; done
cover=$work/0000-cover-letter.patch
if [ -f "$cover" ]; then
	hdr="To: $(printf '%s\n' "${!all_to[@]}" | sort | paste -sd, | sed 's/,/, /g')"$'\n'
	hdr+="Cc: $(printf '%s\n' "${!all_cc[@]}" | sort | paste -sd, | sed 's/,/, /g')"$'\n'
	add_headers "$cover" "$hdr"
	grep -q '\*\*\* \(SUBJECT\|BLURB\) HERE \*\*\*' "$cover" &&
		die "the cover letter is still the template: edit series/0000-cover-letter.patch"
fi
# Nothing of the placeholder may go out.
left=$(grep -l -F "$PLACEHOLDER_ADDR" "$work"/*.patch | sed 's,.*/,,' | paste -sd' ' || true)
[ -z "$left" ] || die "$PLACEHOLDER_ADDR is still in: $left (in a line other than From:/Signed-off-by: $PLACEHOLDER?)"

log "mails from $FROM; git send-email --dry-run:"
# GIT_SEND_EMAIL_NOTTY: its questions (more To:? In-Reply-To?) read the
# empty stdin, not the terminal, where they would wait unseen.
GIT_SEND_EMAIL_NOTTY=1 git -c sendemail.confirm=never send-email --dry-run --from="$FROM" \
	--suppress-cc=self --no-validate "$work"/*.patch </dev/null >"$work/dry-run.txt" 2>&1 ||
	{ cat "$work/dry-run.txt" >&2; die "git send-email --dry-run failed"; }
ok=$(grep -c '^Dry-OK' "$work/dry-run.txt" || true)
(( ok == ${#patches[@]} )) ||
	{ cat "$work/dry-run.txt" >&2; die "git send-email --dry-run handled $ok of ${#patches[@]} mails"; }
# All ready: the new mails replace build/mail/.
sed -i "s|$work/|$out/|g" "$work/dry-run.txt"
rm -rf "$out"
mv "$work" "$out"
trap - EXIT
# Every mail's sender, recipients and subject (the headers with their
# folded lines).
awk '/^(From|To|Cc|Subject):/ { show = 1; print; next }
     show && /^[ \t]/ { print; next } { show = 0 }' "$out/dry-run.txt"
rel=${out#"$KIT_ROOT"/}
target=mail
[ "$KIT_BASE" = 7.3 ] || target=backport-mail
if [ "${MAIL_SEND:-0}" != 1 ]; then
	cat <<EOF

$ok mails ready in $rel, from $FROM; transcript in $rel/dry-run.txt.
Nothing was sent.  To send them (with your git config sendemail.* SMTP
settings; git send-email may ask for more To: and an In-Reply-To, Enter for
none, then asks before each mail):
    make $target MAIL_SEND=1
EOF
	exit 0
fi
log "sending $ok mails from $FROM (git send-email asks before each)"
git send-email --from="$FROM" --suppress-cc=self --confirm=always "$out"/*.patch ||
	die "git send-email failed or was stopped; what went out is in its output above"
