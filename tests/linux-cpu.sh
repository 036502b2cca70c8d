#!/bin/sh
# The CPU feature probe inside Linux (tests/linux/cpuprobe.c, init.sh's
# tandem.test=cpu): /proc/cpuinfo's flags and one instruction per listed
# flag. With the default model the lines are the same on sw and kvm; on
# sw with -cpu max too; no listed flag's instruction raises SIGILL.
# Skips with the reason when no kernel can be fetched or the probe cannot
# be linked static here.
: "${top_srcdir:=.}" "${top_builddir:=.}" "${TANDEM:=$top_builddir/tandem}"
here=$top_srcdir/tests/linux
kernel=${LINUX_KERNEL:-$(sh "$here/fetch-kernel.sh")}
rc=$?
[ $rc = 77 ] && { echo "SKIP: no Linux kernel to boot"; exit 77; }
[ -f "$kernel" ] || { echo "fetch-kernel.sh failed ($rc)"; exit 99; }
work=$(mktemp -d) || exit 99
trap 'rm -rf "$work"' EXIT
SRCDIR=$here sh "$here/mkinitrd.sh" "$work/initrd.cpio.gz"
rc=$?
[ $rc = 77 ] && { echo "SKIP: cannot build the initramfs"; exit 77; }
[ $rc = 0 ] || { echo "mkinitrd.sh failed ($rc)"; exit 99; }
zcat "$work/initrd.cpio.gz" | cpio -t --quiet 2>/dev/null | grep -q '^bin/cpuprobe$' ||
	{ echo "SKIP: the probe cannot be linked static here (cc -static)"; exit 77; }
fail=0 pass=0

boot() { # NAME ACCEL [ARGS]
	name=$1 accel=$2
	shift 2
	timeout 600 "$TANDEM" -q --accel="$accel" -m 256M --no-reboot "$@" \
		--serial "file:$work/$name.log" --kernel "$kernel" --initrd "$work/initrd.cpio.gz" \
		--append "console=ttyS0 quiet panic=-1 cryptomgr.notests tandem.test=cpu" \
		</dev/null >"$work/$name.err" 2>&1
	tr -d '\r' <"$work/$name.log" | grep '^TANDEM-CPU: ' >"$work/$name"
	if grep -q '^TANDEM-CPU: done' "$work/$name" && ! grep -q 'SIGILL' "$work/$name"; then
		pass=$((pass + 1))
		echo "$name: $(grep -c ' yes ok' "$work/$name") flags listed and tried:" \
			$(sed -n 's/^TANDEM-CPU: \(.*\) yes ok$/\1/p' "$work/$name")
	else
		echo "FAIL: $name ($accel $*):"
		grep -v ' no$' "$work/$name" | sed 's/^/  /' | head -40
		tail -5 "$work/$name.log" | sed 's/^/  serial: /'
		sed 's/^/  stderr: /' "$work/$name.err" | head -5
		fail=$((fail + 1))
	fi
}

boot sw sw
why=$("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }')
case $why in
*" usable "*)
	boot kvm kvm
	if cmp -s "$work/sw" "$work/kvm"; then pass=$((pass + 1)); else
		echo "FAIL: kvm's probe differs from sw's:"; diff -u "$work/sw" "$work/kvm" | head -20
		fail=$((fail + 1))
	fi ;;
*)	echo "NOTE: KVM engine not usable here: ${why:-not built}" ;;
esac
boot max sw -cpu max
for f in pni ssse3 sse4_2 popcnt smep smap rdtscp x2apic; do
	grep -q "^TANDEM-CPU: $f yes ok" "$work/max" && pass=$((pass + 1)) ||
		{ echo "FAIL: -cpu max: Linux does not list $f"; fail=$((fail + 1)); }
done
echo "linux-cpu: $pass passed, $fail failed"
[ $fail -eq 0 ]
