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
export HOME="$T/home"
mkdir -p "$HOME"

start_tern -c "$T/rc"
expect_screen "[32 msgs" "INBOX is open"

# A part saved to a directory lands as DIR/NAME; ~ is the home directory.
mkdir -p "$T/home/att" "$T/dir"
keys /
typetext "Crew list"
keys Enter Enter
expect_screen "crew.csv" "the pager lists the attachment"
keys v
expect_screen "Parts: [1] text/plain" "v lists the parts"
typetext "s 2 $T/dir"
keys Enter
expect_screen "Saved part 2 to $T/dir/crew.csv" "a directory target saves DIR/NAME"
[ -s "$T/dir/crew.csv" ] && pass "the part is in the directory" ||
    fail "the part is in the directory"
keys v
typetext "s 2 ~/att"
keys Enter
expect_screen "Saved part 2 to $T/home/att/crew.csv" "~ is expanded"
cmp -s "$T/dir/crew.csv" "$T/home/att/crew.csv" && pass "the same part under ~" ||
    fail "the same part under ~"
keys q

# Expunge in the Trash removes mail for good, so it asks first, naming the count.
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
