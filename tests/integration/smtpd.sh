# The SMTP test server (tests/integration/smtpd.py, Debian's python3-aiosmtpd) for the tests
# and the benchmarks (sourced after tests/integration/lib.sh or bench/lib.sh).
# smtpd_start DIR [--tls] [--auth] [smtpd.py options...]: a server on a free port of 127.0.0.1,
# ready when this returns, storing each message it accepts in DIR/store, its log in
# DIR/smtpd.log (one "AUTH ..." line per login); sets $SMTPD_PORT and $SMTPD_PID. --tls offers
# STARTTLS with $T/cert.pem (for localhost and 127.0.0.1: the CA file to give tern); --auth
# requires AUTH PLAIN/LOGIN as $SMTPD_USER / $SMTPD_PASSWORD. smtpd_stop stops it, exit too.
# smtpd_account NAME: the lines of a tern account that sends through it.

# Debian's python3 has aiosmtpd; another python3 on PATH may not.
SMTPD_PY=/usr/bin/python3
SMTPD_USER=ann
SMTPD_PASSWORD=s3cret
[ -x "$SMTPD_PY" ] && "$SMTPD_PY" -c 'import aiosmtpd' 2>/dev/null ||
    skip "python3-aiosmtpd not installed"
command -v openssl >/dev/null || skip "openssl not installed"

smtpd_start() {
    SMTPD_DIR=$1
    shift
    SMTPD_TLS= SMTPD_AUTH=
    while [ $# -gt 0 ]; do
        case $1 in
        --tls) SMTPD_TLS=1 ;;
        --auth) SMTPD_AUTH=1 ;;
        *) break ;;
        esac
        shift
    done
    [ -z "$SMTPD_TLS" ] || localhost_cert "$T"
    mkdir -p "$SMTPD_DIR"
    serve "the SMTP server" "$SMTPD_DIR/port" "$SMTPD_DIR/smtpd.log" \
        "$SMTPD_PY" "$TERN_SRCDIR/tests/integration/smtpd.py" \
        --port-file "$SMTPD_DIR/port" --store "$SMTPD_DIR/store" \
        ${SMTPD_TLS:+--cert "$T/cert.pem" --key "$T/cert.key"} \
        ${SMTPD_AUTH:+--user "$SMTPD_USER" --password "$SMTPD_PASSWORD"} "$@"
    SMTPD_PID=$SERVE_PID
    SMTPD_PORT=$(cat "$SMTPD_DIR/port")
}

smtpd_stop() {
    [ -z "${SMTPD_PID:-}" ] || serve_stop "$SMTPD_PID"
    SMTPD_PID=
}

smtpd_account() {
    printf '[account %s]\nfrom = Ann Example <ann@example.org>\n' "$1"
    printf 'smtp_host = 127.0.0.1\nsmtp_port = %s\n' "$SMTPD_PORT"
    if [ -n "$SMTPD_TLS" ]; then
        printf 'smtp_tls = starttls\ntls_ca_file = %s\n' "$T/cert.pem"
    else
        printf 'smtp_tls = none\n'
    fi
    [ -z "$SMTPD_AUTH" ] ||
        printf 'smtp_user = %s\nsmtp_password = %s\n' "$SMTPD_USER" "$SMTPD_PASSWORD"
}

# smtpd_stored [DIR]: how many messages the server (by default the last one started) stored.
smtpd_stored() {
    find "${1:-$SMTPD_DIR}/store" -name '*.eml' 2>/dev/null | wc -l | tr -d ' '
}

# smtpd_wait N [DIR]: until the server has stored N messages or more; 0, or 1 after a minute.
smtpd_wait() {
    _n=1200
    while [ "$(smtpd_stored "${2:-$SMTPD_DIR}")" -lt "$1" ]; do
        [ "$_n" -gt 0 ] || return 1
        sleep 0.05
        _n=$((_n - 1))
    done
}
