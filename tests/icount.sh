#!/bin/sh
# Deterministic mode (-icount) on the software CPU: the clock guest prints
# TSC deltas, PIT/PM timer/RTC readings and tick counts, which under
# -icount are functions of the instruction count: three runs must print
# the same bytes. Record/replay: a run with typed input, recorded, then
# replayed with no input, prints the same; a recording whose checkpoint
# was tampered with stops the replay with the place it diverged. The
# translator runs under -icount and must not change a byte of it.
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

# The translator runs under -icount (blocks count their instructions) and
# changes nothing the guest sees: jit=on and jit=off print the same bytes
# and retire the same number of instructions, at both shifts; jit=check
# (each block replayed on the interpreter) finds no mismatch.
for shift in 0 3; do
	for gn in clock interrupts storm; do
		k=$top_builddir/tests/guests/$gn.elf
		[ -f "$k" ] || continue
		for j in on off; do
			timeout 120 "$TANDEM" --accel=sw,jit=$j -icount shift=$shift -kernel "$k" \
				--stats </dev/null >"$tmp/j$j" 2>"$tmp/j$j.err"
			echo "status $?" >>"$tmp/j$j"
		done
		ion=$(sed -n 's/^sw: vCPU 0: \([0-9]*\) instructions.*/\1/p' "$tmp/jon.err")
		ioff=$(sed -n 's/^sw: vCPU 0: \([0-9]*\) instructions.*/\1/p' "$tmp/joff.err")
		d=$(sed -n 's/^sw: translator: \([0-9]*\) dispatches.*/\1/p' "$tmp/jon.err")
		if [ -n "$ion" ] && [ "$ion" = "$ioff" ] && [ "${d:-0}" -gt 0 ] &&
		   cmp -s "$tmp/jon" "$tmp/joff"; then
			ok "shift=$shift $gn: jit=on ($d blocks run) = jit=off: same output, $ion instructions"
		else
			bad "shift=$shift $gn: jit=on/off: instructions ${ion:-?}/${ioff:-?}, $d blocks"
			diff "$tmp/jon" "$tmp/joff" | head -5
		fi
	done
done
timeout 120 "$TANDEM" --accel=sw,jit=check -icount shift=0 -kernel "$g" --stats </dev/null \
	>"$tmp/jcheck" 2>"$tmp/jcheck.err"
timeout 120 "$TANDEM" --accel=sw,jit=off -icount shift=0 -kernel "$g" </dev/null \
	>"$tmp/joff" 2>/dev/null
if grep -q 'jit=check: [1-9][0-9]* blocks compared with the interpreter, 0 mismatches' \
	"$tmp/jcheck.err" && cmp -s "$tmp/jcheck" "$tmp/joff"; then
	ok "jit=check under -icount: $(grep -o '[0-9]* blocks compared' "$tmp/jcheck.err"), 0 mismatches"
else
	bad "jit=check under -icount"; grep 'jit=check' "$tmp/jcheck.err" | head -3
fi

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
# Recorded with translated code, replayed on the interpreter: the same counts.
timeout 120 "$TANDEM" --accel=sw,jit=off -icount shift=0,rr=replay,rrfile="$tmp/r.rr" \
	-kernel "$g" -append echo </dev/null >"$tmp/rep-off" 2>"$tmp/rep-off.err"
if cmp -s "$tmp/rec" "$tmp/rep-off" && ! grep -q diverged "$tmp/rep-off.err"; then
	ok "record/replay: the recording replays on the interpreter (jit=off) too"
else
	bad "replay with jit=off differs"; diff "$tmp/rec" "$tmp/rep-off" | head -5
	cat "$tmp/rep-off.err"
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
