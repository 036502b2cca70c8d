#!/bin/sh
# Snapshots of a Linux guest with virtio disks, taken on sw while it writes
# to its ext4 disk and restored on kvm (sw where kvm is not usable): the
# file it goes on writing is right in the image afterwards; bad snapshot
# files and another image are refused with one line. See snap_test in
# tests/linux-virtio-blk.sh. `linux-virtio-snap.sh sw-switch` moves the
# guest between sw and kvm every 0.1 s while it uses the same disks (live
# switches need nothing of the devices). Not in the default run: on the
# kvm_pvm hosts its busybox got SIGILL / SIGSEGV within a few dozen
# switches; three causes are fixed in accel/hw/kvm.c (a user-mode state
# set into KVM from outside kept the guest's IDT; a state taken half-way
# into a SYSCALL's hand-over kept KVM's pending #PF; user CPUID saw the
# host's features). It now passes most runs, but about one in six still
# finds /big read back different: another bug, not found yet.
# `linux-virtio-snap.sh snap-kvm` goes the other way (kvm -> sw) and is
# in the default run: the SIGILL (user CPUID saw the host's features) and
# the hang after restore (states set from outside kept the guest's real
# IDT in KVM) are fixed; 4 of 4 runs passed after those fixes.
here=$(cd "$(dirname "$0")" && pwd)
exec "${SHELL:-/bin/sh}" "$here/linux-virtio-blk.sh" ${*:-snap snap-kvm}
