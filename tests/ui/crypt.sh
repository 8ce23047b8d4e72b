#!/bin/sh
# Signed and encrypted mail in the full-screen client: the list's S and E marks, the pager's
# verdict and decrypted text, and a reply to an encrypted message: it starts encrypted, E on
# the compose screen turns that off and sending is then refused, E again and it is queued
# encrypted, with the decrypted quote readable by the recipient's gpg only.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

command -v gpg >/dev/null || skip "gpg not installed (Debian gnupg)"
command -v gpgconf >/dev/null || skip "gpgconf not installed"

gpg_home G
gpg_home BOBHOME
export GNUPGHOME="$G"
gpg_genkey "$G" "Ann Example" ann@example.org
gpg_genkey "$BOBHOME" "Bob Example" bob@example.org
GNUPGHOME="$BOBHOME" gpg --batch --export bob@example.org | gpg --batch --quiet --import 2>/dev/null
gpg --batch --export ann@example.org | GNUPGHOME="$BOBHOME" gpg --batch --quiet --import 2>/dev/null

IN="$T/Mail/INBOX"
mkdir -p "$IN/cur" "$IN/new" "$IN/tmp"
printf 'Content-Type: text/plain\r\n\r\nSigned hello from Bob.' >"$T/inner"
GNUPGHOME="$BOBHOME" gpg --batch --quiet --armor -u bob@example.org --detach-sign \
    -o "$T/sig.asc" "$T/inner" 2>/dev/null
{
    printf 'From: Bob <bob@example.org>\nTo: ann@example.org\nSubject: signed hello\n'
    printf 'Date: Mon, 01 Jan 2024 10:00:00 +0000\nMessage-ID: <s1@example.org>\n'
    printf 'MIME-Version: 1.0\nContent-Type: multipart/signed; micalg=pgp-sha512;\n'
    printf ' protocol="application/pgp-signature"; boundary="B"\n\n--B\n'
    printf 'Content-Type: text/plain\n\nSigned hello from Bob.\n--B\n'
    printf 'Content-Type: application/pgp-signature\n\n'
    cat "$T/sig.asc"
    printf -- '--B--\n'
} >"$IN/cur/1.signed:2,S"
printf 'Content-Type: text/plain; protected-headers="v1"\nSubject: vault code\n\nThe vault code is 4711.\n' \
    >"$T/secret"
GNUPGHOME="$BOBHOME" gpg --batch --quiet --armor --trust-model always -r ann@example.org \
    --encrypt -o "$T/enc.asc" "$T/secret" 2>/dev/null
{
    printf 'From: Bob <bob@example.org>\nTo: ann@example.org\nSubject: secret note\n'
    printf 'Date: Tue, 02 Jan 2024 10:00:00 +0000\nMessage-ID: <e1@example.org>\n'
    printf 'MIME-Version: 1.0\n'
    pgp_mime_body "$T/enc.asc" E
} >"$IN/cur/2.enc:2,S"

cat >"$T/editor.sh" <<'ED'
#!/bin/sh
awk '{print} /^$/ && !d {print "Got it."; d=1}' "$1" >"$1.new" && mv "$1.new" "$1"
ED
chmod +x "$T/editor.sh"
# smtp_port 9: nothing listens there, so the message stays in the queue for us to read.
write_rc "$T/rc" "$T/Mail" "editor = $T/editor.sh" \
    '[account demo]' 'from = Ann Example <ann@example.org>' 'smtp_host = 127.0.0.1' \
    'smtp_port = 9' 'smtp_tls = none' 'timeout = 2'

start_tern -c "$T/rc"
expect_screen "secret note" "the client is up"
screen | grep "signed hello" | grep -q "  S " && pass "list: S mark on the signed message" ||
    fail "list: no S mark"
screen | grep "secret note" | grep -q "  E " && pass "list: E mark on the encrypted message" ||
    fail "list: no E mark"

keys /
typetext "signed hello"
keys Enter Enter
expect_screen "PGP GOOD signature from Bob Example <bob@example.org>" "pager: verdict line"
expect_screen "Signed hello from Bob." "pager: the signed text"
keys q
keys /
typetext "secret note"
keys Enter Enter
expect_screen "[-- Begin encrypted part --]" "pager: decrypted"
expect_screen "The vault code is 4711." "pager: the plaintext"
expect_screen "Subject: vault code" "pager: the protected Subject"
keys q

keys r
expect_screen "Security: encrypt (PGP/MIME)" "a reply to encrypted mail starts encrypted"
expect_screen "Subject: Re: vault code" "the reply takes the protected Subject"
# Postponed, it goes to Drafts encrypted to Ann only; resumed, it is decrypted in memory.
keys P
expect_screen "Postponed to Drafts." "P postpones the reply"
d=$(find "$T/Mail/Drafts" -type f -name '*:2,DS' | head -n 1)
if [ -n "$d" ]; then
    expect_not_in "$d" "4711" "the draft on disk holds no decrypted text"
    expect_in "$d" "multipart/encrypted" "the draft is encrypted"
    sed -n '/^-----BEGIN PGP MESSAGE-----/,/^-----END PGP MESSAGE-----/p' "$d" >"$T/d.asc"
    gpg --batch --decrypt "$T/d.asc" >"$T/d.txt" 2>/dev/null
    expect_in "$T/d.txt" "> The vault code is 4711." "Ann's key opens the draft"
else
    fail "no draft in Drafts"
fi
keys c
typetext "Drafts"
keys Enter
expect_screen "[...]" "Drafts lists it under the placeholder Subject"
keys e
expect_screen "Subject: Re: vault code" "e resumes it decrypted"
expect_screen "Security: encrypt (PGP/MIME)" "and still to be encrypted"
keys E
expect_screen "Security: none" "E turns encryption off"
keys y
expect_screen "quotes decrypted text" "sending it unencrypted is refused"
[ -z "$(find "$T/Mail/Outbox" -type f 2>/dev/null)" ] && pass "nothing queued" ||
    fail "something was queued"
keys E
expect_screen "Security: encrypt (PGP/MIME)" "E turns it back on"
keys M
expect_screen "Security: encrypt (S/MIME)" "M switches to S/MIME"
keys M S
expect_screen "Security: sign + encrypt (PGP/MIME)" "M back to PGP, S adds signing"
keys y
n=0
while [ "$n" -lt 100 ] && [ -z "$(find "$T/Mail/Outbox" -type f 2>/dev/null)" ]; do
    sleep 0.1; n=$((n + 1)); done
q=$(find "$T/Mail/Outbox" -type f | head -n 1)
[ -n "$q" ] && pass "the encrypted reply is queued" || fail "no reply queued"
if [ -n "$q" ]; then
    expect_not_in "$q" "4711" "the queued file holds no decrypted text"
    expect_in "$q" "multipart/encrypted" "the reply is PGP/MIME encrypted"
    sed -n '/^-----BEGIN PGP MESSAGE-----/,/^-----END PGP MESSAGE-----/p' "$q" >"$T/r.asc"
    GNUPGHOME="$BOBHOME" gpg --batch --decrypt "$T/r.asc" >"$T/r.txt" 2>/dev/null
    expect_in "$T/r.txt" "> The vault code is 4711." "Bob's gpg reads the quoted text"
    expect_in "$T/r.txt" "Got it." "and the answer"
    GNUPGHOME="$BOBHOME" gpg --batch --decrypt "$T/r.asc" 2>&1 >/dev/null |
        grep -q 'Good signature from "Ann Example' && pass "Bob's gpg: signed by Ann" ||
        fail "Bob's gpg: no good signature by Ann"
    [ -z "$(find "$T/Mail/Drafts" -type f -name '*:2,DS')" ] &&
        pass "the draft left Drafts when it was sent" || fail "the draft is still in Drafts"
fi
keys q
expect_clean_stderr
finish
