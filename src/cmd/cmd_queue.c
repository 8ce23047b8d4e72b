/* tern queue: list the outgoing queue, or retry / delete one message. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "tern/buf.h"
#include "tern/cmd.h"
#include "tern/fsutil.h"
#include "tern/header.h"
#include "tern/maildir.h"
#include "tern/queue.h"
#include "tern/str.h"

static void when(time_t t, char *out, size_t n)
{
    struct tm tm;

    if (t == 0) {
        snprintf(out, n, "now");
        return;
    }
    localtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *safe(struct buf *b, const char *s)
{
    buf_reset(b);
    str_sanitize(s ? s : "", s ? strlen(s) : 0, STR_SAN_LINE, b);
    return buf_cstr(b);
}

static void show(const struct queue_entry *q)
{
    struct buf msg = BUF_INIT, tmp = BUF_INIT, tmp2 = BUF_INIT;
    struct err e;
    char next[32];
    char *subject = NULL;

    if (q->path && fs_read_file(q->path, &msg, &e) == 0)
        subject = hdr_get(msg.ptr, hdr_block_len(msg.ptr, msg.len), "Subject");
    when(q->state == QUEUE_QUEUED ? q->next : 0, next, sizeof next);
    printf("%s  %s  attempts %d  next %s  account %s\n", q->id, queue_state_name(q->state),
           q->attempts, q->state == QUEUE_HELD ? "when the account's settings change" :
           q->state == QUEUE_FAILED ? "-" : next, q->account);
    printf("    from: <%s>\n    to:", q->from);
    for (size_t i = 0; i < q->nrcpts; i++)
        printf(" <%s>%s", q->rcpts[i], i + 1 < q->nrcpts ? "," : "");
    printf("\n    subject: %s\n", subject ? subject : "");
    /* Replies are the server's words (kept in a file anyone may have edited): sanitised. */
    for (size_t i = 0; i < q->nrefused; i++)
        printf("    refused: <%s> %s\n", safe(&tmp, q->refused[i].addr),
               safe(&tmp2, q->refused[i].reply));
    if (q->reply)
        printf("    last reply: %s\n", safe(&tmp, q->reply));
    buf_free(&tmp);
    buf_free(&tmp2);
    free(subject);
    buf_free(&msg);
}


int cmd_queue(int argc, char **argv, const struct globals *g)
{
    const char *retry = NULL, *del = NULL;
    struct config *cfg;
    struct queue *q = NULL;
    struct queue_entry *ents = NULL;
    size_t n = 0, orphans = 0, failed = 0, held = 0;
    struct err e;
    int rc;

    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--retry") == 0 || strcmp(argv[i], "--delete") == 0) &&
            i + 1 < argc) {
            if (argv[i][2] == 'r')
                retry = argv[++i];
            else
                del = argv[++i];
        } else {
            if (argv[i][0] == '-' && strcmp(argv[i], "--retry") != 0 &&
                strcmp(argv[i], "--delete") != 0)
                return cmd_bad_usage(g, "unknown option '%s'", argv[i]);
            if (argv[i][0] == '-')
                return cmd_bad_usage(g, "%s needs a queue id", argv[i]);
            return cmd_bad_usage(g, "unexpected argument '%s'", argv[i]);
        }
    }
    if (retry && del)
        return cmd_bad_usage(g, "give --retry or --delete, not both");
    rc = cmd_load_config(g, &cfg);
    if (rc != 0)
        return rc;
    if (queue_open_cfg(cfg, NULL, &q, &e) < 0 || queue_list(q, &ents, &n, &orphans, &e) < 0) {
        fprintf(stderr, "%s: %s\n", g->progname, e.msg);
        rc = cmd_exit_code(e.cls);
        goto out;
    }
    if (retry || del) {
        long k = queue_find(ents, n, retry ? retry : del);

        if (k < 0) {
            fprintf(stderr, "%s: %s '%s'\n", g->progname,
                    k == -2 ? "more than one message matches" : "no queued message", 
                    retry ? retry : del);
            rc = EX_DATAERR;
            goto out;
        }
        if (del) {
            rc = queue_remove(q, &ents[k], &e);
            if (rc == 0)
                printf("deleted %s\n", ents[k].id);
        } else {
            /* back to the queue, due now, with a fresh lifetime */
            queue_release(&ents[k], time(NULL));
            rc = queue_save(q, &ents[k], &e);
            if (rc == 0)
                printf("%s will be sent at the next flush\n", ents[k].id);
        }
        if (rc < 0) {
            fprintf(stderr, "%s: %s\n", g->progname, e.msg);
            rc = cmd_exit_code(e.cls);
        }
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        show(&ents[i]);
        failed += ents[i].state == QUEUE_FAILED;
        held += ents[i].state == QUEUE_HELD;
    }
    if (n == 0)
        printf("the queue is empty\n");
    else if (held == 0)
        printf("%zu message%s, %zu failed\n", n, n == 1 ? "" : "s", failed);
    else
        printf("%zu message%s, %zu failed, %zu held (fix the account, or tern flush "
               "--retry-held)\n", n, n == 1 ? "" : "s", failed, held);
    if (orphans) {
        const char *const *dirs;
        size_t nd = queue_outboxes(q, &dirs);
        struct buf where = BUF_INIT;

        /* name the outboxes there are: the one, or each that exists */
        for (size_t i = 0; i < nd; i++)
            if (nd == 1 || maildir_is_maildir(dirs[i]))
                buf_printf(&where, "%s%s", where.len ? ", " : "", dirs[i]);
        printf("%zu message%s in %s without an envelope (an interrupted tern send): "
               "not sent\n", orphans, orphans == 1 ? "" : "s", buf_cstr(&where));
        buf_free(&where);
    }
out:
    queue_list_free(ents, n);
    queue_close(q);
    config_free(cfg);
    return rc;
}
