#!/usr/bin/env python3
# The GDB stub under abuse: whatever arrives on the socket, tandem answers
# or ignores it and keeps running. Usage: gdb_proto.py TANDEM WAIT.elf TMPDIR
import os
import random
import socket
import subprocess
import sys
import time

tandem, guest, tmp = sys.argv[1:4]
path = os.path.join(tmp, "proto.sock")
fails = 0


def check(ok, what):
    global fails
    print(("  ok: " if ok else "  FAIL: ") + what)
    if not ok:
        fails += 1


def packet(data):
    if isinstance(data, str):
        data = data.encode()
    return b"$" + data + b"#%02x" % (sum(data) & 0xff)


class Client:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(10)
        self.s.connect(path)
        self.buf = b""

    def send(self, raw):
        self.s.sendall(raw)

    def read_until(self, pred):
        while not pred(self.buf):
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("stub closed the connection")
            self.buf += chunk

    def reply(self):
        """The next packet's data, skipping acks; checks its checksum."""
        def complete(b):
            i = b.find(b"$")
            return i >= 0 and b.find(b"#", i) >= 0 and len(b) >= b.find(b"#", i) + 3
        self.read_until(complete)
        i = self.buf.find(b"$")
        j = self.buf.find(b"#", i)
        data, cs = self.buf[i + 1:j], self.buf[j + 1:j + 3]
        self.buf = self.buf[j + 3:]
        if int(cs, 16) != sum(data) & 0xff:
            raise ValueError("bad checksum from the stub: %r" % data[:40])
        return data.decode("latin-1")

    def cmd(self, data):
        self.send(packet(data))
        return self.reply()

    def ack(self):
        self.read_until(lambda b: len(b) >= 1)
        c, self.buf = self.buf[:1], self.buf[1:]
        return c


if os.path.exists(path):
    os.unlink(path)
vm = subprocess.Popen([tandem, "--accel=sw", "--watchdog=0", "--serial", "none",
                       "-gdb", "unix:%s,server" % path, "-S", "--kernel", guest],
                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
for _ in range(100):
    if os.path.exists(path):
        break
    time.sleep(0.1)

try:
    c = Client()
    # A bad checksum is nak'ed, and the stub goes on.
    c.send(b"$g#00")
    check(c.ack() == b"-", "bad checksum: '-'")
    c.send(b"$?#zz")
    check(c.ack() == b"-", "checksum that is not hex: '-'")
    c.send(packet("?"))
    check(c.ack() == b"+", "good packet: '+'")
    check(c.reply().startswith("T05thread:1;"), "'?' after the junk: stopped in thread 1")
    # Overlong: read to its end, answered with an error, not buffered.
    r = c.cmd("M100000,10000:" + "00" * 40000)
    check(r.startswith("E"), "overlong packet (80 KB): an error (%s)" % r)
    check(c.cmd("qC") == "QC1", "next packet fine after the overlong one")
    # Unknown and malformed commands.
    for p, want in [("Jxyzzy", ""), ("vFrobnicate", ""), ("qFrobnicate", ""),
                    ("mzz,4", "E"), ("m100000", "E"), ("m,", "E"),
                    ("m100000,ffffffffffffffffff", "E"), ("Mzz", "E"), ("M100000,4:zz", "E"),
                    ("X100000,8:ab", "E"), ("p", "E"), ("p9999", ""), ("Pzz", "E"),
                    ("P0=zz", "E"), ("Gzz", "E"), ("Z9,0,0", ""), ("Z0,zz", "E"),
                    ("Z2,100000,3", "E"), ("z0,0", "E"), ("Hg99", "E"), ("Hx1", "E"), ("H", "E"),
                    ("T99", "E"), ("vCont;q", "E"), ("vCont;s:99", "E"), ("vCont;", "E"),
                    ("qRcmd,zz", "E"), ("qXfer:features:read:other.xml:0,10", "E"),
                    ("qXfer:features:read:target.xml:zz", "E"), ("", "")]:
        r = c.cmd(p)
        check(r.startswith(want) if want else r == "", "%r -> %r" % (p, r[:20]))
    # Memory outside RAM and MMIO are refused (paging is off at the entry).
    check(c.cmd("mfee00000,4").startswith("E"), "MMIO (local APIC) read refused")
    check(c.cmd("Mfee00000,4:00000000").startswith("E"), "MMIO write refused")
    check(c.cmd("mfffffffff0000000,10").startswith("E"), "beyond RAM refused")
    check(len(c.cmd("m100000,2000")) == 2 * 2048, "a long read is cut to the packet size")
    # The whole description, in pieces.
    xml, off = "", 0
    while True:
        r = c.cmd("qXfer:features:read:target.xml:%x,200" % off)
        xml += r[1:]
        off += len(r) - 1
        if r[0] == "l" or off > 100000:
            break
    check("i386:x86-64" in xml and "fs_base" in xml and "cr3" in xml and xml.endswith("</target>\n"),
          "target description read in 0x200-byte pieces (%d bytes)" % len(xml))
    # Monitor commands.
    r = c.cmd("qRcmd," + b"info status".hex())
    out = ""
    while r.startswith("O") and r != "OK":
        out += bytes.fromhex(r[1:]).decode()
        r = c.reply()
    check(r == "OK" and "paused" in out, "monitor 'info status' through qRcmd: %r" % out.strip())
    # Garbage: random bytes, packets cut short, '$' inside packets.
    rnd = random.Random(13)
    junk = bytes(rnd.randrange(256) for _ in range(65536)).replace(b"\x03", b"")
    c.send(junk + b"$m0,4#" + b"$$$###}}}" + b"#00")
    time.sleep(0.5)
    c.buf = b""
    c.send(b"+" * 10)
    r = c.cmd("qC")
    check(r == "QC1", "alive after 64 KiB of garbage")
    # No-ack mode.
    check(c.cmd("QStartNoAckMode") == "OK", "QStartNoAckMode")
    c.buf = b""
    c.send(packet("qC"))
    check(c.reply() == "QC1", "no-ack mode: replies without '+'")
    # A second debugger is refused politely; the first keeps its session.
    d = Client()
    try:
        r = d.reply()
        check(r.startswith("O") and b"another debugger" in bytes.fromhex(r[1:]),
              "second client told why")
        d.read_until(lambda b: False)
    except EOFError:
        check(True, "second client disconnected")
    check(c.cmd("qC") == "QC1", "first client still served")
    # Ctrl-C stops a running guest.
    c.send(packet("vCont;c"))
    time.sleep(0.5)
    c.send(b"\x03")
    r = c.reply()
    check(r.startswith("T02thread:1;"), "Ctrl-C: stopped with SIGINT (%s)" % r)
    check(len(c.cmd("g")) > 1000, "registers readable after Ctrl-C")
    # Detach: the guest runs on, and a new debugger can attach.
    check(c.cmd("Z0,100000,1") == "OK", "a breakpoint before the detach")
    check(c.cmd("D") == "OK", "D: OK")
    try:
        c.read_until(lambda b: False)
    except (EOFError, ConnectionResetError):
        check(True, "D: the stub closed the connection")
    time.sleep(0.5)
    check(vm.poll() is None, "tandem runs on after the detach")
    c = Client()
    c.send(packet("?"))
    r = c.reply()
    check(r.startswith("T05thread:1;"), "a new debugger attaches: stopped (%s)" % r)
    check(c.cmd("m100000,1") != "", "it reads memory")
    # Kill: tandem exits.
    c.send(packet("k"))
    rc = vm.wait(timeout=20)
    check(rc == 0, "k: tandem exited (status %d)" % rc)
except Exception as e:
    check(False, "exception: %r" % e)
finally:
    if vm.poll() is None:
        vm.kill()
        check(False, "tandem still running at the end")
    out = vm.communicate()[0].decode(errors="replace")
    check("Segmentation" not in out and "Aborted" not in out, "no crash")
    if fails:
        print("  --- tandem said:\n" + out)

sys.exit(1 if fails else 0)
