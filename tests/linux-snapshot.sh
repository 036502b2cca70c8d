#!/bin/sh
# The Linux test (tests/linux/run.sh) snapshotted on sw once init has
# started and finished from the snapshot in a new process on kvm (sw where
# kvm is not usable): the output, before plus after, must be what an
# uninterrupted run prints (tests/linux/test.expected).
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/linux/run.sh" --mode test sw-snap
