#!/bin/bash
# tern send / flush / queue against a real SMTP server (aiosmtpd, tests/integration/smtpd.py)
# over STARTTLS with AUTH: 1,000 messages byte for byte, every fault, kill -9 during a flush,
# bad credentials and certificates, STARTTLS injection and SMTP smuggling bodies.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/smtpd.sh"
[ -x "$TERN" ] || skip "no tern binary at $TERN"

# start_server NAME [smtpd.py args...]: a new server storing into $T/NAME/store, port in $PORT.
start_server() {
    local name=$1; shift
    smtpd_stop
    smtpd_start "$T/$name" --tls --auth "$@"
    PORT=$SMTPD_PORT
}

# config NAME [extra account lines...]: $T/NAME/rc with mail_root $T/NAME/Mail.
config() {
    local name=$1; shift
    mkdir -p "$T/$name"
    {
        printf '[general]\nmail_root = %s\nqueue_retry_min = 1s\nqueue_retry_max = 2s\n' \
            "$T/$name/Mail"
        smtpd_account work
        printf 'timeout = 5\n'
        for l in "$@"; do printf '%s\n' "$l"; done
    } >"$T/$name/rc"
    chmod 600 "$T/$name/rc"
    RC="$T/$name/rc"
}

stored() { smtpd_stored "$T/$1"; }
queued() { find "$T/$1/Mail/.tern/queue" -name '*.state' 2>/dev/null | wc -l; }

cat >"$T/gen.py" <<'PY'
# gen.py DIR N: N varied messages DIR/N.msg (LF lines, Bcc, dots, 8-bit, long lines).
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(n):
    body = "Line one of %d\n.starts with a dot\n..two dots\n.\n" % i
    body += "caf\u00e9 8-bit \u2713\n" if i % 3 == 0 else "plain ascii\n"
    body += ("x" * 900 + "\n") if i % 7 == 0 else ""
    body += "\n" * (i % 3) + "last line" + ("\n" if i % 5 else "")
    hdr = ("From: Ann Example <ann@example.org>\nTo: Bob <bob%d@example.org>\n"
           "Cc: carol@example.org\nBcc: hidden%d@example.org,\n secret@example.org\n"
           "Subject: message %d\nX-Seq: %d\n\n") % (i, i, i, i)
    with open(os.path.join(d, "%05d.msg" % i), "wb") as f:
        f.write((hdr + body).encode())
PY

cat >"$T/verify.py" <<'PY'
# verify.py STORE SENTDIR MSGDIR [dups-ok]: every message of MSGDIR arrived exactly as queued.
import glob, json, os, re, sys
store, sent, msgs = sys.argv[1], sys.argv[2], sys.argv[3]
dups_ok = len(sys.argv) > 4
def crlf(b):
    b = b.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    return b if b.endswith(b"\r\n") else b + b"\r\n"
def seq(b):
    m = re.search(rb"^X-Seq: (\d+)", b, re.M)
    return int(m.group(1)) if m else None
def strip_bcc(b):
    head, sep, body = b.partition(b"\n\n")
    out, skip = [], False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and skip:
            continue
        skip = line.lower().startswith(b"bcc:")
        if not skip:
            out.append(line)
    return b"\n".join(out) + sep + body
orig = {}
for p in glob.glob(os.path.join(msgs, "*.msg")):
    b = open(p, "rb").read()
    orig[seq(b)] = b
queued = {}
for p in glob.glob(os.path.join(sent, "cur", "*")) + glob.glob(os.path.join(sent, "new", "*")):
    b = open(p, "rb").read()
    s = seq(b)
    if s in orig:
        if not b.endswith(orig[s]):
            sys.exit("sent copy %d differs from the input" % s)
        if not p.endswith(":2,S"):
            sys.exit("sent copy %s lacks flag S" % p)
        queued[s] = b
got = {}
errors = []
for p in sorted(glob.glob(os.path.join(store, "*.eml"))):
    b = open(p, "rb").read()
    env = json.load(open(p[:-4] + ".json"))
    s = seq(b)
    if s not in orig:
        errors.append("unexpected message %s" % p); continue
    if s in got and not dups_ok:
        errors.append("message %d arrived twice" % s)
    got[s] = got.get(s, 0) + 1
    if b"Bcc:" in b or b"hidden" in b.split(b"\r\n\r\n")[0]:
        errors.append("Bcc leaked in %d" % s)
    if s in queued and b != crlf(strip_bcc(queued[s])):
        errors.append("message %d differs from the queued bytes" % s)
    want = ["bob%d@example.org" % s, "carol@example.org", "hidden%d@example.org" % s,
            "secret@example.org"]
    if env["rcpt_tos"] != want or env["mail_from"] != "ann@example.org" or not env["tls"]:
        errors.append("envelope of %d: %r" % (s, env))
missing = sorted(set(orig) - set(got))
if missing:
    errors.append("%d messages missing, e.g. %r" % (len(missing), missing[:5]))
if len(queued) != len(orig):
    errors.append("%d sent copies for %d messages" % (len(queued), len(orig)))
if errors:
    print("\n".join(errors[:10])); sys.exit(1)
print("verified %d messages, %d deliveries" % (len(got), sum(got.values())))
PY

t0=$(date +%s)
# ---- 1,000 messages: queued by two concurrent senders, one flush, byte for byte ----
start_server bulk
config bulk
"$PY" "$T/gen.py" "$T/bulk/msgs" 1000
ls "$T/bulk/msgs"/*.msg | xargs -P 4 -n 1 sh -c '"$0" -c "$1" send -q -t -i < "$2"' "$TERN" "$RC"
expect_status 0 "1000 messages queued (four senders at once)" -- test "$(queued bulk)" = 1000
start=$(date +%s)
echo "    (queueing 1000 took $(( start - t0 )) s)"
expect_status 0 "flush delivers 1000 messages" -- "$TERN" -c "$RC" flush
expect_in "$T/out" "1000 sent, 0 deferred, 0 failed" "flush summary"
echo "    (flush of 1000 took $(( $(date +%s) - start )) s)"
expect_status 0 "1000 arrived exactly as queued, Bcc only in the envelope" -- \
    "$PY" "$T/verify.py" "$T/bulk/store" "$T/bulk/Mail/Sent" "$T/bulk/msgs"
[ "$fails" = 0 ] || cat "$T/out"
expect_status 0 "queue empty after the flush" -- test "$(queued bulk)" = 0
expect_status 0 "Outbox empty after the flush" -- \
    test "$(find "$T/bulk/Mail/Outbox" -type f | wc -l)" = 0

# ---- sendmail front end: recipients from arguments, aliases, headers added ----
start_server cli
config cli 'alias team dave@example.org "Eve <eve@example.org>"'
printf 'Subject: plain\n\nhello\n.\nnot read without -i\n' >"$T/m1"
expect_status 0 "send with recipients as arguments and an alias" -- \
    sh -c '"$0" -c "$1" send team frank@example.org < "$2"' "$TERN" "$RC" "$T/m1"
expect_status 0 "one message arrived" -- test "$(stored cli)" = 1
expect_in "$T/cli/store/000001.json" '"dave@example.org", "eve@example.org", "frank@example.org"' \
    "alias expanded into the envelope"
expect_in "$T/cli/store/000001.eml" "Message-ID: <" "Message-ID added"
expect_in "$T/cli/store/000001.eml" "Date: " "Date added"
expect_in "$T/cli/store/000001.eml" "MIME-Version: 1.0" "MIME-Version added"
expect_in "$T/cli/store/000001.eml" "From: Ann Example <ann@example.org>" "From added"
expect_not_in "$T/cli/store/000001.eml" "not read without -i" "a lone dot ends input without -i"
expect_status 2 "send without recipients is a usage error" -- "$TERN" -c "$RC" send
expect_status 78 "send -a with an unknown account" -- sh -c \
    'echo x | "$0" -c "$1" send -a nope a@example.org' "$TERN" "$RC"

# ---- Maildir++ (issue 13): a mail root kept by dovecot/Courier (the root is the INBOX
# Maildir, folders are .Name with a maildirfolder file): the sent copy lands in .Sent, and no
# Sent/Drafts/Trash directories appear beside the dot folders ----
start_server mpp
config mpp
MPP="$T/mpp/Mail"
for f in "" .Sent .Drafts .Trash .Sub.folder; do
    mkdir -p "$MPP/$f/cur" "$MPP/$f/new" "$MPP/$f/tmp"
    [ -z "$f" ] || : >"$MPP/$f/maildirfolder"
done
printf 'Sent\nDrafts\nTrash\nSub.folder\n' >"$MPP/subscriptions"
printf '3 V1700000000 N1 G0123456789abcdef\n' >"$MPP/dovecot-uidlist"
printf 'Subject: to .Sent\nTo: bob@example.org\n\nhello\n' >"$T/mpp.msg"
expect_status 0 "Maildir++: send" -- sh -c '"$0" -c "$1" send -t < "$2"' "$TERN" "$RC" "$T/mpp.msg"
expect_status 0 "Maildir++: the message arrived" -- test "$(stored mpp)" = 1
expect_status 0 "Maildir++: the sent copy is in .Sent" -- \
    test "$(find "$MPP/.Sent/cur" -type f | wc -l)" = 1
expect_status 0 "Maildir++: no Sent, Drafts, Trash or Outbox beside the dot folders" -- \
    sh -c '! ls -d "$0/Sent" "$0/Drafts" "$0/Trash" "$0/Outbox" 2>/dev/null | grep -q .' "$MPP"
expect_status 0 "Maildir++: scan .Sent lists it" -- "$TERN" -c "$RC" scan .Sent
expect_in "$T/out" "to .Sent" "Maildir++: the copy is the sent message"
expect_status 0 "Maildir++: 'Sent' is the name of .Sent, as dovecot shows it" -- \
    "$TERN" -c "$RC" scan Sent
expect_in "$T/out" "to .Sent" "Maildir++: scan Sent lists the sent copy"
expect_status 0 "Maildir++: Sub/folder is .Sub.folder" -- "$TERN" -c "$RC" scan Sub/folder
expect_status 0 "Maildir++: scan INBOX (the root) creates no Sent beside .Sent" -- \
    "$TERN" -c "$RC" scan INBOX
expect_status 0 "Maildir++: still no plain Sent/Drafts/Trash" -- \
    sh -c '! ls -d "$0/Sent" "$0/Drafts" "$0/Trash" 2>/dev/null | grep -q .' "$MPP"

# ---- an outbox per account (issue 13) on a Maildir++ root: each account's message is queued
# in its own outbox, one tern queue lists them with a message queued before the accounts had
# outboxes (its state names none, it is in .Outbox), one flush sends all three and files each
# sent copy in its account's sent folder ----
start_server obx
config obx 'outbox = Queue/Work' 'sent = Work/Sent' '[account home]' \
    'from = Ann at Home <ann@home.example.org>' 'smtp_host = 127.0.0.1' "smtp_port = $PORT" \
    'smtp_tls = starttls' 'smtp_user = ann' 'smtp_password = s3cret' \
    "tls_ca_file = $T/cert.pem" 'timeout = 5' 'outbox = Queue/Home' 'sent = Home/Sent'
OBX="$T/obx/Mail"
mkdir -p "$OBX/cur" "$OBX/new" "$OBX/tmp"
grep -v '^outbox = ' "$RC" >"$T/obx/rc.old"
chmod 600 "$T/obx/rc.old"
printf 'Subject: queued before the upgrade\nTo: old@example.org\n\nold\n' >"$T/obx/old.msg"
expect_status 0 "outboxes: a message queued by the old configuration" -- \
    sh -c '"$0" -c "$1" send -q -t < "$2"' "$TERN" "$T/obx/rc.old" "$T/obx/old.msg"
expect_status 0 "outboxes: the old configuration queues in .Outbox" -- \
    test "$(find "$OBX/.Outbox/new" -type f | wc -l)" = 1
# what a state looked like before per-account outboxes: no outbox line
for st in "$OBX"/.tern/queue/*.state; do
    grep -v '^outbox ' "$st" >"$st.tmp" && mv "$st.tmp" "$st"
done
expect_status 1 "outboxes: the old state names no outbox" -- \
    grep -q '^outbox ' "$OBX"/.tern/queue/*.state
printf 'Subject: from work\nTo: bob@example.org\n\nwork\n' >"$T/obx/work.msg"
printf 'Subject: from home\nTo: carol@example.org\n\nhome\n' >"$T/obx/home.msg"
expect_status 0 "outboxes: queue for work" -- \
    sh -c '"$0" -c "$1" send -q -a work -t < "$2"' "$TERN" "$RC" "$T/obx/work.msg"
expect_status 0 "outboxes: queue for home" -- \
    sh -c '"$0" -c "$1" send -q -a home -t < "$2"' "$TERN" "$RC" "$T/obx/home.msg"
expect_status 0 "outboxes: work's message is in .Queue.Work" -- \
    test "$(grep -l 'from work' "$OBX"/.Queue.Work/new/* | wc -l)" = 1
expect_status 0 "outboxes: home's message is in .Queue.Home" -- \
    test "$(grep -l 'from home' "$OBX"/.Queue.Home/new/* | wc -l)" = 1
expect_status 0 "outboxes: no plain Queue directory beside the dot folders" -- \
    test ! -e "$OBX/Queue"
expect_status 0 "outboxes: tern queue lists all three" -- "$TERN" -c "$RC" queue
expect_in "$T/out" "3 messages, 0 failed" "outboxes: three queued, none incomplete"
expect_not_in "$T/out" "without an envelope" "outboxes: no message without its state"
expect_status 0 "outboxes: one flush sends all three" -- "$TERN" -c "$RC" flush
expect_in "$T/out" "3 sent, 0 deferred, 0 failed" "outboxes: flush summary"
expect_status 0 "outboxes: three arrived" -- test "$(stored obx)" = 3
expect_status 0 "outboxes: work's copies (the old one too) in .Work.Sent" -- \
    test "$(grep -l -e 'from work' -e 'before the upgrade' "$OBX"/.Work.Sent/cur/* | wc -l)" = 2
expect_status 0 "outboxes: home's copy in .Home.Sent" -- \
    test "$(grep -l 'from home' "$OBX"/.Home.Sent/cur/* | wc -l)" = 1
expect_status 0 "outboxes: every outbox empty, no state left" -- test "$(find "$OBX/.Outbox" \
    "$OBX/.Queue.Work" "$OBX/.Queue.Home" "$OBX/.tern/queue" -type f ! -name flush.lock \
    ! -name accepted.journal | wc -l)" = 0
printf 'Subject: half queued\n\nx\n' >"$OBX/.Queue.Home/new/1.orphan.host"
expect_status 0 "outboxes: tern queue with a message in home's outbox and no state" -- \
    "$TERN" -c "$RC" queue
expect_in "$T/out" "1 message in " "outboxes: the stateless message in an account's outbox is counted"
expect_in "$T/out" "Queue.Home" "outboxes: ... naming the outboxes"
rm -f "$OBX/.Queue.Home/new/1.orphan.host"

# ---- send -t reads recipients from the raw fields: an encoded word whose text is an
# address never becomes one (issue 14, item 1) ----
start_server encw
config encw
printf 'To: =?utf-8?q?Bob_=3Cevil=40attacker=2Eexample=3E=2C?= <bob@example.org>\nCc: =?utf-8?b?ZXZpbEBhdHRhY2tlci5leGFtcGxlLA==?= <carol@example.org>\nSubject: s\n\nx\n' \
    >"$T/encw.msg"
expect_status 0 "send -t with encoded words hiding addresses" -- \
    sh -c '"$0" -c "$1" send -t -i < "$2"' "$TERN" "$RC" "$T/encw.msg"
expect_in "$T/encw/store/000001.json" '"bob@example.org", "carol@example.org"' \
    "the envelope has the real recipients"
expect_not_in "$T/encw/store/000001.json" "attacker" "and no address from an encoded word"

# ---- what SMTP forbids (issue 14, item 8): a 2,000-octet line, a NUL, 8-bit text: the
# server (which refuses lines over 1000 octets) gets a re-encoded message that decodes to
# the same text ----
start_server wire
config wire
"$PY" - "$T/wire.msg" <<'PY'
import sys
body = ("caf\u00e9 " + "long" * 500 + "\n").encode() + b"nul\x00byte\nend\n"
open(sys.argv[1], "wb").write(b"To: bob@example.org\nSubject: wire\n\n" + body)
PY
expect_status 0 "send a message with a 2,000-octet line and a NUL" -- \
    sh -c '"$0" -c "$1" send -t -i < "$2"' "$TERN" "$RC" "$T/wire.msg"
expect_status 0 "it arrived" -- test "$(stored wire)" = 1
expect_status 0 "it decodes to the text sent, every line within 998 octets" -- "$PY" -c '
import email, sys
raw = open(sys.argv[1], "rb").read()
assert max(len(l) for l in raw.split(b"\r\n")) <= 998, "long line on the wire"
assert b"\x00" not in raw
m = email.message_from_bytes(raw)
want = open(sys.argv[2], "rb").read().split(b"\n\n", 1)[1]
got = m.get_payload(decode=True)
assert got == want, (got[:80], want[:80])
' "$T/wire/store/000001.eml" "$T/wire.msg"

# ---- smuggling: bare CR, bare LF, dots: one message each, bytes as documented ----
start_server smug
config smug
i=0
for body in 'a\n.\nb' 'a\r\n.\r\nMAIL FROM:<x@y>\r\nRCPT TO:<z@y>\r\nDATA\r\nsmuggled\r\n.\r\n' \
    'a\n.\r\nb' 'a\r.\rb' 'a\r\n.\nb' 'bare\rcr and bare\nlf' '.\n..\n...\n' 'end with dot\n.'; do
    i=$((i + 1))
    printf "To: bob@example.org\nSubject: smuggle $i\nX-Seq: $i\n\n$body" >"$T/smug$i"
    "$TERN" -c "$RC" send -t -i <"$T/smug$i"
done
expect_status 0 "smuggling bodies: exactly $i messages arrived" -- test "$(stored smug)" = "$i"
cat >"$T/smug.py" <<'PY'
import glob, re, sys
t, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    src = open("%s/smug%d" % (t, i), "rb").read()
    want = src.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    want = want if want.endswith(b"\r\n") else want + b"\r\n"
    got = [open(p, "rb").read() for p in glob.glob(t + "/smug/store/*.eml")
           if re.search(rb"^X-Seq: %d\r$" % i, open(p, "rb").read(), re.M)]
    if len(got) != 1 or not got[0].endswith(want[want.index(b"Subject:"):]):
        sys.exit("body %d: %r" % (i, got))
PY
expect_status 0 "smuggling bodies arrive byte-identical after CRLF normalisation" -- \
    "$PY" "$T/smug.py" "$T" "$i"

# ---- concurrent immediate sends: each waits for the other's delivery, none left behind ----
start_server conc
config conc
"$PY" "$T/gen.py" "$T/conc/msgs" 20
ls "$T/conc/msgs"/*.msg | xargs -P 4 -n 1 sh -c '"$0" -c "$1" send -t -i < "$2"' "$TERN" "$RC"
expect_status 0 "20 concurrent sends: all delivered at once, queue empty" -- \
    test "$(stored conc):$(queued conc)" = 20:0

# ---- faults ----
msg() { printf 'From: ann@example.org\nTo: %s\nSubject: %s\n\nbody\n' "$1" "$2" >"$T/fault.msg"; }

start_server t451 --temp-fail 2
config t451
msg bob@example.org "temp"
expect_status 0 "451: send exits 0 once queued" -- sh -c '"$0" -c "$1" send -t < "$2"' \
    "$TERN" "$RC" "$T/fault.msg"
expect_in "$T/err" "451 4.3.0" "451: the deferral shows the server's reply"
"$TERN" -c "$RC" queue >"$T/q1"
expect_in "$T/q1" "queued  attempts 1" "451: queued after 1 attempt"
expect_in "$T/q1" "last reply: 127.0.0.1: end of data: 451 4.3.0" "451: last reply kept"
# not due yet: flush says what waits and until when, instead of "0 sent, 0 deferred": a
# time on another day with its date, a time later today as HH:MM (checked only when today
# has two minutes left: a due time two hours ahead was tomorrow from 22:00 on)
not_due() {     # not_due SECONDS_AHEAD DATE_FORMAT
    due=$(( $(date +%s) + $1 ))
    sed -i "s/^next .*/next $due/" "$T"/t451/Mail/.tern/queue/*.state
    expect_status 0 "not due ($1 s): flush sends nothing" -- "$TERN" -c "$RC" flush
    expect_in "$T/out" "1 queued, not due until $(date -d @$due "$2")" \
        "not due ($1 s): flush says what waits and until when"
}
not_due $((2 * 86400)) '+%Y-%m-%d %H:%M'
[ "$(date -d '+2 min' +%F)" != "$(date +%F)" ] || not_due 60 +%H:%M
expect_status 75 "451: second attempt deferred (exit 75)" -- "$TERN" -c "$RC" flush --all
expect_status 0 "451: third attempt delivers" -- "$TERN" -c "$RC" flush --all
expect_status 0 "451: stored once, queue empty" -- test "$(stored t451):$(queued t451)" = 1:0

start_server t421 --temp-fail 1 --temp-code 421
config t421
msg bob@example.org "temp 421"
"$TERN" -c "$RC" send -t -q <"$T/fault.msg"
expect_status 75 "421: deferred" -- "$TERN" -c "$RC" flush
expect_in "$T/err" "421 4.3.2" "421: reply shown"
sleep 1.1
expect_status 0 "421: backoff over, next flush delivers" -- "$TERN" -c "$RC" flush
expect_status 0 "421: stored once, queue empty" -- test "$(stored t421):$(queued t421)" = 1:0

start_server t550 --reject-rcpt nobody@example.org
config t550
msg "bob@example.org, nobody@example.org" "partial"
expect_status 0 "550 for one recipient: send exits 0" -- sh -c \
    '"$0" -c "$1" send -t < "$2"' "$TERN" "$RC" "$T/fault.msg"
expect_in "$T/err" "recipient <nobody@example.org> refused: 550 5.1.1" "550: refusal reported"
expect_in "$T/t550/store/000001.json" '"rcpt_tos": ["bob@example.org"]' \
    "550: delivered to the accepted recipient"
"$TERN" -c "$RC" queue >"$T/q2"
expect_in "$T/q2" "failed" "550: kept in the queue as failed"
expect_in "$T/q2" "refused: <nobody@example.org> 550 5.1.1" "550: refused recipient listed"
expect_status 0 "550: copied to Sent once" -- test "$(find "$T/t550/Mail/Sent" -type f | wc -l)" = 1
id=$(sed -n 's/^\([^ ]*\)  failed.*/\1/p' "$T/q2")
expect_status 0 "queue --retry puts it back" -- "$TERN" -c "$RC" queue --retry "$id"
expect_status 69 "retry: refused again, failed (exit 69)" -- "$TERN" -c "$RC" flush
expect_status 0 "retry: no second Sent copy, bob not sent twice" -- \
    test "$(find "$T/t550/Mail/Sent" -type f | wc -l):$(stored t550)" = 1:1
expect_status 0 "queue --delete removes it" -- "$TERN" -c "$RC" queue --delete "${id:0:12}"
expect_status 0 "deleted: queue and Outbox empty" -- \
    test "$(queued t550):$(find "$T/t550/Mail/Outbox" -type f | wc -l)" = 0:0

start_server t552 --size 600
config t552
{ printf 'To: bob@example.org\nSubject: big\n\n'; head -c 3000 /dev/zero | tr '\0' 'a'; echo; } \
    >"$T/big.msg"
"$TERN" -c "$RC" send -t <"$T/big.msg" 2>"$T/e552" || true
expect_in "$T/e552" "exceeds the server's limit of 600 (SIZE)" "552/SIZE: refused before sending"
"$TERN" -c "$RC" queue >"$T/q3"
expect_in "$T/q3" "failed" "SIZE: marked failed"
expect_status 0 "SIZE: nothing stored" -- test "$(stored t552)" = 0

start_server tdrop --drop-after-data 1
config tdrop
msg bob@example.org "drop"
"$TERN" -c "$RC" send -t <"$T/fault.msg" 2>"$T/edrop" || true
expect_in "$T/edrop" "deferred" "dropped after DATA: deferred"
expect_status 0 "dropped: next flush delivers" -- "$TERN" -c "$RC" flush --all
expect_status 0 "dropped: stored once, queue empty" -- test "$(stored tdrop):$(queued tdrop)" = 1:0

start_server tsilent --mode silent
config tsilent
sed -i 's/^timeout = 5/timeout = 2/' "$RC"
msg bob@example.org "silent"
"$TERN" -c "$RC" send -t <"$T/fault.msg" 2>"$T/esilent" || true
expect_in "$T/esilent" "timed out" "unanswered greeting: timeout reported"
expect_status 0 "unanswered greeting: still queued" -- test "$(queued tsilent)" = 1
# five days later (queue_lifetime): the next temporary failure gives up, kept as failed
sed -i 's/^created .*/created 1000/' "$T"/tsilent/Mail/.tern/queue/*.state
expect_status 69 "lifetime over: flush marks it failed" -- "$TERN" -c "$RC" flush --all
"$TERN" -c "$RC" queue >"$T/q4"
expect_in "$T/q4" "failed" "lifetime over: failed in the queue"
expect_in "$T/q4" "last reply: gave up after" "lifetime over: the reason is kept"

start_server tauth
config tauth
sed -i 's/^smtp_password = .*/smtp_password = wrong/' "$RC"
msg bob@example.org "auth"
"$TERN" -c "$RC" send -t -q <"$T/fault.msg"
expect_status 69 "wrong password: flush holds the message" -- "$TERN" -c "$RC" flush
expect_in "$T/err" "authentication (PLAIN) as ann failed: 535" "wrong password: clear error"
expect_status 0 "wrong password: message kept" -- test "$(queued tauth)" = 1
"$TERN" -c "$RC" queue >"$T/qauth"
expect_in "$T/qauth" "held  attempts 1  next when the account's settings change" \
    "wrong password: held in tern queue, not scheduled for retry"
expect_in "$T/qauth" "last reply: 127.0.0.1: authentication (PLAIN) as ann failed: 535 5.7.8" \
    "wrong password: the server's reply in tern queue"
expect_not_in "$T/qauth" "next now" "wrong password: no retry time"
# even with the retry delays long past, a flush leaves it alone: retrying cannot help
sed -i 's/^next .*/next 1000/' "$T"/tauth/Mail/.tern/queue/*.state
auths=$(grep -c 'AUTH' "$T/tauth/smtpd.log" || true)
expect_status 0 "wrong password: a later flush does not try again" -- "$TERN" -c "$RC" flush
expect_in "$T/out" "1 held until the account's settings change" \
    "wrong password: a later flush says the message is held"
expect_status 0 "wrong password: no new login attempt" -- \
    test "$(grep -c 'AUTH' "$T/tauth/smtpd.log" || true)" = "$auths"
expect_status 0 "wrong password: still held" -- grep -q '^state held' \
    "$T"/tauth/Mail/.tern/queue/*.state
expect_status 69 "wrong password: --retry-held tries on request" -- \
    "$TERN" -c "$RC" flush --retry-held
# the settings change: the held message goes at the next flush
sed -i 's/^smtp_password = .*/smtp_password = s3cret/' "$RC"
expect_status 0 "password fixed: the held message is sent" -- "$TERN" -c "$RC" flush
expect_status 0 "password fixed: arrived" -- test "$(stored tauth)" = 1
expect_status 0 "password fixed: queue empty" -- test "$(queued tauth)" = 0

# an acceptance in the journal (a crash right after the server's 250) is never sent again
start_server tjournal
config tjournal
msg bob@example.org "journal"
"$TERN" -c "$RC" send -t -q <"$T/fault.msg"
msg carol@example.org "journal 2"
"$TERN" -c "$RC" send -t -q <"$T/fault.msg"
id=$(grep -l 'rcpt bob@example.org' "$T"/tjournal/Mail/.tern/queue/*.state)
id=$(basename "$id" .state)
printf '%s\tbob@example.org\n' "$id" >"$T/tjournal/Mail/.tern/queue/accepted.journal"
expect_status 0 "journal: flush after a crash" -- "$TERN" -c "$RC" flush
expect_status 0 "journal: only the unrecorded message is sent" -- test "$(stored tjournal)" = 1
expect_in "$(ls "$T"/tjournal/store/*.json)" "carol@example.org" "journal: that one is carol's"
expect_status 0 "journal: queue empty" -- test "$(queued tjournal)" = 0
expect_status 0 "journal: both in the sent folder" -- \
    test "$(ls "$T/tjournal/Mail/Sent/cur" | wc -l)" = 2
expect_status 0 "journal: emptied once settled" -- \
    test "$(tr -d '\0' <"$T/tjournal/Mail/.tern/queue/accepted.journal" | wc -c)" = 0

config tcert
sed -i '/^tls_ca_file/d' "$RC"
msg bob@example.org "cert"
"$TERN" -c "$RC" send -t -q <"$T/fault.msg"
expect_status 69 "untrusted certificate: flush holds the message" -- "$TERN" -c "$RC" flush
expect_in "$T/err" "certificate" "untrusted certificate: clear error"
"$TERN" -c "$RC" queue >"$T/qcert"
expect_in "$T/qcert" "held" "untrusted certificate: held in tern queue"

start_server tinject --mode inject --log "$T/inject.log"
config tinject
msg bob@example.org "inject"
"$TERN" -c "$RC" send -t <"$T/fault.msg" 2>"$T/einject" || true
expect_in "$T/einject" "unexpected data after STARTTLS" "STARTTLS injection aborts the session"
eventually 30 grep -q "after-starttls" "$T/inject.log"
expect_in "$T/inject.log" "after-starttls: b''" "nothing sent after the injected reply"
smtpd_stop

# ---- kill -9 during a flush loses nothing (at worst a message goes twice) ----
start_server kill
config kill
"$PY" "$T/gen.py" "$T/kill/msgs" 200
ls "$T/kill/msgs"/*.msg | xargs -P 2 -n 1 sh -c '"$0" -c "$1" send -q -t -i < "$2"' "$TERN" "$RC"
"$TERN" -c "$RC" flush >/dev/null 2>&1 &
fpid=$!
smtpd_wait 50 || true
kill -9 "$fpid" 2>/dev/null || true
wait "$fpid" 2>/dev/null || true
echo "    (killed after $(stored kill) deliveries, $(queued kill) still queued)"
expect_status 0 "after kill -9: the next flush finishes" -- "$TERN" -c "$RC" flush --all
expect_status 0 "after kill -9: every message arrived, none lost" -- \
    "$PY" "$T/verify.py" "$T/kill/store" "$T/kill/Mail/Sent" "$T/kill/msgs" dups-ok
cat "$T/out"
expect_status 0 "after kill -9: queue empty" -- test "$(queued kill)" = 0
smtpd_stop
echo "    (whole script: $(( $(date +%s) - t0 )) s)"

finish
