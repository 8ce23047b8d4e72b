# Shared by the benchmarks (sourced): the tools they compare with, installed on demand; an
# optimised build; the generated Maildir; a scratch directory $W removed at exit; and the
# test servers' helpers (tests/integration/serve.sh: at_exit, serve, make_cert).
set -eu

BENCH_SRC=$(cd "$(dirname "$0")/.." && pwd)
TERN_SRCDIR=$BENCH_SRC
. "$BENCH_SRC/tests/integration/serve.sh"

# What a test would skip, a benchmark cannot do without: say what is missing and stop.
skip() { echo "bench: $*" >&2; exit 1; }

# need COMMAND PACKAGE: install the Debian package with apt-get when COMMAND is missing.
need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "bench: installing $2" >&2
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null
    fi
}

# bench_build DIR TARGET...: make TARGETs in DIR, first configured there (-O2, no sanitizers)
# when it is not a build directory yet.
bench_build() {
    _dir=$1
    shift
    if [ ! -f "$_dir/Makefile" ]; then
        mkdir -p "$_dir"
        [ -x "$BENCH_SRC/configure" ] || (cd "$BENCH_SRC" && autoreconf -fi)
        (cd "$_dir" && "$BENCH_SRC/configure" CFLAGS="-O2 -g" >/dev/null)
    fi
    make -C "$_dir" -s "$@" >/dev/null
}

# bench_args [TERN]: the settings of the benchmarks on one generated folder: $TERN from the
# argument, else ./tern, else tern on PATH; N=100000 messages in DIR=/tmp/tern-bench-N made
# with SEED=42; RUNS=5; a fixed locale and time zone.
bench_args() {
    TERN=${1:-}
    if [ -z "$TERN" ]; then
        if [ -x ./tern ]; then TERN=$(pwd)/tern; else TERN=$(command -v tern); fi
    fi
    N=${N:-100000}
    DIR=${DIR:-/tmp/tern-bench-$N}
    RUNS=${RUNS:-5}
    SEED=${SEED:-42}
    export LC_ALL=C.UTF-8 TZ=UTC
}

# bench_maildir: DIR holds N generated messages (bench/gen-maildir with SEED), made when it
# holds fewer.
bench_maildir() {
    if [ ! -d "$DIR/cur" ] || [ "$(ls "$DIR/cur" "$DIR/new" | wc -l)" -lt "$N" ]; then
        echo "bench: generating $N messages in $DIR (seed $SEED)" >&2
        rm -rf "$DIR"
        "$BENCH_SRC/bench/gen-maildir" --count "$N" --seed "$SEED" "$DIR"
    fi
}

# bench_scratch NAME: a scratch directory $W (chmod 755, for servers running as other users)
# removed at exit, with $HOME in it and $W/mailrc, a configuration with mail_root $W/root.
bench_scratch() {
    W=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    chmod 755 "$W"
    at_exit 'rm -rf "$W"'
    mkdir -p "$W/home" "$W/root"
    export HOME="$W/home"
    printf '[general]\nmail_root = %s\n' "$W/root" >"$W/mailrc"
    chmod 600 "$W/mailrc"
}

# bench_subjects DIR OUT: the decoded subject of each message of the Maildir DIR, one a line,
# what bench/tui-pty.py waits for as "real subjects on the screen".
bench_subjects() {
    python3 - "$1" "$2" <<'PY'
import email.header, os, sys
d, out = sys.argv[1], sys.argv[2]
with open(out, "w", encoding="utf-8") as o:
    for sub in ("cur", "new"):
        for n in os.listdir(os.path.join(d, sub)):
            with open(os.path.join(d, sub, n), "rb") as f:
                head = f.read(16384).split(b"\n\n", 1)[0].decode("utf-8", "replace")
            for line in head.replace("\n\t", " ").replace("\n ", " ").split("\n"):
                if line.lower().startswith("subject:"):
                    s = line[8:].strip()
                    try:
                        s = str(email.header.make_header(email.header.decode_header(s)))
                    except Exception:
                        pass
                    o.write(" ".join(s.split()) + "\n")
                    break
PY
}

# bench_muttrc FILE DIR HCACHE: neomutt opening the Maildir DIR read-only in spirit (no
# moves, no marks), sorted by date, its header cache HCACHE.
bench_muttrc() {
    cat >"$1" <<EOF
set mbox_type=Maildir
set folder="$2"
set spoolfile="$2"
set header_cache="$3"
set move=no
set quit=yes
set mark_old=no
set sort=date
set check_new=no
EOF
}
