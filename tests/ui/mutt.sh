#!/bin/sh
# Screen tests of what mutt users reach for: tagging and `;`, thread commands, ~ patterns,
# and the list's rough edges (the wheel, focus, long prompts, the Outbox's columns). Every
# effect is checked on the screen and, for mail, on the Maildir.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

demo_setup

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

# ---- tagging: t, T, ^T and ; with every message command ----
M2="$T/Mail2"
demo_mail "$M2"
# a second message of a mailing list (List-Post), beside the digest, for ; L
f=$(grep -l '^Message-ID: <list0@' "$M2"/INBOX/cur/*)
sed -i '1i List-Post: <mailto:maildir@list.example>' "$f"
cat >"$T/editor.sh" <<ED
#!/bin/sh
cp "\$1" "$T/edited.txt"
echo "edited" >>"\$1"
ED
chmod +x "$T/editor.sh"
write_rc "$T/rc2" "$M2" "editor = $T/editor.sh" '[account demo]' 'from = Ann <ann@example.org>'
unread() { status_line | sed -n 's/.*, \([0-9]*\) unread.*/\1/p'; }
# semi: the tag prefix key (a bare ; separates tmux commands)
semi() { tm send-keys -t t '\;'; }
# flags_of SUBJECT: the Maildir flags of the INBOX file with that exact subject line
flags_of() { f=$(grep -lx "Subject: $1" "$M2"/INBOX/cur/* "$M2"/INBOX/new/* 2>/dev/null | head -n 1)
    [ -n "$f" ] && printf '%s\n' "${f##*:2,}"; }
start_tern -c "$T/rc2"
expect_screen "INBOX 4/32" "a fresh copy of the demo"
keys t
expect_screen ", 1 tagged]" "t tags the message and the status counts it"
expect_screen "INBOX 5/32" "t moves down, as in mutt"
screen | grep -F "Crew list and race plan" | grep -qE '│(O|N| )\*' &&
    pass "the tagged row shows * in the flag column" || fail "the tagged row shows * in the flag column"
keys T
expect_screen "Tag messages matching:" "T asks for a pattern"
typetext "Index corruption"
keys Enter
expect_screen "5 messages tagged." "T tags the matches"
expect_screen ", 6 tagged]" "six tagged now"
keys C-t
typetext "subject:Re:"
keys Enter
expect_screen "4 messages untagged." "^T untags by pattern"
expect_screen ", 2 tagged]" "two left: the crew list and the first ARM message"

semi; keys F
expect_screen ", 4 flagged" "; F flags both tagged messages"
case "$(flags_of 'Crew list and race plan')$(flags_of 'Index corruption on ARM (RC1)')" in
*F*F*) pass "both files have flag F";; *) fail "both files have flag F";; esac
semi; keys F
expect_screen ", 2 flagged" "; F again unflags both"
u0=$(unread)
semi; keys U
expect_screen "2 messages changed." "; U marks both read"
expect_screen ", $((u0 - 1)) unread" "the unread one of the two is read"
case "$(flags_of 'Crew list and race plan') $(flags_of 'Index corruption on ARM (RC1)')" in
*S*\ *S*) pass "both files have flag S";; *) fail "both files have flag S";; esac
semi; keys U
expect_screen ", $((u0 + 1)) unread" "; U again marks both unread"
case "$(flags_of 'Crew list and race plan')$(flags_of 'Index corruption on ARM (RC1)')" in
*S*) fail "no file has flag S";; *) pass "neither file has flag S";; esac
semi; keys d
expect_screen ", 2 deleted" "; d marks both for deletion"
semi; keys u
expect_no_screen ", 2 deleted" "; u unmarks both"
keys j
expect_screen "INBOX 6/32" "j after ;u moves as usual (the ; is spent)"

semi; keys '|'
expect_screen "Pipe 2 tagged messages to command:" "; | asks for a command"
typetext "grep -c '^Subject:' > $T/piped.txt"
keys Enter
wait_for "Press Enter" 5 || true
keys Enter
expect_screen "INBOX 6/32" "back from the pipe"
[ "$(cat "$T/piped.txt" 2>/dev/null)" = 2 ] && pass "; | pipes both messages, one after the other" ||
    fail "; | pipes both messages ($(cat "$T/piped.txt" 2>/dev/null))"

semi; keys r
expect_screen "Compose (account demo)" "; r opens one reply"
grep -q "^To: .*ben@rowing.example" "$T/edited.txt" && grep -q "^To: .*priya" "$T/edited.txt" &&
    pass "; r writes to both senders" || { fail "; r writes to both senders"; grep "^To:" "$T/edited.txt"; }
grep -q "^Subject: Re: Crew list and race plan" "$T/edited.txt" && pass "; r: the first one's subject" ||
    fail "; r: the first one's subject"
[ "$(grep -c ' wrote:$' "$T/edited.txt")" = 2 ] && pass "; r quotes both messages" ||
    fail "; r quotes both messages"
keys q
expect_screen "Abort this message?" "q in compose asks"
keys y
expect_no_screen "Compose (account demo)" "the reply is dropped"

semi; keys g
expect_screen "Compose (account demo)" "; g opens one reply to all"
to=$(grep -E "^(To|Cc):" "$T/edited.txt" | tr '\n' ' ')
case $to in *ben@rowing.example*priya@work.example*) pass "; g: both senders";;
    *) fail "; g: both senders ($to)";; esac
case $to in *crew@rowing.example*dev@work.example*) pass "; g: and both messages' recipients";;
    *) fail "; g: and both messages' recipients ($to)";; esac
keys q
expect_screen "Abort this message?" "q in compose asks"
keys y
expect_no_screen "Compose (account demo)" "the reply to all is dropped"

semi; keys f
expect_screen "Compose (account demo)" "; f opens one forward"
grep -q "^Subject: Fwd: Crew list and race plan" "$T/edited.txt" && pass "; f: Fwd: the first subject" ||
    fail "; f: Fwd: the first subject"
grep -q "Index corruption on ARM" "$T/edited.txt" && grep -q "Crew list" "$T/edited.txt" &&
    pass "; f carries both messages" || fail "; f carries both messages"
keys q
expect_screen "Abort this message?" "q in compose asks"
keys y
expect_no_screen "Compose (account demo)" "the forward is dropped"

semi; keys C
expect_screen "Copy 2 tagged messages to folder" "; C asks for a folder"
typetext "Trash"
keys Enter
expect_screen "Copied 2 messages to Trash." "; C copies both"
[ "$(count_files "$M2/Trash/cur")" -ge 2 ] && pass "both copies are in Trash" || fail "both copies are in Trash"
semi; keys s
typetext "Sent"
keys Enter
expect_screen "Moved 2 messages to Sent." "; s moves both"
expect_screen "[30 msgs" "INBOX has two fewer"
expect_no_screen "tagged]" "moved messages are no longer tagged"
grep -lq "^Subject: Crew list and race plan" "$M2"/Sent/cur/* && pass "the crew list is in Sent" ||
    fail "the crew list is in Sent"
keys t t
expect_screen ", 2 tagged]" "two tagged again"
keys s
expect_screen "Move to folder (or save to ~/file):" "s without ; names no tagged messages"
keys Escape
semi; keys '?'
expect_screen "sort-reverse" "; then ? shows the help"
keys q
keys d
expect_screen ", 1 deleted" "after ; ?, d acts on one message only (the ; was spent)"
keys k u
expect_no_screen ", 1 deleted" "u takes the mark away"
semi; keys t
expect_no_screen "tagged]" "; t untags every message"
semi
expect_screen "No tagged messages" "; with no tags says so"
# ; L: one reply to the lists of every tagged message; ; s to a file saves them all.
keys T
typetext "~h ^List-Post:"
keys Enter
expect_screen ", 2 tagged]" "T tags the two messages of mailing lists"
semi; keys L
expect_screen "Compose (account demo)" "; L opens one list reply"
to=$(grep -E "^(To|Cc):" "$T/edited.txt" | tr '\n' ' ')
case $to in *maildir@list.example*list@lists.example*|*list@lists.example*maildir@list.example*)
    pass "; L: to both lists";; *) fail "; L: to both lists ($to)";; esac
keys q
expect_screen "Abort this message?" "q in compose asks"
keys y
expect_no_screen "Compose (account demo)" "the list reply is dropped"
semi; keys s
expect_screen "Move 2 tagged messages to folder" "; s asks where"
typetext "$T/saved.mbox"
keys Enter
expect_screen "Saved 2 messages to" "; s to a file saves both"
expect_screen ", 2 deleted" "and marks both for deletion, as mutt's save"
[ "$(grep -c '^From ' "$T/saved.mbox" 2>/dev/null)" = 2 ] && grep -q "^List-Post: <mailto:maildir" \
    "$T/saved.mbox" && pass "the mbox holds both messages" || fail "the mbox holds both messages"
keys Q
expect_screen "EXITED:0" "Q quits"

# ---- thread commands: ^N ^P P, Esc v, Esc V, ^D ^U ^R, # ----
M3="$T/Mail3"
demo_mail "$M3"
write_rc "$T/rc4" "$M3"
start_tern -c "$T/rc4"
expect_screen "INBOX 4/32" "a fresh copy for the thread commands"
keys C-n
expect_screen "Threads are off: o t (or #) turns them on." "thread commands need threads"
keys '#'
expect_screen "(date, threads)" "# turns threads on"
keys /
typetext "subject:Index corruption"
keys Enter
x=12    # the demo's ARM thread starts on row 12 (five messages, the reply chain under it)
expect_screen "INBOX $x/32" "the search lands on the thread's first message"
keys P
expect_screen "This message starts its thread." "P on a thread's first message says so"
keys j P
expect_screen "INBOX $x/32" "P goes from the reply to its parent"
keys C-n
expect_screen "INBOX $((x + 5))/32" "^N skips the five messages of the thread"
keys C-p
expect_screen "INBOX $x/32" "^P comes back to its first message"
keys Escape v
expect_screen "INBOX $x/28" "Esc v collapses the thread to one row"
expect_screen "+4 Index corruption on ARM" "the row says how many it hides"
keys Escape v
expect_screen "INBOX $x/32" "Esc v again expands it"
keys Escape V
expect_screen "/20  [32 msgs" "Esc V collapses all four threads (3+1+4+4 rows hidden)"
keys Escape V
expect_screen "/32  [32 msgs" "Esc V again expands them"
keys C-d
expect_screen ", 5 deleted" "^D marks the thread's five messages for deletion"
expect_screen "INBOX $((x + 5))/32" "and moves to the next thread"
n=$(grep -lx "Subject: .*Index corruption on ARM (RC1)" "$M3"/INBOX/cur/* | grep -c ':2,[A-Z]*T' || true)
[ "$n" = 5 ] && pass "five files have flag T" || fail "five files have flag T ($n)"
keys C-p C-u
expect_no_screen ", 5 deleted" "^U unmarks them"
u=$(unread)
keys C-r
expect_screen "5 messages of the thread marked read." "^R marks the thread read"
expect_screen ", $((u - 2)) unread" "the two unread ones are read now"
n=$(grep -lx "Subject: .*Index corruption on ARM (RC1)" "$M3"/INBOX/cur/* | grep -c ':2,[A-Z]*S' || true)
[ "$n" = 5 ] && pass "five files have flag S" || fail "five files have flag S ($n)"
keys '#'
expect_no_screen "threads)" "# turns threads off"
keys Q
expect_screen "EXITED:0" "Q quits"

# ---- ~ patterns (POSIX regular expressions) in l, T and / ----
M4="$T/Mail4"
demo_mail "$M4"
write_rc "$T/rc5" "$M4"
export TZ=UTC     # ~d counts local days: the demo's dates fall on these UTC days
start_tern -c "$T/rc5"
expect_screen "INBOX 4/32" "a fresh copy for the patterns"
keys l
typetext "~f '^(ben|priya) ' ~s '^(re: )?(boat|index|lunch)'"
keys Enter
expect_screen "[4 msgs of 32" "l with ~f and ~s regexes: Ben's trailer, Priya's index and lunch"
keys l C-u
typetext "~s regatta | ~b 'LOAD THE trailer.*saturday'"
keys Enter
expect_screen "[3 msgs of 32" "an upper-case letter makes the body regex case-sensitive"
keys l C-u
typetext "~s regatta | ~b 'load the trailer.*saturday'"
keys Enter
expect_screen "[4 msgs of 32" "| is or; ~b searches the body, case-insensitive without capitals"
keys l C-u
typetext "~s Autumn !~s ^Re:"
keys Enter
expect_screen "[1 msg of 32" "! negates: the one Autumn message that is no reply"
keys l C-u
typetext "~s AUTUMN"
keys Enter
expect_screen "No message matches the limit" "REGATTA matches nothing (case counts)"
keys l C-u
typetext "~s (unclosed"
keys Enter
expect_screen "bad regular expression" "a broken regex is reported"
keys l C-u Enter
expect_screen "[32 msgs," "back to all"
keys T
typetext "~f волков | ~s ^Расписание"
keys Enter
expect_screen "2 messages tagged." "T with Cyrillic regexes (волков finds Волков)"
keys l
typetext "~T"
keys Enter
expect_screen "[2 msgs of 32" "~T limits to the tagged messages"
keys l C-u Enter
# ~d and ~r with mutt's dates
keys l
typetext "~d 20/11/2026-"
keys Enter
expect_screen "[10 msgs of 32" "~d 20/11/2026- : on or after the 20th"
keys l C-u
typetext "~d -11/11/2026"
keys Enter
expect_screen "[6 msgs of 32" "~d -11/11/2026 : on or before the 11th"
keys l C-u
typetext "~d 15/11/2026"
keys Enter
expect_screen "[5 msgs of 32" "~d 15/11/2026 : that day"
keys l C-u
typetext "~d 12/11/2026-14/11/2026 | ~d 15/11/2026*1d"
keys Enter
expect_screen "[11 msgs of 32" "a range of days, and a day with a margin"
keys l C-u
typetext "~r <1d ~d 15/11/2026"
keys Enter
expect_screen "[5 msgs of 32" "~r <1d: every file arrived today (the copy)"
keys l C-u
typetext "~r >1d"
keys Enter
expect_screen "No message matches the limit" "~r >1d: none"
keys l C-u
typetext "~d 31/02/x"
keys Enter
expect_screen "pattern: bad date" "a bad date is reported"
keys l C-u Enter
semi; keys t
expect_no_screen "tagged]" "; t untags the two tagged before"
keys T
typetext "~d 1/11/2026-14/11/2026"
keys Enter
expect_screen "11 messages tagged." "T with a ~d range tags the first two weeks' mail"
semi; keys t
expect_no_screen "tagged]" "; t untags them"
keys /
typetext "~d 23/11/2026"
keys Enter
expect_screen "INBOX 28/32" "/ with ~d finds the first message of the 23rd"
keys /
typetext "~s ^Stollen"
keys Enter
expect_screen "INBOX 23/32" "/ with a regex finds the Stollen message"
keys Escape /
expect_screen "Search backwards:" "Esc / searches backwards, as in mutt"
typetext "~s ^Crew"
keys Enter
expect_screen "INBOX 4/32" "Esc / with a regex finds the crew list above"
keys Q
expect_screen "EXITED:0" "Q quits"

expect_clean_stderr
finish
