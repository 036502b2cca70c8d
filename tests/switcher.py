#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Switch a running tandem between its engines through QMP.

    switcher.py SOCKET COUNT [INTERVAL_S]

Waits for SOCKET, negotiates, sends `cont` (the guest may have been
started with -S so that no instruction runs before we are connected),
then x-switch-accel to the other engine COUNT times, INTERVAL_S apart
(default 0.05), and prints "switches N". It stops early when tandem goes
away (the guest ended). Exit status 0 when all COUNT switches succeeded.
"""
import json
import os
import socket
import sys
import time

path, count = sys.argv[1], int(sys.argv[2])
interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.05
for _ in range(600):
    if os.path.exists(path):
        break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(path)
f = s.makefile("rwb")


def cmd(name, args=None):
    m = {"execute": name}
    if args:
        m["arguments"] = args
    f.write((json.dumps(m) + "\n").encode())
    f.flush()
    while True:
        line = f.readline()
        if not line:
            return None
        r = json.loads(line)
        if "event" not in r:
            return r


done = 0
try:
    f.readline()
    cmd("qmp_capabilities")
    cmd("cont")
    while done < count:
        r = cmd("x-switch-accel", {"accel": "other"})
        if r is None:
            break
        if "error" in r:
            print("switch %d failed: %s" % (done + 1, r["error"].get("desc")))
            break
        done += 1
        time.sleep(interval)
except (OSError, ValueError) as e:
    print("QMP connection ended: %s" % e)
print("switches %d" % done)
sys.exit(0 if done == count else 1)
