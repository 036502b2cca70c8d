#!/bin/sh
# The guest kit on the reference interpreter alone (jit=off): the same
# expected output as with the translator.
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/guest-runner.sh" sw-nojit
