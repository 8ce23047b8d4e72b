#!/bin/sh
# POP3 fetch benchmark: 10,000 messages (1-50 KB) from a private dovecot over POP3S with
# keep = no (download, deliver into a Maildir, delete), tern against mpop in the same run.
# Usage: bench/fetch.sh [BUILD_DIR]   (default: an optimised build in $TMPDIR/tern-bench-build)
# Env: BENCH_MESSAGES (10000), BENCH_MIN/BENCH_MAX sizes in bytes (1024/51200).
# Installs mpop with apt-get when missing and run as root. Needs dovecot-core dovecot-pop3d.
. "$(dirname "$0")/lib.sh"
src=$BENCH_SRC
build=${1:-${TMPDIR:-/tmp}/tern-bench-build}
N=${BENCH_MESSAGES:-10000}
MIN=${BENCH_MIN:-1024}
MAX=${BENCH_MAX:-51200}
bench_scratch tern-bench-fetch
T=$W
. "$src/tests/integration/dovecot.sh"

bench_build "$build" tern
TERN=$build/tern
need mpop mpop || true

dovecot_setup "$T/dv"
echo "generating $N messages of $MIN-$MAX bytes..."
python3 "$src/tests/integration/genmail.py" "$T/msgs" "$N" "$MIN" "$MAX" 42
total=$(du -sb "$T/msgs/new" | cut -f1)
dovecot_start

# A fresh mailbox for each client: dovecot's uidlist and index start over as well.
fill() {
    rm -rf "$DOVECOT_MAILDIR"
    mkdir -p "$DOVECOT_MAILDIR/cur" "$DOVECOT_MAILDIR/new" "$DOVECOT_MAILDIR/tmp"
    cp "$T/msgs/new/"* "$DOVECOT_MAILDIR/new/"
    dovecot_own
    sync
}
now() { date +%s.%N; }
count() { find "$1/new" "$1/cur" -type f | wc -l | tr -d ' '; }

# tern
fill
cat >"$T/tern.rc" <<RC
[general]
mail_root = $T/tern-mail
[account bench]
pop3_host = 127.0.0.1
pop3_port = $POP3S_PORT
pop3_tls = tls
pop3_user = alice
password = secret
tls_ca_file = $T/dv/cert.pem
pop3_keep = no
RC
chmod 600 "$T/tern.rc"
s=$(now)
"$TERN" -c "$T/tern.rc" fetch --worker-fd 3 3>"$T/progress"
e=$(now)
retr_s=$(awk '$1 == "progress" && $3 == "delete" { print $8 / 1000; exit }' "$T/progress")
tern_s=$(echo "$e - $s" | bc -l)
tern_n=$(count "$T/tern-mail/INBOX")
left=$(find "$DOVECOT_MAILDIR" -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l)
printf 'tern: %d messages (%.1f MB) in %.2f s, %.0f msg/s, %d left on the server\n' \
    "$tern_n" "$(echo "$total / 1000000" | bc -l)" "$tern_s" "$(echo "$tern_n / $tern_s" | bc -l)" "$left"
printf 'tern: login + download + delivery %.2f s, DELE + QUIT (server expunge) %.2f s\n' \
    "$retr_s" "$(echo "$tern_s - $retr_s" | bc -l)"

# mpop
if command -v mpop >/dev/null 2>&1; then
    fill
    mkdir -p "$T/mpop-mail/cur" "$T/mpop-mail/new" "$T/mpop-mail/tmp"
    cat >"$T/mpop.rc" <<RC
defaults
tls on
tls_starttls off
tls_trust_file $T/dv/cert.pem
account bench
host 127.0.0.1
port $POP3S_PORT
user alice
password secret
auth user
delivery maildir $T/mpop-mail
keep off
only_new on
uidls_file $T/mpop.uidls
RC
    chmod 600 "$T/mpop.rc"
    s=$(now)
    mpop -C "$T/mpop.rc" -a -q >"$T/mpop.log" 2>&1 || { echo "mpop exited $?:"; tail -n 3 "$T/mpop.log"; }
    e=$(now)
    mpop_s=$(echo "$e - $s" | bc -l)
    mpop_n=$(count "$T/mpop-mail")
    printf 'mpop %s: %d messages in %.2f s, %.0f msg/s\n' \
        "$(mpop --version | head -1 | awk '{print $3}')" "$mpop_n" "$mpop_s" \
        "$(echo "$mpop_n / $mpop_s" | bc -l)"
    printf 'ratio tern / mpop: %.2f (below 1: tern is faster)\n' "$(echo "$tern_s / $mpop_s" | bc -l)"
else
    echo "mpop not installed: no comparison"
fi
printf 'disk: %s\n' "$(df -T "$T" | awk 'NR==2 {print $2}')"
