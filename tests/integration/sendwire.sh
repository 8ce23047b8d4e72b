#!/bin/bash
# tern send and the wire: 8-bit header fields (RFC 2047 encoded words for a server without
# SMTPUTF8, raw with SMTPUTF8 on MAIL FROM for one with it, an 8-bit address refused and the
# message kept) and the per-message DSN parameters of -N, -R and -V reaching the server's
# MAIL and RCPT (tests/integration/smtpd.py --dsn records them).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"
[ -x "$TERN" ] || skip "no tern binary at $TERN"

# seven: no SMTPUTF8, no 8BITMIME, DSN; utf8: aiosmtpd's default (SMTPUTF8, 8BITMIME)
smtpd_start "$T/seven" --no-smtputf8 --no-8bitmime --dsn
SEVEN_PORT=$SMTPD_PORT SEVEN_PID=$SMTPD_PID
smtpd_start "$T/utf8"
UTF8_PORT=$SMTPD_PORT

cat >"$HOME/.mailrc" <<RC
#: [general]
#: mail_root = $T/Mail
#: [account seven]
#: from = Ann Example <ann@example.org>
#: smtp_host = 127.0.0.1
#: smtp_port = $SEVEN_PORT
#: smtp_tls = none
#: dsn_notify = failure
#: timeout = 10
#: [account utf8]
#: from = Ann Example <ann@example.org>
#: smtp_host = 127.0.0.1
#: smtp_port = $UTF8_PORT
#: smtp_tls = none
#: timeout = 10
RC
chmod 600 "$HOME/.mailrc"
mkdir -p "$T/bin"
ln -s "$TERN" "$T/bin/sendmail"
SENDMAIL="$T/bin/sendmail"

# check DIR N WHAT PYTHON-EXPR...: the Nth message the server in DIR stored; each expression
# (over env, the envelope, msg, the bytes, hdr, the header block, and dec(NAME), the field
# decoded with email.header) must hold.
check() {
    dir=$1 n=$2 what=$3; shift 3
    if "$PY" - "$dir/store" "$n" "$@" >"$T/check" 2>&1 <<'PY'
import json, os, re, sys
from email.header import decode_header, make_header
store, n = sys.argv[1], int(sys.argv[2])
base = os.path.join(store, "%06d" % n)
env = json.load(open(base + ".json"))
msg = open(base + ".eml", "rb").read()
hdr = msg.split(b"\r\n\r\n")[0]
def field(name):
    m = re.search(rb"(?im)^" + name.encode() + rb":[ \t]*([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", hdr)
    return m.group(1).replace(b"\r\n", b"").decode("ascii", "replace") if m else None
def dec(name):
    return str(make_header(decode_header(field(name))))
for expr in sys.argv[3:]:
    if not eval(expr):
        sys.exit("failed: %s\n  envelope: %r\n  header: %r" % (expr, env, hdr[:600]))
PY
    then pass "$what"; else fail "$what"; sed 's/^/    /' "$T/check"; fi
}
queued() { find "$T/Mail/.tern/queue" -name '*.state' 2>/dev/null | wc -l | tr -d ' '; }

SUBJ='Grüße aus Köln: ein längerer Betreff, der über achtundsiebzig Zeichen hinausgeht, damit gefaltet wird'
msg8() {
    printf 'From: Jörg Müller <ann@example.org>\nTo: "Bäcker, Bob" <bob@example.org>\n'
    printf 'Subject: %s\nX-Note: naïve (Ωmega)\nMessage-ID: <plain.1@example.org>\n\nbody\n' \
        "$SUBJ"
}

# (a) a raw pipe with an 8-bit Subject and display names, to the server without SMTPUTF8
msg8 | "$TERN" send -a seven bob@example.org >"$T/out" 2>"$T/err" &&
    pass "an 8-bit header goes to a server without SMTPUTF8" || { fail "send: "; cat "$T/err"; }
check "$T/seven" 1 "without SMTPUTF8: the header is 7-bit RFC 2047 and decodes to the same text" \
    "all(b < 128 for b in hdr)" "'SMTPUTF8' not in env['mail_options']" \
    "'=?UTF-8?' in field('Subject')" "dec('Subject') == '''$SUBJ'''" \
    "dec('X-Note') == 'naïve (Ωmega)'" \
    "'<ann@example.org>' in field('From') and dec('From').startswith('Jörg Müller')" \
    "'<bob@example.org>' in field('To') and dec('To').startswith('Bäcker, Bob')" \
    "field('Message-ID') == '<plain.1@example.org>'" \
    "max(len(l) for l in hdr.split(b'\r\n')) <= 78"
[ "$(queued)" = 0 ] && pass "(a) nothing left queued" || fail "(a) $(queued) queued"
# the Sent copy is the stored form: encoding happens on the wire only
grep -rqF "Subject: Grüße aus Köln" "$T/Mail/Sent" && pass "the Sent copy keeps the raw header" ||
    fail "the Sent copy was re-encoded"

# bsd-mailx: its -s subject and the To it writes, through the sendmail link
if command -v bsd-mailx >/dev/null; then
    { printf 'set sendmail=%s\n' "$SENDMAIL"; cat "$HOME/.mailrc"; } >"$T/bsd.rc"
    chmod 600 "$T/bsd.rc"
    printf 'hallo\n' | MAILRC="$T/bsd.rc" bsd-mailx -s 'Grüße' -a 'From: Jörg <ann@example.org>' \
        bob@example.org >"$T/out" 2>"$T/err" || true
    smtpd_wait 2 "$T/seven" && pass "bsd-mailx's message reached the server" ||
        { fail "bsd-mailx: nothing stored"; cat "$T/err"; }
    check "$T/seven" 2 "bsd-mailx -s 'Grüße': an encoded word that decodes back" \
        "all(b < 128 for b in hdr)" "dec('Subject') == 'Grüße'" "dec('From').startswith('Jörg')"
else
    echo "# bsd-mailx not installed: skipped"
fi

# (b) the same to a server with SMTPUTF8: as it is, with SMTPUTF8 on MAIL FROM
msg8 | "$TERN" send -a utf8 bob@example.org >"$T/out" 2>"$T/err" &&
    pass "an 8-bit header goes to a server with SMTPUTF8" || { fail "send: "; cat "$T/err"; }
check "$T/utf8" 1 "with SMTPUTF8: the header as it was, SMTPUTF8 on MAIL FROM" \
    "'SMTPUTF8' in env['mail_options']" \
    "('Subject: ' + '''$SUBJ''').encode() in hdr" \
    "'From: Jörg Müller <ann@example.org>'.encode() in hdr"

# invalid UTF-8 (Latin-1 bytes) to the server with SMTPUTF8: encoded, read as Windows-1252
printf 'Subject: caf\xe9 cr\xe8me\n\nbody\n' | "$TERN" send -a utf8 bob@example.org \
    >"$T/out" 2>"$T/err" && pass "a Latin-1 Subject is sent" || { fail "latin1"; cat "$T/err"; }
check "$T/utf8" 2 "a header that is not UTF-8 goes as encoded words, without SMTPUTF8" \
    "all(b < 128 for b in hdr)" "'SMTPUTF8' not in env['mail_options']" \
    "dec('Subject') == 'café crème'"

# (c) an 8-bit address in a field, no SMTPUTF8: one clear line, the message stays queued
printf 'To: jörg@exämple.org\nSubject: hi\n\nbody\n' >"$T/c.msg"
# (queued is success for sendmail: the exit status is 0, the line says what happened)
expect_status 0 "an 8-bit address without SMTPUTF8: queued, not sent" -- \
    "$TERN" send -a seven bob@example.org <"$T/c.msg"
expect_in "$T/err" "127.0.0.1: the To field has a non-ASCII address (jörg@exämple.org), which only SMTPUTF8 can carry; the server does not offer it" \
    "the error names the field, the address and the server"
[ "$(wc -l <"$T/err")" = 1 ] && pass "one line" || { fail "more than one line"; cat "$T/err"; }
[ "$(queued)" = 1 ] && pass "the message is still queued" || fail "$(queued) queued"
"$TERN" queue >"$T/q" 2>&1
expect_in "$T/q" "non-ASCII address" "tern queue shows why"
id=$(basename "$(ls "$T"/Mail/.tern/queue/*.state)" .state)
"$TERN" queue --delete "$id" >/dev/null && [ "$(queued)" = 0 ] || fail "queue --delete $id"

# (d) -N, -R, -V reach MAIL and RCPT; stored with the queued message (-q, then flush)
before=$(smtpd_stored "$T/seven")
printf 'Subject: dsn\n\nbody\n' | "$TERN" send -q -a seven -N success,failure -R hdrs \
    -V 'env+id=1' bob@example.org carol@example.org 2>"$T/err" &&
    pass "-N -R -V queued" || { fail "-q"; cat "$T/err"; }
grep -q '^dsn-notify SUCCESS,FAILURE$' "$T"/Mail/.tern/queue/*.state &&
    grep -q '^dsn-ret HDRS$' "$T"/Mail/.tern/queue/*.state &&
    grep -q '^dsn-envid env+id=1$' "$T"/Mail/.tern/queue/*.state &&
    pass "the queue state holds them" || fail "the state: $(cat "$T"/Mail/.tern/queue/*.state)"
"$TERN" flush >"$T/out" 2>&1 || { fail "flush"; cat "$T/out"; }
check "$T/seven" $((before + 1)) "-N/-R/-V: NOTIFY on each RCPT, RET and ENVID (xtext) on MAIL" \
    "env['dsn_mail'] == ['RET=HDRS', 'ENVID=env+2Bid+3D1']" \
    "env['dsn_rcpt'] == [['NOTIFY=SUCCESS,FAILURE'], ['NOTIFY=SUCCESS,FAILURE']]"
printf 'Subject: dsn\n\nbody\n' | "$TERN" send -a seven -N never bob@example.org 2>"$T/err" ||
    { fail "-N never"; cat "$T/err"; }
check "$T/seven" $((before + 2)) "-N never is NOTIFY=NEVER, with the queue id as ENVID" \
    "env['dsn_rcpt'] == [['NOTIFY=NEVER']]" "env['dsn_mail'][0].startswith('ENVID=')"
printf 'Subject: dsn\n\nbody\n' | "$TERN" send -a seven bob@example.org 2>"$T/err" ||
    { fail "account dsn"; cat "$T/err"; }
check "$T/seven" $((before + 3)) "without -N the account's dsn_notify" \
    "env['dsn_rcpt'] == [['NOTIFY=FAILURE']]"
expect_status 2 "-N never,success is refused" -- "$TERN" send -N never,success bob@example.org
expect_status 2 "-V with a space is refused" -- "$TERN" send -V 'a b' bob@example.org
finish
