#!/bin/sh
# The guest kit under jit=check: each translated block replayed on the
# interpreter and compared; the output must still be the expected one.
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/guest-runner.sh" sw-check
