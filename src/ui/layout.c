/* Pane geometry: folders on the left, the message list over the pager on the right, the status
 * and prompt lines at the bottom. Pure arithmetic, so any size (even 1x1) is handled here. */
#include "config.h"

#include <string.h>

#include "ui.h"

static struct rect mk(int y, int x, int h, int w)
{
    struct rect r = { y, x, h > 0 ? h : 0, w > 0 ? w : 0 };

    if (r.h == 0 || r.w == 0)
        r.h = r.w = 0;
    return r;
}

void layout_compute(int rows, int cols, int folder_w, bool pager_open, int zoom,
                    struct layout *out)
{
    int body, fw, rx, rw, lh;

    memset(out, 0, sizeof *out);
    out->vsep_x = -1;
    if (rows < 1 || cols < 1)
        return;
    /* The prompt line always exists; the status line needs a second row. */
    out->prompt = mk(rows - 1, 0, 1, cols);
    if (rows >= 2)
        out->status = mk(rows - 2, 0, 1, cols);
    body = rows - 2;
    if (body < 1)
        return;
    if (zoom >= 0 && zoom < NPANES) {
        out->pane[zoom] = mk(0, 0, body, cols);
        return;
    }
    /* The folder pane only when the list keeps at least 40 columns. */
    fw = folder_w;
    if (fw < 8)
        fw = 8;
    if (fw > cols / 3)
        fw = cols / 3;
    if (cols - fw - 1 < 40)
        fw = 0;
    if (fw > 0) {
        out->pane[PANE_FOLDERS] = mk(0, 0, body, fw);
        out->vsep_x = fw;
        rx = fw + 1;
    } else {
        rx = 0;
    }
    rw = cols - rx;
    if (!pager_open) {
        out->pane[PANE_LIST] = mk(0, rx, body, rw);
        return;
    }
    /* A third of the height for the list (at least 3 rows when the screen allows); the pager
     * gets the rest, its first row being its title bar. */
    lh = body / 3;
    if (lh < 3)
        lh = body >= 6 ? 3 : body / 2;
    if (lh < 1)
        lh = 1;
    if (lh > 15)
        lh = 15;
    out->pane[PANE_LIST] = mk(0, rx, lh, rw);
    out->pane[PANE_PAGER] = mk(lh, rx, body - lh, rw);
}

int layout_hit(const struct layout *l, int y, int x)
{
    for (int i = 0; i < NPANES; i++) {
        const struct rect *r = &l->pane[i];

        if (r->h > 0 && y >= r->y && y < r->y + r->h && x >= r->x && x < r->x + r->w)
            return i;
    }
    return -1;
}
