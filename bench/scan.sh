#!/bin/sh
# Benchmark `tern scan` on a large generated Maildir against mblaze (mlist | mscan) and
# neomutt, in one run on one machine, and print a Markdown table with ratios.
#
# usage: bench/scan.sh [TERN]        (TERN defaults to ./tern, then tern on PATH)
# env:   N=100000  DIR=/tmp/tern-bench-N  RUNS=5  SEED=42  NO_NEOMUTT=1 (skip neomutt)
#
# Measured (page cache warm, output to /dev/null, median of RUNS wall-clock times):
#   tern warm      tern scan DIR with a valid index
#   tern cold      the same after removing DIR/.tern-index (every header block read)
#   tern changed   after 1,000 messages changed their flags (renamed by "another client")
#   tern new       after 1,000 new messages were delivered (their headers are read)
#   mblaze         mlist DIR | mscan          (reads every header block, every time)
#   neomutt        neomutt opening DIR and quitting, header cache warm and cold
# Peak RSS comes from /usr/bin/time -v (Maximum resident set size).
. "$(dirname "$0")/lib.sh"
bench_args "${1:-}"

need mlist mblaze
need mscan mblaze
[ -x /usr/bin/time ] || need /usr/bin/time time
[ -n "${NO_NEOMUTT:-}" ] || need neomutt neomutt
[ -n "${NO_NEOMUTT:-}" ] || need script bsdutils

bench_maildir
bench_scratch tern-bench
mkdir -p "$W/home/.mblaze"
: >"$W/home/.mblaze/seq"
export MBLAZE="$W/home/.mblaze"

# median of RUNS runs of the shell command: "WALL CPU" in seconds (CPU = user + sys of the
# command and its children; on a busy machine CPU is the steadier figure). Output discarded.
median() {
    i=0
    : >"$W/times"
    while [ $i -lt "$RUNS" ]; do
        [ -z "${BEFORE:-}" ] || eval "$BEFORE"
        /usr/bin/time -f "%e %U %S" -o "$W/t1" sh -c "$1" >/dev/null 2>&1 || true
        awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$W/t1" >>"$W/times"
        i=$((i + 1))
    done
    med "$W/times"
}
med() {  # median wall and median CPU of a file of "WALL CPU" lines
    w=$(sort -n "$1" | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] }')
    c=$(sort -k2 -n "$1" | awk '{ a[NR] = $2 } END { printf "%.2f", a[int((NR + 1) / 2)] }')
    echo "$w $c"
}
# peak RSS in MB of one run of the shell command
rss() {
    [ -z "${BEFORE:-}" ] || eval "$BEFORE"
    /usr/bin/time -v sh -c "$1" 2>"$W/rss" >/dev/null || true
    awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$W/rss"
}

# warm the page cache (every tool then reads from memory)
cat "$DIR"/cur/* "$DIR"/new/* >/dev/null 2>&1 || find "$DIR" -type f -exec cat {} + >/dev/null
msgs=$(ls "$DIR/cur" "$DIR/new" | grep -c '^[0-9]')

T_SCAN="$TERN scan $DIR"
rm -f "$DIR/.tern-index"
BEFORE="rm -f $DIR/.tern-index"
t_cold=$(median "$T_SCAN")
r_cold=$(rss "$T_SCAN")
BEFORE=
$T_SCAN >/dev/null; sleep 1.1; $T_SCAN >/dev/null      # index written, stamp settled
t_warm=$(median "$T_SCAN")
r_warm=$(rss "$T_SCAN")

# 1,000 messages change flags: toggle F on a different slice every run
ls "$DIR/cur" | head -n 30000 >"$W/names"
slice=0
flip() {
    slice=$((slice + 1))
    sed -n "$((slice * 1000 + 1)),$((slice * 1000 + 1000))p" "$W/names" | while read -r f; do
        case $f in
        *:2,*F*) mv "$DIR/cur/$f" "$DIR/cur/$(echo "$f" | tr -d F)" ;;
        *:2,*) b=${f%%:2,*}; fl=${f#*:2,}; mv "$DIR/cur/$f" "$DIR/cur/$b:2,F$fl" ;;
        esac
    done
}
i=0; : >"$W/times2"
while [ $i -lt "$RUNS" ]; do
    flip
    /usr/bin/time -f "%e %U %S" -o "$W/t1" $T_SCAN >/dev/null
    awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$W/t1" >>"$W/times2"
    i=$((i + 1))
done
t_changed=$(med "$W/times2")

# 1,000 new messages delivered (their header blocks must be read): measured once
mkdir -p "$W/extra"
"$BENCH_SRC/bench/gen-maildir" --count 1000 --seed $((SEED + 1)) "$W/extra" 2>/dev/null
for f in "$W/extra/cur/"* "$W/extra/new/"*; do
    b=$(basename "$f"); mv "$f" "$DIR/new/x$b"
done
/usr/bin/time -f "%e %U %S" -o "$W/t1" $T_SCAN >/dev/null
t_new=$(awk '{ printf "%.3f %.2f", $1, $2 + $3 }' "$W/t1")
rm -f "$DIR"/new/x*
$T_SCAN >/dev/null; sleep 1.1; $T_SCAN >/dev/null

M_SCAN="mlist $DIR | mscan"
t_mb=$(median "$M_SCAN")
r_mb=$(rss "$M_SCAN")

t_nm_warm=n/a; t_nm_cold=n/a; r_nm=n/a
if [ -z "${NO_NEOMUTT:-}" ] && command -v neomutt >/dev/null; then
    bench_muttrc "$W/muttrc" "$DIR" "$W/hcache"
    cat >>"$W/muttrc" <<RC
set mail_check_stats = no
set timeout = 1
set use_envelope_from = no
RC
    mkdir -p "$W/hcache"
    # open the folder, draw the index, quit: run under script(1) for a terminal
    NM="TERM=xterm-256color COLUMNS=160 LINES=50 timeout 600 script -qec \"neomutt -R -n -F $W/muttrc -f $DIR -e 'push q'\" /dev/null </dev/null"
    BEFORE="rm -rf $W/hcache; mkdir -p $W/hcache"
    t_nm_cold=$(RUNS=1 median "$NM")
    t_nm_cold=${t_nm_cold:-n/a}
    BEFORE=
    sh -c "$NM" >/dev/null 2>&1 || true
    t_nm_warm=$(median "$NM")
    r_nm=$(rss "$NM")
fi

ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.1f", $1 / $2; else print "n/a" }'; }
w() { echo "${1%% *}"; }           # wall part of "WALL CPU"
c() { echo "${1#* }"; }            # CPU part
row() {  # row LABEL "WALL CPU" RSS
    if [ "$2" = n/a ]; then
        echo "| $1 | n/a | n/a | $3 | n/a | n/a |"
    else
        echo "| $1 | $(w "$2") | $(c "$2") | $3 | $(ratio "$(w "$t_mb")" "$(w "$2")")× |" \
            "$(ratio "$(c "$t_mb")" "$(c "$2")")× |"
    fi
}
cat <<EOF
Maildir: $DIR, $msgs messages ($(du -sh "$DIR" | cut -f1)), $(nproc) CPUs, $(uname -sr),
load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
tern: $TERN; median of $RUNS runs; page cache warm; output to /dev/null

| what | wall s | CPU s | peak RSS MB | mlist\|mscan ÷ this (wall) | (CPU) |
|------|-------:|------:|------------:|-----------------:|------:|
EOF
row "\`tern scan\` warm index" "$t_warm" "$r_warm"
row "\`tern scan\` after 1,000 flag changes" "$t_changed" ""
row "\`tern scan\` after 1,000 new messages" "$t_new" ""
row "\`tern scan\` cold (no index)" "$t_cold" "$r_cold"
row "\`mlist DIR \| mscan\`" "$t_mb" "$r_mb"
row "neomutt -R open+quit, header cache warm" "$t_nm_warm" "$r_nm"
row "neomutt -R open+quit, header cache cold" "$t_nm_cold" ""
