#!/bin/sh
# Boot Debian's cloud kernel with a busybox initramfs on both engines (see
# tests/linux/run.sh): the scripted test (hashes, tmpfs, forks), poweroff,
# then reboot -f. Skips with the reason when no kernel can be fetched.
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/linux/run.sh" sw kvm
