#!/bin/sh
# tern show end to end: renderings, --raw, --headers=all, --part N [-o FILE|DIR], errors.
. "$(dirname "$0")/lib.sh"
D=${TERN_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/data/mail
export TZ=UTC LC_ALL=C.UTF-8

for m in simple alternative html-only attachments rfc822 controls koi8 broken-headers; do
    expect_status 0 "show $m" -- "$TERN" show "$D/$m.eml"
    if cmp -s "$T/out" "$D/$m.out"; then pass "$m renders as expected"; else
        fail "$m renders differently"; diff "$D/$m.out" "$T/out" | head -n 10; fi
done

expect_status 0 "show two messages" -- "$TERN" show "$D/simple.eml" "$D/alternative.eml"
expect_in "$T/out" "The plain version." "second message shown"
expect_in "$T/out" "Hello Bob," "first message shown"

expect_status 0 "--raw" -- "$TERN" show --raw "$D/controls.eml"
if cmp -s "$T/out" "$D/controls.eml"; then pass "--raw is the source bytes"; else fail "--raw differs"; fi

expect_status 0 "--headers=all" -- "$TERN" show --headers=all "$D/simple.eml"
expect_in "$T/out" "Return-Path: <alice@example.org>" "all headers shown"
expect_in "$T/out" "Message-ID: <simple-1@example.org>" "message id shown"

# Nothing that could drive a terminal gets through.
"$TERN" show "$D/controls.eml" >"$T/ctl"
if LC_ALL=C grep -q "$(printf '\033')" "$T/ctl"; then fail "ESC in output"; else pass "no ESC in output"; fi
if LC_ALL=C grep -q "$(printf '\007')" "$T/ctl"; then fail "BEL in output"; else pass "no BEL in output"; fi
expect_in "$T/ctl" "^[[2J" "escape shown visibly"

# Saving parts.
expect_status 0 "--part 2 -o FILE" -- "$TERN" show --part 2 -o "$T/report.pdf" "$D/attachments.eml"
size=$(wc -c <"$T/report.pdf" | tr -d ' ')
[ "$size" = 1024 ] && pass "decoded size 1024" || fail "decoded size $size"
python3 - "$T/report.pdf" <<'PY' && pass "decoded bytes exact" || fail "decoded bytes differ"
import sys
sys.exit(0 if open(sys.argv[1], 'rb').read() == bytes(range(256)) * 4 else 1)
PY
echo keep >"$T/exists"
expect_status 73 "refuses to overwrite" -- "$TERN" show --part 2 -o "$T/exists" "$D/attachments.eml"
expect_in "$T/err" "already exists" "says why"
expect_in "$T/exists" "keep" "existing file untouched"

mkdir -p "$T/dir/sub"
expect_status 0 "--part 3 -o DIR" -- "$TERN" show --part 3 -o "$T/dir/sub" "$D/attachments.eml"
[ -f "$T/dir/sub/passwd" ] && pass "path stripped from ../../etc/passwd" || fail "no $T/dir/sub/passwd"
[ ! -e "$T/dir/etc" ] && [ ! -e "$T/etc" ] && pass "nothing written outside DIR" || fail "escaped DIR"
expect_status 0 "--part 2 -o DIR (RFC 2231 name)" -- "$TERN" show --part 2 -o "$T/dir" "$D/attachments.eml"
[ -f "$T/dir/€ rates.pdf" ] && pass "RFC 2231 file name used" || { fail "RFC 2231 name"; ls "$T/dir"; }

expect_status 0 "--part 4 to a pipe" -- "$TERN" show --part 4 "$D/attachments.eml"
expect_in "$T/out" "attached text, not inline" "part text printed"
expect_status 65 "--part out of range" -- "$TERN" show --part 9 "$D/attachments.eml"
expect_in "$T/err" "no part 9" "names the part"

# Errors.
expect_status 66 "missing file" -- "$TERN" show "$T/nope.eml"
expect_in "$T/err" "nope.eml: No such file or directory" "clear message for a missing file"
expect_status 66 "directory" -- "$TERN" show "$T/dir"
expect_in "$T/err" "is a directory" "clear message for a directory"
expect_status 2 "unknown option" -- "$TERN" show --bogus "$D/simple.eml"
expect_status 2 "no path" -- "$TERN" show
expect_status 2 "-o without --part" -- "$TERN" show -o "$T/x" "$D/simple.eml"
expect_status 2 "bad part number" -- "$TERN" show --part x "$D/simple.eml"
: >"$T/empty.eml"
expect_status 0 "empty file" -- "$TERN" show "$T/empty.eml"

# Saved parts are private like the client's saves, whatever the umask (issue 14, item 10).
(umask 022; "$TERN" show --part 2 -o "$T/private.pdf" "$D/attachments.eml" 2>/dev/null)
[ "$(stat -c %a "$T/private.pdf")" = 600 ] && pass "--part -o file is 0600 under umask 022" ||
    fail "--part -o file is $(stat -c %a "$T/private.pdf")"

# A message truncated in place while tern show reads it (issue 14, item 6): never SIGBUS.
# The writer truncates and refills the file as fast as it can while show runs again and
# again; any status is fine (the text may be cut) except death by a signal.
python3 -c 'import sys; sys.stdout.write("Subject: big\n\n" + ("x y " * 19 + "\n") * 30000)' \
    >"$T/big.orig"
cp "$T/big.orig" "$T/big.eml"
( for _ in $(seq 100); do : >"$T/big.eml"; sleep 0.02; cat "$T/big.orig" >>"$T/big.eml";
  sleep 0.02; done; : >"$T/writer.done" ) &
died=0; runs=0
while [ ! -e "$T/writer.done" ] || [ "$runs" = 0 ]; do
    st=0; "$TERN" show "$T/big.eml" >/dev/null 2>"$T/show.err" || st=$?
    runs=$((runs + 1))
    [ "$st" -ge 128 ] && died=$st
done
wait
[ "$died" = 0 ] && pass "show survived $runs reads of a file truncated under it" ||
    fail "show died with status $died while the file was truncated"
# The same, deterministic: a shim truncates each file right after it is mapped.
if ${CC:-cc} -shared -fPIC -o "$T/truncmap.so" "${TERN_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/truncmap.c" \
    -ldl 2>"$T/cc.err"; then
    cp "$T/big.orig" "$T/big.eml"
    st=0
    LD_PRELOAD="$T/truncmap.so" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        "$TERN" show "$T/big.eml" >"$T/out" 2>"$T/err" || st=$?
    # (under ASan a SIGBUS is reported and turned into status 1)
    if [ "$st" = 0 ] && ! grep -q -e Sanitizer -e SIGBUS "$T/err"; then
        pass "show of a file truncated as soon as it is mapped: no SIGBUS"
    else
        fail "show died (status $st) when the file was truncated after mapping: $(head -3 "$T/err")"
    fi
else
    fail "cannot build the truncmap shim: $(cat "$T/cc.err")"
fi

# mailx ignore/retain lines in ~/.mailrc weed the header block.
printf 'ignore Return-Path MIME-Version \\\n  Content-Type\nunignore content-type\n' \
    >"$HOME/.mailrc"
expect_status 0 "show with an ignore list" -- "$TERN" show "$D/simple.eml"
expect_in "$T/out" "Message-ID: <simple-1@example.org>" "ignore shows the fields not ignored"
expect_in "$T/out" "Content-Type: text/plain" "unignore takes a field off the list"
expect_not_in "$T/out" "Return-Path" "an ignored field is hidden"
expect_not_in "$T/out" "MIME-Version" "an ignored field on a continued line is hidden"
expect_in "$T/out" "Subject: Café au lait and more" "fields are still decoded"
printf 'retain subject From\n' >"$HOME/.mailrc"
expect_status 0 "show with a retain list" -- "$TERN" show "$D/simple.eml"
expect_in "$T/out" "From: Alice Liévre <alice@example.org>" "a retained field is shown"
expect_not_in "$T/out" "Date:" "retain hides what it does not name"
expect_not_in "$T/out" "To:" "retain hides To"
expect_status 0 "--headers=all overrides retain" -- "$TERN" show --headers=all "$D/simple.eml"
expect_in "$T/out" "Return-Path:" "--headers=all shows everything"
rm -f "$HOME/.mailrc"

finish
