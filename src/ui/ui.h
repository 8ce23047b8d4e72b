/* Internal to the full-screen client: panes, the loop, keys, colours, jobs, the prompt.
 * Only src/ui and main.c include curses; the pure parts (layout, key and colour parsing, width
 * clipping) keep curses out of their signatures so the Check suite can test them directly. */
#ifndef TERN_UI_INTERNAL_H
#define TERN_UI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "tern/buf.h"
#include "tern/cmd.h"
#include "tern/compose.h"
#include "tern/config.h"
#include "jobs.h"

/* ---- geometry (layout.c) ---- */

struct rect {
    int y, x, h, w;
};

enum pane_id { PANE_FOLDERS, PANE_LIST, PANE_PAGER, NPANES };

struct layout {
    struct rect pane[NPANES];   /* h == 0 or w == 0: hidden */
    struct rect status, prompt;
    int vsep_x;                 /* column of the folder/list separator, -1 when none */
};

/* Split a rows x cols screen: folders | (list over pager), status and prompt lines at the
 * bottom. zoom >= 0 gives that pane the whole area; pager_open adds the pager under the list. */
void layout_compute(int rows, int cols, int folder_w, bool pager_open, int zoom,
                    struct layout *out);
/* Which pane holds screen cell (y, x), or -1. */
int layout_hit(const struct layout *l, int y, int x);

/* ---- text width (draw.c) ---- */

/*
 * How many bytes of the UTF-8 text s (n bytes) fit in cols terminal columns without splitting
 * a character; zero-width marks after the last character that fits stay with it. *used gets
 * the columns taken. Invalid bytes and controls count one column (they are drawn as '?').
 */
size_t ui_clip(const char *s, size_t n, int cols, int *used);
/*
 * How many bytes of the line s (n bytes) go on one screen line of cols columns when
 * wrapping: up to and with the last space that fits, so that words stay whole; a word
 * longer than the line is broken; at least one character, so that wrapping advances.
 */
size_t ui_wrap(const char *s, size_t n, int cols);

/* ---- actions and keys (keys.c) ---- */

/* What a key does. Named act_* so as not to be confused with src/cmd's subcommands. */

enum action {
    ACT_NONE = 0,
    ACT_UP, ACT_DOWN, ACT_PAGE_UP, ACT_PAGE_DOWN, ACT_HALF_UP, ACT_HALF_DOWN,
    ACT_FIRST, ACT_LAST, ACT_NEXT_PANE, ACT_OPEN, ACT_PAGE, ACT_QUIT, ACT_EXIT,
    ACT_SEARCH, ACT_SEARCH_BACK, ACT_SEARCH_NEXT, ACT_SEARCH_PREV, ACT_LIMIT,
    ACT_CHANGE_FOLDER, ACT_THREADS, ACT_SORT, ACT_SORT_REVERSE, ACT_TOGGLE_READ, ACT_FLAG,
    ACT_DELETE, ACT_UNDELETE, ACT_MOVE, ACT_COPY, ACT_EXPUNGE, ACT_ATTACHMENTS, ACT_HEADERS,
    ACT_PIPE, ACT_HELP, ACT_COMMAND, ACT_FETCH, ACT_FLUSH, ACT_CANCEL, ACT_ZOOM, ACT_REDRAW,
    ACT_URLS, ACT_NEXT_UNREAD, ACT_FOLDERS,
    ACT_COMPOSE, ACT_REPLY, ACT_GROUP_REPLY, ACT_LIST_REPLY, ACT_FORWARD, ACT_EDIT_DRAFT,
    /* tags and threads, as mutt */
    ACT_TAG, ACT_TAG_PATTERN, ACT_UNTAG_PATTERN, ACT_TAG_PREFIX, ACT_COLLAPSE_THREAD,
    ACT_COLLAPSE_ALL, ACT_DELETE_THREAD, ACT_UNDELETE_THREAD, ACT_READ_THREAD, ACT_NEXT_THREAD,
    ACT_PREV_THREAD, ACT_PARENT,
    ACT_ALIAS, ACT_BOUNCE, ACT_MESSAGES, ACT_QUERY,
    NACTIONS
};

/* Keys: a Unicode code point, a control character, or KEYF(curses KEY_ value). */
#define KEYF(k) (0x40000000 | (k))
#define KEY_IS_F(k) (((k) & 0x40000000) != 0)
/* Esc then a key (mutt's "Esc v"; what Alt+v sends). */
#define KEYM(k) (0x20000000 | (k))
#define KEY_IS_M(k) (((k) & 0x20000000) != 0)

struct binding {
    int key;
    enum action act;
};

struct keymap {
    struct binding *b;
    size_t n;
};

/* The sort prompt's letters, the same in the prompt and on the help screen. */
#define SORT_KEYS_HELP "(d)ate (a)rrival (f)rom (s)ubject si(z)e (t)hreads on/off"

const char *act_name(enum action c);
const char *act_help(enum action c);
/* The command called name ("down", "page-down"...), or ACT_NONE. */
enum action act_lookup(const char *name);
/* Parse "j", "J", "^D", "C-d", "<Down>", "<PageDown>", "<Tab>", "<Enter>", "<F5>"...
 * into *key. 0 on success, -1 when unknown. */
int ui_key_parse(const char *name, int *key);
/* A readable name of key for the help screen ("j", "^D", "<Down>"). */
void ui_key_name(int key, char *out, size_t n);
void keymap_defaults(struct keymap *km);
void keymap_free(struct keymap *km);
/* Bind key to act, taking it away from any other command. */
void keymap_bind(struct keymap *km, int key, enum action act);
/* Apply the [keys] section: "command = KEY [KEY...]" or "command = none". Problems are
 * appended to warn (one line each, naming the line); the rest still applies. */
void keymap_apply(struct keymap *km, const struct config_pair *p, size_t n, struct buf *warn);
enum action keymap_lookup(const struct keymap *km, int key);
/* Every key bound to act, space-separated, into out. */
void keymap_keys_of(const struct keymap *km, enum action act, struct buf *out);

/* ---- colours (colors.c) ---- */

enum color_obj {
    COL_NORMAL, COL_STATUS, COL_PROMPT, COL_CURSOR, COL_TREE, COL_NEW, COL_FLAGGED,
    COL_DELETED, COL_HEADER, COL_QUOTE1, COL_QUOTE2, COL_QUOTE3, COL_URL, COL_SEARCH,
    COL_BORDER, COL_ERROR, COL_FOLDER_UNREAD, COL_TITLE,
    NCOLOBJ
};

struct color_spec {
    short fg, bg;          /* -1: terminal default; 0..255 */
    unsigned attrs;        /* COLA_* */
    bool set;
};

#define COLA_BOLD 1u
#define COLA_UNDERLINE 2u
#define COLA_REVERSE 4u
#define COLA_DIM 8u
#define COLA_STANDOUT 16u

const char *color_obj_name(enum color_obj o);
/* "fg [bg] [bold|underline|reverse|dim|standout ...]": colours by name (default, black, red,
 * green, yellow, blue, magenta, cyan, white, brightred..., colorN). 0 or -1. */
int color_parse(const char *value, struct color_spec *out);
void colors_defaults(struct color_spec spec[NCOLOBJ]);
void colors_apply(struct color_spec spec[NCOLOBJ], const struct config_pair *p, size_t n,
                  struct buf *warn);

/* ---- the application (app.c) and the panes ---- */

struct app;
struct model;
struct learn;
struct job;
struct pane;

enum prompt_kind {
    PR_NONE, PR_SEARCH, PR_SEARCH_BACK, PR_LIMIT, PR_COMMAND, PR_MOVE, PR_COPY, PR_CHANGE,
    PR_PIPE, PR_SORT, PR_CONFIRM_QUIT, PR_PAGER_SEARCH, PR_SAVE, PR_ATTACH, PR_URL,
    PR_COMPOSE_CONFIRM, PR_COMPOSE_FIELD, PR_CONFIRM_PURGE, PR_SAVE_MSG, PR_ALIAS, PR_BOUNCE,
    PR_CONFIRM_BOUNCE, PR_PASSWORD, PR_TAG_PATTERN, PR_UNTAG_PATTERN, PR_QUERY
};

typedef void (*prompt_done_fn)(struct app *a, enum prompt_kind k, const char *text);

struct prompt {
    enum prompt_kind kind;
    char label[256];            /* long labels (the limit prompt's help) must not be cut */
    struct buf text;
    size_t cur;                 /* byte offset of the cursor in text */
    bool onekey;                /* answered by a single key (y/n, sort letter) */
    prompt_done_fn done;
    void (*complete)(struct app *a);   /* Tab: complete the text (paths, addresses), or NULL */
};

/* Line editing, pure: apply key to the edit state. Returns 1 when Enter was pressed, -1 for
 * cancel (Esc, ^G), 0 otherwise. */
int prompt_edit(struct buf *text, size_t *cur, int key);

/*
 * What the loop tells every pane (pane_ops.notify) so that panes never call each other:
 * the open folder was replaced, its messages changed, the folder set changed, the message
 * under the cursor is to be shown, the pager was closed.
 */
enum ui_event {
    EV_FOLDER_OPENED,       /* a->m was replaced (or closed, or is being indexed) */
    EV_FOLDER_CHANGED,      /* the open folder's messages or flags changed */
    EV_FOLDERS_CHANGED,     /* folders may have come or gone, counts changed (after a job) */
    EV_SHOW_MESSAGE,        /* show the message under the list cursor in the pager */
    EV_PAGER_CLOSED,        /* the pager was hidden */
    EV_TICK,                /* the timer: look again at what others may have changed */
};

/*
 * A pane is a state struct plus an ops table, as tmux's window modes: the loop dispatches
 * draw, key, click, resize and free through it, and redraws once per turn the panes marked
 * dirty. Any op but draw, key and free may be NULL.
 */
struct pane_ops {
    const char *name;
    void (*draw)(struct app *a, struct pane *p, const struct rect *r);
    void (*key)(struct app *a, struct pane *p, enum action act, int key);
    void (*click)(struct app *a, struct pane *p, int row);
    void (*resize)(struct app *a, struct pane *p, const struct rect *r);
    /* The mouse wheel over the pane (delta rows); NULL: up/down keys instead. */
    void (*wheel)(struct app *a, struct pane *p, int delta);
    void (*notify)(struct app *a, struct pane *p, enum ui_event ev);
    /* Release what the state holds (pane_free then frees the state and the pane); NULL
     * when it holds nothing of its own. */
    void (*free)(struct pane *p);
};

struct pane {
    const struct pane_ops *ops;
    void *data;
    bool dirty;
};

/* The panes (each file keeps its state struct private). */
extern const struct pane_ops folders_pane_ops, list_pane_ops, pager_pane_ops, help_pane_ops,
    compose_pane_ops, prompt_pane_ops;
struct pane *folders_pane_new(void);
struct pane *list_pane_new(void);
struct pane *pager_pane_new(void);
struct pane *help_pane_new(void);

/* What the loop owns. Pane state lives in the panes; the folder and its view in the model. */
struct app {
    const struct globals *g;
    struct config *cfg;
    char *root;                  /* mail_root, expanded */
    struct keymap km;
    unsigned attr[NCOLOBJ];      /* curses attributes, computed at start */

    int rows, cols;
    struct layout lay;
    struct pane *panes[NPANES];  /* folders, list, pager (the pager is shown when open) */
    struct pane *overlay;        /* help or compose: the whole screen above the status line */
    struct pane *prompt;         /* the bottom line: messages, and the prompt when open */
    int focus;                   /* enum pane_id */
    int zoom;                    /* -1 or the zoomed pane */
    bool pager_open;
    bool redraw_all;             /* erase and draw everything this turn */
    bool running;
    bool meta;                   /* Esc was pressed: the next key is Esc+key */
    bool tag_prefix;             /* `;` was pressed: the next command acts on the tags */
    int exit_code;

    /* status / prompt line (status.c) */
    char msg[512];
    bool msg_error;
    time_t msg_time;
    struct prompt pr;
    struct buf log;              /* the session's messages, one per line (msgcmd.c) */

    /* the open folder (model.h), or the one being indexed in the background */
    struct model *m;
    char *pending_folder;
    struct learn *learn;         /* addresses seen in shown messages, written on a timer */

    /* background work (jobs.c) and timers */
    struct job *jobs;
    time_t next_fetch;
    time_t next_check;
    time_t next_learn;
    time_t next_queue_check;     /* when to look for due queued messages (app.c) */
    time_t last_auto_flush;
};

/* app.c and session.c (the open folder, the address book timer): the loop's services to the
 * panes */
void app_msg(struct app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void app_err(struct app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void app_prompt(struct app *a, enum prompt_kind k, const char *label, const char *init,
                prompt_done_fn done);
void app_relayout(struct app *a);
/* Mark pane id (enum pane_id; -1: only the status and prompt lines) for redrawing this
 * turn; app_dirty_all: erase and draw everything. */
void app_dirty(struct app *a, int id);
void app_dirty_all(struct app *a);
/* Tell every pane about ev (see enum ui_event); each marks itself dirty as it needs. */
void app_notify(struct app *a, enum ui_event ev);
/* Send act to pane id's key op (a pager key that acts on the list, for instance). */
void app_pane_key(struct app *a, int id, enum action act);
/* Show or hide the pager below the list (the layout changes). */
void app_set_pager(struct app *a, bool open);
/* Put an overlay pane over the screen (help, compose), or close it (NULL); the old one is
 * freed. */
void app_overlay(struct app *a, struct pane *p);
/* Scroll keys of a read-only overlay (help, messages); other keys close it. */
void app_overlay_scroll(struct app *a, int *top, int last, enum action c);
/* A pane with these ops and state (malloc'ed, or NULL), to be drawn; pane_free lets the ops
 * release what the state holds, then frees the state and the pane (NULL: nothing). */
struct pane *pane_new(const struct pane_ops *ops, void *data);
void pane_free(struct pane *p);
/* Open folder name: from the model, or (large and not indexed) in the background first. 0, or
 * -1 with a message shown. NULL closes the folder. */
int app_open_folder(struct app *a, const char *name);
/* The name of the open (or pending) folder, or NULL. */
const char *app_folder(const struct app *a);
/* Re-read the open folder (new mail, a finished job); keeps the cursor on its message. */
void app_refresh(struct app *a);
/* Subscribe the open folder's session to the workers' events (jobs_listen): once, at start. */
void app_session_listen(struct app *a);
/* Open folder name as soon as it exists (first run: INBOX before the first fetch). */
void app_await_folder(struct app *a, const char *name);
/* Note the senders of a shown message for the address book (written later). */
struct message;
void app_learn(struct app *a, const struct message *msg);
/* Write what the address book learnt now (before another writer, such as compose, runs). */
void app_learn_flush(struct app *a);
/* The path of this program, for background children. */
const char *app_self(void);
/* Leave curses for a foreground child (pipe, viewer) and come back. */
void app_suspend(struct app *a);
void app_resume(struct app *a);
/*
 * Run argv on the terminal (curses suspended) with stdin from in_path (or the terminal) and
 * wait for it; with pause, wait for Enter before the screen comes back. Returns its wait
 * status, or -1 when it could not start.
 */
int app_foreground(struct app *a, const char *in_path, char *const argv[], bool pause);
/* Pipe the file at path to `sh -c cmd` on the terminal, then come back. */
void app_pipe(struct app *a, const char *path, const char *cmd);
/* Run an action as if its key had been pressed. */
void app_run(struct app *a, enum action c);
void app_fetch(struct app *a);
void app_flush(struct app *a);

/* draw.c: put UTF-8 text at (y, x) in at most cols columns; pads with spaces to cols when pad. */
int ui_put(int y, int x, const char *s, size_t n, int cols, unsigned attr, bool pad);
void ui_fill(int y, int x, int cols, unsigned attr);

/* folders.c: the folder pane. Rescan the folder list (a new folder may exist). */
void folders_scan(struct app *a);
/* The i-th folder's name (INBOX first), or NULL. */
const char *folders_name(struct app *a, size_t i);
/* Tab in a folder prompt: complete text to a folder name. */
void folders_complete(struct app *a, struct buf *text);
/* notify.c: new mail (bell, title, OSC 9/777). notify_count takes a folder's counts each
 * time they are known; notify_flush tells what grew, once no fetch job runs. */
void notify_count(struct app *a, const char *folder, long total, long unread);
void notify_flush(struct app *a);
void notify_free(void);

/* list.c: the list pane. Its prompts (also for ":" commands with an argument). */
void list_prompt_done(struct app *a, enum prompt_kind k, const char *text);
/* The ids a message command acts on: the tagged messages after `;`, else the one under the
 * cursor (a new array; *n gets the count, 0 when there is none). Clears the `;`. */
uint32_t *list_targets(struct app *a, size_t *n);


/* status.c: the status bar, the prompt pane, the help pane, ":" commands. */
void status_draw(struct app *a);
/* ":" commands: "fetch", "flush", "quit", "sort date", "set threads"... */
void app_command(struct app *a, const char *line);

/* compose_screen.c: m, r, g, L, f, e and the compose screen (an overlay pane). */
void ui_compose(struct app *a, enum compose_kind kind);
/* A new message to the address list to (the query's choice). */
void ui_compose_to(struct app *a, const char *to);
/* The same for the messages ids[0..n) (`;r`: one reply to every sender, quoting each; `;f`:
 * one forward of them all). */
void ui_compose_many(struct app *a, enum compose_kind kind, const uint32_t *ids, size_t n);
/* At start: offer a message that a crash left unsent. */
void ui_compose_offer_recovery(struct app *a);

/* msgcmd.c: commands on the message under the cursor that are neither list nor pager
 * business (alias from the sender, bounce), and the message log (M). */
void msgcmd_run(struct app *a, enum action c);
/* Keep a status line for the log screen (bounded: the oldest lines go first). */
void msglog_add(struct app *a, bool error, const char *text);
/*
 * Before a fetch (smtp false) or a flush (smtp true): the first account that would log in
 * with no password configured or typed yet is asked for one in the prompt line (no echo);
 * the answer is kept for the session and then runs again. true when nothing is missing.
 */
bool ui_passwords_ready(struct app *a, bool smtp, void (*then)(struct app *a));
/* The typed passwords a fetch or flush child needs, as secret_format lines, into out. */
void ui_passwords_for_child(struct app *a, bool smtp, struct buf *out);
/* Tab in an address prompt: complete the last item from aliases, the address book and the
 * query_command. */
void ui_complete_address(struct app *a);

/* jobs.c: background children, declared in jobs.h (included above). */

#endif
