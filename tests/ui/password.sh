#!/bin/sh
# The password prompt: an account with no password and no password_command. The client asks
# once in the prompt line (nothing echoed), keeps it for the session and hands it to the
# fetch child on a private pipe; `tern fetch` asks on the terminal (a pty here) and, with
# no terminal, fails with a line that says what to set. Against a private dovecot.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/dovecot.sh"

dovecot_setup "$T/dv"
dovecot_fill 3 300 3000 5
dovecot_start

M="$T/Mail"
demo_mail "$M"
write_rc "$T/rc" "$M" '[account a]' 'pop3_host = 127.0.0.1' "pop3_port = $POP3S_PORT" \
    'pop3_user = alice' "tls_ca_file = $T/dv/cert.pem" 'timeout = 5' 'pop3_keep = yes'
inbox() { find "$M/INBOX/new" "$M/INBOX/cur" -type f | wc -l | tr -d ' '; }

# The client asks once, without echo; a refused one is asked again.
start_tern -c "$T/rc"
expect_screen "[32 msgs" "client is up"
keys i
expect_screen "Password for a (alice@127.0.0.1):" "i asks for the missing password"
typetext "wrong"
keys Enter
expect_screen "fetch failed" "a wrong password fails the fetch" 20
expect_screen "Authentication failed" "with the server's reply" 1
keys i
expect_screen "Password for a (alice@127.0.0.1):" "and is asked again"
typetext "secret"
if screen | tail -n 1 | grep -q secret; then fail "the password is not echoed"; else
    pass "the password is not echoed"; fi
keys Enter
expect_screen "fetch: done" "the fetch runs with it" 20
[ "$(inbox)" = 35 ] && pass "3 messages delivered" || fail "3 messages delivered ($(inbox))"
if grep -r secret "$T/tern.err" >/dev/null 2>&1; then fail "the password is in no output"; else
    pass "the password is in no output"; fi
keys i
expect_screen "fetch: done: a: 0 new" "a second fetch does not ask again" 20
expect_no_screen "Password for" "no prompt the second time" 1
keys M
expect_no_screen "secret" "the message log holds no password" 1
keys q Q
expect_restored "Q leaves"

# An empty answer starts nothing.
start_tern -c "$T/rc"
expect_screen "[35 msgs" "client is up again"
keys i
expect_screen "Password for a" "asked again in a new session"
keys Enter
expect_screen "No password given for a: nothing started." "an empty answer starts nothing"
keys Q
expect_restored "Q leaves"

# The command line: asked on the terminal (a pty), no echo; a refused one is asked again
# with the server's reply; without a terminal, a clear line.
ask="expect:password for a (alice@127.0.0.1): "
"$PY" "$TERN_SRCDIR/tests/integration/ptytalk.py" "$TERN" -c "$T/rc" fetch -- \
    "$ask" send:wrong "expect:password refused: " expect:-ERR "$ask" send:secret "expect:0 new" \
    absent:secret >"$T/pty.out" 2>&1 &&
    pass "tern fetch asks on the terminal, without echo, again when refused" ||
    { fail "tern fetch asks on the terminal"; sed 's/^/    /' "$T/pty.out"; }
# setsid: no controlling terminal, so /dev/tty cannot be opened.
setsid "$TERN" -c "$T/rc" fetch </dev/null >"$T/notty.out" 2>&1 && rc=0 || rc=$?
if [ "$rc" != 0 ] && grep -q "account a: no password: set password or password_command" \
    "$T/notty.out"; then pass "without a terminal: a clear line, and failure"; else
    fail "without a terminal: a clear line ($rc)"; cat "$T/notty.out"; fi

expect_clean_stderr
finish
