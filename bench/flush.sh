#!/bin/bash
# SMTP flush benchmark: N queued messages delivered by one `tern flush` (one connection,
# STARTTLS, AUTH, pipelining) vs msmtp run once per message (msmtpq's way), same server
# (tests/integration/smtpd.py on 127.0.0.1), same run. Usage: bench/flush.sh [N] (default 200).
# Uses $TERN_BIN or ./tern; build without sanitizers for meaningful figures.
. "$(dirname "$0")/lib.sh"
N=${1:-200}
TERN=${TERN_BIN:-$(pwd)/tern}
[ -x "$TERN" ] || { echo "no tern binary at $TERN (set TERN_BIN)"; exit 1; }
need msmtp msmtp
bench_scratch tern-bench
T=$W
. "$BENCH_SRC/tests/integration/smtpd.sh"
smtpd_start "$T" --tls --auth
PORT=$SMTPD_PORT

mkdir -p "$T/msgs"
for i in $(seq 1 "$N"); do
    {
        printf 'From: Ann <ann@example.org>\nTo: bob@example.org\nSubject: bench %d\n' "$i"
        printf 'Date: Wed, 25 Nov 2026 02:00:00 +0000\nMessage-ID: <bench%d@example.org>\n\n' "$i"
        for l in $(seq 1 40); do printf 'Line %d of message %d, some text to make it real.\n' "$l" "$i"; done
    } >"$T/msgs/$i.eml"
done

cat >"$T/rc" <<RC
[general]
mail_root = $T/Mail
$(smtpd_account bench)
RC
chmod 600 "$T/rc"
for i in $(seq 1 "$N"); do "$TERN" -c "$T/rc" send -q bob@example.org <"$T/msgs/$i.eml"; done

cat >"$T/msmtprc" <<RC
defaults
tls on
tls_starttls on
tls_trust_file $T/cert.pem
account bench
host 127.0.0.1
port $PORT
from ann@example.org
auth on
user ann
password s3cret
RC
chmod 600 "$T/msmtprc"

TIMEFORMAT='%R %U %S'
tern_t=$( { time "$TERN" -c "$T/rc" flush -q >/dev/null; } 2>&1 )
tern_n=$(ls "$T/store"/*.eml | wc -l)
msmtp_t=$( { time (for i in $(seq 1 "$N"); do
    msmtp -C "$T/msmtprc" -a bench bob@example.org <"$T/msgs/$i.eml"; done); } 2>&1 )
all_n=$(ls "$T/store"/*.eml | wc -l)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$tern_t $msmtp_t" | awk -v n="$N" -v tn="$tern_n" -v an="$all_n" '{
    printf "messages: %d (tern delivered %d, msmtp %d)\n", n, tn, an - tn
    printf "tern flush (one connection):  %6.2f s wall, %5.2f s CPU\n", $1, $2 + $3
    printf "msmtp once per message:       %6.2f s wall, %5.2f s CPU\n", $4, $5 + $6
    printf "ratio (wall): %.1fx\n", $4 / $1
}'
