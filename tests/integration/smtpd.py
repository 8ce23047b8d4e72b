#!/usr/bin/python3
"""SMTP test server for tern's integration tests and benchmark (Debian's python3-aiosmtpd).

Binds 127.0.0.1 on a free port (written to --port-file), offers STARTTLS with --cert/--key,
PIPELINING, SIZE, 8BITMIME, SMTPUTF8 and AUTH PLAIN/LOGIN (after STARTTLS) when --user is
given, AUTH XOAUTH2/OAUTHBEARER checked against oauthd.py with --oauth. Each accepted message is stored as STORE/N.eml (the DATA content exactly as received,
dot-unstuffed, CRLF kept) with STORE/N.json (mail_from, rcpt_tos, mail_options).

Extensions: --no-smtputf8 and --no-8bitmime leave those out of EHLO (SMTPUTF8 is then refused
on MAIL); --dsn offers DSN and stores the RET/ENVID of MAIL as dsn_mail and the NOTIFY/ORCPT
of each RCPT as dsn_rcpt in N.json (aiosmtpd itself refuses those parameters).

Faults: --temp-fail K (the first K transactions get --temp-code, 451 or 421, after DATA),
--reject-rcpt ADDR (550 for that recipient), --size N (SIZE limit), --drop-after-data K (the
first K transactions: connection closed after the content, no reply). Modes: --mode silent
accepts connections and never greets; --mode inject answers STARTTLS with "220" plus a forged
EHLO reply in the same packet and records what the client sends next in --log.
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def raw_server(args, port):
    """The silent and inject modes: a plain socket server, one thread per client."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    write_port(args.port_file, port)

    def readline(f):
        line = f.readline()
        return line.decode("latin-1").rstrip("\r\n") if line else None

    def client(c):
        try:
            if args.mode == "silent":
                c.settimeout(60)
                while c.recv(4096):
                    pass
                return
            f = c.makefile("rb")
            c.sendall(b"220 localhost ESMTP inject\r\n")
            readline(f)
            c.sendall(b"250-localhost\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n")
            cmd = readline(f)
            if cmd and cmd.upper() == "STARTTLS":
                c.sendall(b"220 2.0.0 go ahead\r\n250-localhost\r\n250 AUTH PLAIN LOGIN\r\n")
            c.settimeout(5)
            rest = b""
            try:
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    rest += d
            except (socket.timeout, OSError):
                pass
            if args.log:
                with open(args.log, "ab") as lf:
                    lf.write(b"after-starttls: " + repr(rest).encode() + b"\n")
        finally:
            c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=client, args=(c,), daemon=True).start()


class Handler:
    def __init__(self, args):
        self.args = args
        self.transactions = 0
        self.stored = 0
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        responses.insert(1, "250-PIPELINING")
        responses.insert(1, "250-ENHANCEDSTATUSCODES")
        if self.args.dsn:
            responses.insert(1, "250-DSN")
        if self.args.no_8bitmime:
            responses = [r for r in responses if r != "250-8BITMIME"]
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.args.reject_rcpt and address.lower() == self.args.reject_rcpt.lower():
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.transactions += 1
            n = self.transactions
        if n <= self.args.drop_after_data:
            server.transport.abort()
            return "250 2.0.0 (dropped)"
        if n <= self.args.temp_fail:
            if self.args.temp_code == 421:
                return "421 4.3.2 Service shutting down, try later"
            return "451 4.3.0 Temporary failure, try again later"
        with self.lock:
            self.stored += 1
            k = self.stored
        os.makedirs(self.args.store, exist_ok=True)
        base = os.path.join(self.args.store, "%06d" % k)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "mail_options": envelope.mail_options,
                       "dsn_mail": getattr(envelope, "dsn_mail", []),
                       "dsn_rcpt": getattr(envelope, "dsn_rcpt", []),
                       "tls": session.ssl is not None}, f)
        os.rename(base + ".json.tmp", base + ".json")
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Ok: queued as %06d" % k


class OAuthHandler(Handler):
    """Handler with AUTH XOAUTH2 and OAUTHBEARER, tokens checked against oauthd.py."""

    async def _oauth(self, server, args, mech):
        import base64
        import oauthcheck
        from aiosmtpd.smtp import AuthResult, MISSING
        if len(args) > 1:
            try:
                raw = base64.b64decode(args[1], validate=True)
            except ValueError:
                return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot decode base64")
        else:
            raw = await server.challenge_auth("")
            if raw is MISSING:
                return AuthResult(success=False, handled=True)
        got = oauthcheck.parse(mech, raw)
        if got is None:
            return AuthResult(success=False, handled=False, message="501 5.5.2 malformed response")
        res = oauthcheck.check(got[1])
        if res["active"]:
            return AuthResult(success=True, auth_data=got[0])
        await server.challenge_auth(oauthcheck.error_challenge(res["reason"]), encode_to_b64=False)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Username and Password not accepted")

    async def auth_XOAUTH2(self, server, args):
        return await self._oauth(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server, args):
        return await self._oauth(server, args, "OAUTHBEARER")


def split_params(arg, names):
    """The words of a MAIL/RCPT argument: (the argument without the parameters called names,
    those parameters as "NAME=value" in the order given)."""
    words = (arg or "").split(" ")
    keep, taken = [], []
    for w in words:
        if w and w.split("=", 1)[0].upper() in names:
            taken.append(w)
        else:
            keep.append(w)
    return " ".join(keep), taken


def dsn_controller(args):
    """A Controller whose SMTP takes the DSN parameters (RFC 3461) and records them."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    class DSNSMTP(SMTP):
        async def smtp_MAIL(self, arg):
            if args.dsn:
                arg, taken = split_params(arg, ("RET", "ENVID"))
            await super().smtp_MAIL(arg)
            if args.dsn and self.envelope.mail_from:
                self.envelope.dsn_mail = taken
                self.envelope.dsn_rcpt = []

        async def smtp_RCPT(self, arg):
            taken = []
            if args.dsn:
                arg, taken = split_params(arg, ("NOTIFY", "ORCPT"))
            await super().smtp_RCPT(arg)
            if args.dsn and hasattr(self.envelope, "dsn_rcpt"):
                self.envelope.dsn_rcpt.append(taken)

    class DSNController(Controller):
        def factory(self):
            return DSNSMTP(self.handler, **self.SMTP_kwargs)

    return DSNController


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--store", default=None)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--mode", default="smtp", choices=["smtp", "silent", "inject"])
    ap.add_argument("--log")
    ap.add_argument("--temp-fail", type=int, default=int(os.environ.get("SMTPD_TEMP_FAIL", 0)))
    ap.add_argument("--temp-code", type=int, default=451, choices=[421, 451])
    ap.add_argument("--reject-rcpt", default=os.environ.get("SMTPD_REJECT_RCPT"))
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--drop-after-data", type=int, default=0)
    ap.add_argument("--require-starttls", action="store_true")
    ap.add_argument("--no-smtputf8", action="store_true")
    ap.add_argument("--no-8bitmime", action="store_true")
    ap.add_argument("--dsn", action="store_true")
    ap.add_argument("--oauth", action="store_true",
                    help="AUTH XOAUTH2/OAUTHBEARER (env OAUTH_INTROSPECT, OAUTH_CA)")
    args = ap.parse_args()
    port = free_port()
    if args.mode != "smtp":
        raw_server(args, port)
        return
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    os.makedirs(args.store, exist_ok=True)
    kw = {}
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)
        kw["tls_context"] = ctx
        kw["require_starttls"] = args.require_starttls
    if args.user:
        def auth(server, session, envelope, mechanism, data):
            ok = (isinstance(data, LoginPassword) and
                  data.login == args.user.encode() and data.password == args.password.encode())
            # one line per attempt in the log, so that tests can count logins
            print("AUTH %s %s" % (mechanism, "ok" if ok else "refused"), flush=True)
            return AuthResult(success=ok, handled=False)
        kw["authenticator"] = auth
        kw["auth_require_tls"] = bool(args.cert)
        kw["auth_required"] = True
    if args.oauth:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        kw["auth_required"] = True
        kw["auth_require_tls"] = bool(args.cert)
    handler = (OAuthHandler if args.oauth else Handler)(args)
    ctl = dsn_controller(args)(handler, hostname="127.0.0.1", port=port,
                               server_hostname="localhost", data_size_limit=args.size or None,
                               enable_SMTPUTF8=not args.no_smtputf8, decode_data=False, **kw)
    ctl.start()
    write_port(args.port_file, port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.is_set():
        stop.wait(1)
    ctl.stop()


if __name__ == "__main__":
    main()
