#!/bin/sh
# The Linux test (tests/linux/run.sh) under jit=check: every translated
# block of the boot and the scripted test is replayed on the interpreter
# and compared; it fails on a single mismatch.
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/linux/run.sh" --mode test sw-check
