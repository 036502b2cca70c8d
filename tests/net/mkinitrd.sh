#!/bin/sh
# Build the network test's initramfs: the host's static busybox, the virtio
# modules of Debian's cloud kernel (from the cached .deb next to its
# vmlinuz), init.sh and udhcpc.sh from this directory, and two random files.
#
#   mkinitrd.sh VMLINUZ OUT.cpio.gz
#
# Writes OUT.cpio.gz and OUT.vars (shell assignments: FWD_SHA256, the sha256
# of /data/fwd, which the guest serves over hostfwd; HVC_SHA256 and
# HVC_BYTES, of /data/hvc, which it writes to /dev/hvc0).
# Exit status: 0 built; 77 (skip) with the reason; 99 on an unexpected error.
kernel=$1 out=$2
bb=${BUSYBOX:-/bin/busybox}
here=$(cd "$(dirname "$0")" && pwd)

skip() { echo "mkinitrd-net: $*" >&2; exit 77; }
die() { echo "mkinitrd-net: $*" >&2; exit 99; }

[ -n "$out" ] && [ -f "$kernel" ] || die "usage: $0 VMLINUZ OUT.cpio.gz"
[ -x "$bb" ] || skip "$bb not found (Debian: apt-get install busybox-static)"
command -v cpio >/dev/null 2>&1 || skip "cpio not found (Debian: apt-get install cpio)"
command -v dpkg-deb >/dev/null 2>&1 || skip "dpkg-deb not found"
krel=${kernel##*/vmlinuz-}
cache=$(dirname "$(dirname "$(dirname "$kernel")")")
deb=$(ls "$cache"/linux-image-"$krel"_*.deb 2>/dev/null | head -n 1)
[ -f "$deb" ] || skip "no linux-image-$krel .deb in $cache (the modules come from it)"

root=$(mktemp -d) || die "mktemp failed"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/proc" "$root/sys" \
	"$root/dev" "$root/tmp" "$root/etc" "$root/data" "$root/lib/modules" "$root/x" ||
	die "cannot populate $root"
cp "$bb" "$root/bin/busybox" || die "cannot copy $bb"
"$bb" --list-full >"$root/applets" || die "$bb --list-full failed"
while read -r a; do
	case $a in bin/busybox | "") continue ;; esac
	[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a" || die "ln $a failed"
done <"$root/applets"
rm "$root/applets"

dpkg-deb -x "$deb" "$root/x" || die "cannot unpack $deb"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
	failover net_failover virtio_net virtio_console virtio-rng; do
	f=$(find "$root/x" -name "$m.ko" | head -n 1)
	[ -n "$f" ] || f=$(find "$root/x" -name "$m.ko.*" | head -n 1)
	[ -n "$f" ] || die "$m.ko not in $deb"
	case $f in
	*.ko) cp "$f" "$root/lib/modules/$m.ko" ;;
	*.xz) xz -dc "$f" >"$root/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$f" >"$root/lib/modules/$m.ko" ;;
	*) die "cannot unpack $f" ;;
	esac || die "cannot install $m"
done
rm -rf "$root/x"

cp "$here/init.sh" "$root/init" && chmod 0755 "$root/init" || die "cannot install /init"
cp "$here/udhcpc.sh" "$root/etc/udhcpc.sh" && chmod 0755 "$root/etc/udhcpc.sh" ||
	die "cannot install udhcpc.sh"
head -c 196608 /dev/urandom >"$root/data/fwd" || die "cannot write /data/fwd"
head -c 65536 /dev/urandom >"$root/data/hvc" || die "cannot write /data/hvc"
fwd=$(sha256sum <"$root/data/fwd") hvc=$(sha256sum <"$root/data/hvc") || die "sha256sum failed"

tmp=$out.tmp.$$
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -6n >"$tmp" || { rm -f "$tmp"; die "cpio failed"; }
mv -f "$tmp" "$out" || die "cannot write $out"
cat >"${out%.cpio.gz}.vars" <<EOV
FWD_SHA256=${fwd%% *}
HVC_SHA256=${hvc%% *}
HVC_BYTES=65536
EOV
