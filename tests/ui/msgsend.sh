#!/bin/sh
# Message commands that write or send, in tmux against a real SMTP server (aiosmtpd with
# STARTTLS and AUTH): an alias from the sender (a) written where every mailx reads it and
# usable at once; bounce (b) with Resent-* fields, the envelope the new recipients only, the
# body byte for byte; the message log (M).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/../integration/smtpd.sh"
smtpd_start "$T" --tls --auth --reject-rcpt nobody@example.net

M="$T/Mail"
demo_mail "$M"
# The address query: mutt's format, the query one argument whatever it holds.
cat >"$T/query.sh" <<'EOS'
#!/bin/sh
printf '%s\n' "$1" >>"$(dirname "$0")/queries"
printf 'Searching the directory...\n'
case $1 in zed*) printf 'zed@query.example\tZed Query\tdirectory\n' ;; esac
EOS
chmod +x "$T/query.sh"
# The editor: what it does is read from $T/edit (a shell snippet run with the file as $1).
cat >"$T/editor.sh" <<'ED'
#!/bin/sh
cp "$1" "$(dirname "$0")/edited.in"
. "$(dirname "$0")/edit"
ED
chmod +x "$T/editor.sh"
write_rc "$T/rc" "$M" "query_command = $T/query.sh %s" "editor = $T/editor.sh" \
    '[account demo]' 'from = Ann Example <ann@example.org>' 'smtp_host = 127.0.0.1' \
    "smtp_port = $SMTPD_PORT" 'smtp_tls = starttls' 'smtp_user = ann' \
    'smtp_password = s3cret' "tls_ca_file = $T/cert.pem" 'timeout = 10'
export TERN_LEARN_EVERY=3600
export HOME="$T/home"
mkdir -p "$HOME"

start_tern -c "$T/rc"
expect_screen "[32 msgs" "INBOX is open"

# a: an alias for the sender, named by default after the local part.
keys /
typetext "cardamom buns"
keys Enter
expect_screen "This week: rye, cardamom" "the cursor is on the bakery message"
keys a
expect_screen "Alias for news@bakery.example: news" "a offers the local part as the name"
keys BSpace BSpace BSpace BSpace
typetext "bakery"
keys Enter
expect_screen "Alias bakery for news@bakery.example added to $T/rc." "the alias is written"
grep -qx "alias bakery news@bakery.example" "$T/rc" && pass "as a mailx alias line" ||
    fail "as a mailx alias line"
[ "$(grep -n '^alias bakery' "$T/rc" | cut -d: -f1)" -lt "$(grep -n '^\[general\]' "$T/rc" |
    cut -d: -f1)" ] && pass "above the first [section]" || fail "above the first [section]"
if command -v bsd-mailx >/dev/null; then
    printf 'From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nhi\n\n' >"$T/one.mbox"
    printf 'alias\n' | MAILRC="$T/rc" bsd-mailx -n -N -f "$T/one.mbox" >"$T/mailx.out" 2>&1
    grep -q "^bakery.*news@bakery.example" "$T/mailx.out" && pass "bsd-mailx lists the alias" ||
        { fail "bsd-mailx lists the alias"; cat "$T/mailx.out"; }
fi

# b: bounce. The alias made a moment ago is expanded at once.
orig=$(grep -l "cardamom buns" "$M"/INBOX/cur/* | head -n 1)
keys b
expect_screen "Bounce to:" "b asks for the recipients"
typetext "bakery, Carl <carl@example.net>"
keys Enter
expect_screen "Bounce to news@bakery.example, Carl <carl@example....? (y/n)" \
    "the alias is expanded and the bounce confirmed"
keys y
expect_screen "flush: done" "the bounce is queued and flushed" 20
smtpd_wait 1 || true
got=$(find "$T/store" -name '*.eml' | head -n 1)
if [ -n "$got" ]; then pass "the bounce arrived"; else fail "nothing arrived"; fi
if [ -n "$got" ]; then
    "$PY" - "$got" "${got%.eml}.json" "$orig" <<'PY' >"$T/check.out" 2>&1 &&
import json, re, sys
got = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
env = json.load(open(sys.argv[2]))
orig = open(sys.argv[3], "rb").read()
hdr, body = got.split(b"\n\n", 1)
assert body == orig.split(b"\n\n", 1)[1], "the body differs"
assert re.search(rb"^Resent-From: Ann Example <ann@example.org>$", hdr, re.M), hdr
assert re.search(rb"^Resent-To: news@bakery.example, Carl <carl@example.net>$", hdr, re.M), hdr
assert re.search(rb"^Resent-Date: ", hdr, re.M) and re.search(rb"^Resent-Message-ID: <", hdr, re.M)
assert b"\nFrom: Harbour Lane Bakery <news@bakery.example>\n" in hdr, hdr
assert b"Return-Path" not in hdr
assert sorted(env["rcpt_tos"]) == ["carl@example.net", "news@bakery.example"], env
assert env["mail_from"] == "ann@example.org", env
PY
        pass "Resent-* on top, the body byte for byte, the envelope the new recipients" ||
        { fail "Resent-* on top, the body byte for byte"; sed 's/^/    /' "$T/check.out"; }
fi
keys b
typetext "dora@example.net"
keys Enter
expect_screen "Bounce to dora@example.net? (y/n)" "a second bounce asks"
keys n
expect_screen "Not bounced." "n sends nothing"

# Tab in the recipients asks query_command too.
keys b
typetext "zed"
keys Tab
expect_screen "Bounce to: Zed Query <zed@query.example>" "Tab completes from query_command"
keys C-u
typetext "it's \$(zed)"
keys Tab
queried_twice() { [ "$(wc -l <"$T/queries")" -ge 2 ]; }
eventually 30 queried_twice
[ "$(tail -n 1 "$T/queries")" = "it's \$(zed)" ] &&
    pass "the query reached the command as one word, unexpanded" ||
    fail "the query reached the command as one word ($(tail -n 1 "$T/queries"))"
keys Escape

# A refused send shows the server's reply in the status line.
keys b
typetext "nobody@example.net"
keys Enter
expect_screen "Bounce to nobody@example.net? (y/n)" "a bounce to a refused address"
keys y
expect_screen "flush: 0 sent, 0 deferred, 1 failed; failed:" "the flush reports the failure" 20
if screen | tail -n 1 | grep -q "RCPT TO:<nobody@example.net>: 550 5.1.1"; then
    pass "with its code and the address"; else fail "with its code and the address"; fi

# e on a received message edits it as new: its headers and body in the editor, a
# Message-ID of its own, the original left where it was.
cat >"$T/edit" <<'ED'
sed -i -e 's/^To: .*/To: eve@example.net/' "$1"
ED
nstore=$(smtpd_stored)
keys /
typetext "Stollen"
keys Enter
keys e
expect_screen "Compose (account demo)" "e on a received message opens the compose screen"
grep -q "^Subject: Stollen pre-orders are open" "$T/edited.in" &&
    grep -q "^From: Harbour Lane Bakery <news@bakery.example>" "$T/edited.in" &&
    grep -q "Stollen pre-orders are open until 15 December." "$T/edited.in" &&
    pass "the editor got its headers and body" || fail "the editor got its headers and body"
keys y
smtpd_wait $((nstore + 1)) || true
new=$(grep -l "^To: eve@example.net" "$T"/store/*.eml 2>/dev/null | head -n 1)
if [ -n "$new" ] && grep -q "Stollen pre-orders are open until 15 December." "$new" &&
    ! grep -qi "^Message-ID: <news2@demo.example.org>" "$new" && grep -qi "^Message-ID: <" "$new"; then
    pass "it went out as a new message with its own Message-ID"
else
    fail "it went out as a new message"; [ -n "$new" ] && sed 's/^/    /' "$new" | head -20
fi
[ "$(grep -l "Stollen pre-orders are open until" "$M"/INBOX/cur/* | wc -l)" = 1 ] &&
    pass "the original stays in INBOX" || fail "the original stays in INBOX"

# ; r and ; f on two tagged messages: once sent, every message answered carries R (the
# reply) or P (the forward), as mutt sets them, not only the first.
semi() { tm send-keys -t t '\;'; }
flags_of() { f=$(grep -lx "Subject: $1" "$M"/INBOX/cur/* "$M"/INBOX/new/* 2>/dev/null | head -n 1)
    [ -n "$f" ] && printf '%s\n' "${f##*:2,}"; }
# wait_flags FLAG: until both tagged messages carry FLAG (the flush runs in the background)
wait_flags() { n=0; while [ "$n" -lt 200 ]; do
    case "$(flags_of 'Crew list and race plan') $(flags_of 'Index corruption on ARM (RC1)')" in
    *"$1"*\ *"$1"*) return 0;; esac; sleep 0.1; n=$((n + 1)); done; return 1; }
cat >"$T/edit" <<'ED'
printf 'Agreed.\n' >>"$1"
ED
keys T
typetext "~s ^Crew.list | ~s ^Index.corruption"
keys Enter
expect_screen ", 2 tagged]" "T tags the crew list and the ARM report"
semi; keys r
expect_screen "Compose (account demo)" "; r opens one reply to both"
keys y
wait_flags R && pass "; r sent: both originals have flag R" ||
    fail "; r sent: both originals have flag R ($(flags_of 'Crew list and race plan') $(flags_of 'Index corruption on ARM (RC1)'))"
cat >"$T/edit" <<'ED'
sed -i -e 's/^To:.*/To: fwd@example.net/' "$1"
ED
semi; keys f
expect_screen "Compose (account demo)" "; f opens one forward of both"
keys y
wait_flags P && pass "; f sent: both originals have flag P" ||
    fail "; f sent: both originals have flag P ($(flags_of 'Crew list and race plan') $(flags_of 'Index corruption on ARM (RC1)'))"
semi; keys t
expect_no_screen "tagged]" "; t untags both"

# Esc q: the address query (mutt's Q; tern's Q quits): query_command's answers listed,
# Enter writes to the chosen one.
cat >"$T/edit" <<'ED'
printf 'Hello Zed.\n' >>"$1"
ED
keys Escape q
expect_screen "Query:" "Esc q asks for a query"
typetext "zed"
keys Enter
expect_screen "Query 'zed': 1 address" "the query's answers are listed"
expect_screen "Zed Query <zed@query.example>" "with name and address"
keys Enter
expect_screen "Compose (account demo)" "Enter writes to the chosen address"
grep -q "^To: Zed Query <zed@query.example>" "$T/edited.in" && pass "the new message is to Zed" ||
    { fail "the new message is to Zed"; grep "^To:" "$T/edited.in"; }
keys q
expect_screen "Abort this message?" "q in compose asks"
keys y
expect_no_screen "Compose (account demo)" "the message to Zed is dropped"
keys Escape q
typetext "nobody"
keys Enter
expect_screen "The query for 'nobody' found nothing." "a query without answers says so"

# M: the session's messages, to read again.
keys M
expect_screen "Messages of this session" "M shows the message log"
expect_screen "Alias bakery for news@bakery.example added" "it keeps earlier notices"
expect_screen "Not bounced." "and a later one"
expect_screen "Recipient address rejected: User unknown" "and the refusal, whole (wrapped)"
keys q
expect_no_screen "Messages of this session" "q closes it"
keys Q
expect_restored "Q leaves"
# No smtp_password: a flush asks once in the prompt line, without echo, and the message
# goes out with it.
write_rc "$T/rc-nopw" "$M" \
    '[account demo]' 'from = Ann Example <ann@example.org>' 'smtp_host = 127.0.0.1' \
    "smtp_port = $SMTPD_PORT" 'smtp_tls = starttls' 'smtp_user = ann' \
    "tls_ca_file = $T/cert.pem" 'timeout = 10'
nstore=$(smtpd_stored)
start_tern -c "$T/rc-nopw"
expect_screen "[32 msgs" "INBOX is open (no smtp_password)"
keys /
typetext "cardamom buns"
keys Enter b
typetext "fred@example.net"
keys Enter y
expect_screen "Password for demo (ann@127.0.0.1):" "the flush asks for the SMTP password"
# a wrong one: the server's reply is shown, the password forgotten, and asked for again
typetext "wrong"
keys Enter
expect_screen "535" "a refused password shows the server's reply" 20
expect_screen "flush: 0 sent, 1 deferred" "the bounce waits" 20
keys S
expect_screen "Password for demo (ann@127.0.0.1):" "the next send asks again"
typetext "s3cret"
if screen | tail -n 1 | grep -q s3cret; then fail "not echoed"; else pass "not echoed"; fi
keys Enter
expect_screen "flush: done: 1 sent" "the bounce is sent with it" 20
smtpd_wait $((nstore + 1)) || true
grep -l "^Resent-To: fred@example.net" "$T"/store/*.eml >/dev/null 2>&1 &&
    pass "it arrived" || fail "it arrived"
keys Q
expect_restored "Q leaves"

# tern flush on a terminal (a pty): asked once, no echo; a refused password is forgotten and
# asked again after the server's reply, and the message goes out with the right one.
nstore=$(smtpd_stored)
printf 'From: ann@example.org\nTo: gus@example.net\nSubject: from the command line\n\nhi\n' |
    "$TERN" -c "$T/rc-nopw" send -q gus@example.net && pass "tern send -q queues" ||
    fail "tern send -q queues"
ask="expect:password for demo (ann@127.0.0.1): "
"$PY" "$TERN_SRCDIR/tests/integration/ptytalk.py" "$TERN" -c "$T/rc-nopw" flush -- \
    "$ask" send:wrong "expect:password refused: " expect:535 "$ask" send:s3cret "expect:1 sent" \
    absent:s3cret absent:wrong >"$T/pty.out" 2>&1 &&
    pass "tern flush asks again when refused, with the reply" ||
    { fail "tern flush asks again when refused"; sed 's/^/    /' "$T/pty.out"; }
smtpd_wait $((nstore + 1)) || true
grep -ql "^Subject: from the command line" "$T"/store/*.eml && pass "it arrived" || fail "it arrived"

expect_clean_stderr
finish
