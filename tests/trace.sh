#!/bin/sh
# QEMU-style -d traces: in_asm on the software CPU, one line per instruction
# with the vCPU, the linear address, the symbol from the kernel's ELF (or from
# --symbols, an ELF or a System.map), the bytes and Zydis' disassembly; exec,
# cpu, int (QEMU's layout), mmu, io (once per access, every engine), exit
# (kvm, by name) and -d help.
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

# exec: one line per block run, with the symbol; fewer lines than instructions.
"$TANDEM" --accel=sw -d exec -D "$tmp/t4" -kernel "$g" >/dev/null 2>&1
check "exec: the first block with its symbol" "$tmp/t4" '^CPU0 exec 0x000000000010000c <_start>$'
nb=$(grep -c '^CPU0 exec 0x' "$tmp/t4")
[ "$nb" -gt 10 ] && [ "$nb" -lt "$n" ] && echo "ok: exec: $nb blocks for $n instructions" ||
	{ echo "FAIL: exec: $nb block lines for $n instructions"; fail=1; }

# int: QEMU's layout (the paging guest takes #PFs on purpose), and mmu: walks, faults,
# CR3 loads, INVLPG.
pg=$top_builddir/tests/guests/paging.elf
"$TANDEM" --accel=sw -d int,mmu -D "$tmp/t5" -kernel "$pg" >/dev/null 2>&1
check "int: QEMU's v= e= i= cpl= IP= pc= SP= CR2= for a #PF" "$tmp/t5" \
	'^CPU0 +[0-9]+: v=0e e=000[0-7] i=0 cpl=0 IP=0008:[0-9a-f]{16} pc=[0-9a-f]{16} SP=0010:[0-9a-f]{16} CR2=[0-9a-f]{16} \(#PF exception\)$'
check "mmu: a walk that fills the TLB" "$tmp/t5" '^CPU0 mmu: walk 0x[0-9a-f]{16} -> 0x[0-9a-f]+ (4K|2M|1G) [r-][w-][x-]/[r-][w-][x-]'
check "mmu: a walk that faults" "$tmp/t5" '^CPU0 mmu: walk 0x[0-9a-f]{16} fault \(not present\)'
check "mmu: CR3 loads" "$tmp/t5" '^CPU0 mmu: cr3 load: cr0=0x80010033 cr3=0x'
check "mmu: INVLPG" "$tmp/t5" '^CPU0 mmu: invlpg 0x'

# io: every access printed once, with its value, on each engine; exit: named.
engines=sw
case $("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }') in
*" usable "*) engines="sw kvm,ring0=kvm" ;;
esac
for e in $engines; do
	"$TANDEM" --accel=$e -d io,exit -D "$tmp/t6" --serial "file:$tmp/out6" -kernel "$g" \
		>/dev/null 2>&1
	bytes=$(wc -c <"$tmp/out6")
	thr=$(grep -c '^CPU0 io: out port 0x03f8 size 1 <- ' "$tmp/t6")
	# Each byte of output is one write to the UART's THR; the divisor latch takes one more.
	if [ "$bytes" -gt 10 ] && [ "$thr" -ge "$bytes" ] && [ "$thr" -le $((bytes + 2)) ]; then
		echo "ok: $e: io: $thr writes to 0x3f8 for $bytes bytes out: each printed once"
	else
		echo "FAIL: $e: io: $thr lines for writes to 0x3f8, $bytes bytes out"; fail=1
	fi
	if grep -q 'exit IO\|exit MMIO' "$tmp/t6"; then
		echo "FAIL: $e: an I/O exit printed besides its io line"; fail=1
	fi
done
# guest_errors: each access to nothing is one line, as many as --stats counts.
pio=$top_builddir/tests/guests/pio.elf
for e in $engines; do
	"$TANDEM" --accel=$e -d guest_errors -D "$tmp/t8" --stats -kernel "$pio" >/dev/null 2>"$tmp/e8"
	n=$(grep -c '^CPU0 guest_errors: unmapped \(port\|MMIO\) \(read\|write\) 0x' "$tmp/t8")
	want=$(sed -n 's/^tandem: unmapped I\/O: \([0-9]*\) port reads, \([0-9]*\) port writes, \([0-9]*\) MMIO reads, \([0-9]*\) MMIO writes$/\1 \2 \3 \4/p' "$tmp/e8" |
		awk '{ print $1 + $2 + $3 + $4 }')
	if [ "$n" -gt 0 ] && [ "$n" = "$want" ]; then
		echo "ok: $e: guest_errors: $n unmapped accesses, as --stats counts"
	else
		echo "FAIL: $e: guest_errors: $n lines, --stats counts '$want'"; fail=1
	fi
done
check "guest_errors: a read of a hole reads all-ones" "$tmp/t8" \
	'^CPU0 guest_errors: unmapped port read 0x[0-9a-f]+ size 1 -> 0xff$'

if [ "$engines" != sw ]; then
	"$TANDEM" --accel=kvm,ring0=kvm -d exit -D "$tmp/t7" --stats -kernel "$g" >/dev/null 2>"$tmp/e7"
	check "kvm: exits named, I/O exits with the port" "$tmp/t7" '^CPU0 kvm: exit IO out port 0x03f8 size 1 count 1$'
	if grep -Eq 'exit [0-9]' "$tmp/t7"; then echo "FAIL: a numbered exit"; fail=1; fi
	check "kvm: --stats counts exits by name" "$tmp/e7" '^tandem: kvm: exits by reason: IO [0-9]+'
fi

# cpu_reset: the AP's INIT first, then one STARTUP (the second SIPI is ignored) with
# the real-mode state the vector gives, on each engine.
smp=$top_builddir/tests/guests/smp.elf
for e in $engines; do
	"$TANDEM" --accel=$e --smp 2 -d cpu_reset -D "$tmp/t9" -kernel "$smp" >/dev/null 2>&1
	# INIT assert and de-assert may be applied together: one INIT line or two.
	if [ "$(grep -c '^CPU1 cpu_reset: STARTUP' "$tmp/t9")" = 1 ] &&
	   sed -n 1p "$tmp/t9" | grep -q '^CPU1 cpu_reset: INIT$' &&
	   [ "$(grep -c '^CPU1 cpu_reset: INIT$' "$tmp/t9")" -le 2 ] &&
	   grep -A7 '^CPU1 cpu_reset: STARTUP vector 0x06$' "$tmp/t9" | grep -q '^CS =0600 0000000000006000 ' &&
	   grep -A7 '^CPU1 cpu_reset: STARTUP vector 0x06$' "$tmp/t9" | grep -q '^RIP=0000000000000000 '; then
		echo "ok: $e: cpu_reset: INIT, then one STARTUP at 0600:0000"
	else
		echo "FAIL: $e: cpu_reset:"; grep 'cpu_reset\|^CS \|^RIP' "$tmp/t9" | head; fail=1
	fi
done

# -d help: one line per class, each with what it prints.
"$TANDEM" -d help >"$tmp/help"
for c in in_asm int cpu exec mmu io exit out_asm guest_errors cpu_reset; do
	[ "$(grep -c "^  $c  *[a-z]" "$tmp/help")" -eq 1 ] || { echo "FAIL: -d help: $c"; fail=1; }
done
echo "ok: -d help lists $(grep -c '^  [a-z_]*  ' "$tmp/help") classes"
out=$("$TANDEM" -d in_asm,bogus 2>&1); rc=$?
case $rc:$out in
1:"tandem: unknown trace class 'bogus'"*) echo "ok: an unknown class is one error line" ;;
*) echo "FAIL: -d bogus: $rc $out"; fail=1 ;;
esac

out=$("$TANDEM" --accel=sw --symbols "$tmp/nonexistent" -kernel "$g" 2>&1)
case $out in
*"symbols: cannot open"*) echo "ok: a missing --symbols file is one error line" ;;
*) echo "FAIL: missing --symbols: $out"; fail=1 ;;
esac
exit $fail
