#!/bin/sh
# Parts inside encrypted envelopes in the pager: a PGP/MIME message encrypted by gpg and an
# S/MIME one by `openssl cms -encrypt`, each with random bytes attached. The part list (v)
# names them with the numbers the pager shows; 's N PATH' saves the very bytes (0600),
# '| N CMD' pipes them and N hands them to the viewer in a private directory that is gone
# once the message is left. Nothing else is written.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

command -v gpg >/dev/null || skip "gpg not installed (Debian gnupg)"
command -v gpgconf >/dev/null || skip "gpgconf not installed"
command -v openssl >/dev/null || skip "openssl not installed"

gpg_home G
gpg_home BOBHOME
export GNUPGHOME="$G"
gpg_genkey "$G" "Ann Example" ann@example.org
gpg_genkey "$BOBHOME" "Bob Example" bob@example.org
gpg --batch --export ann@example.org | GNUPGHOME="$BOBHOME" gpg --batch --quiet --import 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=Ann/emailAddress=ann@example.org" \
    -days 30 -keyout "$T/ann.key" -out "$T/ann.pem" 2>/dev/null

head -c 6000 /dev/urandom >"$T/orig.bin"
{
    printf 'Content-Type: multipart/mixed; boundary="IN"\n\n--IN\n'
    printf 'Content-Type: text/plain; charset=utf-8\n\nThe figures are attached.\n--IN\n'
    printf 'Content-Type: application/octet-stream; name="figures.bin"\n'
    printf 'Content-Disposition: attachment; filename="figures.bin"\n'
    printf 'Content-Transfer-Encoding: base64\n\n'
    base64 "$T/orig.bin"
    printf -- '--IN--\n'
} >"$T/inner.eml"
IN="$T/Mail/INBOX"
mkdir -p "$IN/cur" "$IN/new" "$IN/tmp"
GNUPGHOME="$BOBHOME" gpg --batch --quiet --armor --trust-model always -r ann@example.org \
    --encrypt -o "$T/enc.asc" "$T/inner.eml" 2>/dev/null
{
    printf 'From: Bob <bob@example.org>\nTo: ann@example.org\nSubject: pgp figures\n'
    printf 'Date: Mon, 01 Jan 2024 10:00:00 +0000\nMessage-ID: <p1@example.org>\n'
    printf 'MIME-Version: 1.0\n'
    pgp_mime_body "$T/enc.asc" E
} >"$IN/cur/1.pgp:2,S"
openssl cms -encrypt -aes256 -in "$T/inner.eml" -from bob@example.org -subject "smime figures" \
    -out "$IN/cur/2.smime:2,S" "$T/ann.pem" 2>/dev/null

# The viewer (xdg-open, or what mailcap names when run-mailcap is there): notes whether it
# got the bytes, its file's and directory's modes, and where.
mkdir -p "$T/bin"
{
    echo '#!/bin/sh'
    echo 'f=$1'
    echo "{ cmp -s \"\$f\" '$T/orig.bin' && echo same || echo differs"
    echo "  stat -c %a \"\$f\"; stat -c %a \"\$(dirname \"\$f\")\"; echo \"\$f\"; } >'$T/view.tmp'"
    echo "mv '$T/view.tmp' '$T/view.log'"
} >"$T/bin/xdg-open"
chmod +x "$T/bin/xdg-open"
printf 'application/*; %s %%s\n' "$T/bin/xdg-open" >"$T/mailcap"
export MAILCAPS="$T/mailcap" PATH="$T/bin:$PATH"
export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"

write_rc "$T/rc" "$T/Mail" '[account demo]' 'from = Ann Example <ann@example.org>' \
    "smime_cert = $T/ann.pem" "smime_key = $T/ann.key"
start_tern -c "$T/rc"
expect_screen "smime figures" "the client is up"

keys /
typetext "pgp figures"
keys Enter Enter
expect_screen "[-- Attachment [4] inside: application/octet-stream, figures.bin" \
    "pgp: the attachment inside, as part 4"
keys v
expect_screen "[4] application/octet-stream figures.bin (encrypted)" \
    "pgp: the part list names it part 4"
typetext "s 4 $T/saved-pgp"
keys Enter
expect_screen "Saved part 4 to $T/saved-pgp" "pgp: s 4 PATH saves it"
cmp -s "$T/orig.bin" "$T/saved-pgp" && pass "pgp: the saved bytes are the original" ||
    fail "pgp: the saved file differs"
[ "$(stat -c %a "$T/saved-pgp" 2>/dev/null)" = 600 ] && pass "pgp: saved 0600" ||
    fail "pgp: the saved file's mode"
keys v
typetext "| 4 cat >$T/piped"
keys Enter
expect_screen "press Enter to return" "pgp: | 4 CMD runs the command"
keys Enter
cmp -s "$T/orig.bin" "$T/piped" && pass "pgp: the command got the bytes" ||
    fail "pgp: the piped bytes differ"
[ -z "$(ls -A "$TMPDIR")" ] && pass "pgp: nothing left in TMPDIR after the pipe" ||
    fail "pgp: files left in TMPDIR after the pipe"
keys v
typetext "4"
keys Enter
if eventually 15 test -s "$T/view.log"; then
    [ "$(sed -n 1p "$T/view.log")" = same ] && pass "pgp: the viewer got the bytes" ||
        fail "pgp: the viewer's file differs"
    [ "$(sed -n 2p "$T/view.log")" = 600 ] && pass "pgp: the viewer's file is 0600" ||
        fail "pgp: the viewer's file mode $(sed -n 2p "$T/view.log")"
    [ "$(sed -n 3p "$T/view.log")" = 700 ] && pass "pgp: in a private (0700) directory" ||
        fail "pgp: the viewer's directory mode $(sed -n 3p "$T/view.log")"
    case $(sed -n 4p "$T/view.log") in
    "$TMPDIR"/tern-part.*/figures.bin) pass "pgp: under TMPDIR, by its name" ;;
    *) fail "pgp: the viewer's file is $(sed -n 4p "$T/view.log")" ;;
    esac
else
    fail "pgp: no viewer ran"
fi
keys q
eventually 10 sh -c "[ -z \"\$(ls -A '$TMPDIR')\" ]" &&
    pass "pgp: the viewer's file is gone once the message is left" ||
    fail "pgp: the viewer's file is still there"

keys /
typetext "smime figures"
keys Enter Enter
expect_screen "[-- Attachment [3] inside: application/octet-stream, figures.bin" \
    "smime: the attachment inside, as part 3"
keys v
expect_screen "[3] application/octet-stream figures.bin (encrypted)" \
    "smime: the part list names it part 3"
typetext "s 3 $T/saved-smime"
keys Enter
expect_screen "Saved part 3 to $T/saved-smime" "smime: s 3 PATH saves it"
cmp -s "$T/orig.bin" "$T/saved-smime" && pass "smime: the saved bytes are the original" ||
    fail "smime: the saved file differs"
[ "$(stat -c %a "$T/saved-smime" 2>/dev/null)" = 600 ] && pass "smime: saved 0600" ||
    fail "smime: the saved file's mode"
keys q q
expect_restored "tern exits"
[ -z "$(ls -A "$TMPDIR")" ] && pass "no temporary file left" || fail "files left in TMPDIR"
if grep -rqF "The figures are attached" "$T/Mail" 2>/dev/null; then
    fail "decrypted text in the Maildir or its index"
else pass "no decrypted text in the Maildir"; fi
expect_clean_stderr
finish
