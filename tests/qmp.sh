#!/bin/sh
# The QMP control socket (tests/qmp.py) on every usable engine, and bad
# -qmp addresses refused with one line.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${TANDEM:=./tandem}"
wait=$top_builddir/tests/guests/wait.elf
demo=$top_builddir/tests/guests/demo.elf
[ -f "$wait" ] && [ -f "$demo" ] || { echo "SKIP: kit guests not built"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed (apt-get install python3)"; exit 77; }
fail=0

engines=sw
case $("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }') in
*" usable "*) engines="sw kvm" ;;
*) echo "NOTE: KVM engine not usable here: sw only" ;;
esac
for e in $engines; do
	echo "== engine $e"
	python3 "$top_srcdir/tests/qmp.py" "$TANDEM" "$e" "$wait" "$demo" || fail=1
done

for spec in "unix:/tmp/x" "tcp:127.0.0.1:0,server" "bogus:1,server" "unix:/tmp/x,server,wait=maybe" \
	    "unix:/nonexistent-dir/q.sock,server,wait=off"; do
	out=$("$TANDEM" --accel=sw -qmp "$spec" 2>&1 </dev/null)
	rc=$?
	# The engine line comes first when the address is only found bad at bind time.
	n=$(printf '%s\n' "$out" | grep -v '^tandem: engine ' | grep -c .)
	if [ $rc -ne 1 ] || [ "$n" -ne 1 ]; then
		echo "FAIL: -qmp '$spec': want one error line and status 1, got $rc: $out"
		fail=1
	else
		echo "ok: -qmp '$spec' refused: $out"
	fi
done
# The human monitor on stdio: -monitor stdio starts in it, -serial mon:stdio
# on the console (C-a c switches). Commands typed through a pipe, as a
# terminal would send them.
mon() {
	what=$1; shift
	out=$( (sleep 1; printf "$1"; sleep 1) | timeout 30 "$TANDEM" --accel=sw --watchdog=0 \
		-kernel "$wait" "$2" 2>&1 | tr -d '\r')
	rc=$?
	for want in $3; do
		case $out in
		*"$want"*) ;;
		*) echo "FAIL: $what: no '$want' in:"; printf '%s\n' "$out" | sed 's/^/  /' | head -20
		   fail=1; return ;;
		esac
	done
	[ $rc -eq 0 ] || { echo "FAIL: $what: status $rc"; fail=1; return; }
	echo "ok: $what"
}
mon "-monitor stdio: stop, info status, cont, info registers, quit" \
    'stop\rinfo status\rcont\rinfo registers\rquit\r' -monitor=stdio \
    "paused RIP= waiting"
mon "-serial mon:stdio: C-a c to the monitor, info status, quit" \
    '\001cinfo status\rquit\r' -serial=mon:stdio "waiting VM status: running"
exit $fail
