/* The prompt line's editor as a pure function over a buffer and a cursor (UTF-8 aware), so
 * the Check suite can drive it without a terminal. */
#include "config.h"

#include <string.h>

#include "tern/str.h"
#include "tcurses.h"
#include "ui.h"

/* Start of the UTF-8 character before byte offset cur. */
static size_t prev_char(const struct buf *t, size_t cur)
{
    if (cur == 0)
        return 0;
    cur--;
    while (cur > 0 && ((unsigned char)t->ptr[cur] & 0xc0) == 0x80)
        cur--;
    return cur;
}

static size_t next_char(const struct buf *t, size_t cur)
{
    size_t l;

    if (cur >= t->len)
        return t->len;
    l = utf8_seqlen((const unsigned char *)t->ptr + cur, t->len - cur);
    return cur + (l ? l : 1);
}

static void erase_range(struct buf *t, size_t from, size_t to)
{
    memmove(t->ptr + from, t->ptr + to, t->len - to);
    buf_truncate(t, t->len - (to - from));
}

int prompt_edit(struct buf *t, size_t *cur, int key)
{
    size_t p;

    buf_cstr(t);
    switch (key) {
    case '\r':
        return 1;
    case 27:
    case 7:                                   /* Esc, ^G */
        return -1;
    case KEYF(KEY_BACKSPACE):
    case 8:
    case 127:
        if (*cur == 0 && t->len == 0)
            return -1;                        /* backspace on empty: leave, like mutt */
        p = prev_char(t, *cur);
        erase_range(t, p, *cur);
        *cur = p;
        return 0;
    case KEYF(KEY_DC):
    case 4:                                   /* Delete, ^D */
        erase_range(t, *cur, next_char(t, *cur));
        return 0;
    case KEYF(KEY_LEFT):
    case 2:
        *cur = prev_char(t, *cur);
        return 0;
    case KEYF(KEY_RIGHT):
    case 6:
        *cur = next_char(t, *cur);
        return 0;
    case KEYF(KEY_HOME):
    case 1:
        *cur = 0;
        return 0;
    case KEYF(KEY_END):
    case 5:
        *cur = t->len;
        return 0;
    case 21:                                  /* ^U: everything before the cursor */
        erase_range(t, 0, *cur);
        *cur = 0;
        return 0;
    case 11:                                  /* ^K: everything after */
        buf_truncate(t, *cur);
        return 0;
    case 23:                                  /* ^W: the word before the cursor */
        p = *cur;
        while (p > 0 && t->ptr[p - 1] == ' ')
            p--;
        while (p > 0 && t->ptr[p - 1] != ' ')
            p--;
        erase_range(t, p, *cur);
        *cur = p;
        return 0;
    default:
        break;
    }
    if (!KEY_IS_F(key) && key >= 32 && key != 127 && key < 0x110000) {
        char u[4];
        size_t l = utf8_encode((unsigned)key, u);
        size_t tail = t->len - *cur;

        buf_reserve(t, l);
        buf_add(t, u, l);                     /* grow, then shift the tail right */
        memmove(t->ptr + *cur + l, t->ptr + *cur, tail);
        memcpy(t->ptr + *cur, u, l);
        *cur += l;
    }
    return 0;
}

