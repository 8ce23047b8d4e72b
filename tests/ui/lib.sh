# Screen tests: drive the real tern in a private tmux server (its own socket under $T, so
# parallel runs never meet), read the screen with capture-pane. Sourced after
# tests/integration/lib.sh, which gives $T, $TERN and the assertions.
command -v tmux >/dev/null 2>&1 || skip "tmux is not installed"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"

# Each start_tern gets a server of its own on a new socket: a new session on the socket of a
# server that kill-server is still taking down fails ("server exited unexpectedly").
NSOCK=0
SOCK="$T/tmux.$NSOCK.sock"
tm() { tmux -S "$SOCK" "$@"; }
at_exit 'tmux -S "$SOCK" kill-server 2>/dev/null'

# demo_mail DIR: a scratch copy of the demo Maildirs (git keeps no empty new/ and tmp/).
demo_mail() {
    mkdir -p "$1"
    cp -R "$TERN_SRCDIR/doc/demo/Mail/." "$1/"
    find "$1" -name cur -type d | while read -r cur; do
        mkdir -p "${cur%/cur}/new" "${cur%/cur}/tmp"
    done
    find "$1" -name .keep -delete
}

# demo_setup [extra general lines...]: the demo mail in $M ($T/Mail) and $T/rc for it; the
# address book is written only at exit (no timer fires during a test).
demo_setup() {
    M="$T/Mail"
    demo_mail "$M"
    write_rc "$T/rc" "$M" "$@"
    export TERN_LEARN_EVERY=3600
}

# write_rc FILE MAILROOT [extra lines...]
write_rc() {
    rc=$1 root=$2; shift 2
    { printf '[general]\nmail_root = %s\n' "$root"; for l in "$@"; do printf '%s\n' "$l"; done; } >"$rc"
    chmod 600 "$rc"
}

# start_tern ARGS...: a 120x40 session running tern; when tern ends the pane prints its exit
# status and whether the terminal is back in cooked mode, then waits.
start_tern() {
    tm kill-server 2>/dev/null || true
    NSOCK=$((NSOCK + 1))
    SOCK="$T/tmux.$NSOCK.sock"
    cat >"$T/run.sh" <<EOS
#!/bin/sh
trap '' INT     # ^C is for tern; this shell must live to report
export TERM=screen-256color LC_ALL=C.UTF-8
echo \$\$ >"$T/tern.pid"
"$TERN" "\$@" 2>>"$T/tern.err"
rc=\$?
printf '\nEXITED:%s ' "\$rc"
stty -a | tr ' ' '\n' | grep -E '^-?(icanon|echo)$' | tr '\n' ' '
printf 'END\n'
exec sleep 600
EOS
    chmod +x "$T/run.sh"
    rm -f "$T/tern.pid"
    # kill-server returns before the old server has gone: a new session started at once can
    # reach the dying one ("server exited unexpectedly"), so try again after a moment.
    for _ in 1 2 3 4 5; do
        tm -f /dev/null new-session -d -s t -x 120 -y 40 "exec sh $T/run.sh $*" 2>/dev/null &&
            break
        sleep 0.2
    done
    tm set-option -t t status off >/dev/null
    eventually 30 test -s "$T/tern.pid"
}

screen() { tm capture-pane -p -t t; }
keys() { tm send-keys -t t "$@"; }
# Type literal text (no key-name lookup).
typetext() { tm send-keys -t t -l -- "$1"; }

# click X Y / wheel_down X Y: xterm (X10) mouse reports, 0-based cell coordinates.
mouse() { tm send-keys -t t -H 1b 5b 4d "$(printf '%x' "$1")" "$(printf '%x' $((33 + $2)))" \
    "$(printf '%x' $((33 + $3)))"; }
click() { mouse 32 "$1" "$2"; sleep 0.05; mouse 35 "$1" "$2"; }
wheel_down() { mouse 97 "$1" "$2"; }

# wait_for TEXT [SECONDS]: until the screen shows TEXT; 0 or 1.
wait_for() {
    n=$(( ${2:-15} * 20 ))
    while [ "$n" -gt 0 ]; do
        if screen | grep -qF -- "$1"; then return 0; fi
        sleep 0.05
        n=$((n - 1))
    done
    return 1
}

# wait_gone TEXT [SECONDS]
wait_gone() {
    n=$(( ${2:-15} * 20 ))
    while [ "$n" -gt 0 ]; do
        if ! screen | grep -qF -- "$1"; then return 0; fi
        sleep 0.05
        n=$((n - 1))
    done
    return 1
}

# expect_screen TEXT DESCRIPTION [SECONDS]
expect_screen() {
    if wait_for "$1" "${3:-15}"; then pass "$2"; else
        fail "$2 (no '$1' on screen)"; screen | sed 's/^/    | /' | head -n 45; fi
}

expect_no_screen() {
    if wait_gone "$1" "${3:-10}"; then pass "$2"; else fail "$2 ('$1' still on screen)"; fi
}

# The status bar (second line from the bottom).
status_line() { screen | tail -n 2 | head -n 1; }

# expect_restored DESCRIPTION: tern has exited and the tty is back in cooked mode with echo.
expect_restored() {
    wait_for " END" 15 || true
    l=$(screen | grep -F "EXITED:" || true)
    if [ -n "$l" ] && ! printf '%s' "$l" | grep -qE -- '-icanon|-echo ' &&
        printf '%s' "$l" | grep -q icanon; then pass "$1"; else fail "$1 ($l)"; fi
}

# expect_clean_stderr: no sanitizer report from any tern started by start_tern.
expect_clean_stderr() {
    if [ -f "$T/tern.err" ] && grep -qE 'Sanitizer|runtime error' "$T/tern.err"; then
        fail "no sanitizer report"; head -n 30 "$T/tern.err"
    else
        pass "no sanitizer report"
    fi
}

count_files() { find "$1" -type f | wc -l | tr -d ' '; }
