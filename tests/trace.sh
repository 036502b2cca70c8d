#!/bin/sh
# QEMU-style -d traces on the software CPU: one line per instruction with
# the vCPU, the linear address, the symbol from the kernel's ELF (or from
# --symbols, an ELF or a System.map), the bytes and Zydis' disassembly.
: "${top_builddir:=.}" "${TANDEM:=./tandem}"
g=$top_builddir/tests/guests/hello.elf
[ -f "$g" ] || { echo "SKIP: $g not built"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0

check() { # WHAT FILE EXTENDED-REGEX
	if grep -Eq "$3" "$2"; then
		echo "ok: $1"
	else
		echo "FAIL: $1: no line matching '$3' in:"
		head -5 "$2" | sed 's/^/  /'
		fail=1
	fi
}

"$TANDEM" --accel=sw,jit=off -d in_asm -D "$tmp/t1" -kernel "$g" >/dev/null 2>&1
check "in_asm: first instruction with its symbol and bytes" "$tmp/t1" \
	'^CPU0 0x000000000010000c <_start>: fa +cli$'
check "in_asm: an offset into a function" "$tmp/t1" '^CPU0 0x[0-9a-f]{16} <guest_start\+0x[0-9a-f]+>: '
n=$(grep -c '^CPU0 0x' "$tmp/t1")
[ "$n" -gt 1000 ] && echo "ok: $n instructions traced" || { echo "FAIL: only $n lines"; fail=1; }

# --symbols FILE as a System.map ("ADDR TYPE NAME"): names from it win.
printf '000000000010000c T entry_from_map\n' >"$tmp/System.map"
"$TANDEM" --accel=sw,jit=off -d in_asm -D "$tmp/t2" --symbols "$tmp/System.map" \
	-kernel "$g" >/dev/null 2>&1
check "--symbols System.map" "$tmp/t2" '^CPU0 0x000000000010000c <entry_from_map>: fa +cli$'

# cpu: registers before each instruction, with the vCPU.
"$TANDEM" --accel=sw,jit=off -d cpu -D "$tmp/t3" -kernel "$g" >/dev/null 2>&1
check "cpu: registers with the vCPU" "$tmp/t3" '^CPU0 rax=2badb002 .* rip=0008:10000c '

out=$("$TANDEM" --accel=sw --symbols "$tmp/nonexistent" -kernel "$g" 2>&1)
case $out in
*"symbols: cannot open"*) echo "ok: a missing --symbols file is one error line" ;;
*) echo "FAIL: missing --symbols: $out"; fail=1 ;;
esac
exit $fail
