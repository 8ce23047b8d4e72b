#!/bin/sh
# Composing in the full-screen client, driven in tmux with a scripted $EDITOR: write a new
# message, attach a file, postpone it to Drafts, resume it, send it, and check that it arrives
# intact at a real SMTP server (aiosmtpd over STARTTLS with AUTH); reply with threading
# headers; abort an unchanged message; recover a message after tern is killed mid-edit.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/../integration/smtpd.sh"
smtpd_start "$T" --tls --auth

demo_mail "$T/Mail"
# The editor: what it does next is read from $T/edit (a shell snippet run with the file as $1).
cat >"$T/editor.sh" <<'ED'
#!/bin/sh
. "$(dirname "$0")/edit"
ED
chmod +x "$T/editor.sh"
write_rc "$T/rc" "$T/Mail" "editor = $T/editor.sh" \
    '[account demo]' 'from = Ann Example <ann@example.org>' 'smtp_host = 127.0.0.1' \
    "smtp_port = $SMTPD_PORT" 'smtp_tls = starttls' 'smtp_user = ann' \
    'smtp_password = s3cret' "tls_ca_file = $T/cert.pem" 'timeout = 10'
export TERN_LEARN_EVERY=3600     # the address book is written before compose and at exit
printf 'crew.csv contents\nseat,name\n' >"$T/crew.csv"

# A new message: headers and body written by the editor, a file attached, postponed.
cat >"$T/edit" <<'ED'
sed -i -e 's/^To: $/To: Ben Ortiz <ben@rowing.example>/' -e 's/^Bcc: $/Bcc: boss@example.org/' \
    -e 's/^Subject: $/Subject: Crew list — regatta/' "$1"
awk '{print} /^$/ && !d {print "Hi Ben,"; print ""; print "the crew list is attached."; d=1}' \
    "$1" >"$1.new" && mv "$1.new" "$1"
ED
start_tern -c "$T/rc"
expect_screen "INBOX" "the client is up"
keys m
expect_screen "Compose (account demo)" "m opens the compose screen after the editor"
expect_screen "Subject: Crew list — regatta" "the edited subject is shown"
keys a
expect_screen "Attach file:" "a asks for a file"
typetext "$T/crew"
keys Tab
expect_screen "$T/crew.csv" "Tab completes the path"
keys Enter
expect_screen "crew.csv  [text/csv" "the attachment is listed"
keys P
expect_screen "Postponed to Drafts." "P postpones"
drafts=$(find "$T/Mail/Drafts/cur" -name '*:2,DS' -newer "$T/rc" | head -n 1)
[ -n "$drafts" ] && pass "the draft is in Drafts with flags D and S" || fail "no new draft"
grep -q "^Bcc: boss@example.org" "$drafts" && pass "the draft keeps Bcc" || fail "draft Bcc"

# Resume it from Drafts, add a line, send.
keys c
typetext "Drafts"
keys Enter
expect_screen "Crew list" "Drafts lists the postponed message"
cat >"$T/edit" <<'ED'
printf 'See you on Saturday.\n' >>"$1"
ED
keys /
typetext "Crew list"
keys Enter
keys e
expect_screen "Compose (account demo)" "e resumes the draft"
expect_screen "crew.csv" "the attachment came back with the draft"
keys y
expect_screen "flush: done" "y queues the message and a background flush sends it" 20
smtpd_wait 1 || true
got=$(find "$T/store" -name '*.eml' | head -n 1)
if [ -n "$got" ]; then pass "the background flush delivered it"; else fail "nothing arrived"; fi
if [ -n "$got" ]; then
    "$PY" - "$got" "${got%.eml}.json" <<'PY' >"$T/check.out" 2>&1 && pass "it arrived intact" ||
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
env = json.load(open(sys.argv[2]))
assert str(m["Subject"]) == "Crew list — regatta", m["Subject"]
assert m["To"].addresses[0].addr_spec == "ben@rowing.example"
assert m["Bcc"] is None, "Bcc must not be transmitted"
assert sorted(env["rcpt_tos"]) == ["ben@rowing.example", "boss@example.org"], env
assert env["mail_from"] == "ann@example.org", env
body = m.get_body(("plain",)).get_content()
assert "the crew list is attached." in body and "See you on Saturday." in body, body
atts = list(m.iter_attachments())
assert len(atts) == 1 and atts[0].get_filename() == "crew.csv", atts
assert atts[0].get_content() == "crew.csv contents\nseat,name\n", atts[0].get_content()
PY
        { fail "it arrived intact"; sed 's/^/    /' "$T/check.out"; }
fi
[ -z "$(find "$T/Mail/Drafts/cur" -name '*:2,DS' -newer "$T/rc")" ] &&
    pass "the draft left Drafts when it was sent" || fail "the draft is still in Drafts"
[ "$(find "$T/Mail/Sent" -type f -newer "$T/rc" | wc -l)" -ge 1 ] &&
    pass "a copy went to Sent" || fail "no copy in Sent"

# A reply: threading headers and the quoted text.
keys c
typetext "INBOX"
keys Enter
expect_screen "Minutes of the annual general meeting" "back in INBOX"
keys /
typetext "Sunday lunch"
keys Enter
cat >"$T/edit" <<'ED'
awk '{print} /^$/ && !d {print "Yes, I will come."; d=1}' "$1" >"$1.new" && mv "$1.new" "$1"
ED
keys r
expect_screen "Subject: Re: Sunday lunch?" "r makes a reply"
expect_screen "To: Mum <mum@family.example>" "the reply goes to the sender"
keys y
smtpd_wait 2 || true
reply=$(grep -l "^Subject: Re: Sunday lunch?" "$T"/store/*.eml 2>/dev/null | head -n 1)
if [ -n "$reply" ] && grep -q "^In-Reply-To: <mum1@demo.example.org>" "$reply" &&
    grep -q "^> Are you coming on Sunday?" "$reply"; then pass "the reply arrived threaded and quoted"
else fail "the reply arrived threaded and quoted"; fi
# once the server took the reply, the original carries the Maildir flag R (replied)
orig=""
for _ in $(seq 100); do
    orig=$(grep -l "^Message-ID: <mum1@demo.example.org>" "$T"/Mail/INBOX/cur/*:2,*R* 2>/dev/null |
           head -n 1)
    [ -n "$orig" ] && break
    sleep 0.1
done
if [ -n "$orig" ]; then pass "the replied-to message has flag R"; else
    fail "the replied-to message has no flag R: $(ls "$T"/Mail/INBOX/cur | head -3)"; fi

# Reading a message teaches the address book its sender: Tab completes it in a header.
keys /
typetext "Emoji test"
keys Enter
keys Enter
expect_screen "The new club chat has emoji everywhere" "a message from Olga is open"
# Opening it wrote nothing: the sender waits in memory until the timer (an hour here), the
# compose screen or the exit.
if grep -qs "olga@petrova.example" "$T/Mail/.tern/addresses"; then
    fail "opening a message does not rewrite the address book"
else pass "opening a message does not rewrite the address book"; fi
keys q
printf 'sed -i "s/^Subject: \$/Subject: completion/" "$1"\n' >"$T/edit"
keys m
expect_screen "Compose (account demo)" "a new message for the completion check"
keys t
typetext "olg"
keys Tab
expect_screen "To: Olga Petrova <olga@petrova.example>" "Tab completes a sender seen while reading"
keys Enter
keys q
keys y
expect_screen "Message aborted." "the completion message is aborted"

# An unchanged new message is aborted; the screen stays usable.
wait_for "flush: done" 20 || true
printf ':\n' >"$T/edit"
keys m
expect_screen "Message not changed: aborted." "an unchanged new message is aborted"

# Killed while editing: the next start offers the message back.
cat >"$T/edit" <<ED
sed -i 's/^Subject: \$/Subject: Unfinished thoughts/' "\$1"
kill -9 \$(cat "$T/tern.pid.real")
sleep 30
ED
tm send-keys -t t "" 2>/dev/null
pgrep -f "$TERN -c $T/rc" | head -n 1 >"$T/tern.pid.real"
keys m
# the editor kills tern: wait for that, not for a time
eventually 30 gone "$(cat "$T/tern.pid.real")" || fail "the editor killed tern"
start_tern -c "$T/rc"
expect_screen "Resume the message saved when tern stopped? (y/n)" "the next start offers the unsent message"
printf ':\n' >"$T/edit"
keys y
expect_screen "Subject: Unfinished thoughts" "the recovered message has what was typed"
keys q
keys y
expect_screen "Message aborted." "q asks and aborts"
keys Q
sleep 0.5
expect_restored "the terminal is restored after quitting"

# Changes made on the compose screen (a new To, an attachment) survive a crash.
cat >"$T/edit" <<'ED'
sed -i -e 's/^To: $/To: first@example.org/' -e 's/^Subject: $/Subject: Screen edits/' "$1"
ED
start_tern -c "$T/rc"
expect_screen "INBOX" "the client is up for the screen-edit crash"
keys m
expect_screen "Subject: Screen edits" "the editor's subject is on the compose screen"
keys t
expect_screen "To: first@example.org" "t edits To"
keys C-e C-u
typetext "second@example.org"
keys Enter
expect_screen "second@example.org" "the new To is shown"
keys a
expect_screen "Attach file:" "a asks for a file to attach"
typetext "$T/crew.csv"
keys Enter
expect_screen "crew.csv  [text/csv" "the attachment is listed"
victim=$(pgrep -f "$TERN -c $T/rc" | head -n 1)
kill -9 "$victim"
eventually 10 gone "$victim" || fail "tern was killed"
start_tern -c "$T/rc"
expect_screen "Resume the message saved when tern stopped? (y/n)" "the crash left the message"
printf ':\n' >"$T/edit"
keys y
expect_screen "second@example.org" "recovery keeps the To changed on the compose screen"
expect_screen "crew.csv  [text/csv" "recovery keeps the attachment added on the compose screen"
expect_no_screen "first@example.org" "the older To is gone"
keys q
keys y
expect_screen "Message aborted." "the recovered message is aborted"
keys Q
sleep 0.5

# A queued message that is due goes out by itself: no key pressed.
printf 'To: carl@example.org\nSubject: Queued while away\n\nhello\n' |
    "$TERN" -c "$T/rc" send -q -t
start_tern -c "$T/rc"
expect_screen "INBOX" "the client is up again"
for _ in $(seq 300); do
    grep -lq "^Subject: Queued while away" "$T"/store/*.eml 2>/dev/null && break
    sleep 0.1
done
if grep -lq "^Subject: Queued while away" "$T"/store/*.eml 2>/dev/null; then
    pass "the client flushes a due queued message by itself"
else
    fail "the due queued message was not sent"
fi
expect_screen "flush: done" "the flush it started is reported" 20
keys Q
sleep 0.5
expect_clean_stderr

finish
