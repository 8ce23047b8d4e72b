#!/bin/sh
# The index survives kill -9 during a rebuild (the process is stopped while it writes the new
# cache file, then killed) and during an update (stopped halfway through appending its
# changes to the journal, then killed): every following scan lists exactly what a scan
# without any index lists, and the cache is whole again afterwards.
. "$(dirname "$0")/lib.sh"

F="$T/F"
python3 "$(dirname "$0")/genmail.py" "$F" 400 200 3000 7
mkdir -p "$F/cur" "$F/tmp" "$T/root"
for f in $(ls "$F/new" | head -n 250); do mv "$F/new/$f" "$F/cur/$f:2,S"; done
printf '[general]\nmail_root = %s\n' "$T/root" >"$T/rc"
chmod 600 "$T/rc"
S() { "$TERN" -c "$T/rc" scan "$@"; }
# directories older than the listing, so that a saved stamp is trusted on the next open
age() { touch -d "-$1 sec" "$F/cur" "$F/new"; }

# stopped PID: wait until the process has stopped itself (ps state T); false if it ended
stopped() {
    i=0
    while [ $i -lt 1200 ]; do
        st=$(ps -o stat= -p "$1" 2>/dev/null || true)
        case "$st" in
        T*) return 0 ;;
        "") return 1 ;;
        esac
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

# kill9_during WHAT: run a scan that stops itself in the middle of saving, kill it hard
kill9_during() {
    TERN_INDEX_TEST_STOP=1 "$TERN" -c "$T/rc" scan "$F" >/dev/null 2>&1 &
    pid=$!
    if stopped $pid; then pass "stopped during $1"; else fail "stopped during $1"; fi
    kill -9 $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
}

# same A B: the same messages with the same flags (the order of messages with equal dates
# may differ: ties go by arrival, then by position in the index)
same() {
    cut -c7- "$1" | sort >"$T/a"
    cut -c7- "$2" | sort >"$T/b"
    cmp -s "$T/a" "$T/b"
}

# consistent WHAT: a scan now lists what a scan without index lists; so does the next one
consistent() {
    S --no-index "$F" >"$T/truth"
    expect_status 0 "scan after kill during $1" -- S --stats "$F"
    same "$T/out" "$T/truth" && pass "listing intact after kill during $1" ||
        { fail "listing intact after kill during $1"; diff "$T/a" "$T/b" | head -n 5; }
    expect_status 0 "second scan after kill during $1" -- S --stats "$F"
    same "$T/out" "$T/truth" && pass "second listing intact ($1)" ||
        fail "second listing intact ($1)"
    expect_in "$T/err" "cache ok" "cache whole again ($1)"
}

# 1. a rebuild from nothing, killed while writing the cache: no cache file, only a stray
#    temporary one, which nothing reads
age 60
kill9_during "a rebuild"
[ ! -f "$F/.tern-index" ] && pass "no half cache installed" || fail "no half cache installed"
ls "$F"/.tern-index.tmp.* >/dev/null 2>&1 && pass "the temporary file is what was cut" ||
    fail "the temporary file is what was cut"
consistent "a rebuild"

# 2. an update: another client renamed, removed and delivered; the scan that records it in
#    the journal is killed halfway through its append
age 60
S "$F" >/dev/null
n=0
for f in $(ls "$F/cur" | head -n 30); do
    mv "$F/cur/$f" "$F/cur/$(echo "$f" | sed 's/:2,S$/:2,FS/')"
done
for f in $(ls "$F/cur" | tail -n 5); do rm "$F/cur/$f"; done
for i in 1 2 3 4 5 6; do
    printf 'From: late%d@example.org\nSubject: late %d\n\nx\n' $i $i >"$F/new/1800000000.L$i.host"
done
age 30
kill9_during "a journal append"
[ -f "$F/.tern-index.log" ] && pass "journal was being written" || fail "journal was being written"
consistent "a journal append"

# 3. and a later update still goes to the journal and is replayed
S "$F" >/dev/null
age 60
S "$F" >/dev/null
for f in $(ls "$F/cur" | head -n 3); do mv "$F/cur/$f" "$F/cur/$f"R; done
age 30
expect_status 0 "scan records a small change" -- S --stats "$F"
S --no-index "$F" >"$T/truth"
expect_status 0 "warm scan replays it" -- S --stats "$F"
expect_in "$T/err" "directories unchanged" "replayed without reading the directories"
same "$T/out" "$T/truth" && pass "replayed listing intact" || fail "replayed listing intact"

# 4. a large folder's long journal (here every cache counts as large) is left by the scans
#    for `tern index` to merge; killed during that merge, the cache and journal stay valid
export TERN_INDEX_SMALL_CACHE=0 TERN_INDEX_JNL_SLACK=0
for f in $(ls "$F/cur"); do mv "$F/cur/$f" "$F/cur/${f}P"; done
age 30
S "$F" >/dev/null
[ -f "$F/.tern-index.log" ] && pass "a scan leaves a long journal" ||
    fail "a scan leaves a long journal"
age 60
S "$F" >/dev/null
TERN_INDEX_TEST_STOP=1 "$TERN" -c "$T/rc" index -q "$F" >/dev/null 2>&1 &
pid=$!
if stopped $pid; then pass "stopped during a merge"; else fail "stopped during a merge"; fi
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
[ -f "$F/.tern-index.log" ] && pass "journal kept by the killed merge" ||
    fail "journal kept by the killed merge"
consistent "a merge"
expect_status 0 "tern index merges" -- "$TERN" -c "$T/rc" index -q "$F"
[ ! -f "$F/.tern-index.log" ] && pass "journal merged into the cache" ||
    fail "journal merged into the cache"
S --no-index "$F" >"$T/truth"
expect_status 0 "scan after the merge" -- S --stats "$F"
same "$T/out" "$T/truth" && pass "listing intact after the merge" ||
    fail "listing intact after the merge"
expect_in "$T/err" "cache ok" "merged cache whole"
finish
