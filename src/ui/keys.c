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

struct act_def {
    const char *name;
    const char *help;
};

static const struct act_def acts[NACTIONS] = {
    [ACT_NONE] = { "none", "unbind" },
    [ACT_UP] = { "up", "previous line or message" },
    [ACT_DOWN] = { "down", "next line or message" },
    [ACT_PAGE_UP] = { "page-up", "previous page" },
    [ACT_PAGE_DOWN] = { "page-down", "next page" },
    [ACT_HALF_UP] = { "half-up", "half a page up" },
    [ACT_HALF_DOWN] = { "half-down", "half a page down" },
    [ACT_FIRST] = { "first", "first entry" },
    [ACT_LAST] = { "last", "last entry" },
    [ACT_NEXT_PANE] = { "next-pane", "cycle the focus: folders, list, pager" },
    [ACT_OPEN] = { "open", "open the folder or message" },
    [ACT_PAGE] = { "page", "scroll the pager, then the next message" },
    [ACT_QUIT] = { "quit", "close the pager or help; quit from the list" },
    [ACT_EXIT] = { "exit", "quit at once" },
    [ACT_SEARCH] = { "search", "search subjects and senders (in the pager: the text)" },
    [ACT_SEARCH_BACK] = { "search-back", "search backwards" },
    [ACT_SEARCH_NEXT] = { "search-next", "next match" },
    [ACT_SEARCH_PREV] = { "search-prev", "previous match" },
    [ACT_LIMIT] = { "limit", "show only matching messages (empty or 'all': everything)" },
    [ACT_CHANGE_FOLDER] = { "change-folder", "open another folder" },
    [ACT_THREADS] = { "threads", "toggle the thread view" },
    [ACT_SORT] = { "sort", "sort by " SORT_KEYS_HELP },
    [ACT_SORT_REVERSE] = { "sort-reverse", "reverse the sort order" },
    [ACT_TOGGLE_READ] = { "toggle-read", "mark read / unread" },
    [ACT_FLAG] = { "flag", "flag / unflag" },
    [ACT_DELETE] = { "delete", "mark for deletion" },
    [ACT_UNDELETE] = { "undelete", "remove the deletion mark" },
    [ACT_MOVE] = { "move", "move to a folder (=name); to /file or ~/file: save, mark deleted" },
    [ACT_COPY] = { "copy", "copy to a folder (=name), or save to /file or ~/file" },
    [ACT_EXPUNGE] = { "expunge", "remove the messages marked for deletion" },
    [ACT_ATTACHMENTS] = { "attachments", "list the attachments; view, pipe or save one" },
    [ACT_HEADERS] = { "headers", "toggle all headers in the pager" },
    [ACT_PIPE] = { "pipe", "pipe the message to a shell command" },
    [ACT_HELP] = { "help", "this screen" },
    [ACT_COMMAND] = { "command", "enter a named command" },
    [ACT_FETCH] = { "fetch", "fetch new mail in the background" },
    [ACT_FLUSH] = { "flush", "send the queued messages in the background" },
    [ACT_CANCEL] = { "cancel", "stop background fetch and flush" },
    [ACT_ZOOM] = { "zoom", "give the focused pane the whole screen" },
    [ACT_REDRAW] = { "redraw", "redraw the screen" },
    [ACT_URLS] = { "urls", "list the links of the message; open one" },
    [ACT_NEXT_UNREAD] = { "next-unread", "next unread message" },
    [ACT_FOLDERS] = { "folders", "focus the folder list" },
    [ACT_COMPOSE] = { "compose", "write a new message" },
    [ACT_REPLY] = { "reply", "reply to the sender" },
    [ACT_GROUP_REPLY] = { "group-reply", "reply to all recipients" },
    [ACT_LIST_REPLY] = { "list-reply", "reply to the mailing list" },
    [ACT_FORWARD] = { "forward", "forward the message" },
    [ACT_EDIT_DRAFT] = { "edit", "edit a draft or a queued message again; another as new" },
    [ACT_ALIAS] = { "alias", "add an alias for the sender to the mailrc" },
    [ACT_BOUNCE] = { "bounce", "send the message unchanged to other recipients (Resent-*)" },
    [ACT_MESSAGES] = { "messages", "the session's messages and errors" },
    [ACT_QUERY] = { "query", "look up addresses with query_command; write to one" },
    [ACT_TAG] = { "tag", "tag or untag the message" },
    [ACT_TAG_PATTERN] = { "tag-pattern", "tag the messages matching a pattern" },
    [ACT_UNTAG_PATTERN] = { "untag-pattern", "untag the messages matching a pattern" },
    [ACT_TAG_PREFIX] = { "tag-prefix", "apply the next command to the tagged messages" },
    [ACT_COLLAPSE_THREAD] = { "collapse-thread", "collapse or expand the thread" },
    [ACT_COLLAPSE_ALL] = { "collapse-all", "collapse or expand all threads" },
    [ACT_DELETE_THREAD] = { "delete-thread", "mark the thread for deletion" },
    [ACT_UNDELETE_THREAD] = { "undelete-thread", "remove the thread's deletion marks" },
    [ACT_READ_THREAD] = { "read-thread", "mark the thread read" },
    [ACT_NEXT_THREAD] = { "next-thread", "first message of the next thread" },
    [ACT_PREV_THREAD] = { "previous-thread", "first message of the previous thread" },
    [ACT_PARENT] = { "parent", "the parent of the message in its thread" },
};

const char *act_name(enum action c)
{
    return c < NACTIONS && acts[c].name ? acts[c].name : "?";
}

const char *act_help(enum action c)
{
    return c < NACTIONS && acts[c].help ? acts[c].help : "";
}

enum action act_lookup(const char *name)
{
    for (int i = 1; i < NACTIONS; i++)
        if (acts[i].name && str_casecmp(acts[i].name, name) == 0)
            return (enum action)i;
    return ACT_NONE;
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
    /* "<Esc>v" or "M-v": Esc then v. */
    if ((n > 5 && str_ncasecmp(s, "<Esc>", 5) == 0) || (n > 2 && (s[0] == 'M' || s[0] == 'm') &&
                                                       s[1] == '-')) {
        int k;

        if (ui_key_parse(s + (s[0] == '<' ? 5 : 2), &k) < 0 || KEY_IS_M(k))
            return -1;
        *key = KEYM(k);
        return 0;
    }
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
    if (KEY_IS_M(key)) {
        char k[24];

        ui_key_name(key & ~0x20000000, k, sizeof k);
        snprintf(out, n, "<Esc>%s", k);
        return;
    }
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
    enum action act;
    const char *keys;
} defaults[] = {
    { ACT_UP, "k <Up>" }, { ACT_DOWN, "j <Down>" },
    { ACT_PAGE_UP, "<PageUp> -" }, { ACT_PAGE_DOWN, "<PageDown> ^F" },
    { ACT_HALF_UP, "" }, { ACT_HALF_DOWN, "" },   /* ^U, ^D: threads, as in mutt */
    { ACT_FIRST, "<Home> =" }, { ACT_LAST, "G <End>" },
    { ACT_NEXT_PANE, "<Tab>" }, { ACT_OPEN, "<Enter> <Right>" }, { ACT_PAGE, "<Space>" },
    { ACT_QUIT, "q <Left>" }, { ACT_EXIT, "Q" },
    { ACT_SEARCH, "/" }, { ACT_SEARCH_BACK, "<Esc>/" }, { ACT_SEARCH_NEXT, "n" },
    { ACT_SEARCH_PREV, "N" },
    { ACT_LIMIT, "l" }, { ACT_CHANGE_FOLDER, "c" }, { ACT_THREADS, "#" },
    { ACT_SORT, "o" }, { ACT_SORT_REVERSE, "O" }, { ACT_TOGGLE_READ, "U" },
    { ACT_FLAG, "F" }, { ACT_DELETE, "d" }, { ACT_UNDELETE, "u" }, { ACT_MOVE, "s" },
    { ACT_COPY, "C" }, { ACT_EXPUNGE, "$" }, { ACT_ATTACHMENTS, "v" }, { ACT_HEADERS, "h" },
    { ACT_PIPE, "|" }, { ACT_HELP, "?" }, { ACT_COMMAND, ":" }, { ACT_FETCH, "i" },
    { ACT_FLUSH, "S" }, { ACT_ZOOM, "z" }, { ACT_REDRAW, "^L" }, { ACT_URLS, "^B" },
    { ACT_FOLDERS, "y" },
    { ACT_COMPOSE, "m" }, { ACT_REPLY, "r" }, { ACT_GROUP_REPLY, "g" }, { ACT_LIST_REPLY, "L" },
    { ACT_FORWARD, "f" },
    { ACT_EDIT_DRAFT, "e" }, { ACT_ALIAS, "a" }, { ACT_BOUNCE, "b" }, { ACT_MESSAGES, "M" },
    { ACT_QUERY, "<Esc>q" },
    { ACT_TAG, "t" }, { ACT_TAG_PATTERN, "T" }, { ACT_UNTAG_PATTERN, "^T" },
    { ACT_TAG_PREFIX, ";" }, { ACT_COLLAPSE_THREAD, "<Esc>v" }, { ACT_COLLAPSE_ALL, "<Esc>V" },
    { ACT_DELETE_THREAD, "^D" }, { ACT_UNDELETE_THREAD, "^U" }, { ACT_READ_THREAD, "^R" },
    { ACT_NEXT_THREAD, "^N" }, { ACT_PREV_THREAD, "^P" }, { ACT_PARENT, "P" },
};

void keymap_bind(struct keymap *km, int key, enum action act)
{
    for (size_t i = 0; i < km->n; i++)
        if (km->b[i].key == key) {
            km->b[i].act = act;
            return;
        }
    km->b = xreallocarray(km->b, km->n + 1, sizeof *km->b);
    km->b[km->n].key = key;
    km->b[km->n].act = act;
    km->n++;
}

/* Bind every space-separated key in list; returns the first word that is no key, or NULL. */
static const char *bind_list(struct keymap *km, const char *list, enum action act, char *bad,
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
                keymap_bind(km, key, act);
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
        (void)bind_list(km, defaults[i].keys, defaults[i].act, bad, sizeof bad);
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
        enum action c = act_lookup(p[i].name);
        char bad[64];
        const char *b;

        if (c == ACT_NONE) {
            buf_printf(warn, "line %d: [keys] has no command '%s' (see ? in tern)\n",
                       p[i].line, p[i].name);
            continue;
        }
        if (str_casecmp(p[i].value, "none") == 0 || p[i].value[0] == '\0') {
            for (size_t j = 0; j < km->n; j++)
                if (km->b[j].act == c)
                    km->b[j].act = ACT_NONE;
            continue;
        }
        /* The user's list replaces the defaults of that command. */
        for (size_t j = 0; j < km->n; j++)
            if (km->b[j].act == c)
                km->b[j].act = ACT_NONE;
        b = bind_list(km, p[i].value, c, bad, sizeof bad);
        if (b != NULL)
            buf_printf(warn, "line %d: [keys] %s: '%s' is no key name\n", p[i].line,
                       p[i].name, b);
    }
}

enum action keymap_lookup(const struct keymap *km, int key)
{
    for (size_t i = 0; i < km->n; i++)
        if (km->b[i].key == key)
            return km->b[i].act;
    return ACT_NONE;
}

void keymap_keys_of(const struct keymap *km, enum action act, struct buf *out)
{
    for (size_t i = 0; i < km->n; i++)
        if (km->b[i].act == act) {
            char nm[32];

            ui_key_name(km->b[i].key, nm, sizeof nm);
            if (out->len > 0)
                buf_addc(out, ' ');
            buf_adds(out, nm);
        }
}
