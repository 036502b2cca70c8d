#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""QMP client test (tests/qmp.sh runs it once per engine).

    qmp.py TANDEM ENGINE WAIT_GUEST DEMO_GUEST

Drives tandem's control socket as a QMP client would: the greeting and
capabilities negotiation, stop/cont/query-status with their events,
human-monitor-command, system_reset/system_powerdown, two clients at once,
and quit; then malformed JSON, stray bytes, oversized and deeply nested
messages, unknown commands and bad arguments, each of which must get an
error reply while tandem goes on serving. Prints one line per check and
exits 1 if any failed.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

tandem, engine, wait_guest, demo_guest = sys.argv[1:5]
failed = 0


def check(what, ok, detail=""):
    global failed
    print("%s: %s%s" % ("ok" if ok else "FAIL", what, "" if ok else " -- " + str(detail)))
    if not ok:
        failed += 1


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(20)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        self.events = []
        self.greeting = self.read()

    def read(self):
        line = self.f.readline()
        if not line:
            raise EOFError("connection closed")
        return json.loads(line)

    def send_raw(self, data):
        self.f.write(data)
        self.f.flush()

    def reply(self):
        while True:
            m = self.read()
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def cmd(self, name, args=None, **extra):
        m = {"execute": name}
        if args is not None:
            m["arguments"] = args
        m.update(extra)
        self.send_raw((json.dumps(m) + "\n").encode())
        return self.reply()

    def wait_event(self, name, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            for e in self.events:
                if e["event"] == name:
                    self.events.remove(e)
                    return e
            try:
                m = self.read()
            except EOFError:
                return None
            if "event" in m:
                self.events.append(m)
        return None


def start(guest, extra):
    d = tempfile.mkdtemp()
    path = os.path.join(d, "qmp.sock")
    p = subprocess.Popen([tandem, "--accel=" + engine, "--watchdog=0", "-kernel", guest,
                          "-qmp", "unix:%s,server,wait=off" % path] + extra,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(200):
        if os.path.exists(path) or p.poll() is not None:
            break
        time.sleep(0.05)
    return p, path


# 1. A guest that runs forever, started paused (-S).
p, path = start(wait_guest, ["-S"])
c = Client(path)
g = c.greeting.get("QMP", {})
check("greeting names the protocol version", "version" in g and "capabilities" in g, c.greeting)
r = c.cmd("query-status")
check("commands refused before qmp_capabilities",
      r.get("error", {}).get("class") == "CommandNotFound", r)
check("qmp_capabilities", c.cmd("qmp_capabilities") == {"return": {}})
r = c.cmd("qmp_capabilities")
check("second qmp_capabilities refused", "error" in r, r)
r = c.cmd("query-status", id="a1")
check("-S: status paused, id echoed",
      r.get("return", {}).get("status") == "paused" and r.get("id") == "a1", r)
r = c.cmd("human-monitor-command", {"command-line": "info registers"})
check("info registers shows RIP", "RIP=" in r.get("return", ""), r)
r = c.cmd("human-monitor-command", {"command-line": "info tlb"})
check("info tlb before the guest runs: PG disabled", r.get("return") == "PG disabled\n", r)
r = c.cmd("cont")
check("cont", r == {"return": {}}, r)
check("RESUME event", c.wait_event("RESUME") is not None)
r = c.cmd("query-status")
check("status running", r.get("return", {}).get("running") is True, r)

c2 = Client(path)
check("second client negotiates", c2.cmd("qmp_capabilities") == {"return": {}})
r = c2.cmd("stop")
check("stop from the second client", r == {"return": {}}, r)
check("STOP event reaches the first client", c.wait_event("STOP") is not None)
r = c.cmd("query-status")
check("status paused after stop", r.get("return", {}).get("status") == "paused", r)
c.cmd("cont")

r = c.cmd("query-cpus-fast")
cpus = r.get("return", [])
check("query-cpus-fast lists vCPU 0 with its thread",
      len(cpus) >= 1 and cpus[0].get("cpu-index") == 0 and cpus[0].get("thread-id", 0) > 0, r)
r = c.cmd("query-kvm")
check("query-kvm says the engine",
      r.get("return", {}).get("enabled") == engine.startswith("kvm"), r)
r = c.cmd("human-monitor-command", {"command-line": "info mtree"})
check("info mtree lists the UART", "uart" in r.get("return", "") or "8250" in r.get("return", ""), r)

# info tlb: the guest's mappings as QEMU prints them, from the common page walker.
import re
time.sleep(0.3)  # the guest turned paging on long before it waits
r = c.cmd("human-monitor-command", {"command-line": "info tlb"})
tlb = r.get("return", "")
lines = tlb.splitlines()
pat = re.compile(r"^([0-9a-f]{16}): ([0-9a-f]{16}) [X-][G-][P-][D-][A-][C-][T-][U-][W-]$")
ms = [pat.match(l) for l in lines]
check("info tlb: %d mappings, each 'LINEAR: PHYSICAL XGPDACTUW'" % len(lines),
      len(lines) > 0 and all(ms), tlb[:300])
regs = c.cmd("human-monitor-command", {"command-line": "info registers"}).get("return", "")
m = re.search(r"RIP=([0-9a-f]+)", regs)
rip = int(m.group(1), 16) if m else -1
big = [(int(x.group(1), 16), int(x.group(2), 16), "P" in l.split()[-1]) for x, l in zip(ms, lines) if x]
cover = [e for e in big if e[0] <= rip < e[0] + (0x200000 if e[2] else 0x1000)]
check("info tlb: RIP %#x is mapped, identity (the kit's tables)" % rip,
      len(cover) == 1 and cover[0][0] == cover[0][1], cover)
r = c.cmd("human-monitor-command", {"command-line": "info tlb 7"})
check("info tlb: a vCPU that does not exist is an error line", "no vCPU" in r.get("return", ""), r)
r = c.cmd("human-monitor-command", {"command-line": "frobnicate"})
check("unknown monitor command answered in text", "unknown command" in r.get("return", ""), r)

# Malformed input: every case gets an error and the connection keeps working.
bad_inputs = [
    (b'{"execute": "query-status" garbage}\n', "broken JSON"),
    (b'hello\n', "stray bytes"),
    (b'[1, 2, 3]\n', "not an object"),
    (b'{"execute": 42}\n', "execute not a string"),
    (b'{"execute": "stop", "bogus": 1}\n', "unexpected member"),
    (b'{"execute": "query-status", "arguments": [1]}\n', "arguments not an object"),
    (b'{"execute": "query-status", "arguments": {"x": 1}}\n', "unexpected argument"),
    (b'{"execute": "human-monitor-command"}\n', "missing argument"),
    (b'{"execute": "human-monitor-command", "arguments": {"command-line": 5}}\n',
     "argument of the wrong type"),
    (b'{"execute": "no-such-command"}\n', "unknown command"),
    (b'{"execute": "' + b'x' * (1 << 20) + b'"}\n', "1 MiB message"),
    (b'[' * 200000 + b']' * 200000 + b'\n', "nesting 200000 deep"),
]
for data, what in bad_inputs:
    c.send_raw(data)
    r = c.reply()
    check("error for " + what, "error" in r and "class" in r["error"], str(r)[:200])
r = c.cmd("query-status")
check("still serving after bad input", "return" in r, r)

r = c.cmd("system_reset")
check("system_reset", r == {"return": {}}, r)
check("RESET event", c.wait_event("RESET") is not None)
r = c.cmd("system_powerdown")
check("system_powerdown", r == {"return": {}}, r)
check("POWERDOWN event", c.wait_event("POWERDOWN") is not None)
r = c.cmd("quit")
check("quit", r == {"return": {}}, r)
e = c.wait_event("SHUTDOWN")
check("SHUTDOWN event, reason host-qmp-quit",
      e is not None and e.get("data", {}).get("reason") == "host-qmp-quit", e)
try:
    rc = p.wait(20)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "hung"
check("tandem exits 0 after quit", rc == 0, rc)
check("socket removed at exit", not os.path.exists(path))

# 2. A guest that powers off by itself: the event says the guest did it.
p, path = start(demo_guest, ["-S"])
c = Client(path)
c.cmd("qmp_capabilities")
c.cmd("cont")
e = c.wait_event("SHUTDOWN")
check("guest poweroff: SHUTDOWN, reason guest-shutdown",
      e is not None and e.get("data", {}) == {"guest": True, "reason": "guest-shutdown"}, e)
try:
    rc = p.wait(20)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "hung"
check("demo guest exits 0", rc == 0, rc)

print("%d failed" % failed)
sys.exit(1 if failed else 0)
