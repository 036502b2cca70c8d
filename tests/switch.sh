#!/bin/sh
# Live engine switches (QMP x-switch-accel) on the benchmark guest: started
# on each engine, moved to the other one every few ms while a workload
# runs (at least 10 times before it ends), in ring 3 and in ring 0; the
# workload's checksum must be the one an uninterrupted run prints.
# (tests/linux-switch.sh moves a Linux guest 100 times.)
# Needs both engines; skips otherwise.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${TANDEM:=./tandem}"
elf=$top_builddir/tests/bench/bench.elf
[ -f "$elf" ] || { echo "SKIP: $elf not built"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
case $("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }') in
*" usable "*) ;;
*) echo "SKIP: the KVM engine is not usable here: nothing to switch to"; exit 77 ;;
esac
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0

for w in "sort" "chase cpl=0"; do
	want=$("$TANDEM" --accel=sw --kernel "$elf" --append "bench=$w" 2>/dev/null |
		sed -n 's/^bench: .* checksum \(0x[0-9a-f]*\).*/\1/p')
	[ -n "$want" ] || { echo "FAIL: $w: no checksum from an uninterrupted run"; fail=1; continue; }
	for start in sw kvm; do
		rm -f "$tmp/q.sock"
		python3 "$top_srcdir/tests/switcher.py" "$tmp/q.sock" 1000 0.002 >"$tmp/sw.out" 2>&1 &
		spid=$!
		"$TANDEM" --accel=$start --stats -S -qmp "unix:$tmp/q.sock,server,wait=off" \
			--kernel "$elf" --append "bench=$w" >"$tmp/out" 2>"$tmp/err"
		wait $spid
		got=$(sed -n 's/^bench: .* checksum \(0x[0-9a-f]*\).*/\1/p' "$tmp/out")
		n=$(sed -n 's/^tandem: engine switches: \([0-9]*\).*/\1/p' "$tmp/err")
		if [ "$got" != "$want" ]; then
			echo "FAIL: $w from $start: checksum ${got:-none}, want $want"
			sed 's/^/  /' "$tmp/err" | tail -5
			fail=1
		elif [ "${n:-0}" -lt 10 ]; then
			echo "FAIL: $w from $start: only ${n:-0} switches ($(tail -n 1 "$tmp/sw.out"))"
			fail=1
		else
			echo "ok: $w from $start: checksum $got after $n switches"
		fi
	done
done
# The console key: C-a s on a mon:stdio console moves the guest and back.
out=$( (sleep 1; printf '\001s'; sleep 1; printf '\001s'; sleep 1; printf '\001x') |
	timeout 30 "$TANDEM" --accel=sw --watchdog=0 -serial mon:stdio \
	-kernel "$top_builddir/tests/guests/wait.elf" 2>&1 | tr -d '\r')
case $out in
*"now runs on kvm"*"now runs on sw"*) echo "ok: C-a s moved the guest to kvm and back" ;;
*) echo "FAIL: C-a s:"; printf '%s\n' "$out" | sed 's/^/  /'; fail=1 ;;
esac
exit $fail
