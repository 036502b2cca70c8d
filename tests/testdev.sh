#!/bin/sh
# QEMU's test devices (isa-debugcon, pc-testdev) behind -device: the
# testdev kit guest on every engine here and on QEMU TCG, with the same
# command line. Its serial output must equal tests/guests/testdev*.expected
# and the debugcon's chardev file must hold the line the guest wrote.
#  1. -device pc-testdev and an isa-debugcon at 0x4e9 (pc-testdev takes
#     0xe8-0xeb, so the two cannot share 0xe9; 0x402 is SeaBIOS's log);
#  2. -device isa-debugcon with its defaults (0xe9, readback 0xe9).
# Also: the option errors a user can meet, one line each.
: "${top_srcdir:=.}" "${top_builddir:=.}" "${TANDEM:=./tandem}"
elf=$top_builddir/tests/guests/testdev.elf
[ -f "$elf" ] || { echo "SKIP: $elf not built"; exit 77; }
out=$(mktemp -d) || exit 99
trap 'rm -rf "$out"' EXIT
line="hello from the guest through isa-debugcon"
fail=0 ran=0

engines="sw sw,jit=off"
why=$("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }')
case $why in
*" usable "*) engines="$engines kvm" ;;
*) echo "NOTE: KVM engine not usable here: ${why:-not built}" ;;
esac
if [ -n "$QEMU_SYSTEM" ] && [ -x "$QEMU_SYSTEM" ]; then
	engines="$engines qemu"
else
	echo "NOTE: no QEMU (Debian: qemu-system-x86): not compared"
fi

# run ENGINE NAME APPEND DEVICE-ARGS...: serial to $out/NAME.serial
run() {
	e=$1 name=$2 append=$3
	shift 3
	if [ "$e" = qemu ]; then
		timeout 120 "$QEMU_SYSTEM" -accel tcg -M pc -m 128 -display none -no-reboot \
			-chardev "file,id=s0,path=$out/$name.serial" -serial chardev:s0 \
			-monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
			-kernel "$elf" -append "$append" "$@" </dev/null
	else
		timeout 120 "$TANDEM" --accel="$e" --no-reboot --serial "file:$out/$name.serial" \
			--kernel "$elf" --append "$append" "$@" </dev/null
	fi
}

# check ENGINE NAME EXPECTED STATUS
check() {
	grep -v '^#' "$top_srcdir/tests/guests/$3" >"$out/want"
	tr -d '\r' <"$out/$2.serial" >"$out/got" 2>/dev/null
	printf '%s\n' "$line" >"$out/want-dbg"
	if [ "$4" = 1 ] && cmp -s "$out/want" "$out/got" && cmp -s "$out/want-dbg" "$out/$2.dbg"; then
		echo "PASS: $2 on $1"
	else
		echo "FAIL: $2 on $1 (status $4, want 1)"
		diff -u "$out/want" "$out/got" | head -30
		diff -u "$out/want-dbg" "$out/$2.dbg" | head -5
		sed 's/^/  stderr: /' "$out/$2.err" | head -10
		fail=$((fail + 1))
	fi
	ran=$((ran + 1))
}

for e in $engines; do
	tag=$(echo "$e" | tr ',=' '--')
	run "$e" "both-$tag" "debugcon=0x4e9 pctest" -device pc-testdev \
		-device isa-debugcon,iobase=0x4e9,chardev=dbg \
		-chardev "file,id=dbg,path=$out/both-$tag.dbg" 2>"$out/both-$tag.err"
	check "$e" "both-$tag" testdev.expected $?
	run "$e" "e9-$tag" "debugcon=0xe9" -device isa-debugcon,chardev=dbg \
		-chardev "file,id=dbg,path=$out/e9-$tag.dbg" 2>"$out/e9-$tag.err"
	check "$e" "e9-$tag" testdev-e9.expected $?
done

# Errors: exit status 1 and one "tandem: -device ..." line, the guest never run.
err_case() {
	want=$1
	shift
	"$TANDEM" --accel=sw --serial none --kernel "$elf" "$@" >"$out/stdout" 2>"$out/stderr" \
		</dev/null
	st=$?
	got=$(grep -c '^tandem: -device' "$out/stderr")
	if [ $st = 1 ] && [ "$got" = 1 ] && grep -q -- "$want" "$out/stderr"; then
		echo "PASS: error: $want"
	else
		echo "FAIL: error case '$*' (status $st)"; sed 's/^/  /' "$out/stderr"
		fail=$((fail + 1))
	fi
}
err_case "needs chardev=ID" -device isa-debugcon
err_case "no -chardev with id=x" -device isa-debugcon,chardev=x
err_case "option 'size=2' not supported" -device pc-testdev,size=2
err_case "iobase '0x10000'" -device isa-debugcon,iobase=0x10000,chardev=n -chardev null,id=n
err_case "overlap isa-debugcon" -device isa-debugcon,chardev=n -chardev null,id=n \
	-device pc-testdev
err_case "port 0xf4 is taken by isa-debug-exit" -device isa-debugcon,iobase=0xf4,chardev=n \
	-chardev null,id=n

echo "testdev: $ran runs, $fail failed"
[ $fail -eq 0 ]
