#!/bin/sh
# Build the Linux boot test's initramfs from the host's static busybox.
#
#   mkinitrd.sh OUT.cpio.gz
#
# Writes OUT.cpio.gz (newc cpio, gzip) and OUT.vars next to it: shell
# assignments of what the guest must print, computed here on the host:
#   BLOB_SHA256   sha256 of /data/blob (random content, new on every build)
#   SEQ_COUNT     lines the guest generates with seq
#   SEQ_SHA256    sha256 of "seq 1 SEQ_COUNT"
# The image holds /init (init.sh next to this script), /bin/busybox and a
# symlink per applet, /bin/child (the fork/exec test's child), /bin/cpuprobe
# (the CPU feature probe, where the host's compiler links it static) and /data.
#
#   V3_SHA256     sha256 of what /bin/v3prog prints on the host (only with V3PROG)
# Environment: BUSYBOX (default /bin/busybox), SRCDIR (default: this
# script's directory), V3PROG (a static x86-64-v3 program to install as
# /bin/v3prog; linux-v3.sh builds it). Exit status: 0 built; 77 (skip) with the reason when
# a tool is missing here; 99 on an unexpected error.
out=$1
bb=${BUSYBOX:-/bin/busybox}
: "${SRCDIR:=$(dirname "$0")}"
seq_count=20000
blob_kib=256

skip() { echo "mkinitrd: $*" >&2; exit 77; }
die() { echo "mkinitrd: $*" >&2; exit 99; }

[ -n "$out" ] || die "usage: $0 OUT.cpio.gz"
case $out in *.cpio.gz) ;; *) die "the output must be named *.cpio.gz: $out" ;; esac
[ -f "$SRCDIR/init.sh" ] || die "$SRCDIR/init.sh not found"
[ -x "$bb" ] || skip "$bb not found (Debian: apt-get install busybox-static)"
# A dynamically linked busybox (Debian's package "busybox") would need its
# libraries in the image: insist on the static one.
if command -v file >/dev/null 2>&1; then
	case $(file -L "$bb") in
	*statically\ linked* | *static-pie\ linked*) ;;
	*) skip "$bb is not statically linked (Debian: apt-get install busybox-static)" ;;
	esac
elif LC_ALL=C grep -q 'ld-linux' "$bb"; then
	skip "$bb looks dynamically linked (Debian: apt-get install busybox-static)"
fi
command -v cpio >/dev/null 2>&1 || skip "cpio not found (Debian: apt-get install cpio)"
command -v gzip >/dev/null 2>&1 || skip "gzip not found"
command -v sha256sum >/dev/null 2>&1 || skip "sha256sum not found (coreutils)"

root=$(mktemp -d) || die "mktemp failed"
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/proc" \
	 "$root/sys" "$root/dev" "$root/tmp" "$root/root" "$root/etc" "$root/data" ||
	die "cannot populate $root"
cp "$bb" "$root/bin/busybox" || die "cannot copy $bb"
# One symlink per applet, where busybox itself would install it.
"$bb" --list-full >"$root/applets" || die "$bb --list-full failed"
while read -r a; do
	case $a in bin/busybox | "") continue ;; esac
	[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a" || die "ln $a failed"
done <"$root/applets"
rm "$root/applets"
[ -L "$root/bin/sh" ] || die "$bb has no sh applet"

cp "$SRCDIR/init.sh" "$root/init" && chmod 0755 "$root/init" || die "cannot install /init"
printf '#!/bin/sh\n# fork/exec test child: prints 3*N+1\necho $(($1 * 3 + 1))\n' \
	>"$root/bin/child" && chmod 0755 "$root/bin/child" || die "cannot write /bin/child"
# /bin/cpuprobe (tandem.test=cpu, tests/linux-cpu.sh): static, with the host's
# compiler; left out (the mode then says so) where it cannot be built.
${CC:-cc} -static -O2 -o "$root/bin/cpuprobe" "$SRCDIR/cpuprobe.c" 2>/dev/null ||
	rm -f "$root/bin/cpuprobe"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
head -c $((blob_kib * 1024)) /dev/urandom >"$root/data/blob" || die "cannot write the blob"
echo "$seq_count" >"$root/data/seq-count"

v3_sha=
if [ -n "$V3PROG" ]; then
	cp "$V3PROG" "$root/bin/v3prog" && chmod 0755 "$root/bin/v3prog" || die "cannot copy $V3PROG"
	v3_sha=$("$V3PROG" | sha256sum) || die "$V3PROG failed on the host"
	v3_sha=${v3_sha%% *}
fi
blob_sha=$(sha256sum <"$root/data/blob") || die "sha256sum failed"
seq_sha=$(seq 1 "$seq_count" | sha256sum) || die "seq | sha256sum failed"

tmp=$out.tmp.$$
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) | gzip -9n >"$tmp" || { rm -f "$tmp"; die "cpio failed"; }
mv -f "$tmp" "$out" || die "cannot write $out"
cat >"${out%.cpio.gz}.vars" <<EOF
BLOB_SHA256=${blob_sha%% *}
SEQ_COUNT=$seq_count
SEQ_SHA256=${seq_sha%% *}
V3_SHA256=$v3_sha
EOF
