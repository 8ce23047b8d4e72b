#!/bin/sh
# Screen tests of the message commands and their rough edges: expunge in the Trash, saving
# a message and a part, links, the pager's wrapping, aliases from a sender. Effects are
# checked on disk.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

M="$T/Mail"
demo_mail "$M"
write_rc "$T/rc" "$M"
export TERN_LEARN_EVERY=3600

# Expunge in the Trash removes mail for good, so it asks first, naming the count.
start_tern -c "$T/rc"
expect_screen "[32 msgs" "INBOX is open"
keys c
typetext "Trash"
keys Enter
expect_screen "Trash 2/2  [2 msgs, 1 deleted]" "Trash is open"
keys d
keys '$'
expect_screen "Delete 2 messages for good? (y/n)" "\$ in the Trash asks, naming the count"
keys n
expect_screen "Nothing deleted." "n keeps them"
[ "$(count_files "$M/Trash/cur")" = 2 ] && pass "both files are still there" ||
    fail "both files are still there ($(count_files "$M/Trash/cur"))"
keys '$'
expect_screen "Delete 2 messages for good? (y/n)" "asked again"
keys y
expect_screen "2 messages deleted." "y deletes"
[ "$(count_files "$M/Trash/cur")" = 0 ] && pass "the files are gone" ||
    fail "the files are gone ($(count_files "$M/Trash/cur"))"
keys Q
expect_restored "Q leaves"

expect_clean_stderr
finish
