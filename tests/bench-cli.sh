#!/bin/sh
# `tandem bench` and `tandem bench --nano` at the tiny size, one run each:
# the checksums and the shape of the table and of the JSON, never times.
# Bad options: one line on stderr, exit status 1.
: "${TANDEM:=./tandem}" "${top_builddir:=.}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0

bad() { echo "FAIL: $*"; fail=1; }

# ---- bad options ------------------------------------------------------

expect_error() { # description, expected-substring, args...
	what=$1 want=$2
	shift 2
	"$TANDEM" bench "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	lines=$(wc -l <"$tmp/err")
	if [ $status -ne 1 ] || [ "$lines" -ne 1 ] || ! grep -q "^tandem: bench: .*$want" "$tmp/err"; then
		bad "$what: status $status, $lines lines on stderr, wanted '$want':"
		sed 's/^/  /' "$tmp/err"
	fi
}
expect_error "unknown engine" "unknown engine 'frob'" --accel=sw,frob
expect_error "empty engine list" "--accel needs a list" --accel=
expect_error "empty engine name" "unknown engine ''" --accel=sw,,kvm
expect_error "repeat 0" "invalid --repeat '0'" --repeat 0
expect_error "repeat word" "invalid --repeat 'x'" --repeat x
expect_error "repeat negative" "invalid --repeat '-1'" --repeat=-1
expect_error "repeat huge" "invalid --repeat" --repeat 99999999999
expect_error "unknown size" "unknown --size 'huge'" --size huge
expect_error "bad timeout" "invalid --timeout" --timeout 0
expect_error "missing kernel" "cannot read --kernel" --kernel "$tmp/nothing"
expect_error "stray argument" "unexpected argument 'extra'" extra
expect_error "unknown option" "Unknown option" --frobnicate
# A guest that does not speak the protocol: no workloads to run.
expect_error "not a bench guest" "lists no workloads" --size tiny --accel=sw \
	--kernel "$top_builddir/tests/guests/hello.elf"

# ---- the workloads ----------------------------------------------------

"$TANDEM" bench --size tiny --repeat 1 --json "$tmp/w.json" >"$tmp/w.out" 2>"$tmp/w.err" </dev/null
status=$?
[ $status -eq 0 ] || bad "tandem bench --size tiny: status $status"
cat "$tmp/w.out"
[ -s "$tmp/w.err" ] && { echo "stderr:"; cat "$tmp/w.err"; }
grep -q FAIL "$tmp/w.out" && bad "a run failed"

# The targets that ran: the lines after the title up to the blank line.
ran=$(awk 'NR > 1 && /^$/ { exit } NR > 1 && $2 != "n/a" { print $1 }' "$tmp/w.out")
echo "$ran" | grep -qx native || bad "no native baseline"
echo "$ran" | grep -qx sw || bad "the sw engine did not run"
# The seconds table: a header with every listed target, then one row per
# workload with a number (or n/a) in each column.
workloads="crc32 sort mem chase sieve interp"
awk -v want="$workloads" '
	/^seconds/ { t = 1; next }
	t == 1 { ncol = NF; if ($1 != "workload") bad = "header " $0; t = 2; next }
	t == 2 && /^$/ { exit }
	t == 2 {
		if ($1 == "(start-up)") next
		if (NF != ncol) bad = "ragged row: " $0
		for (i = 2; i <= NF; i++)
			if ($i !~ /^[0-9]+\.[0-9]+$/ && $i != "n/a") bad = "cell " $i " in: " $0
		seen[$1] = 1
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) if (!(w[i] in seen)) bad = bad " missing row " w[i]
		if (bad) { print bad; exit 1 }
	}' "$tmp/w.out" || bad "the seconds table has the wrong shape"
grep -q '^time / native time' "$tmp/w.out" || bad "no ratios to native"
if echo "$ran" | grep -qx qemu; then
	grep -q '^time / qemu time' "$tmp/w.out" || bad "no ratios to QEMU"
fi

# A checksum of our own, from the guest run by hand, to hold against the
# bench's: the bench's must equal it.
sum=$("$TANDEM" --accel=sw --no-reboot --kernel "$top_builddir/tests/bench/bench.elf" \
	--append "bench=sieve size=tiny" </dev/null 2>/dev/null |
	sed -n 's/^bench: end sieve checksum \(0x[0-9a-f]*\)$/\1/p')
[ -n "$sum" ] || bad "bench.elf by hand printed no sieve checksum"

if command -v python3 >/dev/null; then
	python3 - "$tmp/w.json" "$sum" "$ran" <<'PY' || bad "JSON of the workloads"
import json, sys
d = json.load(open(sys.argv[1]))
want_sum, ran = sys.argv[2], sys.argv[3].split()
assert d["schema"] == "tandem-bench-1" and d["mode"] == "workloads", d["mode"]
assert d["ok"] is True and d["size"] == "tiny" and d["repeat"] == 1
names = [w["name"] for w in d["workloads"]]
assert names == "crc32 sort mem chase sieve interp".split(), names
sums = {w["name"]: w["checksum"] for w in d["workloads"]}
assert sums["sieve"] == want_sum, (sums["sieve"], want_sum)
avail = [t["name"] for t in d["targets"] if t["available"]]
assert sorted(avail) == sorted(ran), (avail, ran)
for t in d["targets"]:
    assert t["available"] == (t["why"] is None), t
cells = {(r["target"], r["workload"]): r for r in d["results"]}
for t in avail:
    for w in names:
        r = cells[(t, w)]
        assert r["ok"] and r["error"] is None, r
        assert r["checksum"] == sums[w], r
        assert len(r["runs"]) == 1 and r["min"] == r["median"] == r["max"] == r["runs"][0] or \
            r["median"] is None, r
        for k in ("min", "median", "max", "vs_native", "vs_qemu", "startup"):
            assert k in r, (k, r)
gm = {g["target"] for g in d["geomean"]}
assert gm == set(avail), gm
PY
else
	echo "python3 not installed: the JSON is not checked"
fi

# The same guest as a --kernel: no native baseline, the same checksums.
"$TANDEM" bench --kernel "$top_builddir/tests/bench/bench.elf" --accel=sw --size tiny \
	--json "$tmp/k.json" >"$tmp/k.out" 2>&1 </dev/null || bad "bench --kernel bench.elf"
grep -q '^  native *n/a' "$tmp/k.out" || bad "--kernel: native not n/a"
if command -v python3 >/dev/null; then
	python3 - "$tmp/w.json" "$tmp/k.json" <<'PY' || bad "--kernel checksums"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
sa = {w["name"]: w["checksum"] for w in a["workloads"]}
sb = {w["name"]: w["checksum"] for w in b["workloads"]}
assert sa == sb, (sa, sb)
assert b["ok"] and {r["target"] for r in b["results"]} == {"sw"}
PY
fi

# A run past --timeout is killed and is one FAIL cell; the others go on.
"$TANDEM" bench --accel=sw-nojit --timeout 1 >"$tmp/t.out" 2>&1 </dev/null
status=$?
fails=$(grep -c '^FAIL sw-nojit [a-z0-9]*: timed out' "$tmp/t.out")
if [ $status -ne 1 ] || [ "$fails" -lt 1 ] || ! grep -q '^crc32  *[0-9.]*  *FAIL$' "$tmp/t.out"; then
	bad "--timeout: status $status, $fails timed-out cells:"
	cat "$tmp/t.out"
fi

# ---- nano -------------------------------------------------------------

# kvm-r0 is left out: on kvm_pvm, SYSRET and IOPL 3 OUT fault there (see
# tests/bench/README.md); its other rows are those of any engine.
"$TANDEM" bench --nano --size tiny --repeat 1 --accel=sw,sw-nojit,kvm,qemu \
	--json "$tmp/n.json" >"$tmp/n.out" 2>"$tmp/n.err" </dev/null
status=$?
cat "$tmp/n.out"
[ $status -eq 0 ] || { bad "tandem bench --nano: status $status"; cat "$tmp/n.err"; }
ops="syscall in_dev in_none cr8wr callret pgfault divzero ptemod cpuid cpuid_u out_post_u loop"
awk -v want="$ops" '
	/^cycles per operation/ { t = 1; next }
	t == 1 {
		ncol = NF
		if ($1 != "op" || $2 != "sw" || $(NF - 2) != "paper-native" || $NF != "paper-VT-x")
			bad = "header " $0
		t = 2
		next
	}
	t == 2 && /^$/ { exit }
	t == 2 {
		if (NF != ncol) bad = "ragged row: " $0
		for (i = 2; i <= NF; i++)
			if ($i != "n/a" && !($i == "-" && i > NF - 3) &&
			    ($i !~ /^[0-9]+(\.[0-9])?$/ || $i + 0 <= 0))
				bad = "cell " $i " in: " $0
		seen[$1] = 1
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) if (!(w[i] in seen)) bad = bad " missing row " w[i]
		if (bad) { print bad; exit 1 }
	}' "$tmp/n.out" || bad "the nano table has the wrong shape"
if command -v python3 >/dev/null; then
	python3 - "$tmp/n.json" "$ops" <<'PY' || bad "JSON of nano"
import json, sys
d = json.load(open(sys.argv[1]))
ops = sys.argv[2].split()
assert d["mode"] == "nano" and d["unit"] == "cycles" and d["ok"] is True
assert [o["name"] for o in d["ops"]] == ops
avail = [t["name"] for t in d["targets"] if t["available"]]
assert "sw" in avail and "native" not in avail, avail
got = {(r["target"], r["op"]): r for r in d["results"]}
for t in avail:
    for o in ops:
        r = got[(t, o)]
        assert r["ok"] and len(r["runs"]) == 1 and r["median"] > 0, r
PY
fi

[ $fail -eq 0 ] && echo "bench-cli: all checks passed"
exit $fail
