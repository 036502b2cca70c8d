#!/bin/sh
# Snapshots of a Linux guest with virtio disks, taken on sw while it writes
# to its ext4 disk and restored on kvm (sw where kvm is not usable): the
# file it goes on writing is right in the image afterwards; bad snapshot
# files and another image are refused with one line. See snap_test in
# tests/linux-virtio-blk.sh. The default run also has `sw-switch`: the
# guest moved between sw and kvm every 0.1 s while it uses the same disks
# (live switches need nothing of the devices). On the kvm_pvm hosts its
# busybox used to get SIGILL / SIGSEGV there within a few dozen switches:
# a user-mode state set into KVM from outside kept the guest's IDT, and
# user CPUID saw the host's features (both fixed in accel/hw/kvm.c).
# `linux-virtio-snap.sh snap-kvm` goes the other way (kvm -> sw); it is
# not in the default run: the restored guest now finishes its writes on sw
# (no more SIGILL), but its `poweroff -f` hangs after the restore (the
# guest idles in HLT with no timer interrupt; a kvm -> kvm restore of the
# same snapshot hangs the same way), so the run ends by its timeout.
here=$(cd "$(dirname "$0")" && pwd)
exec "${SHELL:-/bin/sh}" "$here/linux-virtio-blk.sh" ${*:-snap sw-switch}
