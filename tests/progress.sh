#!/bin/sh
# The progress line on a terminal (tests/progress.py, on a pty) on every usable engine.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${TANDEM:=./tandem}"
wait=$top_builddir/tests/guests/wait.elf
[ -f "$wait" ] || { echo "SKIP: $wait not built"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed (apt-get install python3)"; exit 77; }
fail=0
engines="sw sw,jit=off"
case $("$TANDEM" info 2>&1 | awk '$1 == "kvm" { print }') in
*" usable "*) engines="$engines kvm,ring0=kvm" ;;
*) echo "NOTE: KVM engine not usable here: sw only" ;;
esac
for e in $engines; do
	python3 "$top_srcdir/tests/progress.py" "$TANDEM" "$e" "$wait" || fail=1
done
exit $fail
