# Shared by the integration scripts: a scratch directory, assertions, skip handling.
# Scripts source it and use $TERN (the binary under test), $T (their scratch directory),
# $TERN_SRCDIR (the source tree) and $PY (Debian's python3), and at_exit and serve
# (tests/integration/serve.sh) for what must be stopped when they end.
set -eu

TERN=${TERN_BIN:-$(pwd)/tern}
TERN_SRCDIR=${TERN_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3
. "$TERN_SRCDIR/tests/integration/serve.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/tern-it.XXXXXX")
chmod 755 "$T"
at_exit '[ -n "${KEEP:-}" ] || rm -rf "$T"'
export HOME="$T/home"
mkdir -p "$HOME"
unset MAILRC VISUAL EDITOR
fails=0
passes=0

skip() { echo "SKIP: $*"; exit 77; }
pass() { passes=$((passes + 1)); echo "ok - $*"; }
fail() { fails=$((fails + 1)); echo "not ok - $*"; }

# eventually SECONDS COMMAND...: run COMMAND until it succeeds, for at most SECONDS; 0 or 1.
# What a command or key changes on disk is checked with this, never after a fixed sleep.
eventually() {
    n=$(( $1 * 20 )); shift
    while [ "$n" -gt 0 ]; do
        if "$@"; then return 0; fi
        sleep 0.05
        n=$((n - 1))
    done
    return 1
}

# gone PID: the process has ended (for eventually).
gone() { ! kill -0 "$1" 2>/dev/null; }

# expect_status WANT DESCRIPTION -- COMMAND...: run COMMAND with its stdout in $T/out and its
# stderr in $T/err, and check the exit status.
expect_status() {
    want=$1; what=$2; shift 3
    set +e
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    set -e
    if [ "$got" = "$want" ]; then
        pass "$what"
    else
        fail "$what (exit $got, wanted $want)"
        sed 's/^/    stderr: /' "$T/err" | head -n 5
    fi
}

# expect_in FILE TEXT DESCRIPTION: FILE contains TEXT as a fixed string.
expect_in() {
    if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3 (no '$2' in $(basename "$1"))";
        sed 's/^/    /' "$1" | head -n 10; fi
}

expect_not_in() {
    if grep -qF -- "$2" "$1"; then fail "$3 ('$2' found)"; else pass "$3"; fi
}

# gpg_home VAR: a new GnuPG home in $VAR, short (gpg-agent's socket must fit in sun_path),
# its agent stopped and the directory removed at exit.
gpg_home() {
    _h=$(mktemp -d /tmp/tern-gpg.XXXXXX)
    chmod 700 "$_h"
    at_exit "GNUPGHOME=$_h gpgconf --kill all 2>/dev/null; [ -n \"\${KEEP:-}\" ] || rm -rf $_h"
    eval "$1=\$_h"
}

# gpg_genkey HOME NAME EMAIL [PASSPHRASE] [EXPIRE]: an ed25519 key with a cv25519 encryption
# subkey made in the keyring HOME (unprotected unless a passphrase is given; EXPIRE as gpg's
# Expire-Date, 0 by default).
gpg_genkey() {
    {
        [ -n "${4:-}" ] || echo "%no-protection"
        printf 'Key-Type: EdDSA\nKey-Curve: ed25519\nKey-Usage: sign\n'
        [ -z "${4:-}" ] || echo "Passphrase: $4"
        printf 'Subkey-Type: ECDH\nSubkey-Curve: cv25519\nSubkey-Usage: encrypt\n'
        printf 'Name-Real: %s\nName-Email: %s\nExpire-Date: %s\n%%commit\n' "$2" "$3" "${5:-0}"
    } >"$T/keyparams"
    GNUPGHOME=$1 gpg --batch --quiet --pinentry-mode loopback --passphrase "${4:-}" \
        --gen-key "$T/keyparams" 2>/dev/null
}

# pgp_mime_body CIPHERTEXT [BOUNDARY]: a PGP/MIME multipart/encrypted entity (its
# Content-Type field, the blank line, the two parts) around an armored gpg message, on stdout.
pgp_mime_body() {
    _b=${2:-ENC}
    printf 'Content-Type: multipart/encrypted;\n'
    printf ' protocol="application/pgp-encrypted"; boundary="%s"\n\n--%s\n' "$_b" "$_b"
    printf 'Content-Type: application/pgp-encrypted\n\nVersion: 1\n\n--%s\n' "$_b"
    printf 'Content-Type: application/octet-stream\n\n'
    cat "$1"
    printf -- '--%s--\n' "$_b"
}

finish() {
    echo "$passes passed, $fails failed"
    [ "$fails" -eq 0 ]
}
