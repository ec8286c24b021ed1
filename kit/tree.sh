#!/usr/bin/env bash
# make tree: the kernel tree with the series applied as git commits.
#
#  - Own tree (default, build/linux): unpack Debian's linux-source-6.12,
#    strip the Debian block of its .gitignore, commit it as 'base' (fixed
#    identity and date, so the commit id is the same everywhere), then
#    'git am' series/*.patch on branch 'series'.
#  - KERNEL_TREE=/path: the developer's git tree.  'base' is tagged at its
#    HEAD (unless the tag exists) and the series goes on branch 'series'.
#
# Re-running is cheap: if series/ is what was applied last time and the
# branch did not move, nothing happens.  If the branch has commits that are
# not in series/, they are kept (the tree is what the lanes build); if
# series/ changed too, the old branch is saved as series-saved-<time> before
# the series is applied again, so that no work is lost.
. "$(dirname "$0")/lib.sh"

ensure_pkgs git xz-utils

GIT_IDENT=(-c user.name="Kit Base" -c user.email="kit@localhost")

check_version() {
	local v p s
	v=$(sed -n 's/^VERSION = //p' "$1/Makefile")
	p=$(sed -n 's/^PATCHLEVEL = //p' "$1/Makefile")
	s=$(sed -n 's/^SUBLEVEL = //p' "$1/Makefile")
	if [ "$v.$p" != 6.12 ]; then
		[ "${KIT_ANY_BASE:-0}" = 1 ] ||
			die "$1 is Linux $v.$p.$s, the series is for 6.12.y (KIT_ANY_BASE=1 to try anyway)"
		warn "$1 is Linux $v.$p.$s, not 6.12.y: KIT_ANY_BASE=1, going on"
	fi
	echo "$v.$p.$s"
}

make_own_tree() {
	local have sha tmp
	# The pinned package version; if the mirror moved on, the newest 6.12.
	have=$(dpkg-query -W -f='${Version}' "$BASE_PACKAGE" 2>/dev/null || true)
	if [ -z "$have" ]; then
		if ! ensure_pkgs_version; then
			warn "$BASE_PACKAGE=$BASE_VERSION is not on the mirror; using the newest $BASE_PACKAGE"
			ensure_pkgs "$BASE_PACKAGE"
		fi
		have=$(dpkg-query -W -f='${Version}' "$BASE_PACKAGE")
	fi
	[ -r "$BASE_TARBALL" ] || die "$BASE_TARBALL missing although $BASE_PACKAGE is installed"
	if [ "$have" != "$BASE_VERSION" ]; then
		warn "base is $BASE_PACKAGE $have, the kit records $BASE_VERSION: results may differ"
	else
		log "checking sha256 of $BASE_TARBALL"
		sha=$(sha256sum "$BASE_TARBALL" | cut -d' ' -f1)
		[ "$sha" = "$BASE_SHA256" ] ||
			die "$BASE_TARBALL: sha256 $sha, expected $BASE_SHA256 for $BASE_VERSION"
	fi

	tmp=$BUILD/linux.unpack
	rm -rf "$tmp"
	mkdir -p "$tmp"
	run_logged "unpacking $BASE_TARBALL" "$BUILD/tree.log" \
		tar -C "$tmp" --strip-components=1 -xJf "$BASE_TARBALL"
	check_version "$tmp" >/dev/null
	# Debian's block at the end of .gitignore ignores every top-level path.
	awk '/^# Debian packaging/ { cut = 1 } !cut { buf[n++] = $0 }
	     END { while (n > 0 && (buf[n-1] == "#" || buf[n-1] == "")) n--;
		   for (i = 0; i < n; i++) print buf[i] }' \
		"$tmp/.gitignore" >"$tmp/.gitignore.new"
	mv "$tmp/.gitignore.new" "$tmp/.gitignore"
	grep -qx '/\*' "$tmp/.gitignore" && die "could not strip the Debian block from .gitignore"
	(
		cd "$tmp"
		git init -q -b master
		git add -A
		GIT_AUTHOR_DATE=$BASE_COMMIT_DATE GIT_COMMITTER_DATE=$BASE_COMMIT_DATE \
			git "${GIT_IDENT[@]}" commit -q -m "Linux $BASE_KERNELVERSION ($BASE_PACKAGE $have)" \
			-m "Unpacked from $BASE_TARBALL; the Debian block at the end of .gitignore removed."
		git tag base
	) >>"$BUILD/tree.log" 2>&1 || die "could not commit the base tree (see $BUILD/tree.log)"
	mv "$tmp" "$TREE"
	log "base tree: $TREE at $(git -C "$TREE" rev-parse --short base)"
}

ensure_pkgs_version() {
	[ "$(id -u)" = 0 ] || return 1
	[ -e /var/lib/apt/lists/.kit-updated ] || { apt-get update -q >&2 && touch /var/lib/apt/lists/.kit-updated; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"$BASE_PACKAGE=$BASE_VERSION" >&2
}

apply_series() {
	local p failed files
	git -C "$TREE" checkout -q -B series base
	shopt -s nullglob
	local patches=("$SERIES"/[0-9][0-9][0-9][0-9]-*.patch)
	for p in "${patches[@]}"; do
		case ${p##*/} in 0000-*) continue ;; esac
		if ! git -C "$TREE" "${GIT_IDENT[@]}" am -q --committer-date-is-author-date \
			"$p" >"$BUILD/am.log" 2>&1; then
			failed=${p##*/}
			files=$(git -C "$TREE" am --show-current-patch=diff 2>/dev/null |
				sed -n 's|^+++ b/||p' | sort -u | tr '\n' ' ')
			conflicts=$(sed -n 's/^error: patch failed: \([^:]*\):.*/\1/p' "$BUILD/am.log" |
				sort -u | tr '\n' ' ')
			cat "$BUILD/am.log" >&2
			git -C "$TREE" am --abort >/dev/null 2>&1 || true
			die "patch $failed does not apply on base ($(git -C "$TREE" rev-parse --short base)): conflicts in ${conflicts:-?}(it touches $files)"
		fi
	done
	echo "$(series_hash) $(git -C "$TREE" rev-parse HEAD)" >"$(series_stamp_file)"
	log "series: ${#patches[@]} file(s) in series/, $(git -C "$TREE" rev-list --count base..HEAD) commit(s) on base"
}

mkdir -p "$BUILD"
if [ -n "${KERNEL_TREE:-}" ]; then
	git -C "$TREE" rev-parse --git-dir >/dev/null 2>&1 ||
		die "KERNEL_TREE=$TREE is not a git tree"
	if ! git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null; then
		[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
			die "KERNEL_TREE=$TREE has uncommitted changes; commit or stash them first"
		git -C "$TREE" tag base
		log "tagged base at $(git -C "$TREE" rev-parse --short HEAD) in $TREE"
	fi
	check_version "$TREE" >/dev/null
elif ! git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1; then
	[ ! -e "$TREE" ] || die "$TREE exists but has no 'base' tag: move it away or remove it"
	make_own_tree
fi

[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
	die "$TREE has uncommitted changes: commit them (then 'make export') or stash them"

want=$(series_hash)
stamp=$(cat "$(series_stamp_file)" 2>/dev/null || true)
head=$(git -C "$TREE" rev-parse HEAD)
branch=$(git -C "$TREE" symbolic-ref -q --short HEAD || true)
if [ -n "$stamp" ] && [ "${stamp#* }" = "$head" ] && [ "${stamp%% *}" = "$want" ]; then
	log "tree up to date: series/ applied, HEAD $(git -C "$TREE" rev-parse --short HEAD)"
elif [ -n "$stamp" ] && [ "${stamp%% *}" = "$want" ] && [ "$branch" = series ]; then
	log "tree has $(git -C "$TREE" rev-list --count "${stamp#* }..HEAD" 2>/dev/null || echo '?') commit(s) not in series/: using the tree as it is ('make export' to keep them)"
else
	if [ "$branch" = series ] && [ -n "$stamp" ] && [ "${stamp#* }" != "$head" ]; then
		saved=series-saved-$(date +%Y%m%d-%H%M%S)
		git -C "$TREE" branch "$saved" HEAD
		warn "series/ changed and the tree had commits not in series/: they are on branch $saved"
	fi
	apply_series
fi

# The baseline sources: a worktree at 'base', for the baseline builds.
if [ ! -e "$BASE_SRC/Makefile" ]; then
	rm -rf "$BASE_SRC"
	git -C "$TREE" worktree prune
	run_logged "checking out the baseline worktree" "$BUILD/worktree.log" \
		git -C "$TREE" worktree add --detach "$BASE_SRC" base
elif [ "$(git -C "$BASE_SRC" rev-parse HEAD)" != "$(git -C "$TREE" rev-parse base)" ]; then
	git -C "$BASE_SRC" checkout -q --detach "$(git -C "$TREE" rev-parse base)"
fi
