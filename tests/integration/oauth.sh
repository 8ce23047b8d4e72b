#!/bin/bash
# OAuth2 end to end against a local authorization server (oauthd.py, TLS on 127.0.0.1):
# tern auth (device flow, then the browser flow with PKCE), POP3 (pop3peer.py) and SMTP
# (smtpd.py) with XOAUTH2/OAUTHBEARER checked against it, refresh on a refused token and on
# expiry across several token lifetimes, a revoked refresh token, oauth_token_command alone,
# and no token in any output or -v trace.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/smtpd.sh"
command -v curl >/dev/null || skip "curl not installed"
[ -x "$TERN" ] || skip "no tern binary at $TERN"
localhost_cert "$T"

# The authorization server: tokens live 3600 s until the test asks for short ones.
serve oauthd.py "$T/oauthd.port" "$T/oauthd.err" \
    "$PY" "$HERE/oauthd.py" "$T/oauthd.port" "$T/oauthd.log" "$T/cert.pem" "$T/cert.key" 3600
OP=$(cat "$T/oauthd.port")
OURL="https://127.0.0.1:$OP"
export OAUTH_INTROSPECT="$OURL/introspect" OAUTH_CA="$T/cert.pem"
ctl() { curl -sf --cacert "$T/cert.pem" -X POST "$OURL/control/$1" >/dev/null; }
introspect() { curl -sf --cacert "$T/cert.pem" -d "token=$1" "$OURL/introspect"; }

serve pop3peer.py "$T/peer.port" "$T/peer.err" \
    "$PY" "$HERE/pop3peer.py" oauth "$T/peer.port" "$T/peer.log" "$T/cert.pem" "$T/cert.key"
smtpd_start "$T" --tls --oauth

# rc FILE [extra lines]: one account on both servers, OAuth2 endpoints of oauthd.
rc() {
    local f=$1; shift
    {
        printf '[general]\nmail_root = %s\n' "$T/Mail"
        printf '[account work]\nfrom = Ann <ann@example.org>\n'
        printf 'pop3_host = localhost\npop3_port = %s\npop3_tls = starttls\npop3_user = ann\n' \
            "$(cat "$T/peer.port")"
        printf 'smtp_host = localhost\nsmtp_port = %s\nsmtp_tls = starttls\nsmtp_user = ann\n' \
            "$SMTPD_PORT"
        printf 'tls_ca_file = %s\ntimeout = 10\n' "$T/cert.pem"
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$f"
    chmod 600 "$f"
}
rc "$T/rc" "oauth_token_url = $OURL/token" "oauth_device_url = $OURL/device" \
    "oauth_auth_url = $OURL/authorize" "oauth_client_id = tern-test" "oauth_scope = mail" \
    "oauth_ca_file = $T/cert.pem"
TOKFILE="$T/Mail/.tern/oauth/work"
mkdir -p "$T/logs"
n=0
# run NAME WANT DESCRIPTION -- CMD...: like expect_status, keeping every output in $T/logs.
run() {
    local name=$1; shift
    expect_status "$@"
    n=$((n + 1))
    cp "$T/out" "$T/logs/$n-$name.out"
    cp "$T/err" "$T/logs/$n-$name.err"
}
msg() { printf 'From: Ann <ann@example.org>\nTo: bob@example.org\nSubject: %s\n\nbody\n' "$1"; }
send() { msg "$1" | "$TERN" -c "$T/rc" -v send bob@example.org; }
mark() { MARK=$(wc -l <"$T/oauthd.log"); }
since() { tail -n +"$((MARK + 1))" "$T/oauthd.log"; }
access_token() { sed -n 's/^access_token //p' "$TOKFILE"; }

# --- before any authorization ---
run noauth 77 "fetch before tern auth fails" -- "$TERN" -c "$T/rc" fetch
expect_in "$T/err" 'not authorized yet: run `tern auth work`' "the error names tern auth"

# --- 1. first authorization: the device flow, approved after two polls ---
run auth 0 "tern auth (device flow)" -- env -u BROWSER "$TERN" -c "$T/rc" -v auth work
expect_in "$T/err" "WDJB-MJHT" "the user code is shown"
expect_in "$T/err" "https://127.0.0.1/verify" "the verification URI is shown"
[ "$(grep -c '^poll pending' "$T/oauthd.log")" -ge 1 ] && pass "tern polled while pending" ||
    fail "no pending poll"
expect_in "$T/oauthd.log" "poll approved" "the endpoint approved"
[ "$(stat -c %a "$TOKFILE")" = 600 ] && pass "token file is 0600" || fail "token file mode"
[ "$(stat -c %a "$(dirname "$TOKFILE")")" = 700 ] && pass "token dir is 0700" || fail "dir mode"
AT1=$(access_token)
[ -n "$AT1" ] && pass "access token cached" || fail "no access token in $TOKFILE"

# --- 2. fetch and send with it ---
mark
run fetch1 0 "fetch with OAUTHBEARER" -- "$TERN" -c "$T/rc" -v fetch
expect_in "$T/out" "5 new messages" "5 messages fetched"
expect_in "$T/err" "AUTH OAUTHBEARER <redacted>" "the trace redacts the SASL response"
since | grep -q "^introspect $AT1 active" && pass "POP3 server saw the cached token" ||
    fail "POP3 server did not see $AT1"
since | grep -q "^refresh" && fail "refreshed needlessly" || pass "no needless refresh"
run send1 0 "send with OAUTHBEARER" -- send "first"
[ "$(smtpd_stored)" = 1 ] && pass "SMTP server stored the message" || fail "stored $(smtpd_stored)"

# --- 3. a refused token is refreshed once, on POP3 and on SMTP ---
ctl revoke-access
mark
run fetch2 0 "fetch after the access token was revoked" -- "$TERN" -c "$T/rc" -v fetch
since | grep -q "^introspect $AT1 revoked" && pass "the revoked token was tried" ||
    fail "revoked token not tried"
since | grep -q "^refresh rt-1-" && pass "refreshed after the refusal" || fail "no refresh"
AT2=$(access_token)
[ "$AT2" != "$AT1" ] && since | grep -q "^introspect $AT2 active" &&
    pass "the new token was accepted" || fail "new token not used"
ctl revoke-access
mark
run send2 0 "send after the access token was revoked" -- send "second"
since | grep -q "^introspect $AT2 revoked" && since | grep -q "^refresh " &&
    pass "SMTP: refused token refreshed" || fail "SMTP: no refresh after refusal"
[ "$(smtpd_stored)" = 2 ] && pass "second message stored" || fail "stored $(smtpd_stored)"

# --- 4. short lifetimes: renewed before expiry, across several lifetimes, XOAUTH2 ---
sed -i 's/^oauth_scope = mail$/oauth_scope = mail\npop3_auth = xoauth2\nsmtp_auth = xoauth2/' "$T/rc"
curl -sf --cacert "$T/cert.pem" -d seconds=2 "$OURL/control/lifetime" >/dev/null
ctl revoke-access
run fetch3 0 "fetch after switching to 2 s tokens" -- "$TERN" -c "$T/rc" -v fetch
expect_in "$T/err" "AUTH XOAUTH2 <redacted>" "pop3_auth = xoauth2 is used"
# wait_expired TOKEN: until the endpoint itself says the token has expired (no blind sleep)
wait_expired() {
    for _ in $(seq 200); do
        introspect "$1" | grep -q '"expired"' && return 0
        sleep 0.05
    done
    return 1
}
# renewed WHAT OLD: after the run, the old token was not offered and a fresh one was accepted
renewed() {
    local new
    new=$(access_token)
    if since | grep -q "^introspect $2 "; then fail "$1: the expired token was offered"
    elif ! since | grep -q "^refresh "; then fail "$1: no refresh"
    elif [ "$new" = "$2" ] || ! since | grep -q "^introspect $new active"; then
        fail "$1: the new token was not used"
    else pass "$1: renewed before use, the new token accepted"; fi
}
for round in 1 2; do
    OLD=$(access_token)
    wait_expired "$OLD" || fail "token $OLD never expired"
    mark
    run "fetch-r$round" 0 "fetch after lifetime $round" -- "$TERN" -c "$T/rc" -v fetch
    renewed "fetch round $round" "$OLD"
    OLD=$(access_token)
    wait_expired "$OLD" || fail "token $OLD never expired"
    mark
    run "send-r$round" 0 "send after lifetime $round" -- send "round $round"
    renewed "send round $round" "$OLD"
done
[ "$(smtpd_stored)" = 4 ] && pass "every message delivered across token lifetimes" ||
    fail "stored $(smtpd_stored)"

# --- 4b. a token too long for the AUTH line goes after the server's empty challenge ---
curl -sf --cacert "$T/cert.pem" -d chars=2000 "$OURL/control/pad" >/dev/null
ctl revoke-access
: >"$T/peer.log"
run long 0 "fetch with a 2 KB token" -- "$TERN" -c "$T/rc" -v fetch
grep -qx "C: AUTH XOAUTH2" "$T/peer.log" && pass "AUTH without an initial response, then the token" ||
    fail "no bare AUTH line"
[ "$(access_token | wc -c)" -gt 2000 ] && pass "the long token was cached" || fail "short token"
curl -sf --cacert "$T/cert.pem" -d chars=0 "$OURL/control/pad" >/dev/null

# --- 5. a revoked refresh token: one clear line naming tern auth ---
ctl revoke-refresh
run revoked 77 "fetch with a revoked authorization fails" -- "$TERN" -c "$T/rc" fetch
[ "$(wc -l <"$T/err")" = 1 ] && pass "one line" || { fail "$(wc -l <"$T/err") lines"; cat "$T/err"; }
expect_in "$T/err" 'run `tern auth work` again' "the line names tern auth"
expect_in "$T/err" "invalid_grant" "the line gives the endpoint's reason"
# (the endpoint's description ends with U+202E and U+009B: shown, never raw; issue 14, item 2)
expect_in "$T/err" "revoked.<U+202E><U+009B>2J" "the endpoint's bidi and C1 controls are shown"
grep -q "$(printf '\342\200\256')" "$T/err" && fail "a raw U+202E reached stderr" ||
    pass "no raw bidi control on stderr"
run revoked-send 0 "send with a revoked authorization keeps the message queued" -- send "queued"
expect_in "$T/err" 'tern auth work' "send names tern auth too"
[ "$(find "$T/Mail/.tern/queue" -name '*.state' | wc -l)" = 1 ] && pass "one message queued" ||
    fail "queue: $(find "$T/Mail/.tern/queue" -name '*.state' | wc -l)"

# --- 6. authorize again, with the browser flow (PKCE, loopback redirect) ---
curl -sf --cacert "$T/cert.pem" -d seconds=3600 "$OURL/control/lifetime" >/dev/null
cat >"$T/browser.sh" <<SH
#!/bin/sh
# A "browser" that follows the authorization redirect to tern's loopback listener.
exec curl -s -L --cacert "$T/cert.pem" -o "$T/browser.out" "\$1"
SH
chmod +x "$T/browser.sh"
mark
run browser 0 "tern auth with \$BROWSER (code flow with PKCE)" -- \
    env BROWSER="$T/browser.sh" "$TERN" -c "$T/rc" -v auth work
since | grep -q "^authorize code-" && since | grep -q "^issue " &&
    pass "the code was exchanged with its verifier" || fail "no code exchange"
expect_in "$T/browser.out" "tern has the authorization" "the browser got the answer page"
run fetch-after 0 "fetch after authorizing again" -- "$TERN" -c "$T/rc" -v fetch
run flush 0 "the queued message goes out" -- "$TERN" -c "$T/rc" -v flush --all
[ "$(smtpd_stored)" = 5 ] && pass "queued message delivered" || fail "stored $(smtpd_stored)"

# --- 7. oauth_token_command alone ---
rc "$T/rc2" "oauth_token_command = sed -n 's/^access_token //p' $TOKFILE"
mark
run cmd-fetch 0 "fetch with oauth_token_command" -- "$TERN" -c "$T/rc2" -v fetch
since | grep -q "^introspect $(access_token) active" && pass "the command's token was used" ||
    fail "command token not seen"
run cmd-send 0 "send with oauth_token_command" -- \
    sh -c 'printf "Subject: c\n\nx\n" | "$0" -c "$1" -v send bob@example.org' "$TERN" "$T/rc2"
[ "$(smtpd_stored)" = 6 ] && pass "sent with the command's token" || fail "stored $(smtpd_stored)"
rc "$T/rc3" "oauth_token_command = echo bogus-token"
: >"$T/peer.log"
run cmd-bad 77 "a refused command token fails" -- "$TERN" -c "$T/rc3" fetch
[ "$(grep -c '^C: AUTH' "$T/peer.log")" = 2 ] && pass "the command ran again and was tried once more" ||
    fail "$(grep -c '^C: AUTH' "$T/peer.log") AUTH attempts"
expect_in "$T/err" "token refused (status invalid_request" "the JSON error reply is decoded"
rm -rf "$T/Mail/.tern/queue" "$T/Mail/Outbox"
run cmd-bad-send 0 "send with a refused command token keeps it queued" -- \
    sh -c 'printf "Subject: c\n\nx\n" | "$0" -c "$1" send bob@example.org' "$TERN" "$T/rc3"
expect_in "$T/err" "authentication (OAUTHBEARER) as ann failed: token refused (status invalid_request" \
    "SMTP: the JSON error reply is decoded"
run describe 0 "check-config" -- "$TERN" -c "$T/rc" check-config
rc "$T/rc5" "oauth_provider = google" "oauth_client_id = x" "oauth_client_secret = hush-hush"
run describe5 0 "check-config with a client secret" -- "$TERN" -c "$T/rc5" check-config
expect_not_in "$T/out" "hush-hush" "the client secret is masked"
expect_in "$T/out" "oauth_provider         = google" "the provider is shown"

# --- 8. no token in any output or trace ---
leaks=0
for tok in $(grep -oE '(at|rt)-[0-9]+-[0-9a-f]+' "$T/oauthd.log" | sort -u); do
    if grep -rqF -- "$tok" "$T/logs"; then leaks=$((leaks + 1)); echo "    leaked: $tok"; fi
done
ntok=$(grep -oE '(at|rt)-[0-9]+-[0-9a-f]+' "$T/oauthd.log" | sort -u | wc -l)
[ "$leaks" = 0 ] && [ "$ntok" -ge 10 ] && pass "none of $ntok tokens in $(ls "$T/logs" | wc -l) outputs" ||
    fail "$leaks of $ntok tokens leaked"
grep -q "oauth > POST $OURL/token" "$T"/logs/*.err && pass "the trace shows the token endpoint" ||
    fail "no oauth trace"
finish
