#!/bin/sh
# Deterministic mode (-icount) on the software CPU: the clock guest prints
# TSC deltas, PIT/PM timer/RTC readings and tick counts, which under
# -icount are functions of the instruction count: three runs must print
# the same bytes. Record/replay: a run with typed input, recorded, then
# replayed with no input, prints the same; a recording whose checkpoint
# was tampered with stops the replay with the place it diverged.
: "${top_builddir:=.}" "${TANDEM:=./tandem}"
g=$top_builddir/tests/guests/clock.elf
[ -f "$g" ] || { echo "SKIP: $g not built"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

for shift in 0 3; do
	for i in 1 2 3; do
		timeout 120 "$TANDEM" -icount shift=$shift -kernel "$g" >"$tmp/run$i" 2>/dev/null
	done
	if cmp -s "$tmp/run1" "$tmp/run2" && cmp -s "$tmp/run1" "$tmp/run3" &&
	   grep -q '^tsc delta 7: ' "$tmp/run1"; then
		ok "shift=$shift: 3 runs byte-identical ($(grep '^tsc delta 1' "$tmp/run1"))"
	else
		bad "shift=$shift: runs differ"; diff "$tmp/run1" "$tmp/run2" | head -5
	fi
	cp "$tmp/run1" "$tmp/shift$shift"
done
# 1 GHz TSC over a 2^shift ns instruction: 8x the instructions' worth at shift=3.
cmp -s "$tmp/shift0" "$tmp/shift3" && bad "shift=0 and shift=3 print the same"

# Record with input typed at host-chosen moments, replay with none.
(sleep 1; printf 'ab'; sleep 1; printf 'cq') |
	timeout 120 "$TANDEM" -icount shift=0,rr=record,rrfile="$tmp/r.rr" -kernel "$g" \
	-append echo >"$tmp/rec" 2>"$tmp/rec.err"
timeout 120 "$TANDEM" -icount shift=0,rr=replay,rrfile="$tmp/r.rr" -kernel "$g" \
	-append echo </dev/null >"$tmp/rep" 2>"$tmp/rep.err"
if grep -q '^got 71 ' "$tmp/rec" && cmp -s "$tmp/rec" "$tmp/rep"; then
	ok "record/replay: the replay without input prints what the recorded run did" \
	   "($(grep -c '^I ' "$tmp/r.rr") input events, $(grep -c '^C ' "$tmp/r.rr") checkpoints)"
else
	bad "record/replay differ"; diff "$tmp/rec" "$tmp/rep" | head -8; cat "$tmp/rep.err"
fi

# A tampered checkpoint: the replay stops there, status 3, one line saying where.
awk '/^C / && !done { $3 = "deadbeef"; done = 1 } { print }' "$tmp/r.rr" >"$tmp/bad.rr"
timeout 120 "$TANDEM" -icount shift=0,rr=replay,rrfile="$tmp/bad.rr" -kernel "$g" \
	-append echo </dev/null >/dev/null 2>"$tmp/bad.err"
rc=$?
if [ $rc = 3 ] && grep -q 'replay diverged from .* at instruction [0-9]*: checkpoint RIP differs' \
	"$tmp/bad.err"; then
	ok "tampered recording: $(grep diverged "$tmp/bad.err" | cut -c1-110)"
else
	bad "tampered recording: status $rc"; cat "$tmp/bad.err"
fi

# Refusals, one line each.
for args in "--accel=kvm -icount shift=0" "-icount shift=auto" "-icount shift=0,rr=replay" \
	    "-icount shift=0,rr=replay,rrfile=$tmp/nonexistent" "-icount shift=99"; do
	out=$("$TANDEM" $args -kernel "$g" 2>&1 </dev/null)
	rc=$?
	n=$(printf '%s\n' "$out" | grep -v '^tandem: engine ' | grep -c .)
	if [ $rc = 1 ] && [ "$n" = 1 ]; then
		ok "refused: $args: $(printf '%s\n' "$out" | grep -v '^tandem: engine ')"
	else
		case "$args $out" in
		*accel=kvm*"not usable"*) ok "kvm not usable here: $args" ;;
		*) bad "$args: status $rc: $out" ;;
		esac
	fi
done
exit $fail
