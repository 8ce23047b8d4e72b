#!/bin/sh
# tern fetch against a private dovecot (plain+STLS and POP3S) and a scripted peer: integrity
# of 1,000 messages, reruns, keep policies, failures by reason, a kill -9 loop, STARTTLS
# injection and stripping, hostile replies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dovecot.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

dovecot_setup "$T/dv"
N=${POP3_TEST_MESSAGES:-1000}
dovecot_fill "$N" 300 6000 7
mkdir -p "$T/orig" && cp "$DOVECOT_MAILDIR"/new/* "$T/orig/"
dovecot_start

# rc FILE NAME [key = value...]: an account section pointing at the dovecot.
rc() {
    f=$1; root=$2; shift 2
    {
        echo "[general]"; echo "mail_root = $root"
        echo "[account a]"; echo "pop3_host = 127.0.0.1"; echo "pop3_user = alice"
        echo "password = secret"; echo "tls_ca_file = $T/dv/cert.pem"; echo "timeout = 30"
        for kv in "$@"; do echo "$kv"; done
    } >"$f"
    chmod 600 "$f"
}

# digests DIR...: one sha256 per file, CRLF normalised, sorted (duplicates stay visible).
digests() {
    for d in "$@"; do find "$d" -type f; done | sort | while read -r f; do
        tr -d '\r' <"$f" | sha256sum | cut -d' ' -f1; done | sort
}
count_files() { find "$@" -type f 2>/dev/null | wc -l | tr -d ' '; }

digests "$T/orig" >"$T/orig.sum"

# --- 1. STLS on the plain port, keep = yes ---
rc "$T/stls.rc" "$T/m1" "pop3_port = $POP3_PORT" "pop3_tls = starttls" "pop3_keep = yes"
t0=$(date +%s)
expect_status 0 "fetch $N messages over STLS" -- "$TERN" -c "$T/stls.rc" fetch
echo "    ($(($(date +%s) - t0)) s) $(cat "$T/out")"
expect_in "$T/out" "a: $N new messages" "summary names the count"
digests "$T/m1/INBOX/new" >"$T/m1.sum"
if cmp -s "$T/orig.sum" "$T/m1.sum"; then pass "every STLS message equals the server's";
else fail "STLS messages differ from the server's"; diff "$T/orig.sum" "$T/m1.sum" | head -5; fi
expect_in "$T/dv/dovecot.log" "TLS" "dovecot saw a TLS login"
expect_status 0 "rerun over STLS" -- "$TERN" -c "$T/stls.rc" fetch
expect_in "$T/out" "a: 0 new messages" "rerun fetches nothing"
[ "$(count_files "$T/m1/INBOX")" = "$N" ] && pass "still $N files" || fail "file count changed"

# --- 2. POP3S, keep = yes then no ---
rc "$T/tls.rc" "$T/m2" "pop3_port = $POP3S_PORT" "pop3_tls = tls" "pop3_keep = yes"
expect_status 0 "fetch $N messages over POP3S" -- "$TERN" -c "$T/tls.rc" fetch
digests "$T/m2/INBOX/new" >"$T/m2.sum"
if cmp -s "$T/orig.sum" "$T/m2.sum"; then pass "every POP3S message equals the server's";
else fail "POP3S messages differ"; fi
[ "$(count_files "$DOVECOT_MAILDIR/cur" "$DOVECOT_MAILDIR/new")" = "$N" ] &&
    pass "keep = yes deleted nothing" || fail "keep = yes deleted messages"
# --- 2a. the worker protocol on its own descriptor (tern/worker.h): a version line, one
# "new INBOX FILE" per delivered message naming a file that is there, the account's result
# and "done"; nothing of it on stdout or stderr ---
rc "$T/w.rc" "$T/mw" "pop3_port = $POP3S_PORT" "pop3_tls = tls" "pop3_keep = yes"
expect_status 0 "fetch with --worker-fd" -- sh -c '"$1" -c "$2" fetch --worker-fd 3 3>"$3"' \
    sh "$TERN" "$T/w.rc" "$T/w.proto"
[ "$(head -n 1 "$T/w.proto")" = "tern-worker 1 fetch" ] && pass "worker: version line first" ||
    fail "worker: no version line: $(head -n 1 "$T/w.proto")"
[ "$(tail -n 1 "$T/w.proto")" = "done" ] && pass "worker: done last" || fail "worker: no done"
expect_in "$T/w.proto" "fetched a $N 0" "worker: the account's result"
missing=0
awk '$1 == "new" { print $2, $3 }' "$T/w.proto" >"$T/w.new"
while read -r folder file; do
    [ "$folder" = INBOX ] && [ -f "$T/mw/INBOX/new/$file" ] || missing=$((missing + 1))
done <"$T/w.new"
[ "$(wc -l <"$T/w.new")" -eq "$N" ] && [ "$missing" = 0 ] &&
    pass "worker: one 'new INBOX FILE' per message, each file there" ||
    fail "worker: $(wc -l <"$T/w.new") new events, $missing without their file"
expect_not_in "$T/out" "progress" "worker: no protocol on stdout"
expect_not_in "$T/err" "progress" "worker: no protocol on stderr"

# --- 2b. SIGTERM stops a fetch at a message boundary: what arrived is recorded (a rerun
# fetches exactly the rest), the worker says "error cancelled" and "done", exit 130 ---
rc "$T/c.rc" "$T/mc" "pop3_port = $POP3S_PORT" "pop3_tls = tls" "pop3_keep = yes"
"$TERN" -c "$T/c.rc" fetch --worker-fd 3 3>"$T/c.proto" >/dev/null 2>&1 &
fpid=$!
n=0
while [ "$n" -lt 400 ] && ! grep -q '^new ' "$T/c.proto" 2>/dev/null; do
    sleep 0.05; n=$((n + 1)); done
kill -TERM "$fpid"
set +e; wait "$fpid"; st=$?; set -e
ngot=$(count_files "$T/mc/INBOX/new")
if [ "$st" = 130 ]; then
    pass "SIGTERM: fetch exits 130 ($ngot of $N delivered)"
    expect_in "$T/c.proto" "error cancelled a interrupted" "SIGTERM: the worker says cancelled"
    [ "$(tail -n 1 "$T/c.proto")" = "done" ] && pass "SIGTERM: done last" ||
        fail "SIGTERM: no done line"
    [ "$(grep -c '^new ' "$T/c.proto")" = "$ngot" ] && pass "SIGTERM: one event per file" ||
        fail "SIGTERM: $(grep -c '^new ' "$T/c.proto") events for $ngot files"
elif [ "$st" = 0 ] && [ "$ngot" = "$N" ]; then
    pass "SIGTERM: the fetch had already finished (a fast machine)"
else
    fail "SIGTERM: exit $st with $ngot files"
fi
expect_status 0 "rerun after SIGTERM" -- "$TERN" -c "$T/c.rc" fetch
expect_in "$T/out" "a: $((N - ngot)) new messages" "rerun fetches exactly the rest"
[ "$(count_files "$T/mc/INBOX")" = "$N" ] && pass "SIGTERM: all $N exactly once" ||
    fail "SIGTERM: $(count_files "$T/mc/INBOX") files"

rc "$T/tls.rc" "$T/m2" "pop3_port = $POP3S_PORT" "pop3_tls = tls" "pop3_keep = no"
expect_status 0 "keep = no" -- "$TERN" -c "$T/tls.rc" fetch
expect_in "$T/out" "0 new messages" "keep = no downloads nothing again"
expect_in "$T/out" "$N deleted" "keep = no deletes what is safely stored"
[ "$(count_files "$DOVECOT_MAILDIR/cur" "$DOVECOT_MAILDIR/new")" = 0 ] &&
    pass "server mailbox empty" || fail "server still has messages"
[ "$(count_files "$T/m2/INBOX")" = "$N" ] && pass "local copy intact" || fail "local copy changed"

# --- 3. keep = N days, judged by the first-fetched time in the state file ---
# age_state ROOT SECONDS: every first-fetched time in ROOT's POP3 state file SECONDS ago.
age_state() {
    sed -i "s/^[0-9][0-9]* /$(($(date +%s) - $2)) /" \
        "$(ls "$1/.tern/pop3/"alice@127.0.0.1:* | grep -v -e "\.lock$" -e "\.journal$")"
}
dovecot_fill 5 300 900 11
rc "$T/keep.rc" "$T/m3" "pop3_port = $POP3S_PORT" "pop3_keep = 2"
expect_status 0 "keep = 2 first run" -- "$TERN" -c "$T/keep.rc" fetch
expect_in "$T/out" "5 new messages" "keep = 2 fetches 5"
expect_in "$T/out" "0 deleted" "keep = 2 deletes nothing young"
age_state "$T/m3" $((3 * 86400))
expect_status 0 "keep = 2 after three days" -- "$TERN" -c "$T/keep.rc" fetch
expect_in "$T/out" "5 deleted" "keep = 2 deletes messages first fetched 3 days ago"
expect_in "$T/out" "0 new messages" "and fetches nothing again"

# pop3_keep = 1 is one day (it used to be read as the boolean yes: never deleted)
dovecot_fill 4 300 900 13
rc "$T/keep1.rc" "$T/m3b" "pop3_port = $POP3S_PORT" "pop3_keep = 1"
expect_status 0 "keep = 1 first run" -- "$TERN" -c "$T/keep1.rc" fetch
expect_in "$T/out" "4 new messages" "keep = 1 fetches 4"
expect_in "$T/out" "0 deleted" "keep = 1 deletes nothing fetched just now"
age_state "$T/m3b" $((23 * 3600))
expect_status 0 "keep = 1 after 23 hours" -- "$TERN" -c "$T/keep1.rc" fetch
expect_in "$T/out" "0 deleted" "keep = 1 keeps messages fetched less than a day ago"
age_state "$T/m3b" $((25 * 3600))
expect_status 0 "keep = 1 after 25 hours" -- "$TERN" -c "$T/keep1.rc" fetch
expect_in "$T/out" "4 deleted" "keep = 1 deletes messages fetched more than a day ago"

# --- 4. failures by reason: nothing lost, the right words ---
dovecot_fill 3 300 900 12
rc "$T/bad.rc" "$T/m4" "pop3_port = $POP3S_PORT" "password = wrong"
expect_status 77 "wrong password exits EX_NOPERM" -- "$TERN" -c "$T/bad.rc" fetch
expect_in "$T/err" "login as alice failed" "wrong password: says the login failed"
expect_in "$T/err" "[AUTH]" "wrong password: quotes the server"
rc "$T/bad.rc" "$T/m4" "pop3_port = $POP3S_PORT" "tls_ca_file = $T/dv/other.pem"
expect_status 69 "wrong CA" -- "$TERN" -c "$T/bad.rc" fetch
expect_in "$T/err" "untrusted certificate" "wrong CA: untrusted"
rc "$T/bad.rc" "$T/m4" "pop3_port = $POP3_PORT" "pop3_tls = starttls" \
    "tls_fingerprint = 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
expect_status 69 "wrong fingerprint" -- "$TERN" -c "$T/bad.rc" fetch
expect_in "$T/err" "fingerprint mismatch" "pin mismatch named"
fp=$(openssl x509 -in "$T/dv/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
rc "$T/pin.rc" "$T/m4" "pop3_port = $POP3S_PORT" "tls_ca_file =" "tls_fingerprint = $fp" \
    "pop3_keep = yes"
expect_status 0 "right fingerprint, no CA" -- "$TERN" -c "$T/pin.rc" fetch
dovecot_stop
dovecot_conf "$T/dv" other ""
dovecot_start
rc "$T/bad.rc" "$T/m4" "pop3_port = $POP3S_PORT" "tls_ca_file = $T/dv/other.pem"
expect_status 69 "wrong host name" -- "$TERN" -c "$T/bad.rc" fetch
expect_in "$T/err" "wrong host" "wrong host: named"
dovecot_stop
dovecot_conf "$T/dv" cert "ssl = no
service pop3-login {
  inet_listener pop3s {
    port = 0
  }
}"
sed -i 's/^ssl = yes$//' "$T/dv/dovecot.conf"
dovecot_start
rc "$T/bad.rc" "$T/m4" "pop3_port = $POP3_PORT" "pop3_tls = starttls"
expect_status 69 "STLS not offered" -- "$TERN" -c "$T/bad.rc" fetch
expect_in "$T/err" "does not offer STLS" "no downgrade without STLS"
[ "$(count_files "$T/m4/INBOX")" = 3 ] && pass "failures lost nothing" || fail "files changed"
dovecot_stop
dovecot_conf "$T/dv" cert ""
dovecot_start

# --- 5. lock: a second fetcher says so ---
rc "$T/lock.rc" "$T/m5" "pop3_port = $POP3S_PORT" "pop3_keep = yes"
mkdir -p "$T/m5/.tern/pop3"
if command -v flock >/dev/null 2>&1; then
    # The lock is held until the test lets go, and the fetcher starts only once it is held.
    lock="$T/m5/.tern/pop3/alice@127.0.0.1:$POP3S_PORT.lock"
    flock "$lock" sh -c 'touch "$1.held"; while [ ! -e "$1.free" ]; do sleep 0.05; done' \
        - "$T/m5" &
    eventually 30 test -e "$T/m5.held"
    expect_status 75 "second fetcher" -- "$TERN" -c "$T/lock.rc" fetch
    expect_in "$T/err" "another tern fetch is running" "second fetcher says so"
    touch "$T/m5.free"
    wait
fi

# --- 5b. the state belongs to the mailbox (issue 14, item 11). With UIDLs that are the
# message numbers, two fresh mailboxes have the same UIDLs: changing pop3_user must fetch the
# new mailbox's mail (keep = no: and delete only what was fetched), and renaming the account
# or respelling the host must not fetch a mailbox again. ---
dovecot_stop
dovecot_conf "$T/dv" cert "pop3_uidl_format = %u"
for u in carol bob; do
    echo "$u:{PLAIN}secret::::::" >>"$T/dv/passwd"
    mkdir -p "$T/dv/mail/$u/Maildir/cur" "$T/dv/mail/$u/Maildir/tmp"
done
python3 "$HERE/genmail.py" "$T/dv/mail/carol/Maildir" 3 300 900 31
python3 "$HERE/genmail.py" "$T/dv/mail/bob/Maildir" 4 300 900 32
digests "$T/dv/mail/bob/Maildir/new" >"$T/bob.sum"
dovecot_own
dovecot_start
rc "$T/u.rc" "$T/m7" "pop3_port = $POP3S_PORT" "pop3_keep = yes"
sed -i 's/pop3_user = alice/pop3_user = carol/; s/pop3_host = 127.0.0.1/pop3_host = localhost/' \
    "$T/u.rc"
expect_status 0 "carol's mailbox" -- "$TERN" -c "$T/u.rc" fetch
expect_in "$T/out" "3 new messages" "carol's 3 messages fetched"
sed 's/pop3_user = carol/pop3_user = bob/; s/pop3_keep = yes/pop3_keep = no/' "$T/u.rc" \
    >"$T/bob.rc"
chmod 600 "$T/bob.rc"
expect_status 0 "pop3_user changed to bob, keep = no" -- "$TERN" -c "$T/bob.rc" fetch
expect_in "$T/out" "4 new messages" "bob's 4 messages all fetched (UIDLs coincide with carol's)"
digests "$T/m7/INBOX/new" >"$T/m7.sum"
[ -z "$(comm -23 "$T/bob.sum" "$T/m7.sum")" ] && pass "each of bob's messages is on disk" ||
    fail "bob's messages missing: $(comm -23 "$T/bob.sum" "$T/m7.sum" | wc -l)"
[ "$(count_files "$T/m7/INBOX")" = 7 ] && pass "3 + 4 messages on disk, none lost" ||
    fail "$(count_files "$T/m7/INBOX") messages on disk for 3 + 4"
[ "$(count_files "$T/dv/mail/carol/Maildir/cur" "$T/dv/mail/carol/Maildir/new")" = 3 ] &&
    pass "carol's mailbox untouched" || fail "carol's mailbox changed"
sed 's/\[account a\]/[account renamed]/; s/pop3_host = localhost/pop3_host = LOCALHOST/' \
    "$T/u.rc" >"$T/ren.rc"
chmod 600 "$T/ren.rc"
expect_status 0 "account renamed, host respelled" -- "$TERN" -c "$T/ren.rc" fetch
expect_in "$T/out" "0 new messages" "a renamed account fetches nothing again"
[ "$(count_files "$T/m7/INBOX")" = 7 ] && pass "still 7 messages" || fail "fetched again"
sed 's/pop3_host = localhost/pop3_host = 127.0.0.1/' "$T/u.rc" >"$T/ip.rc"
chmod 600 "$T/ip.rc"
expect_status 0 "the same server by its address" -- "$TERN" -c "$T/ip.rc" fetch
expect_in "$T/out" "0 new messages" "the same mailbox under another host name is not fetched again"
[ "$(count_files "$T/m7/INBOX")" = 7 ] && pass "still 7 messages" || fail "fetched again"
dovecot_stop
dovecot_conf "$T/dv" cert ""
dovecot_start

# --- 6. kill -9 at random moments, 50 times: every message exactly once ---
K=${POP3_KILL_MESSAGES:-200}
rm -rf "$DOVECOT_MAILDIR/cur"/* "$DOVECOT_MAILDIR/new"/* "$T/orig"
python3 "$HERE/genmail.py" "$T/orig" "$K" 300 20000 13
mv "$T/orig/new" "$T/orig/msgs"
cp "$T/orig/msgs"/* "$DOVECOT_MAILDIR/new/"; dovecot_own
rc "$T/kill.rc" "$T/m6" "pop3_port = $POP3S_PORT" "pop3_keep = no"
for i in $(seq 50); do
    "$TERN" -c "$T/kill.rc" fetch >/dev/null 2>&1 &
    pid=$!
    sleep "0.$(awk -v s="$i" 'BEGIN { srand(s); printf "%03d", int(rand() * 300) }')"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
expect_status 0 "final fetch after 50 kills" -- "$TERN" -c "$T/kill.rc" fetch
digests "$T/orig/msgs" >"$T/k.want"
digests "$T/m6/INBOX/new" "$T/m6/INBOX/cur" >"$T/k.got"
if cmp -s "$T/k.want" "$T/k.got"; then pass "kill -9 x50: all $K messages exactly once";
else fail "kill -9 x50: $(wc -l <"$T/k.got") files for $K messages";
    diff "$T/k.want" "$T/k.got" | head -5; fi
[ "$(count_files "$T/m6/INBOX/tmp")" = 0 ] && pass "no stray tmp files" || fail "tmp files left"
[ "$(count_files "$DOVECOT_MAILDIR/cur" "$DOVECOT_MAILDIR/new")" = 0 ] &&
    pass "server emptied" || fail "server still has messages"

# --- 7. the scripted peer ---
peer() {
    [ -z "${PEER_PID:-}" ] || serve_stop "$PEER_PID"
    rm -f "$T/peer.port.cut" "$T/peer.log"
    serve "pop3peer.py $1" "$T/peer.port" "$T/peer.out" python3 "$HERE/pop3peer.py" "$1" \
        "$T/peer.port" "$T/peer.log" "$T/dv/cert.pem" "$T/dv/cert.key"
    PEER_PID=$SERVE_PID
    PEER_PORT=$(cat "$T/peer.port")
}
no_credentials() {
    if grep -qE '^C: (USER|PASS|AUTH|APOP)' "$T/peer.log" 2>/dev/null; then
        fail "$1: a credential was sent"; else pass "$1: no credential sent"; fi
}
for m in inject-same inject-later inject-capa; do
    peer $m
    rc "$T/p.rc" "$T/mp" "pop3_port = $PEER_PORT" "pop3_tls = starttls" "pop3_host = localhost"
    expect_status 69 "$m aborts" -- "$TERN" -c "$T/p.rc" fetch
    no_credentials "$m"
done
expect_in "$T/err" "unexpected data after STARTTLS reply" "injection named"
peer fake-capa
rc "$T/p.rc" "$T/mp" "pop3_port = $PEER_PORT" "pop3_tls = starttls" "pop3_host = localhost"
expect_status 0 "capabilities asked again after STLS" -- "$TERN" -c "$T/p.rc" fetch
expect_in "$T/peer.log" "C: AUTH PLAIN" "post-TLS capabilities used (AUTH PLAIN)"
for m in no-stls stls-refused; do
    peer $m
    rc "$T/p.rc" "$T/mp" "pop3_port = $PEER_PORT" "pop3_tls = starttls" "pop3_host = localhost"
    expect_status 69 "$m aborts" -- "$TERN" -c "$T/p.rc" fetch
    no_credentials "$m"
done
peer no-capa
rc "$T/p.rc" "$T/mc" "pop3_port = $PEER_PORT" "pop3_tls = starttls" "pop3_host = localhost"
expect_status 69 "no CAPA with starttls aborts" -- "$TERN" -c "$T/p.rc" fetch
no_credentials "no-capa"
rc "$T/p.rc" "$T/mc" "pop3_port = $PEER_PORT" "pop3_tls = none"
expect_status 0 "an RFC 1939 server without CAPA (pop3_tls = none)" -- "$TERN" -c "$T/p.rc" fetch
expect_in "$T/out" "5 new messages" "no CAPA: USER/PASS and plain RETR"
rm -rf "$T/mp"
peer cut
rc "$T/p.rc" "$T/mp" "pop3_port = $PEER_PORT" "pop3_tls = none" "pop3_keep = yes"
expect_status 75 "server cut mid-RETR" -- "$TERN" -c "$T/p.rc" fetch
expect_in "$T/err" "cut after" "cut named"
expect_in "$T/err" "2 new messages kept" "what came before the cut is kept"
expect_status 0 "rerun after the cut" -- "$TERN" -c "$T/p.rc" fetch
expect_in "$T/out" "3 new messages" "rerun fetches only the rest"
[ "$(count_files "$T/mp/INBOX")" = 5 ] && pass "cut: 5 messages exactly" || fail "cut: wrong count"
peer longline
rc "$T/p.rc" "$T/mh" "pop3_port = $PEER_PORT" "pop3_tls = none"
expect_status 76 "over-long line" -- "$TERN" -c "$T/p.rc" fetch
expect_in "$T/err" "line longer than" "over-long line named"
peer uidl-path
rc "$T/p.rc" "$T/mh/root" "pop3_port = $PEER_PORT" "pop3_tls = none" "pop3_keep = yes"
expect_status 0 "UIDLs with / and .." -- "$TERN" -c "$T/p.rc" fetch
[ "$(count_files "$T/mh/root/INBOX/new")" = 5 ] && pass "hostile UIDLs: 5 messages in new/" ||
    fail "hostile UIDLs: wrong count"
[ ! -e "$T/mh/escape" ] && [ ! -e "$T/mh/root/escape" ] && [ ! -e /abs ] &&
    [ "$(find "$T/mh" -type f | grep -v -e '/INBOX/new/' -e '/\.tern/pop3/' | wc -l)" = 0 ] &&
    pass "no file outside the Maildir" || fail "a file escaped the Maildir"
for m in uidl-empty uidl-dup; do
    peer $m
    rc "$T/p.rc" "$T/mh2" "pop3_port = $PEER_PORT" "pop3_tls = none"
    expect_status 76 "$m is a protocol error" -- "$TERN" -c "$T/p.rc" fetch
done
peer endless
rc "$T/p.rc" "$T/mh3" "pop3_port = $PEER_PORT" "pop3_tls = none" "pop3_max_size = 200K"
expect_status 76 "never-ending reply" -- "$TERN" -c "$T/p.rc" fetch
expect_in "$T/err" "larger than" "never-ending reply stopped by pop3_max_size"
[ "$(count_files "$T/mh3/INBOX")" = 0 ] && pass "nothing half-written kept" || fail "partial file"
peer stall
rc "$T/p.rc" "$T/mh4" "pop3_port = $PEER_PORT" "pop3_tls = none" "timeout = 2"
t0=$(date +%s)
expect_status 75 "stall" -- "$TERN" -c "$T/p.rc" fetch
[ $(($(date +%s) - t0)) -le 6 ] && pass "stall ends at the timeout" || fail "stall took too long"
expect_in "$T/err" "timed out" "stall named"
# A server that trickles a byte at a time, each in time for the timeout (issue 14, item 4):
# a reply line, and a message, each have an overall deadline; one clear line says so.
for m in trickle-line trickle-body; do
    peer $m
    rc "$T/p.rc" "$T/mh5" "pop3_port = $PEER_PORT" "pop3_tls = none" "timeout = 2"
    t0=$(date +%s)
    expect_status 75 "$m" -- "$TERN" -c "$T/p.rc" fetch
    [ $(($(date +%s) - t0)) -le 12 ] && pass "$m ends at its deadline" ||
        fail "$m took $(($(date +%s) - t0)) s"
    expect_in "$T/err" "is too slow" "$m named"
    [ "$(wc -l <"$T/err")" = 1 ] && pass "$m: one line" || fail "$m: $(cat "$T/err")"
done
serve_stop "$PEER_PID"; PEER_PID=

finish
