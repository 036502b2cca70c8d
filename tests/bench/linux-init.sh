#!/bin/sh
# The Linux benchmark's phases, timed from inside: /init of the bench
# initramfs (tests/bench/linux-phases.sh builds it with
# tests/linux/mkinitrd.sh; every busybox applet is a symlink to the static
# /bin/busybox), or, run by busybox sh on the host, the native baseline:
#
#   busybox sh linux-init.sh native TMPFS_DIR TRUE
#
# TMPFS_DIR is an empty directory on a tmpfs with room for 64 MiB; TRUE the
# program the fork+exec phase starts (a symlink to the same busybox, so the
# host and the guest exec the same binary).
#
# Output, one line each, for the host to parse:
#   BENCH init uptime=SECONDS      first line /init prints (guest only)
#   BEGIN NAME                     before phase NAME starts
#   PHASE NAME SECONDS CHECK=VALUE after it: its time, and a value the host
#                                  checks (a hash, a count, a size)
#   BENCH done                     every phase ran
#   BENCH FAIL TEXT                something went wrong; the rest is skipped
# The guest then powers off. Phases: sha256 (sha256sum of a 32 MiB file of
# zeros on tmpfs), shell (an ash loop of 30000 iterations, no forks), fork
# (300 fork+exec of TRUE), tmpfs (dd of 64 MiB of zeros into a fresh file
# on tmpfs: page allocation and clearing).
#
# Clock: busybox ash's $EPOCHREALTIME (microseconds, read without a fork),
# checked against the monotonic /proc/uptime (centiseconds): where the two
# disagree by more than 20 ms + 2% (the wall clock was stepped), the
# uptime difference counts. Busybox's date has no %N.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin

if [ "$1" = native ]; then
	T=$2 TRUE=$3
	[ -d "$T" ] && [ -x "$TRUE" ] || { echo "BENCH FAIL usage: $0 native TMPFS_DIR TRUE"; exit 1; }
	finish() { exit "$1"; }
else
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	# The kernel gave init no console (the initramfs has no /dev/console
	# node); devtmpfs has one.
	exec </dev/console >/dev/console 2>&1
	read -r up _ </proc/uptime
	echo "BENCH init uptime=$up"
	T=/bench TRUE=/bin/true
	mkdir -p "$T"
	mount -t tmpfs -o size=100m tmpfs "$T"
	finish() { sync; poweroff -f; }
fi

fail() {
	echo "BENCH FAIL $*"
	finish 1
}

# now: $rt (EPOCHREALTIME, "SECONDS.MICROSECONDS") and $up (uptime,
# "SECONDS.CENTISECONDS") at this instant.
now() {
	read -r up _ </proc/uptime
	# shellcheck disable=SC3028 # busybox ash has it (else: uptime alone)
	rt=$EPOCHREALTIME
}
begin() {
	echo "BEGIN $1"
	now
	rt0=$rt up0=$up
}
# stop: $secs, the time since begin (no forks before the clock is read).
stop() {
	now
	# "1$frac - 1..." keeps a leading zero of the fraction from reading
	# as octal.
	d_cs=$((${up%.*} * 100 + 1${up#*.} - 100 - (${up0%.*} * 100 + 1${up0#*.} - 100)))
	d_us=$((d_cs * 10000))
	case $rt0$rt in
	*.*.*)
		r=$((${rt%.*} * 1000000 + 1${rt#*.} - (${rt0%.*} * 1000000 + 1${rt0#*.})))
		diff=$((r - d_us))
		[ ${diff#-} -gt $((20000 + d_us / 50)) ] || d_us=$r ;;
	esac
	# No $(printf) here: a fork would show in the host's view of the phase.
	frac=$((d_us % 1000000))
	while [ ${#frac} -lt 6 ]; do
		frac=0$frac
	done
	secs=$((d_us / 1000000)).$frac
}

# 1. sha256 of 32 MiB (user-mode compute; the file is read from tmpfs).
dd if=/dev/zero of="$T/zero" bs=1M count=32 2>/dev/null || fail "dd of the sha256 input"
begin sha256
# shellcheck disable=SC2046 # "HASH  FILE": two words
set -- $(sha256sum "$T/zero")
stop
echo "PHASE sha256 $secs sum=$1"
rm -f "$T/zero"

# 2. A shell loop: ash's own code, builtins only, no system calls to speak of.
begin shell
i=0
while [ $i -lt 30000 ]; do
	i=$((i + 1))
done
stop
echo "PHASE shell $secs count=$i"

# 3. fork + execve of a static binary (the kernel: fork, exec, exit, wait).
begin fork
n=0
while [ $n -lt 300 ]; do
	"$TRUE" || break
	n=$((n + 1))
done
stop
echo "PHASE fork $secs count=$n"

# 4. 64 MiB into a new tmpfs file: page allocation, clearing, copying.
begin tmpfs
dd if=/dev/zero of="$T/touch" bs=1M count=64 2>/dev/null || fail "dd into tmpfs"
stop
# shellcheck disable=SC2046 # ls -ln: the size is the fifth word
set -- $(ls -ln "$T/touch")
size=$5
echo "PHASE tmpfs $secs bytes=$size"
rm -f "$T/touch"

echo "BENCH done"
finish 0
