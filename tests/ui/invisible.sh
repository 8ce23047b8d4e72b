#!/bin/sh
# Screen test (issue 14, item 3): bidi controls and invisible format characters in folder
# names and mail text are drawn as <U+XXXX>, never sent raw to the terminal (where they would
# reorder or hide text; curses takes width-0 characters for combining marks).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib.sh"

M="$T/Mail"
rlo=$(printf '\342\200\256')     # U+202E RIGHT-TO-LEFT OVERRIDE
lri=$(printf '\342\201\246')     # U+2066 LEFT-TO-RIGHT ISOLATE
zws=$(printf '\342\200\213')     # U+200B ZERO WIDTH SPACE
rlm=$(printf '\342\200\217')     # U+200F RIGHT-TO-LEFT MARK
for f in INBOX "Bills${rlo}fdp.exe"; do mkdir -p "$M/$f/cur" "$M/$f/new" "$M/$f/tmp"; done
printf 'From: Payroll%s <pay@x.example>\nSubject: Pay %snow%s please\nDate: Tue, 01 Dec 2026 10:00:00 +0000\n\nbody\n' \
    "$rlm" "$lri" "$zws" >"$M/INBOX/cur/1.A.host:2,S"
write_rc "$T/rc" "$M"

start_tern -c "$T/rc"
expect_screen "Bills<U+202E>fdp.exe" "a folder name's RLO is shown as <U+202E>"
expect_screen "Pay <U+2066>now<U+200B> please" "isolate and zero width space shown in the list"
expect_screen "Payroll<U+200F>" "a right-to-left mark shown in the sender"
if screen | grep -q -e "$rlo" -e "$lri" -e "$zws" -e "$rlm"; then
    fail "an invisible character reached the screen raw"
else
    pass "no invisible character on the screen"
fi
keys q
expect_screen "EXITED:0" "quits"
finish
