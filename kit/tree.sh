#!/usr/bin/env bash
# make tree: the kernel tree with the series applied as git commits.
#
#  - Own tree (default, build/linux; build/6.12/linux with KIT_BASE=6.12):
#    fetch Debian's linux-source-<base> (kit/base-<base>.conf) with a private
#    apt configuration, unpack it, strip the Debian block of its .gitignore,
#    commit it as 'base' (fixed
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
	local v p s want=${BASE_KERNELVERSION%.*}
	[ -f "$1/Makefile" ] && [ -d "$1/arch/x86" ] ||
		die "$1 is not a kernel tree (no Makefile or arch/x86)"
	v=$(sed -n 's/^VERSION = //p' "$1/Makefile")
	p=$(sed -n 's/^PATCHLEVEL = //p' "$1/Makefile")
	s=$(sed -n 's/^SUBLEVEL = //p' "$1/Makefile")
	[ -n "$v" ] && [ -n "$p" ] || die "$1 has no kernel Makefile with VERSION/PATCHLEVEL: not a kernel tree"
	if [ "$v.$p" != "$want" ]; then
		[ "${KIT_ANY_BASE:-0}" = 1 ] ||
			die "$1 is Linux $v.$p.$s, the series in ${SERIES#"$KIT_ROOT"/}/ is for $want.y (KIT_BASE=6.12 for the backport; KIT_ANY_BASE=1 to try anyway)"
		warn "$1 is Linux $v.$p.$s, not $want.y: KIT_ANY_BASE=1, going on"
	fi
	echo "$v.$p.$s"
}

# The base tarball, from the Debian package, fetched with a private apt
# configuration under $BUILD/apt (its own sources list, lists and cache;
# the system's apt sources and state are not touched).  Prints the path of
# the tarball and the package version it came from.
fetch_base() {
	local apt=$BUILD/apt dl=$BUILD/dl ver deb sha tarball
	tarball=$dl/${BASE_TARBALL##*/}
	if [ -f "$tarball" ] && [ -f "$tarball.version" ]; then
		ver=$(cat "$tarball.version")
		# A tarball that changed since it was fetched (a disk error, a
		# copy cut short) would unpack into a tree that is not 7.3.
		if [ "$ver" = "$BASE_VERSION" ]; then
			sha=$(sha256sum "$tarball" | cut -d' ' -f1)
			if [ "$sha" != "$BASE_SHA256" ]; then
				rm -f "$tarball" "$tarball.version"
				die "${tarball#"$KIT_ROOT"/} is corrupt (sha256 $sha, expected $BASE_SHA256): removed it, run again to fetch it"
			fi
		fi
		echo "$tarball $ver"
		return
	fi
	ensure_pkgs apt dpkg xz-utils debian-archive-keyring
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$dl"
	echo "$BASE_APT_SOURCE" >"$apt/sources.list"
	APT_PRIV=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		  -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
		  -o Dir::State::status=/dev/null -o Dir::Etc::Preferences=/dev/null
		  -o Dir::Etc::PreferencesParts=/dev/null -o APT::Sandbox::User=root
		  -o APT::Architecture=amd64 -q)
	log "fetching the package list for $BASE_PACKAGE (private apt config in ${apt#"$KIT_ROOT"/})"
	apt-get "${APT_PRIV[@]}" update >"$apt/update.log" 2>&1 ||
		{ cat "$apt/update.log" >&2; die "apt-get update (private config, '$BASE_APT_SOURCE') failed"; }
	# apt-get update only warns (exit 0) when it cannot reach the mirror.
	if grep -q -E '^(W|E): (Failed to fetch|Some index files failed)' "$apt/update.log"; then
		die "could not reach the mirror of '$BASE_APT_SOURCE': $(grep -m1 -E '^(W|E): Failed to fetch' "$apt/update.log" | sed 's/^[WE]: //' | cut -c1-160)"
	fi
	if apt-cache "${APT_PRIV[@]}" madison "$BASE_PACKAGE" | awk '{ print $3 }' | grep -xF "$BASE_VERSION" >/dev/null; then
		ver=$BASE_VERSION
	else
		ver=$(apt-cache "${APT_PRIV[@]}" madison "$BASE_PACKAGE" | awk '{ print $3 }' |
			sort -V | tail -n 1)
		[ -n "$ver" ] || die "$BASE_PACKAGE is not on the mirror ('$BASE_APT_SOURCE')"
		warn "$BASE_PACKAGE=$BASE_VERSION is gone from the mirror: using the newest, $ver (results may differ)"
	fi
	rm -f "$dl"/*.deb "$dl"/*.tmp
	run_logged "downloading $BASE_PACKAGE=$ver" "$dl/download.log" \
		bash -c 'cd "$1" && shift && exec apt-get "$@"' _ "$dl" "${APT_PRIV[@]}" download "$BASE_PACKAGE=$ver"
	deb=$(ls "$dl"/*.deb)
	if [ "$ver" = "$BASE_VERSION" ] && [ -n "${BASE_DEB_SHA256:-}" ]; then
		sha=$(sha256sum "$deb" | cut -d' ' -f1)
		[ "$sha" = "$BASE_DEB_SHA256" ] || die "$deb: sha256 $sha, expected $BASE_DEB_SHA256"
	fi
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./$BASE_TARBALL" >"$tarball.tmp" ||
		die "$deb has no $BASE_TARBALL"
	if [ "$ver" = "$BASE_VERSION" ]; then
		sha=$(sha256sum "$tarball.tmp" | cut -d' ' -f1)
		[ "$sha" = "$BASE_SHA256" ] ||
			{ rm -f "$tarball.tmp"; die "$BASE_TARBALL of $BASE_PACKAGE $ver: sha256 $sha, expected $BASE_SHA256"; }
	fi
	mv "$tarball.tmp" "$tarball"
	echo "$ver" >"$tarball.version"
	# The package's changelog: what Debian changed on top of upstream
	# (kit/debian-changes.sh).
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/share/doc/$BASE_PACKAGE/changelog.Debian.gz" \
		>"$dl/changelog.Debian.gz" 2>/dev/null || rm -f "$dl/changelog.Debian.gz"
	rm -f "$deb"
	echo "$tarball $ver"
}

make_own_tree() {
	local tarball have tmp
	read -r tarball have < <(fetch_base)
	[ -n "$have" ] || die "could not fetch $BASE_PACKAGE"

	tmp=$BUILD/linux.unpack
	rm -rf "$tmp"
	mkdir -p "$tmp"
	# Nothing half-unpacked is left behind (a full disk, Ctrl-C).
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	run_logged "unpacking ${tarball#"$KIT_ROOT"/}" "$BUILD/tree.log" \
		tar -C "$tmp" --strip-components=1 -xJf "$tarball"
	check_version "$tmp" >/dev/null
	# Debian's block at the end of .gitignore ignores every top-level path.
	awk '/^# Debian packaging/ { cut = 1 } !cut { buf[n++] = $0 }
	     END { while (n > 0 && (buf[n-1] == "#" || buf[n-1] == "")) n--;
		   for (i = 0; i < n; i++) print buf[i] }' \
		"$tmp/.gitignore" >"$tmp/.gitignore.new"
	mv "$tmp/.gitignore.new" "$tmp/.gitignore"
	grep -qx '/\*' "$tmp/.gitignore" && die "could not strip the Debian block from .gitignore"
	# 'add -f': the tarball's top .gitignore ignores every dotfile, so a
	# plain 'add' would leave the nested .gitignore files (which patches
	# touch) untracked.  The tarball holds sources only.
	(
		cd "$tmp"
		git init -q -b master
		# No 'gc --auto' left running in the background after a commit or
		# 'git am' (it would compete with the build, and outlive Ctrl-C).
		git config gc.auto 0
		git add -A -f
		GIT_AUTHOR_DATE=$BASE_COMMIT_DATE GIT_COMMITTER_DATE=$BASE_COMMIT_DATE \
			git "${GIT_IDENT[@]}" commit -q -m "Linux $BASE_KERNELVERSION ($BASE_PACKAGE $have)" \
			-m "Unpacked from $BASE_PACKAGE's ${BASE_TARBALL##*/}; the Debian block at the end of .gitignore removed."
		git tag base
	) >>"$BUILD/tree.log" 2>&1 || die "could not commit the base tree (see $BUILD/tree.log)"
	mv "$tmp" "$TREE"
	trap - EXIT
	log "base tree: $TREE at $(git -C "$TREE" rev-parse --short base)"
}

apply_series() {
	local p failed files
	# While this runs, a marker says the kit has the tree in its hands: a
	# run stopped half-way (Ctrl-C) is undone by the next one.
	: >"$(series_stamp_file).applying"
	rm -f "$(series_stamp_file)"
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
			git -C "$TREE" checkout -q -B series base
			rm -f "$(series_stamp_file).applying"
			die "patch $failed does not apply on base ($(git -C "$TREE" rev-parse --short base)): conflicts in ${conflicts:-?}(it touches $files)"
		fi
	done
	echo "$(series_hash) $(git -C "$TREE" rev-parse HEAD)" >"$(series_stamp_file)"
	rm -f "$(series_stamp_file).applying"
	log "series: ${#patches[@]} file(s) in series/, $(git -C "$TREE" rev-list --count base..HEAD) commit(s) on base"
}

mkdir -p "$BUILD"
if [ -n "${KERNEL_TREE:-}" ]; then
	# Its own work tree's top, not a directory inside another repository.
	[ -d "$TREE" ] && [ "$(git -C "$TREE" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$TREE" && pwd -P)" ] ||
		die "KERNEL_TREE=$TREE is not a git tree (the top of a git work tree)"
	# Before anything is written to the developer's tree.
	check_version "$TREE" >/dev/null
	if ! git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null; then
		[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
			die "KERNEL_TREE=$TREE has uncommitted changes; commit or stash them first"
		git -C "$TREE" tag base
		log "tagged base at $(git -C "$TREE" rev-parse --short HEAD) in $TREE"
	fi
elif ! git -C "$TREE" rev-parse -q --verify refs/tags/base >/dev/null 2>&1; then
	[ ! -e "$TREE" ] || die "$TREE exists but has no 'base' tag: move it away or remove it"
	make_own_tree
fi

# An earlier run stopped while it applied the series (Ctrl-C, a crash):
# what it left (a 'git am' in progress, a half-applied branch) is the kit's
# own, so it is thrown away and the series applied again.
if [ -e "$(series_stamp_file).applying" ]; then
	warn "an earlier 'make tree' stopped while applying series/: applying it again"
	git -C "$TREE" am --abort >/dev/null 2>&1 || true
	git -C "$TREE" checkout -q -f -B series base
	rm -f "$(series_stamp_file)"
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

# The baseline sources: a worktree at 'base', for the baseline builds
# (made again if it is not one of this tree's: the tree was made anew).
if [ ! -e "$BASE_SRC/Makefile" ] ||
   [ "$(git -C "$BASE_SRC" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)" != \
     "$(git -C "$TREE" rev-parse --path-format=absolute --git-common-dir)" ]; then
	rm -rf "$BASE_SRC"
	git -C "$TREE" worktree prune
	run_logged "checking out the baseline worktree" "$BUILD/worktree.log" \
		git -C "$TREE" worktree add --detach "$BASE_SRC" base
elif [ "$(git -C "$BASE_SRC" rev-parse HEAD)" != "$(git -C "$TREE" rev-parse base)" ]; then
	git -C "$BASE_SRC" checkout -q --detach "$(git -C "$TREE" rev-parse base)"
fi
