#!/usr/bin/env python3
# The progress line (machine/progress.c) on a pseudo-terminal: refreshed
# every second while the guest is silent, erased before the guest's first
# serial byte, never with -q, never when stderr is not a terminal.
# Usage: progress.py TANDEM ENGINE WAIT_ELF
import fcntl, json, os, re, select, socket, struct, subprocess, sys, tempfile, termios, time

tandem, engine, guest = sys.argv[1:4]
fails = 0
STATUS = re.compile(rb'\rtandem: (\S+) (\d+)s \| ([^|]*) \| ([^|]*) \| serial (\d+)B\x1b\[K')


def ok(cond, what, data=b''):
    global fails
    if cond:
        print('ok: %s: %s' % (engine, what))
    else:
        fails += 1
        print('FAIL: %s: %s' % (engine, what))
        if data:
            print('  got: %r' % data[-600:])


def run(args, seconds, stderr_tty=True, during=None):
    """Run tandem with stdout (and stderr) on a pty for @seconds; the pty's bytes."""
    m, s = os.openpty()
    fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 200, 0, 0))
    errf = tempfile.TemporaryFile()
    p = subprocess.Popen([tandem, '--accel=' + engine, '--watchdog=0'] + args,
                         stdin=subprocess.DEVNULL, stdout=s,
                         stderr=s if stderr_tty else errf)
    os.close(s)
    buf = b''
    t0 = time.time()
    while time.time() - t0 < seconds:
        if during and time.time() - t0 >= during[0]:
            during[1]()
            during = None
        r, _, _ = select.select([m], [], [], 0.1)
        if r:
            try:
                buf += os.read(m, 65536)
            except OSError:
                break
    pre = buf
    p.send_signal(2)	# SIGINT: "terminating on signal", no register dump
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    try:
        while select.select([m], [], [], 0.2)[0]:
            d = os.read(m, 65536)
            if not d:
                break
            buf += d
    except OSError:
        pass
    os.close(m)
    errf.seek(0)
    return pre, buf[len(pre):], errf.read()


# 1. A silent guest: the line comes every second, one line (no newline after it).
out, end, _ = run(['-kernel', guest, '--append', 'silent spin'], 3.6)
st = STATUS.findall(out)
ok(len(st) >= 2, '%d status lines in 3.6 s (want >= 2)' % len(st), out)
if st:
    eng, secs, where, speed, serial = st[-1]
    ok(eng.decode() == engine.split(',')[0], 'the engine named (%s)' % eng.decode(), out)
    ok(re.match(rb'RIP 0008:[0-9a-f]+ 64-bit CPL0$', where), 'RIP and mode: %s' % where.decode(),
       out)
    unit = rb'exits/s' if engine.startswith('kvm') else rb'MIPS'
    ok(unit in speed, 'speed in %s: %s' % (unit.decode(), speed.decode()), out)
    ok(serial == b'0', 'serial bytes 0', out)
    # The spin loop runs: on sw a real instruction rate.
    if not engine.startswith('kvm'):
        mips = float(speed.split()[0])
        ok(mips > 0.5, 'the rate is measured (%.1f MIPS)' % mips, out)
# Refreshed in place: nothing but status lines after the engine line.
tail = out.split(b'\r\n')[-1]
ok(tail.startswith(b'\rtandem: ') and b'\n' not in tail, 'refreshed in place, no newline', out)
ok(end.startswith(b'\r\x1b[Ktandem: terminating on signal'), 'erased when tandem ends', end)

# 2. Paused start, then cont over QMP: the guest's first byte comes after the erase.
sock = tempfile.mktemp(prefix='tandem-prog-', suffix='.sock')


def cont():
    c = socket.socket(socket.AF_UNIX)
    c.connect(sock)
    f = c.makefile('rwb')
    f.readline()
    for cmd in ('qmp_capabilities', 'cont'):
        f.write(json.dumps({'execute': cmd}).encode() + b'\n')
        f.flush()
        while b'"return"' not in f.readline():
            pass
    c.close()


out, _, _ = run(['-S', '-qmp', 'unix:%s,server,wait=off' % sock, '-kernel', guest,
              '--append', 'spin'], 4.0, during=(2.6, cont))
try:
    os.unlink(sock)
except OSError:
    pass
first = out.find(b'wait: waiting')
ok(first > 0, 'the guest printed after cont', out)
before, after = out[:first], out[first:]
ok(re.search(rb'\| paused \|', before), 'paused while -S', before)
ok(before.endswith(b'\x1b[K\r\x1b[K'), 'the line erased right before the first byte', before)
ok(not STATUS.search(after), 'no status line after the guest printed', after)

# 3. -q: never.
out, _, _ = run(['-q', '-kernel', guest, '--append', 'silent spin'], 2.5)
ok(b'tandem:' not in out and b'\x1b[K' not in out, '-q: no status line', out)

# 4. stderr not a terminal (stdout still is): never.
out, _, err = run(['-kernel', guest, '--append', 'silent spin'], 2.5, stderr_tty=False)
ok(not STATUS.search(err) and b'\x1b[K' not in err + out, 'stderr not a tty: no status line',
   err)
# 5. The human monitor on the console: its prompt is not drawn over.
out, _, _ = run(['-monitor=stdio', '-kernel', guest, '--append', 'silent spin'], 2.5)
ok(b'(tandem) ' in out and not STATUS.search(out), '-monitor stdio: no status line over the prompt',
   out)
sys.exit(1 if fails else 0)
