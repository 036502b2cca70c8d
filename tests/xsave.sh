#!/bin/sh
# The XSAVE feature set in a guest (tests/guests/xsave.c) on every engine:
#  1. The software CPU with -cpu max, unrestricted by KVM (XSAVE and AVX
#     where the host has them; the default model has neither): jit=on,
#     jit=off and jit=check print the same lines, every check passes, and
#     jit=check reports no mismatch.
#  2. With KVM usable, both engines get the same (KVM-restricted) model:
#     kvm and sw print the same lines.
: "${top_srcdir:=.}" "${top_builddir:=.}" "${TANDEM:=./tandem}"
elf=$top_builddir/tests/guests/xsave.elf
if ! [ -f "$elf" ]; then
	echo "SKIP: tests/guests/xsave.elf not built"; exit 77
fi
out=$(mktemp -d) || exit 99
trap 'rm -rf "$out"' EXIT
fail=0

# run NAME ENV-ASSIGNMENT ACCEL [OPTION]: the guest's serial output and exit status.
run() {
	env $2 "$TANDEM" --accel="$3" $4 --stats --no-reboot --serial "file:$out/$1.serial" \
		--kernel "$elf" >"$out/$1.stdout" 2>"$out/$1.stderr"
	echo $? >"$out/$1.rc"
	tr -d '\r' <"$out/$1.serial" >"$out/$1"
}

# compare NAME REFERENCE: exit status 1 (the kit's "all checks passed"), same lines.
compare() {
	if [ "$(cat "$out/$1.rc")" = 1 ] && grep -q '^xsave: [0-9]* checks, 0 failed' "$out/$1" &&
	   cmp -s "$out/$2" "$out/$1"; then
		echo "PASS: $1 ($(grep -c '^ok - ' "$out/$1") checks, the same lines as $2)"
	else
		echo "FAIL: $1 (status $(cat "$out/$1.rc"), want 1; output against $2:)"
		diff -u "$out/$2" "$out/$1" | head -30
		grep 'FAIL' "$out/$1" | head -10
		grep -v '^sw: \|^tandem: ' "$out/$1.stderr" | head -10
		fail=1
	fi
}

for mode in on off check; do
	run "sw-jit-$mode" TANDEM_KVM_DEVICE=/nonexistent "sw,jit=$mode" --cpu=max
done
for mode in on off check; do
	compare "sw-jit-$mode" sw-jit-on
done
grep '^leaf 0xd\|^xsave: not in CPUID' "$out/sw-jit-on" | sed 's/^/NOTE: sw: /'
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
	compare sw sw
	compare kvm sw
	grep '^leaf 0xd\|^xsave: not in CPUID' "$out/kvm" | sed 's/^/NOTE: kvm: /'
	;;
*)	echo "NOTE: KVM not usable here (${why:-not built}): engines not compared" ;;
esac
exit $fail
