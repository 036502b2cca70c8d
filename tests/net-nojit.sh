#!/bin/sh
# tests/net.sh's guest on the interpreter alone (sw,jit=off).
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/net/run.sh" sw-nojit
