#!/bin/bash
# kill -9 loop over tern flush against a real SMTP server (aiosmtpd): 300 queued messages, a
# flush killed 50 times as soon as it delivered something, then one clean flush. Each message
# arrives, and at most the one in flight at each kill arrives twice. Then SIGTERM (what the
# full-screen client sends when it quits): the flush finishes the message in flight and
# records it, so nothing at all arrives twice. Bounded: every wait is for a condition, with a
# limit.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/smtpd.sh"
[ -x "$TERN" ] || skip "no tern binary at $TERN"
N=${FLUSHKILL_MESSAGES:-300}
KILLS=${FLUSHKILL_KILLS:-50}

smtpd_start "$T"
{ printf '[general]\nmail_root = %s/Mail\n' "$T"; smtpd_account a; echo 'timeout = 10'; } >"$T/rc"
chmod 600 "$T/rc"
RC=$T/rc

queued() { find "$T/Mail/.tern/queue" -name '*.state' 2>/dev/null | wc -l; }
# dups PREFIX: how many deliveries beyond the first of the messages "Subject: PREFIX-n"
count() {
    "$PY" - "$T/store" "$1" "$2" <<'PY'
import glob, re, sys
store, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {}
for p in glob.glob(store + "/*.eml"):
    m = re.search(rb"^Subject: (\S+)-(\d+)\r?$", open(p, "rb").read(), re.M)
    if m and m.group(1).decode() == prefix:
        seen[int(m.group(2))] = seen.get(int(m.group(2)), 0) + 1
missing = [i for i in range(n) if i not in seen]
print(len(missing), sum(c - 1 for c in seen.values()), max(seen.values() or [0]))
PY
}

# queue: N messages "Subject: PREFIX-i"
queue() {
    mkdir -p "$T/msgs-$1"
    for i in $(seq 0 $(($2 - 1))); do
        printf 'To: bob@example.org\nSubject: %s-%d\n\nmessage %d\n' "$1" "$i" "$i" \
            >"$T/msgs-$1/$i.msg"
    done
    ls "$T/msgs-$1"/*.msg | xargs -P 2 -n 1 sh -c '"$0" -c "$1" send -q -t < "$2"' "$TERN" "$RC"
}

t0=$(date +%s)
queue kill "$N"
expect_status 0 "$N messages queued" -- test "$(queued)" = "$N"

# start a flush, wait (up to 20 s) until it delivered something, then signal it
kills=0
signal_flush() {
    local sig=$1 before
    before=$(smtpd_stored)
    "$TERN" -c "$RC" flush -q >/dev/null 2>&1 &
    fpid=$!
    for _ in $(seq 2000); do
        [ "$(smtpd_stored)" -gt "$before" ] && break
        kill -0 "$fpid" 2>/dev/null || break
        sleep 0.01
    done
    kill "-$sig" "$fpid" 2>/dev/null || true
    wait "$fpid" 2>/dev/null || true
}
while [ "$kills" -lt "$KILLS" ] && [ "$(queued)" -gt 0 ]; do
    signal_flush KILL
    kills=$((kills + 1))
done
echo "    ($kills kills, $(smtpd_stored) deliveries, $(queued) still queued," \
    "$(( $(date +%s) - t0 )) s)"
expect_status 0 "after the kills: a clean flush finishes" -- "$TERN" -c "$RC" flush --all
expect_status 0 "after the kills: queue empty" -- test "$(queued)" = 0
read -r missing dups most <<<"$(count kill "$N")"
echo "    ($missing missing, $dups sent twice, at most $most copies of one)"
expect_status 0 "kill -9 loop: nothing lost" -- test "$missing" = 0
# (the message in flight can be the same at two kills: it is the first of the next run)
expect_status 0 "kill -9 loop: no more duplicates than kills (one in flight at each)" -- \
    test "$dups" -le "$kills"

# SIGTERM: the message in flight is finished and recorded, nothing goes twice
queue term 40
terms=0
while [ "$terms" -lt 5 ] && [ "$(queued)" -gt 0 ]; do
    signal_flush TERM
    terms=$((terms + 1))
done
expect_status 0 "after SIGTERM: a clean flush finishes" -- "$TERN" -c "$RC" flush --all
read -r missing dups most <<<"$(count term 40)"
expect_status 0 "SIGTERM: nothing lost, nothing sent twice ($terms signals)" -- \
    test "$missing:$dups" = 0:0
echo "    (whole script: $(( $(date +%s) - t0 )) s)"

finish
