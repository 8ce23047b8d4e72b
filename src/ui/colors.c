/* Colours from [colors]: "object = fg [bg] [attributes]", with defaults that also read well on
 * a monochrome terminal (the attributes alone carry the meaning there). */
#include "config.h"

#include <string.h>

#include "tern/str.h"
#include "ui.h"

static const char *const objnames[NCOLOBJ] = {
    [COL_NORMAL] = "normal", [COL_STATUS] = "status", [COL_PROMPT] = "prompt",
    [COL_CURSOR] = "cursor", [COL_TREE] = "tree", [COL_NEW] = "new",
    [COL_FLAGGED] = "flagged", [COL_DELETED] = "deleted", [COL_HEADER] = "header",
    [COL_QUOTE1] = "quote1", [COL_QUOTE2] = "quote2", [COL_QUOTE3] = "quote3",
    [COL_URL] = "url", [COL_SEARCH] = "search", [COL_BORDER] = "border",
    [COL_ERROR] = "error", [COL_FOLDER_UNREAD] = "folder-unread", [COL_TITLE] = "title",
};

static const char *const cnames[8] = {
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
};

const char *color_obj_name(enum color_obj o)
{
    return o < NCOLOBJ ? objnames[o] : "?";
}

static int parse_one_color(const char *w, short *out)
{
    long n;

    if (str_casecmp(w, "default") == 0 || str_casecmp(w, "none") == 0) {
        *out = -1;
        return 0;
    }
    for (int i = 0; i < 8; i++) {
        if (str_casecmp(w, cnames[i]) == 0) {
            *out = (short)i;
            return 0;
        }
        if (str_ncasecmp(w, "bright", 6) == 0 && str_casecmp(w + 6, cnames[i]) == 0) {
            *out = (short)(i + 8);
            return 0;
        }
    }
    if ((str_ncasecmp(w, "color", 5) == 0 && str_tolong(w + 5, 0, 255, &n) == 0) ||
        (str_ncasecmp(w, "colour", 6) == 0 && str_tolong(w + 6, 0, 255, &n) == 0)) {
        *out = (short)n;
        return 0;
    }
    return -1;
}

static unsigned parse_attr(const char *w)
{
    if (str_casecmp(w, "bold") == 0)
        return COLA_BOLD;
    if (str_casecmp(w, "underline") == 0)
        return COLA_UNDERLINE;
    if (str_casecmp(w, "reverse") == 0)
        return COLA_REVERSE;
    if (str_casecmp(w, "dim") == 0)
        return COLA_DIM;
    if (str_casecmp(w, "standout") == 0)
        return COLA_STANDOUT;
    return 0;
}

int color_parse(const char *value, struct color_spec *out)
{
    struct color_spec s = { -1, -1, 0, true };
    int ncol = 0;
    const char *p = value;

    while (*p) {
        char w[32];
        size_t n;
        unsigned at;
        short c;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        n = strcspn(p, " \t,");
        if (n == 0)
            break;
        if (n >= sizeof w)
            return -1;
        memcpy(w, p, n);
        w[n] = '\0';
        p += n;
        if ((at = parse_attr(w)) != 0) {
            s.attrs |= at;
        } else if (ncol < 2 && parse_one_color(w, &c) == 0) {
            if (ncol++ == 0)
                s.fg = c;
            else
                s.bg = c;
        } else {
            return -1;
        }
    }
    *out = s;
    return 0;
}

void colors_defaults(struct color_spec spec[NCOLOBJ])
{
    static const struct color_spec d[NCOLOBJ] = {
        [COL_NORMAL] = { -1, -1, 0, true },
        [COL_STATUS] = { 0, 6, COLA_REVERSE, true },   /* reverse alone when monochrome */
        [COL_PROMPT] = { -1, -1, 0, true },
        [COL_CURSOR] = { 0, 3, COLA_REVERSE, true },
        [COL_TREE] = { 5, -1, 0, true },
        [COL_NEW] = { -1, -1, COLA_BOLD, true },
        [COL_FLAGGED] = { 1, -1, COLA_BOLD, true },
        [COL_DELETED] = { 8, -1, COLA_DIM, true },
        [COL_HEADER] = { 4, -1, COLA_BOLD, true },
        [COL_QUOTE1] = { 2, -1, 0, true },
        [COL_QUOTE2] = { 6, -1, 0, true },
        [COL_QUOTE3] = { 3, -1, 0, true },
        [COL_URL] = { 4, -1, COLA_UNDERLINE, true },
        [COL_SEARCH] = { 0, 3, COLA_REVERSE, true },
        [COL_BORDER] = { 4, -1, 0, true },
        [COL_ERROR] = { 1, -1, COLA_BOLD, true },
        [COL_FOLDER_UNREAD] = { -1, -1, COLA_BOLD, true },
        [COL_TITLE] = { 0, 6, COLA_REVERSE, true },
    };

    memcpy(spec, d, sizeof d);
}

void colors_apply(struct color_spec spec[NCOLOBJ], const struct config_pair *p, size_t n,
                  struct buf *warn)
{
    for (size_t i = 0; i < n; i++) {
        int o;
        struct color_spec s;

        for (o = 0; o < NCOLOBJ; o++)
            if (str_casecmp(objnames[o], p[i].name) == 0)
                break;
        if (o == NCOLOBJ) {
            buf_printf(warn, "line %d: [colors] has no object '%s'\n", p[i].line, p[i].name);
            continue;
        }
        if (color_parse(p[i].value, &s) < 0) {
            buf_printf(warn, "line %d: [colors] %s: cannot read '%s'\n", p[i].line,
                       p[i].name, p[i].value);
            continue;
        }
        spec[o] = s;
    }
}
