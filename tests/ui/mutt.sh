#!/bin/sh
# Screen tests of what mutt users reach for: tagging and `;`, thread commands, ~ patterns,
# and the list's rough edges (the wheel, focus, long prompts, the Outbox's columns). Every
# effect is checked on the screen and, for mail, on the Maildir.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

M="$T/Mail"
demo_mail "$M"
write_rc "$T/rc" "$M"
export TERN_LEARN_EVERY=3600

# ---- the wheel over the list never opens (so never marks) a message ----
start_tern -c "$T/rc"
expect_screen "[32 msgs, 15 unread, 4 new, 2 flagged]" "INBOX opens with 15 unread"
expect_screen "INBOX 4/32" "cursor on the first unread"
keys Enter
expect_screen "-- message --" "Enter opens the first unread message"
expect_screen ", 14 unread" "reading it leaves 14 unread"
wheel_down 40 3
expect_screen "INBOX 7/32" "the wheel over the list moves its cursor"
wheel_down 40 3
expect_screen "INBOX 10/32" "a second wheel step"
expect_screen ", 14 unread" "the wheel marked nothing read"
s=$(status_line)
case $s in *", 14 unread"*) pass "still 14 unread after the wheel";; *) fail "wheel marked messages read: $s";; esac
keys d
expect_screen ", 1 deleted" "d in the pager marks a message"
expect_screen "INBOX 5/32" "the one it shows (4), not the one the wheel reached (10)"

# ---- j in the list while the pager is open keeps the focus in the list ----
keys Tab Tab
expect_screen "(Tab: focus)" "Tab Tab puts the focus back on the list"
keys j
expect_screen "(Tab: focus)" "j in the list leaves the focus in the list"
keys j
expect_screen "INBOX 7/32" "a second j moves the list cursor again (not the pager)"
keys q
expect_no_screen "-- message --" "q closes the pager"

# ---- the limit prompt is shown whole and takes long multibyte patterns ----
keys l
expect_screen "date:7d..; empty = all):" "the limit prompt's label is not cut"
typetext "Maildir++ ou répertoires imbriqués répertoires imbriqués from:Marek"
keys Enter
expect_screen "[2 msgs of 32" "its last word (past byte 63) counts: Marek's 2 messages"
keys l C-u Enter
expect_screen "[32 msgs," "an empty limit shows all again"

# ---- the help screen and the sort prompt agree ----
keys o
expect_screen "Sort by (d)ate (a)rrival (f)rom (s)ubject si(z)e (t)hreads on/off:" "the sort prompt"
keys Escape
keys '?'
expect_screen "sort by (d)ate (a)rrival (f)rom (s)ubject si(z)e (t)hreads" "help names the same letters"
expect_no_screen "(o)rder" "help no longer offers (o)rder"
keys q
keys o a
expect_screen "(arrival)" "o a sorts by arrival"
keys o t
expect_screen "(arrival, threads)" "o t turns threads on"
keys o t
expect_no_screen "(arrival, threads)" "o t again turns them off"
keys o d
expect_screen "(date)" "o d sorts by date"
keys Q
expect_screen "EXITED:0" "Q quits"

# ---- the Outbox: a long server reply leaves the subject its room; nothing queued is unread ----
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
write_rc "$T/rc3" "$M" "[account demo]" "from = Ann <ann@example.org>" \
    "smtp_host = 127.0.0.1" "smtp_port = $port" "smtp_tls = none" "timeout = 2"
printf 'To: bob@example.org\nSubject: queued with a long subject line here\n\nhello\n' |
    "$TERN" -c "$T/rc3" send bob@example.org >/dev/null 2>&1 || true
st=$(find "$M/.tern/queue" -name '*.state' | head -n 1)
long="451 4.3.0 Temporary failure: the remote server is busy, please try again later, mailbox quota checks pending, greylisted for 300 seconds"
sed -i "s/^reply .*/reply $long/" "$st"
grep -q "^reply 451" "$st" && pass "the queue entry has a long reply" || fail "the queue entry has a long reply"
start_tern -c "$T/rc3" -f Outbox
tm resize-window -t t -x 140 -y 40
expect_screen "queued with a long subject line here" "at 140 columns the subject is shown whole"
expect_screen "[queued, 1 try: 451 4.3.0" "next to the state and the start of the reply"
s=$(status_line)
case $s in *unread*) fail "the Outbox counts queued mail as unread: $s";; *) pass "nothing queued counts as unread";; esac
keys Q
expect_screen "EXITED:0" "Q quits"

expect_clean_stderr
finish
