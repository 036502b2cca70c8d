#!/bin/sh
# /init of the virtio-blk test's initramfs (tests/linux-virtio-blk.sh):
# load the virtio modules, mount the ext4 disk /dev/vda, and
#   vblk.mode=write  write files (with several CPUs: one per CPU at once),
#                    check the readonly (vdb) and snapshot (vdc) disks,
#                    unmount, power off
#   vblk.mode=crash  write a file, fsync it, say so, and wait to be killed
#   vblk.mode=snap   append to a file chunk after chunk (the host snapshots
#                    the VM meanwhile and restores it), write the snapshot=on
#                    disk vdc first and read it back at the end, power off
# vblk.token=WORD is what the files hold. Lines for the host start "VBLK: ".
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1

# The guest uptime goes to the end of the line, after " @", for the log.
mark() { read -r up idle </proc/uptime; echo "VBLK: $* @$up"; }
fail() { mark "FAIL $*"; poweroff -f; }

mode= token=
for arg in $(cat /proc/cmdline); do
	case $arg in
	vblk.mode=*) mode=${arg#vblk.mode=} ;;
	vblk.token=*) token=${arg#vblk.token=} ;;
	esac
done

for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do
	insmod /lib/modules/$m.ko || fail "insmod $m"
done
n=0
while ! [ -b /dev/vda ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
[ -b /dev/vda ] || fail "no /dev/vda"
mark "vda sectors=$(cat /sys/block/vda/size)"
mark "vda queues=$(ls /sys/block/vda/mq | wc -l) cpus=$(grep -c '^processor' /proc/cpuinfo)"
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt || fail "mount /dev/vda"
mark "hello=$(cat /mnt/hello.txt)"

case $mode in
write)
	echo "$token" >/mnt/written.txt
	# 4 MiB of random data, larger than one request: the host compares hashes.
	dd if=/dev/urandom of=/mnt/big bs=65536 count=64 2>/dev/null || fail "dd big"
	sync
	set -- $(sha256sum /mnt/big)
	mark "big sha256=$1"
	# Read back after dropping the page cache: the data comes from the disk.
	echo 3 >/proc/sys/vm/drop_caches
	set -- $(sha256sum /mnt/big)
	mark "big reread sha256=$1"
	# vdb: readonly=on. The kernel knows, and a write does not get through.
	mark "vdb ro=$(cat /sys/block/vdb/ro)"
	if dd if=/dev/zero of=/dev/vdb bs=512 count=1 conv=fsync 2>/dev/null; then
		mark "vdb write accepted"
	else
		mark "vdb write refused"
	fi
	# vdc: snapshot=on. The guest sees its write; the host file stays as it was.
	echo "snap-$token" | dd of=/dev/vdc bs=512 conv=sync,fsync 2>/dev/null
	echo 3 >/proc/sys/vm/drop_caches
	mark "vdc reads $(dd if=/dev/vdc bs=512 count=1 2>/dev/null | head -n 1)"
	# Several CPUs: one O_DIRECT writer pinned to each at once, so blk-mq
	# submits from every CPU to its own queue; then which of vda's
	# queues completed requests (virtio0-req.N lines of /proc/interrupts).
	ncpu=$(grep -c '^processor' /proc/cpuinfo)
	if [ "$ncpu" -gt 1 ]; then
		i=0
		while [ $i -lt "$ncpu" ]; do
			taskset -c $i dd if=/dev/urandom of=/mnt/cpu$i bs=65536 count=16 oflag=direct \
				conv=fsync 2>/dev/null &
			i=$((i + 1))
		done
		wait
		i=0
		while [ $i -lt "$ncpu" ]; do
			set -- $(sha256sum /mnt/cpu$i)
			mark "cpu$i sha256=$1"
			i=$((i + 1))
		done
		used=$(awk '/virtio0-req\.[0-9]+$/ {
			n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i; if (n) u++ }
			END { print u + 0 }' /proc/interrupts)
		mark "mq queues used=$used of $(ls /sys/block/vda/mq | wc -l)"
	fi
	# Which interrupts the disks used (MSI-X per queue, or INTx): for the log.
	mark "irqs $(grep -E 'virtio[0-9]' /proc/interrupts | sed 's/  */ /g' | tr '\n' ';')"
	umount /mnt || fail "umount"
	mark "done"
	poweroff -f
	;;
snap)
	# Snapshotted by the host while it writes (tests/linux-virtio-blk.sh snap):
	# chunk after chunk, each fsynced, so requests are in flight at any time.
	echo "snap-$token" | dd of=/dev/vdc bs=512 conv=sync,fsync 2>/dev/null
	mark "snap start"
	i=0
	while [ $i -lt 24 ]; do
		dd if=/dev/urandom of=/tmp/chunk bs=65536 count=4 2>/dev/null
		cat /tmp/chunk >>/mnt/snapbig || fail "append chunk $i"
		sync
		mark "snap chunk $i"
		i=$((i + 1))
	done
	echo "$token" >/mnt/snap.txt
	sync
	set -- $(sha256sum /mnt/snapbig)
	mark "snapbig sha256=$1"
	echo 3 >/proc/sys/vm/drop_caches
	set -- $(sha256sum /mnt/snapbig)
	mark "snapbig reread sha256=$1"
	mark "vdc reads $(dd if=/dev/vdc bs=512 count=1 2>/dev/null | head -n 1)"
	umount /mnt || fail "umount"
	mark "done"
	poweroff -f
	;;
crash)
	echo "$token" >/tmp/token
	# fsync: ext4 commits its journal and the block layer sends FLUSH.
	dd if=/tmp/token of=/mnt/crash.txt conv=fsync 2>/dev/null || fail "dd crash"
	mark "flushed"
	# Wait for SIGKILL; nothing else is written from here on.
	while :; do sleep 10; done
	;;
*)
	fail "unknown vblk.mode=$mode"
	;;
esac
