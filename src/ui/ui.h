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
#include "tern/config.h"
#include "compose.h"
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

/* ---- commands and keys (keys.c) ---- */

enum cmd {
    CMD_NONE = 0,
    CMD_UP, CMD_DOWN, CMD_PAGE_UP, CMD_PAGE_DOWN, CMD_HALF_UP, CMD_HALF_DOWN,
    CMD_FIRST, CMD_LAST, CMD_NEXT_PANE, CMD_OPEN, CMD_PAGE, CMD_QUIT, CMD_EXIT,
    CMD_SEARCH, CMD_SEARCH_BACK, CMD_SEARCH_NEXT, CMD_SEARCH_PREV, CMD_LIMIT,
    CMD_CHANGE_FOLDER, CMD_THREADS, CMD_SORT, CMD_SORT_REVERSE, CMD_TOGGLE_READ, CMD_FLAG,
    CMD_DELETE, CMD_UNDELETE, CMD_MOVE, CMD_COPY, CMD_EXPUNGE, CMD_ATTACHMENTS, CMD_HEADERS,
    CMD_PIPE, CMD_HELP, CMD_COMMAND, CMD_FETCH, CMD_FLUSH, CMD_CANCEL, CMD_ZOOM, CMD_REDRAW,
    CMD_URLS, CMD_NEXT_UNREAD, CMD_FOLDERS,
    CMD_COMPOSE, CMD_REPLY, CMD_GROUP_REPLY, CMD_LIST_REPLY, CMD_FORWARD, CMD_EDIT_DRAFT,
    NCMDS
};

/* Keys: a Unicode code point, a control character, or KEYF(curses KEY_ value). */
#define KEYF(k) (0x40000000 | (k))
#define KEY_IS_F(k) (((k) & 0x40000000) != 0)

struct binding {
    int key;
    enum cmd cmd;
};

struct keymap {
    struct binding *b;
    size_t n;
};

const char *cmd_name(enum cmd c);
const char *cmd_help(enum cmd c);
/* The command called name ("down", "page-down"...), or CMD_NONE. */
enum cmd cmd_lookup(const char *name);
/* Parse "j", "J", "^D", "C-d", "<Down>", "<PageDown>", "<Tab>", "<Enter>", "<F5>"...
 * into *key. 0 on success, -1 when unknown. */
int ui_key_parse(const char *name, int *key);
/* A readable name of key for the help screen ("j", "^D", "<Down>"). */
void ui_key_name(int key, char *out, size_t n);
void keymap_defaults(struct keymap *km);
void keymap_free(struct keymap *km);
/* Bind key to cmd, taking it away from any other command. */
void keymap_bind(struct keymap *km, int key, enum cmd cmd);
/* Apply the [keys] section: "command = KEY [KEY...]" or "command = none". Problems are
 * appended to warn (one line each, naming the line); the rest still applies. */
void keymap_apply(struct keymap *km, const struct config_pair *p, size_t n, struct buf *warn);
enum cmd keymap_lookup(const struct keymap *km, int key);
/* Every key bound to cmd, space-separated, into out. */
void keymap_keys_of(const struct keymap *km, enum cmd cmd, struct buf *out);

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

/* ---- the application (app.c and the panes) ---- */

struct app;
struct model;

enum prompt_kind {
    PR_NONE, PR_SEARCH, PR_SEARCH_BACK, PR_LIMIT, PR_COMMAND, PR_MOVE, PR_COPY, PR_CHANGE,
    PR_PIPE, PR_SORT, PR_CONFIRM_QUIT, PR_PAGER_SEARCH, PR_SAVE, PR_ATTACH, PR_URL,
    PR_COMPOSE_CONFIRM, PR_COMPOSE_FIELD
};

typedef void (*prompt_done_fn)(struct app *a, enum prompt_kind k, const char *text);

struct prompt {
    enum prompt_kind kind;
    char label[64];
    struct buf text;
    size_t cur;                 /* byte offset of the cursor in text */
    bool onekey;                /* answered by a single key (y/n, sort letter) */
    prompt_done_fn done;
    void (*complete)(struct app *a);   /* Tab: complete the text (paths, addresses), or NULL */
};

/* Line editing, pure: apply key to the edit state. Returns 1 when Enter was pressed, -1 for
 * cancel (Esc, ^G), 0 otherwise. */
int prompt_edit(struct buf *text, size_t *cur, int key);

struct job;

struct app {
    const struct globals *g;
    struct config *cfg;
    char *root;                  /* mail_root, expanded */
    struct keymap km;
    struct color_spec colors[NCOLOBJ];
    unsigned attr[NCOLOBJ];      /* curses attributes, computed at start */
    bool mono;

    int rows, cols;
    struct layout lay;
    int focus;                   /* enum pane_id */
    int zoom;                    /* -1 or the zoomed pane */
    bool pager_open;
    bool dirty;                  /* redraw the whole screen this turn */
    bool running;
    int exit_code;

    /* status / prompt line */
    char msg[512];
    bool msg_error;
    time_t msg_time;
    struct prompt pr;
    char last_search[256];
    bool help_open;
    int help_top;

    /* folder pane */
    char **folders;
    size_t nfolders;
    long *folder_unread;
    long *folder_total;
    size_t fcur, ftop;

    /* the open folder and its list */
    struct model *m;
    char *folder;                /* name of the open folder */
    size_t cur, top;             /* cursor and first visible row in the view */
    long new_count;              /* arrived since the folder was opened */
    char *pending_folder;        /* being indexed in the background, opened when done */

    /* pager */
    struct buf ptext;            /* rendered message, lines separated by \n */
    size_t *plines;              /* offsets of line starts in ptext */
    size_t nplines;
    size_t ptop;
    bool full_headers;
    uint32_t pager_id;           /* the message shown */
    int pager_width;             /* the width the wrapped lines were computed for */
    char pager_parts[400];       /* the attachment list while its prompt is open */
    bool pager_urls;             /* showing the list of links instead of the text */
    char **urls;
    size_t nurls;
    char pager_search[256];

    /* the compose screen, when open (compose_screen.c) */
    struct compose_ui *compose;

    /* background work */
    struct job *jobs;
    time_t next_fetch;
    time_t next_check;
};

/* app.c */
void app_msg(struct app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void app_err(struct app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void app_prompt(struct app *a, enum prompt_kind k, const char *label, const char *init,
                prompt_done_fn done);
void app_relayout(struct app *a);
/* The path of this program, for background children. */
const char *app_self(void);
/* Leave curses for a foreground child (pipe, viewer) and come back. */
void app_suspend(struct app *a);
void app_resume(struct app *a);

/* Run a command as if its key had been pressed. */
void app_run(struct app *a, enum cmd c);

/* draw.c: put UTF-8 text at (y, x) in at most cols columns; pads with spaces to cols when pad. */
int ui_put(int y, int x, const char *s, size_t n, int cols, unsigned attr, bool pad);
void ui_fill(int y, int x, int cols, unsigned attr);

/* folders.c */
void folders_scan(struct app *a);
void folders_draw(struct app *a, const struct rect *r);
void folders_key(struct app *a, enum cmd c);
void folders_click(struct app *a, int row);
/* Open folder name (a path below the root, or absolute); 0 or -1 with a message shown. */
int folders_open(struct app *a, const char *name);
void folders_update_counts(struct app *a);

/* list.c */
void list_draw(struct app *a, const struct rect *r);
void list_key(struct app *a, enum cmd c);
void list_click(struct app *a, int row);
/* The left part of the status bar: folder, counts, sort, limit. */
void list_status(struct app *a, struct buf *out);
void list_prompt_done(struct app *a, enum prompt_kind k, const char *text);
/* Re-read the folder (new mail, a finished fetch); keeps the cursor on its message. */
void list_refresh(struct app *a);
/* The background indexing of a large folder finished (ok: it succeeded): open it. */
void list_index_done(struct app *a, bool ok);
/* Subscribe the list to the workers' events (new mail, sent messages): once, at start. */
void list_subscribe(struct app *a);
/* Open folder name as soon as it exists (first run: INBOX before the first fetch). */
void list_await(struct app *a, const char *name);
/* Messages and unread ones of the open folder, from its index; false when none is open. */
bool list_counts(struct app *a, long *total, long *unread);

/* For the pager: the message under the cursor (full path, new string; NULL when none). */
char *list_current_path(struct app *a, uint32_t *id);
void list_mark_seen(struct app *a);
bool list_is_current(struct app *a, uint32_t id);

/* pager.c */
/* The folder changed under the pager: keep showing the message while it exists. */
void pager_refresh(struct app *a);
/* Pipe the file at path to `sh -c cmd` on the terminal, then come back. */
void pager_pipe(struct app *a, const char *path, const char *cmd);
void pager_open_current(struct app *a);
void pager_close(struct app *a);
void pager_draw(struct app *a, const struct rect *r);
void pager_key(struct app *a, enum cmd c);
void pager_free(struct app *a);

/* status.c */
void status_draw(struct app *a);
void prompt_draw(struct app *a);
/* A key while the prompt is open. */
void prompt_key(struct app *a, int key);
void help_draw(struct app *a);
void help_key(struct app *a, enum cmd c, int key);
/* ":" commands: "fetch", "flush", "quit", "sort date", "set threads"... */
void app_command(struct app *a, const char *line);

/* compose_screen.c: m, r, g, L, f, e and the compose screen. */
void ui_compose(struct app *a, enum compose_kind kind);
/* At start: offer a message that a crash left unsent. */
void ui_compose_offer_recovery(struct app *a);
void compose_screen_draw(struct app *a);
void compose_screen_key(struct app *a, enum cmd c, int key);

/* jobs.c: background children, declared in jobs.h. */
void app_fetch(struct app *a);
void app_flush(struct app *a);

/* A job finished: called by jobs.c so the list and counts catch up. */
void app_job_done(struct app *a, const char *name, int status, const char *last_line);

#endif
