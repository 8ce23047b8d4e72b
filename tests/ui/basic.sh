#!/bin/sh
# Screen tests of the full-screen client in tmux: the demo mail (open, navigate, pager,
# search, limit, flag, delete+expunge, move, new mail, resize, help, threads, quit) and a
# generated folder (wide characters, SIGTERM, ^C). Disk effects are checked on the Maildir.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

demo_setup

start_tern -c "$T/rc"
expect_screen "Autumn regatta: who is racing?" "first screen lists INBOX"
expect_screen "[32 msgs, 15 unread, 4 new, 2 flagged]" "status line counts"
expect_screen " Trash" "folder pane lists the folders"
expect_screen "4/32" "cursor starts on the first unread message"

keys j j
expect_screen "6/32" "j moves down"
keys k
expect_screen "5/32" "k moves up"
keys G
expect_screen "32/32" "G goes to the last message"
keys Home
expect_screen "1/32" "g goes to the first message"
keys Down
expect_screen "2/32" "arrow down"

# The mouse: a click selects, the wheel scrolls, a click in the folder pane opens the folder.
click 40 5
expect_screen "INBOX 6/32" "a click selects a message"
wheel_down 40 5
expect_screen "INBOX 9/32" "the wheel moves down"
click 3 2
expect_screen " Sent 5/5" "a click on a folder opens it (cursor on the newest)"
click 3 0
expect_screen "INBOX 4/32" "and back to INBOX"

# Search, then open the match: the pager shows the decoded (quoted-printable) body.
keys /
typetext "Stollen"
keys Enter
keys Enter
expect_screen "Stollen pre-orders are open until 15 December." "Enter opens the found message"
expect_screen "From: Harbour Lane Bakery" "pager shows the header block"
keys h
expect_screen "Message-ID:" "h shows every header"
keys h
expect_no_screen "Message-ID:" "h again weeds them"
# Zoom the pager to the whole screen, resize while zoomed, unzoom.
keys z
expect_no_screen " Drafts" "z zooms the pager (no folder pane)"
expect_screen "Stollen pre-orders are open until 15 December." "the zoomed pager shows the text"
tm resize-window -t t -x 50 -y 12
expect_screen "-- message --" "the zoomed pager survives a resize"
tm resize-window -t t -x 120 -y 40
keys z
expect_screen " Drafts" "z again restores the panes"
keys q
expect_no_screen "Stollen pre-orders are open until" "q closes the pager"

# Quoted lines are coloured by level (quote1 is green by default).
keys /
typetext "from:Chlo re:"
keys Enter Enter
expect_screen "> Please reply by Friday" "a reply shows its quote"
if tm capture-pane -e -p -t t | grep -F "Please reply by Friday" | grep -q '32m'; then
    pass "the quote is coloured"; else fail "the quote is coloured"; fi
keys q

# Attachments: v lists the parts, "s N PATH" saves one.
keys /
typetext "Crew list"
keys Enter Enter
expect_screen "crew.csv" "the pager lists the attachment"
keys v
expect_screen "Parts: [1] text/plain" "v lists the parts"
typetext "s 2 $T/saved.csv"
keys Enter
expect_screen "Saved part 2" "a part is saved"
[ -s "$T/saved.csv" ] && pass "the saved file has the part" || fail "the saved file has the part"
# | pipes the raw message to a shell command on the terminal, then Enter comes back.
keys '|'
typetext "grep -c crew.csv > $T/piped.txt"
keys Enter
expect_screen "[press Enter to return to tern]" "the pipe runs on the terminal"
keys Enter
expect_screen "crew.csv" "Enter returns to the pager"
[ "$(cat "$T/piped.txt" 2>/dev/null)" -ge 1 ] 2>/dev/null && pass "the command got the message" ||
    fail "the command got the message"
# Links: ^B lists them.
keys q /
typetext "Reminder: 2 books"
keys Enter Enter C-b
expect_screen "https://library.example/renew" "^B lists the links"
keys Escape
keys q q
expect_no_screen "-- message --" "pager closed"

# Limit and back.
keys l
typetext "regatta"
keys Enter
expect_screen "[3 msgs of 32" "limit keeps the matching messages"
expect_screen "limit: regatta" "status shows the limit"
keys l C-u Enter
expect_screen "[32 msgs" "an empty limit shows everything"
keys l
typetext "Crew list"
keys Enter
expect_screen "[1 msg of 32," "one message is '1 msg', not '1 msgs'"
keys l C-u Enter
expect_screen "[32 msgs" "the limit is gone again"

# Flag the first message: one rename on disk.
keys Home F
if eventually 5 sh -c "ls '$M/INBOX/cur' | grep -q 'Q0\.demo:2,FS$'"; then
    pass "F sets the F flag on disk";
else fail "F sets the F flag on disk"; ls "$M/INBOX/cur" | head -n 3; fi
expect_screen "3 flagged" "flag count follows"

# Delete (a mark), then expunge (to Trash).
keys d
if eventually 5 sh -c "ls '$M/INBOX/cur' | grep -q 'Q0\.demo:2,FST$'"; then
    pass "d marks the message (T flag)";
else fail "d marks the message (T flag)"; fi
expect_screen "1 deleted" "deleted count follows"
keys '$'
expect_screen "[31 msgs" "expunge removes it from the list"
if [ "$(count_files "$M/INBOX/cur")" = 27 ] && ls "$M/Trash/cur" | grep -q 'Q0\.demo'; then
    pass "expunge moved the file to Trash"
else
    fail "expunge moved the file to Trash"; ls "$M/INBOX/cur" "$M/Trash/cur"
fi

# Move the message under the cursor to Sent.
keys Home s
typetext "Se"
keys Tab
expect_screen "Move to folder (or save to ~/file): Sent" "Tab completes a folder name"
keys Enter
expect_screen "Moved to Sent." "s moves a message"
sent_has() { [ "$(count_files "$M/Sent/cur")" = "$1" ]; }
eventually 5 sent_has 6 && pass "the file is in Sent" || fail "the file is in Sent"
expect_screen "[30 msgs" "the list lost it"

# Folder names for move and copy stay under the mail root (issue 12, item 10): "../x" is
# refused and makes no directory beside it; a new name is created under the root and listed.
keys C
typetext "../escape"
keys Enter
expect_screen "may not contain '..'" "C ../escape is refused"
[ ! -e "$T/escape" ] && [ ! -e "$M/../escape" ] && pass "no directory outside the mail root" ||
    fail "a directory was made outside the mail root"
keys C
typetext "Archive/2024"
keys Enter
expect_screen "Copied to Archive/2024." "C copies into a new folder under the root"
[ "$(count_files "$M/Archive/2024/cur")" = 1 ] && pass "the copy is under the root" ||
    fail "the copy is under the root"
expect_screen " Archive/2024" "the new folder is listed at once"

# New mail appears without a keypress, and the cursor keeps its message.
keys Home j
expect_screen "2/30" "cursor on the second message"
printf 'From: Zed <zed@example.org>\nSubject: Fresh arrival 42\nDate: Mon, 1 Jan 2024 10:00:00 +0000\n\nhello\n' \
    >"$M/INBOX/tmp/new1" && mv "$M/INBOX/tmp/new1" "$M/INBOX/new/1700000000.new1.test"
expect_screen "Fresh arrival 42" "new mail shows up by itself" 8
expect_screen "+1 arrived" "the status counts the arrival"
expect_screen "3/31" "the cursor kept its message (it moved down one row)"

# Resize at any moment: narrow drops the folder pane, wide brings it back.
tm resize-window -t t -x 60 -y 20
expect_no_screen " Drafts" "narrow screen hides the folder pane"
expect_screen "3/31" "status line survives the resize"
tm resize-window -t t -x 120 -y 40
expect_screen " Drafts" "wide screen shows the folder pane again"

# Help from the live key table.
keys '?'
expect_screen "sort-reverse" "? lists the commands"
expect_screen "expunge" "help names expunge"
# The help scrolls (longer than the screen): to the end, a line back up, then the top.
expect_no_screen "session's messages and errors" "help starts at its first line"
keys G
expect_screen "session's messages and errors" "G scrolls the help to its last line"
expect_no_screen "previous line or message" "the first line is scrolled off"
keys Home
expect_screen "previous line or message" "Home scrolls the help back to the top"
keys j
expect_no_screen "previous line or message" "j scrolls the help one line"
keys k
expect_screen "previous line or message" "k scrolls it back"
keys q
expect_no_screen "sort-reverse" "q closes the help"

# Named commands and threads.
keys :
typetext "sort subject"
keys Enter
expect_screen "(subject)" ":sort subject"
keys o t
expect_screen "threads)" "t threads the list"
expect_screen "─>" "thread tree is drawn"

# Another program removes the message the pager shows: the text stays (it is in memory), the
# title says so, and the list loses it.
keys /
typetext "Reminder: 2 books"
keys Enter Enter
expect_screen "-- message --" "the library reminder is open"
f=$(grep -l "^Subject: Reminder: 2 books" "$M"/INBOX/cur/* | head -n 1)
rm -f "$f"
expect_screen "removed from the folder" "the pager notices the message was removed"
expect_screen "https://library.example/renew" "and still shows its text"
keys q
expect_no_screen "Reminder: 2 books" "the list lost the removed message"

keys d q
expect_screen "Expunge 1 message marked for deletion?" "q asks about messages marked for deletion"
keys Escape
expect_no_screen "Expunge 1 message" "Esc stays"
keys q
expect_screen "Expunge 1 message marked for deletion?" "q asks again"
keys n
expect_screen "EXITED:0" "n quits with status 0"
ls "$M/INBOX/cur" | grep -q ':2,[A-Z]*T[A-Z]*$' && pass "the mark stays on the file" ||
    fail "the mark stays on the file"
expect_restored "terminal restored after q"
# The senders of the messages read are written to the address book once, at the exit (the
# timer is an hour here).
grep -qs "news@bakery.example" "$M/.tern/addresses" && pass "the address book is written at exit" ||
    fail "the address book is written at exit"
[ ! -s "$T/tern.err" ] && pass "nothing on stderr" || { fail "nothing on stderr"; cat "$T/tern.err"; }

# ---- a generated folder with wide characters ----
G="$T/Gen"
python3 - "$G" <<'PY'
import os, sys
root = sys.argv[1]
for f in ("INBOX",):
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, f, d), exist_ok=True)
names = ["山田太郎", "Émile Zola", "e\u0301cole Dupont", "\U0001F642 Smiley", "plain ascii",
         "한국어 이름입니다 정말 긴 이름", "Ελληνικά", "混合 mixed 名前"]
for i, n in enumerate(names):
    body = ("From: %s <u%d@example.org>\nSubject: SUBJ-%d 日本語の件名 \U0001F642\n"
            "Date: Mon, %d Jan 2024 10:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n"
            "MIME-Version: 1.0\n\nbody %d\n" % (n, i, i, i + 1, i))
    p = os.path.join(root, "INBOX", "cur", "17000000%02d.gen%d.test:2,S" % (i, i))
    open(p, "wb").write(body.encode("utf-8"))
PY
write_rc "$T/rc2" "$G" "[keys]" "last = L" "first = <Home> H" "[colors]" "status = white blue"
export TERN_BG_INDEX_MIN=1      # no index yet: it is built by a child while the screen lives
start_tern -c "$T/rc2"
unset TERN_BG_INDEX_MIN
expect_screen "Indexing INBOX in the background" "a folder without an index is indexed in the background"
expect_screen "SUBJ-7" "generated folder opens"
[ -f "$G/INBOX/.tern-index" ] && pass "the child saved the index" || fail "the child saved the index"
screen >"$T/screen.txt"
if python3 - "$T/screen.txt" <<'PY'
import sys, unicodedata
def width(s):
    w = 0
    for c in s:
        if unicodedata.combining(c) or c in "\u200d\ufe0f":
            continue
        w += 2 if unicodedata.east_asian_width(c) in "WF" else 1
    return w
cols = set()
for line in open(sys.argv[1], encoding="utf-8"):
    if "SUBJ-" in line:
        cols.add(width(line[:line.index("SUBJ-")]))
print("subject columns:", sorted(cols))
sys.exit(0 if len(cols) == 1 else 1)
PY
then pass "wide names never shift the subject column"; else fail "wide names shift the subject column"; cat "$T/screen.txt"; fi

# [keys] and [colors] from the configuration.
keys L
expect_screen "INBOX 8/8" "[keys] last = L"
keys H
expect_screen "INBOX 1/8" "[keys] first = <Home> H"
keys G
expect_screen "Key G is not bound" "a rebound key loses its old command"
if tm capture-pane -e -p -t t | grep "INBOX 1/8" | grep -q '44m'; then pass "[colors] status background";
else fail "[colors] status background"; fi

# This session counts the folder as large (TERN_BG_INDEX_MIN=1): new mail is indexed by a
# child and the index swapped in; the cursor stays on its message.
keys j
expect_screen "INBOX 2/8" "cursor on the second message"
printf 'From: New <n@example.org>\nSubject: SUBJ-NEW arrival\nDate: Sun, 1 Jan 2023 10:00:00 +0000\n\nx\n' \
    >"$G/INBOX/tmp/n1" && mv "$G/INBOX/tmp/n1" "$G/INBOX/new/1600000000.n1.test"
expect_screen "SUBJ-NEW arrival" "new mail in a large folder shows up by itself" 10
expect_screen "INBOX 3/9" "the cursor kept its message across the index swap"
expect_screen "+1 arrived" "the arrival is counted"

# SIGTERM restores the terminal.
pid=$(pgrep -P "$(cat "$T/tern.pid")" | head -n 1 || true)
[ -n "$pid" ] && kill -TERM "$pid"
expect_screen "EXITED:143" "SIGTERM ends tern"
expect_restored "terminal restored after SIGTERM"

# ^C too; and NO_COLOR: attributes only.
export NO_COLOR=1
start_tern -c "$T/rc2"
unset NO_COLOR
expect_screen "SUBJ-7" "started again"
if tm capture-pane -e -p -t t | grep "INBOX" | grep -qE '\[(3|4)[0-7]m'; then
    fail "NO_COLOR: no colours"; else pass "NO_COLOR: no colours"; fi
keys C-c
expect_screen "EXITED:130" "^C ends tern"
expect_restored "terminal restored after ^C"

# ---- the Outbox shows the queue's state; S flushes in the background ----
if "$TERN" --help 2>&1 | grep -q '^  send '; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    write_rc "$T/rc3" "$M" "[account demo]" "from = Ann <ann@example.org>" \
        "smtp_host = 127.0.0.1" "smtp_port = $port" "smtp_tls = none" "timeout = 2"
    printf 'To: bob@example.org\nSubject: queued test\n\nhello\n' |
        "$TERN" -c "$T/rc3" send bob@example.org >/dev/null 2>&1 || true
    start_tern -c "$T/rc3" -f Outbox
    expect_screen "To bob@example.org" "Outbox lists the recipient"
    expect_screen "[queued, 1 try: connect" "Outbox shows the state and the last reply"
    keys S
    expect_screen "0 sent, 1 deferred" "S flushes in the background and reports" 15
    expect_screen "[queued, 2 tries: " "the Outbox row follows the new attempt" 5
    keys q
    expect_screen "EXITED:0" "quit from Outbox"
    # a held message (refused login) shows why in its row
    st=$(ls "$M"/.tern/queue/*.state | head -n 1)
    sed -i -e 's/^state .*/state held/' -e 's/^reply .*/reply 535 5.7.8 bad credentials/' "$st"
    start_tern -c "$T/rc3" -f Outbox
    expect_screen "[HELD: 535 5.7.8 bad credentials]" "Outbox shows a held message and why"
    keys q
    expect_screen "EXITED:0" "quit from Outbox again"
fi

# ---- a mailx ~/.mailrc: its ignore lines weed the pager's headers ----
printf '#: [general]\n#: mail_root = %s\nignore Date\n' "$M" >"$T/rc4"
chmod 600 "$T/rc4"
start_tern -c "$T/rc4"
keys /
typetext "Stollen"
keys Enter Enter
expect_screen "From: Harbour Lane Bakery" "the pager under a mailx file"
expect_no_screen "Date:" "mailx ignore hides a header in the pager"
keys h
expect_screen "Date:" "h still shows every header"
keys Q
expect_screen "EXITED:0" "Q quits"

expect_clean_stderr
finish
