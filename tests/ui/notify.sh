#!/bin/sh
# New-mail notification in the client: a background fetch of new mail rings the bell, sets
# the terminal title (tmux's pane_title) and runs new_mail_command; mail that another
# program delivers into a watched folder does the same; an empty fetch does nothing.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/dovecot.sh"

dovecot_setup "$T/dv"
dovecot_fill 3 300 3000 9
dovecot_start

M="$T/Mail"
demo_mail "$M"
cat >"$T/notify.sh" <<SH
#!/bin/sh
echo "\$TERN_NEW_COUNT \$TERN_FOLDER" >>"$T/runs"
SH
chmod +x "$T/notify.sh"
write_rc "$T/rc" "$M" "new_mail_command = $T/notify.sh" \
    "[account a]" "pop3_host = 127.0.0.1" "pop3_port = $POP3S_PORT" "pop3_user = alice" \
    "password = secret" "tls_ca_file = $T/dv/cert.pem" "timeout = 5" "pop3_keep = yes"

fmt() { tm display-message -p -t t "$1"; }
# wait_title TEXT [SECONDS]: until the pane's title is TEXT.
wait_title() {
    n=$(( ${2:-10} * 20 ))
    while [ "$n" -gt 0 ]; do
        [ "$(fmt '#{pane_title}')" = "$1" ] && return 0
        sleep 0.05
        n=$((n - 1))
    done
    return 1
}

start_tern -c "$T/rc"
expect_screen "[32 msgs" "client is up"
[ "$(fmt '#{window_bell_flag}')" = 0 ] && pass "no bell at start" || fail "bell at start"
case "$(fmt '#{pane_title}')" in tern:*) fail "title set at start" ;; *) pass "title untouched at start" ;; esac

keys i
if wait_title "tern: 3 new in INBOX" 20; then pass "the title tells of 3 new in INBOX"
else fail "title is '$(fmt '#{pane_title}')'"; fi
[ "$(fmt '#{window_bell_flag}')" = 1 ] && pass "the bell rang" || fail "no bell"
expect_screen "fetch: done" "the status line still says the fetch is done" 5
[ "$(cat "$T/runs" 2>/dev/null)" = "3 INBOX" ] && pass "new_mail_command ran once with 3 INBOX" ||
    fail "new_mail_command: '$(cat "$T/runs" 2>/dev/null)'"

# Another program delivers into the watched inbox: the timer's check notices it.
tm kill-session -t t 2>/dev/null || true
start_tern -c "$T/rc"
expect_screen "[35 msgs" "client is up with the fetched mail"
tm pipe-pane -t t -o "cat >>'$T/raw1'"
printf 'From: x@example.org\nSubject: dropped in\n\nhi\n' >"$M/INBOX/new/1.drop.host"
if wait_title "tern: 1 new in INBOX" 15; then pass "a delivery by another program is noticed"
else fail "title is '$(fmt '#{pane_title}')'"; fi
[ "$(fmt '#{window_bell_flag}')" = 1 ] && pass "the bell rang again" || fail "no bell"
if grep -qa "$(printf '\033]9;')\|$(printf '\033]777;')" "$T/raw1"; then
    fail "a desktop notification by default"; else pass "no desktop notification by default"; fi

# new_mail_desktop = osc777 and a title of one's own (the raw output, through pipe-pane)
tm kill-session -t t 2>/dev/null || true
write_rc "$T/rc2" "$M" "new_mail_desktop = osc777" "new_mail_title = %n more, 100%%" \
    "new_mail_bell = no"
start_tern -c "$T/rc2"
expect_screen "[36 msgs" "client is up with new_mail_desktop = osc777"
tm pipe-pane -t t -o "cat >>'$T/raw2'"
printf 'From: y@example.org\nSubject: two\n\nhi\n' >"$M/INBOX/new/2.drop.host"
if wait_title "1 more, 100%" 15; then pass "new_mail_title is used"
else fail "title is '$(fmt '#{pane_title}')'"; fi
n=0
while [ "$n" -lt 40 ] && ! grep -qaF "$(printf '\033]777;notify;tern;1 new message in INBOX\007')" \
    "$T/raw2"; do sleep 0.05; n=$((n + 1)); done
[ "$n" -lt 40 ] && pass "OSC 777 notification sent" || { fail "no OSC 777"; cat -v "$T/raw2" | tail -3; }
[ "$(fmt '#{window_bell_flag}')" = 0 ] && pass "new_mail_bell = no keeps quiet" || fail "bell rang"

# An empty fetch, after marking a message unread: no title change, no bell, no command.
tm kill-session -t t 2>/dev/null || true
start_tern -c "$T/rc"
expect_screen "[37 msgs" "client is up once more"
# Marking a read message unread grows the unread count but is no news.
keys j j j U
expect_screen "21 unread" "a read message marked unread"
keys i
expect_screen "fetch: done" "the empty fetch ends" 15
sleep 0.5
case "$(fmt '#{pane_title}')" in tern:*) fail "title changed on an empty fetch" ;;
    *) pass "no title on an empty fetch" ;; esac
[ "$(fmt '#{window_bell_flag}')" = 0 ] && pass "no bell on an empty fetch" || fail "bell on empty fetch"
[ "$(wc -l <"$T/runs")" = 1 ] && pass "no command on an empty fetch" || fail "command ran again"
keys q
expect_screen "EXITED:0" "quit"
finish
