/* Width-correct text output: CJK, combining marks and emoji take the columns the terminal
 * gives them, controls and broken UTF-8 become '?', nothing spills into the next pane. */
#include "config.h"

#include <stdio.h>
#include <wchar.h>

#include "tern/str.h"
#include "tcurses.h"
#include "ui.h"

/* Bidi controls, zero-width and tag characters are drawn as "<U+XXXX>": curses would
 * otherwise take them for combining marks and send them raw, where they reorder or hide
 * text (a folder name with U+202E). */
static int invisible_cols(unsigned cp)
{
    return cp > 0xffff ? 9 : 8;
}

/* Columns of one character; controls and invalid bytes show as one '?', invisible format
 * characters as their code (invisible_cols). */
static int char_cols(const unsigned char *p, size_t n, size_t *len, unsigned *cp)
{
    size_t l = utf8_seqlen(p, n);
    int w;

    if (l == 0) {
        *len = 1;
        *cp = '?';
        return 1;
    }
    *len = l;
    *cp = utf8_decode(p, l);
    if (*cp < 32 || (*cp >= 0x7f && *cp < 0xa0)) {
        *cp = '?';
        return 1;
    }
    if (str_invisible(*cp))
        return invisible_cols(*cp);
    w = wcwidth((wchar_t)*cp);
    if (w < 0) {
        *cp = '?';
        return 1;
    }
    return w;
}

size_t ui_clip(const char *s, size_t n, int cols, int *used)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t off = 0;
    int c = 0;

    while (off < n) {
        size_t len;
        unsigned cp;
        int w = char_cols(p + off, n - off, &len, &cp);

        if (c + w > cols)
            break;
        c += w;
        off += len;
    }
    if (used)
        *used = c;
    return off;
}

size_t ui_wrap(const char *s, size_t n, int cols)
{
    size_t take = ui_clip(s, n, cols, NULL);

    if (take == 0 && n > 0) {           /* one character wider than the pane */
        size_t l = utf8_seqlen((const unsigned char *)s, n);

        return l ? l : 1;
    }
    if (take == n)
        return take;
    if (s[take] == ' ')                 /* the space goes with this line, clipped */
        return take + 1;
    /* Break after the last space that fits, as mutt's smart_wrap; a word longer than the
     * line is still broken inside. */
    for (size_t i = take; i > 0; i--)
        if (s[i - 1] == ' ')
            return i;
    return take;
}

int ui_put(int y, int x, const char *s, size_t n, int cols, unsigned attr, bool pad)
{
    const unsigned char *p = (const unsigned char *)s;
    wchar_t wbuf[CCHARW_MAX + 1];
    size_t off = 0;
    int c = 0;

    if (cols <= 0)
        return 0;
    move(y, x);
    attrset(attr);
    while (off < n) {
        size_t len;
        unsigned cp;
        int w = char_cols(p + off, n - off, &len, &cp);
        int nw = 0;
        cchar_t cc;

        if (str_invisible(cp) && cp >= 0xa0) {
            char vis[16];

            if (c + w > cols)
                break;
            snprintf(vis, sizeof vis, "<U+%04X>", cp);
            for (int k = 0; k < w; k++)
                addch((chtype)(unsigned char)vis[k]);
            c += w;
            off += len;
            continue;
        }
        if (w == 0) {           /* a stray combining mark with no base: skip it */
            off += len;
            continue;
        }
        if (c + w > cols)
            break;
        wbuf[nw++] = (wchar_t)cp;
        off += len;
        /* Attach the zero-width marks that follow to this cell. */
        while (off < n) {
            size_t l2;
            unsigned cp2;
            int w2 = char_cols(p + off, n - off, &l2, &cp2);

            if (w2 != 0)
                break;
            if (nw < CCHARW_MAX)
                wbuf[nw++] = (wchar_t)cp2;
            off += l2;
        }
        wbuf[nw] = L'\0';
        if (setcchar(&cc, wbuf, (attr_t)(attr & ~A_COLOR), (short)PAIR_NUMBER(attr), NULL) == OK)
            add_wch(&cc);
        else
            addch('?');
        c += w;
    }
    if (pad)
        for (; c < cols; c++)
            addch(' ');
    attrset(A_NORMAL);
    return c;
}

void ui_fill(int y, int x, int cols, unsigned attr)
{
    if (cols <= 0)
        return;
    move(y, x);
    attrset(attr);
    for (int i = 0; i < cols; i++)
        addch(' ');
    attrset(A_NORMAL);
}
