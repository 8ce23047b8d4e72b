/* The pager pane: the message engine's text for one message, wrapped to the pane width,
 * headers and quote levels coloured, search inside the text, links, attachments, pipe. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tern/render.h"
#include "tern/str.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

#define PAGER_MAX_FILE (64u << 20)

static int read_file(const char *path, struct buf *out, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char chunk[65536];
    ssize_t n;

    if (fd < 0)
        return err_sys(e, "%s", path);
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        buf_add(out, chunk, (size_t)n);
        if (out->len > PAGER_MAX_FILE)
            break;
    }
    close(fd);
    if (n < 0)
        return err_sys(e, "%s", path);
    buf_cstr(out);
    return 0;
}

/* The text to show for the message file at path: the message engine's rendering. */
static bool pager_header_shown(const void *arg, const char *name, size_t len)
{
    return config_header_shown(arg, name, len);
}

static int render_for_pager(const struct config *cfg, const char *path, bool full_headers,
                            int width, const struct crypt_opts *co, struct buf *out,
                            struct err *e)
{
    struct buf raw = BUF_INIT;
    struct render_opts o;
    int rc;

    if (read_file(path, &raw, e) < 0) {
        buf_free(&raw);
        return -1;
    }
    memset(&o, 0, sizeof o);
    o.all_headers = full_headers;
    if (cfg != NULL && cfg->nhdr_ignore + cfg->nhdr_retain > 0) {   /* mailx ignore/retain */
        o.header_shown = pager_header_shown;
        o.header_arg = cfg;
    }
    o.width = width > 20 && width < 78 ? width : 0;
    o.crypt = co;
    rc = render_message(raw.ptr ? raw.ptr : "", raw.len, &o, out, e);
    buf_free(&raw);
    return rc;
}

static void free_urls(struct app *a)
{
    for (size_t i = 0; i < a->nurls; i++)
        free(a->urls[i]);
    free(a->urls);
    a->urls = NULL;
    a->nurls = 0;
    a->pager_urls = false;
}

/* Break the text into screen lines of at most width columns (wrapping long lines). */
static void wrap(struct app *a, int width)
{
    const char *t = a->ptext.ptr ? a->ptext.ptr : "";
    size_t len = a->ptext.len, off = 0, cap = 0;

    free(a->plines);
    a->plines = NULL;
    a->nplines = 0;
    if (width < 1)
        width = 1;
    while (off <= len) {
        const char *nl = memchr(t + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - t) : len;

        do {
            size_t take = ui_clip(t + off, end - off, width, NULL);

            if (take == 0 && off < end) {       /* one character wider than the pane */
                size_t l = utf8_seqlen((const unsigned char *)t + off, end - off);
                take = l ? l : 1;
            }
            if (a->nplines + 2 > cap) {
                cap = cap ? cap * 2 : 256;
                a->plines = xreallocarray(a->plines, cap, sizeof *a->plines);
            }
            a->plines[a->nplines++] = off;
            off += take;
        } while (off < end);
        if (!nl)
            break;
        off = end + 1;
        if (off == len)
            break;
    }
    if (a->plines == NULL) {
        a->plines = xmalloc(2 * sizeof *a->plines);
        a->plines[0] = 0;
        a->nplines = 1;
    }
    a->pager_width = width;
}

/* End (exclusive) of screen line i. */
static size_t line_end(const struct app *a, size_t i)
{
    size_t end = i + 1 < a->nplines ? a->plines[i + 1] : a->ptext.len;
    const char *t = a->ptext.ptr;

    if (end > a->plines[i] && t[end - 1] == '\n')
        end--;
    return end;
}

static void load(struct app *a, const char *path)
{
    struct err e;
    struct crypt_opts co;

    /* Decrypted text lives in ptext only (memory): wipe the previous message's. */
    if (a->ptext.ptr)
        memset(a->ptext.ptr, 0, a->ptext.cap);
    buf_reset(&a->ptext);
    /* A text pinentry asks on this terminal (the screen is repainted below). */
    if (getenv("GPG_TTY") == NULL && isatty(STDIN_FILENO) && ttyname(STDIN_FILENO))
        setenv("GPG_TTY", ttyname(STDIN_FILENO), 0);
    crypt_opts_init(&co, a->cfg->mail_root, config_account(a->cfg, NULL));
    if (render_for_pager(a->cfg, path, a->full_headers, a->lay.pane[PANE_PAGER].w, &co,
                         &a->ptext, &e) < 0) {
        buf_reset(&a->ptext);
        buf_printf(&a->ptext, "Cannot show this message: %s\n", e.msg);
    }
    crypt_opts_free(&co);
    /* gpg-agent may have drawn a pinentry on this terminal: repaint all of it. */
    clearok(curscr, TRUE);
    buf_cstr(&a->ptext);
    a->pager_width = 0;
    free_urls(a);
}

void pager_open_current(struct app *a)
{
    uint32_t id;
    char *path = list_current_path(a, &id);

    if (path == NULL)
        return;
    if (!a->pager_open || id != a->pager_id) {
        a->ptop = 0;
        compose_note_sender(a->cfg, path);     /* the address book learns who writes */
    }
    a->pager_id = id;
    load(a, path);
    free(path);
    if (!a->pager_open) {
        a->pager_open = true;
        app_relayout(a);
    }
    a->focus = PANE_PAGER;
    if (a->zoom >= 0 && a->zoom != PANE_PAGER) {
        a->zoom = PANE_PAGER;
        app_relayout(a);
    }
    list_mark_seen(a);
    a->dirty = true;
}

void pager_close(struct app *a)
{
    if (!a->pager_open)
        return;
    a->pager_open = false;
    free_urls(a);
    if (a->zoom == PANE_PAGER)
        a->zoom = -1;
    a->focus = PANE_LIST;
    app_relayout(a);
}

void pager_refresh(struct app *a)
{
    if (a->pager_open && !list_is_current(a, a->pager_id))
        return;     /* the list moved on; the text stays until the next open */
}

void pager_free(struct app *a)
{
    buf_free(&a->ptext);
    free(a->plines);
    a->plines = NULL;
    free_urls(a);
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
static void draw_text_line(struct app *a, int y, int x, int w, const char *s, size_t n,
                           unsigned at)
{
    const char *pat = a->pager_search;
    size_t pl = strlen(pat);
    int used = 0;

    while (n > 0 && used < w) {
        const char *hit = pl ? str_casemem(s, n, pat) : NULL;
        size_t before = hit ? (size_t)(hit - s) : n;

        used += ui_put(y, x + used, s, before, w - used, at, false);
        if (!hit)
            break;
        used += ui_put(y, x + used, hit, pl, w - used, a->attr[COL_SEARCH], false);
        s = hit + pl;
        n -= before + pl;
    }
}

void pager_draw(struct app *a, const struct rect *r)
{
    int body = r->h - 1;
    bool in_headers = true;
    char title[512];
    size_t i;

    if (a->pager_width != r->w)
        wrap(a, r->w);
    if (body > 0 && a->ptop + (size_t)body > a->nplines)
        a->ptop = a->nplines > (size_t)body ? a->nplines - (size_t)body : 0;
    snprintf(title, sizeof title, " -- %s%s -- line %zu of %zu (%d%%)%s",
             a->full_headers ? "all headers" : "message",
             a->pager_urls ? ", links" : "",
             a->ptop + 1, a->nplines,
             a->nplines ? (int)((a->ptop + (size_t)(body > 0 ? body : 0)) * 100 /
                                a->nplines > 100 ? 100 :
                                (a->ptop + (size_t)(body > 0 ? body : 0)) * 100 / a->nplines)
                        : 100,
             a->focus == PANE_PAGER ? "" : "  (Tab: focus)");
    if (a->pr.kind == PR_ATTACH && a->pager_parts[0])
        snprintf(title, sizeof title, " Parts: %s", a->pager_parts);
    ui_put(r->y, r->x, title, strlen(title), r->w, a->attr[COL_TITLE], true);
    if (a->pager_urls) {
        for (int y = 0; y < body && (size_t)y < a->nurls; y++) {
            char num[16];
            int nw;

            snprintf(num, sizeof num, "%3d  ", y + 1);
            nw = ui_put(r->y + 1 + y, r->x, num, strlen(num), r->w, a->attr[COL_NORMAL], false);
            ui_put(r->y + 1 + y, r->x + nw, a->urls[y], strlen(a->urls[y]), r->w - nw,
                   a->attr[COL_URL], false);
        }
        return;
    }
    /* Header colouring needs to know whether the first visible line is still in them. */
    for (i = 0; i < a->ptop && i < a->nplines; i++)
        if (line_end(a, i) == a->plines[i])
            in_headers = false;
    for (int y = 0; y < body && a->ptop + (size_t)y < a->nplines; y++) {
        size_t li = a->ptop + (size_t)y;
        const char *s = a->ptext.ptr + a->plines[li];
        size_t n = line_end(a, li) - a->plines[li];
        unsigned at = a->attr[COL_NORMAL];

        if (n == 0)
            in_headers = false;
        if (in_headers) {
            const char *colon = memchr(s, ':', n);

            if (colon && s[0] != ' ' && s[0] != '\t') {
                size_t hn = (size_t)(colon - s) + 1;
                int used = ui_put(r->y + 1 + y, r->x, s, hn, r->w, a->attr[COL_HEADER], false);

                draw_text_line(a, r->y + 1 + y, r->x + used, r->w - used, s + hn, n - hn, at);
                continue;
            }
        } else {
            int d = quote_depth(s, n);

            if (d > 0)
                at = a->attr[d == 1 ? COL_QUOTE1 : d == 2 ? COL_QUOTE2 : COL_QUOTE3];
        }
        draw_text_line(a, r->y + 1 + y, r->x, r->w, s, n, at);
    }
}

static void pager_scroll(struct app *a, long delta)
{
    long t = (long)a->ptop + delta;
    long body = a->lay.pane[PANE_PAGER].h - 1;
    long max = (long)a->nplines - body;

    if (max < 0)
        max = 0;
    if (t > max)
        t = max;
    if (t < 0)
        t = 0;
    a->ptop = (size_t)t;
}

static void find_in_text(struct app *a, bool back)
{
    const char *pat = a->pager_search;
    size_t n = a->nplines;

    if (!*pat) {
        app_msg(a, "No search yet: / starts one.");
        return;
    }
    if (a->pager_width == 0)
        wrap(a, a->lay.pane[PANE_PAGER].w);
    for (size_t k = 1; k <= n; k++) {
        size_t i = back ? (a->ptop + n - k) % n : (a->ptop + k) % n;
        size_t len = line_end(a, i) - a->plines[i];

        if (str_casemem(a->ptext.ptr + a->plines[i], len, pat)) {
            a->ptop = i;
            return;
        }
    }
    app_err(a, "Not found in this message: %s", pat);
}

static void pager_done(struct app *a, enum prompt_kind k, const char *text);
static int run_foreground(struct app *a, const char *in_path, char *const argv[], bool pause);

static void collect_urls(struct app *a)
{
    const char *t = a->ptext.ptr ? a->ptext.ptr : "";
    size_t len = a->ptext.len;

    free_urls(a);
    for (size_t i = 0; i < len; i++) {
        size_t s = i, e;

        if (!(str_ncasecmp(t + i, "http://", 7) == 0 || str_ncasecmp(t + i, "https://", 8) == 0 ||
              str_ncasecmp(t + i, "mailto:", 7) == 0))
            continue;
        for (e = s; e < len && (unsigned char)t[e] > ' ' && !strchr("<>\"'", t[e]); e++)
            ;
        while (e > s && strchr(".,;:)]}", t[e - 1]))
            e--;
        {
            bool dup = false;
            char *u = xstrndup(t + s, e - s);

            for (size_t k = 0; k < a->nurls; k++)
                if (strcmp(a->urls[k], u) == 0)
                    dup = true;
            if (dup) {
                free(u);
            } else {
                a->urls = xreallocarray(a->urls, a->nurls + 1, sizeof *a->urls);
                a->urls[a->nurls++] = u;
            }
        }
        i = e;
    }
}

/* Run argv in the background, detached from the screen (a viewer or a browser). */
static void spawn_detached(struct app *a, char *const argv[])
{
    pid_t pid = fork();

    if (pid < 0) {
        app_err(a, "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        setsid();
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    app_msg(a, "Started %s.", argv[0]);
}

/* The current message's raw bytes into raw; 0 or -1 with a message shown. */
static int current_raw(struct app *a, struct buf *raw)
{
    uint32_t id;
    char *path = list_current_path(a, &id);
    struct err e;
    int rc = -1;

    if (path == NULL)
        return -1;
    if (read_file(path, raw, &e) < 0)
        app_err(a, "%s", e.msg);
    else
        rc = 0;
    free(path);
    return rc;
}

static void attachments(struct app *a)
{
    struct buf raw = BUF_INIT, list = BUF_INIT;
    struct render_attachment *at = NULL;
    size_t n = 0;
    char label[80];

    if (current_raw(a, &raw) == 0)
        n = render_attachments(raw.ptr ? raw.ptr : "", raw.len, &at);
    for (size_t i = 0; i < n; i++)
        buf_printf(&list, "%s[%d] %s%s%s", i ? "  " : "", at[i].number, at[i].type,
                   at[i].name ? " " : "", at[i].name ? at[i].name : "");
    render_attachments_free(at, n);
    buf_free(&raw);
    if (n == 0) {
        app_msg(a, "This message has no parts.");
        buf_free(&list);
        return;
    }
    snprintf(label, sizeof label, "View part N, or save with 's N [PATH]' (1-%zu): ", n);
    app_prompt(a, PR_ATTACH, label, "", pager_done);
    /* The prompt line is taken: the list goes in the pager's title bar meanwhile. */
    snprintf(a->pager_parts, sizeof a->pager_parts, "%s", list.ptr);
    buf_free(&list);
}

static void attach_action(struct app *a, const char *text)
{
    struct buf raw = BUF_INIT, data = BUF_INIT;
    char numbuf[16], path[4096];
    const char *dest;
    char *name = NULL;
    char type[128] = "application/octet-stream";
    bool save = false;
    long num;
    struct err e;
    int fd;

    a->pager_parts[0] = '\0';
    while (*text == ' ')
        text++;
    if (text[0] == 's' && (text[1] == ' ' || text[1] == '\0')) {
        save = true;
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
    if (current_raw(a, &raw) < 0)
        return;
    if (render_part(raw.ptr ? raw.ptr : "", raw.len, (int)num, &data, &name, &e) < 0) {
        app_err(a, "%s", e.msg);
        goto out;
    }
    {
        struct render_attachment *at = NULL;
        size_t n = render_attachments(raw.ptr ? raw.ptr : "", raw.len, &at);

        for (size_t i = 0; i < n; i++)
            if (at[i].number == num)
                snprintf(type, sizeof type, "%s", at[i].type);
        render_attachments_free(at, n);
    }
    if (save) {
        snprintf(path, sizeof path, "%s", *dest ? dest : name ? name : "part");
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    } else {
        snprintf(path, sizeof path, "%s/tern-part.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
                                                                            : "/tmp");
        fd = mkostemp(path, O_CLOEXEC);
    }
    if (fd < 0) {
        app_err(a, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (write(fd, data.ptr ? data.ptr : "", data.len) != (ssize_t)data.len) {
        app_err(a, "%s: %s", path, strerror(errno));
        close(fd);
        goto out;
    }
    close(fd);
    if (save) {
        app_msg(a, "Saved part %ld to %s (%zu bytes).", num, path, data.len);
    } else if (access("/usr/bin/run-mailcap", X_OK) == 0) {
        /* mailcap decides: a terminal viewer (or copiousoutput through a pager) gets the
         * terminal, a graphical one its window. */
        char spec[4200];
        char *argv[] = { "run-mailcap", "--action=view", spec, NULL };
        int st;

        snprintf(spec, sizeof spec, "%s:%s", type, path);
        st = run_foreground(a, NULL, argv, false);
        if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0)
            app_err(a, "No viewer for %s in mailcap (run-mailcap exited %d); "
                    "'s %ld' saves the part.", type, WEXITSTATUS(st), num);
        unlink(path);
    } else {
        char *argv[] = { "xdg-open", path, NULL };
        spawn_detached(a, argv);
    }
out:
    free(name);
    buf_free(&raw);
    buf_free(&data);
}

static void pager_done(struct app *a, enum prompt_kind k, const char *text)
{
    long n;

    switch (k) {
    case PR_PAGER_SEARCH:
        if (*text)
            snprintf(a->pager_search, sizeof a->pager_search, "%s", text);
        find_in_text(a, false);
        break;
    case PR_URL:
        if (str_tolong(text, 1, (long)a->nurls, &n) == 0) {
            char *argv[] = { "xdg-open", a->urls[n - 1], NULL };
            spawn_detached(a, argv);
        }
        a->pager_urls = false;
        break;
    case PR_ATTACH:
        attach_action(a, text);
        break;
    case PR_PIPE:
        list_prompt_done(a, k, text);
        break;
    default:
        break;
    }
    a->dirty = true;
}

/*
 * Run argv on the terminal (curses suspended) with stdin from in_path (or the terminal) and
 * wait for it; with pause, wait for Enter before the screen comes back. ^C belongs to the
 * child meanwhile. Returns its wait status, or -1 when it could not start.
 */
static int run_foreground(struct app *a, const char *in_path, char *const argv[], bool pause)
{
    struct sigaction ign, old;
    pid_t pid;
    int st = -1;

    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGINT, &ign, &old);
    app_suspend(a);
    pid = fork();
    if (pid == 0) {
        if (in_path) {
            int fd = open(in_path, O_RDONLY);

            if (fd >= 0)
                dup2(fd, 0);
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid > 0) {
        /* Our SIGCHLD handler must not steal this child: wait for it here. */
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    if (pause) {
        static const char msg[] = "\n[press Enter to return to tern]";
        char c;

        (void)!write(STDOUT_FILENO, msg, sizeof msg - 1);
        while (read(STDIN_FILENO, &c, 1) == 1 && c != '\n' && c != '\r')
            ;
    }
    app_resume(a);
    sigaction(SIGINT, &old, NULL);
    if (pid < 0) {
        app_err(a, "fork: %s", strerror(errno));
        return -1;
    }
    return st;
}

void pager_pipe(struct app *a, const char *path, const char *cmd)
{
    char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
    int st = run_foreground(a, path, argv, true);

    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0)
        app_err(a, "'%s' exited with %d.", cmd, WEXITSTATUS(st));
}

void pager_key(struct app *a, enum cmd c)
{
    int page = a->lay.pane[PANE_PAGER].h - 2 > 1 ? a->lay.pane[PANE_PAGER].h - 2 : 1;

    a->dirty = true;
    if (a->pager_urls && c != CMD_URLS && c != CMD_QUIT && c != CMD_OPEN) {
        a->pager_urls = false;
    }
    switch (c) {
    case CMD_UP: pager_scroll(a, -1); break;
    case CMD_DOWN: pager_scroll(a, 1); break;
    case CMD_OPEN:
        if (a->pager_urls)
            app_prompt(a, PR_URL, "Open link number: ", "", pager_done);
        else
            pager_scroll(a, 1);
        break;
    case CMD_PAGE_UP: pager_scroll(a, -page); break;
    case CMD_PAGE_DOWN: pager_scroll(a, page); break;
    case CMD_HALF_UP: pager_scroll(a, -page / 2); break;
    case CMD_HALF_DOWN: pager_scroll(a, page / 2); break;
    case CMD_FIRST: a->ptop = 0; break;
    case CMD_LAST: pager_scroll(a, (long)a->nplines); break;
    case CMD_PAGE: {
        size_t before = a->ptop;

        pager_scroll(a, page);
        if (a->ptop == before) {            /* at the end: on to the next message */
            size_t cur = a->cur;

            list_key(a, CMD_DOWN);
            if (a->cur == cur)
                app_msg(a, "This is the last message.");
        }
        break;
    }
    case CMD_QUIT:
        if (a->pager_urls)
            a->pager_urls = false;
        else
            pager_close(a);
        break;
    case CMD_SEARCH:
    case CMD_SEARCH_BACK:
        app_prompt(a, PR_PAGER_SEARCH, "Search in message: ", "", pager_done);
        break;
    case CMD_SEARCH_NEXT: find_in_text(a, false); break;
    case CMD_SEARCH_PREV: find_in_text(a, true); break;
    case CMD_HEADERS:
        a->full_headers = !a->full_headers;
        pager_open_current(a);
        break;
    case CMD_URLS:
        collect_urls(a);
        if (a->nurls == 0) {
            app_msg(a, "No links in this message.");
        } else {
            a->pager_urls = true;
            app_prompt(a, PR_URL, "Open link number: ", "", pager_done);
        }
        break;
    case CMD_ATTACHMENTS:
        attachments(a);
        break;
    case CMD_PIPE:
        app_prompt(a, PR_PIPE, "Pipe to command: ", "", pager_done);
        break;
    default:
        /* Message commands (d, F, s, ...) act on the message shown. */
        list_key(a, c);
        break;
    }
}
