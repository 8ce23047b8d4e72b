#!/bin/sh
# new_mail_command after tern fetch from a private dovecot: run once per fetch that delivered
# mail, with the count, folder, senders and subjects in the environment; hostile subjects
# ($(...), backticks, raw and encoded escape sequences) inject no command and no control byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dovecot.sh"

dovecot_setup "$T/dv"

# Four hostile messages: the words are built here so that the paths point into $T.
python3 - "$DOVECOT_MAILDIR/new" "$T" <<'PY'
import base64, os, sys
d, t = sys.argv[1], sys.argv[2]
esc = "\x1b]2;pwned\x07\x1b[2J\x1b]777;notify;x;y\x07"
enc = "=?UTF-8?B?%s?=" % base64.b64encode(("caf\u00e9 \x1b[31mred\u009b2J " + "\x07").encode()).decode()
msgs = [
    ("Mallory <m@example.org>", "$(touch %s/pwned1)" % t),
    ("\"`touch %s/pwned2`\" <b@example.org>" % t, "`touch %s/pwned3` and $HOME" % t),
    ("Esc <e@example.org>", "raw " + esc + " end"),
    ("=?UTF-8?Q?=1B]0;x=07Eve?= <eve@example.org>", enc + "; touch %s/pwned4" % t),
]
for i, (frm, subj) in enumerate(msgs):
    with open(os.path.join(d, "%d.msg" % i), "wb") as f:
        f.write(("From: %s\nTo: alice@example.org\nSubject: %s\nDate: Tue, 1 Dec 2026 10:0%d:00 +0000\n"
                 "Message-ID: <n%d@example.org>\n\nbody %d\n" % (frm, subj, i, i, i)).encode("utf-8"))
PY
dovecot_own
dovecot_start

cat >"$T/notify.sh" <<SH
#!/bin/sh
# the user's script: record the environment and that it ran
echo run >>"$T/runs"
env | grep '^TERN_' | sort >"$T/env.out"
SH
chmod +x "$T/notify.sh"
{
    echo "[general]"; echo "mail_root = $T/Mail"; echo "new_mail_command = $T/notify.sh"
    echo "[account a]"; echo "pop3_host = 127.0.0.1"; echo "pop3_port = $POP3_PORT"
    echo "pop3_tls = starttls"; echo "pop3_user = alice"; echo "password = secret"
    echo "tls_ca_file = $T/dv/cert.pem"; echo "pop3_keep = yes"
} >"$T/rc"
chmod 600 "$T/rc"

expect_status 0 "fetch delivers four hostile messages" -- "$TERN" -c "$T/rc" fetch
expect_in "$T/out" "a: 4 new messages" "four new"
[ "$(wc -l <"$T/runs")" = 1 ] && pass "new_mail_command ran once" || fail "ran $(wc -l <"$T/runs") times"
expect_in "$T/env.out" "TERN_NEW_COUNT=4" "the count"
expect_in "$T/env.out" "TERN_FOLDER=INBOX" "the folder"
expect_in "$T/env.out" "TERN_ACCOUNT=a" "the account"
expect_in "$T/env.out" "TERN_SUBJECT_1=\$(touch $T/pwned1)" "a \$(...) subject arrives as text"
expect_in "$T/env.out" "TERN_FROM_1=Mallory" "the sender's name"
expect_in "$T/env.out" "TERN_SUBJECT_2=\`touch $T/pwned3\` and \$HOME" "backticks arrive as text"
expect_in "$T/env.out" "TERN_SUBJECT_4=café" "encoded words are decoded"
expect_in "$T/env.out" "TERN_FILE_1=$T/Mail/INBOX/new/" "the file of each message"
n=0
for f in pwned1 pwned2 pwned3 pwned4; do [ -e "$T/$f" ] && n=$((n + 1)); done
[ "$n" = 0 ] && pass "no command was injected" || fail "$n injected commands ran"
if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$T/env.out" ||
    LC_ALL=C grep -q "$(printf '\302[\200-\237]')" "$T/env.out"; then
    fail "a control character reached the environment"
    LC_ALL=C cat -v "$T/env.out" | sed 's/^/    /'
else
    pass "no control character (ESC, BEL, C1 CSI) in any value"
fi
expect_status 0 "a fetch with nothing new" -- "$TERN" -c "$T/rc" fetch
[ "$(wc -l <"$T/runs")" = 1 ] && pass "no new mail, no command" || fail "ran on an empty fetch"

# A failing command is a warning; the fetch itself succeeds and keeps its output.
python3 "$(dirname "$0")/genmail.py" "$DOVECOT_MAILDIR" 2 300 600 3 2>/dev/null || \
    printf 'Subject: more\n\nx\n' >"$DOVECOT_MAILDIR/new/more.msg"
dovecot_own
sed -i "s|^new_mail_command = .*|new_mail_command = exit 3|" "$T/rc"
expect_status 0 "fetch with a failing new_mail_command" -- "$TERN" -c "$T/rc" fetch
expect_in "$T/err" "warning: new_mail_command failed (exit status 3)" "its failure is a warning"
finish
