#!/usr/bin/env python3
"""genmail.py DIR COUNT MINSIZE MAXSIZE [SEED]: write COUNT messages into the Maildir DIR/new
with sizes between MINSIZE and MAXSIZE bytes. Bodies include lines that need dot-stuffing, a
lone '.', empty lines, long lines and 8-bit text, so that a fetcher is tested on them."""
import os, random, sys

def main():
    d, count, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rnd = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    os.makedirs(os.path.join(d, "new"), exist_ok=True)
    words = "alpha beta gamma delta tern mail pop3 dovecot fetch maildir".split()
    for i in range(count):
        size = rnd.randint(lo, hi)
        head = ("From: Sender %d <s%d@example.org>\nTo: alice@example.org\n"
                "Subject: message %d of %d\nMessage-ID: <%d.%d@gen.example>\n"
                "Date: Mon, 1 Jan 2024 00:00:00 +0000\n\n" % (i, i, i, count, i, count))
        body = []
        n = len(head)
        k = 0
        while n < size:
            k += 1
            r = k % 17
            if r == 1:
                line = "."
            elif r == 2:
                line = ".. starts with dots"
            elif r == 3:
                line = ""
            elif r == 4:
                line = "caf\u00e9 na\u00efve \u00fcber"
            elif r == 5:
                line = "x" * rnd.randint(100, 900)
            else:
                line = " ".join(rnd.choice(words) for _ in range(rnd.randint(3, 12)))
            body.append(line)
            n += len(line.encode()) + 1
        text = (head + "\n".join(body) + "\n").encode()
        name = "%d.M%dP%d.gen,S=%d" % (1700000000 + i, i, os.getpid(), len(text))
        with open(os.path.join(d, "new", name), "wb") as f:
            f.write(text)

main()
