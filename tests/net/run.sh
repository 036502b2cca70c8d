#!/bin/sh
# Boot Debian's cloud kernel with virtio-net (user networking), virtio-rng
# and virtio-console on each ENGINE and check what the guest and the host
# saw (init.sh here is the guest side).
#
#   run.sh [--keep DIR] ENGINE...      ENGINE: sw, sw-nojit, kvm, qemu
#   run.sh --tap [--keep DIR] ENGINE...
#
# Per engine: the host serves a random page on 127.0.0.1:PORT (python3
# http.server); the guest gets its address by DHCP from slirp, fetches the
# page from 10.0.2.2:PORT and prints its sha256 (must be the page's); then
# serves /data/fwd on guest port 8080, which the host fetches through
# hostfwd=tcp:127.0.0.1:FWD-:8080 and compares; reads /dev/hwrng; writes
# /data/hvc to /dev/hvc0, a file chardev on the host that must hold exactly
# those bytes; reads 8192 bytes the host writes to tandem's stdin from
# /dev/hvc1 (a second virtio-serial-pci, on -chardev stdio). With --tap instead: the host makes a tap (ip tuntap, needs
# CAP_NET_ADMIN; skipped without) with 192.168.77.1/24 and serves the page
# there; the guest takes 192.168.77.2 on -netdev tap and fetches it. Timeouts (seconds): sw 300, sw-nojit and kvm 900, qemu 120, times
# LINUX_TIMEOUT_SCALE (default 1).
#
# Exit status: 0 every engine asked for passed (or was skipped); 1 one
# failed; 77 nothing ran; 99 bad usage.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=.}" "${TANDEM:=$top_builddir/tandem}" "${LINUX_TIMEOUT_SCALE:=1}"
# NET_PAGE_BYTES: the size of the page the guest fetches (default 300000).
page_bytes=${NET_PAGE_BYTES:-300000}

usage() { echo "usage: $0 [--keep DIR] ENGINE... (sw, sw-nojit, kvm, qemu)" >&2; exit 99; }
keep= tap=0
while [ $# -gt 0 ]; do
	case $1 in
	--tap) tap=1 ;;
	--keep) [ $# -ge 2 ] || usage; keep=$2; shift ;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 1 ] || usage
for e in "$@"; do case $e in sw | sw-nojit | kvm | qemu) ;; *) usage ;; esac; done

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not found (the host's web server)"; exit 77; }
kernel=$(sh "$here/../linux/fetch-kernel.sh")
rc=$?
[ $rc != 77 ] || { echo "SKIP: no Linux kernel to boot (see the line above)"; exit 77; }
[ $rc = 0 ] && [ -f "$kernel" ] || { echo "fetch-kernel.sh failed ($rc)"; exit 99; }

if [ -n "$keep" ]; then
	mkdir -p "$keep" || exit 99
	work=$(cd "$keep" && pwd)
else
	work=$(mktemp -d) || exit 99
fi
srv_pid=
cleanup() {
	[ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null
	[ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sh "$here/mkinitrd.sh" "$kernel" "$work/initrd.cpio.gz"
rc=$?
[ $rc != 77 ] || { echo "SKIP: cannot build the initramfs (see the line above)"; exit 77; }
[ $rc = 0 ] || { echo "mkinitrd.sh failed ($rc)"; exit 99; }
. "$work/initrd.vars"
# What the host types into the guest's hvc1 (binary: the console is raw).
HVCIN_BYTES=8192
head -c $HVCIN_BYTES /dev/urandom >"$work/hvcin" || exit 99
HVCIN_SHA256=$(sha256sum <"$work/hvcin")
HVCIN_SHA256=${HVCIN_SHA256%% *}
initrd=$work/initrd.cpio.gz
qemu=${QEMU_SYSTEM:-$(command -v qemu-system-x86_64)}

# Free TCP ports on 127.0.0.1, as the kernel picks them.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

unusable() {
	case $1 in
	qemu)
		[ -n "$qemu" ] && [ -x "$qemu" ] && return
		echo "qemu-system-x86_64 not found (Debian: qemu-system-x86)" ;;
	*)
		[ -x "$TANDEM" ] || { echo "no tandem binary at $TANDEM"; return; }
		line=$("$TANDEM" info 2>&1 | awk -v e="${1%-nojit}" '$1 == e { print }')
		case $line in
		*" usable "*) ;;
		*) echo "engine ${1%-nojit} not usable here: ${line:-not in 'tandem info'}"; return ;;
		esac
		"$TANDEM" -netdev user,id=probe --version >/dev/null 2>"$work/probe.err" ||
			echo "tandem has no user networking: $(cat "$work/probe.err")" ;;
	esac
}

# Wait (at most $2 seconds) for the serial log to have a line matching $1.
wait_line() {
	n=0
	while ! grep -q -- "$1" "$log" 2>/dev/null; do
		n=$((n + 1))
		[ $n -le $(($2 * 5)) ] || return 1
		kill -0 "$vm_pid" 2>/dev/null || return 1
		sleep 0.2
	done
}

boot() {
	engine=$1 limit=$2
	log=$work/$engine.serial hvc=$work/$engine.hvc err=$work/$engine.stderr
	www=$work/www-$engine
	rm -rf "$www" "$log" "$hvc"
	mkdir -p "$www" || return 1
	head -c $page_bytes /dev/urandom >"$www/page"
	page_sha=$(sha256sum <"$www/page")
	page_sha=${page_sha%% *}
	port=$(free_port) fwd=$(free_port)
	bind=127.0.0.1
	[ $tap = 0 ] || bind=192.168.77.1
	python3 -m http.server --bind $bind --directory "$www" "$port" \
		>"$work/$engine.http.log" 2>&1 &
	srv_pid=$!

	net="-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$fwd-:8080 -device virtio-net-pci,netdev=n0"
	net="$net -device virtio-rng-pci -device virtio-serial-pci -chardev file,id=c0,path=$hvc"
	net="$net -device virtconsole,chardev=c0"
	# A second console (hvc1) on stdin: the host writes $work/hvcin there.
	# tandem's virtio-serial has one port (no MULTIPORT), so it takes a second
	# device; QEMU's has many, and two devices there announce their consoles
	# in either order (hvc0 and hvc1 swap), so QEMU gets both on one.
	case $engine in
	qemu) net="$net -chardev stdio,id=c1 -device virtconsole,chardev=c1" ;;
	*) net="$net -device virtio-serial-pci -chardev stdio,id=c1 -device virtconsole,chardev=c1" ;;
	esac
	append="console=ttyS0 quiet panic=-1 tandem.port=$port tandem.hvcin=$HVCIN_BYTES"
	if [ $tap = 1 ]; then
		net="-netdev tap,id=n0,ifname=$tapif,script=no,downscript=no -device virtio-net-pci,netdev=n0"
		append="$append tandem.tests=tap tandem.tap=192.168.77.2,192.168.77.1"
	fi
	case $engine in
	qemu) cmd="$qemu -accel tcg -M pc -m 256 -no-reboot -display none -monitor none"
	      cmd="$cmd -serial file:$log" ;;
	*) a=$engine; [ "$engine" != sw-nojit ] || a=sw,jit=off
	   cmd="$TANDEM --accel=$a -m 256M --no-reboot --serial file:$log" ;;
	esac
	echo "$cmd -kernel $kernel -initrd $initrd -append '$append' $net" >"$work/$engine.cmd"
	t0=$(date +%s)
	# stdin is a fifo we hold open for writing (O_RDWR does not block).
	fifo=$work/$engine.stdin
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	exec 7<>"$fifo"
	timeout -k 5 "$limit" $cmd -kernel "$kernel" -initrd "$initrd" -append "$append" $net \
		<"$fifo" >"$work/$engine.stdout" 2>"$err" &
	vm_pid=$!
	[ $tap = 1 ] || (wait_line 'TANDEM-NET: hvc1 raw' "$limit" && cat "$work/hvcin" >&7) &
	feeder=$!

	why=
	# The host's half of the hostfwd check, once the guest's httpd is up.
	if [ $tap = 1 ]; then
		:
	elif wait_line 'TANDEM-NET: httpd listening' "$limit"; then
		if python3 - "$fwd" "$work/$engine.fwd" <<'PY'
import sys, urllib.request
data = urllib.request.urlopen("http://127.0.0.1:%s/fwd" % sys.argv[1], timeout=60).read()
open(sys.argv[2], "wb").write(data)
PY
		then
			got=$(sha256sum <"$work/$engine.fwd")
			[ "${got%% *}" = "$FWD_SHA256" ] ||
				why="$why; hostfwd: got $(wc -c <"$work/$engine.fwd") bytes, wrong sha256"
		else
			why="$why; hostfwd: the host could not fetch 127.0.0.1:$fwd/fwd"
		fi
		echo "hostfwd checked" >"$www/done"
	else
		echo "no httpd" >"$www/done"
		why="$why; the guest never said its httpd listens"
	fi
	wait "$vm_pid"
	status=$?
	kill "$feeder" 2>/dev/null
	wait "$feeder" 2>/dev/null
	exec 7>&-
	wall=$(($(date +%s) - t0))
	kill "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	srv_pid=

	norm=$log.norm
	tr -d '\r' <"$log" | sed 's/^\(TANDEM-NET: .*\) @[0-9.]*$/\1/' >"$norm"
	up=$(sed -n 's/^TANDEM-NET: poweroff @\([0-9.]*\)\r*$/\1/p' "$log")
	# The page's transfer rate, from the guest's uptime before and after wget.
	rate=$(tr -d '\r' <"$log" | awk -v b="$page_bytes" '
		/^TANDEM-NET: / { t = $NF; sub(/^@/, "", t) }
		/^TANDEM-NET: (dhcp ip=|tap address set)/ { t0 = t } /^TANDEM-NET: wget done/ { t1 = t }
		END { if (t1 > t0 && t0 != "") printf "%.0f KiB/s", b / 1024 / (t1 - t0) }')
	expect() { grep -q -x -E -- "$1" "$norm" || why="$why; missing: $1"; }
	[ "$status" = 0 ] || why="$why; exit status $status"
	if [ $tap = 1 ]; then
		expect "TANDEM-NET: tap wget page sha256=$page_sha bytes=$page_bytes"
		expect 'TANDEM-NET: poweroff'
		why=${why#; }
		return
	fi
	expect 'TANDEM-NET: modules loaded'
	expect 'TANDEM-NET: eth0 driver=virtio_net'
	expect 'TANDEM-NET: dhcp ip=10\.0\.2\.15 router=10\.0\.2\.2 dns=10\.0\.2\.3'
	expect "TANDEM-NET: wget page sha256=$page_sha bytes=$page_bytes"
	expect 'TANDEM-NET: host says: hostfwd checked'
	expect 'TANDEM-NET: rng current=virtio_rng\.[0-9]+'
	expect 'TANDEM-NET: rng bytes=128,128 reads=differ nonzero=yes'
	expect "TANDEM-NET: hvc0 wrote $HVC_BYTES bytes"
	expect "TANDEM-NET: hvc1 read $HVCIN_BYTES bytes sha256=$HVCIN_SHA256"
	expect 'TANDEM-NET: poweroff'
	! grep -q -E 'TANDEM-NET: FAIL|Kernel panic|Oops:|BUG:' "$norm" ||
		why="$why; $(grep -m 1 -E 'TANDEM-NET: FAIL|Kernel panic|Oops:|BUG:' "$norm")"
	got=$(sha256sum <"$hvc" 2>/dev/null)
	[ "${got%% *}" = "$HVC_SHA256" ] ||
		why="$why; hvc0 file: $(wc -c <"$hvc" 2>/dev/null || echo 0) bytes, want $HVC_BYTES with the guest's sha256"
	why=${why#; }
}

tapif=
if [ $tap = 1 ]; then
	# A tap of our own, addressed on the host side, removed at exit.
	tapif=tandemt$$
	command -v ip >/dev/null 2>&1 || { echo "SKIP: no ip(8) (Debian: iproute2)"; exit 77; }
	if ! ip tuntap add dev "$tapif" mode tap 2>"$work/tap.err"; then
		echo "SKIP: cannot create a tap here: $(cat "$work/tap.err")"
		exit 77
	fi
	trap 'ip link del "$tapif" 2>/dev/null; cleanup' EXIT
	ip addr add 192.168.77.1/24 dev "$tapif" && ip link set "$tapif" up ||
		{ echo "cannot configure $tapif"; exit 99; }
fi

pass=0 fail=0 skip=0
for engine in "$@"; do
	r=$(unusable "$engine")
	if [ -n "$r" ]; then
		echo "SKIP: net on $engine: $r"
		skip=$((skip + 1))
		continue
	fi
	# kvm on kvm_pvm runs the kernel's ring 0 on the software CPU: as slow as sw-nojit.
	case $engine in qemu) t=120 ;; sw) t=300 ;; *) t=900 ;; esac
	boot "$engine" "$(awk -v t=$t -v s="$LINUX_TIMEOUT_SCALE" 'BEGIN { printf "%d", t * s }')"
	if [ -z "$why" ]; then
		if [ $tap = 1 ]; then
			echo "PASS: net tap on $engine (static address, wget $page_bytes bytes at ${rate:-?} from the host's tap; guest uptime at poweroff ${up:-?}s, wall ${wall}s)"
			pass=$((pass + 1))
			continue
		fi
		echo "PASS: net on $engine (dhcp, wget $page_bytes bytes at ${rate:-?}, hostfwd $(wc -c <"$work/$engine.fwd") bytes, rng, hvc0 $HVC_BYTES bytes out, hvc1 $HVCIN_BYTES bytes in; guest uptime at poweroff ${up:-?}s, wall ${wall}s)"
		pass=$((pass + 1))
	else
		echo "FAIL: net on $engine: $why"
		echo "  command: $(cat "$work/$engine.cmd")"
		echo "  --- serial (last 25 lines):"
		tail -n 25 "$norm" | sed 's/^/  | /'
		echo "  --- stderr (last 15 lines):"
		tail -n 15 "$err" | sed 's/^/  | /'
		fail=$((fail + 1))
	fi
done
[ -z "$keep" ] || echo "logs kept in $work"
echo "net: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ] || exit 1
[ $pass -gt 0 ] || exit 77
exit 0
