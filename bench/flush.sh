#!/bin/bash
# SMTP flush benchmark: N queued messages delivered by one `tern flush` (one connection,
# STARTTLS, AUTH, pipelining) vs msmtp run once per message (msmtpq's way), same server
# (tests/integration/smtpd.py on 127.0.0.1), same run. Usage: bench/flush.sh [N] (default 200).
# Uses $TERN_BIN or ./tern; build without sanitizers for meaningful figures.
set -eu
N=${1:-200}
SRC=$(cd "$(dirname "$0")/.." && pwd)
TERN=${TERN_BIN:-$(pwd)/tern}
PY=/usr/bin/python3
[ -x "$TERN" ] || { echo "no tern binary at $TERN (set TERN_BIN)"; exit 1; }
"$PY" -c 'import aiosmtpd' 2>/dev/null || { echo "needs python3-aiosmtpd"; exit 1; }
if ! command -v msmtp >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q msmtp >/dev/null
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q msmtp >/dev/null
    fi
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench.XXXXXX")
SERVER_PID=
trap '[ -n "$SERVER_PID" ] && kill $SERVER_PID 2>/dev/null; rm -rf "$T"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -days 2 \
    -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
"$PY" "$SRC/tests/integration/smtpd.py" --port-file "$T/port" --store "$T/store" \
    --cert "$T/cert.pem" --key "$T/key.pem" --user ann --password s3cret >"$T/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
PORT=$(cat "$T/port")

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
[account bench]
from = Ann <ann@example.org>
smtp_host = 127.0.0.1
smtp_port = $PORT
smtp_tls = starttls
smtp_user = ann
smtp_password = s3cret
tls_ca_file = $T/cert.pem
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
