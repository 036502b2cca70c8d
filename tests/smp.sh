#!/bin/sh
# The SMP guest (tests/guests/smp.c: INIT-SIPI-SIPI start-up, spinlock and
# LOCK XADD counters, TLB shootdown by IPI) with 2 and 4 vCPUs on every
# engine that runs here: sw (jit on, off, check) and kvm. Its serial
# output and exit status must match tests/guests/smp.expected on each.
: "${top_srcdir:=.}" "${top_builddir:=.}" "${TANDEM:=./tandem}"
elf=$top_builddir/tests/guests/smp.elf
exp=$top_srcdir/tests/guests/smp.expected
[ -f "$elf" ] || { echo "SKIP: $elf not built"; exit 77; }
out=$(mktemp -d) || exit 99
trap 'rm -rf "$out"' EXIT

engines="sw sw,jit=off sw,jit=check"
case $("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }') in
*" usable "*) engines="$engines kvm" ;;
*) echo "NOTE: KVM engine not usable here: kvm not run" ;;
esac

grep -v '^#' "$exp" >"$out/want"
fail=0
for e in $engines; do
	for n in 2 4; do
		"$TANDEM" --accel="$e" --smp "$n" --no-reboot --serial "file:$out/got.raw" \
			--kernel "$elf" >"$out/stdout" 2>"$out/stderr" &
		pid=$!
		( sleep 300; kill -9 $pid 2>/dev/null ) & watchdog=$!
		wait $pid; status=$?
		kill $watchdog 2>/dev/null; wait $watchdog 2>/dev/null
		tr -d '\r' <"$out/got.raw" >"$out/got" 2>/dev/null
		if [ "$status" = 1 ] && cmp -s "$out/want" "$out/got"; then
			echo "PASS: smp on $e with $n vCPUs"
		else
			echo "FAIL: smp on $e with $n vCPUs (status $status, want 1)"
			diff -u "$out/want" "$out/got" | head -40
			sed 's/^/  stderr: /' "$out/stderr" | head -20
			fail=$((fail + 1))
		fi
	done
done
[ "$fail" = 0 ]
