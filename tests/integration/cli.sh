#!/bin/sh
# The command line itself: help, version, usage errors, global options anywhere, check-config.
. "$(dirname "$0")/lib.sh"

expect_status 0 "--help exits 0" -- "$TERN" --help
expect_in "$T/out" "check-config" "--help lists check-config"
expect_status 0 "--version exits 0" -- "$TERN" --version
expect_in "$T/out" "tern " "--version prints the version"
expect_status 2 "unknown command exits 2" -- "$TERN" frobnicate
expect_in "$T/err" "unknown command or option 'frobnicate'" "unknown command is named"
expect_in "$T/err" "usage:" "usage goes to stderr"
expect_status 2 "-c without a file exits 2" -- "$TERN" check-config -c

cat >"$T/rc" <<'RC'
set ask
alias team a@example.org b@example.org
[general]
mail_root = ~/M
[account home]
from = Ann <ann@example.org>
pop3_host = 127.0.0.1
password = hunter2
smtp_prot = 25
RC
chmod 644 "$T/rc"
expect_status 0 "check-config with -c before the command" -- "$TERN" -c "$T/rc" check-config
expect_in "$T/out" "[account home]   # default" "check-config shows the account"
expect_in "$T/out" "mail_root              = $HOME/M" "check-config expands ~"
expect_not_in "$T/out" "hunter2" "check-config masks the password"
expect_in "$T/err" "did you mean smtp_port?" "unknown key gets a suggestion"
expect_in "$T/err" "chmod 600" "a readable file with a password gets a warning"
expect_status 0 "check-config with -c after the command" -- "$TERN" check-config -c "$T/rc"
expect_in "$T/out" "[account home]" "-c after the command is honoured"
MAILRC="$T/rc" expect_status 0 "\$MAILRC is read" -- env MAILRC="$T/rc" "$TERN" check-config
expect_in "$T/out" "pop3_host              = 127.0.0.1" "\$MAILRC's settings are shown"
expect_status 0 "a missing ~/.mailrc gives defaults" -- "$TERN" check-config
expect_in "$T/out" "not found: defaults" "check-config says the file is absent"

printf '[account a]\nsmtp_port = many\n' >"$T/bad"
expect_status 78 "a wrong value exits EX_CONFIG" -- "$TERN" -c "$T/bad" check-config
expect_in "$T/err" "$T/bad:2: smtp_port: 'many' is not valid" "the error names file, line, key"

# mailx beside tern: '#:' lines, the warning with its fix, and --mailx-safe.
cat >"$T/mx" <<'RC'
set ask
alias team a@example.org b@example.org
[general]
mail_root = ~/M
wysh set indentprefix='> '
[account home]
from = Ann <ann@example.org>
RC
mkdir -p "$T/bin"
printf '#!/bin/sh\nexit 0\n' >"$T/bin/s-nail"
chmod 755 "$T/bin/s-nail"
expect_status 0 "check-config with plain INI lines and a mailx" -- \
    env PATH="$T/bin" "$TERN" -c "$T/mx" check-config
expect_in "$T/err" "$T/mx:3: 4 lines of tern settings that s-nail ($T/bin/s-nail) reads" \
    "the warning names the file, the first line and the mailx"
expect_in "$T/err" "tern -c $T/mx check-config --mailx-safe >$T/mx.new && chmod 600 $T/mx.new && mv $T/mx.new $T/mx" \
    "the warning gives the exact fix"
expect_status 0 "check-config without a mailx" -- env PATH=/nonexistent "$TERN" -c "$T/mx" check-config
expect_not_in "$T/err" "mailx-safe" "no warning when no mailx is installed"
expect_status 0 "--mailx-safe" -- "$TERN" -c "$T/mx" check-config --mailx-safe
printf 'set ask\nalias team a@example.org b@example.org\n#: [general]\n#: mail_root = ~/M\nwysh set indentprefix='"'"'> '"'"'\n#: [account home]\n#: from = Ann <ann@example.org>\n' >"$T/mx.want"
if cmp -s "$T/out" "$T/mx.want"; then pass "--mailx-safe marks exactly the INI lines"; else
    fail "--mailx-safe output differs"; diff "$T/mx.want" "$T/out" | head; fi
cp "$T/out" "$T/mx2"
expect_status 0 "the rewritten file is read" -- env PATH="$T/bin" "$TERN" -c "$T/mx2" check-config
expect_in "$T/out" "mail_root              = $HOME/M" "the rewritten file keeps the settings"
expect_in "$T/out" "team: a@example.org b@example.org" "the rewritten file keeps the aliases"
expect_not_in "$T/err" "warning" "the rewritten file gets no warning"
expect_status 2 "check-config refuses an unknown option" -- "$TERN" check-config --frob

# Every subcommand answers --help on stdout, exit 0, in one format.
for c in check-config scan index send flush queue show fetch; do
    expect_status 0 "$c --help exits 0" -- "$TERN" "$c" --help
    if [ "$(head -n 1 "$T/out" | cut -d' ' -f1-2)" = "usage: tern" ] &&
        head -n 1 "$T/out" | grep -q "^usage: tern $c " && [ "$(tail -n 1 "$T/out")" = "See tern(1)." ] &&
        [ ! -s "$T/err" ]; then pass "$c --help: usage line, summary, See tern(1)."
    else fail "$c --help is not in the common format"; sed 's/^/    /' "$T/out"; fi
done
expect_status 0 "-V exits 0" -- "$TERN" -V
expect_in "$T/out" "tern $(sed -n 's/^AC_INIT(\[tern\], \[\([^]]*\)\].*/\1/p' "${TERN_SRCDIR:-.}/configure.ac")" \
    "-V prints the version of configure.ac"

# Errors of a subcommand begin "tern SUBCOMMAND: ", the usage after them says the same.
for c in check-config scan flush queue show fetch send; do
    expect_status 2 "$c refuses an unknown option" -- "$TERN" "$c" --frobnicate
    if [ "$(head -n 1 "$T/err")" = "tern $c: unknown option '--frobnicate'" ] &&
        sed -n 2p "$T/err" | grep -q "^usage: tern $c "; then pass "$c: the error has the one prefix form"
    else fail "$c: error not in the form 'tern $c: ...'"; sed 's/^/    /' "$T/err"; fi
done
expect_status 78 "a wrong value while fetching" -- "$TERN" -c "$T/bad" fetch
expect_in "$T/err" "tern fetch: $T/bad:2: smtp_port" "configuration errors carry the subcommand prefix"
printf '[account a]\npop3_host = nosuchhost.invalid\npop3_user = u\npassword = p\n' >"$T/nohost"
chmod 600 "$T/nohost"
# No network namespace, no DNS query leaves the machine: the name cannot resolve.
if unshare -n true 2>/dev/null; then
    expect_status 75 "a host that does not resolve gives 75 (EX_TEMPFAIL), as tern(1) says" -- \
        unshare -n "$TERN" -c "$T/nohost" fetch
    expect_in "$T/err" "tern fetch: a: cannot resolve nosuchhost.invalid" "and names the host"
else
    echo "# unshare -n not permitted: the unresolvable-host check is skipped"
fi
if grep -q "(EX_NOHOST)" "${TERN_SRCDIR:-.}/doc/tern.1"; then
    fail "tern.1 documents exit code 68, which no path returns"
else pass "tern.1 documents no exit code 68"; fi

# The manual pages are clean for mandoc's linter (warnings included).
if command -v mandoc >/dev/null; then
    expect_status 0 "mandoc -Tlint -Wwarning on tern.1 and mailrc.5" -- \
        mandoc -Tlint -Wwarning "${TERN_SRCDIR:-.}/doc/tern.1" "${TERN_SRCDIR:-.}/doc/mailrc.5"
    [ -s "$T/out" ] || [ -s "$T/err" ] && { fail "mandoc printed warnings"; cat "$T/out" "$T/err"; } ||
        pass "mandoc printed nothing"
else
    echo "# mandoc not installed: the manual pages are not linted"
fi

finish
