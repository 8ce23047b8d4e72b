/* The pager pane: the message it shows is its own (message.h: read and parsed once, kept
 * while open), rendered and wrapped to the pane width, headers and quote levels coloured,
 * search inside the text, links, attachments, pipe. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/crypt.h"
#include "tern/fold.h"
#include "tern/fsutil.h"
#include "tern/message.h"
#include "tern/model.h"
#include "tern/save.h"
#include "tern/str.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

struct pager {
    struct message *msg;         /* NULL when it could not be read */
    bool gone;                   /* another program removed it from the folder meanwhile */
    struct buf text;             /* rendered message, lines separated by \n */
    size_t *lines;               /* offsets of screen line starts in text */
    size_t nlines;
    size_t top;
    bool full_headers;
    int width;                   /* the width the lines were computed for, 0: not yet */
    char parts[400];             /* the attachment list while its prompt is open */
    bool show_urls;              /* showing the list of links instead of the text */
    char **urls;
    size_t nurls;
    char search[256];
    char **viewed;               /* parts handed to a detached viewer: removed when left */
    size_t nviewed;
};

static struct pager *pager_of(struct app *a)
{
    return a->panes[PANE_PAGER]->data;
}

static void free_urls(struct pager *pg)
{
    message_urls_free(pg->urls, pg->nurls);
    pg->urls = NULL;
    pg->nurls = 0;
    pg->show_urls = false;
}

/* Break the text into screen lines of at most width columns, long lines at spaces. */
static void wrap(struct pager *pg, int width)
{
    const char *t = pg->text.ptr ? pg->text.ptr : "";
    size_t len = pg->text.len, off = 0, cap = 0;

    free(pg->lines);
    pg->lines = NULL;
    pg->nlines = 0;
    if (width < 1)
        width = 1;
    while (off <= len) {
        const char *nl = memchr(t + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - t) : len;

        do {
            size_t take = off < end ? ui_wrap(t + off, end - off, width) : 0;

            pg->lines = xgrow(pg->lines, pg->nlines + 1, &cap, sizeof *pg->lines);
            pg->lines[pg->nlines++] = off;
            off += take;
        } while (off < end);
        if (!nl)
            break;
        off = end + 1;
        if (off == len)
            break;
    }
    if (pg->lines == NULL) {
        pg->lines = xmalloc(2 * sizeof *pg->lines);
        pg->lines[0] = 0;
        pg->nlines = 1;
    }
    pg->width = width;
}

/* End (exclusive) of screen line i. */
static size_t line_end(const struct pager *pg, size_t i)
{
    size_t end = i + 1 < pg->nlines ? pg->lines[i + 1] : pg->text.len;
    const char *t = pg->text.ptr;

    if (end > pg->lines[i] && t[end - 1] == '\n')
        end--;
    return end;
}

static bool pager_header_shown(const void *arg, const char *name, size_t len)
{
    return config_header_shown(arg, name, len);
}

/* Render the kept message again (all headers toggled, a new width): no file is read. */
static void render(struct app *a, struct pager *pg, const struct err *open_err)
{
    int width = a->lay.pane[PANE_PAGER].w;
    struct render_opts o;
    struct crypt_opts co;
    struct err e;

    memset(&o, 0, sizeof o);
    o.all_headers = pg->full_headers;
    if (a->cfg->nhdr_ignore + a->cfg->nhdr_retain > 0 || a->cfg->headers) {  /* weeding */
        o.header_shown = pager_header_shown;
        o.header_arg = a->cfg;
    }
    o.width = width > 20 && width < 78 ? width : 0;
    /* Signed and encrypted parts are checked and decrypted (crypt.h); a text pinentry asks
     * on this terminal. Decrypted text lives in pg->text only: wiped before reuse. */
    if (getenv("GPG_TTY") == NULL && isatty(STDIN_FILENO) && ttyname(STDIN_FILENO))
        setenv("GPG_TTY", ttyname(STDIN_FILENO), 0);
    crypt_opts_init(&co, a->cfg->mail_root, config_account(a->cfg, NULL));
    o.crypt = &co;
    if (pg->text.ptr)
        memset(pg->text.ptr, 0, pg->text.cap);
    buf_reset(&pg->text);
    if (pg->msg == NULL)
        buf_printf(&pg->text, "Cannot show this message: %s\n", open_err ? open_err->msg : "");
    else if (message_render(pg->msg, &o, &pg->text, &e) < 0) {
        buf_reset(&pg->text);
        buf_printf(&pg->text, "Cannot show this message: %s\n", e.msg);
    }
    crypt_opts_free(&co);
    /* gpg-agent may have drawn a pinentry on this terminal: repaint all of it. */
    clearok(curscr, TRUE);
    buf_cstr(&pg->text);
    pg->width = 0;
    free_urls(pg);
}

static void part_file_remove(const char *path);

static void drop_message(struct pager *pg)
{
    /* A viewer started with xdg-open reads its file whenever it likes: the file stays
     * while the message is shown and goes when it is left. */
    for (size_t i = 0; i < pg->nviewed; i++) {
        part_file_remove(pg->viewed[i]);
        free(pg->viewed[i]);
    }
    free(pg->viewed);
    pg->viewed = NULL;
    pg->nviewed = 0;
    memset(pg->parts, 0, sizeof pg->parts);     /* names from inside an envelope */
    message_close(pg->msg);
    pg->msg = NULL;
    pg->gone = false;
    free_urls(pg);
}

static void pager_refresh(struct app *a, struct pager *pg);

/* Show the message under the list cursor: one read and one parse when it is another one. */
static void show_current(struct app *a, struct pager *pg)
{
    uint32_t id;
    struct err e;

    e.msg[0] = '\0';
    if (a->m == NULL || (id = model_cursor_id(a->m)) == UINT32_MAX)
        return;
    if (!a->pager_open || pg->msg == NULL || message_id(pg->msg) != id) {
        char *path = model_path(a->m, id);

        if (path == NULL)
            return;
        drop_message(pg);
        pg->top = 0;
        if (message_open(path, id, &pg->msg, &e) == 0)
            app_learn(a, pg->msg);           /* the address book learns who writes */
        free(path);
    }
    render(a, pg, &e);
    if (!a->pager_open) {
        app_set_pager(a, true);
        a->focus = PANE_PAGER;
    }
    if (a->zoom >= 0 && a->zoom != PANE_PAGER) {
        a->zoom = PANE_PAGER;
        app_relayout(a);
    }
    if (model_mark_seen(a->m, id, &e) < 0)
        app_err(a, "%s", e.msg);
    pager_refresh(a, pg);                   /* marking it seen renamed the file */
    app_dirty(a, PANE_LIST);
    app_dirty(a, PANE_PAGER);
}

/* The folder changed under the pager: keep showing the message from memory, follow its file
 * when it was renamed (flags), and say so when another program removed it. */
static void pager_refresh(struct app *a, struct pager *pg)
{
    char *path;

    if (!a->pager_open || pg->msg == NULL || a->m == NULL)
        return;
    path = model_path(a->m, message_id(pg->msg));
    if (path == NULL) {
        pg->gone = true;
        return;
    }
    if (strcmp(path, message_path(pg->msg)) != 0)
        message_set_path(pg->msg, path);
    free(path);
}

/* Quote depth of a line: the count of leading '>' (spaces between them allowed). */
static int quote_depth(const char *s, size_t n)
{
    int d = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '>')
            d++;
        else if (s[i] != ' ')
            break;
    }
    return d;
}

/* Draw one screen line with the search matches highlighted. */
static void draw_text_line(struct app *a, struct pager *pg, int y, int x, int w, const char *s,
                           size_t n, unsigned at)
{
    const char *pat = pg->search;
    struct fold_word fw;
    size_t pl = 0;
    int used = 0;

    fold_word_init(&fw, pat);
    while (n > 0 && used < w) {
        const char *hit = fw.n ? fold_find(&fw, s, n, &pl) : NULL;
        size_t before = hit ? (size_t)(hit - s) : n;

        used += ui_put(y, x + used, s, before, w - used, at, false);
        if (!hit)
            break;
        used += ui_put(y, x + used, hit, pl, w - used, a->attr[COL_SEARCH], false);
        if (pl == 0)
            break;
        s = hit + pl;
        n -= before + pl;
    }
    fold_word_free(&fw);
}

static void pager_draw(struct app *a, struct pane *p, const struct rect *r)
{
    struct pager *pg = p->data;
    int body = r->h - 1;
    bool in_headers = true;
    char title[512];
    size_t i, shown;

    if (pg->width != r->w)
        wrap(pg, r->w);
    if (body > 0 && pg->top + (size_t)body > pg->nlines)
        pg->top = pg->nlines > (size_t)body ? pg->nlines - (size_t)body : 0;
    shown = (pg->top + (size_t)(body > 0 ? body : 0)) * 100 / (pg->nlines ? pg->nlines : 1);
    snprintf(title, sizeof title, " -- %s%s%s -- line %zu of %zu (%d%%)%s",
             pg->full_headers ? "all headers" : "message",
             pg->show_urls ? ", links" : "",
             pg->gone ? ", removed from the folder" : "",
             pg->top + 1, pg->nlines, pg->nlines ? (int)(shown > 100 ? 100 : shown) : 100,
             a->focus == PANE_PAGER ? "" : "  (Tab: focus)");
    if (a->pr.kind == PR_ATTACH && pg->parts[0])
        snprintf(title, sizeof title, " Parts: %s", pg->parts);
    ui_put(r->y, r->x, title, strlen(title), r->w, a->attr[COL_TITLE], true);
    if (pg->show_urls) {
        for (int y = 0; y < body && (size_t)y < pg->nurls; y++) {
            char num[16];
            int nw;

            snprintf(num, sizeof num, "%3d  ", y + 1);
            nw = ui_put(r->y + 1 + y, r->x, num, strlen(num), r->w, a->attr[COL_NORMAL], false);
            ui_put(r->y + 1 + y, r->x + nw, pg->urls[y], strlen(pg->urls[y]), r->w - nw,
                   a->attr[COL_URL], false);
        }
        return;
    }
    /* Header colouring needs to know whether the first visible line is still in them. */
    for (i = 0; i < pg->top && i < pg->nlines; i++)
        if (line_end(pg, i) == pg->lines[i])
            in_headers = false;
    for (int y = 0; y < body && pg->top + (size_t)y < pg->nlines; y++) {
        size_t li = pg->top + (size_t)y;
        const char *s = pg->text.ptr + pg->lines[li];
        size_t n = line_end(pg, li) - pg->lines[li];
        unsigned at = a->attr[COL_NORMAL];

        if (n == 0)
            in_headers = false;
        if (in_headers) {
            const char *colon = memchr(s, ':', n);

            if (colon && s[0] != ' ' && s[0] != '\t') {
                size_t hn = (size_t)(colon - s) + 1;
                int used = ui_put(r->y + 1 + y, r->x, s, hn, r->w, a->attr[COL_HEADER], false);

                draw_text_line(a, pg, r->y + 1 + y, r->x + used, r->w - used, s + hn, n - hn,
                               at);
                continue;
            }
        } else {
            int d = quote_depth(s, n);

            if (d > 0)
                at = a->attr[d == 1 ? COL_QUOTE1 : d == 2 ? COL_QUOTE2 : COL_QUOTE3];
        }
        draw_text_line(a, pg, r->y + 1 + y, r->x, r->w, s, n, at);
    }
}

static void pager_scroll(struct app *a, struct pager *pg, long delta)
{
    long t = (long)pg->top + delta;
    long body = a->lay.pane[PANE_PAGER].h - 1;
    long max = (long)pg->nlines - body;

    if (max < 0)
        max = 0;
    if (t > max)
        t = max;
    if (t < 0)
        t = 0;
    pg->top = (size_t)t;
}

static void find_in_text(struct app *a, struct pager *pg, bool back)
{
    const char *pat = pg->search;
    size_t n;
    struct fold_word fw;
    struct buf scratch = BUF_INIT;

    if (!*pat) {
        app_msg(a, "No search yet: / starts one.");
        return;
    }
    fold_word_init(&fw, pat);
    if (pg->width == 0)
        wrap(pg, a->lay.pane[PANE_PAGER].w);
    n = pg->nlines;
    for (size_t k = 1; k <= n; k++) {
        size_t i = back ? (pg->top + n - k) % n : (pg->top + k) % n;
        size_t len = line_end(pg, i) - pg->lines[i];

        if (fold_has(&fw, pg->text.ptr + pg->lines[i], len, &scratch)) {
            pg->top = i;
            fold_word_free(&fw);
            buf_free(&scratch);
            return;
        }
    }
    fold_word_free(&fw);
    buf_free(&scratch);
    app_err(a, "Not found in this message: %s", pat);
}

static void pager_done(struct app *a, enum prompt_kind k, const char *text);

/*
 * Run argv in the background, detached from the screen (a viewer or a browser). 0 when it
 * started; else -1 with errno from the failed exec (a pipe closed on exec tells which).
 */
static int spawn_detached(struct app *a, char *const argv[])
{
    int fds[2], err = 0;
    pid_t pid;
    ssize_t r;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        app_err(a, "pipe: %s", strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        err = errno;
        close(fds[0]);
        close(fds[1]);
        errno = err;
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        close(fds[0]);
        setsid();
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execvp(argv[0], argv);
        err = errno;
        (void)!write(fds[1], &err, sizeof err);
        _exit(127);
    }
    close(fds[1]);
    while ((r = read(fds[0], &err, sizeof err)) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    if (r == (ssize_t)sizeof err) {
        errno = err;
        return -1;
    }
    return 0;
}

/* Split cmd at blanks into argv (no shell: nothing from the mail is ever parsed by one),
 * each %s replaced by url and %% by %; the url is appended when no word holds %s. */
static char **opener_argv(const char *cmd, size_t cmdlen, const char *url)
{
    char **argv = NULL;
    size_t n = 0;
    bool used = false;
    const char *p = cmd, *end = cmd + cmdlen;

    while (p < end) {
        struct buf w = BUF_INIT;

        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            break;
        for (; p < end && *p != ' ' && *p != '\t'; p++) {
            if (p[0] == '%' && p + 1 < end && p[1] == 's') {
                buf_adds(&w, url);
                used = true;
                p++;
            } else if (p[0] == '%' && p + 1 < end && p[1] == '%') {
                buf_addc(&w, '%');
                p++;
            } else {
                buf_addc(&w, *p);
            }
        }
        argv = xreallocarray(argv, n + 3, sizeof *argv);
        argv[n++] = buf_detach(&w);
    }
    if (n == 0) {
        free(argv);
        return NULL;
    }
    if (!used)
        argv[n++] = xstrdup(url);
    argv[n] = NULL;
    return argv;
}

static void argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

/* Try one opener command; true when it started. *tried notes the first failure. */
static bool try_opener(struct app *a, const char *cmd, size_t len, const char *url,
                       char *tried, size_t triedsz)
{
    char **argv = opener_argv(cmd, len, url);
    bool ok;

    if (argv == NULL)
        return false;
    ok = spawn_detached(a, argv) == 0;
    if (ok)
        app_msg(a, "Opened the link with %s.", argv[0]);
    else if (!tried[0])
        snprintf(tried, triedsz, "%s: %s", argv[0], strerror(errno));
    argv_free(argv);
    return ok;
}

/*
 * Open a link: url_command, else each entry of $BROWSER in turn (colon-separated, %s as in
 * the BROWSER convention), else xdg-open. A missing program is said, never "Started".
 */
static void open_url(struct app *a, const char *url)
{
    const char *browser = getenv("BROWSER");
    char tried[300] = "";

    if (a->cfg->url_command && *a->cfg->url_command) {
        if (!try_opener(a, a->cfg->url_command, strlen(a->cfg->url_command), url, tried,
                        sizeof tried))
            app_err(a, "Cannot open the link: %s (url_command)", tried);
        return;
    }
    if (browser && *browser) {
        for (const char *p = browser; *p;) {
            size_t n = strcspn(p, ":");

            if (try_opener(a, p, n, url, tried, sizeof tried))
                return;
            p += n;
            if (*p == ':')
                p++;
        }
    }
    if (try_opener(a, "xdg-open", 8, url, tried, sizeof tried))
        return;
    app_err(a, "No program to open links: set url_command (%s).", tried);
}

static void attachments(struct app *a, struct pager *pg)
{
    struct buf list = BUF_INIT;
    struct render_attachment *at = NULL;
    size_t n = pg->msg ? message_attachments(pg->msg, &at) : 0;
    int last = n ? at[n - 1].number : 0;
    char label[120];

    for (size_t i = 0; i < n; i++)
        buf_printf(&list, "%s[%d] %s%s%s%s", i ? "  " : "", at[i].number, at[i].type,
                   at[i].name ? " " : "", at[i].name ? at[i].name : "",
                   at[i].inside == RENDER_IN_ENCRYPTED ? " (encrypted)"
                   : at[i].inside == RENDER_IN_SIGNED ? " (signed)" : "");
    render_attachments_free(at, n);
    if (n == 0) {
        app_msg(a, "This message has no parts.");
        crypt_wipe(&list);
        return;
    }
    snprintf(label, sizeof label, "View part N, save with 's N [PATH]', pipe with '| N CMD' "
             "(1-%d): ", last);
    app_prompt(a, PR_ATTACH, label, "", pager_done);
    /* The prompt line is taken: the list goes in the pager's title bar meanwhile. */
    snprintf(pg->parts, sizeof pg->parts, "%s", list.ptr);
    crypt_wipe(&list);
}

/* Remove a part file made by part_file and its private directory. */
static void part_file_remove(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');

    unlink(path);
    if (slash && (size_t)(slash - path) < sizeof dir) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        rmdir(dir);
    }
}

/*
 * A part for a viewer or a command: a directory of its own that only we can enter (mkdtemp:
 * 0700) under $TMPDIR, and in it the part under its safe name (viewers go by the extension),
 * 0600. The only place a part (decrypted ones too) is written without the user's 's'; the
 * caller removes it with part_file_remove. 0, or -1 with the reason shown.
 */
static int part_file(struct app *a, int num, const char *name, const struct buf *data,
                     char *path, size_t pathsz)
{
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[4096], fallback[32];
    int fd, n;

    n = snprintf(dir, sizeof dir, "%s/tern-part.XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof dir || mkdtemp(dir) == NULL) {
        app_err(a, "%s: %s", dir, n < 0 || (size_t)n >= sizeof dir ? "too long" : strerror(errno));
        return -1;
    }
    snprintf(fallback, sizeof fallback, "part-%d", num);
    n = snprintf(path, pathsz, "%s/%s", dir, name ? name : fallback);
    if (n < 0 || (size_t)n >= pathsz) {
        rmdir(dir);
        app_err(a, "%s: the name is too long", dir);
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fs_write_all(fd, data->ptr ? data->ptr : "", data->len) != 0) {
        app_err(a, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        part_file_remove(path);
        return -1;
    }
    close(fd);
    return 0;
}

/* View a part: through mailcap on the terminal (the file goes when the viewer is done),
 * else with xdg-open (the file goes when the message is left). */
static void view_part(struct app *a, struct pager *pg, long num, const char *type,
                      const char *path)
{
    if (access("/usr/bin/run-mailcap", X_OK) == 0) {
        /* mailcap decides: a terminal viewer (or copiousoutput through a pager) gets the
         * terminal, a graphical one its window. */
        char spec[4200];
        char *argv[] = { "run-mailcap", "--action=view", spec, NULL };
        int st;

        snprintf(spec, sizeof spec, "%s:%s", type ? type : "application/octet-stream", path);
        st = app_foreground(a, NULL, argv, false);
        if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0)
            app_err(a, "No viewer for %s in mailcap (run-mailcap exited %d); "
                    "'s %ld' saves the part.", type ? type : "?", WEXITSTATUS(st), num);
        part_file_remove(path);
    } else {
        char *argv[] = { "xdg-open", (char *)path, NULL };

        if (spawn_detached(a, argv) < 0) {
            app_err(a, "No viewer: %s (%s); 's %ld' saves the part.", strerror(errno),
                    argv[0], num);
            part_file_remove(path);
            return;
        }
        app_msg(a, "Started %s.", argv[0]);
        pg->viewed = xreallocarray(pg->viewed, pg->nviewed + 1, sizeof *pg->viewed);
        pg->viewed[pg->nviewed++] = xstrdup(path);
    }
}

/* 's N [PATH]': a new file (never overwritten), 0600: the user asked for this one. */
static void save_part(struct app *a, long num, const char *dest, const char *name,
                      const struct buf *data)
{
    /* A directory gets DIR/NAME, and ~ is the home, as on the command line; with no
     * target the name from the mail loses any directory part (./NAME). */
    char *path = save_part_path(*dest ? dest : ".", name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0) {
        app_err(a, "%s: %s", path, strerror(errno));
    } else if (fs_write_all(fd, data->ptr ? data->ptr : "", data->len) != 0) {
        app_err(a, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
    } else {
        close(fd);
        app_msg(a, "Saved part %ld to %s (%zu bytes).", num, path, data->len);
    }
    free(path);
}

/* The part prompt: 'N' views, 's N [PATH]' saves, '| N CMD' pipes part N (a part from
 * inside an envelope is decrypted already: the message keeps it in memory). */
static void attach_action(struct app *a, struct pager *pg, const char *text)
{
    struct buf data = BUF_INIT;
    char numbuf[16], path[4096];
    const char *dest;
    char *name = NULL, *type = NULL;
    char op = 'v';
    long num;
    struct err e;

    pg->parts[0] = '\0';
    while (*text == ' ')
        text++;
    if ((text[0] == 's' && (text[1] == ' ' || text[1] == '\0')) || text[0] == '|') {
        op = text[0];
        text += 1;
        while (*text == ' ')
            text++;
    }
    {
        size_t l = strcspn(text, " ");

        if (l == 0 || l >= sizeof numbuf)
            return;
        memcpy(numbuf, text, l);
        numbuf[l] = '\0';
        dest = text + l;
        while (*dest == ' ')
            dest++;
    }
    if (str_tolong(numbuf, 1, 100000, &num) < 0) {
        app_err(a, "No part %s.", numbuf);
        return;
    }
    if (op == '|' && *dest == '\0') {
        app_err(a, "Pipe part %ld to which command? '| %ld CMD'", num, num);
        return;
    }
    if (pg->msg == NULL)
        return;
    if (message_part(pg->msg, (int)num, &data, &name, &type, &e) < 0) {
        app_err(a, "%s", e.msg);
        goto out;
    }
    if (op == 's') {
        save_part(a, num, dest, name, &data);
    } else if (part_file(a, (int)num, name, &data, path, sizeof path) == 0) {
        if (op == '|') {
            app_pipe(a, path, dest);
            part_file_remove(path);
        } else {
            view_part(a, pg, num, type, path);
        }
    }
out:
    free(name);
    free(type);
    /* The part may have come out of an envelope: wiped, as the message's copy will be. */
    crypt_wipe(&data);
}

static void pager_done(struct app *a, enum prompt_kind k, const char *text)
{
    struct pager *pg = pager_of(a);
    long n;

    switch (k) {
    case PR_PAGER_SEARCH:
        if (*text)
            snprintf(pg->search, sizeof pg->search, "%s", text);
        find_in_text(a, pg, false);
        break;
    case PR_URL:
        if (str_tolong(text, 1, (long)pg->nurls, &n) == 0) {
            open_url(a, pg->urls[n - 1]);
        }
        pg->show_urls = false;
        break;
    case PR_ATTACH:
        attach_action(a, pg, text);
        break;
    case PR_PIPE:
        if (*text && pg->msg)
            app_pipe(a, message_path(pg->msg), text);
        break;
    default:
        break;
    }
    app_dirty(a, PANE_PAGER);
}

static void pager_key(struct app *a, struct pane *p, enum action c, int key)
{
    struct pager *pg = p->data;
    int page = a->lay.pane[PANE_PAGER].h - 2 > 1 ? a->lay.pane[PANE_PAGER].h - 2 : 1;

    (void)key;
    p->dirty = true;
    if (a->tag_prefix) {                /* `;` then a command: the list acts on the tags */
        app_pane_key(a, PANE_LIST, c);
        return;
    }
    if (pg->show_urls && c != ACT_URLS && c != ACT_QUIT && c != ACT_OPEN)
        pg->show_urls = false;
    switch (c) {
    case ACT_UP: pager_scroll(a, pg, -1); break;
    case ACT_DOWN: pager_scroll(a, pg, 1); break;
    case ACT_OPEN:
        if (pg->show_urls)
            app_prompt(a, PR_URL, "Open link number: ", "", pager_done);
        else
            pager_scroll(a, pg, 1);
        break;
    case ACT_PAGE_UP: pager_scroll(a, pg, -page); break;
    case ACT_PAGE_DOWN: pager_scroll(a, pg, page); break;
    case ACT_HALF_UP: pager_scroll(a, pg, -page / 2); break;
    case ACT_HALF_DOWN: pager_scroll(a, pg, page / 2); break;
    case ACT_FIRST: pg->top = 0; break;
    case ACT_LAST: pager_scroll(a, pg, (long)pg->nlines); break;
    case ACT_PAGE: {
        size_t before = pg->top;

        pager_scroll(a, pg, page);
        if (pg->top == before && a->m) {     /* at the end: on to the next message */
            size_t cur = model_cursor(a->m);

            app_pane_key(a, PANE_LIST, ACT_DOWN);
            if (a->m && model_cursor(a->m) == cur)
                app_msg(a, "This is the last message.");
        }
        break;
    }
    case ACT_QUIT:
        if (pg->show_urls)
            pg->show_urls = false;
        else
            app_set_pager(a, false);
        break;
    case ACT_SEARCH:
    case ACT_SEARCH_BACK:
        app_prompt(a, PR_PAGER_SEARCH, "Search in message: ", "", pager_done);
        break;
    case ACT_SEARCH_NEXT: find_in_text(a, pg, false); break;
    case ACT_SEARCH_PREV: find_in_text(a, pg, true); break;
    case ACT_HEADERS:
        pg->full_headers = !pg->full_headers;
        show_current(a, pg);
        break;
    case ACT_URLS:
        free_urls(pg);
        pg->nurls = message_urls(pg->text.ptr ? pg->text.ptr : "", pg->text.len, &pg->urls);
        if (pg->nurls == 0) {
            app_msg(a, "No links in this message.");
        } else {
            pg->show_urls = true;
            app_prompt(a, PR_URL, "Open link number: ", "", pager_done);
        }
        break;
    case ACT_ATTACHMENTS:
        attachments(a, pg);
        break;
    case ACT_PIPE:
        app_prompt(a, PR_PIPE, "Pipe to command: ", "", pager_done);
        break;
    default:
        /* Message commands (d, F, s, ...) act on the message shown, even when the wheel
         * moved the list's cursor away from it. */
        if (pg->msg && a->m) {
            size_t r = model_row_of(a->m, message_id(pg->msg));

            if (r != SIZE_MAX)
                model_set_cursor(a->m, r);
        }
        app_pane_key(a, PANE_LIST, c);
        break;
    }
}

static void pager_notify(struct app *a, struct pane *p, enum ui_event ev)
{
    struct pager *pg = p->data;

    switch (ev) {
    case EV_SHOW_MESSAGE:
        show_current(a, pg);
        break;
    case EV_FOLDER_OPENED:
        app_set_pager(a, false);
        break;
    case EV_FOLDER_CHANGED:
        pager_refresh(a, pg);
        break;
    case EV_PAGER_CLOSED:
        drop_message(pg);
        break;
    case EV_FOLDERS_CHANGED:
    case EV_TICK:
        return;
    }
    p->dirty = true;
}

/* A new width: the lines are wrapped again at the next draw (the text stays). */
static void pager_resize(struct app *a, struct pane *p, const struct rect *r)
{
    struct pager *pg = p->data;

    (void)a;
    if (r->w != pg->width)
        pg->width = 0;
}

static void pager_free(struct pane *p)
{
    struct pager *pg = p->data;

    drop_message(pg);
    buf_free(&pg->text);
    free(pg->lines);
}

const struct pane_ops pager_pane_ops = {
    .name = "pager",
    .draw = pager_draw,
    .key = pager_key,
    .resize = pager_resize,
    .notify = pager_notify,
    .free = pager_free,
};

struct pane *pager_pane_new(void)
{
    struct pager *pg = xcalloc(1, sizeof *pg);

    buf_init(&pg->text);
    return pane_new(&pager_pane_ops, pg);
}
