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
set -eu

here=$(cd "$(dirname "$0")" && pwd)
N=${N:-100000}
DIR=${DIR:-/tmp/tern-bench-$N}
RUNS=${RUNS:-5}
SEED=${SEED:-42}
TERN=${1:-}
if [ -z "$TERN" ]; then
    if [ -x ./tern ]; then TERN=$(pwd)/tern; else TERN=$(command -v tern); fi
fi
export LC_ALL=C.UTF-8 TZ=UTC

need() {   # need COMMAND PACKAGE: install the package with apt-get when missing
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "bench: installing $2" >&2
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
    fi
}
need mlist mblaze
need mscan mblaze
[ -x /usr/bin/time ] || need /usr/bin/time time
[ -n "${NO_NEOMUTT:-}" ] || need neomutt neomutt
[ -n "${NO_NEOMUTT:-}" ] || need script bsdutils

if [ ! -d "$DIR/cur" ] || [ "$(ls "$DIR/cur" "$DIR/new" | wc -l)" -lt "$N" ]; then
    echo "bench: generating $N messages in $DIR (seed $SEED)" >&2
    rm -rf "$DIR"
    "$here/gen-maildir" --count "$N" --seed "$SEED" "$DIR"
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/home/.mblaze"
: >"$W/home/.mblaze/seq"
export HOME="$W/home" MBLAZE="$W/home/.mblaze"

# median of RUNS runs of "$@" (wall clock, seconds); the command's output goes to /dev/null
median() {
    i=0
    : >"$W/times"
    while [ $i -lt "$RUNS" ]; do
        [ -z "${BEFORE:-}" ] || eval "$BEFORE"
        s=$(date +%s.%N)
        sh -c "$1" >/dev/null 2>&1
        e=$(date +%s.%N)
        echo "$e - $s" | bc -l >>"$W/times"
        i=$((i + 1))
    done
    sort -n "$W/times" | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] }'
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
i=0; : >"$W/times"
while [ $i -lt "$RUNS" ]; do
    flip
    s=$(date +%s.%N); $T_SCAN >/dev/null; e=$(date +%s.%N)
    echo "$e - $s" | bc -l >>"$W/times"; i=$((i + 1))
done
t_changed=$(sort -n "$W/times" | awk '{ a[NR] = $1 } END { printf "%.3f", a[int((NR + 1) / 2)] }')

# 1,000 new messages delivered (their header blocks must be read): measured once
mkdir -p "$W/extra"
"$here/gen-maildir" --count 1000 --seed $((SEED + 1)) "$W/extra" 2>/dev/null
for f in "$W/extra/cur/"* "$W/extra/new/"*; do
    b=$(basename "$f"); mv "$f" "$DIR/new/x$b"
done
s=$(date +%s.%N); $T_SCAN >/dev/null; e=$(date +%s.%N)
t_new=$(echo "$e - $s" | bc -l | awk '{ printf "%.3f", $1 }')
rm -f "$DIR"/new/x*
$T_SCAN >/dev/null; sleep 1.1; $T_SCAN >/dev/null

M_SCAN="mlist $DIR | mscan"
t_mb=$(median "$M_SCAN")
r_mb=$(rss "$M_SCAN")

t_nm_warm=n/a; t_nm_cold=n/a; r_nm=n/a
if [ -z "${NO_NEOMUTT:-}" ] && command -v neomutt >/dev/null; then
    cat >"$W/muttrc" <<RC
set header_cache = "$W/hcache"
set quit = yes
set sort = date
set mbox_type = Maildir
set check_new = no
set mail_check_stats = no
set timeout = 1
set use_envelope_from = no
RC
    mkdir -p "$W/hcache"
    # open the folder, draw the index, quit: run under script(1) for a terminal
    NM="TERM=xterm-256color COLUMNS=160 LINES=50 script -qec \"neomutt -n -F $W/muttrc -f $DIR -e 'push q'\" /dev/null"
    BEFORE="rm -rf $W/hcache; mkdir -p $W/hcache"
    t_nm_cold=$(RUNS=1 median "$NM")
    BEFORE=
    sh -c "$NM" >/dev/null 2>&1 || true
    t_nm_warm=$(median "$NM")
    r_nm=$(rss "$NM")
fi

ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.1f", $1 / $2; else print "n/a" }'; }
cat <<EOF
Maildir: $DIR, $msgs messages ($(du -sh "$DIR" | cut -f1)), $(nproc) CPUs, $(uname -sr)
tern: $TERN; runs: median of $RUNS; page cache warm

| what                                  | seconds | peak RSS MB | mlist\|mscan ÷ this |
|---------------------------------------|--------:|------------:|--------------------:|
| \`tern scan\` warm index                | $t_warm | $r_warm | $(ratio "$t_mb" "$t_warm")× |
| \`tern scan\` after 1,000 flag changes  | $t_changed |  | $(ratio "$t_mb" "$t_changed")× |
| \`tern scan\` after 1,000 new messages  | $t_new |  | $(ratio "$t_mb" "$t_new")× |
| \`tern scan\` cold (no index)           | $t_cold | $r_cold | $(ratio "$t_mb" "$t_cold")× |
| \`mlist DIR \| mscan\`                  | $t_mb | $r_mb | 1.0× |
| neomutt open+quit, header cache warm  | $t_nm_warm | $r_nm | $(ratio "$t_mb" "$t_nm_warm")× |
| neomutt open+quit, header cache cold  | $t_nm_cold |  | $(ratio "$t_mb" "$t_nm_cold")× |
EOF
