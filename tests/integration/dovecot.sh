# A private dovecot POP3 server for the integration tests and the benchmark (sourced after
# tests/integration/lib.sh or bench/lib.sh); it is stopped at exit.
# dovecot_setup DIR: certificate, passwd-file user "alice" (password "secret"), config with
# free ports on 127.0.0.1: $POP3_PORT (plain + STLS) and $POP3S_PORT (implicit TLS).
# dovecot_start / dovecot_stop; the mailbox is $DOVECOT_MAILDIR (dovecot_fill, or fill it and
# then dovecot_own).

dovecot_setup() {
    D=$1
    command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || skip "dovecot not installed"
    command -v python3 >/dev/null 2>&1 || skip "python3 not installed"
    command -v openssl >/dev/null 2>&1 || skip "openssl not installed"
    [ "$(id -u)" = 0 ] || skip "dovecot's private instance needs root (its mail user is 'mail')"
    DOVECOT=$(command -v dovecot 2>/dev/null || echo /usr/sbin/dovecot)
    mkdir -p "$D/run" "$D/state" "$D/mail/alice"
    chmod 755 "$D" "$D/mail"
    make_cert "$D" cert localhost "DNS:localhost,IP:127.0.0.1"
    make_cert "$D" other other.example "DNS:other.example"
    chmod 644 "$D/cert.key" "$D/other.key"
    echo "alice:{PLAIN}secret::::::" >"$D/passwd"
    chmod 644 "$D/passwd"
    DOVECOT_MAILDIR=$D/mail/alice/Maildir
    mkdir -p "$DOVECOT_MAILDIR/cur" "$DOVECOT_MAILDIR/new" "$DOVECOT_MAILDIR/tmp"
    POP3_PORT=$(free_port)
    POP3S_PORT=$(free_port)
    dovecot_conf "$D" cert "${DOVECOT_EXTRA:-}"
    at_exit dovecot_stop
}

# dovecot_conf DIR CERTNAME EXTRA: (re)write DIR/dovecot.conf
dovecot_conf() {
    cat >"$1/dovecot.conf" <<CONF
base_dir = $1/run
state_dir = $1/state
log_path = $1/dovecot.log
info_log_path = $1/dovecot.log
listen = 127.0.0.1
protocols = pop3
ssl = yes
ssl_cert = <$1/$2.pem
ssl_key = <$1/$2.key
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 8
mail_location = maildir:$1/mail/%u/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $1/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $1/passwd
  default_fields = uid=mail gid=mail home=$1/mail/%u
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S_PORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
service pop3-login {
  chroot =
}
$3
CONF
}

dovecot_own() { chown -R mail:mail "$D/mail"; }

# dovecot_fill N MIN MAX SEED: N more generated messages of MIN-MAX bytes in the mailbox
# (tests/integration/genmail.py), owned by the mail user.
dovecot_fill() {
    python3 "$TERN_SRCDIR/tests/integration/genmail.py" "$DOVECOT_MAILDIR" "$@"
    dovecot_own
}

# dovecot_start: returns once the plain port accepts connections (the master opens every
# listener before it forks; pop3.sh turns the other one off); a condition, the limit only
# ends a hang.
dovecot_start() {
    "$DOVECOT" -c "$D/dovecot.conf" || { cat "$D/dovecot.log" 2>/dev/null; return 1; }
    _n=600
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $POP3_PORT), 1)" \
        2>/dev/null; do
        if [ "$_n" = 0 ]; then echo "dovecot did not start"; cat "$D/dovecot.log"; return 1; fi
        sleep 0.1
        _n=$((_n - 1))
    done
}

# dovecot_stop: returns once the master process has gone (with it its listeners), so that
# the next dovecot_start can bind the same ports.
dovecot_stop() {
    _pid=$(cat "$D/run/master.pid" 2>/dev/null || true)
    "$DOVECOT" -c "$D/dovecot.conf" stop 2>/dev/null || true
    _n=600
    while [ -n "$_pid" ] && kill -0 "$_pid" 2>/dev/null && [ "$_n" -gt 0 ]; do
        sleep 0.1
        _n=$((_n - 1))
    done
}
