#!/bin/sh
# SIGUSR1 dumps the counters and the vCPU registers and the guest runs on
# (every vCPU with -smp 2, the AP waiting for its STARTUP IPI); SIGTERM dumps
# them and stops with status 0. On every engine, with the vCPU spinning
# and with it asleep in HLT (tests/guests/wait.elf). The watchdog is off:
# the spinning vCPU is stuck, and its report would be a dump too
# (tests/watchdog.sh tests that).
: "${top_builddir:=.}" "${TANDEM:=./tandem}"
guest=$top_builddir/tests/guests/wait.elf
[ -f "$guest" ] || { echo "SKIP: $guest not built"; exit 77; }
tmp=$(mktemp -d) || exit 99
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0

engines=sw
case $("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }') in
*" usable "*) engines="sw kvm kvm,ring0=kvm" ;;
*) echo "NOTE: KVM engine not usable here: sw only" ;;
esac

# wait_for FILE PATTERN [COUNT] : up to 30 s for COUNT lines matching in FILE
wait_for() {
	n=0
	while [ $n -lt 150 ]; do
		c=$(grep -c -- "$2" "$1" 2>/dev/null)
		[ "${c:-0}" -ge "${3:-1}" ] && return 0
		kill -0 $pid 2>/dev/null || return 1
		sleep 0.2
		n=$((n + 1))
	done
	return 1
}

bad() {
	echo "FAIL: $what: $1"
	sed 's/^/  /' "$tmp/err" | head -30
	fail=$((fail + 1))
}

for e in $engines; do
	for mode in spin hlt; do
		what="$e, $mode"
		rm -f "$tmp/serial" "$tmp/err"
		"$TANDEM" --accel=$e --watchdog=0 --serial "file:$tmp/serial" --kernel "$guest" \
			--append $mode </dev/null >/dev/null 2>"$tmp/err" &
		pid=$!
		if ! wait_for "$tmp/serial" "waiting"; then
			bad "the guest did not start"; kill -9 $pid; wait $pid; pid=; continue
		fi
		kill -USR1 $pid
		if ! wait_for "$tmp/err" "^RIP=" 1; then
			bad "no register dump after SIGUSR1"; kill -9 $pid; wait $pid; pid=; continue
		fi
		sleep 0.5
		if ! kill -0 $pid 2>/dev/null; then
			bad "SIGUSR1 ended the run"; wait $pid; pid=; continue
		fi
		# A second one works too (the handler stays).
		kill -USR1 $pid
		if ! wait_for "$tmp/err" "^RIP=" 2; then
			bad "no dump after a second SIGUSR1"; kill -9 $pid; wait $pid; pid=; continue
		fi
		kill -TERM $pid
		# Polled, not a background watchdog: dash runs the EXIT trap (rm -rf
		# $tmp) in a ( ... ) & subshell that outlives its kill.
		n=0
		while kill -0 $pid 2>/dev/null && [ $n -lt 150 ]; do
			sleep 0.2
			n=$((n + 1))
		done
		kill -9 $pid 2>/dev/null
		wait $pid; status=$?
		pid=
		dumps=$(grep -c '^RIP=' "$tmp/err")
		if [ $status -ne 0 ]; then
			bad "status $status after SIGTERM (want 0)"
		elif [ "$dumps" -ne 3 ]; then
			bad "$dumps register dumps (want 3: two SIGUSR1, one SIGTERM)"
		elif [ "$(grep -c 'SIGUSR1: counters' "$tmp/err")" -ne 2 ] ||
		     ! grep -Eq '^(sw: vCPU 0: [0-9]+ instructions|tandem: kvm: [0-9]+ exits)' "$tmp/err"; then
			bad "no counters with the SIGUSR1 dumps"
		else
			echo "PASS: $what"
			pass=$((pass + 1))
		fi
	done
done
# -smp 2: one SIGUSR1 dumps both vCPUs, each from its own thread; the guest runs on.
for e in $engines; do
	what="$e, -smp 2"
	rm -f "$tmp/serial" "$tmp/err"
	"$TANDEM" --accel=$e --smp 2 --watchdog=0 --serial "file:$tmp/serial" --kernel "$guest" \
		--append spin </dev/null >/dev/null 2>"$tmp/err" &
	pid=$!
	if ! wait_for "$tmp/serial" "waiting"; then
		bad "the guest did not start"; kill -9 $pid; wait $pid; pid=; continue
	fi
	kill -USR1 $pid
	if ! wait_for "$tmp/err" "^RIP=" 2; then
		bad "not two register dumps after SIGUSR1"; kill -9 $pid; wait $pid; pid=; continue
	fi
	sleep 0.5
	alive=0
	kill -0 $pid 2>/dev/null && alive=1
	kill -INT $pid 2>/dev/null; wait $pid; pid=
	if [ $alive -ne 1 ]; then
		bad "SIGUSR1 ended the run"
	elif ! grep -q 'register dump on request (vCPU 0)' "$tmp/err" ||
	     ! grep -q 'register dump on request (vCPU 1)' "$tmp/err"; then
		bad "not one dump per vCPU"
	elif ! grep -q 'SIGUSR1: counters, then the registers of 2 vCPU(s)' "$tmp/err"; then
		bad "no counters line"
	else
		echo "PASS: $what"
		pass=$((pass + 1))
	fi
done
# SIGUSR1 at any time -- while the VM is built too -- never ends the run, and
# the dumps do not disturb the guest: a deterministic (-icount) run prints the
# same bytes with signals raining on it.
clock=$top_builddir/tests/guests/clock.elf
if [ -f "$clock" ]; then
	what="-icount run under SIGUSR1"
	timeout 60 "$TANDEM" --accel=sw -icount shift=0 --kernel "$clock" </dev/null \
		>"$tmp/ref" 2>/dev/null
	"$TANDEM" --accel=sw -icount shift=0 --kernel "$clock" </dev/null >"$tmp/sig" 2>"$tmp/err" &
	pid=$!
	# From main() on (before it the signal's default action holds): its first line.
	n=0
	while ! grep -q "engine sw" "$tmp/err" 2>/dev/null && [ $n -lt 500 ]; do
		sleep 0.01
		n=$((n + 1))
	done
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		kill -USR1 $pid 2>/dev/null || break
		sleep 0.01
	done
	wait $pid; status=$?
	pid=
	if [ $status -ne 0 ]; then
		bad "status $status with SIGUSR1s (want 0)"
	elif [ ! -s "$tmp/ref" ] || ! cmp -s "$tmp/ref" "$tmp/sig"; then
		bad "the output changed under SIGUSR1"
	else
		echo "PASS: $what ($(grep -c '^RIP=' "$tmp/err") dumps, output identical)"
		pass=$((pass + 1))
	fi
fi
echo "signals: $pass passed, $fail failed"
[ $fail -eq 0 ]
