#!/usr/bin/env python3
"""pop3peer.py MODE PORTFILE LOG CERT KEY: a scripted POP3 server on 127.0.0.1 for what a real
server will not do (STARTTLS injection, stripping, hostile replies, cuts). It writes its port
to PORTFILE, serves connections until killed, and appends every line it receives to LOG so
that a test can check that no credential was ever sent."""
import base64, os, socket, ssl, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

mode, portfile, logpath, cert, key = sys.argv[1:6]
# gate: 150 messages, and RETR 140 waits until the file PORTFILE.go exists (a fetch held
# half-way, its first window delivered, for as long as a test needs)
MSGS = [("uid-%d" % i, ("Subject: peer %d\r\n\r\nbody %d\r\n..dot\r\n" % (i, i)).encode())
        for i in range(1, 151 if mode == "gate" else 6)]


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        l = l.rstrip(b"\r").decode("latin-1")
        with open(logpath, "a") as f:
            f.write("C: %s\n" % l)
        return l

    def tls(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.s = ctx.wrap_socket(self.s, server_side=True)


def capa(c, items):
    c.send("+OK\r\n" + "".join(i + "\r\n" for i in items) + ".\r\n")


def oauth_login(c, words):
    """AUTH XOAUTH2/OAUTHBEARER checked against the test's OAuth2 endpoint (oauthd.py)."""
    import oauthcheck
    mech = words[1].upper() if len(words) > 1 else ""
    if mech not in ("XOAUTH2", "OAUTHBEARER"):
        c.send("-ERR unsupported mechanism\r\n")
        return
    if len(words) > 2:
        resp = words[2]
    else:
        c.send("+ \r\n")
        resp = c.line()
    try:
        got = oauthcheck.parse(mech, base64.b64decode(resp, validate=True))
    except ValueError:
        got = None
    if got is None:
        c.send("-ERR malformed response\r\n")
        return
    res = oauthcheck.check(got[1])
    if res["active"]:
        c.send("+OK logged in as %s\r\n" % got[0])
        return
    c.send("+ %s\r\n" % oauthcheck.error_challenge(res["reason"]))
    c.line()
    c.send("-ERR [AUTH] token refused\r\n")


def serve(c):
    c.send("+OK peer ready\r\n")
    tls_on = False
    cut_done = os.path.exists(portfile + ".cut")
    while True:
        cmd = c.line()
        word = cmd.split(" ")[0].upper()
        if word == "CAPA":
            if mode == "no-capa":
                c.send("-ERR unknown command\r\n")
            elif mode == "no-stls":
                capa(c, ["USER", "UIDL", "PIPELINING"])
            elif mode == "fake-capa" and not tls_on:
                capa(c, ["STLS", "USER"])          # before TLS: USER only
            elif mode == "fake-capa":
                capa(c, ["SASL PLAIN", "UIDL"])    # after TLS: PLAIN only
            elif mode == "oauth":
                capa(c, ["STLS", "UIDL", "PIPELINING", "SASL XOAUTH2 OAUTHBEARER"] if tls_on
                     else ["STLS", "UIDL"])
            else:
                capa(c, ["STLS", "USER", "UIDL", "PIPELINING", "SASL PLAIN"])
        elif word == "STLS":
            if mode == "stls-refused":
                c.send("-ERR STLS not available now\r\n")
            elif mode == "inject-same":
                c.send("+OK Begin TLS\r\n+OK injected\r\n")
                time.sleep(0.5)
                c.tls()
                tls_on = True
            elif mode == "inject-later":
                c.send("+OK Begin TLS\r\n")
                time.sleep(0.05)
                c.send("+OK\r\nUSER\r\n.\r\n+OK forged login\r\n")
                c.tls()
                tls_on = True
            elif mode == "inject-capa":
                c.send("+OK Begin TLS\r\n+OK\r\nSASL PLAIN\r\nUSER\r\n.\r\n")
                c.tls()
                tls_on = True
            else:
                c.send("+OK Begin TLS\r\n")
                c.tls()
                tls_on = True
        elif word == "USER":
            if mode == "fake-capa":
                c.send("-ERR should not have used USER\r\n")
            else:
                c.send("+OK\r\n")
        elif word == "AUTH" and mode == "oauth":
            oauth_login(c, cmd.split(" "))
        elif word in ("PASS", "AUTH", "APOP"):
            if mode == "stall-login":
                time.sleep(30)
            if mode == "trickle-line":
                # one byte every half second, never a line end: every read is in time,
                # the line never is (bounded so that a client without deadlines ends too)
                c.send("+OK ")
                for _ in range(60):
                    c.send("x")
                    time.sleep(0.5)
                c.s.close()
                return
            c.send("+OK logged in\r\n")
        elif word == "STAT":
            c.send("+OK %d %d\r\n" % (len(MSGS), sum(len(m) for _, m in MSGS)))
        elif word == "LIST":
            if mode == "longline":
                c.send("+OK\r\n1 " + "9" * 200000 + "\r\n.\r\n")
            else:
                c.send("+OK\r\n" + "".join("%d %d\r\n" % (i + 1, len(m))
                                          for i, (_, m) in enumerate(MSGS)) + ".\r\n")
        elif word == "UIDL":
            if mode == "uidl-path":
                uids = ["../../escape", "a/b", "..", "/abs", "ok-5"]
            elif mode == "uidl-empty":
                uids = ["x1", "x2", "", "x4", "x5"]
            elif mode == "uidl-dup":
                uids = ["same", "same", "x3", "x4", "x5"]
            else:
                uids = [u for u, _ in MSGS]
            c.send("+OK\r\n" + "".join(("%d %s\r\n" % (i + 1, u)).replace(" \r", "\r")
                                       for i, u in enumerate(uids)) + ".\r\n")
        elif word == "RETR":
            n = int(cmd.split(" ")[1])
            body = MSGS[n - 1][1]
            if mode == "endless":
                c.send("+OK\r\n")
                chunk = b"never ending line\r\n" * 4096
                while True:
                    c.send(chunk)
            if mode == "trickle-body":
                c.send("+OK\r\n")
                for i in range(80):
                    c.send(body[i % len(body):i % len(body) + 1])
                    time.sleep(0.25)
                c.s.close()
                return
            if mode == "stall":
                c.send("+OK\r\n" + "partial\r\n")
                time.sleep(60)
            if mode == "gate" and n == 140:
                while not os.path.exists(portfile + ".go"):
                    time.sleep(0.05)
            if mode == "cut" and n == 3 and not cut_done:
                open(portfile + ".cut", "w").close()
                c.send(b"+OK\r\n" + body[: len(body) // 2])
                c.s.close()
                return
            c.send(b"+OK\r\n" + body + b".\r\n")
        elif word == "DELE":
            c.send("+OK\r\n")
        elif word == "QUIT":
            c.send("+OK bye\r\n")
            return
        else:
            c.send("-ERR unknown\r\n")


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        s, _ = ls.accept()
        try:
            serve(Conn(s))
        except (EOFError, OSError, ssl.SSLError):
            pass
        try:
            s.close()
        except OSError:
            pass


main()
