#!/usr/bin/env bash
# kit/initramfs.sh OUT [PLAN]
#
# Build the test machine's initramfs OUT: an LZ4 (legacy format, 'lz4 -l')
# compressed newc cpio with busybox-static (and its applet symlinks),
# tests/init as /init, and, when PLAN is given, the plan as /kit/plan and
# the selftest binaries it names under /kit/bin/<name>.
#
# The binaries come from $BUILD/selftests-$KIT_VARIANT/ (KIT_VARIANT: base
# or patched, default patched); build them first with kit/selftests.sh.
# KIT_INITRAMFS_ARCH=i386: for an i386 kernel (Debian's i386 busybox).
# OUT is rebuilt only when an input (busybox, init, plan, binaries, this
# script) changed: their checksums are kept in OUT.inputs.
. "$(dirname "$0")/lib.sh"

out=${1:?usage: initramfs.sh OUT [PLAN]}
plan=${2:-}
variant=${KIT_VARIANT:-patched}
bins=$BUILD/selftests-$variant

ensure_pkgs "${PKGS_INITRAMFS[@]}"
busybox=/bin/busybox
# An i386 kernel cannot run the host's busybox: Debian's i386 build of
# busybox-static, fetched with a private apt configuration.
if [ "${KIT_INITRAMFS_ARCH:-x86_64}" = i386 ]; then
	busybox=$(busybox_i386) || exit 1
fi
[ -x "$busybox" ] || die "no $busybox (busybox-static)"
LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep 'program interpreter' >/dev/null &&
	die "$busybox is not static"

# The inputs: file in the image <- file on the host.
inputs=("bin/busybox=$busybox" "init=$KIT_ROOT/tests/init" "kit/.script=$0")
if [ -n "$plan" ]; then
	[ -f "$plan" ] || die "no plan $plan"
	inputs+=("kit/plan=$plan")
	for t in $(plan_tests "$plan" | sort -u); do
		[ -x "$bins/$t" ] || die "$bins/$t missing: run kit/selftests.sh $variant $plan"
		inputs+=("kit/bin/$t=$bins/$t")
	done
fi

# Up to date?
sums=$(for i in "${inputs[@]}"; do printf '%s %s\n' "${i%%=*}" "$(sha256sum <"${i#*=}" | cut -c1-64)"; done)
if [ -f "$out" ] && [ "$sums" = "$(cat "$out.inputs" 2>/dev/null)" ]; then
	log "initramfs ${out#"$KIT_ROOT"/} is up to date"
	exit 0
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/kit-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,root,kit/bin}
for i in "${inputs[@]}"; do
	dst=$stage/${i%%=*}
	[ "${i%%=*}" = kit/.script ] && continue
	mkdir -p "$(dirname "$dst")"
	cp "${i#*=}" "$dst"
done
chmod 755 "$stage/init" "$stage/bin/busybox"
# The applets: the host's busybox names them (the same Debian package; an
# i386 one may not run on this host).
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -sf busybox "$stage/bin/$a"
done
ln -sf ../bin/busybox "$stage/sbin/init"
# /dev/console must exist before devtmpfs is mounted: the kernel opens it
# for init's stdio.
mknod -m 600 "$stage/dev/console" c 5 1
mknod -m 666 "$stage/dev/null" c 1 3

# Reproducible archive: sorted names, fixed times, root-owned.
mkdir -p "$(dirname "$out")"
find "$stage" -exec touch -h -d @0 {} +
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) | lz4 -l -9 -q -f - "$out.tmp"
mv "$out.tmp" "$out"
printf '%s\n' "$sums" >"$out.inputs"
log "initramfs ${out#"$KIT_ROOT"/}: $(du -k "$out" | cut -f1) KiB (${plan:+plan $(basename "$plan"), }variant $variant)"
