#!/bin/sh
# The index at 1,000 / 100,000 / 1,000,000 messages against mblaze (and NeoMutt at 100,000),
# in one run: first screen, cold build, index size, refresh after 1,000 changes, threads,
# limit, body search (against grep). Prints Markdown tables with ratios and the load.
#
# usage: bench/index.sh BUILD_DIR      (an -O2 build without sanitizers: tern and
#                                       bench/bench_index are built there when missing)
# env:   BASE=/tmp/tern-bench-100000   the generated 100,000 messages (made when missing)
#        BIG=$BASE-x10 SMALL=$BASE-1k  1,000,000 hard links of BASE, and 1,000 of them
#        RUNS=3 (1 at 1,000,000)  NO_NEOMUTT=1  KEEP=1 (keep BIG and SMALL afterwards)
# The 1,000,000-message folder costs 1,000,000 directory entries, no inodes and little
# space (hard links); it is removed at the end unless KEEP is set.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: bench/index.sh BUILD_DIR}
BASE=${BASE:-/tmp/tern-bench-100000}
BIG=${BIG:-$BASE-x10}
SMALL=${SMALL:-$BASE-1k}
RUNS=${RUNS:-3}
export LC_ALL=C.UTF-8 TZ=UTC
TERN=$build/tern
BI=$build/bench/bench_index
make -C "$build" -s tern bench/bench_index >/dev/null
for t in mlist mscan mthread mpick; do
    command -v $t >/dev/null || { echo "bench: mblaze missing (apt-get install mblaze)" >&2; exit 1; }
done
MSORT=$(command -v msort || command -v mblaze-sort)     # Debian calls it mblaze-sort

at_exit '[ -n "${KEEP:-}" ] || rm -rf "$BIG" "$SMALL"'
bench_scratch tern-index-bench
mkdir -p "$W/home/.mblaze"
: >"$W/home/.mblaze/seq"
export MBLAZE="$W/home/.mblaze"

echo "load at start: $(uptime)"
if [ ! -d "$BASE/cur" ]; then
    echo "bench: generating 100,000 messages in $BASE" >&2
    "$here/gen-maildir" --count 100000 --seed 42 "$BASE" >&2
fi
# BIG: every message of BASE ten times under new unique names; SMALL: 1,000 of them
python3 - "$BASE" "$BIG" "$SMALL" <<'PY'
import os, sys
base, big, small = sys.argv[1:4]
for d, copies, limit in ((big, 10, None), (small, 1, 1000)):
    if os.path.isdir(os.path.join(d, "cur")):
        continue
    for s in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, s), exist_ok=True)
    made = 0
    for s in ("new", "cur"):
        names = sorted(os.listdir(os.path.join(base, s)))
        if limit:
            names = names[: limit // 10 if s == "new" else limit - limit // 10]
        for c in range(copies):
            for n in names:
                os.link(os.path.join(base, s, n), os.path.join(d, s, "c%d.%s" % (c, n)))
                made += 1
    print("bench: %s: %d links" % (d, made), file=sys.stderr)
PY
find "$BASE" -type f -exec cat {} + >/dev/null 2>&1 || true     # page cache warm for everyone

# best/median helpers: wall seconds of a shell command, output discarded
wall() {
    /usr/bin/time -f "%e" -o "$W/t" sh -c "$1" >/dev/null 2>&1 || true
    cat "$W/t"
}
median() {   # median RUNS_N CMD
    n=$1; shift
    i=0; : >"$W/m"
    while [ $i -lt "$n" ]; do wall "$1" >>"$W/m"; i=$((i + 1)); done
    sort -n "$W/m" | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] }'
}
field() {    # field NAME FILE: the seconds of the bench_index line NAME (median over lines)
    awk -v n="$1" '$1 == n { print $2 }' "$2" | sort -n |
        awk '{ a[NR] = $1 } END { if (NR) printf "%.4f", a[int((NR + 1) / 2)]; else printf "-" }'
}
kv() {       # kv NAME KEY FILE: median of KEY=value on the bench_index lines NAME
    awk -v n="$1" -v k="$2=" '$1 == n { for (i = 3; i <= NF; i++) if (index($i, k) == 1)
        print substr($i, length(k) + 1) }' "$3" | sort -n |
        awk '{ a[NR] = $1 } END { if (NR) printf "%.4f", a[int((NR + 1) / 2)]; else printf "-" }'
}
cpu() {      # cpu NAME FILE: "CPU x, main thread y" of a bench_index line (threads, read_all)
    printf "(CPU %s, main thread %s)" "$(kv "$1" cpu "$2")" "$(kv "$1" main "$2")"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf (a / b < 10 ? "%.2f" : "%.1f"), a / b; else printf "-" }'; }

# ---- warm indexes (and the stored directory stamps more than a second old) ----
for d in "$SMALL" "$BASE" "$BIG"; do
    touch -d '-1 min' "$d/cur" "$d/new"
    $TERN -c "$W/mailrc" scan "$d" >/dev/null
done

# ---- first screen ----
# store level: open, counts, default view, the 40 newest rows (bench_index first)
for d in "$SMALL" "$BASE" "$BIG"; do
    i=0
    while [ $i -lt "$RUNS" ]; do "$BI" first "$d" >>"$W/first.$(basename "$d")"; i=$((i + 1)); done
done
# whole client in a 120x40 pty until 8 real subjects show (bench/tui-pty.py)
bench_subjects "$BASE" "$W/subjects"
tui() {   # tui NAME CMD...: RUNS first-screen times (ms) and peak RSS (KB) into $W/tui.NAME
    name=$1; shift
    i=0
    while [ $i -lt "$RUNS" ]; do
        python3 "$here/tui-pty.py" "$W/subjects" "q" -- "$@" >>"$W/tui.$name" || true
        i=$((i + 1))
    done
}
tmed() { sed -n "s/.*$2=\([^ ,]*\).*/\1/p" "$W/tui.$1" | sort -n |
         awk '{ a[NR] = $1 } END { if (NR) printf "%.1f", a[int((NR + 1) / 2)]; else printf "-" }'; }
tui small $TERN -c "$W/mailrc" -f "$SMALL"
# ten copies of each message: 40 rows show 4 or 5 distinct subjects
export MATCH=3
tui big $TERN -c "$W/mailrc" -f "$BIG"
unset MATCH
if [ -z "${NO_NEOMUTT:-}" ] && command -v neomutt >/dev/null; then
    bench_muttrc "$W/muttrc" "$BASE" "$W/hcache"
    RUNS_SAVE=$RUNS; RUNS=1
    tui neofill neomutt -n -F "$W/muttrc" -f "$BASE"      # fills the header cache, untimed
    RUNS=$RUNS_SAVE
    tui neomutt neomutt -n -F "$W/muttrc" -f "$BASE"
    tui base $TERN -c "$W/mailrc" -f "$BASE"
fi
mb_first_small=$(median "$RUNS" "mlist $SMALL | $MSORT -d | tail -n 40 | mscan")
mb_first_base=$(median "$RUNS" "mlist $BASE | $MSORT -d | tail -n 40 | mscan")
mb_first_big=$(median 1 "mlist $BIG | $MSORT -d | tail -n 40 | mscan")

# ---- refresh after 1,000 changes at 100,000 ----
# open: a process started after the changes; list: a running client (folder open, refreshed
# once) without the watch; watch: the same with the watch (bench_index's modes). Before
# each, `tern index` brings the index up to date and merges a long journal, as the client
# has it done in the background.
i=0
while [ $i -lt "$RUNS" ]; do
    for mode in open list watch; do
        for kind in renames deliveries; do
            touch -d '-1 min' "$BASE/cur" "$BASE/new"; $TERN -c "$W/mailrc" index -q "$BASE"
            "$BI" $kind "$BASE" 1000 $i $mode >>"$W/changes"
        done
    done
    i=$((i + 1))
done
mb_base=$(median "$RUNS" "mlist $BASE | mscan")
# the watched refresh at 1,000,000 (once each; the list case there is in PERFORMANCE.md)
for kind in renames deliveries; do
    touch -d '-1 min' "$BIG/cur" "$BIG/new"; $TERN -c "$W/mailrc" scan "$BIG" >/dev/null
    "$BI" $kind "$BIG" 1000 0 watch | sed 's/^refresh_/big_refresh_/' >>"$W/changes"
done

# ---- threads, limit, body search ----
# body:deadline and grep over the same files, in turns (a busy machine slows both alike);
# wall and CPU seconds (user + system, every thread) of each
i=0
while [ $i -lt "$RUNS" ]; do
    "$BI" views "$BASE" "from:alice" deadline >>"$W/views.base"
    /usr/bin/time -f "%e %U %S" -o "$W/t" grep -rli deadline "$BASE" >/dev/null 2>&1 || true
    cat "$W/t" >>"$W/grep.i"
    /usr/bin/time -f "%e %U %S" -o "$W/t" grep -rl deadline "$BASE" >/dev/null 2>&1 || true
    cat "$W/t" >>"$W/grep.cs"
    i=$((i + 1))
done
"$BI" views "$BIG" "from:alice" >>"$W/views.big"
"$BI" views "$BIG" "from:alice" >>"$W/views.big"
BENCH_READ_FIRST=1 "$BI" views "$BIG" >>"$W/views.bigread"
BENCH_READ_FIRST=1 "$BI" views "$BIG" >>"$W/views.bigread"
mt_base=$(median "$RUNS" "mlist $BASE | mthread")
mt_big=$(median 1 "mlist $BIG | mthread")
mp_base=$(median "$RUNS" "mlist $BASE | mpick -t 'from =~~ \"alice\"'")
mp_big=$(median 1 "mlist $BIG | mpick -t 'from =~~ \"alice\"'")
med() {     # the median of the numbers on stdin
    sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%.3f", a[int((NR + 1) / 2)]; else printf "-" }'
}
grep_base=$(awk '{ print $1 }' "$W/grep.i" | med)
grep_base_cpu=$(awk '{ print $2 + $3 }' "$W/grep.i" | med)
grep_base_cs=$(awk '{ print $1 }' "$W/grep.cs" | med)
grep_base_cs_cpu=$(awk '{ print $2 + $3 }' "$W/grep.cs" | med)
body_cpu=$(kv body cpu "$W/views.base")

# ---- build from nothing ----
# tern and mblaze in turns, each after the dirty pages before it are written (the kernel's
# writeback of the index just written, 380 MB at 1,000,000, would otherwise take a core
# from whichever runs next); the ratio is the median of each pair's, so that a slow moment
# of the shared machine, which slows the pair alike, cancels out. At least 5 pairs at
# 100,000 (2 s a pair), RUNS at 1,000,000.
cold_pairs() {  # cold_pairs DIR N TAG: N pairs of walls into $W/cold.TAG, $W/mbcold.TAG
    j=0
    while [ $j -lt "$2" ]; do
        rm -f "$1/.tern-index"
        sync
        wall "rm -f $1/.tern-index; $TERN -c $W/mailrc scan $1" >>"$W/cold.$3"
        sync
        wall "mlist $1 | mscan" >>"$W/mbcold.$3"
        j=$((j + 1))
    done
    paste "$W/cold.$3" "$W/mbcold.$3" | awk '{ if ($2 > 0) print $1 / $2 }' >"$W/ratio.$3"
}
cold_pairs "$BASE" $((RUNS > 5 ? RUNS : 5)) base
cold_pairs "$BIG" "$RUNS" big
cold_base=$(med <"$W/cold.base")
mbcold_base=$(med <"$W/mbcold.base")
cold_ratio_base=$(sort -n "$W/ratio.base" | awk '{ a[NR] = $1 } END { printf "%.2f (%.2f-%.2f)", a[int((NR + 1) / 2)], a[1], a[NR] }')
cold_big=$(med <"$W/cold.big")
mb_big=$(med <"$W/mbcold.big")
cold_ratio_big=$(sort -n "$W/ratio.big" | awk '{ a[NR] = $1 } END { printf "%.2f (%.2f-%.2f)", a[int((NR + 1) / 2)], a[1], a[NR] }')
size_base=$(stat -c %s "$BASE/.tern-index")
size_big=$(stat -c %s "$BIG/.tern-index")
echo "load after the runs: $(uptime)"

kb2mb() { awk -v k="$1" 'BEGIN { if (k + 0 > 0) printf "%.1f", k / 1024; else printf "-" }'; }
rss_small=$(kb2mb "$(tmed small rss_kb)")
rss_big=$(kb2mb "$(tmed big rss_kb)")
fs() { field first_screen "$W/first.$(basename "$1")"; }
rss() { awk '$1 == "first_screen" { sub("rss_mb=", "", $3); print $3 }' "$W/first.$(basename "$1")" | sort -n | tail -n 1; }
fill() { awk '$1 == "first_screen" { sub("filled=", "", $4); print $4 }' "$W/first.$(basename "$1")" | head -n 1; }
cat <<EOF

### First screen (RUNS=$RUNS, medians)

| folder | tern client, start to 8 subjects (ms) | peak RSS (MB) | store: open + view + 40 rows (s) | entries read | RSS (MB) | mblaze \`mlist \| msort -d \| tail -40 \| mscan\` (s) | mblaze ÷ tern store |
|---|---|---|---|---|---|---|---|
| 1,000 | $(tmed small first_ms) | $rss_small | $(fs "$SMALL") | $(fill "$SMALL") | $(rss "$SMALL") | $mb_first_small | $(ratio "$mb_first_small" "$(fs "$SMALL")") |
| 100,000 | $(tmed base first_ms) | | $(fs "$BASE") | $(fill "$BASE") | $(rss "$BASE") | $mb_first_base | $(ratio "$mb_first_base" "$(fs "$BASE")") |
| 1,000,000 | $(tmed big first_ms) | $rss_big | $(fs "$BIG") | $(fill "$BIG") | $(rss "$BIG") | $mb_first_big | $(ratio "$mb_first_big" "$(fs "$BIG")") |

tern client 1,000,000 ÷ 1,000: $(ratio "$(tmed big first_ms)" "$(tmed small first_ms)")
EOF
if [ -f "$W/tui.neomutt" ]; then
    echo "NeoMutt (header cache warm) at 100,000: $(tmed neomutt first_ms) ms, $(tmed neomutt rss_kb) KB;" \
         "tern $(tmed base first_ms) ms: NeoMutt ÷ tern = $(ratio "$(tmed neomutt first_ms)" "$(tmed base first_ms)")"
fi
chg() {      # chg KIND MODE: "wall (cpu)" of refresh_KIND_MODE
    printf '%s (%s)' "$(field "refresh_$1_$2" "$W/changes")" "$(kv "refresh_$1_$2" cpu "$W/changes")"
}
rw=$(field refresh_renames_watch "$W/changes")
dw=$(field refresh_deliveries_watch "$W/changes")
cat <<EOF

### Changes at 100,000 (refresh after another client's changes; mblaze re-reads the folder)

Seconds, wall (CPU). open: a process that opens the folder after the changes; list: a
running client (folder open and refreshed once before) without the watch; watch: the same
client with the watch (inotify).

| what | tern, open | tern, list | tern, watch | mblaze \`mlist \| mscan\` (s) | mblaze ÷ tern watch |
|---|---|---|---|---|---|
| 1,000 renames (flag changes) in cur/ | $(chg renames open) | $(chg renames list) | $(chg renames watch) | $mb_base | $(ratio "$mb_base" "$rw") |
| 1,000 deliveries into new/ | $(chg deliveries open) | $(chg deliveries list) | $(chg deliveries watch) | $mb_base | $(ratio "$mb_base" "$dw") |

At 1,000,000, watch: 1,000 renames $(field big_refresh_renames_watch "$W/changes") s (CPU $(kv big_refresh_renames_watch cpu "$W/changes")), 1,000 deliveries $(field big_refresh_deliveries_watch "$W/changes") s (CPU $(kv big_refresh_deliveries_watch cpu "$W/changes")).

### Views

| what | tern (s) | mblaze (s) | mblaze ÷ tern |
|---|---|---|---|
| threads, 100,000 | $(field threads "$W/views.base") $(cpu threads "$W/views.base") | $mt_base (\`mlist \| mthread\`) | $(ratio "$mt_base" "$(field threads "$W/views.base")") |
| threads, 1,000,000 | $(field threads "$W/views.big") $(cpu threads "$W/views.big") | $mt_big | $(ratio "$mt_big" "$(field threads "$W/views.big")") |
| of which reading every entry (all blocks read and checked) | $(field read_all "$W/views.bigread") $(cpu read_all "$W/views.bigread") | | |
| threads, 1,000,000, entries already read | $(field threads "$W/views.bigread") $(cpu threads "$W/views.bigread") | $mt_big | $(ratio "$mt_big" "$(field threads "$W/views.bigread")") |
| limit from:alice, 100,000 | $(field limit "$W/views.base") | $mp_base (\`mpick -t 'from =~~ "alice"'\`) | $(ratio "$mp_base" "$(field limit "$W/views.base")") |
| limit from:alice, 1,000,000 | $(field limit "$W/views.big") | $mp_big | $(ratio "$mp_big" "$(field limit "$W/views.big")") |
| body:deadline (decoded text parts), 100,000: wall | $(field body "$W/views.base") | grep -rli $grep_base, grep -rl $grep_base_cs | grep -rli ÷ tern $(ratio "$grep_base" "$(field body "$W/views.base")"), grep -rl ÷ tern $(ratio "$grep_base_cs" "$(field body "$W/views.base")") |
| body:deadline, CPU (user + system, all threads) | $body_cpu | grep -rli $grep_base_cpu, grep -rl $grep_base_cs_cpu | grep -rli ÷ tern $(ratio "$grep_base_cpu" "$body_cpu"), grep -rl ÷ tern $(ratio "$grep_base_cs_cpu" "$body_cpu") |

### Build from nothing (\`rm .tern-index; tern scan\` vs \`mlist | mscan\`, output to /dev/null)

Medians of the pairs (tern, then mblaze); tern ÷ mblaze is the median of the pairs' ratios
(lowest-highest).

| messages | tern (s) | mblaze (s) | tern ÷ mblaze | index bytes/message |
|---|---|---|---|---|
| 100,000 | $cold_base | $mbcold_base | $cold_ratio_base | $(awk -v s="$size_base" 'BEGIN { printf "%.0f", s / 100000 }') (76 fixed: record 64, name hash 8, name check 4) |
| 1,000,000 | $cold_big | $mb_big | $cold_ratio_big | $(awk -v s="$size_big" 'BEGIN { printf "%.0f", s / 1000000 }') (76 fixed: record 64, name hash 8, name check 4) |
EOF
[ -z "${VERBOSE:-}" ] || cat "$W"/first.* "$W"/changes "$W"/views.* "$W"/tui.*
