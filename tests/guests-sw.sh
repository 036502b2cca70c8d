#!/bin/sh
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/guest-runner.sh" sw
