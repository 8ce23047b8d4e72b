/* The full-screen client's event loop: one poll over the terminal, a self-pipe for signals and
 * the pipes of background children, with timers. Keys go to the prompt, the overlay or the
 * focused pane through its ops table; panes are told about changes by events (app_notify), mark
 * themselves dirty, and the dirty ones are drawn once per turn. Nothing here waits for the
 * network: fetch and flush are child processes. The loop owns opening folders (model.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tern/log.h"
#include "tern/message.h"
#include "tern/model.h"
#include "tern/paths.h"
#include "tern/queue.h"
#include "tern/str.h"
#include "tern/ui.h"
#include "tern/xalloc.h"
#include "tcurses.h"
#include "ui.h"

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t curses_on;
static volatile sig_atomic_t int_pending;
static char self_path[4096];

/* Put the terminal back the way we found it; safe to call twice. */
static void restore_terminal(void)
{
    if (curses_on) {
        curses_on = 0;
        mousemask(0, NULL);
        curs_set(1);
        endwin();
    }
}

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;

    if (sig == SIGINT && int_pending) {
        /* The loop did not get to the first ^C: leave anyway, terminal first. */
        restore_terminal();
        _exit(130);
    }
    if (sig == SIGINT)
        int_pending = 1;
    if (sig_pipe[1] >= 0)
        (void)!write(sig_pipe[1], &c, 1);
    errno = saved;
}

/* A crash must not leave the terminal in raw mode: restore it, then die the same way. */
static void on_fatal(int sig)
{
    restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

const char *app_self(void)
{
    return self_path;
}

static void app_vmsg(struct app *a, bool error, const char *fmt, va_list ap)
{
    vsnprintf(a->msg, sizeof a->msg, fmt, ap);
    for (char *p = a->msg; *p; p++)
        if ((unsigned char)*p < 32)
            *p = ' ';
    a->msg_error = error;
    a->msg_time = time(NULL);
    app_dirty(a, -1);
    msglog_add(a, error, a->msg);
}

void app_msg(struct app *a, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    app_vmsg(a, false, fmt, ap);
    va_end(ap);
}

void app_err(struct app *a, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    app_vmsg(a, true, fmt, ap);
    va_end(ap);
}

void app_prompt(struct app *a, enum prompt_kind k, const char *label, const char *init,
                prompt_done_fn done)
{
    a->pr.kind = k;
    snprintf(a->pr.label, sizeof a->pr.label, "%s", label);
    buf_reset(&a->pr.text);
    buf_adds(&a->pr.text, init ? init : "");
    a->pr.cur = a->pr.text.len;
    a->pr.onekey = (k == PR_SORT || k == PR_CONFIRM_QUIT || k == PR_CONFIRM_PURGE ||
                    k == PR_CONFIRM_BOUNCE);
    a->pr.done = done;
    a->pr.complete = NULL;
    a->msg[0] = '\0';
    app_dirty_all(a);
}

void app_dirty(struct app *a, int id)
{
    if (id >= 0 && id < NPANES)
        a->panes[id]->dirty = true;
    else
        a->prompt->dirty = true;
}

void app_dirty_all(struct app *a)
{
    a->redraw_all = true;
}

static bool needs_redraw(const struct app *a)
{
    if (a->redraw_all || a->prompt->dirty || (a->overlay && a->overlay->dirty))
        return true;
    for (int i = 0; i < NPANES; i++)
        if (a->panes[i]->dirty)
            return true;
    return false;
}

void app_notify(struct app *a, enum ui_event ev)
{
    for (int i = 0; i < NPANES; i++)
        if (a->panes[i]->ops->notify)
            a->panes[i]->ops->notify(a, a->panes[i], ev);
    if (ev != EV_TICK)
        a->prompt->dirty = true;         /* the status bar shows the folder's counts */
}

void app_pane_key(struct app *a, int id, enum action act)
{
    struct pane *p = a->panes[id];

    p->ops->key(a, p, act, 0);
}

void app_relayout(struct app *a)
{
    int fw = 22;

    getmaxyx(stdscr, a->rows, a->cols);
    layout_compute(a->rows, a->cols, fw, a->pager_open, a->zoom, &a->lay);
    /* Keep the focus on something visible. */
    if (a->lay.pane[a->focus].h == 0) {
        if (a->pager_open && a->lay.pane[PANE_PAGER].h > 0)
            a->focus = PANE_PAGER;
        else
            a->focus = PANE_LIST;
    }
    for (int i = 0; i < NPANES; i++)
        if (a->panes[i]->ops->resize)
            a->panes[i]->ops->resize(a, a->panes[i], &a->lay.pane[i]);
    app_dirty_all(a);
}

void app_set_pager(struct app *a, bool open)
{
    if (open == a->pager_open)
        return;
    a->pager_open = open;
    if (!open) {
        if (a->zoom == PANE_PAGER)
            a->zoom = -1;
        a->focus = PANE_LIST;
    }
    app_relayout(a);
    if (!open)
        app_notify(a, EV_PAGER_CLOSED);
}

void app_overlay(struct app *a, struct pane *p)
{
    pane_free(a->overlay);
    a->overlay = p;
    app_dirty_all(a);
}

struct pane *pane_new(const struct pane_ops *ops, void *data)
{
    struct pane *p = xcalloc(1, sizeof *p);

    p->ops = ops;
    p->data = data;
    p->dirty = true;             /* never drawn yet */
    return p;
}

void pane_free(struct pane *p)
{
    if (p == NULL)
        return;
    if (p->ops->free != NULL)
        p->ops->free(p);
    free(p->data);
    free(p);
}

/* The help and message-log overlays scroll alike; *top is their first line, last what
 * ACT_LAST sets it to (each draw clamps it). Any key that does not scroll closes them. */
void app_overlay_scroll(struct app *a, int *top, int last, enum action c)
{
    int page = a->rows - 3 > 1 ? a->rows - 3 : 1;

    switch (c) {
    case ACT_DOWN: (*top)++; break;
    case ACT_UP: *top = *top > 0 ? *top - 1 : 0; break;
    case ACT_PAGE_DOWN: case ACT_PAGE: case ACT_HALF_DOWN: *top += page; break;
    case ACT_PAGE_UP: case ACT_HALF_UP: *top = *top > page ? *top - page : 0; break;
    case ACT_FIRST: *top = 0; break;
    case ACT_LAST: *top = last; break;
    case ACT_EXIT: a->running = false; break;
    default: app_overlay(a, NULL); break;
    }
}

static void init_colors(struct app *a, const struct color_spec colors[NCOLOBJ])
{
    bool color = has_colors() && getenv("NO_COLOR") == NULL;
    short pair = 1;

    if (color) {
        start_color();
        use_default_colors();
    }
    for (int o = 0; o < NCOLOBJ; o++) {
        const struct color_spec *s = &colors[o];
        unsigned at = A_NORMAL;

        if (s->attrs & COLA_BOLD)
            at |= A_BOLD;
        if (s->attrs & COLA_UNDERLINE)
            at |= A_UNDERLINE;
        if (s->attrs & COLA_DIM)
            at |= A_DIM;
        if (s->attrs & COLA_STANDOUT)
            at |= A_STANDOUT;
        if (color && (s->fg >= 0 || s->bg >= 0) && s->fg < COLORS && s->bg < COLORS &&
            pair < COLOR_PAIRS) {
            init_pair(pair, s->fg, s->bg);
            at |= (unsigned)COLOR_PAIR(pair);
            pair++;
            /* With a background colour, reverse would swap it away. */
            if ((s->attrs & COLA_REVERSE) && s->bg < 0)
                at |= A_REVERSE;
        } else if (s->attrs & COLA_REVERSE) {
            at |= A_REVERSE;
        }
        a->attr[o] = at;
    }
}

static int start_curses(struct app *a, const struct color_spec colors[NCOLOBJ])
{
    /* newterm, not initscr: an unknown $TERM is an error to report, not an exit. */
    if (newterm(NULL, stdout, stdin) == NULL)
        return -1;
    curses_on = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED |
                  BUTTON5_PRESSED, NULL);
    mouseinterval(0);
    init_colors(a, colors);
    app_relayout(a);
    return 0;
}

void app_suspend(struct app *a)
{
    (void)a;
    def_prog_mode();
    endwin();
}

void app_resume(struct app *a)
{
    reset_prog_mode();
    clearok(stdscr, TRUE);
    app_relayout(a);
}

static void draw_vsep(struct app *a)
{
    int x = a->lay.vsep_x;

    if (x < 0)
        return;
    attrset(a->attr[COL_BORDER]);
    for (int y = 0; y < a->lay.pane[PANE_FOLDERS].h; y++)
        mvaddch(y, x, ACS_VLINE);
    attrset(A_NORMAL);
}

static void draw_pane(struct app *a, struct pane *p, const struct rect *r, bool clear)
{
    if (clear)
        for (int y = 0; y < r->h; y++)
            ui_fill(r->y + y, r->x, r->w, a->attr[COL_NORMAL]);
    p->ops->draw(a, p, r);
    p->dirty = false;
}

/*
 * One redraw pass per loop turn: everything after a layout change or an overlay, else only
 * the panes marked dirty (a key that moves the list cursor redraws the list, not the pager).
 * The status and prompt lines are always drawn: they are one line each.
 */
static void redraw(struct app *a)
{
    bool all = a->redraw_all;

    if (all)
        erase();
    if (a->overlay) {
        struct rect r = { 0, 0, a->lay.status.y, a->cols };

        if (all || a->overlay->dirty)
            draw_pane(a, a->overlay, &r, !all);
    } else {
        for (int i = 0; i < NPANES; i++) {
            const struct rect *r = &a->lay.pane[i];

            if (r->h > 0 && r->w > 0 && (all || a->panes[i]->dirty))
                draw_pane(a, a->panes[i], r, !all);
            a->panes[i]->dirty = false;
        }
        if (all)
            draw_vsep(a);
    }
    status_draw(a);
    draw_pane(a, a->prompt, &a->lay.prompt, false);  /* last: it places the cursor */
    refresh();
    a->redraw_all = false;
}

static void on_resize(struct app *a)
{
    struct winsize ws;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    clearok(stdscr, TRUE);
    app_relayout(a);
}

static void on_mouse(struct app *a)
{
    MEVENT ev;
    int p;

    if (getmouse(&ev) != OK || a->pr.kind != PR_NONE || a->overlay)
        return;
    p = layout_hit(&a->lay, ev.y, ev.x);
    if (p < 0)
        return;
    if (ev.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
        enum action c = (ev.bstate & BUTTON4_PRESSED) ? ACT_UP : ACT_DOWN;

        if (a->panes[p]->ops->wheel) {
            a->panes[p]->ops->wheel(a, a->panes[p], c == ACT_UP ? -3 : 3);
            return;
        }
        for (int i = 0; i < 3; i++)
            app_pane_key(a, p, c);
        return;
    }
    if (p != a->focus)
        app_dirty_all(a);               /* the focus shows in more than one pane */
    a->focus = p;
    if (a->panes[p]->ops->click)
        a->panes[p]->ops->click(a, a->panes[p], ev.y - a->lay.pane[p].y);
    a->panes[p]->dirty = true;
}

static void cycle_focus(struct app *a)
{
    for (int i = 1; i <= NPANES; i++) {
        int p = (a->focus + i) % NPANES;

        if (a->lay.pane[p].h > 0 && a->lay.pane[p].w > 0) {
            a->focus = p;
            break;
        }
    }
    app_dirty_all(a);
}

/* A fetch or flush ended: say how, and let the list and the counts catch up. */
static void job_done(struct app *a, const char *name, int status, const char *last_line)
{
    if (status == 0)
        app_msg(a, "%s: done%s%s", name, last_line && *last_line ? ": " : "",
                last_line ? last_line : "");
    else
        app_err(a, "%s", last_line);
    app_refresh(a);
    app_notify(a, EV_FOLDERS_CHANGED);
}

static void flush_done(struct app *a, const char *name, int status, const char *last_line)
{
    a->next_queue_check = time(NULL);   /* what was deferred: when is it due? */
    job_done(a, name, status, last_line);
}

static const struct job_ops fetch_job = { JOB_FETCH, "fetch", "starting", app_refresh, job_done };
static const struct job_ops flush_job = { JOB_FLUSH, "flush", "starting", app_refresh, flush_done };

/* Start a fetch or flush child; passwords typed this session go on a private pipe. args
 * (NULL-terminated, at most 4) get --password-fd 4 then. */
static void start_with_passwords(struct app *a, const struct job_ops *k, char *const *args,
                                 bool smtp)
{
    struct buf sec = BUF_INIT;
    char *all[8];
    int n = 0, rc;

    for (size_t i = 0; args && args[i] && n < 4; i++)
        all[n++] = args[i];
    ui_passwords_for_child(a, smtp, &sec);
    if (sec.len > 0) {
        all[n++] = "--password-fd";
        all[n++] = "4";
    }
    all[n] = NULL;
    rc = sec.len > 0 ? job_start_secret(a, k, all, sec.ptr, sec.len) : job_start(a, k, all);
    for (volatile char *p = sec.ptr; p && p < sec.ptr + sec.cap; p++)
        *p = '\0';
    buf_free(&sec);
    if (rc == 0)
        app_msg(a, k == &fetch_job ? "Fetching in the background..."
                                   : "Sending the queue in the background...");
}

static void flush_all(struct app *a);

void app_fetch(struct app *a)
{
    if (jobs_running(a, JOB_FETCH)) {
        app_msg(a, "A fetch is already running.");
        return;
    }
    if (!ui_passwords_ready(a, false, app_fetch))
        return;
    start_with_passwords(a, &fetch_job, NULL, false);
}

/* all: ignore the retry backoff and try held messages too (the user asked for it now). */
static void start_flush(struct app *a, bool all)
{
    /* all: the user asked for it now, so held messages are tried again too */
    char *args[] = { all ? "--all" : NULL, "--retry-held", NULL };

    if (jobs_running(a, JOB_FLUSH)) {
        app_msg(a, "A flush is already running.");
        return;
    }
    if (!ui_passwords_ready(a, true, all ? flush_all : app_flush))
        return;
    start_with_passwords(a, &flush_job, args, true);
}

static void flush_all(struct app *a)
{
    start_flush(a, true);
}

void app_flush(struct app *a)
{
    start_flush(a, false);
}

/*
 * Run argv on the terminal (curses suspended) with stdin from in_path (or the terminal) and
 * wait for it; with pause, wait for Enter before the screen comes back. ^C belongs to the
 * child meanwhile. Returns its wait status, or -1 when it could not start.
 */
int app_foreground(struct app *a, const char *in_path, char *const argv[], bool pause)
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

void app_pipe(struct app *a, const char *path, const char *cmd)
{
    char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
    int st = app_foreground(a, path, argv, true);

    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0)
        app_err(a, "'%s' exited with %d.", cmd, WEXITSTATUS(st));
}

static void dispatch(struct app *a, int key)
{
    enum action c;

    if (key == KEYF(KEY_MOUSE)) {
        on_mouse(a);
        return;
    }
    if (key == KEYF(KEY_RESIZE)) {
        /* resizeterm() queues this after our own SIGWINCH handling: the size is known. */
        app_relayout(a);
        return;
    }
    if (a->pr.kind != PR_NONE) {
        enum prompt_kind was = a->pr.kind;

        a->prompt->ops->key(a, a->prompt, ACT_NONE, key);
        a->prompt->dirty = true;
        if (a->pr.kind != was)
            app_dirty_all(a);           /* a pane may show the prompt's state (parts) */
        return;
    }
    if (a->msg[0]) {
        a->msg[0] = '\0';
        a->prompt->dirty = true;
    }
    if (a->meta) {                      /* Esc, then this key: mutt's "Esc v" */
        a->meta = false;
        if (!KEY_IS_F(key) && key != 27)
            key = KEYM(key);
    } else if (key == 27 && a->overlay == NULL && keymap_lookup(&a->km, 27) == ACT_NONE) {
        a->meta = true;
        return;
    }
    c = keymap_lookup(&a->km, key);
    if (a->overlay) {
        a->overlay->ops->key(a, a->overlay, c, key);
        return;
    }
    if (c == ACT_NONE) {
        char nm[32];

        a->tag_prefix = false;          /* `;` then a stray key: the `;` is spent */
        ui_key_name(key, nm, sizeof nm);
        app_msg(a, "Key %s is not bound. Press ? for help.", nm);
        return;
    }
    app_run(a, c);
}

static void change_done(struct app *a, enum prompt_kind k, const char *text)
{
    (void)k;
    if (*text && app_open_folder(a, text) == 0)
        a->focus = PANE_LIST;
}

/* What a compose key writes: a new message, a reply, a forward, or the draft resumed. */
static enum compose_kind compose_kind_of(enum action c)
{
    switch (c) {
    case ACT_REPLY: return COMPOSE_REPLY;
    case ACT_GROUP_REPLY: return COMPOSE_REPLY_ALL;
    case ACT_LIST_REPLY: return COMPOSE_REPLY_LIST;
    case ACT_FORWARD: return COMPOSE_FORWARD;
    case ACT_EDIT_DRAFT: return COMPOSE_RESUME;
    default: return COMPOSE_NEW;
    }
}

void app_run(struct app *a, enum action c)
{
    struct pane *p;

    a->prompt->dirty = true;
    if (c == ACT_HELP || c == ACT_COMMAND || c == ACT_FETCH || c == ACT_FLUSH ||
        c == ACT_CANCEL || c == ACT_REDRAW || c == ACT_ZOOM || c == ACT_NEXT_PANE ||
        c == ACT_FOLDERS || c == ACT_CHANGE_FOLDER || c == ACT_MESSAGES || c == ACT_QUERY)
        a->tag_prefix = false;          /* `;` applies to message commands only */
    switch (c) {
    case ACT_HELP:
        app_overlay(a, help_pane_new());
        return;
    case ACT_COMMAND:
        app_prompt(a, PR_COMMAND, ":", "", NULL);
        return;
    case ACT_EXIT:
        a->running = false;
        return;
    case ACT_FETCH:
        app_fetch(a);
        return;
    case ACT_COMPOSE:
    case ACT_REPLY:
    case ACT_GROUP_REPLY:
    case ACT_LIST_REPLY:
    case ACT_FORWARD:
    case ACT_EDIT_DRAFT:
        if (a->tag_prefix && c != ACT_COMPOSE && c != ACT_EDIT_DRAFT) {
            size_t n;
            uint32_t *ids = list_targets(a, &n);

            ui_compose_many(a, compose_kind_of(c), ids, n);
            free(ids);
            return;
        }
        a->tag_prefix = false;
        ui_compose(a, compose_kind_of(c));
        return;
    case ACT_ALIAS:
    case ACT_BOUNCE:
    case ACT_MESSAGES:
    case ACT_QUERY:
        msgcmd_run(a, c);
        return;
    case ACT_FLUSH:
        start_flush(a, true);
        return;
    case ACT_CANCEL:
        jobs_cancel_all(a);
        return;
    case ACT_REDRAW:
        clearok(stdscr, TRUE);
        app_dirty_all(a);
        return;
    case ACT_ZOOM:
        a->zoom = a->zoom >= 0 ? -1 : a->focus;
        app_relayout(a);
        return;
    case ACT_NEXT_PANE:
        cycle_focus(a);
        return;
    case ACT_FOLDERS:
        if (a->zoom >= 0) {
            a->zoom = -1;
            app_relayout(a);
        }
        if (a->lay.pane[PANE_FOLDERS].h > 0)
            a->focus = PANE_FOLDERS;
        app_dirty_all(a);
        return;
    case ACT_CHANGE_FOLDER:
        app_prompt(a, PR_CHANGE, "Open folder: ", "", change_done);
        return;
    default:
        break;
    }
    p = a->panes[a->focus == PANE_PAGER && !a->pager_open ? PANE_LIST : a->focus];
    p->ops->key(a, p, c, 0);
}

static void read_keys(struct app *a)
{
    wint_t ch;
    int r;

    while ((r = get_wch(&ch)) != ERR) {
        int key;

        if (r == KEY_CODE_YES) {
            if (ch == KEY_ENTER)
                key = '\r';
            else if (ch == KEY_BACKSPACE)
                key = KEYF(KEY_BACKSPACE);
            else
                key = KEYF((int)ch);
        } else if (ch == '\n' || ch == '\r') {
            key = '\r';
        } else if (ch == 127 || ch == 8) {
            key = KEYF(KEY_BACKSPACE);
        } else {
            key = (int)ch;
        }
        dispatch(a, key);
        if (!a->running)
            return;
    }
}

static void read_signals(struct app *a)
{
    unsigned char sigs[64];
    ssize_t n = read(sig_pipe[0], sigs, sizeof sigs);

    for (ssize_t i = 0; i < n; i++) {
        switch (sigs[i]) {
        case SIGWINCH:
            on_resize(a);
            break;
        case SIGCHLD:
            jobs_reap(a);
            break;
        case SIGINT:
            int_pending = 0;
            if (a->pr.kind != PR_NONE) {
                a->pr.kind = PR_NONE;       /* ^C cancels a prompt first */
                app_dirty_all(a);
                break;
            }
            a->exit_code = 130;
            a->running = false;
            break;
        default:                            /* SIGTERM, SIGHUP */
            a->exit_code = 128 + sigs[i];
            a->running = false;
            break;
        }
    }
}

/*
 * Queued messages are retried by the client itself: when one is due a flush job starts
 * (at most one a minute, so a flush that cannot help is not restarted in a loop); otherwise
 * the loop wakes when the next one is due. The queue is read once a minute at most.
 */
static void flush_due(struct app *a, time_t now)
{
    struct queue *q;
    struct err e;
    time_t due = 0;
    int r;

    a->next_queue_check = now + 60;
    if (jobs_running(a, JOB_FLUSH) || queue_open_cfg(a->cfg, a->root, &q, &e) < 0)
        return;
    r = queue_next_due(q, &due, &e);
    queue_close(q);
    if (r != 1)
        return;
    if (due > now) {
        if (due < a->next_queue_check)
            a->next_queue_check = due;
    } else if (now - a->last_auto_flush >= 60) {
        a->last_auto_flush = now;
        start_flush(a, false);
    } else {
        a->next_queue_check = a->last_auto_flush + 60;
    }
}

static void on_timers(struct app *a, time_t now)
{
    if (now >= a->next_queue_check)
        flush_due(a, now);
    if (a->cfg->fetch_interval > 0 && now >= a->next_fetch) {
        a->next_fetch = now + a->cfg->fetch_interval * 60;
        if (!jobs_running(a, JOB_FETCH))
            app_fetch(a);
    }
    if (now >= a->next_check) {
        /* New mail delivered by others (another tern, an MDA) shows up without a keypress
         * even without a watch (the loop polls the folder's watch when it has one); the
         * index refresh is a directory stat when nothing changed. Our own workers'
         * deliveries arrive as events (jobs.h), not through this poll. Every 3 seconds,
         * or $TERN_CHECK_EVERY: the tests set it high to see that the watch alone shows a
         * change. */
        a->next_check = now + str_env_long("TERN_CHECK_EVERY", 1, 100000000, 3);
        app_refresh(a);
        app_notify(a, EV_TICK);
    }
    if (now >= a->next_learn)
        app_learn_flush(a);
    if (a->msg[0] && !a->msg_error && now - a->msg_time >= 8 && a->pr.kind == PR_NONE) {
        a->msg[0] = '\0';
        a->prompt->dirty = true;
    }
}

static int next_timeout(const struct app *a, time_t now)
{
    time_t t = a->next_check;

    if (a->cfg->fetch_interval > 0 && a->next_fetch < t)
        t = a->next_fetch;
    if (a->next_learn < t)
        t = a->next_learn;
    if (a->next_queue_check < t)
        t = a->next_queue_check;
    if (t <= now)
        return 0;
    if (t - now > 60)
        return 60000;
    return (int)(t - now) * 1000;
}

static void loop(struct app *a)
{
    struct pollfd fds[40];

    while (a->running) {
        int n = 0, r;
        time_t now;

        if (needs_redraw(a))
            redraw(a);
        fds[n].fd = STDIN_FILENO, fds[n].events = POLLIN, n++;
        fds[n].fd = sig_pipe[0], fds[n].events = POLLIN, n++;
        /* the open folder's watch: another program's renames and deliveries show at once
         * (-1, which poll skips, while there is none or a child re-indexes the folder) */
        fds[n].fd = a->m && !a->pending_folder ? model_watch_fd(a->m) : -1;
        fds[n].events = POLLIN, n++;
        n += jobs_pollfds(a, fds + n, (int)(sizeof fds / sizeof fds[0]) - n);
        r = poll(fds, (nfds_t)n, next_timeout(a, time(NULL)));
        if (r < 0 && errno != EINTR) {
            app_err(a, "poll: %s", strerror(errno));
            a->exit_code = EX_OSERR;
            break;
        }
        if (r > 0) {
            if (fds[1].revents & POLLIN)
                read_signals(a);
            if (fds[2].revents & POLLIN)
                app_refresh(a);         /* reads the events: quiet until the next change */
            for (int i = 3; i < n; i++)
                if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
                    jobs_input(a, fds[i].fd);
            if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
                a->running = false;         /* the terminal went away */
                a->exit_code = 128 + SIGHUP;
                break;
            }
            if (fds[0].revents & POLLIN)
                read_keys(a);
        }
        now = time(NULL);
        on_timers(a, now);
    }
}

static int setup_signals(void)
{
    struct sigaction sa;
    static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        struct sigaction old;

        /* Leave a sanitizer's handler alone; it prints the report we want. */
        if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler != SIG_DFL)
            continue;
        signal(fatal[i], on_fatal);
    }
    return 0;
}

static void free_panes(struct app *a)
{
    pane_free(a->overlay);
    for (int i = 0; i < NPANES; i++)
        pane_free(a->panes[i]);
    pane_free(a->prompt);
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-c FILE] [-f FOLDER]\n", prog);
}

int ui_main(int argc, char **argv, const struct globals *g)
{
    struct app app;
    struct app *a = &app;
    struct buf warn = BUF_INIT;
    struct color_spec colors[NCOLOBJ];
    const char *folder = NULL;
    ssize_t sl;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
            folder = argv[++i];
        else if (strncmp(argv[i], "-f", 2) == 0 && argv[i][2])
            folder = argv[i] + 2;
        else {
            usage(g->progname);
            return TERN_EX_USAGE;
        }
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "%s: the full-screen client needs a terminal; see %s --help\n",
                g->progname, g->progname);
        return TERN_EX_USAGE;
    }
    memset(a, 0, sizeof *a);
    a->g = g;
    rc = cmd_load_config(g, &a->cfg);
    if (rc != 0)
        return rc;
    a->root = paths_root(a->cfg->mail_root);
    sl = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (sl > 0)
        self_path[sl] = '\0';
    else
        snprintf(self_path, sizeof self_path, "%s", argv[0]);

    keymap_defaults(&a->km);
    keymap_apply(&a->km, a->cfg->keys, a->cfg->nkeys, &warn);
    colors_defaults(colors);
    colors_apply(colors, a->cfg->colors, a->cfg->ncolors, &warn);
    buf_init(&a->pr.text);
    buf_init(&a->log);
    a->panes[PANE_FOLDERS] = folders_pane_new();
    a->panes[PANE_LIST] = list_pane_new();
    a->panes[PANE_PAGER] = pager_pane_new();
    a->prompt = pane_new(&prompt_pane_ops, NULL);
    a->zoom = -1;
    a->focus = PANE_LIST;
    a->running = true;
    a->redraw_all = true;
    if (setup_signals() < 0) {
        fprintf(stderr, "%s: pipe: %s\n", g->progname, strerror(errno));
        return EX_OSERR;
    }
    log_set_fd(-1);             /* nothing may write over the screen */
    atexit(restore_terminal);
    xalloc_set_die_hook(restore_terminal);  /* out of memory must not leave the terminal raw */
    if (start_curses(a, colors) < 0) {
        const char *t = getenv("TERM");

        fprintf(stderr, "%s: cannot use the terminal type '%s' (see TERM)\n", g->progname,
                t ? t : "");
        free_panes(a);
        keymap_free(&a->km);
        buf_free(&a->pr.text);
        buf_free(&a->log);
        free(a->root);
        config_free(a->cfg);
        return EX_UNAVAILABLE;
    }

    folders_scan(a);
    app_session_listen(a);
    if (app_open_folder(a, folder ? folder : "INBOX") < 0 && folder == NULL &&
        (folders_name(a, 0) == NULL || app_open_folder(a, folders_name(a, 0)) < 0))
        app_await_folder(a, "INBOX");   /* first run: it opens when a fetch creates it */
    if (warn.len > 0) {
        char *nl = strchr(warn.ptr, '\n');

        if (nl)
            *nl = '\0';
        app_err(a, "%s: %s", a->cfg->path, warn.ptr);
    }
    buf_free(&warn);
    ui_compose_offer_recovery(a);
    {
        time_t now = time(NULL);

        a->next_check = now;     /* counts and refresh right after the first screen */
        a->next_queue_check = now;
        a->next_fetch = now + a->cfg->fetch_interval * 60;
    }
    app_learn_flush(a);         /* nothing to write yet: starts the timer */
    loop(a);

    jobs_cancel_all(a);
    app_learn_flush(a);
    if (a->exit_code == 128 + SIGHUP) {
        /* The terminal is gone: nothing to restore or to report on it, and nothing worth a
         * slow exit (a sanitizer's exit-time leak scan was seen to spin after a hangup). */
        _exit(a->exit_code);
    }
    restore_terminal();
    jobs_free(a);
    model_close(a->m);
    free(a->pending_folder);
    learn_free(a->learn);
    free_panes(a);
    buf_free(&a->pr.text);
    buf_free(&a->log);
    keymap_free(&a->km);
    free(a->root);
    notify_free();
    config_free(a->cfg);
    if (a->msg_error && a->msg[0])
        fprintf(stderr, "%s: %s\n", g->progname, a->msg);
    return a->exit_code;
}
