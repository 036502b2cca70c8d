#!/bin/sh
# The Linux I/O phases of `make bench` (tests/bench/linux-io.sh) at the
# tiny size on sw, kvm and QEMU TCG (those that can run here): every byte
# the guest read, wrote and sent is checked by the script itself; this
# test checks its exit status and the shape of the tables, never times.
: "${top_srcdir:=.}" "${top_builddir:=.}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
BENCH_IO_LOGDIR=$tmp/logs BENCH_IO_TIMEOUT=${BENCH_IO_TIMEOUT:-600} \
	"${SHELL:-/bin/sh}" "$top_srcdir/tests/bench/linux-io.sh" --size tiny sw kvm qemu >"$tmp/out" 2>&1
status=$?
cat "$tmp/out"
[ $status != 77 ] || exit 77
[ $status = 0 ] || { echo "FAIL: linux-io.sh --size tiny: exit status $status"; exit 1; }

# The MB/s table: a header naming the three targets, then six rows, each
# with a number in the column of every target that ran (n/a where it
# could not run); the ratio table where QEMU ran.
awk '
	/^MB\/s/ { t = 1; next }
	t == 1 {
		if ($1 != "phase" || $2 != "sw" || $3 != "kvm" || $4 != "qemu") { print "bad header: " $0; bad = 1 }
		t = 2; next
	}
	t == 2 && /^$/ { t = 3; next }
	t == 2 {
		rows++
		for (i = 2; i <= 4; i++) {
			v = $(NF - 4 + i)
			if (v != "n/a" && v !~ /^[0-9]+\.[0-9][0-9]$/) { print "bad cell: " $0; bad = 1 }
		}
	}
	/^ratio to QEMU TCG/ { ratio = 1 }
	/^geomean/ { geo = 1 }
	END {
		if (rows != 6) { print "want 6 rows, got " rows + 0; bad = 1 }
		if (ratio != geo) { print "a ratio table without its geomean"; bad = 1 }
		exit bad
	}' "$tmp/out" || { echo "FAIL: the table's shape"; exit 1; }
grep -q '^  qemu: qemu-system' "$tmp/out" && ! grep -q '^ratio to QEMU TCG' "$tmp/out" &&
	{ echo "FAIL: QEMU ran but there is no ratio table"; exit 1; }
echo "PASS: linux-io tiny (data checked on every target that ran; times not checked)"
