#!/bin/sh
# Message engine benchmark: 100,000 header blocks parsed in memory and a 10 MB message
# rendered, with mblaze's mshow on the same 10 MB message for comparison.
# Usage: bench/headers.sh [BUILD_DIR]   (default: a fresh optimised build in $TMPDIR)
# Builds without sanitizers (-O2). Installs mblaze with apt-get when run as root.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${TMPDIR:-/tmp}/tern-bench-build}
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -f "$build/Makefile" ]; then
    mkdir -p "$build"
    [ -x "$src/configure" ] || (cd "$src" && autoreconf -fi)
    (cd "$build" && "$src/configure" CFLAGS="-O2 -g" >/dev/null)
fi
make -C "$build" -s bench/bench_mail >/dev/null

"$build/bench/bench_mail" --write-big "$work/big.eml" | tee "$work/ours"

if ! command -v mshow >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q mblaze >/dev/null 2>&1 || true
fi
if command -v mshow >/dev/null 2>&1; then
    best=""
    for i in 1 2 3; do
        s=$(date +%s.%N)
        mshow "$work/big.eml" >/dev/null 2>&1 || true
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    ours=$(sed -n 's/^render .*: \([0-9.]*\) s.*/\1/p' "$work/ours")
    printf 'mblaze mshow on the same message: %.3f s (best of 3, a process including I/O)\n' "$best"
    printf 'ratio mshow / tern render: %.1f\n' "$(echo "$best / $ours" | bc -l)"
    # Headers: mblaze's mhdr over 1,000 header-only files vs our per-block summary.
    mkdir -p "$work/hdrs"
    python3 - "$work/hdrs" <<'PY'
import sys
for i in range(1000):
    open(f"{sys.argv[1]}/{i}", "w").write(
        f"From: =?UTF-8?Q?Ren=C3=A9?= <u{i}@example.org>\nSubject: =?utf-8?q?Caf=C3=A9?= {i}\n"
        f"Date: Tue, 1 Jul 2023 10:00:00 +0200\nMessage-ID: <{i}@example.org>\n\nbody\n")
PY
    s=$(date +%s.%N)
    mhdr -h subject:from:date "$work"/hdrs/* >/dev/null 2>&1 || true
    e=$(date +%s.%N)
    printf 'mblaze mhdr, 1,000 small files in one process: %.2f us per message (includes open/read)\n' \
        "$(echo "($e - $s) * 1000" | bc -l)"
else
    echo "mblaze not installed (apt-get install mblaze): no comparison"
fi
