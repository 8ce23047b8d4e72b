/*
 * tern check-config: the effective settings per account, passwords masked, and every warning;
 * with --mailx-safe, the file rewritten so that every mailx reads it silently.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "tern/buf.h"
#include "tern/cmd.h"
#include "tern/fsutil.h"

/* The first mailx found on $PATH (bsd-mailx, s-nail, mailutils' mail all answer to one of
 * these names), or NULL. */
static const char *installed_mailx(char *found, size_t n)
{
    static const char *const names[] = { "mailx", "s-nail", "bsd-mailx", "mail.mailutils",
                                         "mail", NULL };
    const char *path = getenv("PATH");

    for (size_t i = 0; path && names[i]; i++) {
        const char *p = path;

        while (*p) {
            size_t len = strcspn(p, ":");

            if (len > 0 && snprintf(found, n, "%.*s/%s", (int)len, p, names[i]) < (int)n &&
                access(found, X_OK) == 0)
                return names[i];
            p += len;
            if (*p == ':')
                p++;
        }
    }
    return NULL;
}

/* Print the file with the '#:' marker on its INI lines. */
static int print_mailx_safe(const struct globals *g)
{
    char *path = config_default_path(g->config_path);
    struct buf text = BUF_INIT;
    struct err e;
    char *out;
    int rc = EX_OK;

    if (fs_read_file(path, &text, &e) < 0) {
        fprintf(stderr, "%s: %s\n", g->progname, e.msg);
        rc = EX_NOINPUT;
    } else if ((out = config_mailx_safe(path, text.ptr ? text.ptr : "", text.len, &e)) == NULL) {
        fprintf(stderr, "%s: %s\n", g->progname, e.msg);
        rc = EX_CONFIG;
    } else {
        fputs(out, stdout);
        free(out);
        if (fflush(stdout) != 0) {
            fprintf(stderr, "%s: standard output: %s\n", g->progname, strerror(errno));
            rc = EX_IOERR;
        }
    }
    buf_free(&text);
    free(path);
    return rc;
}

int cmd_check_config(int argc, char **argv, const struct globals *g)
{
    bool mailx_safe = false;
    struct config *cfg;
    char found[4096];
    const char *mailx;
    char *text;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            cmd_usage(stdout, g, true);
            return EX_OK;
        }
        if (strcmp(argv[i], "--mailx-safe") != 0)
            return cmd_bad_usage(g, "unknown option '%s'", argv[i]);
        mailx_safe = true;
    }
    if (mailx_safe)
        return print_mailx_safe(g);
    rc = cmd_load_config(g, &cfg);
    if (rc != 0)
        return rc;
    if (cfg->plain_ini_lines > 0 && (mailx = installed_mailx(found, sizeof found)) != NULL) {
        fprintf(stderr, "%s: warning: %s:%d: %zu line%s of tern settings that "
                "%s (%s) reads as commands and reports; to make them comments to mailx "
                "and keep them tern's, run:\n"
                "  tern%s%s check-config --mailx-safe >%s.new && chmod 600 %s.new && "
                "mv %s.new %s\n", g->progname, cfg->path, cfg->first_plain_ini_line,
                cfg->plain_ini_lines, cfg->plain_ini_lines == 1 ? "" : "s", mailx, found,
                g->config_path ? " -c " : "", g->config_path ? g->config_path : "",
                cfg->path, cfg->path, cfg->path, cfg->path);
    }
    text = config_describe(cfg);
    fputs(text, stdout);
    free(text);
    if (cfg->nwarnings)
        printf("\n# %zu warning%s (see above)\n", cfg->nwarnings, cfg->nwarnings == 1 ? "" : "s");
    config_free(cfg);
    return EX_OK;
}
