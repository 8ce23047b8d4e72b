/* The key table: commands with names and help lines, mutt/vi default bindings, key names for
 * [keys] and the help screen. The table is the only truth: `?` is drawn from it. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/str.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

struct cmd_def {
    const char *name;
    const char *help;
};

static const struct cmd_def cmds[NCMDS] = {
    [CMD_NONE] = { "none", "unbind" },
    [CMD_UP] = { "up", "previous line or message" },
    [CMD_DOWN] = { "down", "next line or message" },
    [CMD_PAGE_UP] = { "page-up", "previous page" },
    [CMD_PAGE_DOWN] = { "page-down", "next page" },
    [CMD_HALF_UP] = { "half-up", "half a page up" },
    [CMD_HALF_DOWN] = { "half-down", "half a page down" },
    [CMD_FIRST] = { "first", "first entry" },
    [CMD_LAST] = { "last", "last entry" },
    [CMD_NEXT_PANE] = { "next-pane", "cycle the focus: folders, list, pager" },
    [CMD_OPEN] = { "open", "open the folder or message" },
    [CMD_PAGE] = { "page", "scroll the pager, then the next message" },
    [CMD_QUIT] = { "quit", "close the pager or help; quit from the list" },
    [CMD_EXIT] = { "exit", "quit at once" },
    [CMD_SEARCH] = { "search", "search subjects and senders (in the pager: the text)" },
    [CMD_SEARCH_BACK] = { "search-back", "search backwards" },
    [CMD_SEARCH_NEXT] = { "search-next", "next match" },
    [CMD_SEARCH_PREV] = { "search-prev", "previous match" },
    [CMD_LIMIT] = { "limit", "show only matching messages (empty or 'all': everything)" },
    [CMD_CHANGE_FOLDER] = { "change-folder", "open another folder" },
    [CMD_THREADS] = { "threads", "toggle the thread view" },
    [CMD_SORT] = { "sort", "sort by (d)ate (f)rom (s)ubject si(z)e (o)rder on disk" },
    [CMD_SORT_REVERSE] = { "sort-reverse", "reverse the sort order" },
    [CMD_TOGGLE_READ] = { "toggle-read", "mark read / unread" },
    [CMD_FLAG] = { "flag", "flag / unflag" },
    [CMD_DELETE] = { "delete", "mark for deletion" },
    [CMD_UNDELETE] = { "undelete", "remove the deletion mark" },
    [CMD_MOVE] = { "move", "move to a folder" },
    [CMD_COPY] = { "copy", "copy to a folder" },
    [CMD_EXPUNGE] = { "expunge", "remove the messages marked for deletion" },
    [CMD_ATTACHMENTS] = { "attachments", "list the attachments; view or save one" },
    [CMD_HEADERS] = { "headers", "toggle all headers in the pager" },
    [CMD_PIPE] = { "pipe", "pipe the message to a shell command" },
    [CMD_HELP] = { "help", "this screen" },
    [CMD_COMMAND] = { "command", "enter a named command" },
    [CMD_FETCH] = { "fetch", "fetch new mail in the background" },
    [CMD_FLUSH] = { "flush", "send the queued messages in the background" },
    [CMD_CANCEL] = { "cancel", "stop background fetch and flush" },
    [CMD_ZOOM] = { "zoom", "give the focused pane the whole screen" },
    [CMD_REDRAW] = { "redraw", "redraw the screen" },
    [CMD_URLS] = { "urls", "list the links of the message; open one" },
    [CMD_NEXT_UNREAD] = { "next-unread", "next unread message" },
    [CMD_FOLDERS] = { "folders", "focus the folder list" },
    [CMD_COMPOSE] = { "compose", "write a new message" },
    [CMD_REPLY] = { "reply", "reply to the sender" },
    [CMD_GROUP_REPLY] = { "group-reply", "reply to all recipients" },
    [CMD_LIST_REPLY] = { "list-reply", "reply to the mailing list" },
    [CMD_FORWARD] = { "forward", "forward the message" },
    [CMD_EDIT_DRAFT] = { "edit", "edit a draft or a queued message again" },
};

const char *cmd_name(enum cmd c)
{
    return c < NCMDS && cmds[c].name ? cmds[c].name : "?";
}

const char *cmd_help(enum cmd c)
{
    return c < NCMDS && cmds[c].help ? cmds[c].help : "";
}

enum cmd cmd_lookup(const char *name)
{
    for (int i = 1; i < NCMDS; i++)
        if (cmds[i].name && str_casecmp(cmds[i].name, name) == 0)
            return (enum cmd)i;
    return CMD_NONE;
}

struct named_key {
    const char *name;
    int key;
};

/* First name wins when printing. */
static const struct named_key named[] = {
    { "Up", KEYF(KEY_UP) }, { "Down", KEYF(KEY_DOWN) }, { "Left", KEYF(KEY_LEFT) },
    { "Right", KEYF(KEY_RIGHT) }, { "PageUp", KEYF(KEY_PPAGE) }, { "PgUp", KEYF(KEY_PPAGE) },
    { "PageDown", KEYF(KEY_NPAGE) }, { "PgDn", KEYF(KEY_NPAGE) }, { "Home", KEYF(KEY_HOME) },
    { "End", KEYF(KEY_END) }, { "Enter", '\r' }, { "Return", '\r' }, { "Tab", '\t' },
    { "BackTab", KEYF(KEY_BTAB) }, { "Space", ' ' }, { "Esc", 27 }, { "Escape", 27 },
    { "Backspace", KEYF(KEY_BACKSPACE) }, { "Delete", KEYF(KEY_DC) }, { "Del", KEYF(KEY_DC) },
    { "Insert", KEYF(KEY_IC) },
};

int ui_key_parse(const char *s, int *key)
{
    char tmp[32];
    size_t n = strlen(s);

    if (n == 0)
        return -1;
    if (s[0] == '<' && n > 2 && s[n - 1] == '>' && n - 2 < sizeof tmp) {
        memcpy(tmp, s + 1, n - 2);
        tmp[n - 2] = '\0';
        s = tmp;
        n -= 2;
    }
    if (n == 2 && s[0] == '^') {
        if (s[1] == '?') {
            *key = 127;
            return 0;
        }
        if ((s[1] >= '@' && s[1] <= '_') || (s[1] >= 'a' && s[1] <= 'z')) {
            *key = toupper((unsigned char)s[1]) & 0x1f;
            return 0;
        }
        return -1;
    }
    if (n == 3 && (s[0] == 'C' || s[0] == 'c') && s[1] == '-' && isalpha((unsigned char)s[2])) {
        *key = toupper((unsigned char)s[2]) & 0x1f;
        return 0;
    }
    {
        size_t len = utf8_seqlen((const unsigned char *)s, n);

        if (len == n) {
            unsigned cp = utf8_decode((const unsigned char *)s, len);

            if (cp < 32 || cp == 127)
                return -1;
            *key = (int)cp;
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (str_casecmp(named[i].name, s) == 0) {
            *key = named[i].key;
            return 0;
        }
    if ((s[0] == 'F' || s[0] == 'f') && n <= 3) {
        long f;

        if (str_tolong(s + 1, 1, 24, &f) == 0) {
            *key = KEYF(KEY_F((int)f));
            return 0;
        }
    }
    return -1;
}

void ui_key_name(int key, char *out, size_t n)
{
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (named[i].key == key) {
            snprintf(out, n, "<%s>", named[i].name);
            return;
        }
    if (KEY_IS_F(key)) {
        int k = key & ~0x40000000;

        if (k >= KEY_F(1) && k <= KEY_F(24))
            snprintf(out, n, "<F%d>", k - KEY_F0);
        else
            snprintf(out, n, "<key%d>", k);
        return;
    }
    if (key == 127) {
        snprintf(out, n, "^?");
    } else if (key >= 0 && key < 32) {
        snprintf(out, n, "^%c", key + '@');
    } else if (key > 0 && key < 0x110000) {
        char u[5];
        size_t l = utf8_encode((unsigned)key, u);

        u[l] = '\0';
        snprintf(out, n, "%s", u);
    } else {
        snprintf(out, n, "<%d>", key);
    }
}

static const struct {
    enum cmd cmd;
    const char *keys;
} defaults[] = {
    { CMD_UP, "k <Up>" }, { CMD_DOWN, "j <Down>" },
    { CMD_PAGE_UP, "<PageUp> -" }, { CMD_PAGE_DOWN, "<PageDown> ^F" },
    { CMD_HALF_UP, "^U" }, { CMD_HALF_DOWN, "^D" },
    { CMD_FIRST, "<Home> =" }, { CMD_LAST, "G <End>" },
    { CMD_NEXT_PANE, "<Tab>" }, { CMD_OPEN, "<Enter> <Right>" }, { CMD_PAGE, "<Space>" },
    { CMD_QUIT, "q <Left>" }, { CMD_EXIT, "Q" },
    { CMD_SEARCH, "/" }, { CMD_SEARCH_NEXT, "n" }, { CMD_SEARCH_PREV, "N" },
    { CMD_LIMIT, "l" }, { CMD_CHANGE_FOLDER, "c" }, { CMD_THREADS, "t" },
    { CMD_SORT, "o" }, { CMD_SORT_REVERSE, "O" }, { CMD_TOGGLE_READ, "U" },
    { CMD_FLAG, "F" }, { CMD_DELETE, "d" }, { CMD_UNDELETE, "u" }, { CMD_MOVE, "s" },
    { CMD_COPY, "C" }, { CMD_EXPUNGE, "$" }, { CMD_ATTACHMENTS, "v" }, { CMD_HEADERS, "h" },
    { CMD_PIPE, "|" }, { CMD_HELP, "?" }, { CMD_COMMAND, ":" }, { CMD_FETCH, "i" },
    { CMD_FLUSH, "S" }, { CMD_ZOOM, "z" }, { CMD_REDRAW, "^L" }, { CMD_URLS, "^B" },
    { CMD_FOLDERS, "y" },
    { CMD_COMPOSE, "m" }, { CMD_REPLY, "r" }, { CMD_GROUP_REPLY, "g" }, { CMD_LIST_REPLY, "L" },
    { CMD_FORWARD, "f" },
    { CMD_EDIT_DRAFT, "e" },
};

void keymap_bind(struct keymap *km, int key, enum cmd cmd)
{
    for (size_t i = 0; i < km->n; i++)
        if (km->b[i].key == key) {
            km->b[i].cmd = cmd;
            return;
        }
    km->b = xreallocarray(km->b, km->n + 1, sizeof *km->b);
    km->b[km->n].key = key;
    km->b[km->n].cmd = cmd;
    km->n++;
}

/* Bind every space-separated key in list; returns the first word that is no key, or NULL. */
static const char *bind_list(struct keymap *km, const char *list, enum cmd cmd, char *bad,
                             size_t badsz)
{
    const char *p = list;
    const char *ret = NULL;

    while (*p) {
        char w[64];
        size_t n;
        int key;

        while (*p == ' ' || *p == '\t')
            p++;
        n = strcspn(p, " \t");
        if (n == 0)
            break;
        if (n < sizeof w) {
            memcpy(w, p, n);
            w[n] = '\0';
            if (ui_key_parse(w, &key) == 0)
                keymap_bind(km, key, cmd);
            else if (ret == NULL)
                ret = bad, snprintf(bad, badsz, "%s", w);
        } else if (ret == NULL) {
            ret = bad, snprintf(bad, badsz, "%.20s...", p);
        }
        p += n;
    }
    return ret;
}

void keymap_defaults(struct keymap *km)
{
    char bad[64];

    km->b = NULL;
    km->n = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        (void)bind_list(km, defaults[i].keys, defaults[i].cmd, bad, sizeof bad);
}

void keymap_free(struct keymap *km)
{
    free(km->b);
    km->b = NULL;
    km->n = 0;
}

void keymap_apply(struct keymap *km, const struct config_pair *p, size_t n, struct buf *warn)
{
    for (size_t i = 0; i < n; i++) {
        enum cmd c = cmd_lookup(p[i].name);
        char bad[64];
        const char *b;

        if (c == CMD_NONE) {
            buf_printf(warn, "line %d: [keys] has no command '%s' (see ? in tern)\n",
                       p[i].line, p[i].name);
            continue;
        }
        if (str_casecmp(p[i].value, "none") == 0 || p[i].value[0] == '\0') {
            for (size_t j = 0; j < km->n; j++)
                if (km->b[j].cmd == c)
                    km->b[j].cmd = CMD_NONE;
            continue;
        }
        /* The user's list replaces the defaults of that command. */
        for (size_t j = 0; j < km->n; j++)
            if (km->b[j].cmd == c)
                km->b[j].cmd = CMD_NONE;
        b = bind_list(km, p[i].value, c, bad, sizeof bad);
        if (b != NULL)
            buf_printf(warn, "line %d: [keys] %s: '%s' is no key name\n", p[i].line,
                       p[i].name, b);
    }
}

enum cmd keymap_lookup(const struct keymap *km, int key)
{
    for (size_t i = 0; i < km->n; i++)
        if (km->b[i].key == key)
            return km->b[i].cmd;
    return CMD_NONE;
}

void keymap_keys_of(const struct keymap *km, enum cmd cmd, struct buf *out)
{
    for (size_t i = 0; i < km->n; i++)
        if (km->b[i].cmd == cmd) {
            char nm[32];

            ui_key_name(km->b[i].key, nm, sizeof nm);
            if (out->len > 0)
                buf_addc(out, ' ');
            buf_adds(out, nm);
        }
}
