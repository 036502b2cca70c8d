#!/bin/sh
# `tandem` with no arguments boots the built-in demo guest and exits 0.
: "${TANDEM:=./tandem}"
for engine in sw kvm; do
	if [ $engine = kvm ] && ! "$TANDEM" info | grep -q '^  kvm  usable'; then
		echo "SKIP: demo on kvm: KVM not usable here"; continue
	fi
	out=$("$TANDEM" --accel=$engine 2>&1 </dev/null); status=$?
	echo "$out" | sed "s/^/[$engine] /"
	if [ $status -ne 0 ] || ! echo "$out" | grep -q "tandem demo guest"; then
		echo "FAIL: demo on $engine (status $status)"; exit 1
	fi
done
# And with no arguments at all, on whatever auto picks.
out=$("$TANDEM" 2>&1 </dev/null) || { echo "FAIL: plain tandem: $out"; exit 1; }
echo "$out" | grep -q "^tandem: engine " || { echo "FAIL: no engine line"; exit 1; }
echo "$out" | grep -q "tandem demo guest" || { echo "FAIL: no greeting"; exit 1; }
# A host without usable KVM: auto picks the software CPU and says why.
out=$(TANDEM_KVM_DEVICE=/nonexistent/kvm "$TANDEM" 2>&1 </dev/null) || { echo "FAIL: no-KVM auto: $out"; exit 1; }
echo "$out" | grep -q "^tandem: engine sw (auto: kvm unusable: /nonexistent/kvm: No such file or directory)" ||
	{ echo "FAIL: no-KVM auto line:"; echo "$out"; exit 1; }
echo "$out" | grep -q "tandem demo guest" || { echo "FAIL: no greeting without KVM"; exit 1; }
echo "demo: ok"
