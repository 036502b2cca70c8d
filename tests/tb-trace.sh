#!/bin/sh
# The translator's outputs a user reads: --trace=out_asm (every new block's
# guest and host code), --stats (its counters), perfmap=on (/tmp/perf-PID.map
# for perf), and jit=off, which turns it off.
: "${top_builddir:=.}" "${TANDEM:=$top_builddir/tandem}"
guest=$top_builddir/tests/guests/hello.elf
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {
	if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi
}

"$TANDEM" --accel=sw --no-reboot --serial "file:$tmp/s" --kernel "$guest" --stats \
	--trace=out_asm --trace-file="$tmp/t" 2>"$tmp/e"
rc=$?
check "hello under out_asm exits through debug-exit 0 (status 1, got $rc)" '[ $rc = 1 ]'
check "hello's checks pass with the trace on" 'grep -q "hello: 14 checks, 0 failed" "$tmp/s"'
nin=$(grep -c '^IN: pc 0x' "$tmp/t")
nout=$(grep -c '^OUT: \[size=[0-9]*\]' "$tmp/t")
check "out_asm: one IN and one OUT header per block ($nin, $nout)" '[ "$nin" -ge 10 ] && [ "$nin" = "$nout" ]'
# The first block: its header's instruction count is the number of guest lines listed.
want=$(awk '/^IN: pc/ { print $8; exit }' "$tmp/t")
got=$(awk '/^IN: pc/ { n++; next } n == 1 && /^OUT:/ { exit } n == 1 { c++ } END { print c + 0 }' "$tmp/t")
check "out_asm: the first block lists its $want guest instructions ($got)" '[ -n "$want" ] && [ "$want" = "$got" ]'
check "out_asm: host code reaches the vCPU state through gs:" 'grep -q "gs:\[" "$tmp/t"'
check "out_asm: host code probes the inline TLB (xor with the tag, test -0x1000)" \
	'grep -q "test r15, -0x1000" "$tmp/t"'
blocks=$(sed -n 's/^sw: translator: \([0-9]*\) blocks.*/\1/p' "$tmp/e")
check "--stats: blocks translated ($blocks), the same as out_asm blocks plus interpreter-only ones" \
	'[ -n "$blocks" ] && [ "$blocks" -ge "$nin" ]'
check "--stats: helper calls by mnemonic" 'grep -q "^sw: translator: helper calls by mnemonic:" "$tmp/e"'

"$TANDEM" --accel=sw,jit=off --no-reboot --serial "file:$tmp/s2" --kernel "$guest" --stats 2>"$tmp/e2"
check "jit=off: the same serial output" 'cmp -s "$tmp/s" "$tmp/s2"'
check "jit=off: --stats says the translator is off" 'grep -q "translator off (jit=off)" "$tmp/e2"'

"$TANDEM" --accel=sw,perfmap=on --no-reboot --serial "file:$tmp/s3" --kernel "$guest" 2>/dev/null &
pid=$!
wait $pid
map=/tmp/perf-$pid.map
check "perfmap=on: $map names blocks" '[ -s "$map" ] && grep -q " tb_[ku]_[0-9a-f]*$" "$map"'
rm -f "$map"
exit $fail
