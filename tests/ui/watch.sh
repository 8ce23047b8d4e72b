#!/bin/sh
# Another program's changes to the open folder show in the running client: flag changes
# (renames in cur/), a message read elsewhere, a delivery, a removal -- through the folder's
# watch (inotify) alone: the timer's check is off, and the folder counts as large, where a
# refresh without the watch would need a child to list it; with the watch turned off, through
# the timer's listing.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

M="$T/Mail"
demo_mail "$M"
write_rc "$T/rc" "$M"
export TERN_LEARN_EVERY=3600
export TERN_BG_INDEX_MIN=10     # the 32 messages of INBOX count as a large folder
export TERN_CHECK_EVERY=3600    # no timer's check: what shows, the watch showed

# first_file DIR PATTERN: the first message file in DIR whose name matches PATTERN
first_file() { ls "$1" | grep -E -- "$2" | head -n 1; }

start_tern -c "$T/rc"
expect_screen "[32 msgs, 15 unread, 4 new, 2 flagged]" "client is up on INBOX"

f=$(first_file "$M/INBOX/cur" ':2,S$')
mv "$M/INBOX/cur/$f" "$M/INBOX/cur/${f%:2,S}:2,FS"
expect_screen "[32 msgs, 15 unread, 4 new, 3 flagged]" "another program's flag change shows"

f=$(first_file "$M/INBOX/cur" ':2,$')
mv "$M/INBOX/cur/$f" "$M/INBOX/cur/${f}S"
expect_screen "[32 msgs, 14 unread, 4 new, 3 flagged]" "a message read elsewhere shows as read"

printf 'From: w@example.org\nSubject: Watched delivery\nDate: Tue, 01 Dec 2026 10:00:00 +0000\n\nhi\n' \
    >"$M/INBOX/tmp/1800000000.M1P1Q1.other"
mv "$M/INBOX/tmp/1800000000.M1P1Q1.other" "$M/INBOX/new/1800000000.M1P1Q1.other"
expect_screen "[33 msgs, 15 unread, 5 new, 3 flagged]" "another program's delivery shows"
expect_screen "Watched delivery" "with its subject"

rm "$M/INBOX/new/1800000000.M1P1Q1.other"
expect_screen "[32 msgs, 14 unread, 4 new, 3 flagged]" "a removal by another program shows"
expect_no_screen "Watched delivery" "the removed message left the list"

# our own flag change and another program's right after it
keys G
keys F
expect_screen "4 flagged]" "our own flag change"
f=$(first_file "$M/INBOX/cur" ':2,FS$')
mv "$M/INBOX/cur/$f" "$M/INBOX/cur/${f%:2,FS}:2,S"
expect_screen "[32 msgs, 14 unread, 4 new, 3 flagged]" "then another program's unflagging"
keys q
expect_restored "q quits"

# The journal of changes grows long (here every cache counts as large and the journal has
# no slack): the client has `tern index` merge it in the background and swaps the index;
# what shows stays the same.
export TERN_INDEX_SMALL_CACHE=0 TERN_INDEX_JNL_SLACK=0
start_tern -c "$T/rc"
expect_screen "[32 msgs, 14 unread, 4 new, 3 flagged]" "client is up (journal merges on)"
cache_ino() { ls -i "$M/INBOX/.tern-index" | cut -d' ' -f1; }
ino=$(cache_ino)
read_only=$(ls "$M/INBOX/cur" | grep -E ':2,S$')
for f in $read_only; do
    mv "$M/INBOX/cur/$f" "$M/INBOX/cur/${f%:2,S}:2,FS"
done
nflag=$(echo "$read_only" | wc -l | tr -d ' ')
expect_screen "4 new, $((nflag + 3)) flagged]" "$nflag flag changes show"
# (the journal now passes an eighth of the cache, not half of it: no refresh rewrote it)
if eventually 15 test "$(cache_ino)" != "$ino"; then
    pass "the long journal was merged in the background (the cache rewritten)"
else
    fail "the long journal was merged in the background (the cache rewritten)"
fi
expect_screen "[32 msgs, 14 unread, 4 new, $((nflag + 3)) flagged]" \
    "the list is the same after the swap"
for f in $read_only; do
    mv "$M/INBOX/cur/${f%:2,S}:2,FS" "$M/INBOX/cur/$f"
done
expect_screen "[32 msgs, 14 unread, 4 new, 3 flagged]" "and the flags back"
keys q
expect_restored "q quits"
unset TERN_INDEX_SMALL_CACHE TERN_INDEX_JNL_SLACK

# Without the watch the timer's listing finds the change (a small folder: in the loop).
export TERN_INDEX_WATCH=0 TERN_BG_INDEX_MIN=5000 TERN_CHECK_EVERY=1
start_tern -c "$T/rc"
expect_screen "[32 msgs, 14 unread, 4 new, 3 flagged]" "client is up without a watch"
f=$(first_file "$M/INBOX/cur" ':2,S$')
mv "$M/INBOX/cur/$f" "$M/INBOX/cur/${f%:2,S}:2,FS"
expect_screen "[32 msgs, 14 unread, 4 new, 4 flagged]" "the timer's listing finds a flag change" 15
keys q
expect_restored "q quits"

# Without the watch, in a large folder, while a fetch runs (no listing then, not even in a
# child): the messages it delivered show from its own reports (`new FOLDER FILE`). The peer
# holds the fetch before its 140th message (its third window) until the test opens the gate.
if command -v openssl >/dev/null 2>&1; then
    HERE=$(cd "$(dirname "$0")/../integration" && pwd)
    localhost_cert "$T"
    serve pop3peer "$T/peer.port" "$T/peer.out" \
        python3 "$HERE/pop3peer.py" gate "$T/peer.port" "$T/peer.log" "$T/cert.pem" \
        "$T/cert.key" || fail "the scripted POP3 peer starts"
    write_rc "$T/rc3" "$M" "[account p]" "pop3_host = localhost" \
        "pop3_port = $(cat "$T/peer.port")" "pop3_tls = starttls" "pop3_user = u" \
        "password = x" "tls_ca_file = $T/cert.pem" "pop3_keep = yes" "timeout = 30"
    export TERN_BG_INDEX_MIN=10 TERN_CHECK_EVERY=3600
    start_tern -c "$T/rc3"
    expect_screen "[32 msgs" "client is up without a watch, INBOX large"
    keys i
    expect_screen "[96 msgs" "the fetch's first 64 messages show while it runs" 20
    expect_screen "[fetch" "(the fetch is still held)" 1
    : >"$T/peer.port.go"
    expect_screen "[182 msgs" "all 150 once the fetch ends" 30
    keys q
    expect_restored "q quits"
    serve_stop "$SERVE_PID"
fi
expect_clean_stderr
finish
