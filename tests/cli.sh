#!/bin/sh
# Bad user input: one clear line on stderr, exit status 1, for every case.
: "${TANDEM:=./tandem}"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0 pass=0

expect_error() { # description, expected-substring, args...
	what=$1 want=$2
	shift 2
	"$TANDEM" --accel=sw "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	# The engine-choice line is informational; the error is the last line.
	lines=$(grep -v '^tandem: engine ' "$tmp/err" | wc -l)
	if [ $status -eq 1 ] && [ "$lines" -eq 1 ] && grep -q -- "$want" "$tmp/err"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $what: status $status, $lines error lines, wanted '$want':"
		sed 's/^/  /' "$tmp/err"
		fail=$((fail + 1))
	fi
}

printf '' >"$tmp/empty"
printf '\177ELF\002\001\001' >"$tmp/truncated"
head -c 4096 /dev/urandom >"$tmp/garbage"
printf 'hello, not a kernel\n' >"$tmp/text"

expect_error "missing kernel" "No such file" --kernel "$tmp/does-not-exist"
expect_error "empty kernel" "empty" --kernel "$tmp/empty"
expect_error "truncated ELF" "truncated" --kernel "$tmp/truncated"
expect_error "garbage kernel" "not a multiboot or ELF64 kernel" --kernel "$tmp/garbage"
expect_error "text kernel" "not a multiboot or ELF64 kernel" --kernel "$tmp/text"
expect_error "bad -m" "invalid memory size" -m lots
expect_error "zero -m" "invalid memory size" -m 0
expect_error "unknown option" "Unknown option" --frobnicate
expect_error "unknown QEMU-style option" "Unknown option" -frobnicate
expect_error "bad engine" "unknown engine" --accel=warp
expect_error "bad serial" "serial" --serial bogus:x
expect_error "bad smp" "invalid --smp" --smp 0
expect_error "bad trace class" "unknown trace class" --trace=nonsense
expect_error "initrd without kernel" "needs --kernel" --initrd "$tmp/text"
expect_error "missing initrd" "No such file" --kernel "$top_builddir/tests/guests/hello.elf" --initrd "$tmp/nope"

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
