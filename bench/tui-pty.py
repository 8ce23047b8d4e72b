#!/usr/bin/env python3
"""Time a full-screen mail client in a pseudo-terminal: from fork to the first screen that
shows real subjects of the folder, then the latency of a few keys, then quit.

usage: tui-pty.py SUBJECTS-FILE QUITKEYS -- COMMAND...
Prints one line: "first_ms=... keys_ms=a,b,c,... rss_kb=... status=..."

A screen "shows real subjects" when at least MATCH (default 8) distinct subjects of the
folder (prefixes of 14+ characters, from SUBJECTS-FILE, one per line) appear in the output
with the escape sequences removed.
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ESC = re.compile(rb"\x1b(\[[0-9;?>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78DEHMNOPZc])")


def main():
    subj_file, quitkeys = sys.argv[1], sys.argv[2].encode().decode("unicode_escape").encode()
    cmd = sys.argv[sys.argv.index("--") + 1:]
    match = int(os.environ.get("MATCH", "8"))
    rows, cols = 40, 120
    prefixes = set()
    for line in open(subj_file, encoding="utf-8", errors="replace"):
        s = line.rstrip("\n")
        if len(s) >= 14:
            prefixes.add(s[:14])
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.environ["TERM"] = os.environ.get("BENCH_TERM", "screen")
        os.execvp(cmd[0], cmd)
    out = bytearray()
    first = None
    deadline = t0 + float(os.environ.get("TIMEOUT", "300"))
    found = set()
    while first is None and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if not r:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
        text = ESC.sub(b"", bytes(out)).decode("utf-8", "replace")
        for line in text.replace("\r", "\n").split("\n"):
            for i in range(0, max(0, len(line) - 13)):
                p = line[i:i + 14]
                if p in prefixes:
                    found.add(p)
        if len(found) >= match:
            first = time.monotonic() - t0
    # key latencies: send a key, wait until the output has been quiet for 40 ms
    lat = []
    if first is not None:
        time.sleep(0.3)
        drain(fd, 0.2)
        for k in os.environ.get("KEYS", "j j k G = j").split():
            key = {"PgDn": b"\x1b[6~", "PgUp": b"\x1b[5~"}.get(k, k.encode())
            s = time.monotonic()
            os.write(fd, key)
            last = drain(fd, 0.04, first_wait=1.0)
            if last is not None:
                lat.append((last - s) * 1000)
    os.write(fd, quitkeys)
    end = time.monotonic() + 20
    status = None
    while time.monotonic() < end:
        drain(fd, 0.05)
        p, st, ru = os.wait4(pid, os.WNOHANG)
        if p == pid:
            status = st
            rss = ru.ru_maxrss
            break
    else:
        os.kill(pid, signal.SIGKILL)
        p, st, ru = os.wait4(pid, 0)
        status, rss = st, ru.ru_maxrss
    print("first_ms=%s keys_ms=%s rss_kb=%d status=%s" % (
        "%.1f" % (first * 1000) if first is not None else "timeout",
        ",".join("%.1f" % x for x in lat) or "-", rss, status))


def drain(fd, quiet, first_wait=None):
    """Read until nothing came for `quiet` seconds; returns the time of the last byte."""
    last = None
    wait = first_wait if first_wait is not None else quiet
    while True:
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            return last
        try:
            data = os.read(fd, 65536)
        except OSError:
            return last
        if not data:
            return last
        last = time.monotonic()
        wait = quiet


if __name__ == "__main__":
    main()
