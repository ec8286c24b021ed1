#!/usr/bin/env bash
# kit/debian-changes.sh ('make debian-changes'): what the base package
# changed on top of upstream in the areas the series touches.
#
# Debian's tree is upstream's release plus stable updates plus Debian's
# own patches.  Neither upstream's git (GitHub) nor Debian's source
# package (debian/patches) may be reachable from the test machine (the
# package mirror serves binary packages), so this reads what the binary
# package carries: its changelog.Debian.gz (saved by 'make tree' beside
# the tarball).  For every upload of the base's version series (7.3: from
# 7.3~rc1 to the pinned one) it lists the entries whose subject names an
# area of the files the series touches (AREAS below), marked 'stable'
# (an upstream stable update's item) or 'debian' (a change of Debian's
# own), and writes $RESULTS/debian-changes.md.  The files the series
# touches are listed there too.  Exit 0 with the report, 1 without a
# changelog.  DEBIAN_AREAS=REGEX replaces AREAS (e.g. 'apparmor' shows
# Debian's own entries being told from stable ones).
. "$(dirname "$0")/lib.sh"

cl=$BUILD/dl/changelog.Debian.gz
[ -f "$cl" ] ||
	die "no ${cl#"$KIT_ROOT"/}: 'make tree' saves it when it fetches $BASE_PACKAGE (remove $(dirname "${cl#"$KIT_ROOT"/}")/${BASE_TARBALL##*/}* and run 'make tree' again)"
git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
	die "no kernel tree at $TREE: run 'make tree' first"

# Subjects that can touch what the series touches: x86 entry and FRED,
# the IDT, vectors and IRQ dispatch, the APIC, NMIs, KVM on Intel (VMX,
# TDX, common x86), the KVM selftests, the x86 documentation.
AREAS=${DEBIAN_AREAS:-'x86/(entry|fred|irq|apic|idt|nmi|traps|desc)|idtentry|sysvec|KVM: (VMX|nVMX|x86|TDX|selftests)|selftests: kvm|Documentation/arch/x86'}
series=$(cut -d. -f1,2 <<<"$BASE_KERNELVERSION")
out=$RESULTS/debian-changes.md
mkdir -p "$RESULTS"

changelog=$(zcat "$cl")
# One line per entry: VERSION<TAB>stable|debian<TAB>subject (continuation
# lines joined), for the uploads of $series.
entries=$(awk -v s="$series" '
	function flush() { if (cur != "" && on) print ver "\t" kind "\t" cur; cur = "" }
	/^[a-z0-9.+-]+ \(/ { flush(); ver = $2; gsub(/[()]/, "", ver); on = index(ver, s ".") == 1 || index(ver, s "~") == 1; stable = 0; next }
	/^  \* New upstream (stable update|release)/ { flush(); stable = 1; next }
	/^  \* / { flush(); stable = 0; kind = "debian"; cur = substr($0, 5); next }
	/^    - / { flush(); kind = stable ? "stable" : "debian"; cur = substr($0, 7); next }
	/^      [^ ]/ && cur != "" { sub(/^ +/, ""); cur = cur " " $0; next }
	/^ -- / || /^  \[/ || /^$/ { flush(); if (/^  \[/) stable = 0 }
	END { flush() }' <<<"$changelog")
uploads=$(grep -cE "^linux \\($series[.~]" <<<"$changelog" || true)
total=$(grep -c . <<<"$entries" || true)
hits=$(grep -E "$AREAS" <<<"$entries" || true)
nhits=$(grep -c . <<<"$hits" || true)
ndeb=$(awk -F'\t' '$2 == "debian"' <<<"$hits" | grep -c . || true)

{
	echo "# What $BASE_PACKAGE changed in the areas the series touches"
	echo
	echo "Made by \`kit/debian-changes.sh\` on $(date -u +%Y-%m-%d) from the changelog.Debian.gz of"
	echo "$BASE_PACKAGE $(cat "$BUILD/dl/${BASE_TARBALL##*/}.version" 2>/dev/null || echo '?'): $uploads uploads of $series, $total entries;"
	echo "$nhits name an area of the series ($ndeb of them Debian's own changes, the rest"
	echo "upstream stable updates).  Areas (subject regex): \`$AREAS\`."
	echo
	echo "Files the series touches (\`git diff --name-only base HEAD\`):"
	echo
	git -C "$TREE" diff --name-only base HEAD | sed 's/^/- /'
	echo
	echo "| upload | kind | entry |"
	echo "|---|---|---|"
	if [ -n "$hits" ]; then
		awk -F'\t' '{ gsub(/\|/, "\\|", $3); print "| " $1 " | " $2 " | " $3 " |" }' <<<"$hits"
	else
		echo "| - | - | none |"
	fi
} >"$out"
log "debian-changes: $nhits of $total entries in $uploads uploads name an area of the series ($ndeb Debian's own) -> ${out#"$KIT_ROOT"/}"
