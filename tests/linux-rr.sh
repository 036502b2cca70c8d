#!/bin/sh
# Record and replay of a Linux boot with typed serial input (-icount
# rr=record|replay, sw): the recorded run boots to a shell, gets a command
# typed on its console and powers off; the replay, given no input at all,
# must print byte for byte the same console output (kernel timestamps
# included: they come from the instruction clock). Both runs execute
# translated code, which counts instructions as the interpreter does.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$here/..}" "${top_builddir:=.}" "${TANDEM:=$top_builddir/tandem}"
kernel=$(sh "$top_srcdir/tests/linux/fetch-kernel.sh")
case $? in
0) ;;
77) echo "SKIP: no Linux kernel (see above)"; exit 77 ;;
*) echo "fetch-kernel.sh failed"; exit 99 ;;
esac
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
SRCDIR=$top_srcdir/tests/linux sh "$top_srcdir/tests/linux/mkinitrd.sh" "$tmp/initrd.cpio.gz" >/dev/null
rc=$?
[ $rc = 77 ] && { echo "SKIP: cannot build the initramfs"; exit 77; }
[ $rc = 0 ] || { echo "mkinitrd.sh failed ($rc)"; exit 99; }
args="-m 512M --no-reboot --watchdog=0 --kernel $kernel --initrd $tmp/initrd.cpio.gz"
cmdline="console=ttyS0 quiet panic=-1 tandem.shell=1"

# Type once the shell has printed its marker (the guest is slow to get
# there on the interpreter), then power off.
(
	n=0
	while ! grep -q 'TANDEM-LINUX: shell' "$tmp/rec" 2>/dev/null && [ $n -lt 600 ]; do
		sleep 0.5; n=$((n + 1))
	done
	sleep 1; printf '\r'; sleep 1
	# busybox's line editor asks the terminal where the cursor is after the
	# prompt and may eat the first bytes typed as its answer: lead with blanks.
	printf '        echo typed-$((6 * 7))\r'; sleep 2
	printf '        poweroff -f\r'
) | timeout 600 "$TANDEM" -icount shift=0,rr=record,rrfile="$tmp/boot.rr" $args \
	--append "$cmdline" >"$tmp/rec" 2>"$tmp/rec.err"
rc=$?
if [ $rc != 0 ] || ! grep -q 'typed-42' "$tmp/rec"; then
	echo "FAIL: recording: status $rc, no typed-42 in the output"
	tail -5 "$tmp/rec"; tail -3 "$tmp/rec.err"
	exit 1
fi
# Both runs are translated code (-icount no longer forces the interpreter):
# --stats says how many blocks the replay ran.
timeout 600 "$TANDEM" -icount shift=0,rr=replay,rrfile="$tmp/boot.rr" $args \
	--append "$cmdline" --stats </dev/null >"$tmp/rep" 2>"$tmp/rep.err"
rc=$?
blocks=$(sed -n 's/^sw: translator: \([0-9]*\) dispatches.*/\1/p' "$tmp/rep.err")
if [ $rc = 0 ] && cmp -s "$tmp/rec" "$tmp/rep" && [ "${blocks:-0}" -gt 0 ]; then
	echo "PASS: Linux replay printed the recorded $(wc -c <"$tmp/rec") bytes exactly" \
		"($(grep -c '^I ' "$tmp/boot.rr") input events, $(grep -c '^C ' "$tmp/boot.rr")" \
		"checkpoints, $(sed -n 's/^E //p' "$tmp/boot.rr") instructions, $blocks blocks run)"
	exit 0
fi
[ "${blocks:-0}" -gt 0 ] || echo "FAIL: the replay ran no translated block"
grep '^tandem:' "$tmp/rep.err" | tail -3
echo "FAIL: replay: status $rc"
diff "$tmp/rec" "$tmp/rep" | head -10
exit 1
