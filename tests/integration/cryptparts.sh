#!/bin/sh
# Parts inside signed and encrypted envelopes, by number from the command line: a PGP/MIME
# message encrypted by gpg and an S/MIME one by `openssl cms -encrypt`, each holding random
# bytes as an attachment, an S/MIME opaque signed-data one and a PGP/MIME signed one. The
# list numbers the parts inside after the message's own; `tern show --part N -o` saves the
# very bytes (0600), `--part N` into a pipe gives them, and nothing else is written.
. "$(dirname "$0")/lib.sh"
export TZ=UTC LC_ALL=C.UTF-8

command -v gpg >/dev/null || skip "gpg not installed (Debian gnupg)"
command -v gpgconf >/dev/null || skip "gpgconf not installed"
command -v openssl >/dev/null || skip "openssl not installed"
[ -x "$TERN" ] || skip "no tern binary at $TERN"

gpg_home G         # the reader's keyring: tern uses it
gpg_home BOBHOME   # the sender's
export GNUPGHOME="$G"
gpg_genkey "$G" "Alice Example" alice@example.org
gpg_genkey "$BOBHOME" "Bob Example" bob@example.org
gpg --batch --export alice@example.org | GNUPGHOME="$BOBHOME" gpg --batch --quiet --import 2>/dev/null
GNUPGHOME="$BOBHOME" gpg --batch --export bob@example.org | gpg --batch --quiet --import 2>/dev/null

S="$T/smime"
mkdir -p "$S"
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=Alice/emailAddress=alice@example.org" \
    -days 30 -keyout "$S/alice.key" -out "$S/alice.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=Bob/emailAddress=bob@example.org" \
    -days 30 -keyout "$S/bob.key" -out "$S/bob.pem" 2>/dev/null
MR="$T/Mail"
mkdir -p "$MR"
cat >"$HOME/.mailrc" <<EOF
[general]
mail_root = $MR

[account me]
from = Alice Example <alice@example.org>
smtp_host = 127.0.0.1
smime_cert = $S/alice.pem
smime_key = $S/alice.key
EOF
chmod 600 "$HOME/.mailrc"
# Nothing may be written under TMPDIR (or anywhere but the place asked for).
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"

# The attachment: random bytes, binary through and through.
head -c 5000 /dev/urandom >"$T/orig.bin"
{
    printf 'Content-Type: multipart/mixed; boundary="IN"\n\n--IN\n'
    printf 'Content-Type: text/plain; charset=utf-8\n\nThe figures are attached.\n--IN\n'
    printf 'Content-Type: application/octet-stream; name="figures.bin"\n'
    printf 'Content-Disposition: attachment; filename="figures.bin"\n'
    printf 'Content-Transfer-Encoding: base64\n\n'
    base64 "$T/orig.bin"
    printf -- '--IN--\n'
} >"$T/inner.eml"
M="$T/msgs"
mkdir -p "$M"

# PGP/MIME encrypted by gpg (not by tern).
GNUPGHOME="$BOBHOME" gpg --batch --quiet --armor --trust-model always -r alice@example.org \
    --encrypt -o "$T/enc.asc" "$T/inner.eml" 2>/dev/null
{
    printf 'From: Bob <bob@example.org>\nTo: alice@example.org\nSubject: figures\n'
    printf 'MIME-Version: 1.0\n'
    pgp_mime_body "$T/enc.asc" E
} >"$M/pgp.eml"
# S/MIME enveloped-data by openssl cms, and opaque signed-data.
openssl cms -encrypt -aes256 -in "$T/inner.eml" -from bob@example.org -subject figures \
    -out "$M/smime.eml" "$S/alice.pem" 2>/dev/null
openssl cms -sign -nodetach -in "$T/inner.eml" -signer "$S/bob.pem" -inkey "$S/bob.key" \
    -subject figures -out "$M/opaque.eml" 2>/dev/null
# PGP/MIME signed: its parts are the message's own.
sed 's/$/\r/' "$T/inner.eml" | head -c -2 >"$T/inner.signed"
GNUPGHOME="$BOBHOME" gpg --batch --quiet --armor -u bob@example.org --detach-sign \
    -o "$T/sig.asc" "$T/inner.signed" 2>/dev/null
{
    printf 'From: Bob <bob@example.org>\nSubject: figures\nMIME-Version: 1.0\n'
    printf 'Content-Type: multipart/signed; micalg=pgp-sha512;\n'
    printf ' protocol="application/pgp-signature"; boundary="S"\n\n--S\n'
    cat "$T/inner.signed"
    printf '\r\n--S\nContent-Type: application/pgp-signature\n\n'
    cat "$T/sig.asc"
    printf -- '--S--\n'
} >"$M/signed.eml"
# An encrypted part beside an attachment that is not: that one keeps its number and its mark.
printf 'outside bytes' >"$T/outside.bin"
{
    printf 'From: Bob <bob@example.org>\nSubject: mixed\nMIME-Version: 1.0\n'
    printf 'Content-Type: multipart/mixed; boundary="X"\n\n--X\n'
    pgp_mime_body "$T/enc.asc" E
    printf -- '\n--X\nContent-Type: application/octet-stream\n'
    printf 'Content-Disposition: attachment; filename="outside.bin"\n\n'
    cat "$T/outside.bin"
    printf -- '\n--X--\n'
} >"$M/mixed.eml"
# For someone else: cannot be opened here.
openssl cms -encrypt -aes256 -in "$T/inner.eml" -subject other -out "$M/other.eml" \
    "$S/bob.pem" 2>/dev/null

# part_of MSG: the number the attachment list gives figures.bin.
part_of() {
    "$TERN" show "$1" >"$T/list" 2>/dev/null || true
    sed -n 's/^  \[\([0-9]*\)\] application\/octet-stream, figures\.bin, .*/\1/p' "$T/list" |
        head -n 1
}

check() {   # NAME WANT-NUMBER WHERE
    msg="$M/$1.eml"
    n=$(part_of "$msg")
    [ "$n" = "$2" ] && pass "$1: figures.bin is part $2 in the list" ||
        fail "$1: figures.bin is part '$n', wanted $2"
    [ -n "$n" ] || n=$2
    grep -F "[$n] application/octet-stream, figures.bin" "$T/list" | grep -qF "$3" &&
        pass "$1: listed $3" || fail "$1: not listed '$3'"
    mkdir "$T/save-$1"
    expect_status 0 "$1: tern show --part $n -o DIR" -- \
        "$TERN" show --part "$n" -o "$T/save-$1" "$msg"
    if cmp -s "$T/orig.bin" "$T/save-$1/figures.bin"; then
        pass "$1: the saved bytes are the original"
    else fail "$1: the saved file differs from the original"; fi
    [ "$(stat -c %a "$T/save-$1/figures.bin" 2>/dev/null)" = 600 ] &&
        pass "$1: the saved file is private (0600)" || fail "$1: the saved file's mode"
    [ "$(ls -A "$T/save-$1" | wc -l)" = 1 ] && pass "$1: nothing else saved" ||
        fail "$1: other files in the target"
    "$TERN" show --part "$n" "$msg" >"$T/piped" 2>"$T/err" || true
    cmp -s "$T/orig.bin" "$T/piped" && pass "$1: --part $n into a pipe gives the bytes" ||
        fail "$1: --part $n into a pipe"
}

check pgp 4 "(inside the encrypted part)"
check smime 3 "(inside the encrypted part)"
check opaque 3 "(inside the signed part)"
check mixed 5 "(inside the encrypted part)"
grep -F "[3] application/octet-stream, outside.bin" "$T/list" |
    grep -qF "(NOT signed, NOT encrypted)" &&
    pass "mixed: the part outside the envelope is still marked" ||
    fail "mixed: the part outside is not marked"
expect_status 0 "mixed: the part outside keeps its number" -- \
    "$TERN" show --part 3 "$M/mixed.eml"
cmp -s "$T/outside.bin" "$T/out" && pass "mixed: part 3 is the outside bytes" ||
    fail "mixed: part 3"
check signed 2 "figures.bin"
grep -q "inside the" "$T/list" && fail "signed: its own parts are not 'inside'" ||
    pass "signed: its own parts are listed as the message's"
# The in-place line names the same number as the list.
"$TERN" show "$M/pgp.eml" >"$T/out"
expect_in "$T/out" "[-- Attachment [4] inside: application/octet-stream, figures.bin" \
    "pgp: the in-place line names part 4"
expect_status 65 "a part inside an envelope that cannot be opened: refused" -- \
    "$TERN" show --part 3 -o "$T/nope" "$M/other.eml"
expect_in "$T/err" "was not opened" "and the reason is said"
[ ! -e "$T/nope" ] && pass "nothing written for it" || fail "a file was written"
[ -z "$(ls -A "$TMPDIR")" ] && pass "no temporary file left" || fail "files left in TMPDIR"
if grep -rqF "The figures are attached" "$MR" "$HOME" 2>/dev/null; then
    fail "decrypted text on disk"; else pass "no decrypted text under the mail root or home"; fi
finish
