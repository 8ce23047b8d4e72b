#!/bin/sh
# The layering and export checks pass on this tree, and fail when an upward include, curses
# outside the client, an unlisted header or an export nobody calls is planted in a scratch copy.
set -eu
src=${TERN_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

sh "$src/scripts/check-layering" "$src" || fail "check-layering fails on the clean tree"
sh "$src/scripts/check-exports" "$src" || fail "check-exports fails on the clean tree"

# A fresh scratch copy, the planted line, and the check that must now fail with its message.
plant() {    # FILE LINE EXPECTED-WORDS [check script]
    rm -rf "$tmp/t"
    mkdir -p "$tmp/t"
    cp -R "$src/src" "$src/include" "$src/scripts" "$src/tests" "$tmp/t/"
    [ -d "$src/bench" ] && cp -R "$src/bench" "$tmp/t/"
    chmod -R u+w "$tmp/t"     # a distcheck tree is read-only
    printf '%s\n' "$2" >>"$tmp/t/$1"
    if out=$(sh "$tmp/t/scripts/${4:-check-layering}" "$tmp/t" 2>&1); then
        fail "planted '$2' in $1 and ${4:-check-layering} still passes"
    fi
    case $out in
    *"$3"*) ;;
    *) fail "planted '$2' in $1: expected '$3' in: $out" ;;
    esac
}
plant src/util/buf.c '#include "tern/ui.h"' 'src/util/buf.c (util) includes tern/ui.h (ui)'
plant src/util/str.c '#include "tern/cmd.h"' 'src/util/str.c (util) includes tern/cmd.h (cmd)'
for f in "$src"/src/store/*.c; do
    b=src/store/$(basename "$f")
    plant "$b" '#include "tern/ui.h"' "$b (store) includes tern/ui.h (ui)"
done
plant src/store/maildir.c '#include "tern/cmd.h"' 'includes tern/cmd.h (cmd), a higher layer'
plant src/store/index.c '#include "../ui/ui.h"' 'src/store/index.c (store) includes ../ui/ui.h'
plant src/util/buf.c '#include <curses.h>' 'src/util/buf.c includes curses'
plant src/util/log.c '#include <ncursesw/curses.h>' 'src/util/log.c includes curses'
plant src/mail/render.c '#include "tcurses.h"' 'src/mail/render.c includes curses'
plant include/tern/buf.h '#include "tern/maildir.h"' \
    'include/tern/buf.h (util) includes tern/maildir.h (store)'
plant include/tern/maildir.h '#include <curses.h>' 'include/tern/maildir.h includes curses'
plant include/tern/zzz_new.h '/* a header without a line in the table */' \
    'include/tern/zzz_new.h: no line in scripts/layers'
plant include/tern/buf.h 'int buf_never_called(void);' \
    'buf_never_called is declared in include/tern but never called' check-exports
echo "layering: planted includes and exports are caught"
