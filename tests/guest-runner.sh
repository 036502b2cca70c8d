#!/bin/sh
# Run every test guest of the kit on one engine and compare its serial
# output and exit status with tests/guests/NAME.expected.
#   guest-runner.sh kvm|sw|sw-nojit|sw-check|qemu
# Exit 77 (skipped) with the reason when the engine cannot run here.
engine=$1
: "${top_srcdir:=.}" "${top_builddir:=.}" "${TANDEM:=./tandem}"
guests="hello exceptions paging interrupts pio cpuid modes16 smc tbinval ring3 modeswitch prot32 seglimit storm pci acpi low"
guests="$guests tasks shadows enter nmi systf"
out=$(mktemp -d) || exit 99
trap 'rm -rf "$out"' EXIT

case $engine in
kvm)
	why=$("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }')
	case $why in
	*" usable "*) ;;
	*) echo "SKIP: KVM engine not usable here: ${why:-not built}"; exit 77 ;;
	esac
	run() { "$TANDEM" --accel=kvm --no-reboot $args --serial "file:$2" --kernel "$1"; } ;;
sw)	run() { "$TANDEM" --accel=sw --no-reboot $args --serial "file:$2" --kernel "$1"; } ;;
sw-nojit) run() { "$TANDEM" --accel=sw,jit=off --no-reboot $args --serial "file:$2" --kernel "$1"; } ;;
sw-check)
	# Every block replayed on the interpreter: any mismatch fails the guest.
	run() {
		"$TANDEM" --accel=sw,jit=check --stats --no-reboot $args --serial "file:$2" --kernel "$1" \
			2>"$2.err"
		rc=$?
		grep -v '^sw: \|^tandem: unmapped' "$2.err" >&2
		grep -q '^sw: translator: jit=check: [0-9]* blocks compared with the interpreter, 0 mismatches' \
			"$2.err" || return 98
		return $rc
	} ;;
qemu)
	if [ -z "$QEMU_SYSTEM" ] || ! [ -x "$QEMU_SYSTEM" ]; then
		echo "SKIP: qemu-system-x86_64 not found (Debian: qemu-system-x86)"; exit 77
	fi
	run() {
		"$QEMU_SYSTEM" -accel tcg -M pc -m 128 -display none -no-reboot \
			-chardev "file,id=s0,path=$2" -serial chardev:s0 -monitor none \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 $args -kernel "$1" </dev/null
	} ;;
*) echo "usage: $0 kvm|sw|sw-nojit|sw-check|qemu"; exit 99 ;;
esac

pass=0 fail=0 skip=0
for g in $guests; do
	elf=$top_builddir/tests/guests/$g.elf
	exp=$top_srcdir/tests/guests/$g.expected
	# kvm_pvm (a software nested KVM) gets some of ring 3 wrong; where a
	# guest meets that, NAME.kvm_pvm.expected lists each deviation and why.
	if [ "$engine" = kvm ] && [ -e /sys/module/kvm_pvm ] &&
	   [ -f "$top_srcdir/tests/guests/$g.kvm_pvm.expected" ]; then
		exp=$top_srcdir/tests/guests/$g.kvm_pvm.expected
		echo "NOTE: $g on kvm_pvm: comparing with ${exp##*/} (host defects listed there)"
	fi
	if ! [ -f "$elf" ] || ! [ -f "$exp" ]; then
		echo "SKIP: $g (not built)"; skip=$((skip + 1)); continue
	fi
	# Guests that need what QEMU's pc board lacks (ACPI PM at 0x604) say so in .expected.
	if [ "$engine" = qemu ] && grep -q '^# qemu: skip' "$exp"; then
		skip=$((skip + 1)); continue
	fi
	# Devices a guest needs beyond the board's own: "# args: -device pci-testdev".
	args=$(sed -n 's/^# args: *//p' "$exp")
	want_status=$(sed -n 's/^# status: *//p' "$exp")
	: "${want_status:=1}"
	( run "$elf" "$out/$g.serial" ) >"$out/$g.stdout" 2>"$out/$g.stderr" &
	pid=$!
	( sleep 120; kill -9 $pid 2>/dev/null ) & watchdog=$!
	wait $pid; status=$?
	kill $watchdog 2>/dev/null; wait $watchdog 2>/dev/null
	grep -v '^#' "$exp" >"$out/$g.want"
	tr -d '\r' <"$out/$g.serial" >"$out/$g.got" 2>/dev/null
	if [ "$status" = "$want_status" ] && cmp -s "$out/$g.want" "$out/$g.got"; then
		echo "PASS: $g on $engine"; pass=$((pass + 1))
	else
		echo "FAIL: $g on $engine (status $status, want $want_status)"
		diff -u "$out/$g.want" "$out/$g.got" | head -40
		sed 's/^/  stderr: /' "$out/$g.stderr" | head -40
		fail=$((fail + 1))
	fi
done
echo "$engine: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] || exit 1
[ $pass -gt 0 ] || { echo "SKIP: no guest ran"; exit 77; }
exit 0
