#!/bin/sh
# Get Debian's cloud kernel into a cache outside the tree and print the path
# of its vmlinuz on stdout (nothing else goes to stdout).
#
#   fetch-kernel.sh
#
# Cache: $TANDEM_CACHE (default /var/cache/tandem), or, when that cannot be
# written, ${XDG_CACHE_HOME:-$HOME/.cache}/tandem. Layout, in either:
#   CACHE/linux-image-KREL_VERSION_amd64.deb   the package as downloaded
#   CACHE/root/boot/vmlinuz-KREL                 what the tests boot
# The versioned package is the one linux-image-cloud-amd64 depends on
# (override the meta package with TANDEM_KERNEL_PKG). A cached kernel is
# reused; only a missing one is downloaded. Without apt (or network), a
# kernel already in a cache is still used.
#
# Exit status: 0 and the path on stdout; 77 (skip) with the reason on stderr
# when no kernel can be had here; 99 on an unexpected error.
meta=${TANDEM_KERNEL_PKG:-linux-image-cloud-amd64}
primary=${TANDEM_CACHE:-/var/cache/tandem}
fallback=${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/tandem

skip() { echo "fetch-kernel: $*" >&2; exit 77; }
note() { echo "fetch-kernel: $*" >&2; }

# A bzImage carries "HdrS" at offset 0x202: refuse to hand back anything else
# (a truncated extraction, an HTML error page saved by a proxy...).
is_bzimage() {
	[ -s "$1" ] && [ "$(dd if="$1" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ]
}

# Newest cached kernel, in either cache, for when apt cannot tell us which
# one is current.
newest_cached() {
	ls -t "$primary"/root/boot/vmlinuz-* "$fallback"/root/boot/vmlinuz-* 2>/dev/null |
	while read -r k; do
		if is_bzimage "$k"; then echo "$k"; break; fi
	done
}

# 1. Which versioned package? "Depends: linux-image-6.1.0-56-cloud-amd64".
pkg=
if command -v apt-cache >/dev/null 2>&1; then
	pkg=$(apt-cache depends "$meta" 2>/dev/null |
	      sed -n 's/^ *Depends: *\(linux-image-[^ ]*\).*/\1/p' | head -n 1)
fi
if [ -z "$pkg" ]; then
	k=$(newest_cached)
	if [ -n "$k" ]; then
		note "apt-cache cannot resolve $meta; using the cached $k"
		echo "$k"
		exit 0
	fi
	if ! command -v apt-cache >/dev/null 2>&1; then
		skip "no apt-cache here (not Debian?) and no kernel cached in $primary or $fallback"
	fi
	skip "apt-cache depends $meta names no linux-image package (apt lists not fetched?" \
	     "run apt-get update) and no kernel is cached in $primary or $fallback"
fi
krel=${pkg#linux-image-}

# 2. Already cached (read-only is fine)?
for c in "$primary" "$fallback"; do
	if is_bzimage "$c/root/boot/vmlinuz-$krel"; then
		echo "$c/root/boot/vmlinuz-$krel"
		exit 0
	fi
done

# 3. A cache we can write.
cache=
for c in "$primary" "$fallback"; do
	if mkdir -p "$c" 2>/dev/null && [ -w "$c" ]; then
		cache=$c
		break
	fi
done
[ -n "$cache" ] || skip "neither $primary nor $fallback can be written"
command -v dpkg-deb >/dev/null 2>&1 || skip "dpkg-deb not found (package dpkg)"

# 4. The package: reuse a downloaded .deb, else apt-get download.
deb=$(ls "$cache/${pkg}"_*_amd64.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
	command -v apt-get >/dev/null 2>&1 || skip "apt-get not found; cannot download $pkg"
	dl=$(mktemp -d "$cache/.download.XXXXXX") || skip "cannot create a directory in $cache"
	# apt-get download writes into the current directory; as root its
	# sandbox user _apt must be able to write there.
	chmod 0755 "$dl"
	if ! (cd "$dl" && apt-get download "$pkg") >"$dl/log" 2>&1; then
		if [ "$(id -u)" = 0 ]; then
			note "apt-get download $pkg failed; running apt-get update and retrying"
			apt-get update >"$dl/update.log" 2>&1
			(cd "$dl" && apt-get download "$pkg") >"$dl/log" 2>&1
		fi
	fi
	got=$(ls "$dl/${pkg}"_*_amd64.deb 2>/dev/null | head -n 1)
	if [ -z "$got" ]; then
		# The download's own error says it best ("E: Failed to fetch ...").
		why=$(grep -h -E '^(E|Err):' "$dl/log" 2>/dev/null | tail -n 1)
		rm -rf "$dl"
		skip "apt-get download $pkg failed (no network or no apt source?): ${why:-no error text}"
	fi
	deb=$cache/${got##*/}
	mv "$got" "$deb" || { rm -rf "$dl"; exit 99; }
	rm -rf "$dl"
fi

# 5. Unpack into a scratch directory, then move only the boot files into
# place: an interrupted run never leaves a half-written vmlinuz behind, and
# the modules (unused: the initramfs is busybox only) take no space.
x=$(mktemp -d "$cache/.unpack.XXXXXX") || skip "cannot create a directory in $cache"
if ! dpkg-deb -x "$deb" "$x" 2>"$x.err"; then
	why=$(tail -n 1 "$x.err")
	rm -rf "$x" "$x.err"
	rm -f "$deb"   # likely truncated: download it again next time
	skip "dpkg-deb -x $deb failed: $why"
fi
rm -f "$x.err"
if ! is_bzimage "$x/boot/vmlinuz-$krel"; then
	rm -rf "$x"
	skip "$deb holds no bzImage at boot/vmlinuz-$krel"
fi
mkdir -p "$cache/root/boot" || { rm -rf "$x"; exit 99; }
for f in config System.map vmlinuz; do   # vmlinuz last: its presence means "complete"
	[ -f "$x/boot/$f-$krel" ] && mv -f "$x/boot/$f-$krel" "$cache/root/boot/"
done
rm -rf "$x"
note "unpacked $pkg into $cache/root"
echo "$cache/root/boot/vmlinuz-$krel"
