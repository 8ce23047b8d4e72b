/* tern auth [--device | --browser] ACCOUNT: the one-time OAuth2 authorization of an account. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "tern/cmd.h"
#include "tern/oauth.h"

static void auth_say(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%s\n", line);
}

int cmd_auth(int argc, char **argv, const struct globals *g)
{
    struct oauth_ui ui = { auth_say, NULL, getenv("BROWSER") };
    const struct account *a;
    struct config *cfg;
    const char *name = NULL;
    struct err e = { ERR_NONE, "" };
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0)
            ui.browser = NULL;
        else if (strcmp(argv[i], "--browser") == 0 && ui.browser == NULL)
            ui.browser = "xdg-open";
        else if (strcmp(argv[i], "--browser") == 0)
            ;
        else if (argv[i][0] == '-' || name != NULL)
            return cmd_bad_usage(g, NULL);
        else
            name = argv[i];
    }
    if (ui.browser && ui.browser[0] == '\0')
        ui.browser = NULL;
    if ((rc = cmd_load_config(g, &cfg)) != 0)
        return rc;
    a = config_account(cfg, name);
    if (a == NULL) {
        fprintf(stderr, "%s: auth: no account %s in %s\n", g->progname, name ? name : "(default)",
                cfg->path);
        config_free(cfg);
        return EX_CONFIG;
    }
    rc = oauth_authorize(cfg, a, &ui, &e);
    if (rc < 0)
        fprintf(stderr, "%s: auth %s: %s\n", g->progname, a->name, e.msg);
    config_free(cfg);
    return rc < 0 ? cmd_exit_code(e.cls) : EX_OK;
}
