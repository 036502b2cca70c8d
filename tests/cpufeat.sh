#!/bin/sh
# The feature probe (tests/guests/cpufeat.c) on every engine: each run has
# 0 failed checks, and every engine prints the same lines for the same CPU
# model (CPUID, which features it tried, MXCSR across the hand-overs).
# Default model on sw (jit on, off, check) and kvm; -cpu max on each; Nehalem on sw.
: "${top_builddir:=.}" "${TANDEM:=./tandem}"
elf=$top_builddir/tests/guests/cpufeat.elf
[ -f "$elf" ] || { echo "SKIP: $elf not built"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0

# run NAME ACCEL [TANDEM ARGS...]: the probe's serial output in $tmp/NAME
run() {
	name=$1 accel=$2
	shift 2
	timeout 120 "$TANDEM" -q --accel="$accel" --no-reboot "$@" --serial "file:$tmp/$name" \
		--kernel "$elf" </dev/null >"$tmp/$name.err" 2>&1
	status=$?
	if [ $status -eq 1 ] && grep -q '^cpufeat: [0-9]* checks, 0 failed' "$tmp/$name"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $name ($accel $*): status $status"
		grep -v '^ok - ' "$tmp/$name" | sed 's/^/  /' | head -40
		sed 's/^/  stderr: /' "$tmp/$name.err" | head -10
		fail=$((fail + 1))
	fi
}

same() { # reference, other
	if cmp -s "$tmp/$1" "$tmp/$2"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $2 differs from $1:"
		diff -u "$tmp/$1" "$tmp/$2" | head -30
		fail=$((fail + 1))
	fi
}

run sw sw
run sw-nojit sw,jit=off
run sw-check sw,jit=check
same sw sw-nojit
same sw sw-check
why=$("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }')
case $why in
*" usable "*)
	run kvm kvm
	same sw kvm
	run max-kvm kvm -cpu max
	# A live switch to an engine that lacks the model's features is refused.
	if command -v python3 >/dev/null 2>&1; then
		"$TANDEM" -q --accel=sw -cpu max -qmp "unix:$tmp/q.sock,server,wait=off" \
			--serial none --kernel "$top_builddir/tests/guests/wait.elf" </dev/null \
			>"$tmp/q.err" 2>&1 &
		python3 - "$tmp/q.sock" >"$tmp/q.out" 2>&1 <<'PY'
import json, socket, sys, time
for i in range(100):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        break
    except OSError:
        time.sleep(0.1)
f = s.makefile("rwb")
f.readline()
def cmd(n, a=None):
    m = {"execute": n}
    if a:
        m["arguments"] = a
    f.write((json.dumps(m) + "\n").encode())
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            return r
cmd("qmp_capabilities")
print(json.dumps(cmd("x-switch-accel", {"accel": "kvm"})))
cmd("quit")
PY
		wait
		grep -q "cannot provide here" "$tmp/q.out" && pass=$((pass + 1)) ||
			{ echo "FAIL: switching -cpu max to kvm: $(cat "$tmp/q.out")"; fail=$((fail + 1)); }
	fi ;;
*)	echo "NOTE: KVM engine not usable here: ${why:-not built}; sw only" ;;
esac
run max-sw sw -cpu max
run max-nojit sw,jit=off -cpu max
run max-check sw,jit=check -cpu max
same max-sw max-nojit
same max-sw max-check
for f in smep smap umip pku pks rdtscp rdpid x2apic tsc-deadline pmu; do
	grep -q "^ok - $f: " "$tmp/max-sw" && pass=$((pass + 1)) ||
		{ echo "FAIL: -cpu max on sw did not try $f"; fail=$((fail + 1)); }
done
run max-icount sw -cpu max --icount shift=0
run nehalem sw -cpu Nehalem
grep -q '^cpuid 1: eax 000106a3' "$tmp/nehalem" && grep -q 'ok - sse4.2: crc32' "$tmp/nehalem" &&
	pass=$((pass + 1)) ||
	{ echo "FAIL: -cpu Nehalem: not family 6 model 26 with SSE4.2"; fail=$((fail + 1)); }
run nehalem-minus sw -cpu Nehalem,-sse4.2,-popcnt
grep -q -- '-- sse4.2: not advertised' "$tmp/nehalem-minus" && pass=$((pass + 1)) ||
	{ echo "FAIL: -cpu Nehalem,-sse4.2 still advertises it"; fail=$((fail + 1)); }
run epyc sw -cpu EPYC
run epyc-nojit sw,jit=off -cpu EPYC
same epyc epyc-nojit
grep -q '^ok - AMD legacy counters' "$tmp/epyc" && pass=$((pass + 1)) ||
	{ echo "FAIL: -cpu EPYC: the AMD counters were not tried"; fail=$((fail + 1)); }
echo "cpufeat: $pass passed, $fail failed"
[ $fail -eq 0 ]
