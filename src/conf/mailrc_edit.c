/* Changing ~/.mailrc from tern: an alias line placed where bsd-mailx and s-nail read it. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tern/buf.h"
#include "tern/fsutil.h"
#include "tern/mailrc_edit.h"
#include "tern/str.h"
#include "tern/xalloc.h"

static bool is_word(const char *s, const char *also_bad)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f || strchr(also_bad, *s))
            return false;
    return true;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* A line that opens one of tern's sections: "[name]" or "#: [name]". */
static bool opens_section(const char *p, const char *end)
{
    p = skip_blanks(p, end);
    if (end - p >= 2 && p[0] == '#' && p[1] == ':')
        p = skip_blanks(p + 2, end);
    return p < end && *p == '[';
}

/* The alias name on an "alias NAME ..." (or "group"/"a") line, or NULL; *len its length. */
static const char *alias_name(const char *p, const char *end, size_t *len)
{
    static const char *const words[] = { "alias", "group", "a" };

    p = skip_blanks(p, end);
    for (size_t i = 0; i < 3; i++) {
        size_t w = strlen(words[i]);

        if ((size_t)(end - p) > w && memcmp(p, words[i], w) == 0 &&
            (p[w] == ' ' || p[w] == '\t')) {
            const char *n = skip_blanks(p + w, end), *q = n;

            while (q < end && *q != ' ' && *q != '\t')
                q++;
            *len = (size_t)(q - n);
            return *len ? n : NULL;
        }
    }
    return NULL;
}

/* Where the new line goes (a byte offset at a line start), or -1 with e filled when the
 * alias exists. */
static long insertion_point(const char *text, size_t n, const char *name, const char *path,
                            struct err *e)
{
    const char *p = text, *end = text + n;
    long after_alias = -1, section = -1;
    int lineno = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t len;
        const char *an = alias_name(p, eol, &len);

        lineno++;
        if (an && len == strlen(name) && memcmp(an, name, len) == 0)
            return err_set(e, ERR_CONFIG, "%s:%d: an alias '%s' is already there", path,
                           lineno, name);
        if (section < 0 && opens_section(p, eol))
            section = p - text;
        else if (section < 0 && an)
            after_alias = (nl ? nl + 1 : end) - text;
        p = nl ? nl + 1 : end;
    }
    if (after_alias >= 0)
        return after_alias;
    return section >= 0 ? section : (long)n;
}

int mailrc_add_alias(const char *path, const char *name, const char *address, struct err *e)
{
    char real[PATH_MAX];
    const char *target = realpath(path, real) ? real : path;
    struct buf old = BUF_INIT, out = BUF_INIT;
    struct stat st;
    mode_t mode = 0600;
    int rc = -1;

    if (!is_word(name, "\"'\\#;,"))
        return err_set(e, ERR_CONFIG, "'%s' cannot be an alias name: one word, please", name);
    if (!is_word(address, "\"'\\,;<>()") || strchr(address, '@') == NULL)
        return err_set(e, ERR_CONFIG, "'%s' is not a plain address for an alias", address);
    if (stat(target, &st) == 0) {
        mode = st.st_mode & 07777;
        if (fs_read_file(target, &old, e) < 0)
            goto out;
    } else if (errno != ENOENT) {
        err_sys(e, "stat %s", target);
        goto out;
    }
    const char *text = old.len ? old.ptr : "";
    long at = insertion_point(text, old.len, name, path, e);
    if (at < 0)
        goto out;
    buf_add(&out, text, (size_t)at);
    if (at > 0 && text[at - 1] != '\n')
        buf_addc(&out, '\n');
    buf_printf(&out, "alias %s %s\n", name, address);
    buf_add(&out, text + at, old.len - (size_t)at);
    rc = fs_write_atomic(target, out.ptr, out.len, mode, e);
out:
    buf_free(&old);
    buf_free(&out);
    return rc;
}
