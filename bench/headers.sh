#!/bin/sh
# Message engine benchmark: 100,000 header blocks parsed in memory and a 10 MB message
# rendered; mblaze's mshow and mhdr on the same inputs for comparison.
# Usage: bench/headers.sh [BUILD_DIR]   (default: a fresh optimised build in $TMPDIR)
# Builds without sanitizers (-O2). Installs mblaze with apt-get when run as root.
# Times are CPU time (user+system): on a shared machine wall time measures the neighbours.
. "$(dirname "$0")/lib.sh"
build=${1:-${TMPDIR:-/tmp}/tern-bench-build}
bench_scratch tern-bench
work=$W
bench_build "$build" bench/bench_mail tern

"$build/bench/bench_mail" --write-big "$work/big.eml" 2>/dev/null

# cpu CMD...: best CPU seconds (user+system) of 3 runs of CMD, output discarded.
cpu() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
best = None
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    best = t if best is None or t < best else best
print(f"{best:.3f}")
PY
}

ours=$(cpu "$build/tern" show "$work/big.eml")
echo "tern show on the 10 MB message (a whole process, file read included): $ours s"
need mshow mblaze || true
if command -v mshow >/dev/null 2>&1; then
    theirs=$(cpu mshow "$work/big.eml")
    echo "mblaze mshow on the same message: $theirs s"
    python3 -c "print(f'ratio mshow / tern show: {$theirs / max($ours, 0.001):.1f}')"
    # Headers: 1,000 small files through mblaze's mhdr (one process) and tern show.
    mkdir -p "$work/hdrs"
    python3 - "$work/hdrs" <<'PY'
import sys
for i in range(1000):
    open(f"{sys.argv[1]}/{i}", "w").write(
        f"From: =?UTF-8?Q?Ren=C3=A9?= <u{i}@example.org>\nSubject: =?utf-8?q?Caf=C3=A9?= {i}\n"
        f"Date: Tue, 1 Jul 2023 10:00:00 +0200\nMessage-ID: <{i}@example.org>\n\nbody\n")
PY
    m=$(cpu sh -c "mhdr -h subject:from:date $work/hdrs/*")
    t=$(cpu sh -c "$build/tern show $work/hdrs/*")
    echo "1,000 small messages, one process: mblaze mhdr $m s, tern show (full render) $t s"
else
    echo "mblaze not installed (apt-get install mblaze): no comparison"
fi
