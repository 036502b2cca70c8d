#!/bin/sh
# Bad user input: one clear line on stderr, exit status 1, for every case.
: "${TANDEM:=./tandem}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0

expect_error() { # description, expected-substring, args...
	what=$1 want=$2
	shift 2
	"$TANDEM" --accel=sw "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	# The engine-choice line is informational; the error is the last line.
	lines=$(grep -v '^tandem: engine ' "$tmp/err" | wc -l)
	if [ $status -eq 1 ] && [ "$lines" -eq 1 ] && grep -q -- "$want" "$tmp/err"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $what: status $status, $lines error lines, wanted '$want':"
		sed 's/^/  /' "$tmp/err"
		fail=$((fail + 1))
	fi
}

printf '' >"$tmp/empty"
printf '\177ELF\002\001\001' >"$tmp/truncated"
head -c 4096 /dev/urandom >"$tmp/garbage"
printf 'hello, not a kernel\n' >"$tmp/text"

expect_error "missing kernel" "No such file" --kernel "$tmp/does-not-exist"
expect_error "empty kernel" "empty" --kernel "$tmp/empty"
expect_error "truncated ELF" "truncated" --kernel "$tmp/truncated"
expect_error "garbage kernel" "not a bzImage, multiboot or ELF64 kernel" --kernel "$tmp/garbage"
expect_error "text kernel" "not a bzImage, multiboot or ELF64 kernel" --kernel "$tmp/text"
expect_error "bad -m" "invalid memory size" -m lots
expect_error "zero -m" "invalid memory size" -m 0
# strtod reads these; turning them into an integer is undefined behaviour.
expect_error "infinite -m" "invalid memory size" -m inf
expect_error "NaN -m" "invalid memory size" -m nan
expect_error "-m past 2^64" "invalid memory size" -m 1e30
expect_error "unknown option" "Unknown option" --frobnicate
expect_error "unknown QEMU-style option" "unknown option '-frobnicate'" -frobnicate
expect_error "bad engine" "unknown engine" --accel=warp
expect_error "bad serial" "serial" --serial bogus:x
expect_error "bad smp" "invalid --smp" --smp 0
expect_error "smp over 8" "invalid --smp" -smp 9
expect_error "smp topology keys" "invalid --smp" -smp cores=2
expect_error "smp not a number" "invalid --smp" -smp cpus=x
expect_error "negative watchdog" "invalid --watchdog" --watchdog=-1
expect_error "watchdog not a number" "invalid --watchdog" --watchdog=soon
expect_error "QEMU -watchdog MODEL" "guest watchdog device" -watchdog i6300esb
expect_error "bad trace class" "unknown trace class" --trace=nonsense
# This error path leaked the timer list and the main loop (LeakSanitizer).
expect_error "trace file in a missing directory" "cannot open trace file" --trace=int \
	--trace-file="$tmp/no/such/dir/trace.log"
expect_error "initrd without kernel" "needs --kernel" --initrd "$tmp/text"
expect_error "missing initrd" "No such file" --kernel "$top_builddir/tests/guests/hello.elf" --initrd "$tmp/nope"

# QEMU habits. GOption alone reads -hda as -h -d -a and prints the help.
# Disks (virtio-blk): every wrong -drive/-hda/-device virtio-blk-pci gets its line.
expect_error "-hda of a missing image" "No such file" -hda "$tmp/x.img"
expect_error "-drive format=qcow2" "format=qcow2 not supported" -drive file="$tmp/text",format=qcow2
expect_error "-drive if=ide" "if=ide not supported" -drive file="$tmp/text",if=ide
expect_error "-drive unknown key" "'aio' not supported" -drive file="$tmp/text",aio=native
expect_error "-drive bad cache=" "cache=fast" -drive file="$tmp/text",cache=fast
expect_error "-drive bad readonly=" "readonly=maybe" -drive file="$tmp/text",readonly=maybe
expect_error "-drive without file=" "needs file=" -drive if=virtio
expect_error "-drive if=none without id=" "needs id=" -drive file="$tmp/text",if=none
expect_error "-device virtio-blk-pci without drive=" "needs drive=" -device virtio-blk-pci
expect_error "-device virtio-blk-pci, unknown drive" "no -drive with id=d9" \
	-device virtio-blk-pci,drive=d9
expect_error "-device virtio-blk-pci, bad num-queues" "num-queues=0" \
	-drive file="$tmp/text",if=none,id=d0 -device virtio-blk-pci,drive=d0,num-queues=0
expect_error "one drive, two disks" "already a disk" -drive file="$tmp/text",if=none,id=d0 \
	-device virtio-blk-pci,drive=d0 -device virtio-blk-pci,drive=d0
expect_error "a second writer on one image" "is in use" -hda "$tmp/text" -hda "$tmp/text"
expect_error "QEMU-style value of a missing file" "No such file" -kernel "$tmp/does-not-exist"
expect_error "unknown CPU model" "unknown CPU model 'Pentium9'" -cpu Pentium9
expect_error "unknown CPU feature" "unknown CPU feature 'frob'" -cpu max,+frob
expect_error "unknown CPU feature, =on" "unknown CPU feature 'frob'" -cpu Nehalem,frob=on
expect_error "bad CPU option" "neither +FEATURE" -cpu max,frob
expect_error "CPU feature the engine lacks" "feature avx512f: the software CPU does not implement" \
	-cpu max,+avx512f
expect_error "enforce" "Opteron_G4,enforce: the sw engine lacks" -cpu Opteron_G4,enforce
expect_error "other machine" "unknown machine 'q35'" -machine q35
expect_error "machine property" "unknown property 'usb=on'" -machine pc,usb=on
expect_error "two engine choices" "two engine choices" -machine pc,accel=sw -accel kvm
expect_error "a display" "only '-display none'" -display gtk
expect_error "a VGA card" "only '-vga none'" -vga std
expect_error "a monitor on a file" "only stdio and none" -monitor file:/tmp/m
expect_error "another device" "-device e1000: no such device" -device e1000
expect_error "debug-exit elsewhere" "not supported" -device isa-debug-exit,iobase=0x501
expect_error "unknown -device key" "pci-testdev takes: addr" -device pci-testdev,foo=1
expect_error "-device on the host bridge's slot" "a slot 1-0x1f" -device pci-testdev,addr=0
expect_error "two devices in one slot" "slot taken" -device pci-testdev,addr=3 \
	-device pci-testdev,addr=3
expect_error "unknown chardev id" "no -chardev with id=s1" -serial chardev:s1
expect_error "socket chardev" "tandem has file" -chardev socket,id=s0,port=4444
expect_error "-d with a bad class" "unknown trace class" -d nonsense

hello=$top_builddir/tests/guests/hello.elf
# Outputs never destroy inputs: an output that is an input is refused and
# the input is left as it was; outputs are opened after the inputs are read.
cp "$hello" "$tmp/k.elf" && ln "$tmp/k.elf" "$tmp/k-link.elf" && ln -s k.elf "$tmp/k-sym.elf"
printf 'initrd\n' >"$tmp/initrd"
expect_error "serial file is the kernel" "is the kernel" --serial "file:$tmp/k.elf" --kernel "$tmp/k.elf"
expect_error "serial file is a hard link to the kernel" "is the kernel" \
	--serial "file:$tmp/k-link.elf" --kernel "$tmp/k.elf"
expect_error "trace file is the kernel (symlink)" "is the kernel" --trace=int \
	--trace-file="$tmp/k-sym.elf" --kernel "$tmp/k.elf"
expect_error "trace file is the initrd" "is the initrd" --trace=int --trace-file="$tmp/initrd" \
	--kernel "$tmp/k.elf" --initrd "$tmp/initrd"
expect_error "QEMU spelling: -serial file: is the initrd" "is the initrd" \
	-serial "file:$tmp/initrd" -kernel "$tmp/k.elf" -initrd "$tmp/initrd"
if cmp -s "$hello" "$tmp/k.elf" && [ "$(cat "$tmp/initrd")" = initrd ]; then
	pass=$((pass + 1))
else
	echo "FAIL: an output overwrote the kernel or the initrd"; fail=$((fail + 1))
fi
printf 'last run\n' >"$tmp/serial.log"
expect_error "a failed load leaves the serial log alone" "No such file" \
	--serial "file:$tmp/serial.log" --trace=int --trace-file="$tmp/trace.log" \
	--kernel "$tmp/does-not-exist"
if [ "$(cat "$tmp/serial.log")" = "last run" ] && ! [ -e "$tmp/trace.log" ]; then
	pass=$((pass + 1))
else
	echo "FAIL: outputs opened before the kernel was read"; fail=$((fail + 1))
fi

# Sizes are checked before anything is read, and files are mapped, not read:
# a 3 GiB sparse initrd took 20-50 s and 3 GB of RSS to be refused.
truncate -s 3G "$tmp/huge.initrd" && truncate -s 127M "$tmp/big.initrd" || exit 99
t0=$(date +%s)
expect_error "3 GiB initrd, -m 128" "larger than guest RAM" -m 128 --kernel "$hello" \
	--initrd "$tmp/huge.initrd"
t1=$(date +%s)
if [ $((t1 - t0)) -le 10 ]; then
	pass=$((pass + 1))
else
	echo "FAIL: 3 GiB initrd: refused after $((t1 - t0)) s"; fail=$((fail + 1))
fi
expect_error "127 MiB initrd, -m 128" "does not fit" -m 128 --kernel "$hello" \
	--initrd "$tmp/big.initrd"
# Refused without reading it: far below its 127 MiB of RSS (not under ASan's shadow).
if [ -x /usr/bin/time ] && ! ldd "$TANDEM" 2>/dev/null | grep -q libasan; then
	/usr/bin/time -f %M -o "$tmp/rss" "$TANDEM" --accel=sw -m 128 --kernel "$hello" \
		--initrd "$tmp/big.initrd" >/dev/null 2>&1 </dev/null
	rss=$(tail -n 1 "$tmp/rss")
	if [ "$rss" -lt 65536 ]; then
		pass=$((pass + 1))
	else
		echo "FAIL: 127 MiB initrd: $rss KiB RSS to refuse it"; fail=$((fail + 1))
	fi
fi
rm -f "$tmp/huge.initrd" "$tmp/big.initrd"

expect_ok() { # description, expected-status, expected-substring (stdout+stderr), args...
	what=$1 want_status=$2 want=$3
	shift 3
	"$TANDEM" "$@" >"$tmp/out" 2>&1 </dev/null
	status=$?
	if [ $status -eq "$want_status" ] && grep -q -- "$want" "$tmp/out"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $what: status $status (want $want_status), wanted '$want':"
		sed 's/^/  /' "$tmp/out" | head -20
		fail=$((fail + 1))
	fi
}

# The guest kit's own QEMU command line (tests/guest-runner.sh), word for word.
expect_ok "the guest kit's QEMU line" 1 "engine sw" \
	-accel tcg -M pc -m 128 -display none -no-reboot -chardev "file,id=s0,path=$tmp/s0" \
	-serial chardev:s0 -monitor none -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$hello"
grep -q "hello: 14 checks, 0 failed" "$tmp/s0" && pass=$((pass + 1)) ||
	{ echo "FAIL: -chardev file: no guest output in it"; fail=$((fail + 1)); }
expect_ok "-machine accel= picks the engine" 1 "engine sw (requested)" \
	-machine pc,accel=sw -serial none -kernel "$hello"
expect_ok "-machine accel=kvm:tcg is auto" 1 "engine .* (auto" \
	-machine accel=kvm:tcg -serial none -kernel "$hello"
expect_ok "QEMU's no-op options" 1 "engine sw" -accel tcg -cpu qemu64 -nodefaults \
	-no-user-config -vga none -display none -monitor none -serial null -kernel "$hello"
expect_ok "-cpu host and max" 1 "engine sw" -accel tcg -cpu host -cpu max -serial none \
	-kernel "$hello"
expect_ok "-cpu with features" 1 "engine sw" -accel tcg -cpu Nehalem,-sse4.2,+rdtscp,smep=on \
	-serial none -kernel "$hello"
expect_ok "-cpu help lists models and features" 0 "Haswell-noTSX" -cpu help
expect_ok "-cpu help stars what sw implements" 0 "sse4.2\\*" -cpu help
expect_ok "info --cpu prints the leaves" 0 "0x00000001 0x00: eax=0x000106a3" info --cpu \
	-cpu Nehalem --accel sw
expect_ok "info --cpu names the features" 0 "features: .* sse4.2 " info --cpu -cpu Nehalem \
	--accel sw
expect_ok "info --cpu: an AMD model on sw" 0 "ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65" \
	info --cpu -cpu EPYC --accel sw
base="fpu de pse tsc msr pae cx8 apic sep pge cmov pat clflush mmx fxsr sse sse2 cx16"
expect_ok "info --cpu: -feat" 0 "features: $base hypervisor syscall nx lm lahf-lm$" \
	info --cpu -cpu tandem,-pni,-ssse3,-sse4.1,-sse4.2,-popcnt,-abm,-pdpe1gb,-avx,-fma,-f16c,-avx2 \
	--accel sw
expect_ok "info --cpu: a bad model is an error" 1 "unknown CPU model 'Pentium9'" info --cpu \
	-cpu Pentium9
expect_ok "-d help lists the classes" 0 "in_asm" -d help
expect_ok "-d help lists every class" 0 "exit " -d help
expect_ok "--help names bzImage" 0 "bzImage" --help
expect_ok "-device help lists pci-testdev" 0 "pci-testdev" -device help
expect_ok "option values that look like options" 1 "engine sw" --accel=sw -serial none \
	-append -hda -kernel "$hello"

# -q: no informational line from tandem (engine choice, hand-over notes); errors still.
"$TANDEM" -q --accel=sw -kernel "$hello" >"$tmp/out" 2>"$tmp/err" </dev/null
if [ $? -eq 1 ] && ! grep -q '^tandem: ' "$tmp/err" && grep -q 'hello: 14 checks' "$tmp/out"; then
	pass=$((pass + 1))
else
	echo "FAIL: -q: tandem still said:"; sed 's/^/  /' "$tmp/err"; fail=$((fail + 1))
fi
expect_error "-q keeps errors" "No such file" -q --kernel "$tmp/does-not-exist"

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
