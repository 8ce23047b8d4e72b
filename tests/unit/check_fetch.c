/* fetch_account against an in-process POP3 peer: delivery, the state file, reconciliation of
 * an interrupted run's journal (file in new/, in cur/, only in tmp/, a cut intent line),
 * deletion policy and order, and the per-account lock. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "tern/config.h"
#include "tern/fetch.h"
#include "tern/fsutil.h"
#include "tern/maildir.h"
#include "tern/pop3.h"

static const char *const bodies[] = {
    "Subject: one\r\n\r\nfirst\r\n",
    "Subject: two\r\n\r\n..stuffed\r\n",
    "Subject: three\r\n\r\nthird\r\n",
};

static char *dir;
static char logpath[4200];

/* Serve one session; every command line goes to logpath. */
static void peer_serve(int fd)
{
    FILE *in = fdopen(fd, "r"), *log = fopen(logpath, "a");
    char line[512];

    dprintf(fd, "+OK test peer\r\n");
    while (fgets(line, sizeof line, in) != NULL) {
        unsigned n = 0;

        line[strcspn(line, "\r\n")] = '\0';
        fprintf(log, "%s\n", line);
        fflush(log);
        if (strcmp(line, "CAPA") == 0) {
            dprintf(fd, "+OK\r\nUSER\r\nUIDL\r\nPIPELINING\r\n.\r\n");
        } else if (strncmp(line, "USER ", 5) == 0 || strncmp(line, "PASS ", 5) == 0) {
            dprintf(fd, "+OK\r\n");
        } else if (strcmp(line, "STAT") == 0) {
            dprintf(fd, "+OK 3 100\r\n");
        } else if (strcmp(line, "LIST") == 0) {
            dprintf(fd, "+OK\r\n");
            for (int i = 0; i < 3; i++)
                dprintf(fd, "%d %zu\r\n", i + 1, strlen(bodies[i]));
            dprintf(fd, ".\r\n");
        } else if (strcmp(line, "UIDL") == 0) {
            dprintf(fd, "+OK\r\n1 u1\r\n2 u2\r\n3 u3\r\n.\r\n");
        } else if (sscanf(line, "RETR %u", &n) == 1 && n >= 1 && n <= 3) {
            dprintf(fd, "+OK\r\n%s.\r\n", bodies[n - 1]);
        } else if (sscanf(line, "TOP %u 0", &n) == 1 && n >= 1 && n <= 3) {
            dprintf(fd, "+OK\r\n%.*s\r\n.\r\n", (int)(strstr(bodies[n - 1], "\r\n\r\n") -
                                                       bodies[n - 1]), bodies[n - 1]);
        } else if (strcmp(line, "NOOP") == 0 || strcmp(line, "RSET") == 0) {
            dprintf(fd, "+OK\r\n");
        } else if (strncmp(line, "DELE ", 5) == 0) {
            dprintf(fd, "+OK\r\n");
        } else if (strcmp(line, "QUIT") == 0) {
            dprintf(fd, "+OK\r\n");
            break;
        } else {
            dprintf(fd, "-ERR what\r\n");
        }
    }
    fclose(log);
    fclose(in);
}

static pid_t peer_pid;

static int peer_start(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    peer_pid = fork();
    if (peer_pid == 0) {
        int fd;

        alarm(10);
        while ((fd = accept(lfd, NULL, NULL)) >= 0)
            peer_serve(fd);
        _exit(0);
    }
    close(lfd);
    return ntohs(sa.sin_port);
}

static void peer_stop(void)
{
    kill(peer_pid, SIGKILL);
    waitpid(peer_pid, NULL, 0);
}

static struct config *make_config_as(int port, const char *keep, const char *name,
                                     const char *host, const char *user)
{
    return test_config("[general]\nmail_root = %s/Mail\n[account %s]\npop3_host = %s\n"
                       "pop3_port = %d\npop3_tls = none\npop3_user = %s\npassword = p\n"
                       "pop3_keep = %s\ntimeout = 5\n", dir, name, host, port, user, keep);
}

static struct config *make_config(int port, const char *keep)
{
    return make_config_as(port, keep, "a", "127.0.0.1", "u");
}

/* A narrow fault injector for this test binary: while armed, fsync of the inbox's new/
 * directory fails with EIO (the executable's fsync interposes libc's for libtern too). */
static int fail_new_fsync;

int fsync(int fd)
{
    char link[64], target[4096];
    ssize_t n;

    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof target - 1);
    if (fail_new_fsync > 0 && n > 10 && memcmp(target + n - 10, "/INBOX/new", 10) == 0) {
        fail_new_fsync--;
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fsync, fd);
}

static size_t count_dir(const char *sub)
{
    char p[4300];

    snprintf(p, sizeof p, "%s/Mail/INBOX", dir);
    return test_count_entries(p, sub);
}

static void read_file(const char *path, struct buf *b)
{
    struct err e;

    buf_reset(b);
    ck_assert_msg(fs_read_file(path, b, &e) == 0, "%s", e.msg);
    buf_cstr(b);
}

static void setup(void)
{
    dir = test_tmpdir();
    snprintf(logpath, sizeof logpath, "%s/peer.log", dir);
}

static void teardown(void)
{
    test_tmpdir_free(dir);
}

START_TEST(test_fetch_basic)
{
    struct config *cfg = make_config(peer_start(), "yes");
    struct fetch_result r;
    struct err e;
    struct buf b = BUF_INIT;
    char *state = fetch_state_path(cfg, &cfg->accounts[0]);
    char path[4400];

    ck_assert_msg(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(r.fetched, 3);
    ck_assert_uint_eq(r.deleted, 0);
    ck_assert_uint_eq(count_dir("new"), 3);
    ck_assert_uint_eq(count_dir("tmp"), 0);
    read_file(state, &b);
    ck_assert_ptr_nonnull(strstr(b.ptr, " u1\n"));
    ck_assert_ptr_nonnull(strstr(b.ptr, " u3\n"));
    snprintf(path, sizeof path, "%s.journal", state);
    ck_assert_int_ne(access(path, F_OK), 0);
    read_file(logpath, &b);
    ck_assert_ptr_null(strstr(b.ptr, "DELE"));
    /* a second run fetches nothing */
    ck_assert_msg(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(r.fetched, 0);
    ck_assert_uint_eq(count_dir("new"), 3);
    /* bodies: CRLF -> LF, dot-unstuffed */
    {
        DIR *d;
        struct dirent *de;
        bool seen = false;

        snprintf(path, sizeof path, "%s/Mail/INBOX/new", dir);
        d = opendir(path);
        while ((de = readdir(d)) != NULL) {
            char f[4700];

            if (de->d_name[0] == '.')
                continue;
            snprintf(f, sizeof f, "%s/%s", path, de->d_name);
            read_file(f, &b);
            ck_assert_ptr_null(strchr(b.ptr, '\r'));
            if (strstr(b.ptr, "Subject: two\n\n.stuffed\n"))
                seen = true;
        }
        closedir(d);
        ck_assert(seen);
    }
    buf_free(&b);
    free(state);
    config_free(cfg);
    peer_stop();
}
END_TEST

/* The state an interrupted run leaves: u1 reached new/, u2 reached cur/ (a reader moved it),
 * u3's intent is there but its file only in tmp/, and a cut intent line at the end. */
START_TEST(test_fetch_reconcile)
{
    struct config *cfg = make_config(peer_start(), "no");
    struct fetch_result r;
    struct err e;
    struct buf b = BUF_INIT;
    char *state = fetch_state_path(cfg, &cfg->accounts[0]);
    char path[4400], *sdir = fs_dirname(state);

    ck_assert_int_eq(fs_mkdir_p(sdir, 0700, &e), 0);
    snprintf(path, sizeof path, "%s/Mail/INBOX", dir);
    ck_assert_int_eq(fs_mkdir_p(path, 0700, &e), 0);
    snprintf(path, sizeof path, "mkdir -p %s/Mail/INBOX/new %s/Mail/INBOX/cur %s/Mail/INBOX/tmp",
             dir, dir, dir);
    ck_assert_int_eq(system(path), 0);
    snprintf(path, sizeof path, "%s/Mail/INBOX/new/100.M1P1Q1.host", dir);
    test_write(path, "Subject: one\n\nfirst\n");
    snprintf(path, sizeof path, "%s/Mail/INBOX/cur/100.M2P1Q2.host:2,S", dir);
    test_write(path, "Subject: two\n\n.stuffed\n");
    snprintf(path, sizeof path, "%s/Mail/INBOX/tmp/100.M3P1Q3.host", dir);
    test_write(path, "Subject: thr");
    snprintf(path, sizeof path, "%s.journal", state);
    test_write(path, "100 u1 100.M1P1Q1.host\n100 u2 100.M2P1Q2.host\n"
                     "100 u3 100.M3P1Q3.host\n100 u9 100.M9");
    ck_assert_msg(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(r.fetched, 1);               /* only u3 again */
    ck_assert_uint_eq(count_dir("new"), 2);
    ck_assert_uint_eq(count_dir("cur"), 1);
    ck_assert_uint_eq(count_dir("tmp"), 0);        /* u3's partial file removed */
    ck_assert_uint_eq(r.deleted, 3);
    read_file(logpath, &b);
    ck_assert_ptr_null(strstr(b.ptr, "RETR 1"));
    ck_assert_ptr_null(strstr(b.ptr, "RETR 2"));
    ck_assert_ptr_nonnull(strstr(b.ptr, "RETR 3"));
    /* deletions come after the retrieval and before QUIT */
    ck_assert_ptr_nonnull(strstr(b.ptr, "RETR 3\nDELE 1\nDELE 2\nDELE 3\nQUIT"));
    /* deleted and acknowledged by QUIT: forgotten */
    read_file(state, &b);
    ck_assert_ptr_null(strstr(b.ptr, " u1\n"));
    ck_assert_ptr_null(strstr(b.ptr, " u3\n"));
    buf_free(&b);
    free(sdir);
    free(state);
    config_free(cfg);
    peer_stop();
}
END_TEST

/* A file a killed fetcher of this host left in tmp/ (its process gone, no journal naming it)
 * is removed by the next run; one from another host, or from a live process, is not. */
START_TEST(test_fetch_cleans_dead_tmp)
{
    struct config *cfg = make_config(1, "yes");     /* no server: the run fails after it */
    struct fetch_result r;
    struct err e;
    struct buf host = BUF_INIT;
    char dead[4400], other[4400], live[4400];
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    maildir_host(&host);
    snprintf(dead, sizeof dead, "%s/Mail/INBOX/tmp", dir);
    ck_assert_int_eq(fs_mkdir_p(dead, 0700, &e), 0);
    snprintf(dead, sizeof dead, "%s/Mail/INBOX/tmp/100.M1P%ldQ1.%s", dir, (long)pid, host.ptr);
    snprintf(other, sizeof other, "%s/Mail/INBOX/tmp/100.M1P%ldQ2.x%s", dir, (long)pid,
             host.ptr);
    snprintf(live, sizeof live, "%s/Mail/INBOX/tmp/100.M1P%ldQ3.%s", dir, (long)getppid(),
             host.ptr);
    test_write(dead, "Subject: cut");
    test_write(other, "Subject: cut");
    test_write(live, "Subject: cut");
    ck_assert_int_eq(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e), -1);
    ck_assert_int_ne(access(dead, F_OK), 0);
    ck_assert_int_eq(access(other, F_OK), 0);
    ck_assert_int_eq(access(live, F_OK), 0);
    buf_free(&host);
    config_free(cfg);
}
END_TEST

START_TEST(test_fetch_locked)
{
    struct config *cfg = make_config(1, "yes");
    struct fetch_result r;
    struct err e;
    char *state = fetch_state_path(cfg, &cfg->accounts[0]);
    char *sdir = fs_dirname(state), lock[4400];
    int fd;

    ck_assert_int_eq(fs_mkdir_p(sdir, 0700, &e), 0);
    snprintf(lock, sizeof lock, "%s.lock", state);
    fd = fs_lock(lock, &e);
    ck_assert_int_ge(fd, 0);
    /* flock locks belong to the open file: a second open in this process conflicts too */
    ck_assert_int_eq(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e), -1);
    test_err(&e, ERR_LOCKED, "another tern fetch is running");
    fs_unlock(fd);
    free(sdir);
    free(state);
    config_free(cfg);
}
END_TEST

START_TEST(test_fetch_bad_state)
{
    struct config *cfg = make_config(1, "yes");
    struct fetch_result r;
    struct err e;
    char *state = fetch_state_path(cfg, &cfg->accounts[0]);
    char *sdir = fs_dirname(state);

    ck_assert_int_eq(fs_mkdir_p(sdir, 0700, &e), 0);
    test_write(state, "garbage line\n");
    ck_assert_int_eq(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e), -1);
    test_err(&e, ERR_PARSE, ":1: malformed line");
    free(sdir);
    free(state);
    config_free(cfg);
}
END_TEST

/* Item 11 of issue 14: the state belongs to the mailbox (user, host, port). Another
 * pop3_user whose UIDLs coincide with the old mailbox's gets everything fetched, and
 * nothing deleted that it did not store itself; a renamed account or a respelled host keeps
 * its state. */
START_TEST(test_fetch_state_per_mailbox)
{
    int port = peer_start();
    struct config *cfg = make_config_as(port, "yes", "a", "localhost", "u");
    struct config *other = make_config_as(port, "no", "a", "localhost", "v");
    struct config *renamed = make_config_as(port, "yes", "renamed", "LOCALHOST", "u");
    struct config *dotted = make_config_as(port, "yes", "x", "LocalHost.", "u");
    struct config *moved = make_config_as(port + 1, "yes", "a", "localhost", "u");
    struct fetch_result r;
    struct err e;
    struct buf b = BUF_INIT;
    char *s1 = fetch_state_path(cfg, &cfg->accounts[0]);
    char *s2 = fetch_state_path(other, &other->accounts[0]);
    char *s3 = fetch_state_path(renamed, &renamed->accounts[0]);
    char *s4 = fetch_state_path(moved, &moved->accounts[0]);

    ck_assert_str_ne(s1, s2);
    ck_assert_str_eq(s1, s3);
    ck_assert_str_ne(s1, s4);
    {
        char *s5 = fetch_state_path(dotted, &dotted->accounts[0]);

        ck_assert_str_eq(s1, s5);
        free(s5);
        config_free(dotted);
    }
    ck_assert_msg(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(r.fetched, 3);
    /* the other user's mailbox: its u1..u3 are other messages */
    ck_assert_msg(fetch_account(other, &other->accounts[0], NULL, &r, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(r.fetched, 3);
    ck_assert_uint_eq(count_dir("new"), 6);
    /* renamed account, host spelled in capitals: nothing again */
    ck_assert_msg(fetch_account(renamed, &renamed->accounts[0], NULL, &r, &e) == 0, "%s",
                  e.msg);
    ck_assert_uint_eq(r.fetched, 0);
    ck_assert_uint_eq(count_dir("new"), 6);
    read_file(s1, &b);
    ck_assert_ptr_nonnull(strstr(b.ptr, " u2\n"));
    ck_assert_ptr_nonnull(strstr(b.ptr, "\n# peer 127.0.0.1\n"));
    /* the same server under another name (its address): the same mailbox, nothing fetched
     * again, and (keep = no) nothing deleted that this new state did not store itself */
    {
        struct config *byaddr = make_config_as(port, "no", "a", "127.0.0.1", "u");
        char *s5 = fetch_state_path(byaddr, &byaddr->accounts[0]);

        ck_assert_str_ne(s1, s5);
        test_write(logpath, "");
        ck_assert_msg(fetch_account(byaddr, &byaddr->accounts[0], NULL, &r, &e) == 0, "%s",
                      e.msg);
        ck_assert_uint_eq(r.fetched, 0);
        ck_assert_uint_eq(r.deleted, 0);
        ck_assert_uint_eq(count_dir("new"), 6);
        read_file(s5, &b);
        ck_assert_ptr_nonnull(strstr(b.ptr, " u1 adopted\n"));
        free(s5);
        config_free(byaddr);
    }
    buf_free(&b);
    free(s1), free(s2), free(s3), free(s4);
    config_free(cfg), config_free(other), config_free(renamed), config_free(moved);
    peer_stop();
}
END_TEST

/* The state of an older tern (ACCOUNT@HOST, any user) is taken over without fetching its
 * ids again and without ever deleting them: they may be another mailbox's. */
START_TEST(test_fetch_state_migration)
{
    struct config *cfg = make_config(peer_start(), "no");
    struct fetch_result r;
    struct err e;
    struct buf b = BUF_INIT;
    char old[4400], moved[4500];

    snprintf(old, sizeof old, "%s/Mail/.tern/pop3", dir);
    ck_assert_int_eq(fs_mkdir_p(old, 0700, &e), 0);
    snprintf(old, sizeof old, "%s/Mail/.tern/pop3/a@127.0.0.1", dir);
    test_write(old, "# tern pop3 state 1: first-fetched-time uidl\n100 u1\n100 u2\n");
    ck_assert_msg(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(r.fetched, 1);
    ck_assert_uint_eq(r.deleted, 1);
    read_file(logpath, &b);
    ck_assert_ptr_null(strstr(b.ptr, "RETR 1"));
    ck_assert_ptr_null(strstr(b.ptr, "DELE 1"));
    ck_assert_ptr_null(strstr(b.ptr, "DELE 2"));
    ck_assert_ptr_nonnull(strstr(b.ptr, "DELE 3"));
    ck_assert_int_ne(access(old, F_OK), 0);
    snprintf(moved, sizeof moved, "%s.migrated", old);
    ck_assert_int_eq(access(moved, F_OK), 0);
    /* and the next run still neither fetches nor deletes them (this peer never forgets
     * u3, so that one comes again: it was deleted and forgotten) */
    test_write(logpath, "");
    ck_assert_msg(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e) == 0, "%s", e.msg);
    read_file(logpath, &b);
    ck_assert_ptr_null(strstr(b.ptr, "RETR 1"));
    ck_assert_ptr_null(strstr(b.ptr, "RETR 2"));
    ck_assert_ptr_null(strstr(b.ptr, "DELE 1"));
    ck_assert_ptr_null(strstr(b.ptr, "DELE 2"));
    buf_free(&b);
    config_free(cfg);
    peer_stop();
}
END_TEST

/* Item 14: one EIO on the directory sync after a window leaves files renamed into new/ but
 * not recorded; the journal that proves them must survive, so the next run records them
 * instead of fetching the window again. */
START_TEST(test_fetch_dirsync_eio_no_duplicates)
{
    struct config *cfg = make_config(peer_start(), "yes");
    struct fetch_result r;
    struct err e;

    fail_new_fsync = 1;
    ck_assert_int_eq(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e), -1);
    ck_assert_msg(strstr(e.msg, "new") != NULL, "%s", e.msg);
    ck_assert_int_eq(fail_new_fsync, 0);
    ck_assert_msg(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(r.fetched, 0);
    ck_assert_uint_eq(count_dir("new"), 3);
    ck_assert_msg(fetch_account(cfg, &cfg->accounts[0], NULL, &r, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(count_dir("new"), 3);
    config_free(cfg);
    peer_stop();
}
END_TEST

static int collect(void *ctx, const char *p, size_t n, struct err *e)
{
    (void)e;
    buf_add(ctx, p, n);
    return 0;
}

/* The session calls the fetcher does not use: TOP, NOOP, RSET, STAT, plain login refusal. */
START_TEST(test_pop3_session)
{
    struct pop3_opts o = { "127.0.0.1", peer_start(), TLS_MODE_NONE, NULL, NULL, 5 };
    struct pop3 *p;
    struct err e;
    struct buf b = BUF_INIT;
    unsigned long count;
    unsigned long long octets, got;

    ck_assert_msg(pop3_open(&o, &p, &e) == 0, "%s", e.msg);
    ck_assert(pop3_caps(p) & POP3_CAP_PIPELINING);
    ck_assert(!pop3_is_tls(p));
    /* without allow_plain nothing is sent */
    ck_assert_int_eq(pop3_login(p, "u", "p", AUTH_AUTO, false, &e), -1);
    ck_assert_int_eq(e.cls, ERR_TLS);
    ck_assert_int_eq(pop3_login(p, "u", "p", AUTH_AUTO, true, &e), 0);
    ck_assert_int_eq(pop3_stat(p, &count, &octets, &e), 0);
    ck_assert_uint_eq(count, 3);
    ck_assert_int_eq(pop3_noop(p, &e), 0);
    ck_assert_int_eq(pop3_top(p, 2, 0, collect, &b, &e), 0);
    ck_assert_str_eq(buf_cstr(&b), "Subject: two\n");
    buf_reset(&b);
    ck_assert_int_eq(pop3_retr(p, 2, 1000, collect, &b, &got, &e), 0);
    ck_assert_str_eq(buf_cstr(&b), "Subject: two\n\n.stuffed\n");
    ck_assert_uint_eq(got, b.len);
    buf_reset(&b);
    ck_assert_int_eq(pop3_retr(p, 3, 5, collect, &b, &got, &e), -1);   /* over max */
    ck_assert_int_eq(e.cls, ERR_PROTO);
    pop3_close(p);
    ck_assert_msg(pop3_open(&o, &p, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(pop3_login(p, "u", "p", AUTH_USER, true, &e), 0);
    ck_assert_int_eq(pop3_rset(p, &e), 0);
    ck_assert_int_eq(pop3_retr(p, 9, 1000, collect, &b, &got, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "RETR 9 refused: \"-ERR what\""));
    ck_assert_int_eq(pop3_quit(p, &e), 0);
    pop3_close(p);
    buf_free(&b);
    read_file(logpath, &b);
    ck_assert_ptr_null(strstr(b.ptr, "PASS p\nUSER"));
    ck_assert_ptr_nonnull(strstr(b.ptr, "TOP 2 0\n"));
    buf_free(&b);
    peer_stop();
}
END_TEST

static Suite *fetch_suite(void)
{
    Suite *s = suite_create("fetch");
    TCase *tc = tcase_create("fetch");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fetch_basic);
    tcase_add_test(tc, test_fetch_reconcile);
    tcase_add_test(tc, test_fetch_cleans_dead_tmp);
    tcase_add_test(tc, test_fetch_locked);
    tcase_add_test(tc, test_fetch_bad_state);
    tcase_add_test(tc, test_pop3_session);
    tcase_add_test(tc, test_fetch_state_per_mailbox);
    tcase_add_test(tc, test_fetch_state_migration);
    tcase_add_test(tc, test_fetch_dirsync_eio_no_duplicates);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(fetch_suite)
