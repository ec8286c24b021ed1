#!/usr/bin/env bash
# make export: write the tree's commits since 'base' to series/ as
# 'git format-patch --cover-letter --base' output.  The cover letter's
# subject and text are taken over from the series/0000-cover-letter.patch
# being replaced, so it is edited there (or in the mail) and survives
# re-exports.  --zero-commit keeps the files stable when only commit ids
# change.
. "$(dirname "$0")/lib.sh"

git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree with a 'base' tag at $TREE: run 'make tree' first"
[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
	die "$TREE has uncommitted changes: commit them first"
n=$(git -C "$TREE" rev-list --count base..HEAD)

cover=$SERIES/0000-cover-letter.patch
subject="*** SUBJECT HERE ***"
blurb_file=$(mktemp)
trap 'rm -rf "$blurb_file" "${tmp:-}"' EXIT
if [ -f "$cover" ]; then
	# Subject: '[PATCH 0/N] text', possibly folded over several lines.
	subject=$(awk '/^Subject: / { s = $0; f = 1; next }
		       f && /^[ \t]/ { s = s $0; next } { f = 0 }
		       END { sub(/^Subject: (\[[^]]*\] )?/, "", s); gsub(/[ \t]+/, " ", s); print s }' "$cover")
	# The text: after the header block, up to the shortlog ('Name (N):').
	awk 'body == 0 && /^$/ { body = 1; next }
	     body == 1 && /^[^ \t].* \([0-9]+\):$/ { exit }
	     body == 1 { print }' "$cover" >"$blurb_file"
	# Drop the trailing blank lines that precede the shortlog.
	sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$blurb_file"
fi

tmp=$(mktemp -d)
# The cover letter is from the series' author (HEAD's), not from whoever
# runs the export: the same series exports to the same files on any
# machine ('make mail' puts the sender on the copies it sends).  So do
# the blob ids of the index lines: 9 digits, not git's default, which
# grows with the number of objects in the tree's repository.
ident_name=$(git -C "$TREE" log -1 --format=%an HEAD 2>/dev/null || true)
ident_mail=$(git -C "$TREE" log -1 --format=%ae HEAD 2>/dev/null || true)
git -C "$TREE" ${ident_name:+-c "user.name=$ident_name"} ${ident_mail:+-c "user.email=$ident_mail"} \
	format-patch -q --cover-letter --zero-commit --abbrev=9 --base=base \
	--subject-prefix="${SUBJECT_PREFIX:-PATCH}" -o "$tmp" base..HEAD >/dev/null ||
	die "git format-patch failed"
if [ "$n" = 0 ]; then
	log "no commits on base: series/ will be empty"
	rm -f "$tmp"/*.patch
else
	python3 - "$tmp/0000-cover-letter.patch" "$subject" "$blurb_file" <<'EOF'
import sys
path, subject, blurb_path = sys.argv[1:]
text = open(path).read()
blurb = open(blurb_path).read().rstrip("\n")
if subject and subject != "*** SUBJECT HERE ***":
    text = text.replace("*** SUBJECT HERE ***", subject, 1)
if blurb.strip() and blurb.strip() != "*** BLURB HERE ***":
    text = text.replace("*** BLURB HERE ***", blurb, 1)
open(path, "w").write(text)
EOF
	# A stable Date: for the cover letter (the newest commit's), so that an
	# unchanged series exports to unchanged files.
	sed -i "0,/^Date: /s/^Date: .*/Date: $(git -C "$TREE" log -1 --format=%aD HEAD)/" \
		"$tmp/0000-cover-letter.patch"
fi
mkdir -p "$SERIES"
rm -f "$SERIES"/*.patch
if compgen -G "$tmp/*.patch" >/dev/null; then
	mv "$tmp"/*.patch "$SERIES"/
fi
log "series/: $n patch(es) + cover letter from $(git -C "$TREE" rev-parse --short HEAD)"
grep -q '\*\*\* \(SUBJECT\|BLURB\) HERE \*\*\*' "$SERIES"/0000-cover-letter.patch 2>/dev/null &&
	warn "the cover letter still has its template subject/text: edit series/0000-cover-letter.patch"
# The tree now holds what series/ holds: record it so that 'make tree' knows.
echo "$(series_hash) $(git -C "$TREE" rev-parse HEAD)" >"$(series_stamp_file)"
exit 0
