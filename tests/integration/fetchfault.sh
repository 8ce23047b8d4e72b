#!/bin/bash
# Fault injection over tern fetch (tests/fault/faultinject.so, LD_PRELOAD), against a private
# dovecot: every file operation of a fetch in turn fails (ENOSPC, EIO) or kills the fetcher
# there, then a clean fetch runs. Whatever broke, the mail root ends with each of the
# server's messages exactly once and byte for byte; with pop3_keep = no the server has
# deleted only what is safe on disk (so nothing is lost even when the fault ate a delivery).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dovecot.sh"
SHIM=${TERN_BUILDDIR:-$(pwd)}/tests/fault/faultinject.so
[ -f "$SHIM" ] || skip "no $SHIM (make check builds it)"
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

dovecot_setup "$T/dv"
N=6
dovecot_fill "$N" 300 3000 11
mkdir -p "$T/orig" && cp "$DOVECOT_MAILDIR"/new/* "$T/orig/"
dovecot_start

# rc DIR KEEP: a plain-POP3 account (no TLS: the sweep runs hundreds of fetches) under DIR.
rc() {
    mkdir -p "$1"
    printf '[general]\nmail_root = %s/Mail\n[account a]\npop3_host = 127.0.0.1\n' "$1" >"$1/rc"
    printf 'pop3_port = %s\npop3_user = alice\npassword = secret\npop3_tls = none\n' \
        "$POP3_PORT" >>"$1/rc"
    printf 'timeout = 10\npop3_keep = %s\n' "$2" >>"$1/rc"
    chmod 600 "$1/rc"
}
digests() {
    find "$@" -type f 2>/dev/null | sort | while read -r f; do
        tr -d '\r' <"$f" | sha256sum | cut -d' ' -f1; done | sort
}
digests "$T/orig" >"$T/orig.sum"
# The server's mailbox as dovecot keeps it after a first look (uidlist included), so that a
# keep = no round can put back exactly the same messages with the same UIDLs.
rc "$T/first" yes
"$TERN" -c "$T/first/rc" fetch >/dev/null 2>&1 || fail "a first clean fetch"
dovecot_stop
cp -a "$T/dv/mail/alice/Maildir" "$T/pristine"
dovecot_start
# dovecot opens the mailbox afresh for each POP3 session and keeps its indexes inside it, so
# between two fetches the whole directory can be put back while it runs.
restore() {
    rm -rf "$T/dv/mail/alice/Maildir"
    cp -a "$T/pristine" "$T/dv/mail/alice/Maildir"
}
on_server() { find "$T/dv/mail/alice/Maildir/new" "$T/dv/mail/alice/Maildir/cur" -type f | wc -l; }

# faulty DIR K ACTION: tern fetch with the K-th operation under DIR/Mail broken.
faulty() {
    FAULT_AT=$2 FAULT_ACTION=$3 FAULT_MODE=once FAULT_PATH="$1/Mail" FAULT_COUNT="$1/count" \
        LD_PRELOAD="$SHIM" "$TERN" -c "$1/rc" fetch >"$1/out" 2>"$1/err"
}

for keep in yes no; do
    rc "$T/dry-$keep" "$keep"
    [ "$keep" = no ] && restore
    faulty "$T/dry-$keep" 0 ENOSPC || true
    n=$(cat "$T/dry-$keep/count")
    # a fetch of N messages writes, syncs and renames each: a sweep over few operations
    # would mean the shim saw nothing
    [ "$n" -gt $((3 * N)) ] || fail "keep = $keep: the shim counted only $n operations"
    bad=0
    for action in ENOSPC EIO kill; do
        for k in $(seq "$n"); do
            d="$T/$keep-$action-$k"
            rc "$d" "$keep"
            [ "$keep" = no ] && restore
            st=0
            ( faulty "$d" "$k" "$action" ) 2>/dev/null || st=$?  # no "Killed" noise
            if [ "$st" != 0 ] && [ "$action" != kill ] && ! [ -s "$d/err" ]; then
                echo "    $keep $action at $k: failed (exit $st) without a word"; bad=1
            fi
            "$TERN" -c "$d/rc" fetch >"$d/out2" 2>"$d/err2" || {
                echo "    $keep $action at $k: the clean fetch after it failed: $(cat "$d/err2")"
                bad=1; continue; }
            digests "$d/Mail/INBOX/new" "$d/Mail/INBOX/cur" >"$d/sum"
            if ! cmp -s "$d/sum" "$T/orig.sum"; then
                echo "    $keep $action at $k: INBOX has $(wc -l <"$d/sum") messages, not" \
                     "the server's $N once each"; bad=1
            fi
            if [ "$keep" = no ] && [ "$(on_server)" != 0 ]; then
                echo "    $keep $action at $k: $(on_server) left on the server after a clean fetch"
                bad=1
            fi
        done
    done
    expect_status 0 "keep = $keep: each message exactly once after a fault at any of $n operations" \
        -- test $bad = 0
done
finish
