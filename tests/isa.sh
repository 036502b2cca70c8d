#!/bin/sh
# The x86-64-v2 extensions on every engine against the host CPU.
# tests/guests/isa.c runs every SSE3/SSSE3/SSE4.1/SSE4.2/POPCNT/LZCNT/
# CMPXCHG16B instruction over fixed data and prints checksums; built as a
# host program (isa-native) it prints what the host CPU computes.
#  1. The software CPU with its CPU model unrestricted by KVM (the model is
#     then what sw implements intersected with the host, the same features
#     isa-native sees): jit=on, jit=off and jit=check must print exactly
#     the host's lines.
#  2. With KVM usable, both engines get the same (KVM-restricted) model:
#     kvm and sw must print the same lines.
: "${top_srcdir:=.}" "${top_builddir:=.}" "${TANDEM:=./tandem}"
# The guest: isa, or another built the same way (tests/bitops.sh: bitops).
g=${ISA_GUEST:-isa}
# The CPU model of the sw runs against the host (ISA_CPU, e.g. max; default: tandem's).
sw_cpu=${ISA_CPU:+--cpu=$ISA_CPU}
native=$top_builddir/tests/guests/$g-native
elf=$top_builddir/tests/guests/$g.elf
if ! [ -x "$native" ] || ! [ -f "$elf" ]; then
	echo "SKIP: tests/guests/$g-native or $g.elf not built"; exit 77
fi
out=$(mktemp -d) || exit 99
trap 'rm -rf "$out"' EXIT
fail=0

"$native" >"$out/native" || { echo "FAIL: $g-native exited with $?"; exit 1; }
grep -q . "$out/native" || { echo "FAIL: $g-native printed nothing"; exit 1; }

# run NAME ENV-ASSIGNMENT ACCEL [OPTION]: the guest's lines, without the kit's summary line.
run() {
	env $2 "$TANDEM" --accel="$3" $4 --stats --no-reboot --serial "file:$out/$1.serial" \
		--kernel "$elf" >"$out/$1.stdout" 2>"$out/$1.stderr"
	echo $? >"$out/$1.rc"
	tr -d '\r' <"$out/$1.serial" | grep -v "^$g: [0-9]* checks" >"$out/$1"
}

# compare NAME REFERENCE
compare() {
	if [ "$(cat "$out/$1.rc")" = 1 ] && cmp -s "$out/$2" "$out/$1"; then
		echo "PASS: $1 ($(grep -c ': [0-9a-f]\{16\}$' "$out/$1") checksums equal to $2)"
	else
		echo "FAIL: $1 (status $(cat "$out/$1.rc"), want 1; output against $2:)"
		diff -u "$out/$2" "$out/$1" | head -30
		grep -v '^sw: \|^tandem: ' "$out/$1.stderr" | head -10
		fail=1
	fi
}

for mode in on off check; do
	run "sw-jit-$mode" TANDEM_KVM_DEVICE=/nonexistent "sw,jit=$mode" "$sw_cpu"
	compare "sw-jit-$mode" native
done
if ! grep -q '^sw: translator: jit=check: [0-9]* blocks compared with the interpreter, 0 mismatches' \
	"$out/sw-jit-check.stderr"; then
	echo "FAIL: jit=check reported mismatches:"
	grep 'jit=check' "$out/sw-jit-check.stderr"
	fail=1
fi

why=$("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }')
case $why in
*" usable "*)
	run kvm "" kvm
	run sw "" sw
	compare kvm sw
	echo "NOTE: the model under KVM: $(grep -c 'not in CPUID' "$out/kvm") of the extensions absent"
	;;
*)	echo "NOTE: KVM not usable here (${why:-not built}): engines not compared" ;;
esac
exit $fail
