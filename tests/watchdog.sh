#!/bin/sh
# The stuck-vCPU watchdog: on kvm,ring0=kvm a guest spinning with every
# IRQ masked makes no exit at all (tests/guests/wait.elf). With
# --watchdog=2 the run must say so once, with a register dump, and go on
# running; the same guest asleep in HLT is not stuck and must not be
# reported. The test kills the guest itself.
: "${top_builddir:=.}" "${TANDEM:=./tandem}"
guest=$top_builddir/tests/guests/wait.elf
[ -f "$guest" ] || { echo "SKIP: $guest not built"; exit 77; }
why=$("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }')
case $why in
*" usable "*) ;;
*) echo "SKIP: KVM engine not usable here: ${why:-not built}"; exit 77 ;;
esac
tmp=$(mktemp -d) || exit 99
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0

# start MODE WATCHDOG : run wait.elf in the background, $pid, stderr in $tmp/err
start() {
	rm -f "$tmp/serial" "$tmp/err"
	"$TANDEM" --accel=kvm,ring0=kvm --watchdog="$2" --serial "file:$tmp/serial" \
		--kernel "$guest" --append "$1" </dev/null >/dev/null 2>"$tmp/err" &
	pid=$!
}

# wait_for FILE PATTERN TENTHS : poll until PATTERN is in FILE, while tandem runs
wait_for() {
	n=0
	while [ $n -lt "$3" ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		kill -0 $pid 2>/dev/null || return 1
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

stop() {
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	pid=
}

bad() {
	echo "FAIL: $1"
	sed 's/^/  stderr: /' "$tmp/err" | head -30
	fail=$((fail + 1))
}

line='^tandem: vCPU 0: no exit for [0-9]* s at RIP 0x[0-9a-f]*'

# Spinning: reported once, with the registers, and still running after.
start spin 2
if ! wait_for "$tmp/serial" waiting 300; then
	bad "spin: the guest did not start"
elif ! wait_for "$tmp/err" "$line" 300; then
	bad "spin: no watchdog line within 30 s of a 2 s watchdog"
elif ! wait_for "$tmp/err" '^RIP=' 50; then
	bad "spin: the watchdog line came without a register dump"
else
	sleep 3
	reports=$(grep -c "$line" "$tmp/err")
	if ! kill -0 $pid 2>/dev/null; then
		bad "spin: the watchdog ended the run (it must only report)"
	elif [ "$reports" -ne 1 ]; then
		bad "spin: $reports watchdog lines for one stuck stretch (want 1)"
	else
		echo "PASS: spinning vCPU reported: $(grep "$line" "$tmp/err")"
	fi
fi
stop

# Halted in HLT, waiting for an interrupt: not stuck.
start hlt 1
if ! wait_for "$tmp/serial" waiting 300; then
	bad "hlt: the guest did not start"
else
	sleep 4
	if grep -q 'no exit for' "$tmp/err"; then
		bad "hlt: a vCPU halted in HLT was reported as stuck"
	elif ! kill -0 $pid 2>/dev/null; then
		bad "hlt: the run ended"
	else
		echo "PASS: halted vCPU not reported in 4 s of a 1 s watchdog"
	fi
fi
stop

# --watchdog=0: off.
start spin 0
if wait_for "$tmp/serial" waiting 300; then
	sleep 3
	if grep -q 'no exit for' "$tmp/err"; then
		bad "--watchdog=0 still reported"
	else
		echo "PASS: --watchdog=0 is off"
	fi
else
	bad "watchdog=0: the guest did not start"
fi
stop
[ $fail -eq 0 ]
