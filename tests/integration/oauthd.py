#!/usr/bin/python3
"""oauthd.py PORTFILE LOG CERT KEY LIFETIME: a local OAuth2 authorization server on 127.0.0.1
over TLS for tern's tests. It issues, refreshes (rotating the refresh token), expires (access
tokens live LIFETIME seconds) and revokes tokens, and lets the test servers check them.

  POST /device      device authorization (RFC 8628): approved after APPROVE_AFTER polls
  GET  /authorize   code flow: redirects at once to redirect_uri with code and state (PKCE)
  POST /token       grants: device_code, authorization_code (S256 verifier), refresh_token
  POST /introspect  token=T: {"active": true|false, "reason": ...} (RFC 7662-like)
  POST /control/lifetime        seconds=N: the lifetime of access tokens issued from now
  POST /control/pad             chars=N: access tokens get N more characters
  POST /control/revoke-access   every access token issued so far stops working
  POST /control/revoke-refresh  every refresh token (and access token) stops working
  GET  /state       the log so far (tests read LOG directly, this is for debugging)

Every event is appended to LOG as one line: "issue ACCESS REFRESH", "refresh OLD -> ACCESS",
"introspect TOKEN active|expired|revoked|unknown", "poll pending|approved", "refused ...".
"""
import base64, hashlib, http.server, json, os, secrets, ssl, sys, threading, time
import urllib.parse

portfile, logpath, cert, key, lifetime = sys.argv[1:6]
LIFETIME = float(lifetime)
APPROVE_AFTER = int(os.environ.get("OAUTHD_APPROVE_AFTER", "2"))
CLIENT_ID = os.environ.get("OAUTHD_CLIENT_ID", "tern-test")
lock = threading.Lock()
access = {}     # token -> {"expires": t, "revoked": bool}
refresh = {}    # token -> {"revoked": bool}
devices = {}    # device_code -> polls
codes = {}      # code -> (challenge, redirect_uri)
counter = [0]
PAD = [0]       # extra characters in access tokens (real ones are 1-3 KB)


def log(line):
    with open(logpath, "a") as f:
        f.write(line + "\n")


def issue(reply_refresh=True):
    counter[0] += 1
    n = counter[0]
    at = "at-%d-%s" % (n, secrets.token_hex(6)) + ("." + "p" * PAD[0] if PAD[0] else "")
    rt = "rt-%d-%s" % (n, secrets.token_hex(6))
    access[at] = {"expires": time.time() + LIFETIME, "revoked": False}
    refresh[rt] = {"revoked": False}
    body = {"access_token": at, "token_type": "Bearer", "expires_in": int(LIFETIME),
            "refresh_token": rt, "scope": "mail"}
    return at, rt, body


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def form(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n).decode()
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        if u.path == "/authorize":
            if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256":
                return self.reply(400, {"error": "invalid_request"})
            code = "code-" + secrets.token_hex(8)
            with lock:
                codes[code] = (q["code_challenge"], q["redirect_uri"])
            log("authorize %s" % code)
            loc = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                {"code": code, "state": q.get("state", "")})
            self.send_response(302)
            self.send_header("Location", loc)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if u.path == "/state":
            with open(logpath) as f:
                data = f.read().encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.reply(404, {"error": "not_found"})

    def do_POST(self):
        f = self.form()
        path = self.path
        with lock:
            if path == "/device":
                if f.get("client_id") != CLIENT_ID:
                    return self.reply(401, {"error": "invalid_client"})
                dc = "dc-" + secrets.token_hex(8)
                devices[dc] = 0
                log("device %s" % dc)
                return self.reply(200, {"device_code": dc, "user_code": "WDJB-MJHT",
                                        "verification_uri": "https://127.0.0.1/verify",
                                        "expires_in": 60, "interval": 1})
            if path == "/token":
                g = f.get("grant_type")
                if f.get("client_id") != CLIENT_ID:
                    log("refused client")
                    return self.reply(401, {"error": "invalid_client"})
                if g == "urn:ietf:params:oauth:grant-type:device_code":
                    dc = f.get("device_code")
                    if dc not in devices:
                        return self.reply(400, {"error": "expired_token"})
                    devices[dc] += 1
                    if devices[dc] < APPROVE_AFTER:
                        log("poll pending")
                        return self.reply(400, {"error": "authorization_pending"})
                    del devices[dc]
                    at, rt, body = issue()
                    log("poll approved")
                    log("issue %s %s" % (at, rt))
                    return self.reply(200, body)
                if g == "authorization_code":
                    c = codes.pop(f.get("code"), None)
                    v = f.get("code_verifier", "")
                    want = base64.urlsafe_b64encode(
                        hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
                    if c is None or c[0] != want or c[1] != f.get("redirect_uri"):
                        log("refused code")
                        return self.reply(400, {"error": "invalid_grant"})
                    at, rt, body = issue()
                    log("issue %s %s" % (at, rt))
                    return self.reply(200, body)
                if g == "refresh_token":
                    old = f.get("refresh_token")
                    r = refresh.get(old)
                    if r is None or r["revoked"]:
                        log("refused refresh %s" % old)
                        return self.reply(400, {"error": "invalid_grant",
                                                "error_description": "Token has been expired "
                                                "or revoked.\u202e\u009b2J"})
                    r["revoked"] = True          # rotation: the old one is used up
                    at, rt, body = issue()
                    log("refresh %s -> %s %s" % (old, at, rt))
                    return self.reply(200, body)
                return self.reply(400, {"error": "unsupported_grant_type"})
            if path == "/introspect":
                t = f.get("token", "")
                a = access.get(t)
                if a is None:
                    why = "unknown"
                elif a["revoked"]:
                    why = "revoked"
                elif a["expires"] < time.time():
                    why = "expired"
                else:
                    why = "active"
                log("introspect %s %s" % (t, why))
                return self.reply(200, {"active": why == "active", "reason": why})
            if path == "/control/lifetime":
                global LIFETIME
                LIFETIME = float(f["seconds"])
                log("control lifetime %s" % f["seconds"])
                return self.reply(200, {})
            if path == "/control/pad":
                PAD[0] = int(f["chars"])
                log("control pad %s" % f["chars"])
                return self.reply(200, {})
            if path == "/control/revoke-access":
                for a in access.values():
                    a["revoked"] = True
                log("control revoke-access")
                return self.reply(200, {})
            if path == "/control/revoke-refresh":
                for a in access.values():
                    a["revoked"] = True
                for r in refresh.values():
                    r["revoked"] = True
                log("control revoke-refresh")
                return self.reply(200, {})
        self.reply(404, {"error": "not_found"})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(logpath, "a").close()
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
