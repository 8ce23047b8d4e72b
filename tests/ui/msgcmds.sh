#!/bin/sh
# Screen tests of the message commands and their rough edges: expunge in the Trash, saving
# a message and a part, links, the pager's wrapping, aliases from a sender. Effects are
# checked on disk.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

demo_setup
export HOME="$T/home"
mkdir -p "$HOME"

start_tern -c "$T/rc"
expect_screen "[32 msgs" "INBOX is open"

# A part saved to a directory lands as DIR/NAME; ~ is the home directory.
mkdir -p "$T/home/att" "$T/dir"
keys /
typetext "Crew list"
keys Enter Enter
expect_screen "crew.csv" "the pager lists the attachment"
keys v
expect_screen "Parts: [1] text/plain" "v lists the parts"
typetext "s 2 $T/dir"
keys Enter
expect_screen "Saved part 2 to $T/dir/crew.csv" "a directory target saves DIR/NAME"
[ -s "$T/dir/crew.csv" ] && pass "the part is in the directory" ||
    fail "the part is in the directory"
keys v
typetext "s 2 ~/att"
keys Enter
expect_screen "Saved part 2 to $T/home/att/crew.csv" "~ is expanded"
cmp -s "$T/dir/crew.csv" "$T/home/att/crew.csv" && pass "the same part under ~" ||
    fail "the same part under ~"
keys q

# s to a file saves the message to an mbox and marks it for deletion (as mutt's save);
# C to a Maildir saves a copy; =name is a folder as in mutt.
keys /
typetext "cardamom buns"
keys Enter
expect_screen "This week: rye, cardamom" "the cursor is on the bakery message"
keys s
expect_screen "Move to folder (or save to ~/file):" "s asks where"
typetext "~/saved.mbox"
keys Enter
expect_screen "Saved to $T/home/saved.mbox; marked for deletion." "s to a file saves it"
if /usr/bin/python3 - "$T/home/saved.mbox" <<'EOP'
import mailbox, sys
msgs = list(mailbox.mbox(sys.argv[1]))
sys.exit(0 if len(msgs) == 1 and "cardamom" in msgs[0]["Subject"] else 1)
EOP
then pass "the mbox holds the message"; else fail "the mbox holds the message"; fi
[ "$(ls "$M/INBOX/cur" "$M/INBOX/new" | grep -c demo)" = 32 ] && pass "the message stays until \$" ||
    fail "the message stays until \$"
ls "$M/INBOX/cur" | grep "Q9\.demo:2,.*T" >/dev/null && pass "and is marked for deletion" ||
    fail "and is marked for deletion"
mkdir -p "$T/md/cur" "$T/md/new" "$T/md/tmp"
keys k
keys /
typetext "cardamom buns"
keys Enter C
typetext "$T/md"
keys Enter
expect_screen "Saved a copy to $T/md" "C to a Maildir saves a copy"
[ "$(count_files "$T/md")" = 1 ] && pass "the Maildir holds one message" ||
    fail "the Maildir holds one message"
keys C
typetext "=Drafts"
keys Enter
expect_screen "Copied to Drafts." "=Drafts names the folder"
[ "$(count_files "$M/Drafts")" = 3 ] && pass "Drafts got the copy" ||
    fail "Drafts got the copy ($(count_files "$M/Drafts"))"
keys Q
expect_restored "Q leaves"

# Links: url_command first, run without a shell, the URL one argument.
cat >"$T/opener.sh" <<'EOS'
#!/bin/sh
printf '%s\n' "$@" >"$OPENED.tmp" && /bin/mv "$OPENED.tmp" "$OPENED"
EOS
chmod +x "$T/opener.sh"
export OPENED="$T/opened"
write_rc "$T/rc-url" "$M" "url_command = $T/opener.sh --new %s"
start_tern -c "$T/rc-url"
expect_screen "[32 msgs" "INBOX is open (url_command)"
keys /
typetext "cardamom buns"
keys Enter Enter
expect_screen "bakery.example/order" "the message with a link is shown"
keys C-b
expect_screen "Open link number:" "^B lists the links"
typetext "1"
keys Enter
expect_screen "Opened the link with $T/opener.sh." "url_command opened it"
eventually 30 test -s "$OPENED"
[ "$(cat "$OPENED" 2>/dev/null)" = "$(printf -- '--new\nhttps://bakery.example/order')" ] &&
    pass "url_command got the URL as one argument for %s" ||
    fail "url_command got the URL as one argument ($(cat "$OPENED" 2>/dev/null))"
keys Q
expect_restored "Q leaves"

# $BROWSER: a colon-separated list tried in turn, the URL appended without %s. Nothing
# found: say so (never "Started xdg-open."). PATH holds no xdg-open for this tern.
rm -f "$OPENED"
mkdir -p "$T/nobin"
cat >"$T/tern-nopath" <<EOS
#!/bin/sh
PATH="$T/nobin" exec "$TERN" "\$@"
EOS
chmod +x "$T/tern-nopath"
REAL_TERN=$TERN
TERN="$T/tern-nopath"
BROWSER="/nonexistent/browser:$T/opener.sh" start_tern -c "$T/rc"
expect_screen "[32 msgs" "INBOX is open (BROWSER)"
keys /
typetext "cardamom buns"
keys Enter Enter
keys C-b
expect_screen "Open link number:" "^B lists the links"
typetext "1"
keys Enter
expect_screen "Opened the link with $T/opener.sh." "the second BROWSER entry opened it"
eventually 30 test -s "$OPENED"
[ "$(cat "$OPENED" 2>/dev/null)" = "https://bakery.example/order" ] &&
    pass "BROWSER got the URL" || fail "BROWSER got the URL ($(cat "$OPENED" 2>/dev/null))"
keys Q
expect_restored "Q leaves"
start_tern -c "$T/rc"
expect_screen "[32 msgs" "INBOX is open (no opener)"
keys /
typetext "cardamom buns"
keys Enter Enter
keys C-b
typetext "1"
keys Enter
expect_screen "No program to open links: set url_command" "a missing opener is reported"
expect_no_screen "Started xdg-open" "and not claimed started"
keys Q
expect_restored "Q leaves"
TERN=$REAL_TERN

# [general] headers names the fields the pager shows; h still shows them all.
write_rc "$T/rc-hdr" "$M" "headers = Subject, Message-ID"
start_tern -c "$T/rc-hdr"
expect_screen "[32 msgs" "INBOX is open (headers)"
keys /
typetext "cardamom buns"
keys Enter Enter
expect_screen "Message-ID: <news1@demo.example.org>" "a field named in headers is shown"
expect_no_screen "Date: " "a field not named is not"
keys h
expect_screen "Received: from mx.example.org" "h shows every field"
keys h
expect_no_screen "Received: from" "h again weeds them"
keys Q
expect_restored "Q leaves"

# The pager wraps long lines at spaces: no word is cut at the pane's edge.
start_tern -c "$T/rc"
expect_screen "[32 msgs" "INBOX is open (wrap)"
keys /
typetext "cardamom buns"
keys Enter Enter z
tm resize-window -t t -x 40 -y 30
expect_screen "-- message --" "the zoomed pager at 40 columns"
if screen | grep -qx "This week we bake dark rye on Tuesday *" &&
    screen | grep -q "^and cardamom buns on Saturday\.$"; then
    pass "the line breaks between words"
else
    fail "the line breaks between words"; screen | sed 's/^/    | /'
fi
tm resize-window -t t -x 120 -y 40
keys Q
expect_restored "Q leaves"

# A failed fetch shows its reason, for every failing account, and M keeps each one. Two
# loopback ports nobody listens on (taken from the kernel, then closed).
set -- $(/usr/bin/python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
write_rc "$T/rc-fail" "$M" \
    '[account one]' 'from = a@example.org' 'pop3_host = 127.0.0.1' "pop3_port = $1" \
    'pop3_tls = none' 'pop3_user = a' 'password = x' \
    '[account two]' 'from = b@example.org' 'pop3_host = 127.0.0.1' "pop3_port = $2" \
    'pop3_tls = none' 'pop3_user = b' 'password = y'
start_tern -c "$T/rc-fail"
expect_screen "[32 msgs" "INBOX is open (failing accounts)"
keys i
expect_screen "fetch failed" "the fetch fails" 20
if status_line >/dev/null && screen | tail -n 1 | grep -q "one: connect to 127.0.0.1 port $1" &&
    screen | tail -n 1 | grep -q "two: connect to 127.0.0.1 port $2"; then
    pass "the status line names both accounts' reasons"
else
    fail "the status line names both accounts' reasons"; screen | tail -n 2
fi
keys M
expect_screen "error: fetch: one: connect to 127.0.0.1 port $1: Connection refused" \
    "M keeps the first account's error"
expect_screen "error: fetch: two: connect to 127.0.0.1 port $2: Connection refused" \
    "and the second's"
keys q
keys Q
expect_restored "Q leaves"

# Drafts: the editor file ends in .eml; what one tern is editing another neither offers
# to resume nor resumes. The editor waits for $T/release while the second client looks.
cat >"$T/editor.sh" <<EOS
#!/bin/sh
printf '%s\n' "\$1" >"$T/editing"
sed -i 's/^Subject: \$/Subject: Held open/' "\$1"
while [ ! -e "$T/release" ]; do sleep 0.05; done
EOS
chmod +x "$T/editor.sh"
write_rc "$T/rc-ed" "$M" "editor = $T/editor.sh" '[account demo]' 'from = Ann <ann@example.org>'
start_tern -c "$T/rc-ed"
expect_screen "[32 msgs" "INBOX is open (drafts)"
keys m
eventually 30 test -s "$T/editing"
case $(cat "$T/editing" 2>/dev/null) in
*.eml) pass "the editor file ends in .eml" ;;
*) fail "the editor file ends in .eml ($(cat "$T/editing" 2>/dev/null))" ;;
esac
# A second client meanwhile (its own tmux session): no offer to resume the open message.
tm new-session -d -s u -x 120 -y 40 "TERM=screen-256color LC_ALL=C.UTF-8 $TERN -c $T/rc-ed 2>>$T/tern.err; sleep 600"
n=0
until tm capture-pane -p -t u | grep -qF "[32 msgs"; do
    n=$((n + 1)); [ "$n" -gt 200 ] && break; sleep 0.05; done
tm capture-pane -p -t u | grep -qF "[32 msgs" && pass "the second client is up" ||
    fail "the second client is up"
if tm capture-pane -p -t u | grep -q "Resume the message"; then
    fail "it does not offer the message being edited"
else
    pass "it does not offer the message being edited"
fi
tm send-keys -t u Q
touch "$T/release"
expect_screen "Compose (account demo)" "the first client's compose screen"
keys P
expect_screen "Postponed" "P postpones it to Drafts"
keys c
typetext "Drafts"
keys Enter
expect_screen "Held open" "Drafts lists it"
rm -f "$T/release" "$T/editing"
keys /
typetext "Held open"
keys Enter e
eventually 30 test -s "$T/editing"
tm new-session -d -s v -x 120 -y 40 "TERM=screen-256color LC_ALL=C.UTF-8 $TERN -c $T/rc-ed 2>>$T/tern.err; sleep 600"
n=0
until tm capture-pane -p -t v | grep -qF "[32 msgs"; do
    n=$((n + 1)); [ "$n" -gt 200 ] && break; sleep 0.05; done
tm send-keys -t v c
tm send-keys -t v -l Drafts
tm send-keys -t v Enter /
tm send-keys -t v -l "Held open"
tm send-keys -t v Enter e
n=0
until tm capture-pane -p -t v | grep -qF "being edited in another tern"; do
    n=$((n + 1)); [ "$n" -gt 200 ] && break; sleep 0.05; done
tm capture-pane -p -t v | grep -qF "This message is being edited in another tern." &&
    pass "e on a draft another tern is editing is refused" ||
    { fail "e on a draft another tern is editing is refused"; tm capture-pane -p -t v | tail -n 3; }
tm send-keys -t v Q
touch "$T/release"
expect_screen "Compose (account demo)" "the first client resumed it"
keys q
expect_screen "Message aborted." "and closes it"
keys Q
expect_restored "Q leaves"

# Expunge in the Trash removes mail for good, so it asks first, naming the count.
start_tern -c "$T/rc"
expect_screen "[32 msgs" "INBOX is open (Trash)"
keys c
typetext "Trash"
keys Enter
expect_screen "Trash 2/2  [2 msgs, 1 deleted]" "Trash is open"
keys d
keys '$'
expect_screen "Delete 2 messages for good? (y/n)" "\$ in the Trash asks, naming the count"
keys n
expect_screen "Nothing deleted." "n keeps them"
[ "$(count_files "$M/Trash/cur")" = 2 ] && pass "both files are still there" ||
    fail "both files are still there ($(count_files "$M/Trash/cur"))"
keys '$'
expect_screen "Delete 2 messages for good? (y/n)" "asked again"
keys y
expect_screen "2 messages deleted." "y deletes"
[ "$(count_files "$M/Trash/cur")" = 0 ] && pass "the files are gone" ||
    fail "the files are gone ($(count_files "$M/Trash/cur"))"
keys Q
expect_restored "Q leaves"

expect_clean_stderr
finish
