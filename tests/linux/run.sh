#!/bin/sh
# Boot Debian's cloud kernel with a busybox initramfs on one or more engines
# and check what it prints on the serial console.
#
#   run.sh [OPTIONS] ENGINE...        ENGINE: sw, sw-nojit, sw-check, kvm, qemu,
#                                     sw-switch (starts on sw and is moved between
#                                     sw and kvm through QMP, LINUX_SWITCHES times,
#                                     default 100, while it runs), sw-snap (snapshot
#                                     on sw once init has printed its first marker,
#                                     restored on kvm where usable, else sw)
#   run.sh --shell [OPTIONS] ENGINE   interactive shell on the console
#
# Options:
#   --mode test|reboot|both|smp|v3  which boots (default both: the scripted test,
#                             which ends in poweroff -f, then reboot -f; smp:
#                             CPUs online and parallel jobs; v3: the x86-64-v3
#                             program /bin/v3prog, see init.sh and linux-v3.sh)
#   --cpu MODEL               tandem's -cpu MODEL (QEMU: -cpu MODEL too)
#   --smp N                   N vCPUs (default 1)
#   --keep DIR                build the initrd and keep the logs in DIR
#   --verbose                 boot without "quiet" (whole kernel log)
#   --append PARAMS           more kernel parameters
#
# Per engine and boot: the serial log must match tests/linux/MODE.expected
# and the engine must exit with status 0 (poweroff, and reboot under
# --no-reboot, both end tandem with 0), within a timeout. The timeouts
# (seconds: sw and kvm 300/180, qemu 120/60 for test/reboot) are multiplied
# by LINUX_TIMEOUT_SCALE (default 1; 4 when tandem is built with ASan).
#
# Environment: TANDEM, top_srcdir, top_builddir (as set by make check),
# QEMU_SYSTEM, LINUX_KERNEL (a vmlinuz to use instead of fetching Debian's),
# TANDEM_CACHE (see fetch-kernel.sh).
#
# Exit status: 0 every engine asked for passed (or was skipped); 1 one
# failed; 77 nothing ran (no kernel, no busybox, no engine usable here);
# 99 bad usage.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/../..}" "${top_builddir:=.}" "${TANDEM:=$top_builddir/tandem}"
: "${LINUX_TIMEOUT_SCALE:=}"
forks=200

usage() { echo "usage: $0 [--shell] [--mode test|reboot|both|smp] [--smp N] [--keep DIR] [--verbose]" \
	"[--append PARAMS] ENGINE... (sw, sw-nojit, sw-check, kvm, qemu)" >&2; exit 99; }

shell=0 modes="test reboot" keep= quiet=quiet extra= smp=1 cpu=
while [ $# -gt 0 ]; do
	case $1 in
	--shell) shell=1 ;;
	--mode)
		[ $# -ge 2 ] || usage
		case $2 in test | reboot | smp | v3) modes=$2 ;; both) modes="test reboot" ;; *) usage ;; esac
		shift ;;
	--smp) [ $# -ge 2 ] || usage; smp=$2; shift ;;
	--cpu) [ $# -ge 2 ] || usage; cpu="-cpu $2"; shift ;;
	--keep) [ $# -ge 2 ] || usage; keep=$2; shift ;;
	--verbose) quiet= ;;
	--append) [ $# -ge 2 ] || usage; extra="$extra $2"; shift ;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 1 ] || usage
for e in "$@"; do
	case $e in sw | sw-nojit | sw-check | sw-switch | sw-snap | kvm | qemu) ;; *) usage ;; esac
done
[ $shell = 0 ] || [ $# = 1 ] || usage

# --- what every boot needs: a kernel, an initramfs, a work directory ------
if [ -n "$LINUX_KERNEL" ]; then
	kernel=$LINUX_KERNEL
	[ -f "$kernel" ] || { echo "LINUX_KERNEL=$kernel: no such file" >&2; exit 99; }
else
	kernel=$(sh "$here/fetch-kernel.sh")
	rc=$?
	if [ $rc = 77 ]; then echo "SKIP: no Linux kernel to boot (see the line above)"; exit 77; fi
	[ $rc = 0 ] && [ -f "$kernel" ] || { echo "fetch-kernel.sh failed ($rc)"; exit 99; }
fi
case ${kernel##*/} in
vmlinuz-*) krel=$(echo "${kernel##*/vmlinuz-}" | sed 's/[.]/\\./g') ;;
*) krel='[^ ]+' ;;
esac

if [ -n "$keep" ]; then
	mkdir -p "$keep" || exit 99
	work=$(cd "$keep" && pwd)
else
	work=$(mktemp -d) || exit 99
	trap 'rm -rf "$work"' EXIT
	trap 'exit 130' INT TERM
fi
SRCDIR=$here sh "$here/mkinitrd.sh" "$work/initrd.cpio.gz"
rc=$?
if [ $rc = 77 ]; then echo "SKIP: cannot build the initramfs (see the line above)"; exit 77; fi
[ $rc = 0 ] || { echo "mkinitrd.sh failed ($rc)"; exit 99; }
initrd=$work/initrd.cpio.gz
. "$work/initrd.vars"

qemu=${QEMU_SYSTEM:-$(command -v qemu-system-x86_64)}
if [ -z "$LINUX_TIMEOUT_SCALE" ]; then
	LINUX_TIMEOUT_SCALE=1
	# The interpreter under ASan/UBSan runs several times slower.
	if [ -x "$TANDEM" ] && ldd "$TANDEM" 2>/dev/null | grep -q libasan; then
		LINUX_TIMEOUT_SCALE=4
		echo "tandem is built with sanitizers: timeouts x4"
	fi
fi

# Why ENGINE cannot run here (empty when it can).
unusable() {
	case $1 in
	qemu)
		[ -n "$qemu" ] && [ -x "$qemu" ] && return
		echo "qemu-system-x86_64 not found (Debian: qemu-system-x86)" ;;
	*)
		if ! [ -x "$TANDEM" ]; then echo "no tandem binary at $TANDEM (set TANDEM)"; return; fi
		e=${1%-nojit}
		e=${e%-check}
		[ "$e" = sw-snap ] && e=sw
		if [ "$e" = sw-switch ]; then
			why=$(unusable kvm)
			[ -z "$why" ] || { echo "$why (sw-switch needs both engines)"; return; }
			e=sw
		fi
		line=$("$TANDEM" info 2>&1 | awk -v e="$e" '$1 == e { print }')
		case $line in
		*" usable "*) ;;
		*) echo "engine $e not usable here: ${line:-not in 'tandem info'}" ;;
		esac ;;
	esac
}

# The engine's command line for kernel parameters $1, serial back end $2
# (tandem's spelling: stdio or file:PATH).
engine_cmd() {
	case $engine in
	qemu)
		case $2 in
		stdio) s="-nographic -serial mon:stdio" ;;
		*) s="-display none -monitor none -serial '$2'" ;;
		esac
		echo "'$qemu' -accel tcg -M pc -m 512 -smp $smp -no-reboot $cpu $s -device pci-testdev -kernel '$kernel'" \
			"-initrd '$initrd' -append '$1'" ;;
	*)
		case $engine in
		sw-nojit) accel=sw,jit=off ;;
		sw-check) accel="sw,jit=check --stats" ;;	# every block replayed and compared
		sw-switch) accel="sw --stats -S -qmp unix:$work/qmp.sock,server,wait=off" ;;
		sw-snap) accel="sw -S -qmp unix:$work/qmp.sock,server,wait=off" ;;
		*) accel=$engine ;;
		esac
		echo "'$TANDEM' --accel=$accel -m 512M --smp $smp $cpu --no-reboot --serial '$2' -device pci-testdev" \
			"--kernel '$kernel' --initrd '$initrd' --append '$1'" ;;
	esac
}

cmdline() { # MODE
	c="console=ttyS0 $quiet panic=-1 tandem.forks=$forks"
	case $1 in
	reboot) c="$c tandem.test=reboot" ;;
	smp) c="$c tandem.test=smp" ;;
	v3) c="$c tandem.test=v3" ;;
	shell) c="$c tandem.shell=1" ;;
	esac
	echo "$c$extra" | tr -s ' '
}

if [ $shell = 1 ]; then
	engine=$1
	why=$(unusable "$engine")
	[ -z "$why" ] || { echo "$engine: $why"; exit 77; }
	echo "Booting a shell on $engine; 'poweroff -f' (or exit) ends it, Ctrl-A x kills it."
	cmd=$(engine_cmd "$(cmdline shell)" stdio)
	echo "$cmd"
	eval "$cmd"
	exit $?
fi

# --- one boot ---------------------------------------------------------
# Boot $engine in mode $1 with timeout $2 seconds. Sets: b_status, b_wall,
# b_init and b_last (uptimes of the init and last markers, or "-"),
# b_fallbacks (kvm: instructions KVM handed to the sw engine), b_ring0
# (kvm: what ran on sw, from the exit line), and b_why
# (the problems found; empty when the boot passed).
boot() {
	mode=$1 limit=$2
	log=$work/$engine-$mode.serial err=$work/$engine-$mode.stderr
	rm -f "$log"
	: >"$log"
	cmd=$(engine_cmd "$(cmdline "$mode")" "file:$log")
	echo "$cmd" >"$work/$engine-$mode.cmd"
	t0=$(date +%s.%N)
	swpid=
	if [ "$engine" = sw-switch ]; then
		rm -f "$work/qmp.sock"
		python3 "$top_srcdir/tests/switcher.py" "$work/qmp.sock" "${LINUX_SWITCHES:-100}" \
			0.02 >"$work/$engine-$mode.switches" 2>&1 &
		swpid=$!
	fi
	if [ "$engine" = sw-snap ]; then
		rm -f "$work/qmp.sock" "$work/vm.snap"
		python3 "$top_srcdir/tests/snapper.py" "$work/qmp.sock" "$log" "TANDEM-LINUX: init" \
			"$work/vm.snap" >"$work/$engine-$mode.snapper" 2>&1 &
		swpid=$!
	fi
	eval "timeout -k 10 $limit $cmd" </dev/null >"$work/$engine-$mode.stdout" 2>"$err"
	b_status=$?
	if [ "$engine" = sw-snap ]; then
		# The rest of the boot from the snapshot, on the other engine where there is one.
		wait "$swpid"
		swpid=
		to=sw
		[ -z "$(unusable kvm)" ] && to=kvm
		if [ -s "$work/vm.snap" ]; then
			cmd2=$(echo "$cmd" | sed "s|--accel=sw -S -qmp [^ ]*|--accel=$to -incoming file:$work/vm.snap|; s|--serial 'file:$log'|--serial 'file:$log.2'|")
			echo "$cmd2" >>"$work/$engine-$mode.cmd"
			eval "timeout -k 10 $limit $cmd2" </dev/null >>"$work/$engine-$mode.stdout" 2>>"$err"
			b_status=$?
			cat "$log.2" >>"$log"
		fi
		b_snap=", $(tail -n 1 "$work/$engine-$mode.snapper"), restored on $to"
		[ -s "$work/vm.snap" ] || b_snap_why="no snapshot: $(tail -n 1 "$work/$engine-$mode.snapper")"
	fi
	t1=$(date +%s.%N)
	b_wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

	# Normalise: no carriage returns, no " @UPTIME" on the marker lines.
	tr -d '\r' <"$log" | sed 's/^\(TANDEM-LINUX: .*\) @[0-9.]*$/\1/' >"$log.norm"
	b_init=$(sed -n 's/^TANDEM-LINUX: init @\([0-9.]*\)\r*$/\1/p' "$log" | head -n 1)
	b_last=$(sed -n 's/^TANDEM-LINUX: .* @\([0-9.]*\)\r*$/\1/p' "$log" | tail -n 1)
	b_fallbacks=$(sed -n 's/^tandem: kvm: \([0-9]*\) instruction(s) KVM could not.*/\1/p' \
		"$err" | tail -n 1)
	: "${b_init:=-}" "${b_last:=-}" "${b_fallbacks:=0}"
	# kvm_pvm: how much ran on the software CPU (kvm.c's exit line).
	b_ring0=$(sed -n 's/^tandem: kvm: ring 0 ran on the \(.*\)$/; ring 0 on \1/p' "$err" | tail -n 1)

	b_why=${b_snap_why:-}
	b_snap_why=
	b_check=${b_snap:-}
	b_snap=
	if [ "$engine" = sw-check ]; then
		b_check=$(sed -n 's/^sw: translator: jit=check: \([0-9]*\) blocks compared with the interpreter, \([0-9]*\) mismatches.*/\1 \2/p' "$err")
		set -- $b_check
		if [ -z "$b_check" ]; then
			b_why="no jit=check counts on stderr"
		elif [ "$2" != 0 ]; then
			b_why="jit=check: $2 of $1 blocks differ from the interpreter ($(grep -c 'jit=check: block' "$err") shown on stderr)"
		fi
		b_check=${1:+, jit=check: $1 blocks compared, ${2:-?} mismatches}
	fi
	if [ -n "$swpid" ]; then
		wait "$swpid"
		sw_rc=$?
		b_check=", $(tail -n 1 "$work/$engine-$mode.switches") (QMP x-switch-accel)"
		# The reboot boot is short: the guest may end before all switches.
		[ "$mode" = reboot ] || [ $sw_rc = 0 ] ||
			b_why="switcher: $(tr '\n' ' ' <"$work/$engine-$mode.switches")"
	fi
	case $b_status in
	0) ;;
	124 | 137) b_why="timed out after ${limit}s (status $b_status)" ;;
	2) b_why="exit status 2: triple fault" ;;
	3) b_why="exit status 3: the engine could not go on" ;;
	4) b_why="exit status 4: guest halted with interrupts disabled" ;;
	*) b_why="exit status $b_status (want 0)" ;;
	esac

	sed -e "s/@KREL@/$krel/g" -e "s/@BLOB_SHA256@/$BLOB_SHA256/g" \
	    -e "s/@SEQ_COUNT@/$SEQ_COUNT/g" -e "s/@SEQ_SHA256@/$SEQ_SHA256/g" \
	    -e "s/@V3_SHA256@/${V3_SHA256:-none}/g" -e "s/@FORKS@/$forks/g" -e "s/@FORK_SUM@/$((3 * forks * (forks - 1) / 2 + forks))/g" \
	    "$here/$mode.expected" | grep -v -e '^#' -e '^$' >"$work/$mode.patterns"
	at=0
	while IFS= read -r pat; do
		case $pat in
		!*)
			hit=$(grep -n -E -m 1 -- "${pat#!}" "$log.norm")
			[ -z "$hit" ] || b_why="$b_why${b_why:+; }unexpected line $hit" ;;
		*)
			n=$(tail -n +$((at + 1)) "$log.norm" | grep -n -E -m 1 -- "$pat" | cut -d: -f1)
			if [ -z "$n" ]; then
				b_why="$b_why${b_why:+; }missing (after log line $at): $pat"
				break   # the rest would only repeat this
			fi
			at=$((at + n)) ;;
		esac
	done <"$work/$mode.patterns"

	# The guest's wall clock comes from the RTC: within a day of ours
	# (whatever the time zone the RTC was set in).
	epoch=$(sed -n 's/^TANDEM-LINUX: date epoch=\([0-9]*\)$/\1/p' "$log.norm")
	if [ -n "$epoch" ]; then
		skew=$(($(date +%s) - epoch))
		[ ${skew#-} -le 86400 ] ||
			b_why="$b_why${b_why:+; }guest clock is ${skew}s behind the host's (RTC)"
	fi
}

diagnose() {
	echo "  command: $(cat "$work/$engine-$mode.cmd")"
	echo "  reached: $(grep -a '^TANDEM-LINUX: ' "$log" | tail -n 1 | tr -d '\r')" \
		"${b_init:+(init at ${b_init}s)}"
	echo "  --- last 30 lines of the serial log ($(wc -l <"$log") lines):"
	tail -n 30 "$log" | tr -d '\r' | sed 's/^/  | /'
	echo "  --- stderr ($(wc -l <"$err") lines, last 30):"
	tail -n 30 "$err" | sed 's/^/  | /'
}

timeout_for() { # ENGINE MODE
	# kvm runs the kernel on the sw engine where KVM is kvm_pvm: as slow.
	case $1-$2 in
	sw-check-test) t=900 ;; sw-check-reboot) t=300 ;;
	sw*-test | kvm-test | sw*-smp | kvm-smp | sw*-v3 | kvm-v3) t=300 ;; sw*-reboot | kvm-reboot) t=180 ;;
	*-test) t=120 ;; *) t=60 ;;
	esac
	awk -v t=$t -v s="$LINUX_TIMEOUT_SCALE" 'BEGIN { printf "%d", t * s }'
}

pass=0 fail=0 skip=0
for engine in "$@"; do
	why=$(unusable "$engine")
	if [ -n "$why" ]; then
		echo "SKIP: linux on $engine: $why"
		skip=$((skip + 1))
		continue
	fi
	summary= ok=1
	for mode in $modes; do
		boot "$mode" "$(timeout_for "$engine" "$mode")"
		s="$mode: init at ${b_init}s, last marker at ${b_last}s (guest uptime), wall ${b_wall}s"
		[ "$engine" != kvm ] || s="$s, $b_fallbacks instruction(s) KVM could not emulate$b_ring0"
		s="$s$b_check"
		if [ -n "$b_why" ]; then
			echo "FAIL: linux $mode on $engine: $b_why"
			echo "  $s"
			diagnose
			ok=0
			break   # a kernel that fails the test will not reboot any better
		fi
		summary="$summary${summary:+; }$s"
	done
	if [ $ok = 1 ]; then
		echo "PASS: linux on $engine: $summary"
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
[ -z "$keep" ] || echo "logs and initrd kept in $work"
echo "linux: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ] || exit 1
[ $pass -gt 0 ] || exit 77
exit 0
