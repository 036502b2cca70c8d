#!/bin/sh
# tests/net.sh's guest on -netdev tap: the test makes a tap with ip(8) and
# fetches a page over it (skipped where the host does not allow taps).
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/net/run.sh" --tap sw qemu
