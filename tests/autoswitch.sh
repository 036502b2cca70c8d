#!/bin/sh
# --accel=auto switches by itself (machine/vmswitch.h): the benchmark guest
# runs its interp workload four times in ring 0, then four times in ring 3
# (cpl=00003333). On a kvm_pvm host auto picks kvm, whose ring 0 runs on
# the software CPU anyway: the ring-0 phase moves the whole VM to sw, the
# ring-3 phase brings it back, each with a line that says why; every
# phase's checksum is the one an uninterrupted sw run prints; no more than
# those two switches (hysteresis). switch=off: no switch. A bad switch=
# value: one line, status 1. Skips where kvm is not kvm_pvm (auto has no
# reason to switch there).
: "${top_builddir:=.}" "${top_srcdir:=.}" "${TANDEM:=./tandem}"
elf=$top_builddir/tests/bench/bench.elf
[ -f "$elf" ] || { echo "SKIP: $elf not built"; exit 77; }
case $("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }') in
*" usable "*) ;;
*) echo "SKIP: the KVM engine is not usable here"; exit 77 ;;
esac
[ -e /sys/module/kvm_pvm ] || { echo "SKIP: this KVM is not kvm_pvm: auto never switches"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
sums() { sed -n 's/^bench: end interp checksum \(0x[0-9a-f]*\)$/\1/p' "$1" | tr '\n' ' '; }

want=$("$TANDEM" --accel=sw --kernel "$elf" --append "bench=interp" 2>/dev/null |
	sed -n 's/^bench: end interp checksum \(0x[0-9a-f]*\)$/\1/p')
[ -n "$want" ] || { echo "FAIL: no checksum from an uninterrupted sw run"; exit 1; }
want8="$want $want $want $want $want $want $want $want "
# The guest leaves through the debug-exit port: exit(0) there is status 1.

timeout -k 5 300 "$TANDEM" --accel=auto --stats --kernel "$elf" \
	--append "bench=interp cpl=00003333" >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
[ $st = 1 ] || bad "auto: exit status $st: $(tail -n 3 "$tmp/err")"
[ "$(sums "$tmp/out")" = "$want8" ] || bad "auto: checksums '$(sums "$tmp/out")', want 8 x $want"
to_sw=$(grep '^tandem: auto: guest ran [0-9]*% in ring 0 over [0-9.]* s on kvm.*, switching to sw$' "$tmp/err")
back=$(grep '^tandem: auto: guest ran [0-9]*% in ring 3 over [0-9.]* s on sw, switching to kvm$' "$tmp/err")
[ -n "$to_sw" ] || bad "auto: no switch to sw in the ring-0 phase: $(grep auto: "$tmp/err")"
[ -n "$back" ] || bad "auto: no switch back to kvm in the ring-3 phase: $(grep auto: "$tmp/err")"
n=$(sed -n 's/^tandem: auto: \([0-9]*\) automatic engine switches.*/\1/p' "$tmp/err")
[ "$n" = 2 ] || bad "auto: ${n:-no} automatic switches counted by --stats, want 2 (no flapping)"
total=$(sed -n 's/^tandem: engine switches: \([0-9]*\).*/\1/p' "$tmp/err")
[ "$total" = 2 ] || bad "auto: ${total:-no} engine switches in --stats, want 2"
[ $fail = 0 ] && echo "ok: auto: $to_sw / $back; 8 checksums right; --stats: $(grep '^tandem: auto: [0-9]' "$tmp/err")"

timeout -k 5 300 "$TANDEM" --accel=auto,switch=off --stats --kernel "$elf" \
	--append "bench=interp cpl=00" >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
[ $st = 1 ] || bad "switch=off: exit status $st"
[ "$(sums "$tmp/out")" = "$want $want " ] || bad "switch=off: checksums '$(sums "$tmp/out")'"
grep -q '^tandem: auto:' "$tmp/err" && bad "switch=off, yet: $(grep '^tandem: auto:' "$tmp/err")"
grep -q '^tandem: engine switches:' "$tmp/err" && bad "switch=off, yet engine switches"
[ $fail = 0 ] && echo "ok: switch=off: no automatic switch"

"$TANDEM" --accel=auto,switch=maybe --kernel "$elf" >"$tmp/out" 2>&1 </dev/null
st=$?
if [ $st = 1 ] && [ "$(wc -l <"$tmp/out")" = 1 ] && grep -q "switch takes on|off" "$tmp/out"; then
	echo "ok: $(cat "$tmp/out")"
else
	bad "switch=maybe: status $st: $(cat "$tmp/out")"
fi
exit $fail
