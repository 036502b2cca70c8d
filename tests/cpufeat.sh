#!/bin/sh
# The feature probe (tests/guests/cpufeat.c) on every engine: each run has
# 0 failed checks, and every engine prints the same lines for the same CPU
# model (CPUID, which features it tried, MXCSR across the hand-overs).
# Default model on sw (jit on, off, check) and kvm; -cpu max on each; Nehalem on sw.
: "${top_builddir:=.}" "${TANDEM:=./tandem}"
elf=$top_builddir/tests/guests/cpufeat.elf
[ -f "$elf" ] || { echo "SKIP: $elf not built"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0

# run NAME ACCEL [TANDEM ARGS...]: the probe's serial output in $tmp/NAME
run() {
	name=$1 accel=$2
	shift 2
	timeout 120 "$TANDEM" -q --accel="$accel" --no-reboot "$@" --serial "file:$tmp/$name" \
		--kernel "$elf" </dev/null >"$tmp/$name.err" 2>&1
	status=$?
	if [ $status -eq 1 ] && grep -q '^cpufeat: [0-9]* checks, 0 failed' "$tmp/$name"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $name ($accel $*): status $status"
		grep -v '^ok - ' "$tmp/$name" | sed 's/^/  /' | head -40
		sed 's/^/  stderr: /' "$tmp/$name.err" | head -10
		fail=$((fail + 1))
	fi
}

same() { # reference, other
	if cmp -s "$tmp/$1" "$tmp/$2"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $2 differs from $1:"
		diff -u "$tmp/$1" "$tmp/$2" | head -30
		fail=$((fail + 1))
	fi
}

run sw sw
run sw-nojit sw,jit=off
run sw-check sw,jit=check
same sw sw-nojit
same sw sw-check
why=$("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }')
case $why in
*" usable "*)
	run kvm kvm
	same sw kvm
	run max-kvm kvm -cpu max ;;
*)	echo "NOTE: KVM engine not usable here: ${why:-not built}; sw only" ;;
esac
run max-sw sw -cpu max
run max-nojit sw,jit=off -cpu max
run max-check sw,jit=check -cpu max
same max-sw max-nojit
same max-sw max-check
for f in smep smap umip pku pks rdtscp rdpid x2apic tsc-deadline pmu; do
	grep -q "^ok - $f: " "$tmp/max-sw" && pass=$((pass + 1)) ||
		{ echo "FAIL: -cpu max on sw did not try $f"; fail=$((fail + 1)); }
done
run max-icount sw -cpu max --icount shift=0
run nehalem sw -cpu Nehalem
grep -q '^cpuid 1: eax 000106a3' "$tmp/nehalem" && grep -q 'ok - sse4.2: crc32' "$tmp/nehalem" &&
	pass=$((pass + 1)) || { echo "FAIL: -cpu Nehalem: not family 6 model 26 with SSE4.2"; fail=$((fail + 1)); }
run nehalem-minus sw -cpu Nehalem,-sse4.2,-popcnt
grep -q -- '-- sse4.2: not advertised' "$tmp/nehalem-minus" && pass=$((pass + 1)) ||
	{ echo "FAIL: -cpu Nehalem,-sse4.2 still advertises it"; fail=$((fail + 1)); }
run epyc sw -cpu EPYC
run epyc-nojit sw,jit=off -cpu EPYC
same epyc epyc-nojit
grep -q '^ok - AMD legacy counters' "$tmp/epyc" && pass=$((pass + 1)) ||
	{ echo "FAIL: -cpu EPYC: the AMD counters were not tried"; fail=$((fail + 1)); }
echo "cpufeat: $pass passed, $fail failed"
[ $fail -eq 0 ]
