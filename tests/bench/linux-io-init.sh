#!/bin/sh
# /init of the Linux I/O benchmark's initramfs (tests/bench/linux-io.sh):
# load the virtio modules, give eth0 slirp's usual address, then run the
# disk phases on /dev/vda and the network phases against the host
# (10.0.2.2, slirp's alias for 127.0.0.1) with /bin/iobench
# (tests/bench/iobench.c), and power off.
#
# Kernel parameters: io.disk=BYTES (the size of /dev/vda), io.ops=N (4 KiB
# requests per random phase), io.net=BYTES (per direction),
# io.ports=RX,TX (the host's iobench serve).
# Output for the host: "BENCH init uptime=S", iobench's "PHASE ..." lines,
# then "BENCH done", or "BENCH FAIL TEXT".
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

fail() {
	echo "BENCH FAIL $*"
	poweroff -f
}

disk= ops= net= ports=
for arg in $(cat /proc/cmdline); do
	case $arg in
	io.disk=*) disk=${arg#io.disk=} ;;
	io.ops=*) ops=${arg#io.ops=} ;;
	io.net=*) net=${arg#io.net=} ;;
	io.ports=*) ports=${arg#io.ports=} ;;
	esac
done
[ -n "$disk" ] && [ -n "$ops" ] && [ -n "$net" ] && [ -n "$ports" ] ||
	fail "missing io.disk, io.ops, io.net or io.ports"

for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk \
	failover net_failover virtio_net; do
	insmod /lib/modules/$m.ko || fail "insmod $m"
done
n=0
while { ! [ -b /dev/vda ] || ! [ -e /sys/class/net/eth0 ]; } && [ $n -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ -b /dev/vda ] || fail "no /dev/vda"
[ -e /sys/class/net/eth0 ] || fail "no eth0"
[ "$(cat /sys/block/vda/size)" = $((disk / 512)) ] ||
	fail "/dev/vda has $(cat /sys/block/vda/size) sectors, want $((disk / 512))"
# slirp's defaults: guest 10.0.2.15, host 10.0.2.2 (no DHCP needed).
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0 || fail "ip addr"
ip link set eth0 up || fail "ip link"

read -r up _ </proc/uptime
echo "BENCH init uptime=$up"
iobench disk /dev/vda "$disk" "$ops" || fail "iobench disk"
iobench net 10.0.2.2 "${ports%,*}" "${ports#*,}" "$net" || fail "iobench net"
echo "BENCH done"
poweroff -f
