#!/bin/sh
# tern beside mailx: bsd-mailx and s-nail (installed by scripts/setup; this script installs
# nothing) read the example file of mailrc(5) silently and list its aliases, and tern reads a
# real s-nail resource file. The example is extracted from doc/mailrc.5 so they cannot drift.
. "$(dirname "$0")/lib.sh"
SRC=${TERN_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BSD=$(command -v bsd-mailx || true)
SNAIL=$(command -v s-nail || true)
[ -n "$BSD" ] || [ -n "$SNAIL" ] || skip "neither bsd-mailx nor s-nail is installed"
[ -x "$TERN" ] || skip "no tern binary at $TERN"

# The first literal display of EXAMPLES in mailrc(5), roff escapes undone.
awk '/^\.Sh EXAMPLES/ { e = 1 } e && /^\.Bd -literal/ { p = 1; next } p && /^\.Ed/ { exit }
     p { print }' "$SRC/doc/mailrc.5" | sed 's/\\&//g; s/\\e/\\/g' >"$T/example.rc"
expect_in "$T/example.rc" "#: [account home]" "the example is extracted from mailrc(5)"
: >"$T/empty.mbox"

# bsd_aliases RC: bsd-mailx's answer to `alias` in $T/out, its stderr in $T/err; the banner
# of command mode is taken out of $T/out.
bsd_aliases() {
    printf 'alias\n' | MAILRC=$1 "$BSD" -n -f "$T/empty.mbox" >"$T/raw" 2>"$T/err" || true
    grep -v -e '^Mail version ' -e '^".*": 0 messages$' "$T/raw" >"$T/out" || true
}
snail_aliases() {
    printf 'alias\n' | MAILRC=$1 "$SNAIL" -n -# >"$T/out" 2>"$T/err" || true
}
# only_lines FILE DESCRIPTION LINE...: FILE holds exactly these lines, in any order.
only_lines() {
    f=$1; what=$2; shift 2
    printf '%s\n' "$@" | sort >"$T/want"
    sort "$f" >"$T/got"
    if cmp -s "$T/want" "$T/got"; then pass "$what"; else
        fail "$what"; diff "$T/want" "$T/got" | sed 's/^/    /' | head -n 10; fi
}
silent() {
    if [ -s "$T/err" ]; then fail "$1"; sed 's/^/    stderr: /' "$T/err" | head -n 5
    else pass "$1"; fi
}

if [ -n "$BSD" ]; then
    bsd_aliases "$T/example.rc"
    silent "bsd-mailx reads the mailrc(5) example without a message"
    # bsd-mailx lists an alias's addresses newest first, tab after the name
    only_lines "$T/out" "bsd-mailx lists the aliases before and after tern's lines, nothing else" \
        "boss	 jane@example.org" "team	 bob@example.org ann@example.org"
    # the control: plain INI lines stop bsd-mailx at the first section header
    sed 's/^#: //' "$T/example.rc" >"$T/plain.rc"
    bsd_aliases "$T/plain.rc"
    expect_in "$T/raw" 'Unknown command: "[general]"' "bsd-mailx stumbles on a plain INI line"
    expect_not_in "$T/out" "boss" "and loses the aliases after it (what '#:' avoids)"
else
    echo "# bsd-mailx not installed: its checks skipped"
fi

if [ -n "$SNAIL" ]; then
    snail_aliases "$T/example.rc"
    silent "s-nail reads the mailrc(5) example without a message"
    only_lines "$T/out" "s-nail lists the aliases, nothing else" \
        "alias boss jane@example.org" "alias team ann@example.org bob@example.org"
    sed 's/^#: //' "$T/example.rc" >"$T/plain.rc"
    snail_aliases "$T/plain.rc"
    expect_in "$T/err" "[general]: unknown command" "s-nail reports plain INI lines (the control)"
else
    echo "# s-nail not installed: its checks skipped"
fi

# tern reads the same example, with no warning even though a mailx is installed.
expect_status 0 "tern reads the mailrc(5) example" -- "$TERN" -c "$T/example.rc" check-config
silent "tern prints no warning for the example"
expect_in "$T/out" "[account home]   # default" "tern sees the account"
expect_in "$T/out" "smtp_host              = smtp.example.org" "tern sees the keys"
expect_in "$T/out" "team: ann@example.org bob@example.org" "tern sees the alias before"
expect_in "$T/out" "boss: jane@example.org" "tern sees the alias after"
expect_in "$T/out" "hides (mailx ignore)" "tern takes the ignore line"
expect_status 0 "tern reads the plain form too" -- "$TERN" -c "$T/plain.rc" check-config
expect_in "$T/err" "check-config --mailx-safe" "and says how to make it mailx-safe"
expect_status 0 "--mailx-safe on the plain form" -- "$TERN" -c "$T/plain.rc" check-config --mailx-safe
if cmp -s "$T/out" "$T/example.rc"; then pass "--mailx-safe gives back the documented file"; else
    fail "--mailx-safe differs from the example"; diff "$T/example.rc" "$T/out" | head; fi

# A real s-nail resource file: s-nail's own constructs, then tern's lines.
echo 'set hold' >"$T/inc.rc"
cat >"$T/snail.rc" <<RC
# s-nail's own
wysh set indentprefix='> '
set hold
unset askcc
wysh set from='Ann Example <ann@example.org>'
commandalias ll '\\headers'
source $T/inc.rc
define greet {
  read version
  if "\$version" == ""
    echo empty
  else
    echo set
  endif
}
account work {
  wysh set from='Ann <ann@work.example.org>'
  set smtp-use-starttls
}
if t
  set crt=25
endif
alias team ann@example.org bob@example.org
#: [general]
#: mail_root = ~/Mail
#: [account home]
#: from = Ann <ann@example.org>
ignore Received
alias boss jane@example.org
unalias team
RC
if [ -n "$SNAIL" ]; then
    snail_aliases "$T/snail.rc"
    silent "s-nail accepts the s-nail file (so it is a real one)"
    only_lines "$T/out" "s-nail honours its aliases and unalias" "alias boss jane@example.org"
fi
echo 'ghost gg echo' >>"$T/snail.rc"      # obsolete in s-nail 14.9, still read
expect_status 0 "tern accepts the s-nail file" -- "$TERN" -c "$T/snail.rc" check-config
silent "tern prints nothing about s-nail's lines"
expect_in "$T/out" "from                   = Ann <ann@example.org>" "tern reads its own lines there"
expect_in "$T/out" "boss: jane@example.org" "tern reads the alias"
expect_not_in "$T/out" "team:" "tern honours unalias"

finish
