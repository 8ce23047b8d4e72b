/* The message the pager shows: raw bytes and MIME tree, read and parsed once and kept while
 * it is open; the links of its text; the senders it teaches the address book, noted in
 * memory and merged into the file later (learn_flush), never on open. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern/addrbook.h"
#include "tern/header.h"
#include "tern/message.h"
#include "tern/mime.h"
#include "tern/str.h"
#include "tern/xalloc.h"

struct message {
    uint32_t id;
    char *path;
    struct buf raw;
    struct mime_tree tree;
    struct render_keep *keep;   /* what rendering decrypted: wiped on close */
};

static int read_all(const char *path, struct buf *out, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char chunk[65536];
    ssize_t n;

    if (fd < 0)
        return err_sys(e, "%s", path);
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        buf_add(out, chunk, (size_t)n);
        if (out->len > MESSAGE_MAX_FILE)
            break;
    }
    close(fd);
    if (n < 0)
        return err_sys(e, "%s", path);
    buf_cstr(out);
    return 0;
}

int message_open(const char *path, uint32_t id, struct message **out, struct err *e)
{
    struct message *msg = xcalloc(1, sizeof *msg);

    *out = NULL;
    buf_init(&msg->raw);
    if (read_all(path, &msg->raw, e) < 0) {
        buf_free(&msg->raw);
        free(msg);
        return -1;
    }
    msg->id = id;
    msg->path = xstrdup(path);
    mime_parse(msg->raw.ptr ? msg->raw.ptr : "", msg->raw.len, &msg->tree);
    msg->keep = render_keep_new();
    *out = msg;
    return 0;
}

void message_close(struct message *msg)
{
    if (msg == NULL)
        return;
    render_keep_free(msg->keep);
    mime_free(&msg->tree);
    buf_free(&msg->raw);
    free(msg->path);
    free(msg);
}

uint32_t message_id(const struct message *msg)
{
    return msg->id;
}

const char *message_path(const struct message *msg)
{
    return msg->path;
}

void message_set_path(struct message *msg, const char *path)
{
    free(msg->path);
    msg->path = xstrdup(path);
}

const char *message_raw(const struct message *msg, size_t *len)
{
    *len = msg->raw.len;
    return msg->raw.ptr ? msg->raw.ptr : "";
}

int message_render(const struct message *msg, const struct render_opts *o, struct buf *out,
                   struct err *e)
{
    struct render_opts q;

    if (o == NULL || o->crypt == NULL)
        return render_message_tree(&msg->tree, o, out, e);
    /* Envelopes are opened once while the message is open: a new width or all headers
     * decrypts nothing again, and the parts inside are there to save. */
    q = *o;
    q.keep = msg->keep;
    return render_message_tree(&msg->tree, &q, out, e);
}

size_t message_attachments(const struct message *msg, struct render_attachment **out)
{
    return render_attachments_tree(&msg->tree, msg->keep, out);
}

int message_part(const struct message *msg, int num, struct buf *out, char **name,
                 char **type, struct err *e)
{
    const struct mime_part *p;

    if (type)
        *type = NULL;
    if (render_part_tree(&msg->tree, msg->keep, num, out, name, e) < 0)
        return -1;
    p = render_find_part(&msg->tree, msg->keep, num);
    if (type && p) {
        struct buf t = BUF_INIT;

        render_sanitize(p->type, strlen(p->type), &t);
        *type = buf_detach(&t);
    }
    return 0;
}

/* ---- links ---- */

static bool url_start(const char *t, size_t left)
{
    return (left >= 7 && str_ncasecmp(t, "http://", 7) == 0) ||
           (left >= 8 && str_ncasecmp(t, "https://", 8) == 0) ||
           (left >= 7 && str_ncasecmp(t, "mailto:", 7) == 0);
}

size_t message_urls(const char *t, size_t len, char ***out)
{
    size_t n = 0;

    *out = NULL;
    for (size_t i = 0; i < len; i++) {
        size_t s = i, e;
        bool dup = false;

        if (!url_start(t + i, len - i))
            continue;
        for (e = s; e < len && (unsigned char)t[e] > ' ' && !strchr("<>\"'", t[e]); e++)
            ;
        while (e > s && strchr(".,;:)]}", t[e - 1]))
            e--;
        for (size_t k = 0; k < n; k++)
            if (strlen((*out)[k]) == e - s && memcmp((*out)[k], t + s, e - s) == 0)
                dup = true;
        if (!dup) {
            *out = xreallocarray(*out, n + 1, sizeof **out);
            (*out)[n++] = xstrndup(t + s, e - s);
        }
        i = e;
    }
    return n;
}

void message_urls_free(char **urls, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(urls[i]);
    free(urls);
}

/* ---- learning addresses ---- */

struct learn_note {
    char *value;
    time_t t;
};

struct learn {
    char *path;
    struct learn_note *v;
    size_t n, cap;
};

struct learn *learn_new(const char *path)
{
    struct learn *l = xcalloc(1, sizeof *l);

    l->path = xstrdup(path);
    return l;
}

static void learn_clear(struct learn *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].value);
    l->n = 0;
}

void learn_free(struct learn *l)
{
    if (l == NULL)
        return;
    learn_clear(l);
    free(l->v);
    free(l->path);
    free(l);
}

void learn_note(struct learn *l, const char *value, time_t t)
{
    if (value == NULL || *value == '\0')
        return;
    l->v = xgrow(l->v, l->n, &l->cap, sizeof *l->v);
    l->v[l->n].value = xstrdup(value);
    l->v[l->n].t = t;
    l->n++;
}

void learn_senders(struct learn *l, const struct message *msg)
{
    static const char *const fields[] = { "From", "Reply-To" };
    const struct mime_part *top = &msg->tree.parts[0];
    time_t t = time(NULL);
    struct hdr_field f;

    if (hdr_find(top->hdr, top->hdr_len, "Date", &f))
        hdr_parse_date(f.value, f.value_len, &t);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char *v = hdr_get_addrs(top->hdr, top->hdr_len, fields[i]);

        learn_note(l, v, t);
        free(v);
    }
}

size_t learn_pending(const struct learn *l)
{
    return l->n;
}

int learn_flush(struct learn *l, struct err *e)
{
    struct addrbook *ab;

    if (l->n == 0)
        return 0;
    /* Read the file now, not at start: `tern send` and the compose screen write it too. */
    if (addrbook_open(l->path, &ab, e) < 0)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        addrbook_note(ab, l->v[i].value, l->v[i].t);
    if (addrbook_save(ab, e) < 0) {
        addrbook_free(ab);
        return -1;
    }
    addrbook_free(ab);
    learn_clear(l);
    return 0;
}
