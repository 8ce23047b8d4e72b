/*
 * The worker protocol: what a background `tern fetch|flush|index --worker-fd N` tells the
 * full-screen client, one event per line on a descriptor of its own (never its stdout or
 * stderr). The emitter (worker_format/worker_emit) and the parser (worker_parse) live here
 * together, so the two sides cannot drift apart.
 *
 * A line is a word naming the event, then fields separated by one space, then (for events
 * that have one) free text up to the end of the line. Fields are percent-encoded: bytes up
 * to 0x20, 0x7f and '%' are written %XX, an empty field is "-" (a lone "-" is %2D), so any
 * folder, file, account or id travels intact. Free text has its control bytes turned into
 * spaces. The first line names the version; a parser refuses any other version.
 *
 *   tern-worker VERSION JOB                   first line (JOB: fetch, flush, index)
 *   progress UNIT PHASE DONE TOTAL BYTES BYTES_TOTAL MS    (MS: since the unit began)
 *   new FOLDER FILE                           a message delivered into FOLDER/new/FILE
 *   sent ID [REPLY]                           a queued message accepted by the server
 *   deferred ID REASON                        will be retried after a backoff
 *   held ID REASON                            kept until the configuration changes or asked
 *   failed ID REASON                          refused for good (stays visible)
 *   refused ID ADDR REASON                    one recipient refused
 *   indexed FOLDER COUNT                      the folder's index is saved, COUNT messages
 *   fetched ACCOUNT FETCHED DELETED           an account's fetch ended well
 *   flushed SENT DEFERRED FAILED              the flush ended (DEFERRED counts held ones)
 *   error CLASS UNIT MESSAGE                  CLASS: err_class_name(); UNIT: account or "-"
 *   done                                      the last line of a worker that ended by itself
 *
 * FOLDER is a folder name as the client names it (relative to mail_root, "INBOX").
 */
#ifndef TERN_WORKER_H
#define TERN_WORKER_H

#include <stddef.h>

#include "tern/buf.h"
#include "tern/err.h"

#define WORKER_VERSION 1
/* The longest line a parser accepts (and an emitter writes: longer text is cut). */
#define WORKER_LINE_MAX 4096

enum worker_kind {
    WEV_HELLO,       /* version, job */
    WEV_PROGRESS,    /* unit, phase, num[0..4] */
    WEV_NEW,         /* folder, file */
    WEV_SENT,        /* id, text (may be empty) */
    WEV_DEFERRED,    /* id, text */
    WEV_HELD,        /* id, text */
    WEV_FAILED,      /* id, text */
    WEV_REFUSED,     /* id, addr, text */
    WEV_INDEXED,     /* folder, num[0] */
    WEV_FETCHED,     /* unit, num[0] fetched, num[1] deleted */
    WEV_FLUSHED,     /* num[0] sent, num[1] deferred, num[2] failed */
    WEV_ERROR,       /* cls, unit, text */
    WEV_DONE,
    WEV_NKINDS
};

/*
 * One event. To emit, fill the fields the kind uses (NULL strings are empty). A parsed event
 * points into its own store, so it lives as long as the struct.
 */
struct worker_event {
    enum worker_kind kind;
    int version;                         /* WEV_HELLO */
    const char *job;                     /* WEV_HELLO */
    const char *unit;                    /* account (or "-" for none) */
    const char *phase;                   /* progress: connect, list, retr, delete, send, ... */
    const char *folder, *file;
    const char *id, *addr;
    const char *text;                    /* free text, last on the line */
    enum err_class cls;                  /* WEV_ERROR */
    unsigned long long num[5];
    char store[WORKER_LINE_MAX];         /* parsed strings */
};

/* The event's word ("new", "sent", ...); "tern-worker" for WEV_HELLO. */
const char *worker_kind_name(enum worker_kind k);
/* Append ev as one line (with its "\n") to out. */
void worker_format(const struct worker_event *ev, struct buf *out);
/* Format and write ev on fd (all of it, EINTR retried); -1 with errno when the write fails.
 * fd < 0 writes nothing and returns 0, so callers need not test for "no worker fd". */
int worker_emit(int fd, const struct worker_event *ev);
/*
 * Parse one line (without its "\n"; a trailing "\r" is ignored) into *ev. 0, or -1 with e
 * (ERR_PARSE, naming the line's first word) for an unknown event, a missing or malformed
 * field, a line over WORKER_LINE_MAX, or a hello of another version.
 */
int worker_parse(const char *line, size_t n, struct worker_event *ev, struct err *e);
/* The class err_class_name(cls) names, ERR_NONE when none does. */
enum err_class worker_class_parse(const char *name);

#endif
