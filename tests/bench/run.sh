#!/bin/sh
# Time the benchmark workloads (tests/bench/workloads.c) natively, on
# tandem's engines and on QEMU TCG, and print seconds and speed ratios.
# Run by `make bench`; never part of `make check`.
#
# Each guest run boots tests/bench/bench.elf with `bench=NAME`, which runs
# that one workload and prints its checksum. A workload's time is the
# wall time of its run minus that of an empty run (`bench=none`: boot and
# exit), best of BENCH_REPEAT; the native time comes from bench-native's
# own clock. Every checksum must equal the first one seen (native's when
# it runs), or the script fails.
#
# Environment (all optional):
#   BENCH_TARGETS    default "native sw kvm kvm-r0 qemu"; sw-nojit
#                    (--accel=sw,jit=off) is another
#   BENCH_WORKLOADS  default: every workload `bench-native -l` lists
#   BENCH_REPEAT     runs per workload and target, best one counts (1)
#   BENCH_TIMEOUT    seconds one run may take before it is killed (120)
#   BENCH_CPL        ring the guest runs workloads in: 3 (default) or 0.
#                    At CPL 0 tandem's kvm engine runs them on the sw
#                    engine (or, with ring0=kvm, on kvm_pvm's slow ring 0).
#   BENCH_LINUX      1 (default): then run the Linux phases,
#                    tests/bench/linux-phases.sh, on BENCH_LINUX_TARGETS
#                    (default: BENCH_TARGETS where it is set, else
#                    "native qemu sw kvm"); 0: the workloads only. See that
#                    script for BENCH_LINUX_TIMEOUT and BENCH_PERF.
# Exit status: 0 every run agreed, 1 a run failed (status, checksum,
# timeout), 99 the benchmark is not built.
: "${top_srcdir:=.}" "${top_builddir:=.}" "${TANDEM:=$top_builddir/tandem}"
user_targets=${BENCH_TARGETS-}
: "${QEMU_SYSTEM:=$(command -v qemu-system-x86_64)}"
: "${BENCH_TARGETS:=native sw kvm kvm-r0 qemu}"
: "${BENCH_REPEAT:=1}" "${BENCH_TIMEOUT:=120}" "${BENCH_CPL:=3}"

elf=$top_builddir/tests/bench/bench.elf
native=$top_builddir/tests/bench/bench-native
for f in "$elf" "$native" "$TANDEM"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "bench: $f not built (run make)" >&2; exit 99; }
done
case $BENCH_CPL in 0|3) ;; *) echo "bench: BENCH_CPL must be 0 or 3" >&2; exit 99 ;; esac
case $BENCH_REPEAT in ''|*[!0-9]*|0) echo "bench: bad BENCH_REPEAT" >&2; exit 99 ;; esac
case $(date +%N) in ''|*[!0-9]*)
	echo "bench: date +%N gives no nanoseconds here" >&2; exit 99 ;;
esac
: "${BENCH_WORKLOADS:=$("$native" -l | awk '$1 != "none" { print $1 }')}"

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/results"	# lines: TARGET WORKLOAD SECONDS|n/a|FAIL
: >"$tmp/notes"		# lines: TARGET: text
failed=0

# ---- targets ----------------------------------------------------------

kvm_line=$("$TANDEM" info 2>&1 | awk '$1 == "kvm" { $1 = ""; sub(/^ +/, ""); print; exit }')

# Sets $why (empty: the target can run here) and $desc.
probe() {
	why='' desc=''
	case $1 in
	native)	desc="host CPU, bench-native" ;;
	sw)	desc="tandem --accel=sw" ;;
	sw-nojit)
		desc="tandem --accel=sw,jit=off"
		"$TANDEM" info 2>&1 | grep -q 'jit=' || why="this tandem has no sw jit= option" ;;
	kvm|kvm-r0)
		if [ "$1" = kvm ]; then
			desc="tandem --accel=kvm"
		else
			desc="tandem --accel=kvm,ring0=kvm"
		fi
		case $kvm_line in
		"usable "*) ;;
		*) why="KVM not usable: ${kvm_line:-not built}"; return ;;
		esac
		if [ -e /sys/module/kvm_pvm ]; then
			[ "$1" = kvm ] &&
				desc="$desc (kvm_pvm: guest ring 0 on sw, 64-bit ring 3 on KVM)"
			[ "$1" = kvm-r0 ] && desc="$desc (kvm_pvm: everything on KVM)"
		fi
		if [ "$1" = kvm-r0 ] && ! "$TANDEM" info 2>&1 | grep -q 'ring0='; then
			why="this tandem has no kvm ring0= option"
		fi ;;
	qemu)	desc="qemu-system-x86_64 -accel tcg"
		if [ -z "$QEMU_SYSTEM" ] || ! [ -x "$QEMU_SYSTEM" ]; then
			why="qemu-system-x86_64 not found (Debian: qemu-system-x86)"
		else
			v=$("$QEMU_SYSTEM" --version 2>/dev/null |
			    sed -n '1s/.*version \([^ ]*\).*/\1/p')
			[ -z "$v" ] || desc="$desc ($v)"
		fi ;;
	*)	why="unknown target" ;;
	esac
}

# Boot the bench guest with command line $2 on target $1, serial to $3.
# exec, so that the watchdog's kill reaches the VMM itself.
# shellcheck disable=SC2317 # called through timed "$@"
guest() {
	case $1 in
	sw)	exec "$TANDEM" --accel=sw --no-reboot --serial "file:$3" --kernel "$elf" --append "$2" ;;
	sw-nojit) exec "$TANDEM" --accel=sw,jit=off --no-reboot --serial "file:$3" \
			--kernel "$elf" --append "$2" ;;
	kvm)	exec "$TANDEM" --accel=kvm --no-reboot --serial "file:$3" --kernel "$elf" --append "$2" ;;
	kvm-r0)	exec "$TANDEM" --accel=kvm,ring0=kvm --no-reboot --serial "file:$3" \
			--kernel "$elf" --append "$2" ;;
	qemu)	exec "$QEMU_SYSTEM" -accel tcg -M pc -m 128 -display none -no-reboot \
			-chardev "file,id=s0,path=$3" -serial chardev:s0 -monitor none \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$elf" -append "$2" ;;
	esac
}

# timed COMMAND...: run it with a BENCH_TIMEOUT watchdog, stdout/stderr to
# $tmp/out and $tmp/err; sets $status (137: killed) and $ns (wall time).
timed() {
	t0=$(date +%s%N)
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null &
	pid=$!
	# The watchdog takes its sleep down with it when it is told to stop,
	# so no stray sleep keeps make's output pipe open.
	(
		trap 'kill $sl 2>/dev/null; exit 0' TERM
		sleep "$BENCH_TIMEOUT" & sl=$!
		wait $sl
		kill -9 $pid
	) >/dev/null 2>&1 &
	wd=$!
	{ wait $pid; } 2>/dev/null	# no "Killed" note from sh
	status=$?
	t1=$(date +%s%N)
	kill $wd 2>/dev/null
	wait $wd 2>/dev/null
	ns=$((t1 - t0))
}

# check_sum WORKLOAD SUM: the first checksum seen is the reference.
check_sum() {
	ref=$(awk -v w="$1" '$1 == w { print $2; exit }' "$tmp/sums" 2>/dev/null)
	if [ -z "$ref" ]; then
		echo "$1 $2" >>"$tmp/sums"
		return 0
	fi
	[ "$ref" = "$2" ]
}

fail() { # target workload reason
	echo "bench: FAIL: $1 $2: $3" >&2
	echo "$1: FAIL $2: $3" >>"$tmp/notes"
	echo "$1 $2 FAIL" >>"$tmp/results"
	failed=1
}

# One guest run of workload $2 on target $1, best of $3 runs: sets $best
# (nanoseconds) or returns 1 after recording why.
guest_best() {
	best=
	i=0
	while [ $i -lt "$3" ]; do
		i=$((i + 1))
		rm -f "$tmp/serial"
		timed guest "$1" "bench=$2 cpl=$BENCH_CPL" "$tmp/serial"
		got=$(tr -d '\r' <"$tmp/serial" 2>/dev/null)
		if [ $status -eq 137 ]; then
			fail "$1" "$2" "timed out after ${BENCH_TIMEOUT}s"
			return 1
		fi
		sum=$(printf '%s\n' "$got" |
		      sed -n "s/^bench: $2 checksum \(0x[0-9a-f]*\) cpl $BENCH_CPL\$/\1/p")
		if [ $status -ne 1 ] || [ -z "$sum" ]; then
			fail "$1" "$2" "exit status $status (want 1), serial: $(printf '%s' "$got" |
				head -c 200 | tr '\n' '|'), stderr: $(grep -v '^tandem: ' "$tmp/err" |
				head -c 200 | tr '\n' '|')"
			return 1
		fi
		if ! check_sum "$2" "$sum"; then
			fail "$1" "$2" "checksum $sum, want $(awk -v w="$2" '$1 == w { print $2 }' "$tmp/sums")"
			return 1
		fi
		if [ -z "$best" ] || [ $ns -lt "$best" ]; then
			best=$ns
		fi
	done
	return 0
}

secs() { awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'; }

run_native() {
	# Native runs are cheap: always best of at least 3.
	n=$BENCH_REPEAT
	[ "$n" -ge 3 ] || n=3
	# shellcheck disable=SC2086 # one argument per workload
	timed "$native" -r "$n" $BENCH_WORKLOADS
	if [ $status -ne 0 ]; then
		for w in $BENCH_WORKLOADS; do
			fail native "$w" "bench-native exit status $status: $(head -c 200 "$tmp/err")"
		done
		return
	fi
	while read -r w t sum; do
		t=$(awk -v t="$t" 'BEGIN { printf "%.3f", t }')
		if check_sum "$w" "$sum"; then
			echo "native $w $t" >>"$tmp/results"
			echo "bench: native $w $t s"
		else
			fail native "$w" "checksum $sum differs"
		fi
	done <"$tmp/out"
}

run_guest() {
	# Startup overhead: at least 3 empty runs, they are cheap.
	n=$BENCH_REPEAT
	[ "$n" -ge 3 ] || n=3
	if ! guest_best "$1" none "$n"; then
		for w in $BENCH_WORKLOADS; do
			echo "$1 $w FAIL" >>"$tmp/results"
		done
		return
	fi
	boot=$best
	echo "$1 boot $(secs "$boot")" >>"$tmp/results"
	echo "bench: $1 boot (bench=none) $(secs "$boot") s"
	for w in $BENCH_WORKLOADS; do
		guest_best "$1" "$w" "$BENCH_REPEAT" || continue
		t=$((best - boot))
		# Below timer noise: keep the ratio finite and visibly tiny.
		[ $t -gt 1000000 ] || t=1000000
		echo "$1 $w $(secs "$t")" >>"$tmp/results"
		echo "bench: $1 $w $(secs "$t") s (run $(secs "$best") s)"
	done
}

# (sh has no locals: the functions above use t, w, n, i; this loop does not.)
targets=
for target in $BENCH_TARGETS; do
	probe "$target"
	if [ -n "$why" ]; then
		echo "$target: n/a ($why)" >>"$tmp/notes"
		for w in $BENCH_WORKLOADS; do
			echo "$target $w n/a" >>"$tmp/results"
		done
	else
		echo "$target: $desc" >>"$tmp/notes"
		case $target in
		native)	run_native ;;
		*)	run_guest "$target" ;;
		esac
	fi
	targets="$targets $target"
done

# ---- report -----------------------------------------------------------

echo
echo "tandem benchmark: workloads at CPL $BENCH_CPL, best of $BENCH_REPEAT," \
	"guest times minus the boot time of an empty run"
sed 's/^/  /' "$tmp/notes"
echo
awk -v targets="$targets" -v workloads="$BENCH_WORKLOADS" '
	{ v[$1, $2] = $3 }
	function num(x) { return x ~ /^[0-9.]+$/ }
	# Ratio of two cells, "n/a" when either is missing.
	function ratio(a, b, w) {
		if (!num(v[a, w]) || !num(v[b, w]) || v[b, w] == 0)
			return "n/a"
		r = v[a, w] / v[b, w]
		lsum[a, b] += log(r)
		lcnt[a, b]++
		return fmt(r)
	}
	function fmt(r) {
		return r >= 100 ? sprintf("%.0fx", r) : r >= 10 ? sprintf("%.1fx", r) : sprintf("%.2fx", r)
	}
	END {
		nt = split(targets, t, " ")
		nw = split(workloads, wl, " ")
		printf "seconds (lower is better)\n%-10s", "workload"
		for (i = 1; i <= nt; i++)
			printf " %10s", t[i]
		printf "\n"
		for (j = 1; j <= nw; j++) {
			printf "%-10s", wl[j]
			for (i = 1; i <= nt; i++)
				printf " %10s", ((t[i], wl[j]) in v) ? v[t[i], wl[j]] : "n/a"
			printf "\n"
		}
		printf "%-10s", "(boot)"
		for (i = 1; i <= nt; i++)
			printf " %10s", ((t[i], "boot") in v) ? v[t[i], "boot"] : "-"
		printf "\n\n"

		# The ratios asked of the benchmark, where both sides ran.
		np = 0
		n = split("sw qemu sw-nojit qemu sw native kvm native kvm-r0 native qemu native", p, " ")
		for (k = 1; k + 1 <= n; k += 2) {
			have_a = have_b = 0
			for (i = 1; i <= nt; i++) {
				have_a += t[i] == p[k]
				have_b += t[i] == p[k + 1]
			}
			if (have_a && have_b) {
				np++
				pa[np] = p[k]
				pb[np] = p[k + 1]
			}
		}
		if (!np)
			exit
		printf "ratios (time / time: how many times slower)\n%-10s", "workload"
		for (k = 1; k <= np; k++)
			printf " %13s", pa[k] "/" pb[k]
		printf "\n"
		for (j = 1; j <= nw; j++) {
			printf "%-10s", wl[j]
			for (k = 1; k <= np; k++)
				printf " %13s", ratio(pa[k], pb[k], wl[j])
			printf "\n"
		}
		printf "%-10s", "geomean"
		for (k = 1; k <= np; k++) {
			g = "n/a"
			if (lcnt[pa[k], pb[k]])
				g = fmt(exp(lsum[pa[k], pb[k]] / lcnt[pa[k], pb[k]]))
			printf " %13s", g
		}
		printf "\n"
	}' "$tmp/results"

# ---- the Linux phases -------------------------------------------------

if [ "${BENCH_LINUX:-1}" != 0 ]; then
	echo
	: "${BENCH_LINUX_TARGETS:=${user_targets:-native qemu sw kvm}}"
	# Targets only the workloads know (none today) are left out.
	lt=
	for target in $BENCH_LINUX_TARGETS; do
		case $target in
		native | qemu | sw | sw-nojit | kvm | kvm-r0) lt="$lt $target" ;;
		*) echo "bench: no Linux phases for target $target" ;;
		esac
	done
	if [ -n "$lt" ]; then
		export top_srcdir top_builddir TANDEM QEMU_SYSTEM
		# shellcheck disable=SC2086 # one argument per target
		sh "$top_srcdir/tests/bench/linux-phases.sh" $lt
		case $? in
		0 | 77) ;;
		*) failed=1 ;;
		esac
	fi
fi

if [ $failed -ne 0 ]; then
	echo
	echo "bench: FAILED (see the FAIL lines above)"
	exit 1
fi
exit 0
