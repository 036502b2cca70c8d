#!/bin/sh
# The Linux I/O phases of `make bench`: disk (virtio-blk) and network
# (virtio-net on user networking) throughput inside a Linux guest, on QEMU
# TCG and tandem's engines with the same devices, printed as MB/s and as
# ratios to QEMU TCG.
#
#   linux-io.sh [--size tiny|small|full] [TARGET...]
#
# TARGET: qemu (qemu-system-x86_64 -accel tcg), sw, sw-nojit, kvm, kvm-r0
# (as in linux-phases.sh). Default: $BENCH_IO_TARGETS, else "qemu sw kvm".
# A target that cannot run here is listed as "n/a (reason)".
#
# Every guest boots Debian's cloud kernel (tests/linux/fetch-kernel.sh)
# with 512 MiB, one vCPU, -drive file=IMG,format=raw,if=virtio (a raw image
# of pattern data made here for each run) and -netdev user with
# virtio-net-pci. The initramfs is tests/linux/mkinitrd.sh's around
# linux-io-init.sh plus a second archive with the virtio modules (from the
# kernel's cached .deb) and iobench (tests/bench/iobench.c, linked
# statically here with $CC). In the guest, iobench times with the guest's
# CLOCK_MONOTONIC:
#   seq-read, seq-write    the whole disk in 1 MiB O_DIRECT requests
#                          (writes end with fdatasync)
#   rand-read, rand-write  OPS 4 KiB O_DIRECT requests at pseudo-random
#                          blocks, one at a time (queue depth 1)
#   net-rx, net-tx         BYTES over one TCP connection from / to an
#                          iobench serve on the host's 127.0.0.1, through
#                          slirp (10.0.2.2 in the guest)
# Sizes (disk, OPS, net): full 64 MiB, 4096, 32 MiB; small 16 MiB, 1024,
# 8 MiB; tiny 1 MiB, 64, 256 KiB (for make check: tests/bench-io.sh).
#
# Every phase checks its data: what the guest reads against the pattern
# the host wrote, and after power-off the image against what the guest
# wrote (iobench verify-disk) and the host's copy of the net-tx stream
# (iobench verify). A wrong byte, a missing line, a non-zero exit or a
# timeout is a FAIL (exit status 1). Speed is never checked.
#
# Environment: BENCH_IO_TARGETS, BENCH_IO_TIMEOUT (seconds per guest,
# default 900), BENCH_IO_LOGDIR (default $top_builddir/tests/bench/io-logs),
# LINUX_KERNEL, CC, TANDEM, QEMU_SYSTEM, top_srcdir, top_builddir,
# TANDEM_CACHE, BUSYBOX.
# Logs per target in the log dir: TARGET.cmd, TARGET.serial, TARGET.stderr,
# TARGET.verify; results (TARGET PHASE MB/s|n/a|FAIL).
#
# Exit status: 0 every target that could run passed its checks; 1 a run
# failed; 77 no target could run (no kernel, no static iobench, ...);
# 99 bad usage.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}" "${top_builddir:=.}" "${TANDEM:=$top_builddir/tandem}"
: "${QEMU_SYSTEM:=$(command -v qemu-system-x86_64)}" "${BUSYBOX:=/bin/busybox}"
: "${BENCH_IO_TIMEOUT:=900}" "${BENCH_IO_LOGDIR:=$top_builddir/tests/bench/io-logs}"
linux=$top_srcdir/tests/linux
phases="seq-read seq-write rand-read rand-write net-rx net-tx"

usage() { echo "usage: $0 [--size tiny|small|full] [qemu|sw|sw-nojit|kvm|kvm-r0]..." >&2; exit 99; }
size=full
while [ $# -gt 0 ]; do
	case $1 in
	--size) [ $# -ge 2 ] || usage; size=$2; shift ;;
	--size=*) size=${1#--size=} ;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done
case $size in
full) disk=67108864 ops=4096 net=33554432 ;;
small) disk=16777216 ops=1024 net=8388608 ;;
tiny) disk=1048576 ops=64 net=262144 ;;
*) usage ;;
esac
[ $# -gt 0 ] || set -- ${BENCH_IO_TARGETS:-qemu sw kvm}
for t in "$@"; do
	case $t in qemu | sw | sw-nojit | kvm | kvm-r0) ;; *) usage ;; esac
done
case $BENCH_IO_TIMEOUT in ''|*[!0-9]*|0) echo "linux-io: bad BENCH_IO_TIMEOUT" >&2; exit 99 ;; esac

mkdir -p "$BENCH_IO_LOGDIR" || exit 99
logdir=$(cd "$BENCH_IO_LOGDIR" && pwd)
tmp=$(mktemp -d) || exit 99
srv=
cleanup() {
	[ -z "$srv" ] || kill "$srv" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
results=$logdir/results
: >"$results"
: >"$tmp/notes"
failed=0 ran=0

skip() { echo "linux-io: SKIP: $*"; exit 77; }
fail() { # target reason
	echo "linux-io: FAIL: $1: $2" >&2
	echo "$1: FAIL: $2" >>"$tmp/notes"
	failed=1
}

# ---- the guest: kernel, initramfs with modules and iobench --------------

if [ -n "$LINUX_KERNEL" ]; then
	kernel=$LINUX_KERNEL
	[ -f "$kernel" ] || { echo "LINUX_KERNEL=$kernel: no such file" >&2; exit 99; }
else
	kernel=$(sh "$linux/fetch-kernel.sh" 2>"$tmp/fetch.err") && [ -f "$kernel" ] ||
		skip "no Linux kernel: $(tail -n 1 "$tmp/fetch.err")"
fi
krel=${kernel##*/vmlinuz-}
deb=$(ls "$(dirname "$(dirname "$(dirname "$kernel")")")"/linux-image-"$krel"_*.deb 2>/dev/null |
	head -n 1)
[ -f "$deb" ] || skip "no linux-image-$krel .deb next to $kernel (the virtio modules come from it)"
command -v dpkg-deb >/dev/null 2>&1 || skip "dpkg-deb not found"
iobench=$tmp/extra/bin/iobench
mkdir -p "$tmp/extra/bin" "$tmp/extra/lib/modules" "$tmp/src" "$tmp/deb" || exit 99
${CC:-cc} -static -O2 -o "$iobench" "$here/iobench.c" 2>"$tmp/cc.err" ||
	skip "cannot link iobench statically (${CC:-cc} -static; Debian: libc6-dev): $(head -n 1 "$tmp/cc.err")"
dpkg-deb -x "$deb" "$tmp/deb" || skip "cannot unpack $deb"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk \
	failover net_failover virtio_net; do
	f=$(find "$tmp/deb" -name "$m.ko" | head -n 1)
	[ -n "$f" ] || skip "$m.ko not in $deb (compressed modules are not supported here)"
	cp "$f" "$tmp/extra/lib/modules/" || exit 99
done
rm -rf "$tmp/deb"
cp "$here/linux-io-init.sh" "$tmp/src/init.sh" || exit 99
SRCDIR=$tmp/src BUSYBOX=$BUSYBOX sh "$linux/mkinitrd.sh" "$tmp/base.cpio.gz" 2>"$tmp/mkinitrd.err"
rc=$?
[ $rc != 77 ] || skip "no initramfs: $(tail -n 1 "$tmp/mkinitrd.err")"
[ $rc = 0 ] || { echo "linux-io: mkinitrd.sh failed: $(tail -n 1 "$tmp/mkinitrd.err")"; exit 99; }
# The kernel unpacks concatenated archives one after the other.
initrd=$logdir/initrd.cpio.gz
{ cat "$tmp/base.cpio.gz"
  (cd "$tmp/extra" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -6n; } >"$initrd" || { echo "linux-io: cannot write $initrd"; exit 99; }

# ---- targets -------------------------------------------------------------

tandem_info=
probe() { # sets $why (empty: runs here) and $desc
	why='' desc=''
	case $1 in
	qemu)
		desc="qemu-system-x86_64 -accel tcg -M pc -m 512"
		[ -n "$QEMU_SYSTEM" ] && [ -x "$QEMU_SYSTEM" ] ||
			why="qemu-system-x86_64 not found (Debian: qemu-system-x86)" ;;
	*)
		case $1 in
		sw) desc="tandem --accel=sw" ;;
		sw-nojit) desc="tandem --accel=sw,jit=off" ;;
		kvm) desc="tandem --accel=kvm" ;;
		kvm-r0) desc="tandem --accel=kvm,ring0=kvm" ;;
		esac
		if ! [ -x "$TANDEM" ]; then
			why="no tandem binary at $TANDEM"
			return
		fi
		[ -n "$tandem_info" ] || tandem_info=$("$TANDEM" info 2>&1)
		line=$(printf '%s\n' "$tandem_info" | awk -v e="${1%-*}" '$1 == e { print; exit }')
		case $line in
		*" usable "*) ;;
		*) why="engine ${1%-*} not usable here: ${line:-not in 'tandem info'}"; return ;;
		esac
		[ "$1" != kvm ] || ! [ -e /sys/module/kvm_pvm ] ||
			desc="$desc (kvm_pvm: guest ring 0 on sw)" ;;
	esac
}

run_guest() {
	target=$1
	log=$logdir/$target.serial err=$logdir/$target.stderr
	img=$tmp/disk.img out=$tmp/net-tx.out
	rm -f "$log" "$out"
	"$iobench" gen "$img" $disk 1 || { fail "$target" "cannot write $img"; return; }
	# The host's end of the network phases, on two free ports.
	"$iobench" serve $net "$out" >"$tmp/serve.out" 2>&1 &
	srv=$!
	n=0
	while ! grep -q '^listening' "$tmp/serve.out" && [ $n -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	set -- $(sed -n 's/^listening //p' "$tmp/serve.out")
	[ $# = 2 ] || { fail "$target" "iobench serve did not start"; return; }
	append="console=ttyS0 quiet panic=-1 io.disk=$disk io.ops=$ops io.net=$net io.ports=$1,$2"
	devs="-drive file=$img,format=raw,if=virtio -netdev user,id=n0 -device virtio-net-pci,netdev=n0"
	case $target in
	qemu) cmd="$QEMU_SYSTEM -accel tcg -M pc -m 512 -display none -monitor none -no-reboot" ;;
	*)	case $target in
		sw-nojit) accel=sw,jit=off ;;
		kvm-r0) accel=kvm,ring0=kvm ;;
		*) accel=$target ;;
		esac
		cmd="$TANDEM --accel=$accel -m 512M --no-reboot --stats" ;;
	esac
	cmd="$cmd -serial file:$log $devs -kernel $kernel -initrd $initrd"
	echo "$cmd -append '$append'" >"$logdir/$target.cmd"
	t0=$(date +%s)
	timeout -k 10 "$BENCH_IO_TIMEOUT" $cmd -append "$append" </dev/null \
		>"$logdir/$target.stdout" 2>"$err"
	status=$?
	wall=$(($(date +%s) - t0))
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	srv=
	echo "linux-io: $target ran ${wall} s, exit status $status; console $log, stderr $err"

	why=
	tr -d '\r' <"$log" >"$tmp/serial" 2>/dev/null
	if [ $status = 124 ] || [ $status = 137 ]; then
		why="timed out after ${BENCH_IO_TIMEOUT}s"
	elif grep -q '^BENCH FAIL' "$tmp/serial"; then
		why="$(grep -m 1 '^BENCH FAIL' "$tmp/serial")"
	elif [ $status != 0 ]; then
		why="exit status $status: $(grep -v '^tandem: ' "$err" | tail -n 1)"
	elif ! grep -q '^BENCH done$' "$tmp/serial"; then
		why="no 'BENCH done' line"
	fi
	# The data, whatever the timings: the image as the guest left it, and
	# the stream the guest sent.
	if [ -z "$why" ]; then
		"$iobench" verify-disk "$img" $disk $ops >"$logdir/$target.verify" 2>&1 ||
			why="disk image: $(tail -n 1 "$logdir/$target.verify")"
		"$iobench" verify "$out" $net 5 >>"$logdir/$target.verify" 2>&1 ||
			why="${why:+$why; }net-tx: $(tail -n 1 "$logdir/$target.verify")"
	fi
	[ -z "$why" ] || fail "$target" "$why"
	for p in $phases; do
		line=$(grep -m 1 "^PHASE $p " "$tmp/serial")
		set -- $line
		if [ -z "$why" ] && [ $# = 5 ] && [ "$5" = check=ok ]; then
			mbs=$(awk -v b="$4" -v s="$3" 'BEGIN { s = s > 1e-6 ? s : 1e-6; printf "%.2f", b / 1e6 / s }')
			echo "$target $p $mbs" >>"$results"
			echo "linux-io: $target $p $4 bytes in $3 s: $mbs MB/s"
		else
			[ $# != 5 ] || [ "$5" = check=ok ] || fail "$target" "$p: $5"
			[ -n "$why" ] || [ $# = 5 ] || fail "$target" "no $p line"
			echo "$target $p FAIL" >>"$results"
		fi
	done
	rm -f "$img" "$out"
}

targets=
for target in "$@"; do
	probe "$target"
	if [ -n "$why" ]; then
		echo "$target: n/a ($why)" >>"$tmp/notes"
		for p in $phases; do echo "$target $p n/a" >>"$results"; done
	else
		echo "$target: $desc" >>"$tmp/notes"
		ran=$((ran + 1))
		run_guest "$target"
	fi
	targets="$targets $target"
done

# ---- report ----------------------------------------------------------------

echo
echo "tandem Linux I/O phases ($size: disk $((disk / 1048576)) MiB, $ops random 4 KiB requests," \
	"net $((net / 1024)) KiB each way), timed in the guest, one boot per target"
echo "  guests: $kernel, -m 512M, one vCPU, virtio-blk-pci (raw image), virtio-net-pci on user net"
sed 's/^/  /' "$tmp/notes"
echo "  logs: $logdir"
echo
awk -v targets="$targets" -v phases="$phases" '
	BEGIN {
		label["seq-read"] = "disk seq read 1M"
		label["seq-write"] = "disk seq write 1M"
		label["rand-read"] = "disk rand read 4K"
		label["rand-write"] = "disk rand write 4K"
		label["net-rx"] = "net host->guest"
		label["net-tx"] = "net guest->host"
	}
	{ v[$1, $2] = $3 }
	function num(x) { return x ~ /^[0-9.]+$/ && x > 0 }
	function fmt(r) {
		return r >= 100 ? sprintf("%.0fx", r) : r >= 10 ? sprintf("%.1fx", r) : sprintf("%.2fx", r)
	}
	END {
		nt = split(targets, t, " ")
		np = split(phases, ph, " ")
		printf "MB/s (10^6 bytes per second; higher is better)\n%-20s", "phase"
		for (i = 1; i <= nt; i++)
			printf " %10s", t[i]
		printf "\n"
		for (j = 1; j <= np; j++) {
			printf "%-20s", label[ph[j]]
			for (i = 1; i <= nt; i++)
				printf " %10s", ((t[i], ph[j]) in v) ? v[t[i], ph[j]] : "n/a"
			printf "\n"
		}
		have_q = 0
		for (j = 1; j <= np; j++)
			have_q += num(v["qemu", ph[j]])
		if (!have_q) {
			printf "\n(no QEMU TCG results: no ratios)\n"
			exit
		}
		printf "\nratio to QEMU TCG (MB/s / QEMU MB/s; above 1 is faster than QEMU)\n%-20s", "phase"
		for (i = 1; i <= nt; i++)
			if (t[i] != "qemu")
				printf " %10s", t[i]
		printf "\n"
		for (j = 1; j <= np; j++) {
			printf "%-20s", label[ph[j]]
			for (i = 1; i <= nt; i++) {
				if (t[i] == "qemu")
					continue
				a = v[t[i], ph[j]]; b = v["qemu", ph[j]]
				r = "n/a"
				if (num(a) && num(b)) {
					r = fmt(a / b)
					lsum[t[i]] += log(a / b)
					lcnt[t[i]]++
				}
				printf " %10s", r
			}
			printf "\n"
		}
		printf "%-20s", "geomean"
		for (i = 1; i <= nt; i++) {
			if (t[i] == "qemu")
				continue
			g = lcnt[t[i]] ? fmt(exp(lsum[t[i]] / lcnt[t[i]])) : "n/a"
			if (lcnt[t[i]] && lcnt[t[i]] < np)
				g = g "(" lcnt[t[i]] ")"
			printf " %10s", g
		}
		printf "\n(geomean over the phases both ran; (N): over N phases only)\n"
	}' "$results"

if [ $failed -ne 0 ]; then
	echo
	echo "linux-io: FAILED (see the FAIL lines above; logs in $logdir)"
	exit 1
fi
[ $ran -gt 0 ] || exit 77
exit 0
