#!/usr/bin/python3
"""ptytalk.py COMMAND... -- STEP...: run COMMAND in a pseudo-terminal (its controlling
terminal, where tern asks for a password) and follow the steps in order:

  expect:TEXT   wait until TEXT appears after what the previous expect matched (a condition:
                the 30 s limit only ends a hang)
  send:TEXT     type TEXT and Enter
  absent:TEXT   once COMMAND has ended: TEXT appears nowhere in its output (typed text that
                must not be echoed)

COMMAND must exit 0. The whole output is printed; a failed step exits 1 naming it.
"""
import os
import pty
import select
import sys


def main():
    split = sys.argv.index("--")
    cmd, steps = sys.argv[1:split], sys.argv[split + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(cmd[0], cmd)
    out, pos = b"", 0

    def read_more():
        nonlocal out
        r, _, _ = select.select([fd], [], [], 30)
        if not r:
            os.kill(pid, 9)
            fail("no output for 30 s")
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return False
        out += chunk
        return bool(chunk)

    def fail(why):
        print(out.decode(errors="replace"))
        sys.exit("ptytalk: %s" % why)

    for step in steps:
        kind, _, text = step.partition(":")
        want = text.encode()
        if kind == "expect":
            while out.find(want, pos) < 0:
                if not read_more():
                    fail("no %r after %r" % (want, out[:pos]))
            pos = out.find(want, pos) + len(want)
        elif kind == "send":
            os.write(fd, want + b"\n")
        elif kind == "absent":
            while read_more():
                pass
            if want in out:
                fail("%r in the output" % want)
        else:
            fail("unknown step %r" % step)
    while read_more():
        pass
    _, st = os.waitpid(pid, 0)
    if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0:
        fail("exit status %r" % st)
    print(out.decode(errors="replace"))


if __name__ == "__main__":
    main()
