#!/bin/bash
# tern as sendmail: the exact calls of Debian cron, s-nail, bsd-mailx and git send-email
# deliver through the queue to the test SMTP server (tests/integration/smtpd.py); options
# after the recipients are refused. The real mailx programs are pointed at a `sendmail` link
# to tern and never at the system's sendmail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtpd.sh"
[ -x "$TERN" ] || skip "no tern binary at $TERN"
smtpd_start "$T" --tls --auth

# ~/.mailrc in the '#:' form, with the alias cron's USER needs.
cat >"$HOME/.mailrc" <<RC
alias ann ann@example.org
#: [general]
#: mail_root = $T/Mail
#: [account work]
#: from = Ann Example <ann@example.org>
#: smtp_host = 127.0.0.1
#: smtp_port = $SMTPD_PORT
#: smtp_user = ann
#: smtp_password = s3cret
#: tls_ca_file = $T/cert.pem
#: timeout = 10
RC
chmod 600 "$HOME/.mailrc"
mkdir -p "$T/bin"
ln -s "$TERN" "$T/bin/sendmail"
SENDMAIL="$T/bin/sendmail"

# check N WHAT PYTHON-EXPR...: the server's Nth message; each expression (over env, the
# envelope, and msg, the message bytes) must hold.
check() {
    n=$1; what=$2; shift 2
    if "$PY" - "$T/store" "$n" "$@" >"$T/check" 2>&1 <<'PY'
import json, os, sys
store, n = sys.argv[1], int(sys.argv[2])
base = os.path.join(store, "%06d" % n)
env = json.load(open(base + ".json"))
msg = open(base + ".eml", "rb").read()
for expr in sys.argv[3:]:
    if not eval(expr):
        sys.exit("failed: %s\n  envelope: %r\n  message: %r" % (expr, env, msg[:400]))
PY
    then pass "$what"; else fail "$what"; sed 's/^/    /' "$T/check"; fi
}
queued() { find "$T/Mail/.tern/queue" -name '*.state' 2>/dev/null | wc -l; }

# 1. Debian cron, exactly: sendmail -FCronDaemon -i -B8BITMIME -oem USER
printf 'From: root (Cron Daemon)\nTo: ann\nSubject: Cron <ann@host> date\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n\nTue Dec  1 caf\xc3\xa9\n.\nafter a lone dot\n' \
    >"$T/cron.msg"
expect_status 0 "cron's call delivers" -- \
    "$SENDMAIL" -FCronDaemon -i -B8BITMIME -oem ann <"$T/cron.msg"
[ "$(smtpd_stored)" = 1 ] && pass "cron's message reached the server" ||
    fail "cron: $(smtpd_stored) stored"
check 1 "cron: envelope from the account, USER through the alias, 8BITMIME" \
    "env['mail_from'] == 'ann@example.org'" "env['rcpt_tos'] == ['ann@example.org']" \
    "'BODY=8BITMIME' in env['mail_options']"
check 1 "cron: -i keeps the lone dot line; header kept, Date and Message-ID added" \
    "b'\r\n..\r\nafter a lone dot' in msg or b'\r\n.\r\nafter a lone dot' in msg" \
    "b'From: root (Cron Daemon)' in msg" "b'\r\nDate: ' in b'\r\n' + msg" \
    "b'Message-ID: <' in msg" "b'X-Cron-Env: <SHELL=/bin/sh>' in msg"
[ "$(queued)" = 0 ] && pass "cron: nothing left in the queue" || fail "cron: $(queued) queued"

# -F names the sender when tern writes the From field
printf 'Subject: no from\n\nbody\n' | "$SENDMAIL" -F "Backup Job" -f ann@example.org \
    bob@example.org >"$T/out" 2>"$T/err" && pass "-F with -f delivers" || fail "-F: $(cat "$T/err")"
check 2 "-F NAME becomes the name of the From field tern writes; envelope from -f" \
    "b'From: Backup Job <ann@example.org>' in msg" "env['mail_from'] == 'ann@example.org'" \
    "env['rcpt_tos'] == ['bob@example.org']"
# a name that is not ASCII (and has a comma) is RFC 2047-encoded, never sent raw
printf 'Subject: nightly\n\nbody\n' | "$SENDMAIL" -F "Müller, Jörg" -f ann@example.org \
    bob@example.org >"$T/out" 2>"$T/err" && pass "-F with UTF-8 delivers" || fail "-F: $(cat "$T/err")"
check 3 "-F NAME in UTF-8 is an encoded word that decodes to the name" \
    "all(b < 128 for b in msg.split(b'\\r\\n\\r\\n')[0])" \
    "__import__('email').message_from_bytes(msg, policy=__import__('email.policy').policy.default)['From'].addresses[0].display_name == 'Müller, Jörg'" \
    "__import__('email').message_from_bytes(msg, policy=__import__('email.policy').policy.default)['From'].addresses[0].addr_spec == 'ann@example.org'"

# 2. s-nail: sendmail -i [args] -- rcpt (the real s-nail, mta set to the link)
if command -v s-nail >/dev/null; then
    before=$(smtpd_stored)
    # s-nail reads the file tern reads (and stays silent on its '#:' lines) and passes
    # MAILRC on; it resets HOME to the passwd entry for its children, so name the file
    printf 'hello from s-nail\n' | MAILRC="$HOME/.mailrc" s-nail -n -S mta="$SENDMAIL" \
        -S from=ann@example.org -s 'via s-nail' bob@example.org carol@example.org \
        >"$T/out" 2>"$T/err" || true
        [ "$(smtpd_stored)" = $((before + 1)) ] && pass "s-nail's message reached the server" ||
        { fail "s-nail: nothing stored"; cat "$T/err"; }
    [ -s "$T/err" ] && { fail "s-nail printed something"; cat "$T/err"; } ||
        pass "s-nail (reading the shared ~/.mailrc) and tern print nothing"
    check $((before + 1)) "s-nail: both recipients, subject and body" \
        "sorted(env['rcpt_tos']) == ['bob@example.org', 'carol@example.org']" \
        "env['mail_from'] == 'ann@example.org'" "b'Subject: via s-nail' in msg" \
        "b'hello from s-nail' in msg"
else
    echo "# s-nail not installed: skipped"
fi

# 3. bsd-mailx: sendmail -i -t (the real bsd-mailx, its sendmail variable set to the link)
if command -v bsd-mailx >/dev/null; then
    before=$(smtpd_stored)
    # $MAILRC names one file for both: bsd-mailx's sendmail variable, then tern's settings
    { printf 'set sendmail=%s\n' "$SENDMAIL"; cat "$HOME/.mailrc"; } >"$T/bsd.rc"
    chmod 600 "$T/bsd.rc"
    printf 'hello from bsd-mailx\n' | MAILRC="$T/bsd.rc" bsd-mailx -s 'via bsd-mailx' \
        -c dave@example.org bob@example.org >"$T/out" 2>"$T/err" || true
    [ "$(smtpd_stored)" = $((before + 1)) ] && pass "bsd-mailx's message reached the server" ||
        { fail "bsd-mailx: nothing stored"; cat "$T/out" "$T/err"; }
    check $((before + 1)) "bsd-mailx: -t takes To and Cc; envelope from the account" \
        "sorted(env['rcpt_tos']) == ['bob@example.org', 'dave@example.org']" \
        "env['mail_from'] == 'ann@example.org'" "b'Subject: via bsd-mailx' in msg" \
        "b'From: Ann Example <ann@example.org>' in msg"
else
    echo "# bsd-mailx not installed: skipped"
fi

# 4. git send-email --smtp-server=PATH (package git-email)
if git send-email -h >/dev/null 2>&1 || [ -x "$(git --exec-path)/git-send-email" ]; then
    before=$(smtpd_stored)
    git init -q "$T/repo"
    (cd "$T/repo" && git config user.name 'Ann Example' && git config user.email ann@example.org &&
     echo hi >file && git add file && git commit -q -m 'add a file' &&
     git format-patch -q -1 -o "$T/patches")
    (cd "$T/repo" && git send-email --smtp-server="$SENDMAIL" --to=bob@example.org \
        --from='Ann Example <ann@example.org>' --envelope-sender=ann@example.org \
        --confirm=never --suppress-cc=all --no-validate --quiet "$T"/patches/*.patch) \
        >"$T/out" 2>"$T/err" || true
    [ "$(smtpd_stored)" = $((before + 1)) ] && pass "git send-email's patch reached the server" ||
        { fail "git send-email: nothing stored"; cat "$T/out" "$T/err"; }
    check $((before + 1)) "git send-email: -f envelope, recipient, the patch" \
        "env['mail_from'] == 'ann@example.org'" "env['rcpt_tos'] == ['bob@example.org']" \
        "b'Subject: [PATCH] add a file' in msg" "b'+hi' in msg"
else
    echo "# git send-email not installed: skipped"
fi

# Options come before recipients: nothing is sent, the error says why.
before=$(smtpd_stored)
printf 'Subject: x\n\nx\n' >"$T/x.msg"
expect_status 2 "an option after a recipient is refused" -- \
    "$TERN" send bob@example.org -f e@example.org <"$T/x.msg"
expect_in "$T/err" "tern send: '-f' after the recipients: options come first (nothing was sent)" \
    "the error names the option"
expect_status 2 "the same through the link" -- "$SENDMAIL" bob@example.org -v <"$T/x.msg"
expect_in "$T/err" "sendmail: '-v' after the recipients" "the link's error names itself"
[ "$(smtpd_stored)" = "$before" ] && [ "$(queued)" = 0 ] && pass "nothing was queued or sent" ||
    fail "a refused command line sent or queued mail"
expect_status 2 "-bp is refused" -- "$SENDMAIL" -bp
expect_status 0 "--help" -- "$TERN" send --help
expect_in "$T/out" "usage: tern send" "send --help prints the usage on stdout"

finish
