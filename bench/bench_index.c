/* Index benchmark on a real folder: warm open and first screen, threads and limits over the
 * whole folder, body search, and the refresh after changes made by "another client".
 * Prints one line per figure: "NAME WALL_SECONDS [extra]". bench/index.sh runs it. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/index.h"
#include "tern/maildir.h"
#include "tern/thread.h"
#include "tern/view.h"

#define SCREEN_ROWS 40

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds of the process so far, every thread's */
static double cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds of this thread so far: on a machine with a core free for each of the index's
 * threads, the wall time of what it waits for */
static double cpu_main(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Resident set size now, in MB (VmRSS; pages of the map never touched do not count). */
static double rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtod(line + 6, NULL);
    fclose(f);
    return kb / 1024;
}

static struct idx *open_or_die(const char *dir)
{
    struct idx *x;
    struct err e;

    if (idx_open(dir, 0, &x, &e) < 0) {
        fprintf(stderr, "bench_index: %s\n", e.msg);
        exit(1);
    }
    return x;
}

/* What the list pane does before its first screen: open, counts, the default view, and the
 * rows on screen (the newest, where the cursor starts when nothing is unread). */
static void first_screen(const char *dir)
{
    double t0 = now(), t1;
    struct idx *x = open_or_die(dir);
    struct idx_counts c;
    struct idx_view v;
    size_t chars = 0;

    idx_counts(x, &c);
    idx_view_init(&v);
    idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
    for (size_t r = v.n > SCREEN_ROWS ? v.n - SCREEN_ROWS : 0; r < v.n; r++) {
        const struct idx_msg *m = idx_msg(x, v.v[r]);

        chars += strlen(m->from) + strlen(m->subject);
    }
    t1 = now();
    printf("first_screen %.4f rss_mb=%.1f filled=%zu total=%zu unread=%zu listed=%d chars=%zu\n",
           t1 - t0, rss_mb(), idx_stats(x)->filled, c.total, c.unread, idx_stats(x)->listed,
           chars);
    idx_view_free(&v);
    idx_close(x);
}

static void body_search(struct idx *x, struct idx_view *v, const char *word);

static void views(const char *dir, const char *pattern, const char *body)
{
    struct idx *x = open_or_die(dir);
    struct idx_view v;
    struct thread_view tv;
    struct idx_limit *l;
    struct err e;
    double t0, c0, m0;

    idx_view_init(&v);
    idx_view_build(x, &v, IDX_SORT_DATE, false, NULL);
    if (getenv("BENCH_READ_FIRST")) {
        /* every entry read first (blocks read and checked, on several threads as threads
         * do it), so that threads time only the threading */
        size_t sum = 0;

        t0 = now();
        c0 = cpu();
        m0 = cpu_main();
        idx_read_all(x);
        for (size_t i = 0; i < idx_count(x); i++)
            sum += idx_msg(x, i)->size;
        printf("read_all %.4f entries=%zu bytes=%zu cpu=%.4f main=%.4f\n", now() - t0,
               idx_count(x), sum, cpu() - c0, cpu_main() - m0);
    }
    t0 = now();
    c0 = cpu();
    m0 = cpu_main();
    thread_build(x, v.v, v.n, IDX_SORT_DATE, false, &tv);
    printf("threads %.4f rows=%zu cpu=%.4f main=%.4f\n", now() - t0, tv.n, cpu() - c0,
           cpu_main() - m0);
    thread_view_free(&tv);
    if (pattern) {
        t0 = now();
        if (idx_limit_compile(pattern, &l, &e) == 0) {
            idx_view_build(x, &v, IDX_SORT_DATE, false, l);
            printf("limit %.4f matches=%zu pattern=%s\n", now() - t0, v.n, pattern);
            idx_limit_free(l);
        }
    }
    if (body)
        body_search(x, &v, body);
    idx_view_free(&v);
    idx_close(x);
}

/* body:WORD over the whole folder: wall and CPU seconds (every thread), matches. */
static void body_search(struct idx *x, struct idx_view *v, const char *word)
{
    struct buf p = BUF_INIT;
    struct idx_limit *l;
    struct err e;
    double t0, c0;

    buf_printf(&p, "body:%s", word);
    t0 = now();
    c0 = cpu();
    if (idx_limit_compile(p.ptr, &l, &e) == 0) {
        idx_view_build(x, v, IDX_SORT_DATE, false, l);
        printf("body %.4f matches=%zu word=%s cpu=%.4f\n", now() - t0, v->n, word, cpu() - c0);
        idx_limit_free(l);
    } else {
        fprintf(stderr, "bench_index: %s\n", e.msg);
    }
    buf_free(&p);
}

/* Only the body search (bench_index body DIR WORD [RUNS]), after a warm open. */
static void body_only(const char *dir, const char *word, int runs)
{
    struct idx *x = open_or_die(dir);
    struct idx_view v;

    idx_view_init(&v);
    for (int r = 0; r < runs; r++)
        body_search(x, &v, word);
    idx_view_free(&v);
    idx_close(x);
}

static double cpu_now(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * Another client renames n messages of cur/ (toggles F), or delivers n into new/ (links of
 * existing files under new names); then the refresh is timed, as one of:
 *   open   a process that opens the folder after the changes (idx_open timed: the cold case)
 *   list   a running client without a watch: the folder open and refreshed once before the
 *          changes, then idx_refresh timed (it lists the directories)
 *   watch  the same with the watch (IDX_WATCH): idx_refresh applies the kernel's events
 * With $BENCH_READ_FIRST the running client has read every entry before the changes (as
 * threads or a limit do). Deliveries are removed afterwards (and the index refreshed,
 * untimed) so that runs can repeat.
 */
static void changes(const char *dir, size_t n, bool deliver, unsigned seed, const char *mode)
{
    bool cold = strcmp(mode, "open") == 0, watch = strcmp(mode, "watch") == 0;
    struct idx *x = NULL;
    char cur[4096], a[8192], b[8192];
    DIR *d;
    struct dirent *de;
    size_t done = 0, skip = seed * 7919u % 50000u;
    struct err e;
    double t0, c0, t1, c1;
    int r = 0;

    if (!cold && !watch && strcmp(mode, "list") != 0) {
        fprintf(stderr, "bench_index: mode is open, list or watch\n");
        exit(2);
    }
    if (!cold) {
        if (idx_open(dir, watch ? IDX_WATCH : 0, &x, &e) < 0) {
            fprintf(stderr, "bench_index: %s\n", e.msg);
            exit(1);
        }
        if (watch && idx_watch_fd(x) < 0) {
            fprintf(stderr, "bench_index: no watch on %s\n", dir);
            exit(1);
        }
        if (getenv("BENCH_READ_FIRST"))
            for (size_t i = 0; i < idx_count(x); i++)
                (void)idx_msg(x, i);
        (void)idx_refresh(x, &e);       /* the client's refresh before the changes */
    }
    snprintf(cur, sizeof cur, "%s/cur", dir);
    d = opendir(cur);
    while (d && (de = readdir(d)) != NULL && done < n) {
        if (de->d_name[0] == '.' || (skip && skip--))
            continue;
        snprintf(a, sizeof a, "%s/%s", cur, de->d_name);
        if (deliver) {
            snprintf(b, sizeof b, "%s/new/bench%u.%zu.host", dir, seed, done);
            if (link(a, b) == 0)
                done++;
        } else {
            const char *fl = strstr(de->d_name, ":2,");
            struct buf nn = BUF_INIT;

            if (fl == NULL)
                continue;
            /* toggle F in the flags after ":2," */
            buf_add(&nn, de->d_name, (size_t)(fl - de->d_name) + 3);
            if (strchr(fl + 3, 'F') == NULL)
                buf_addc(&nn, 'F');
            for (const char *p = fl + 3; *p; p++)
                if (*p != 'F')
                    buf_addc(&nn, *p);
            snprintf(b, sizeof b, "%s/%s", cur, buf_cstr(&nn));
            buf_free(&nn);
            if (rename(a, b) == 0)
                done++;
        }
    }
    if (d)
        closedir(d);
    t0 = now();
    c0 = cpu_now();
    if (cold)
        x = open_or_die(dir);
    else
        r = idx_refresh(x, &e);
    t1 = now();
    c1 = cpu_now();
    printf("%s_%s %.4f cpu=%.4f n=%zu rc=%d listed=%d new_only=%d cur_only=%d watched=%d events=%zu "
           "parsed=%zu renamed=%zu\n",
           deliver ? "refresh_deliveries" : "refresh_renames", mode, t1 - t0, c1 - c0, done, r,
           idx_stats(x)->listed, idx_stats(x)->new_only, idx_stats(x)->cur_only, idx_stats(x)->watched,
           idx_stats(x)->events, idx_stats(x)->parsed, idx_stats(x)->renamed);
    if (deliver) {
        for (size_t i = 0; i < done; i++) {
            snprintf(b, sizeof b, "%s/new/bench%u.%zu.host", dir, seed, i);
            unlink(b);
        }
        idx_refresh(x, &e);
    }
    idx_close(x);
}

static void cold(const char *dir)
{
    char *cache = idx_cache_path(dir);
    struct idx *x;
    double t0;

    unlink(cache);
    free(cache);
    t0 = now();
    x = open_or_die(dir);
    printf("cold_build %.4f count=%zu rss_mb=%.1f\n", now() - t0, idx_count(x), rss_mb());
    idx_close(x);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_index first DIR | views DIR [PATTERN [WORD]] |\n"
                        "       body DIR WORD [RUNS] |\n"
                        "       renames|deliveries DIR N SEED [open|list|watch] | cold DIR\n");
        return 2;
    }
    if (strcmp(argv[1], "first") == 0)
        first_screen(argv[2]);
    else if (strcmp(argv[1], "views") == 0)
        views(argv[2], argc > 3 ? argv[3] : NULL, argc > 4 ? argv[4] : NULL);
    else if (strcmp(argv[1], "body") == 0 && argc > 3)
        body_only(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 1);
    else if (strcmp(argv[1], "renames") == 0 && argc > 4)
        changes(argv[2], strtoul(argv[3], NULL, 10), false, (unsigned)atoi(argv[4]),
                argc > 5 ? argv[5] : "list");
    else if (strcmp(argv[1], "deliveries") == 0 && argc > 4)
        changes(argv[2], strtoul(argv[3], NULL, 10), true, (unsigned)atoi(argv[4]),
                argc > 5 ? argv[5] : "list");
    else if (strcmp(argv[1], "cold") == 0)
        cold(argv[2]);
    else
        return 2;
    return 0;
}
