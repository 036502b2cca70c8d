#!/bin/sh
# /init of the network / virtio-rng / virtio-console test's initramfs
# (built by mkinitrd.sh next to this file). Loads the virtio modules, then:
#   net  DHCP on eth0 (busybox udhcpc), a page fetched from the host's
#        server at 10.0.2.2:PORT (tandem.port=PORT), then an httpd on
#        guest port 8080 for the host to reach through hostfwd; waits
#        until the host has put "done" on its server
#   rng  /dev/hwrng read (rng_current must name virtio_rng)
#   hvc  /data/hvc written to /dev/hvc0 (the host compares its chardev file)
#   hvcin  N bytes (tandem.hvcin=N) read from /dev/hvc1, the host's stdin
#   tap  eth0 on a host tap: static address GUEST/24 (tandem.tap=GUEST,HOST)
#        and the page fetched from HOST:PORT
# Lines for the host start with "TANDEM-NET: " and end with " @UPTIME".
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o size=64m tmpfs /tmp
exec </dev/console >/dev/console 2>&1

mark() { read -r up idle </proc/uptime; echo "TANDEM-NET: $* @$up"; }
hash() { set -- $(sha256sum "$1"); echo "$1"; }

port= tests="net rng hvc hvcin" wait_s=120 hvcin=4096
for arg in $(cat /proc/cmdline); do
	case $arg in
	tandem.port=*) port=${arg#tandem.port=} ;;
	tandem.tests=*) tests=$(echo "${arg#tandem.tests=}" | tr , ' ') ;;
	tandem.wait=*) wait_s=${arg#tandem.wait=} ;;
	tandem.tap=*) tap=${arg#tandem.tap=} ;;
	tandem.hvcin=*) hvcin=${arg#tandem.hvcin=} ;;
	esac
done
mark "init"

# Dependencies first (there is no modules.dep; busybox insmod takes files).
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
	failover net_failover virtio_net virtio_console virtio-rng; do
	insmod /lib/modules/$m.ko 2>/tmp/insmod.err ||
		mark "FAIL insmod $m: $(cat /tmp/insmod.err)"
done
mark "modules loaded"

# Wait up to N seconds for tty $2 to open (the node exists before its
# console is set up; a failed "exec 3<>" would end this shell, and init).
wait_tty() {
	n=0
	until (: <>"$2") 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt $(($1 * 10)) ] || return 1
		usleep 100000
	done
}

# Wait up to N seconds for path $2 to exist.
wait_for() {
	n=0
	while [ ! -e "$2" ] && [ $n -lt $(($1 * 10)) ]; do
		usleep 100000
		n=$((n + 1))
	done
	[ -e "$2" ]
}

for t in $tests; do
	case $t in
	none) ;;
	net)
		wait_for 10 /sys/class/net/eth0 || { mark "FAIL no eth0"; continue; }
		mark "eth0 driver=$(basename "$(readlink /sys/class/net/eth0/device/driver)")"
		ip link set lo up
		ip link set eth0 up
		if ! udhcpc -i eth0 -s /etc/udhcpc.sh -n -q -t 10 -T 1 >/tmp/udhcpc.log 2>&1; then
			mark "FAIL udhcpc: $(tail -n 3 /tmp/udhcpc.log | tr '\n' ' ')"
			continue
		fi
		set -- $(cat /tmp/lease)
		mark "dhcp ip=$1 router=$2 dns=$3"
		# (No wget -T: it crashes in Debian 12's busybox 1.35; timeout(1) instead.)
		if timeout 300 wget -q -O /tmp/page "http://10.0.2.2:$port/page"; then
			mark "wget done"
			mark "wget page sha256=$(hash /tmp/page) bytes=$(wc -c </tmp/page)"
		else
			mark "FAIL wget http://10.0.2.2:$port/page"
		fi
		mkdir -p /www && cp /data/fwd /www/fwd
		httpd -p 8080 -h /www && mark "httpd listening on 8080"
		n=0
		while ! timeout 10 wget -q -O /tmp/done "http://10.0.2.2:$port/done" 2>/dev/null; do
			n=$((n + 1))
			[ $n -lt "$wait_s" ] || break
			sleep 1
		done
		if [ -s /tmp/done ]; then mark "host says: $(cat /tmp/done)"
		else mark "FAIL the host never said done"; fi
		;;
	tap)
		wait_for 10 /sys/class/net/eth0 || { mark "FAIL no eth0"; continue; }
		ip link set eth0 up
		ip addr add "${tap%,*}/24" dev eth0
		mark "tap address set"
		if timeout 300 wget -q -O /tmp/page "http://${tap#*,}:$port/page"; then
			mark "wget done"
			mark "tap wget page sha256=$(hash /tmp/page) bytes=$(wc -c </tmp/page)"
		else
			mark "FAIL tap wget http://${tap#*,}:$port/page"
		fi
		;;
	rng)
		cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
		mark "rng current=$cur"
		# Small reads: Linux fetches 32 bytes per request, a round trip each
		# (slow on kvm_pvm, where the guest kernel runs on the software CPU).
		dd if=/dev/hwrng of=/tmp/r1 bs=128 count=1 2>/dev/null
		dd if=/dev/hwrng of=/tmp/r2 bs=128 count=1 2>/dev/null
		a=$(hash /tmp/r1) b=$(hash /tmp/r2)
		d=same; [ "$a" = "$b" ] || d=differ
		z=$(tr -d '\000' </tmp/r1 | wc -c)
		mark "rng bytes=$(cat /tmp/r1 | wc -c),$(cat /tmp/r2 | wc -c) reads=$d nonzero=$([ "$z" -gt 100 ] && echo yes || echo no)"
		;;
	hvc)
		wait_tty 10 /dev/hvc0 || { mark "FAIL no /dev/hvc0"; continue; }
		# Raw, so the host sees the bytes as they are (no \n -> \r\n), set on
		# the open that writes: hvc resets the termios at the last close.
		exec 3<>/dev/hvc0
		stty raw -echo <&3
		cat /data/hvc >&3 && mark "hvc0 wrote $(wc -c </data/hvc) bytes"
		exec 3>&-
		;;
	hvcin)
		# The second virtio-serial-pci's console, on the host's stdin.
		wait_tty 10 /dev/hvc1 || { mark "FAIL no /dev/hvc1"; continue; }
		exec 4<>/dev/hvc1
		stty raw -echo <&4
		mark "hvc1 raw, reading $hvcin bytes"
		timeout 120 head -c "$hvcin" <&4 >/tmp/hvcin
		mark "hvc1 read $(wc -c </tmp/hvcin) bytes sha256=$(hash /tmp/hvcin)"
		exec 4>&-
		;;
	esac
done
sync
mark "poweroff"
poweroff -f
