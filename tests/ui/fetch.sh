#!/bin/sh
# The full-screen client fetching in the background from a private dovecot: progress in the
# status bar while keys keep working, new mail in the list without a keypress, and the
# server's reason shown when the login fails.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/dovecot.sh"

dovecot_setup "$T/dv"
N=${UI_FETCH_MESSAGES:-600}
dovecot_fill "$N" 300 3000 5
dovecot_start

M="$T/Mail"
demo_mail "$M"
acct() {
    printf '[account a]\npop3_host = 127.0.0.1\npop3_port = %s\npop3_user = alice\n' "$POP3S_PORT"
    printf 'password = %s\ntls_ca_file = %s\ntimeout = 5\npop3_keep = yes\n' "$1" "$T/dv/cert.pem"
}
write_rc "$T/bad.rc" "$M" "$(acct wrong)"

# A refused login: the server's words reach the message line; the screen stays.
start_tern -c "$T/bad.rc"
expect_screen "[32 msgs" "client is up"
keys i
expect_screen "fetch failed" "a failed fetch is reported" 15
expect_screen "uthentication failed" "with the server's reason" 1
keys j
expect_screen "5/32" "keys work after the failure"
keys q
expect_screen "EXITED:0" "quit"

# The job waits in its password_command until the test opens the gate, so the keys below are
# certainly pressed while it runs, however fast the machine fetches.
printf '#!/bin/sh\nwhile [ ! -e "%s" ]; do sleep 0.05; done\necho secret\n' "$T/go" >"$T/open.sh"
chmod +x "$T/open.sh"
write_rc "$T/rc" "$M" "$(acct secret | sed "s|^password = .*|password_command = $T/open.sh|")"
start_tern -c "$T/rc"
expect_screen "[32 msgs" "client is up again"
keys i
if wait_for "[fetch" 15; then
    pass "the running job shows in the status bar"
    keys G
    # one screen with the job still running and the cursor moved to the last message
    ok=
    for _ in $(seq 100); do
        screen >"$T/during"
        if grep -qF "[fetch" "$T/during" && grep -qE ' ([0-9]+)/\1  \[' "$T/during"; then
            ok=1; break
        fi
        sleep 0.05
    done
    if [ -n "$ok" ]; then pass "keys work during the fetch"; else
        fail "keys work during the fetch"; tail -n 2 "$T/during"; fi
else
    fail "the running job shows in the status bar"; screen | tail -n 3
fi
touch "$T/go"
expect_screen "[$((N + 32)) msgs" "all the new mail is in the list, no keypress" 90
expect_screen "fetch: done" "the status says the fetch is done" 10
[ "$(find "$M/INBOX/new" "$M/INBOX/cur" -type f | wc -l)" = $((N + 32)) ] &&
    pass "$N messages delivered to INBOX" || fail "$N messages delivered to INBOX"
keys q
expect_screen "EXITED:0" "quit after the fetch"
expect_restored "terminal restored"

# :cancel stops a running fetch; the screen stays and says so. The job must still be running
# when the cancel arrives whatever the machine's speed (600 messages can be fetched before
# tmux has typed ":cancel"), so its password_command waits for a file that never appears:
# the job is held before it logs in, and the cancel has to end the whole process group.
M2="$T/Mail2"
demo_mail "$M2"
printf '#!/bin/sh\nwhile [ ! -e "%s" ]; do sleep 0.05; done\necho secret\n' "$T/never" >"$T/gate.sh"
chmod +x "$T/gate.sh"
write_rc "$T/rc2" "$M2" "[account a]
pop3_host = 127.0.0.1
pop3_port = $POP3S_PORT
pop3_user = alice
password_command = $T/gate.sh
tls_ca_file = $T/dv/cert.pem
timeout = 5
pop3_keep = yes"
start_tern -c "$T/rc2"
expect_screen "[32 msgs" "client is up a third time"
keys i
if wait_for "[fetch" 15; then
    keys :
    typetext "cancel"
    keys Enter
    # The notice lasts until the job's end replaces it, which can be at once; the end is
    # "stopped by signal" when the signal finds the job in its password_command, "cancelled"
    # when tern fetch catches it itself.
    ended() { screen | grep -qE "fetch (cancelled|stopped by signal|failed)"; }
    notice() { screen | grep -qF "Cancelling 1 background job" || ended; }
    if eventually 5 notice; then
        pass ":cancel signals the job"; else fail ":cancel signals the job"; fi
    if eventually 10 ended; then
        pass "the cancelled fetch is reported"; else fail "the cancelled fetch is reported"; fi
    gate_gone() { ! pgrep -f "$T/gate.sh" >/dev/null; }
    eventually 5 gate_gone && pass "the cancel ended the job's children" ||
        fail "the cancel ended the job's children"
    [ "$(find "$M2/INBOX/new" "$M2/INBOX/cur" -type f | wc -l)" = 32 ] &&
        pass "nothing was delivered" || fail "nothing was delivered"
    keys G
    expect_screen " 32/32  [" "keys still work after the cancel"
    keys k
    expect_screen " 31/32  [" "and move the cursor up"
else
    fail "the fetch started"
fi
keys q
expect_screen "EXITED:0" "quit after cancel"

# First run with an empty mail root (issue 12, item 9): the client says INBOX does not exist
# yet instead of failing, and opens it as soon as the fetch delivers into it.
M3="$T/Mail3"
mkdir -p "$M3"
write_rc "$T/rc3" "$M3" "$(acct secret)"
start_tern -c "$T/rc3"
expect_screen "INBOX does not exist yet" "first run: INBOX is awaited, not an error"
expect_no_screen "no such folder" "first run: no 'no such folder'"
keys i
expect_screen "INBOX 1/" "first run: INBOX opens when the fetch creates it" 15
expect_screen "[$N msgs" "first run: every fetched message is listed" 30
# A role folder shows in the pane once it is created: the first expunge creates Trash.
expect_no_screen " Trash" "first run: no Trash yet"
keys d '$'
expect_screen "[$((N - 1)) msgs" "first run: expunge moved a message"
[ "$(count_files "$M3/Trash/cur")" = 1 ] && pass "first run: Trash created on expunge" ||
    fail "first run: Trash created on expunge"
expect_screen " Trash" "first run: Trash is listed as soon as it exists"
keys q
expect_screen "EXITED:0" "quit after the first run"
expect_clean_stderr
finish
