#!/bin/sh
# /init of the Linux boot test's initramfs (built by mkinitrd.sh; every
# busybox applet is a symlink to the static /bin/busybox).
#
# Kernel command line switches (read from /proc/cmdline: the kernel keeps
# dotted parameters away from init's arguments and environment):
#   tandem.shell=1        interactive shell on the console; power off on exit
#   tandem.test=reboot    print a marker, then reboot -f
#   tandem.test=smp       CPUs online, four parallel hashing jobs, then poweroff -f
#   tandem.test=cpu       the CPU feature probe (/bin/cpuprobe), then poweroff -f
#   tandem.test=v3        run /bin/v3prog (x86-64-v3) and hash its output, then poweroff -f
#   tandem.forks=N        processes the fork/exec test starts (default 200)
#   (neither)             the scripted test, then poweroff -f
# Every line meant for the host starts with "TANDEM-LINUX: " and ends with
# " @SECONDS", the guest's uptime (seconds since the kernel started) then.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o size=64m tmpfs /tmp
# The kernel opens /dev/console for init only if the node already exists;
# with devtmpfs mounted it does now, so rebind to it either way.
exec </dev/console >/dev/console 2>&1

uptime_s() { read -r up idle </proc/uptime; echo "$up"; }
mark() { read -r up idle </proc/uptime; echo "TANDEM-LINUX: $* @$up"; }

mark "init"

mode=test forks=200
for arg in $(cat /proc/cmdline); do
	case $arg in
	tandem.shell=1) mode=shell ;;
	tandem.test=*) mode=${arg#tandem.test=} ;;
	tandem.forks=*) forks=${arg#tandem.forks=} ;;
	esac
done

case $mode in
shell)
	hostname tandem
	export PS1='tandem:\w# ' HOME=/root
	mkdir -p /root
	cd /root
	mark "shell (exit or poweroff -f to stop)"
	# cttyhack opens the real console device (ttyS0) so that job control
	# and Ctrl-C work; setsid makes it the session's controlling tty.
	setsid cttyhack sh -l
	sync
	poweroff -f
	;;
cpu)
	mark "cpu"
	if [ -x /bin/cpuprobe ]; then /bin/cpuprobe; else echo "TANDEM-CPU: SKIP no /bin/cpuprobe"; fi
	poweroff -f
	;;
reboot)
	mark "reboot"
	reboot -f
	mark "FAIL reboot -f returned"
	poweroff -f
	;;
smp)
	# SMP: every CPU online, and four jobs at once that must agree with the
	# host's hash of the blob (each hashes its own copy eight times).
	mark "smp nproc=$(nproc) online=$(cat /sys/devices/system/cpu/online)"
	for i in 1 2 3 4; do
		cp /data/blob /tmp/b$i
		( n=0
		  while [ $n -lt 8 ]; do sha256sum </tmp/b$i; n=$((n + 1)); done | sort -u >/tmp/h$i ) &
	done
	wait
	for i in 1 2 3 4; do
		mark "job $i: $(wc -l </tmp/h$i) distinct, sha256=$(cut -d' ' -f1 </tmp/h$i | head -n 1)"
	done
	mark "poweroff"
	poweroff -f
	mark "FAIL poweroff -f returned"
	;;
v3)
	# An x86-64-v3 program (AVX2, FMA, BMI, glibc's AVX2 string functions):
	# its output must hash as the host's run of the same binary did.
	f=
	for x in avx avx2 fma bmi1 bmi2 movbe f16c xsave; do
		grep -q -w "$x" /proc/cpuinfo && f="$f $x"
	done
	mark "v3 cpu flags:$f"
	/bin/v3prog >/tmp/v3.out 2>&1
	mark "v3 exit $?"
	while read -r l; do mark "$l"; done </tmp/v3.out
	mark "v3 sha256=$(sha256sum </tmp/v3.out | cut -d' ' -f1)"
	mark "poweroff"
	poweroff -f
	mark "FAIL poweroff -f returned"
	;;
test) ;;
*)
	mark "FAIL unknown tandem.test=$mode"
	poweroff -f
	;;
esac

mark "kernel $(uname -r)"
mark "cpus=$(grep -c '^processor' /proc/cpuinfo)"

# 1. Hash a file the host put into the initramfs (random on every build; the
# host knows its hash).
set -- $(sha256sum /data/blob)
mark "blob sha256=$1"

# 2. tmpfs: write, read back, compare; then data generated here and a
# compress/decompress round trip (integer-heavy work for the CPU).
cp /data/blob /tmp/blob && cmp /data/blob /tmp/blob && mark "tmpfs copy ok"
seq 1 "$(cat /data/seq-count)" >/tmp/seq
set -- $(wc -l </tmp/seq) $(sha256sum /tmp/seq)
mark "tmpfs seq lines=$1 sha256=$2"
set -- $(gzip -c /tmp/blob | gunzip -c | sha256sum)
mark "gzip roundtrip sha256=$1"
rm /tmp/blob /tmp/seq
set -- $(df -k /tmp | tail -n 1)
mark "tmpfs used after rm=${3}k"

# 3. fork + execve: each child is a new /bin/sh process running a script
# (the kernel loads the busybox ELF for every one).
n=0 sum=0
while [ $n -lt "$forks" ]; do
	r=$(/bin/child "$n") || break
	sum=$((sum + r))
	n=$((n + 1))
done
mark "forks count=$n sum=$sum"

# 4. Timers: a one-second sleep takes at least one second of guest uptime.
t0=$(uptime_s)
sleep 1
t1=$(uptime_s)
mark "sleep 1 took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"

# 5. Wall clock, from the RTC (the host checks it against its own).
mark "date epoch=$(date +%s)"

# 6. PCI: what Linux found on bus 0 (run.sh adds -device pci-testdev), as
# lspci would list it, with the BAR sizes the kernel read (resource lines:
# start end flags; flag 0x100 is I/O).
n=0
for d in /sys/bus/pci/devices/*; do
	[ -e "$d/vendor" ] || continue
	n=$((n + 1))
	i=0 bars=
	while read -r s e f; do
		if [ $i -lt 6 ] && [ $((s)) -ne 0 ]; then
			t=mem
			[ $((f & 0x100)) -eq 0 ] || t=io
			bars="$bars bar$i $t $((e - s + 1))"
		fi
		i=$((i + 1))
	done <"$d/resource"
	v=$(cat "$d/vendor") id=$(cat "$d/device")
	mark "pci ${d##*/} ${v#0x}:${id#0x} class $(cat "$d/class")$bars"
done
mark "pci devices=$n"
if dmesg | grep -q 'PCI host bridge to bus 0000:00' &&
   ! dmesg | grep -q 'No config space access function found'; then
	mark "pci bus found"
else
	mark "FAIL pci bus not found"
fi

mark "done"
mark "poweroff"
poweroff -f
mark "FAIL poweroff -f returned"
