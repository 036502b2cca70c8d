#!/bin/sh
# Hybrid fallback: with everything left in KVM (ring0=kvm), the exceptions
# guest must still pass, and where KVM gives up on an instruction (kvm_pvm
# cannot emulate INT n/INT3 in guest ring 0) the run must say it handed
# it to the software CPU, in the trace and at exit.
: "${top_srcdir:=.}" "${top_builddir:=.}" "${TANDEM:=./tandem}"
why=$("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }')
case $why in
*" usable "*) ;;
*) echo "SKIP: KVM engine not usable here: ${why:-not built}"; exit 77 ;;
esac
out=$(mktemp -d) || exit 99
trap 'rm -rf "$out"' EXIT
g=exceptions
"$TANDEM" --accel=kvm,ring0=kvm --no-reboot --serial "file:$out/serial" \
	--trace=exit --trace-file="$out/trace" \
	--kernel "$top_builddir/tests/guests/$g.elf" >"$out/stdout" 2>"$out/stderr"
status=$?
grep -v '^#' "$top_srcdir/tests/guests/$g.expected" >"$out/want"
tr -d '\r' <"$out/serial" >"$out/got"
if [ $status != 1 ] || ! cmp -s "$out/want" "$out/got"; then
	echo "FAIL: $g with ring0=kvm (status $status, want 1)"
	diff -u "$out/want" "$out/got" | head -20
	sed 's/^/  stderr: /' "$out/stderr" | head -20
	exit 1
fi
n=$(sed -n 's/^tandem: kvm: \([0-9]*\) instruction(s) KVM could not emulate.*/\1/p' "$out/stderr")
traced=$(grep -c 'KVM cannot emulate the instruction at .*: running it on sw' "$out/trace")
if [ -z "$n" ]; then
	echo "SKIP: this KVM emulated everything $g ran in ring 0: nothing fell back to sw"
	exit 77
fi
if [ "$traced" != "$n" ]; then
	echo "FAIL: exit line says $n fallbacks, --trace=exit shows $traced"
	exit 1
fi
echo "PASS: $g with ring0=kvm: $n instruction(s) run on sw, each traced:"
grep 'KVM cannot emulate' "$out/trace" | sed 's/^/  /'
