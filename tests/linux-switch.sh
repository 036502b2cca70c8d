#!/bin/sh
# The Linux test (tests/linux/run.sh) started on sw and moved between sw
# and kvm 100 times through QMP while it runs: its output must be what an
# uninterrupted run prints (tests/linux/test.expected).
exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/linux/run.sh" --mode test sw-switch
