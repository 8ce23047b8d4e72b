#!/bin/sh
# Run each libFuzzer target for a bounded time: run.sh SECONDS TARGET...
# Seeds come from tests/fuzz/seeds/NAME/ when present; new inputs go to a scratch directory.
set -eu
secs=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
status=0
for t in "$@"; do
    name=$(basename "$t")
    work="tests/fuzz/corpus-run/$name"
    mkdir -p "$work"
    seeds="$here/seeds/${name#fuzz_}"
    [ -d "$seeds" ] || seeds=
    echo "fuzz: $name for ${secs}s"
    if ! "./$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "$work" $seeds >"$work.log" 2>&1; then
        tail -n 40 "$work.log"
        echo "fuzz: $name FAILED"
        status=1
    else
        grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$work.log" | tr '\n' ' '
        echo
    fi
done
exit $status
