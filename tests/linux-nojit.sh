#!/bin/sh
# The Linux test (tests/linux/run.sh) on the reference interpreter alone
# (jit=off), scripted part only: the interpreter stays the reference.
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/linux/run.sh" --mode test sw-nojit
