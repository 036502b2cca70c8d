#!/bin/sh
# Time the Linux phases (tests/bench/linux-init.sh) natively, on QEMU TCG
# and on tandem's engines, and print seconds and ratios to QEMU TCG.
# Run by `make bench` (BENCH_LINUX=1, the default) or alone:
#
#   linux-phases.sh [TARGET...]
#
# TARGET: native, qemu (qemu-system-x86_64 -accel tcg), sw (--accel=sw),
# sw-nojit (--accel=sw,jit=off), kvm (--accel=kvm), kvm-r0
# (--accel=kvm,ring0=kvm). Default: $BENCH_LINUX_TARGETS, else
# "native qemu sw kvm". A target that cannot run here is listed as
# "n/a (reason)".
#
# Every guest boots Debian's cloud kernel (tests/linux/fetch-kernel.sh)
# with 512 MiB and an initramfs built here by tests/linux/mkinitrd.sh around
# linux-init.sh. "boot to init" is host time from starting the engine to
# the first line /init prints on the serial console; the other phases are
# timed inside the guest (see linux-init.sh) and their results checked.
# Native runs the same busybox commands on the host, best of 3.
#
# Environment (all optional):
#   BENCH_LINUX_TARGETS  the targets when none are given on the command line
#   BENCH_LINUX_TIMEOUT  seconds a guest may spend in one phase (boot to
#                        init, each phase, power-off) before it is killed
#                        (default 600)
#   BENCH_LINUX_LOGDIR   where the logs go (default
#                        $top_builddir/tests/bench/linux-logs)
#   BENCH_PERF=1         run tandem under perf record -e cpu-clock -g;
#                        the profile is TARGET.perf.data in the log dir
#   LINUX_KERNEL         a vmlinuz to boot instead of Debian's
#   TANDEM, QEMU_SYSTEM, top_srcdir, top_builddir, TANDEM_CACHE, BUSYBOX
# Logs, per target, in the log dir: TARGET.cmd (the command line),
# TARGET.serial (the console), TARGET.stamps (host time in ns of each
# BENCH/BEGIN/PHASE line), TARGET.stderr (with tandem's --stats counters),
# and results (TARGET PHASE SECONDS|n/a|FAIL).
#
# Exit status: 0 every target that could run passed its checks; 1 a run
# failed (exit status, timeout, wrong result); 77 no target could run;
# 99 bad usage.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}" "${top_builddir:=.}" "${TANDEM:=$top_builddir/tandem}"
: "${QEMU_SYSTEM:=$(command -v qemu-system-x86_64)}"
: "${BENCH_LINUX_TIMEOUT:=600}" "${BENCH_PERF:=0}" "${BUSYBOX:=/bin/busybox}"
: "${BENCH_LINUX_LOGDIR:=$top_builddir/tests/bench/linux-logs}"
linux=$top_srcdir/tests/linux
phases="boot sha256 shell fork tmpfs"
append="console=ttyS0 quiet panic=-1"

usage() { echo "usage: $0 [native|qemu|sw|sw-nojit|kvm|kvm-r0]..." >&2; exit 99; }
[ $# -gt 0 ] || set -- ${BENCH_LINUX_TARGETS:-native qemu sw kvm}
for t in "$@"; do
	case $t in native | qemu | sw | sw-nojit | kvm | kvm-r0) ;; *) usage ;; esac
done
case $BENCH_LINUX_TIMEOUT in ''|*[!0-9]*|0) echo "linux-phases: bad BENCH_LINUX_TIMEOUT" >&2; exit 99 ;; esac
case $(date +%N) in ''|*[!0-9]*)
	echo "linux-phases: date +%N gives no nanoseconds here" >&2; exit 99 ;;
esac

mkdir -p "$BENCH_LINUX_LOGDIR" || exit 99
logdir=$(cd "$BENCH_LINUX_LOGDIR" && pwd)
tmp=$(mktemp -d) || exit 99
pid='' wd='' mnt=''
cleanup() {
	[ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null
	[ -z "$wd" ] || kill "$wd" 2>/dev/null
	[ -z "$mnt" ] || umount "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# Background jobs of a non-interactive shell ignore SIGINT: take the
# engine down ourselves.
trap 'exit 130' INT TERM
results=$logdir/results
: >"$results"		# lines: TARGET PHASE SECONDS|n/a|FAIL
: >"$tmp/notes"		# lines: TARGET: text
failed=0 ran=0

# What the phases must report (linux-init.sh).
zero_sha=$(head -c 33554432 /dev/zero | sha256sum | cut -d' ' -f1)
expect() {
	case $1 in
	sha256) echo "sum=$zero_sha" ;;
	shell) echo count=30000 ;;
	fork) echo count=300 ;;
	tmpfs) echo bytes=67108864 ;;
	esac
}

secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }

fail() { # target phase reason
	echo "linux-phases: FAIL: $1 $2: $3" >&2
	echo "$1: FAIL $2: $3" >>"$tmp/notes"
	failed=1
}

# ---- what a guest needs: a kernel and the initramfs ----------------------

guest_why=
prepare_guest() {
	[ -z "$initrd" ] || return 0
	[ -z "$guest_why" ] || return 1
	if [ -n "$LINUX_KERNEL" ]; then
		kernel=$LINUX_KERNEL
		[ -f "$kernel" ] || { guest_why="LINUX_KERNEL=$kernel: no such file"; return 1; }
	else
		kernel=$(sh "$linux/fetch-kernel.sh" 2>"$tmp/fetch.err")
		rc=$?
		if [ $rc != 0 ] || ! [ -f "$kernel" ]; then
			guest_why="no kernel: $(tail -n 1 "$tmp/fetch.err")"
			return 1
		fi
	fi
	# mkinitrd.sh installs SRCDIR/init.sh as /init.
	mkdir -p "$tmp/src" && cp "$here/linux-init.sh" "$tmp/src/init.sh" || return 1
	if ! SRCDIR=$tmp/src BUSYBOX=$BUSYBOX sh "$linux/mkinitrd.sh" \
			"$logdir/initrd.cpio.gz" 2>"$tmp/mkinitrd.err"; then
		guest_why="no initramfs: $(tail -n 1 "$tmp/mkinitrd.err")"
		return 1
	fi
	initrd=$logdir/initrd.cpio.gz
	guest_note="guests: $kernel, $initrd, -m 512M, append \"$append\""
}
initrd='' guest_note=''

# ---- targets -------------------------------------------------------------

tandem_info=
# Sets $why (empty: the target can run here) and $desc.
probe() {
	why='' desc=''
	case $1 in
	native)
		desc="host CPU, $BUSYBOX sh"
		if ! [ -x "$BUSYBOX" ]; then
			why="$BUSYBOX not found (Debian: busybox-static)"
		fi
		return ;;
	qemu)
		desc="qemu-system-x86_64 -accel tcg -m 512"
		if [ -z "$QEMU_SYSTEM" ] || ! [ -x "$QEMU_SYSTEM" ]; then
			why="qemu-system-x86_64 not found (Debian: qemu-system-x86)"
			return
		fi
		v=$("$QEMU_SYSTEM" --version 2>/dev/null | sed -n '1s/.*version \([^ ]*\).*/\1/p')
		[ -z "$v" ] || desc="$desc ($v)" ;;
	*)
		case $1 in
		sw) desc="tandem --accel=sw" ;;
		sw-nojit) desc="tandem --accel=sw,jit=off" ;;
		kvm) desc="tandem --accel=kvm" ;;
		kvm-r0) desc="tandem --accel=kvm,ring0=kvm" ;;
		esac
		if ! [ -x "$TANDEM" ]; then
			why="no tandem binary at $TANDEM (run make, or set TANDEM)"
			return
		fi
		[ -n "$tandem_info" ] || tandem_info=$("$TANDEM" info 2>&1)
		e=${1%-*}
		line=$(printf '%s\n' "$tandem_info" | awk -v e="$e" '$1 == e { print; exit }')
		case $line in
		*" usable "*) ;;
		*) why="engine $e not usable here: ${line:-not in 'tandem info'}"; return ;;
		esac
		case $1 in
		sw-nojit) printf '%s\n' "$tandem_info" | grep -q 'jit=' ||
			why="this tandem has no sw jit= option" ;;
		kvm-r0) printf '%s\n' "$tandem_info" | grep -q 'ring0=' ||
			why="this tandem has no kvm ring0= option" ;;
		esac
		[ -z "$why" ] || return
		if [ -e /sys/module/kvm_pvm ]; then
			[ "$1" = kvm ] && desc="$desc (kvm_pvm: guest ring 0 on sw)"
			[ "$1" = kvm-r0 ] && desc="$desc (kvm_pvm: everything on KVM)"
		fi
		if [ "$BENCH_PERF" = 1 ]; then
			if command -v perf >/dev/null 2>&1; then
				desc="$desc, under perf record"
			else
				why="BENCH_PERF=1 but perf is not installed (Debian: linux-perf)"
				return
			fi
		fi ;;
	esac
	prepare_guest || why=$guest_why
}

# ---- native ----------------------------------------------------------------

run_native() {
	# A fresh tmpfs where we may mount one, else one under /dev/shm.
	fs=$tmp/fs
	mkdir -p "$fs" "$tmp/bin"
	if mount -t tmpfs -o size=100m tmpfs "$fs" 2>/dev/null; then
		mnt=$fs
	else
		fs=$(mktemp -d /dev/shm/tandem-bench.XXXXXX) || {
			fail native all "no tmpfs: cannot mount one, no /dev/shm"
			for p in $phases; do
				[ $p = boot ] || echo "native $p FAIL" >>"$results"
			done
			return
		}
	fi
	ln -sf "$BUSYBOX" "$tmp/bin/true"
	out=$logdir/native.out
	: >"$out"
	: >"$tmp/native.phases"
	echo "native: $BUSYBOX sh $here/linux-init.sh native $fs $tmp/bin/true" >"$logdir/native.cmd"
	i=0
	while [ $i -lt 3 ]; do
		i=$((i + 1))
		timeout -k 5 "$BENCH_LINUX_TIMEOUT" "$BUSYBOX" sh "$here/linux-init.sh" native \
			"$fs" "$tmp/bin/true" >"$tmp/native.out" 2>&1 </dev/null
		status=$?
		cat "$tmp/native.out" >>"$out"
		if [ $status -ne 0 ] || ! grep -q '^BENCH done$' "$tmp/native.out"; then
			fail native run "exit status $status: $(grep -m 1 FAIL "$tmp/native.out")"
			break
		fi
		sed -n 's/^PHASE //p' "$tmp/native.out" >>"$tmp/native.phases"
	done
	[ -z "$mnt" ] || { umount "$mnt"; mnt=; }
	[ "$fs" = "$tmp/fs" ] || rm -rf "$fs"
	for p in $phases; do
		[ $p != boot ] || continue
		got=$(awk -v p=$p '$1 == p { print $3; exit }' "$tmp/native.phases" 2>/dev/null)
		best=$(awk -v p=$p '$1 == p && (b == "" || $2 < b) { b = $2 } END { print b }' \
			"$tmp/native.phases" 2>/dev/null)
		if [ -z "$best" ]; then
			echo "native $p FAIL" >>"$results"
		elif [ "$got" != "$(expect $p)" ]; then
			fail native $p "got $got, want $(expect $p)"
			echo "native $p FAIL" >>"$results"
		else
			best=$(awk -v s="$best" 'BEGIN { printf "%.3f", s }')
			echo "native $p $best" >>"$results"
			echo "linux: native $p $best s"
		fi
	done
}

# ---- guests --------------------------------------------------------------

# Copy the serial console (fifo on stdin) to $1, stamping each line
# meant for us into $2 ("NS LINE") and its time alone into $3.
reader() {
	# Our copy of the fifo's write end is not for us (a redirection on the
	# call would only be undone at its end: dash keeps a saved copy).
	exec 9>&-
	cr=$(printf '\r')
	while IFS= read -r l || [ -n "$l" ]; do
		l=${l%"$cr"}
		case $l in
		"BENCH "* | "BEGIN "* | "PHASE "*)
			s=$(date +%s%N)
			echo "$s $l" >>"$2"
			echo "$s" >"$3" ;;
		esac
		printf '%s\n' "$l"
	done >"$1"
}

# Kill process $1 once $3 (the last stamp) has not changed for $2 seconds;
# say so in $4.
watchdog() {
	exec 9>&-
	trap 'kill $sl 2>/dev/null; exit 0' TERM
	idle=0 seen=
	while :; do
		sleep 1 & sl=$!
		wait $sl
		p=
		read -r p <"$3" 2>/dev/null
		if [ "$p" != "$seen" ]; then
			seen=$p idle=0
		else
			idle=$((idle + 1))
		fi
		if [ $idle -ge "$2" ]; then
			echo "$idle" >"$4"
			kill -TERM "$1"
			sleep 10 & sl=$!
			wait $sl
			kill -KILL "$1"
			exit 0
		fi
	done
}

run_guest() {
	target=$1
	log=$logdir/$target.serial err=$logdir/$target.stderr stamps=$logdir/$target.stamps
	fifo=$tmp/$target.fifo prog=$tmp/$target.progress flag=$tmp/$target.timedout
	rm -f "$log" "$err" "$stamps" "$fifo" "$flag"
	: >"$stamps"
	mkfifo "$fifo" || { fail "$target" all "mkfifo failed"; return; }
	case $target in
	qemu)	set -- "$QEMU_SYSTEM" -accel tcg -M pc -m 512 -display none -monitor none \
			-no-reboot -serial "file:$fifo" ;;
	*)	case $target in
		sw-nojit) accel=sw,jit=off ;;
		kvm-r0) accel=kvm,ring0=kvm ;;
		*) accel=$target ;;
		esac
		set -- "$TANDEM" --accel=$accel -m 512M --no-reboot --stats --serial "file:$fifo"
		if [ "$BENCH_PERF" = 1 ]; then
			perf_data=$logdir/$target.perf.data
			set -- perf record -e cpu-clock -g -o "$perf_data" -- "$@"
		fi ;;
	esac
	set -- "$@" --kernel "$kernel" --initrd "$initrd" --append "$append"
	{
		echo "# the serial fifo was copied to $log"
		for a in "$@"; do
			printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
		done
		echo
	} >"$logdir/$target.cmd"

	# We hold the fifo open for writing too, so that the reader neither
	# blocks in open nor sees an early end; it ends when we let go after
	# the engine has exited.
	exec 9<>"$fifo"
	reader "$log" "$stamps" "$prog" <"$fifo" &
	rd=$!
	t0=$(date +%s%N)
	"$@" </dev/null >"$logdir/$target.stdout" 2>"$err" 9>&- &
	pid=$!
	watchdog $pid "$BENCH_LINUX_TIMEOUT" "$prog" "$flag" </dev/null >/dev/null 2>&1 &
	wd=$!
	{ wait $pid; } 2>/dev/null
	status=$?
	t1=$(date +%s%N)
	pid=
	kill $wd 2>/dev/null
	wait $wd 2>/dev/null
	wd=
	exec 9>&-
	wait $rd
	echo "linux: $target ran $(secs $((t1 - t0))) s, exit status $status;" \
		"stderr$([ $target = qemu ] || echo " with --stats"): $err, console: $log"

	# What went wrong, if anything (for every phase without a result).
	why=
	if [ -e "$flag" ]; then
		last=$(tail -n 1 "$stamps" | cut -d' ' -f2-)
		why="no progress for ${BENCH_LINUX_TIMEOUT}s after '${last:-the start}': killed"
	elif grep -q '^BENCH FAIL' "$log"; then
		why=$(grep -m 1 '^BENCH FAIL' "$log")
	elif [ $status -ne 0 ]; then
		why="exit status $status (want 0): $(grep -v '^tandem: ' "$err" | tail -n 1)"
	elif ! grep -q '^BENCH done$' "$log"; then
		why="no 'BENCH done' line"
	fi
	[ -z "$why" ] || fail "$target" run "$why"

	init=$(awk '$2 == "BENCH" && $3 == "init" { print $1; exit }' "$stamps")
	if [ -n "$init" ]; then
		echo "$target boot $(secs $((init - t0)))" >>"$results"
		echo "linux: $target boot to init $(secs $((init - t0))) s" \
			"(guest uptime at init $(sed -n 's/^BENCH init uptime=//p' "$log" | head -n 1) s)"
	else
		echo "$target boot FAIL" >>"$results"
	fi
	for p in $phases; do
		[ $p != boot ] || continue
		line=$(awk -v p=$p '$2 == "PHASE" && $3 == p { print; exit }' "$stamps")
		if [ -z "$line" ]; then
			echo "$target $p FAIL" >>"$results"
			continue
		fi
		set -- $line
		got=$5
		if [ "$got" != "$(expect $p)" ]; then
			fail "$target" $p "got $got, want $(expect $p)"
			echo "$target $p FAIL" >>"$results"
			continue
		fi
		s=$(awk -v s="$4" 'BEGIN { printf "%.3f", s }')
		echo "$target $p $s" >>"$results"
		# The host's view of the same phase, a check on the guest's clock.
		b=$(awk -v p=$p '$2 == "BEGIN" && $3 == p { print $1; exit }' "$stamps")
		echo "linux: $target $p $s s (host: $(secs $(($1 - b))) s between the lines)"
	done
	[ "$BENCH_PERF" != 1 ] || [ $target = qemu ] ||
		echo "$target: perf profile $perf_data (perf report -i $perf_data)" >>"$tmp/notes"
}

# ---- run -------------------------------------------------------------------

targets=
for target in "$@"; do
	probe "$target"
	if [ -n "$why" ]; then
		echo "$target: n/a ($why)" >>"$tmp/notes"
		for p in $phases; do
			echo "$target $p n/a" >>"$results"
		done
	else
		echo "$target: $desc" >>"$tmp/notes"
		ran=$((ran + 1))
		case $target in
		native)	run_native ;;
		*)	run_guest "$target" ;;
		esac
	fi
	targets="$targets $target"
done

# ---- report ----------------------------------------------------------------

echo
echo "tandem Linux phases: guest phases timed in the guest, boot to init on the host;" \
	"native best of 3, guests one boot each"
[ -z "$guest_note" ] || echo "  $guest_note"
sed 's/^/  /' "$tmp/notes"
echo "  logs: $logdir"
echo
awk -v targets="$targets" -v phases="$phases" '
	BEGIN {
		label["boot"] = "boot to init"
		label["sha256"] = "sha256 of 32 MiB"
		label["shell"] = "shell loop 30k"
		label["fork"] = "300 fork+exec"
		label["tmpfs"] = "touch 64 MiB tmpfs"
	}
	{ v[$1, $2] = $3 }
	function num(x) { return x ~ /^[0-9.]+$/ }
	function fmt(r) {
		return r >= 100 ? sprintf("%.0fx", r) : r >= 10 ? sprintf("%.1fx", r) : sprintf("%.2fx", r)
	}
	function cell(t, p) {
		if (t == "native" && p == "boot")
			return "-"
		return ((t, p) in v) ? v[t, p] : "n/a"
	}
	END {
		nt = split(targets, t, " ")
		np = split(phases, ph, " ")
		printf "seconds (lower is better)\n%-20s", "phase"
		for (i = 1; i <= nt; i++)
			printf " %10s", t[i]
		printf "\n"
		for (j = 1; j <= np; j++) {
			printf "%-20s", label[ph[j]]
			for (i = 1; i <= nt; i++)
				printf " %10s", cell(t[i], ph[j])
			printf "\n"
		}
		# Ratios to QEMU TCG, where QEMU ran.
		have_q = 0
		for (j = 1; j <= np; j++)
			have_q += num(v["qemu", ph[j]])
		if (!have_q) {
			printf "\n(no QEMU TCG times: no ratios)\n"
			exit
		}
		printf "\nratio to QEMU TCG (time / QEMU time; below 1 is faster than QEMU)\n%-20s", "phase"
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
				if (num(a) && num(b) && b > 0) {
					a = a > 0.001 ? a : 0.001
					r = fmt(a / b)
					lsum[t[i]] += log(a / b)
					lcnt[t[i]]++
				} else if (t[i] == "native" && ph[j] == "boot")
					r = "-"
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
		printf "\n"
		printf "(geomean over the phases both ran; (N): over N phases only)\n"
	}' "$results"

if [ $failed -ne 0 ]; then
	echo
	echo "linux-phases: FAILED (see the FAIL lines above; logs in $logdir)"
	exit 1
fi
[ $ran -gt 0 ] || exit 77
exit 0
