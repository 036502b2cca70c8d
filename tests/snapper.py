#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Snapshot a running tandem once its console shows a line.

    snapper.py SOCKET LOGFILE PATTERN SNAPFILE

Waits for the QMP SOCKET, negotiates and sends `cont` (tandem was started
with -S), waits until LOGFILE (the guest's serial output) contains
PATTERN, then `migrate` to file:SNAPFILE and `quit`. Prints what it did;
exit status 0 when the snapshot was written.
"""
import json
import os
import socket
import sys
import time

path, log, pattern, out = sys.argv[1:5]
for _ in range(600):
    if os.path.exists(path):
        break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX)
s.settimeout(120)
s.connect(path)
f = s.makefile("rwb")


def cmd(name, args=None):
    m = {"execute": name}
    if args:
        m["arguments"] = args
    f.write((json.dumps(m) + "\n").encode())
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            return r


f.readline()
cmd("qmp_capabilities")
cmd("cont")
deadline = time.time() + 600
while time.time() < deadline:
    try:
        with open(log, "rb") as fh:
            if pattern.encode() in fh.read():
                break
    except OSError:
        pass
    time.sleep(0.05)
else:
    print("snapper: '%s' never appeared" % pattern)
    sys.exit(1)
r = cmd("migrate", {"uri": "file:" + out})
cmd("quit")
if "error" in r:
    print("snapper: migrate: %s" % r["error"].get("desc"))
    sys.exit(1)
print("snapper: snapshot after '%s', %d KiB" % (pattern, os.path.getsize(out) // 1024))
