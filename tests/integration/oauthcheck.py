"""Token checks for the test mail servers: ask oauthd.py's /introspect whether a bearer token
is active. Environment: OAUTH_INTROSPECT (URL), OAUTH_CA (its certificate)."""
import base64, json, os, ssl, urllib.parse, urllib.request


def check(token):
    url = os.environ["OAUTH_INTROSPECT"]
    ctx = ssl.create_default_context(cafile=os.environ["OAUTH_CA"])
    data = urllib.parse.urlencode({"token": token}).encode()
    with urllib.request.urlopen(url, data=data, context=ctx, timeout=10) as r:
        return json.load(r)


def parse(mech, raw):
    """(user, token) from a decoded XOAUTH2 or OAUTHBEARER initial response, or None."""
    try:
        s = raw.decode()
        if mech == "XOAUTH2":
            kv = dict(p.split("=", 1) for p in s.split("\x01") if p)
            user = kv["user"]
        else:
            gs2, rest = s.split("\x01", 1)
            if not gs2.startswith("n,a="):
                return None
            user = gs2[4:].rstrip(",").replace("=2C", ",").replace("=3D", "=")
            kv = dict(p.split("=", 1) for p in rest.split("\x01") if p)
            if "host" not in kv or "port" not in kv:
                return None
        auth = kv["auth"]
        if not auth.startswith("Bearer "):
            return None
        return user, auth[7:]
    except (ValueError, KeyError, UnicodeDecodeError):
        return None


def error_challenge(reason):
    """The base64 JSON a server sends when it refuses a token (RFC 7628 section 3.2.2)."""
    body = {"status": "invalid_token" if reason != "unknown" else "invalid_request",
            "schemes": "bearer", "scope": "mail", "reason": reason}
    return base64.b64encode(json.dumps(body).encode()).decode()
