#!/bin/sh
# The GDB stub: gdb in batch mode debugs tests/guests/gdbtarget on every
# engine here -- sw (translator on), sw jit=off, kvm -- and the same
# script against QEMU TCG where installed, so the stub and QEMU's agree.
# Then the protocol under abuse (tests/gdb_proto.py), a 32-bit stop
# (prot32), all-stop SMP (-smp 2: threads, Hg, scheduler locking) and bad
# -gdb addresses.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${TANDEM:=./tandem}"
elf=$top_builddir/tests/guests/gdbtarget.elf
sym=$top_builddir/tests/guests/gdbtarget.sym
prot32=$top_builddir/tests/guests/prot32.elf
wait=$top_builddir/tests/guests/wait.elf
command -v gdb >/dev/null || { echo "SKIP: gdb not installed (Debian: gdb)"; exit 77; }
[ -f "$elf" ] && [ -f "$sym" ] || { echo "SKIP: tests/guests/gdbtarget not built"; exit 77; }
ulimit -c 0	# a gdb that asserts leaves no core behind
tmp=$(mktemp -d) || exit 99
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
no_data_bp=
: "${QEMU_SYSTEM:=$(command -v qemu-system-x86_64)}"

# A TCP port nobody listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cat >"$tmp/script.gdb" <<'GDB'
set pagination off
set confirm off
break gdb_break_here
continue
print gdb_counter
stepi
print $pc
finish
print gdb_counter
info registers rip
print/x *(unsigned char (*)[4])&gdb_watched
print gdb_poked
set var gdb_poked = 42
print gdb_poked
set $saved = $r11
set $r11 = 0x1122334455667788
print/x $r11
set $r11 = $saved
watch gdb_watched
continue
continue
delete
continue
GDB

# want FILE PATTERN WHAT: the output has a line matching PATTERN.
want() {
	if grep -q -- "$2" "$1"; then
		echo "  ok: $3"
	else
		echo "  FAIL: $3 (no '$2')"
		bad=1
	fi
}

# debug NAME ADDR-FOR-GDB COMMAND...: start COMMAND (the stub waits paused), run the script.
debug() {
	name=$1 addr=$2
	shift 2
	echo "== $name"
	rm -f "$tmp/serial"
	timeout -s KILL 150 "$@" >"$tmp/vm.out" 2>&1 &
	pid=$!
	# Until the stub listens (a probe connection would be a debugger: it attaches).
	for i in $(seq 100); do
		grep -q "gdb: listening\|QEMU\|qemu" "$tmp/vm.out" 2>/dev/null && break
		[ -S "$addr" ] && break
		sleep 0.1
	done
	case $name in qemu*) sleep 1 ;; esac
	timeout 120 gdb -batch -nx -ex "file $sym" -ex "target remote $addr" \
		-x "$tmp/script.gdb" >"$tmp/gdb.out" 2>&1
	grc=$?
	wait $pid; vrc=$?
	pid=
	bad=0
	want "$tmp/gdb.out" "^Breakpoint 1, gdb_break_here ()" "break at a symbol, continue to it"
	want "$tmp/gdb.out" '^\$1 = 0$' "read a variable (before the increment)"
	want "$tmp/gdb.out" '^\$2 = (void (\*)()) 0x[0-9a-f]* <gdb_break_here+[1-9]' "stepi moved one instruction on"
	want "$tmp/gdb.out" "^guest_main () at .*gdbtarget.c:31" "finish: back in the caller (a temporary breakpoint)"
	want "$tmp/gdb.out" '^\$3 = 1$' "the variable after the function ran"
	want "$tmp/gdb.out" '^rip  *0x[0-9a-f]*  *0x[0-9a-f]* <guest_main+' "read a register"
	want "$tmp/gdb.out" '^\$4 = {0x34, 0x12, 0x0, 0x0}$' "read memory bytes"
	want "$tmp/gdb.out" '^\$6 = 42$' "write memory"
	want "$tmp/gdb.out" '^\$7 = 0x1122334455667788$' "write and read back a register"
	want "$tmp/gdb.out" "^Hardware watchpoint 2: gdb_watched" "a hardware watchpoint"
	if [ -n "$no_data_bp" ]; then
		echo "  NOTE: $no_data_bp: watchpoint hits not checked"
	else
		want "$tmp/gdb.out" "^Old value = 4660" "watchpoint hit: old value"
		want "$tmp/gdb.out" "^New value = 16" "watchpoint hit: new value"
		want "$tmp/gdb.out" "^New value = 272" "second watchpoint hit"
	fi
	case $name in
	qemu*) want "$tmp/gdb.out" "exited with code 01\|Remote connection closed" "continue to exit" ;;
	*) want "$tmp/gdb.out" "exited with code 01" "continue to exit: gdb hears the exit status"
	   [ "$vrc" = 1 ] || { echo "  FAIL: exit status $vrc, want 1"; bad=1; } ;;
	esac
	want "$tmp/serial" "counter=1 watched=0x110 poked=42" "the guest saw gdb's write"
	if [ $bad != 0 ]; then
		fail=1
		echo "  --- gdb said:"; sed 's/^/  | /' "$tmp/gdb.out" | tail -40
		echo "  --- the VM said:"; sed 's/^/  | /' "$tmp/vm.out" | tail -20
	fi
}

kvm_ok=false
case $("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }') in
*" usable "*) kvm_ok=true ;;
esac

p=$(free_port)
debug "sw (translator on), -gdb tcp" ":$p" "$TANDEM" --accel=sw --no-reboot --watchdog=0 \
	--serial "file:$tmp/serial" -gdb "tcp:127.0.0.1:$p" -S --kernel "$elf"
debug "sw jit=off, -gdb unix" "$tmp/g.sock" "$TANDEM" --accel=sw,jit=off --no-reboot \
	--serial "file:$tmp/serial" -gdb "unix:$tmp/g.sock,server" -S --kernel "$elf"
if $kvm_ok; then
	# -s: the QEMU spelling, port 1234 (skipped when something else has it).
	if python3 -c "import socket; socket.create_connection(('127.0.0.1', 1234), 1)" 2>/dev/null; then
		p=$(free_port)
		debug "kvm, -gdb tcp" ":$p" "$TANDEM" --accel=kvm --no-reboot --serial "file:$tmp/serial" \
			-gdb "tcp::$p" -S --kernel "$elf"
	else
		debug "kvm, -s" ":1234" "$TANDEM" --accel=kvm --no-reboot --serial "file:$tmp/serial" \
			-s -S --kernel "$elf"
	fi
	# Ring 0 in KVM itself: breakpoints and steps in its debug registers.
	if [ -e /sys/module/kvm_pvm ]; then
		no_data_bp="kvm_pvm delivers no data breakpoints (ring 0 on sw, the default there, does)"
	fi
	debug "kvm ring0=kvm (KVM_SET_GUEST_DEBUG)" "$tmp/gk.sock" "$TANDEM" --accel=kvm,ring0=kvm \
		--no-reboot --serial "file:$tmp/serial" -gdb "unix:$tmp/gk.sock" -S --kernel "$elf"
	no_data_bp=
else
	echo "NOTE: KVM engine not usable here: no kvm run"
fi
if [ -n "$QEMU_SYSTEM" ] && [ -x "$QEMU_SYSTEM" ]; then
	p=$(free_port)
	debug "qemu tcg (the reference)" ":$p" "$QEMU_SYSTEM" -accel tcg -M pc -m 128 -display none \
		-no-reboot -chardev "file,id=s0,path=$tmp/serial" -serial chardev:s0 -monitor none \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -gdb "tcp:127.0.0.1:$p" -S -kernel "$elf"
else
	echo "NOTE: qemu-system-x86_64 not found: no QEMU run"
fi

# Hardware breakpoints and read/access watchpoints (exact on sw; the x86
# debug registers have no read-only kind, so not on kvm).
echo "== sw: hbreak, rwatch, awatch"
rm -f "$tmp/gh.sock"
timeout -s KILL 90 "$TANDEM" --accel=sw --no-reboot --serial "file:$tmp/serial" \
	-gdb "unix:$tmp/gh.sock" -S --kernel "$elf" >"$tmp/vm.out" 2>&1 &
pid=$!
for i in $(seq 50); do [ -S "$tmp/gh.sock" ] && break; sleep 0.1; done
timeout 60 gdb -batch -nx -ex "file $sym" -ex "target remote $tmp/gh.sock" -ex 'hbreak gdb_triple' \
	-ex continue -ex delete -ex 'rwatch gdb_poked' -ex continue -ex delete \
	-ex 'awatch gdb_counter' -ex continue -ex delete -ex continue >"$tmp/gdb.out" 2>&1
wait $pid
pid=
bad=0
want "$tmp/gdb.out" "^Breakpoint 1, gdb_triple (x=5)" "hardware breakpoint, with the argument"
want "$tmp/gdb.out" "^Hardware read watchpoint 2: gdb_poked" "read watchpoint"
want "$tmp/gdb.out" "^Value = 7$" "read watchpoint hit: the value read"
want "$tmp/gdb.out" "^Hardware access (read/write) watchpoint 3: gdb_counter" "access watchpoint"
want "$tmp/gdb.out" "^Value = 1$" "access watchpoint hit"
want "$tmp/gdb.out" "exited with code 01" "continue to exit"
[ $bad = 0 ] || { fail=1; sed 's/^/  | /' "$tmp/gdb.out" | tail -30; }

# A stop in 32-bit protected mode: prot32 never leaves it; arch=auto sees
# the mode once the guest has run (Ctrl-C), and arch=i386 with -S.
if [ -f "$prot32" ]; then
	echo "== 32-bit guest (prot32), arch=i386"
	rm -f "$tmp/g32.sock"
	timeout -s KILL 90 "$TANDEM" --accel=sw --no-reboot --serial "file:$tmp/serial" \
		-gdb "unix:$tmp/g32.sock,arch=i386" -S --kernel "$prot32" >"$tmp/vm.out" 2>&1 &
	pid=$!
	for i in $(seq 50); do [ -S "$tmp/g32.sock" ] && break; sleep 0.1; done
	timeout 60 gdb -batch -nx -ex "target remote $tmp/g32.sock" -ex 'show architecture' \
		-ex 'info registers eip eflags cs cr0' -ex 'stepi' -ex 'print $eip' \
		-ex 'x/2i $eip' -ex 'kill' >"$tmp/gdb.out" 2>&1
	wait $pid
	pid=
	bad=0
	want "$tmp/gdb.out" 'currently "i386")' "gdb took the i386 description"
	want "$tmp/gdb.out" "^eip  *0x[0-9a-f]*" "eip at the multiboot entry"
	want "$tmp/gdb.out" "^cs  *0x8 " "cs: the flat 32-bit code segment"
	want "$tmp/gdb.out" "^cr0  *0x[0-9a-f]*1 " "cr0.PE set, from the control-register feature"
	want "$tmp/gdb.out" '^\$1 = (void (\*)()) 0x' "a 32-bit single step"
	if [ $bad != 0 ]; then
		fail=1
		sed 's/^/  | /' "$tmp/gdb.out" | tail -30
		sed 's/^/  | /' "$tmp/vm.out" | tail -10
	fi
fi

# Mode switches under one (x86-64) description: modes16 drops from
# 32-bit compatibility mode to legacy protected mode (paging off) and to
# real mode. Addresses from its symbols: r32_down (flat 32-bit code), and
# rm_entry in the blob copied to 0x6000 (real mode, CS = 0x600).
modes16=$top_builddir/tests/guests/modes16.elf
if [ -f "$modes16" ]; then
	echo "== 32-bit and 16-bit stops (modes16)"
	syms=$(nm "$modes16")
	r32=0x$(printf '%s\n' "$syms" | awk '$3 == "r32_down" { print $1 }')
	e=$(printf '%s\n' "$syms" | awk '$3 == "rm_entry" { print $1 }')
	t=$(printf '%s\n' "$syms" | awk '$3 == "tramp_start" { print $1 }')
	rm_off=$((0x$e - 0x$t))
	rm_entry=$(printf '0x%x' $((0x6000 + rm_off)))
	rm -f "$tmp/g16.sock"
	timeout -s KILL 90 "$TANDEM" --accel=sw --no-reboot --serial "file:$tmp/serial" \
		-gdb "unix:$tmp/g16.sock" -S \
		--kernel "$modes16" >"$tmp/vm.out" 2>&1 &
	pid=$!
	for i in $(seq 50); do [ -S "$tmp/g16.sock" ] && break; sleep 0.1; done
	timeout 60 gdb -batch -nx -ex "target remote $tmp/g16.sock" -ex "break *$r32" -ex continue \
		-ex 'print/x $cs' -ex 'stepi 3' -ex 'print/x $efer' -ex 'print/x $cr0' -ex delete \
		-ex "break *$rm_entry" -ex continue -ex 'print/x $cs' -ex 'print/x $pc' -ex delete \
		-ex stepi -ex 'print/x $pc' -ex continue >"$tmp/gdb.out" 2>&1
	wait $pid
	pid=
	bad=0
	want "$tmp/gdb.out" "^Breakpoint 1, $(printf '0x%016x' "$r32")" "breakpoint in 32-bit compatibility mode"
	want "$tmp/gdb.out" '^\$1 = 0x18$' "cs there: the 32-bit code selector"
	want "$tmp/gdb.out" '^\$2 = 0x100$' "stepped over mov to cr0: EFER.LMA gone, LME left"
	want "$tmp/gdb.out" '^\$3 = 0x10033$' "cr0: paging off"
	want "$tmp/gdb.out" "^Program received signal SIGTRAP" "breakpoint in real mode (gdb sees IP, so SIGTRAP)"
	want "$tmp/gdb.out" '^\$4 = 0x600$' "cs there: the real-mode segment"
	want "$tmp/gdb.out" "^\\\$5 = $(printf '0x%x' $rm_off)\$" "pc there: IP"
	want "$tmp/gdb.out" "^\\\$6 = $(printf '0x%x' $((rm_off + 3)))\$" \
		"a 16-bit single step (mov ax, imm16: 3 bytes)"
	want "$tmp/gdb.out" "exited with code 01" "the guest runs to its end"
	grep -q "modes16: .* 0 failed" "$tmp/serial" && echo "  ok: modes16 passed its own checks" ||
		{ echo "  FAIL: modes16's checks"; bad=1; }
	if [ $bad != 0 ]; then
		fail=1
		sed 's/^/  | /' "$tmp/gdb.out" | tail -30
		sed 's/^/  | /' "$tmp/vm.out" | tail -10
	fi
fi

# All-stop SMP: -smp 2 with the smp kit guest. Threads are vCPUs
# (qfThreadInfo); the AP stops at a breakpoint in ap_main (a thread stop
# reason, gdb switches to thread 2); Hg reads the BSP's registers; with
# `set scheduler-locking step` gdb sends vCont;s:2 alone and the BSP stays
# where it is while the AP steps; then both run to the guest's end.
smp=$top_builddir/tests/guests/smp.elf
if [ -f "$smp" ]; then
	ap_main=0x$(nm "$smp" | awk '$3 == "ap_main" { print $1 }')
	cat >"$tmp/smp.gdb" <<GDB
set pagination off
set confirm off
info threads
break *$ap_main
continue
info threads
print \$rdi
thread 1
print/x \$pc
thread 2
set scheduler-locking step
set debug remote 1
stepi
stepi
stepi
set debug remote 0
print/x \$pc
thread 1
print/x \$pc
thread 2
delete
set scheduler-locking off
continue
GDB
	smp_engines="sw sw,jit=off"
	$kvm_ok && smp_engines="$smp_engines kvm kvm,ring0=kvm"
	for e in $smp_engines; do
		echo "== -smp 2 all-stop on $e (smp)"
		rm -f "$tmp/gs.sock" "$tmp/serial"
		timeout -s KILL 120 "$TANDEM" --accel=$e --smp 2 --no-reboot --watchdog=0 \
			--serial "file:$tmp/serial" -gdb "unix:$tmp/gs.sock,arch=x86-64" -S \
			--kernel "$smp" >"$tmp/vm.out" 2>&1 &
		pid=$!
		for i in $(seq 50); do [ -S "$tmp/gs.sock" ] && break; sleep 0.1; done
		timeout 100 gdb -batch -nx -ex "target remote $tmp/gs.sock" -x "$tmp/smp.gdb" \
			>"$tmp/gdb.out" 2>&1
		wait $pid; vrc=$?
		pid=
		bad=0
		want "$tmp/gdb.out" '^\* 1  *Thread 1 (vCPU 0)' "qfThreadInfo: thread 1 is vCPU 0"
		want "$tmp/gdb.out" '^  2  *Thread 2 (vCPU 1)' "thread 2 is vCPU 1"
		want "$tmp/gdb.out" "^Thread 2 hit Breakpoint 1, $(printf '0x%016x' $ap_main)" \
			"the AP's stop reported with its thread"
		want "$tmp/gdb.out" "^\* 2  *Thread 2 (vCPU 1) $(printf '0x%016x' $ap_main)" \
			"thread 2 current at the breakpoint"
		want "$tmp/gdb.out" '^\$1 = 1$' "the AP's own register (ap_main's id argument)"
		want "$tmp/gdb.out" 'vCont;s:2#' "gdb asked for a step of thread 2 alone"
		if grep -q 'vCont;s:2;c' "$tmp/gdb.out"; then
			echo "  FAIL: gdb resumed the others while locked"; bad=1
		fi
		bsp=$(sed -n 's/^\$2 = \(0x[0-9a-f]*\)$/\1/p' "$tmp/gdb.out")
		ap_pc=$(sed -n 's/^\$3 = \(0x[0-9a-f]*\)$/\1/p' "$tmp/gdb.out")
		if [ -n "$ap_pc" ] && [ $((ap_pc)) -gt $((ap_main)) ] &&
		   [ "$(grep -c '^0x[0-9a-f]* in ?? ()$' "$tmp/gdb.out")" -ge 3 ]; then
			echo "  ok: three steps on thread 2 ($ap_main -> $ap_pc)"
		else
			echo "  FAIL: thread 2 did not step"; bad=1
		fi
		if [ -n "$bsp" ] && grep -q "^\\\$4 = $bsp\$" "$tmp/gdb.out"; then
			echo "  ok: thread 1 stayed at $bsp while thread 2 stepped (Hg 1: its registers)"
		else
			echo "  FAIL: thread 1 moved while thread 2 stepped, or was not read"; bad=1
		fi
		want "$tmp/gdb.out" "exited with code 01" "both run on to the guest's end"
		want "$tmp/serial" "smp: 12 checks, 0 failed" "the guest's own SMP checks pass"
		[ "$vrc" = 1 ] || { echo "  FAIL: exit status $vrc, want 1"; bad=1; }
		if [ $bad != 0 ]; then
			fail=1
			grep -v '^Sending packet\|^Packet received\|^\[remote' "$tmp/gdb.out" |
				sed 's/^/  | /' | tail -30
			sed 's/^/  | /' "$tmp/vm.out" | tail -10
		fi
	done
fi

# The protocol under abuse: bad checksums, overlong and unknown packets,
# garbage, a second client, Ctrl-C, kill.
if [ -f "$wait" ]; then
	echo "== malformed packets (tests/gdb_proto.py)"
	python3 "$top_srcdir/tests/gdb_proto.py" "$TANDEM" "$wait" "$tmp" || fail=1
fi

for spec in "tcp:1234" "tcp::0" "tcp::99999" "bogus:1" "unix:" "tcp::1234,arch=arm" \
	    "unix:/nonexistent-dir/g.sock"; do
	out=$("$TANDEM" --accel=sw -gdb "$spec" 2>&1 </dev/null)
	rc=$?
	n=$(printf '%s\n' "$out" | grep -v '^tandem: engine ' | grep -c .)
	if [ $rc -ne 1 ] || [ "$n" -ne 1 ]; then
		echo "FAIL: -gdb '$spec': want one error line and status 1, got $rc: $out"
		fail=1
	else
		echo "ok: -gdb '$spec' refused: $out"
	fi
done
out=$("$TANDEM" --accel=sw -s -gdb tcp::5555 2>&1 </dev/null)
[ $? -eq 1 ] && echo "ok: -s with -gdb refused: $out" || { echo "FAIL: -s with -gdb: $out"; fail=1; }

[ $fail = 0 ] && echo "PASS: gdb" || echo "FAIL: gdb"
exit $fail
