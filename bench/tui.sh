#!/bin/sh
# Benchmark the full-screen client: time from process start to the first screen showing real
# subjects, in a pseudo-terminal (120x40), on a large generated Maildir; tern with a warm
# index and with no index against neomutt with a warm header cache, in one run; key latency
# and peak RSS. Prints a Markdown table.
#
# usage: bench/tui.sh [TERN]        (TERN defaults to ./tern, then tern on PATH)
# env:   N=100000  DIR=/tmp/tern-bench-N  RUNS=5  SEED=42  NO_NEOMUTT=1 (skip neomutt)
. "$(dirname "$0")/lib.sh"
bench_args "${1:-}"

need python3 python3
[ -n "${NO_NEOMUTT:-}" ] || need neomutt neomutt

bench_maildir
bench_scratch tern-tui-bench

bench_subjects "$DIR" "$W/subjects"

bench_muttrc "$W/muttrc" "$DIR" "$W/hcache"

cat "$DIR"/cur/* "$DIR"/new/* >/dev/null 2>&1 || true    # page cache warm for everyone

# run NAME BEFORE QUITKEYS CMD...: RUNS runs; median first-screen time, key latency, RSS
run() {
    name=$1 before=$2 quit=$3; shift 3
    : >"$W/$name.txt"
    i=0
    while [ $i -lt "$RUNS" ]; do
        eval "$before"
        python3 "$BENCH_SRC/bench/tui-pty.py" "$W/subjects" "$quit" -- "$@" >>"$W/$name.txt"
        i=$((i + 1))
    done
}
median_of() {   # median_of FILE FIELD
    sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$1" | tr ',' '\n' | grep -v '^-$' | sort -n |
        awk '{ a[NR] = $1 } END { if (NR) printf "%.1f", a[int((NR + 1) / 2)]; else printf "-" }'
}
max_of() {
    sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$1" | sort -n | tail -n 1 | awk '{ printf "%.1f", $1 / 1024 }'
}

T="$TERN -c $W/mailrc -f $DIR"
# warm: an index exists and matches the folder
$TERN -c "$W/mailrc" scan "$DIR" >/dev/null 2>&1 || true
sleep 1.1
run tern_warm ":" "q" $T
run tern_cold "rm -f $DIR/.tern-index" "q" $T
$TERN -c "$W/mailrc" scan "$DIR" >/dev/null 2>&1 || true     # leave a warm index behind
if [ -z "${NO_NEOMUTT:-}" ]; then
    # warm the header cache once (not timed), then measure
    RUNS_SAVE=$RUNS; RUNS=1
    export KEYS="j j k * = j"      # neomutt's last/first are * and =
    run neomutt_fill "rm -rf $W/hcache" "q" neomutt -n -F "$W/muttrc" -f "$DIR"
    RUNS=$RUNS_SAVE
    run neomutt_warm ":" "q" neomutt -n -F "$W/muttrc" -f "$DIR"
    unset KEYS
fi

msgs=$(ls "$DIR/cur" "$DIR/new" | grep -c '^[0-9]')
tw=$(median_of "$W/tern_warm.txt" first_ms)
tc=$(median_of "$W/tern_cold.txt" first_ms)
echo
echo "Full-screen client, $msgs messages, first screen with subjects (median of $RUNS, ms);"
echo "key latency = median over down down up last first down (tern: j j k G = j; neomutt:"
echo "j j k * = j) of the time from the key to the end of the screen update."
echo
echo "| client | first screen (ms) | key latency (ms) | peak RSS (MB) |"
echo "|---|---|---|---|"
echo "| tern, warm index | $tw | $(median_of "$W/tern_warm.txt" keys_ms) | $(max_of "$W/tern_warm.txt" rss_kb) |"
echo "| tern, no index | $tc | $(median_of "$W/tern_cold.txt" keys_ms) | $(max_of "$W/tern_cold.txt" rss_kb) |"
if [ -z "${NO_NEOMUTT:-}" ]; then
    nw=$(median_of "$W/neomutt_warm.txt" first_ms)
    echo "| neomutt, header cache warm | $nw | $(median_of "$W/neomutt_warm.txt" keys_ms) | $(max_of "$W/neomutt_warm.txt" rss_kb) |"
    echo
    awk -v a="$nw" -v b="$tw" -v c="$tc" 'BEGIN {
        if (b > 0 && a > 0) printf "neomutt warm / tern warm index: %.1fx\n", a / b;
        if (c > 0 && a > 0) printf "neomutt warm / tern no index:   %.1fx\n", a / c }'
fi
[ -z "${VERBOSE:-}" ] || cat "$W"/*.txt
