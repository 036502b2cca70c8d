#!/bin/sh
# Issue 11's "done when": with -cpu max the software CPU runs an x86-64-v3
# user program (tests/linux/v3prog.c built here with -march=x86-64-v3:
# AVX2, FMA, BMI1/2, LZCNT, MOVBE; glibc picks its AVX2 string functions)
# inside the Linux guest, and it prints exactly what it prints natively.
# On sw with the translator and without it; on kvm too where KVM offers
# those features to the guest (kvm_pvm does not: then it says so).
# Skips with the reason when the host CPU or the toolchain cannot build or
# run the program, or no kernel can be fetched.
: "${top_srcdir:=.}" "${top_builddir:=.}" "${TANDEM:=./tandem}"
work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT

for f in avx2 fma bmi2 movbe; do
	grep -q -w "$f" /proc/cpuinfo || { echo "SKIP: the host CPU lacks $f"; exit 77; }
done
cc=${CC:-cc}
if ! "$cc" -O3 -march=x86-64-v3 -static -o "$work/v3prog" "$top_srcdir/tests/linux/v3prog.c" \
	2>"$work/cc.err"; then
	cat "$work/cc.err"
	echo "SKIP: cannot build a static x86-64-v3 program (Debian: gcc, libc6-dev)"
	exit 77
fi
# The program must really use what it is meant to test.
if command -v objdump >/dev/null 2>&1; then
	objdump -d --no-show-raw-insn "$work/v3prog" >"$work/v3.dis"
	for i in vfmadd ymm shrx lzcnt; do
		grep -q "$i" "$work/v3.dis" || { echo "FAIL: v3prog has no $i instruction"; exit 1; }
	done
fi
"$work/v3prog" >"$work/native.out" || { echo "FAIL: v3prog fails natively"; exit 1; }
sed 's/^/native: /' "$work/native.out"

engines="sw sw-nojit"
why=$("$TANDEM" info --cpu -cpu max --accel=kvm 2>&1)
case $why in
*avx2*) engines="$engines kvm" ;;
*) echo "NOTE: kvm: -cpu max has no AVX2 here (KVM does not offer it to guests): sw only" ;;
esac
V3PROG=$work/v3prog exec "${SHELL:-/bin/sh}" "$top_srcdir/tests/linux/run.sh" --cpu max --mode v3 $engines
