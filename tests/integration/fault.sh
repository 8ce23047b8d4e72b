#!/bin/bash
# Fault injection over the outgoing path (tests/fault/faultinject.so, LD_PRELOAD): tern send,
# draft saving and tern flush are made to fail (ENOSPC, a disk that stays full; EIO once) or are killed at
# every file operation in turn, against a real SMTP server (aiosmtpd). Whatever breaks, a
# message is queued properly or refused with an error, and a flush followed by a clean one
# delivers each message exactly once (a kill may send the one message in flight twice).
. "$(dirname "$0")/lib.sh"

SHIM=${TERN_BUILDDIR:-$(pwd)}/tests/fault/faultinject.so
. "$(dirname "$0")/smtpd.sh"
[ -x "$TERN" ] || skip "no tern binary at $TERN"
[ -f "$SHIM" ] || skip "no $SHIM (make check builds it)"
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

smtpd_start "$T"

# rc DIR: a configuration with mail_root DIR/Mail.
rc() {
    mkdir -p "$1"
    { printf '[general]\nmail_root = %s/Mail\n' "$1"; smtpd_account a; echo 'timeout = 10'; } \
        >"$1/rc"
    chmod 600 "$1/rc"
}
# faulty DIR K ACTION MODE OPS COMMAND...: run a tern command with the K-th operation under
# DIR/Mail broken.
faulty() {
    local dir=$1 k=$2 action=$3 mode=$4 ops=$5; shift 5
    FAULT_AT=$k FAULT_ACTION=$action FAULT_MODE=$mode FAULT_OPS=$ops FAULT_PATH="$dir/Mail" \
        FAULT_COUNT="$dir/count" LD_PRELOAD="$SHIM" "$@"
}
outbox() { find "$1/Mail/Outbox" -type f 2>/dev/null | wc -l; }
states() { find "$1/Mail/.tern/queue" -name '*.state' 2>/dev/null | wc -l; }
arrived() { grep -lP "^Subject: \Q$1\E\r?$" "$T"/store/*.eml 2>/dev/null | wc -l; }

# ---- tern send: queued properly, or nothing left and an error ----
printf 'To: bob@example.org\nSubject: send\n\nhello\n' >"$T/m"
rc "$T/s0"
faulty "$T/s0" 0 ENOSPC once "" "$TERN" -c "$T/s0/rc" send -q -t <"$T/m"
n=$(cat "$T/s0/count")
bad=0
for action in ENOSPC EIO kill; do
    for k in $(seq "$n"); do
        d="$T/s-$action-$k"
        rc "$d"
        set +e
        faulty "$d" "$k" "$action" once "" "$TERN" -c "$d/rc" send -q -t <"$T/m" 2>"$d/err"
        st=$?
        set -e
        o=$(outbox "$d"); s=$(states "$d")
        if [ "$st" = 0 ] && [ "$o:$s" != 1:1 ]; then
            echo "    send $action at $k: exit 0 but $o messages, $s states"; bad=1
        elif [ "$st" != 0 ] && [ "$action" != kill ] && [ "$o" != 0 ]; then
            echo "    send $action at $k: failed (exit $st) but left $o messages in Outbox"; bad=1
        elif [ "$st" != 0 ] && [ "$action" != kill ] && ! [ -s "$d/err" ]; then
            echo "    send $action at $k: failed without a word"; bad=1
        fi
    done
done
expect_status 0 "send: queued properly or not at all, at each of $n operations" -- test $bad = 0

# ---- draft saving (tests/fault/draftsave: the compose screen's steps): nothing lost ----
DRAFTSAVE=${TERN_BUILDDIR:-$(pwd)}/tests/fault/draftsave
if [ -x "$DRAFTSAVE" ]; then
    rc "$T/d0"
    faulty "$T/d0" 0 ENOSPC once "" "$DRAFTSAVE" "$T/d0/rc" dry "$T/d0/mark"
    n=$(cat "$T/d0/count")
    bad=0
    for action in ENOSPC EIO kill; do
        for k in $(seq "$n"); do
            d="$T/d-$action-$k"
            rc "$d"
            st=0
            faulty "$d" "$k" "$action" once "" "$DRAFTSAVE" "$d/rc" "draft-$action-$k" \
                "$d/mark" 2>"$d/err" || st=$?
            drafts=$(grep -rl "^Subject: draft-$action-$k\$" "$d/Mail/Drafts" 2>/dev/null |
                     wc -l)
            kept=$(grep -rl "^Subject: draft-$action-$k\$" "$d/Mail/.tern/compose" 2>/dev/null |
                   wc -l)
            # (a recovery copy whose removal failed may stay beside the saved draft)
            if [ "$st" = 0 ] && [ "$drafts" != 1 ]; then
                echo "    draft $action at $k: saved, but $drafts in Drafts"; bad=1
            elif [ "$st" != 0 ] && [ -e "$d/mark" ] && [ $((drafts + kept)) = 0 ]; then
                echo "    draft $action at $k: lost (exit $st)"; bad=1
            elif [ "$st" != 0 ] && [ "$action" != kill ] && ! [ -s "$d/err" ]; then
                echo "    draft $action at $k: failed without a word"; bad=1
            fi
        done
    done
    expect_status 0 "draft saving: in Drafts or recoverable, at each of $n operations" -- \
        test $bad = 0
fi

# ---- tern flush: exactly once, whatever operation fails ----
# a template queue of three messages; each run gets its own subjects
rc "$T/tpl"
for i in 1 2 3; do
    printf 'To: bob@example.org, carol@example.org\nSubject: CASE-%s\n\nbody %s\n' "$i" "$i" |
        "$TERN" -c "$T/tpl/rc" send -q -t
done
fresh() {    # fresh DIR CASE: the template queue, subjects CASE-1..3
    rm -rf "$1"
    rc "$1"
    cp -a "$T/tpl/Mail" "$1/Mail"
    sed -i "s/^Subject: CASE-/Subject: $2-/" "$1"/Mail/Outbox/new/*
}
fresh "$T/f0" dry
faulty "$T/f0" 0 EIO once "" "$TERN" -c "$T/f0/rc" flush -q
n=$(cat "$T/f0/count")
expect_status 0 "flush: a clean run sends the three" -- \
    test "$(arrived dry-1):$(arrived dry-2):$(arrived dry-3)" = 1:1:1
# flush_case ACTION MODE OPS: a fault at each operation, then two clean flushes
flush_case() {
    local action=$1 mode=$2 ops=$3 k i c bad=0 dups=0 runs=0
    for k in $(seq "$n"); do
        d="$T/f-$action-$k"
        fresh "$d" "$action$mode$k"
        faulty "$d" "$k" "$action" "$mode" "$ops" "$TERN" -c "$d/rc" flush -q 2>"$d/err" || true
        "$TERN" -c "$d/rc" flush -q --all 2>>"$d/err" || true
        "$TERN" -c "$d/rc" flush -q --all 2>>"$d/err" || true
        runs=$((runs + 1))
        local before=$dups
        for i in 1 2 3; do
            c=$(arrived "$action$mode$k-$i")
            if [ "$c" = 0 ]; then
                echo "    $action ($mode) at operation $k: message $i lost"; bad=1
            elif [ "$c" -gt 1 ]; then
                dups=$((dups + c - 1))
                [ "$action" = kill ] || { echo "    $action at $k: message $i sent $c times"; bad=1; }
            fi
        done
        if [ $((dups - before)) -gt 1 ]; then
            echo "    $action at $k: $((dups - before)) messages sent twice by one kill"; bad=1
        fi
        if [ "$(states "$d"):$(outbox "$d")" != 0:0 ]; then
            echo "    $action ($mode) at operation $k: queue not empty"; bad=1
        fi
    done
    echo "    ($action, $mode: $runs runs, $dups duplicates)"
    DUPS=$dups
    return $bad
}
expect_status 0 "flush: a full disk (ENOSPC from operation k on) at each of $n: exactly once" \
    -- flush_case ENOSPC from write,creat,fallocate,rename
cat "$T/out"
expect_status 0 "flush: EIO once at each of $n operations: exactly once" -- \
    flush_case EIO once ""
cat "$T/out"
expect_status 0 "flush: killed at each of $n operations: nothing lost, at most the message in \
flight twice" -- flush_case kill once ""
cat "$T/out"

finish
