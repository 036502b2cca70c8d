#!/bin/sh
# Snapshots (QMP migrate / -incoming file:) of the whole machine:
#  - under -icount, a run snapshotted midway and restored in a new process
#    prints, before plus after, exactly what an uninterrupted run prints;
#  - a workload snapshotted on one engine and restored on the other (both
#    ways, and on the same engine) finishes with the right checksum;
#  - corrupt, truncated, mismatched, newer-format and foreign files are
#    refused with one line and status 1, never a crash.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${TANDEM:=./tandem}"
clock=$top_builddir/tests/guests/clock.elf
bench=$top_builddir/tests/bench/bench.elf
[ -f "$clock" ] && [ -f "$bench" ] || { echo "SKIP: guests not built"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

engines=sw
case $("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }') in
*" usable "*) engines="sw kvm" ;;
*) echo "NOTE: KVM engine not usable here: sw only" ;;
esac

# snap ENGINE DELAY FILE ARGS...: start paused, run DELAY seconds, migrate
# to FILE (the VM stays stopped), quit. The guest's output so far goes to
# $tmp/before.
snap() {
	e=$1 delay=$2 file=$3
	shift 3
	rm -f "$tmp/q.sock" "$file"
	"$TANDEM" --accel=$e --watchdog=0 -S -qmp "unix:$tmp/q.sock,server,wait=off" "$@" \
		>"$tmp/before" 2>"$tmp/snap.err" &
	pid=$!
	python3 - "$tmp/q.sock" "$delay" "$file" <<'PY'
import json, os, socket, sys, time
path, delay, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
for _ in range(400):
    if os.path.exists(path):
        break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile("rwb")
def cmd(c, a=None):
    m = {"execute": c}
    if a: m["arguments"] = a
    f.write((json.dumps(m) + "\n").encode()); f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            return r
f.readline(); cmd("qmp_capabilities"); cmd("cont"); time.sleep(delay)
r = cmd("migrate", {"uri": "file:" + out})
if "error" in r:
    print("migrate:", r["error"]["desc"])
cmd("quit")
PY
	wait $pid
}

# 1. Deterministic: before + after == uninterrupted. The snapshot is taken
# on the interpreter (jit=off: translated, the guest is done within 0.5 s),
# the restored run and the uninterrupted one are translated.
"$TANDEM" -icount shift=0 -kernel "$clock" -append long >"$tmp/whole" 2>/dev/null
snap sw,jit=off 0.5 "$tmp/c.snap" -icount shift=0 -kernel "$clock" -append long
if [ -s "$tmp/c.snap" ]; then
	"$TANDEM" -icount shift=0 -kernel "$clock" -append long -incoming "file:$tmp/c.snap" \
		>"$tmp/after" 2>"$tmp/after.err"
	cat "$tmp/before" "$tmp/after" >"$tmp/joined"
	if cmp -s "$tmp/whole" "$tmp/joined"; then
		ok "-icount: $(wc -l <"$tmp/before") lines before the snapshot, $(wc -l <"$tmp/after")" \
		   "after the restore, together the uninterrupted run's $(wc -l <"$tmp/whole")"
	else
		bad "-icount: restored run differs"; diff "$tmp/whole" "$tmp/joined" | head -6
		cat "$tmp/after.err"
	fi
else
	bad "-icount: no snapshot taken: $(cat "$tmp/snap.err")"
fi

# 2. Across engines: a workload's checksum after a restore on either engine.
want=$("$TANDEM" --accel=sw --kernel "$bench" --append "bench=sort" 2>/dev/null |
	sed -n 's/.*checksum \(0x[0-9a-f]*\).*/\1/p')
for from in $engines; do
	for to in $engines; do
		snap $from 0.15 "$tmp/b.snap" --kernel "$bench" --append "bench=sort"
		if ! [ -s "$tmp/b.snap" ]; then
			if grep -q checksum "$tmp/before"; then
				echo "NOTE: $from: the workload ended before the snapshot"
				continue
			fi
			bad "$from: no snapshot: $(cat "$tmp/snap.err")"; continue
		fi
		got=$("$TANDEM" --accel=$to --kernel "$bench" --append "bench=sort" \
			-incoming "file:$tmp/b.snap" 2>"$tmp/r.err" |
			sed -n 's/.*checksum \(0x[0-9a-f]*\).*/\1/p')
		if [ "$got" = "$want" ]; then
			ok "snapshot on $from, restored on $to: checksum $got" \
			   "($(($(stat -c %s "$tmp/b.snap") / 1024)) KiB file)"
		else
			bad "snapshot on $from, restored on $to: checksum '${got}', want $want"
			tail -3 "$tmp/r.err"
		fi
	done
done

# 3. Refusals: one line, status 1.
snap sw 0.1 "$tmp/g.snap" -kernel "$top_builddir/tests/guests/wait.elf"
refuse() { # WHAT FILE ARGS...
	what=$1 file=$2
	shift 2
	out=$("$TANDEM" --accel=sw --watchdog=0 -kernel "$top_builddir/tests/guests/wait.elf" \
		-incoming "file:$file" "$@" 2>&1 </dev/null)
	rc=$?
	n=$(printf '%s\n' "$out" | grep -v '^tandem: engine ' | grep -c .)
	if [ $rc = 1 ] && [ "$n" = 1 ]; then
		ok "refused, $what: $(printf '%s\n' "$out" | grep -v '^tandem: engine ' | cut -c1-100)"
	else
		bad "$what: status $rc: $out"
	fi
}
if [ -s "$tmp/g.snap" ]; then
	size=$(stat -c %s "$tmp/g.snap")
	head -c $((size / 2)) "$tmp/g.snap" >"$tmp/trunc.snap"
	refuse "truncated" "$tmp/trunc.snap"
	cp "$tmp/g.snap" "$tmp/flip.snap"
	printf '\377' | dd of="$tmp/flip.snap" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
	refuse "a flipped byte" "$tmp/flip.snap"
	cp "$tmp/g.snap" "$tmp/new.snap"
	printf '\011' | dd of="$tmp/new.snap" bs=1 seek=8 conv=notrunc 2>/dev/null
	refuse "a newer format" "$tmp/new.snap"
	refuse "another RAM size" "$tmp/g.snap" -m 256
	refuse "another device list" "$tmp/g.snap" -device pci-testdev
	head -c 100000 /dev/urandom >"$tmp/junk.snap"
	refuse "random bytes" "$tmp/junk.snap"
	: >"$tmp/empty.snap"
	refuse "an empty file" "$tmp/empty.snap"
	refuse "a missing file" "$tmp/nonexistent.snap"
else
	bad "no snapshot of the wait guest: $(cat "$tmp/snap.err")"
fi
exit $fail
