# Servers for the tests and the benchmarks (sourced by tests/integration/lib.sh and
# bench/lib.sh): clean-up at exit, free loopback ports, certificates, and servers started in
# the background that are ready once they have written their port to a file.

# at_exit SNIPPET: run the shell SNIPPET when the script exits, the latest first; a failing
# snippet does not keep the others from running or change the exit status.
AT_EXIT=
at_exit() {
    AT_EXIT="$1
$AT_EXIT"
}
trap 'rc=$?; set +e; eval "$AT_EXIT"; exit $rc' EXIT

free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# make_cert DIR NAME CN SAN: DIR/NAME.pem and DIR/NAME.key, self-signed.
make_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$3" -addext "subjectAltName=$4" \
        -keyout "$1/$2.key" -out "$1/$2.pem" 2>/dev/null
}

# localhost_cert DIR: DIR/cert.pem and DIR/cert.key for localhost and 127.0.0.1 (once).
localhost_cert() {
    [ -s "$1/cert.pem" ] || make_cert "$1" cert localhost "DNS:localhost,IP:127.0.0.1"
}

# serve NAME PORTFILE LOG COMMAND...: start COMMAND in the background with its output in LOG,
# for a server that binds 127.0.0.1 and then writes its port to PORTFILE (by a rename, so the
# file is never seen half written). Returns once it has, with the process in $SERVE_PID; fails
# with LOG when the server exits first. Every server still running is stopped at exit.
SERVE_PIDS=
serve() {
    _name=$1 _portfile=$2 _log=$3
    shift 3
    rm -f "$_portfile"
    "$@" >"$_log" 2>&1 &
    SERVE_PID=$!
    [ -n "$SERVE_PIDS" ] || at_exit 'for _p in $SERVE_PIDS; do serve_stop "$_p"; done'
    SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
    # Ready is a condition (the port file), not a time; the limit only ends a hang.
    _n=1200
    while ! [ -s "$_portfile" ]; do
        if ! kill -0 "$SERVE_PID" 2>/dev/null || [ "$_n" = 0 ]; then
            echo "$_name did not start:"
            sed 's/^/    /' "$_log"
            return 1
        fi
        sleep 0.05
        _n=$((_n - 1))
    done
}

# serve_stop PID: stop a server started by serve and wait until it has gone.
serve_stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    SERVE_PIDS=$(for _p in $SERVE_PIDS; do [ "$_p" = "$1" ] || printf ' %s' "$_p"; done)
}
