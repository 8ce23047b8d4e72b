/* tern check-config: the effective settings per account, passwords masked, and every warning. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "tern/cmd.h"

int cmd_check_config(int argc, char **argv, const struct globals *g)
{
    struct config *cfg;
    char *text;
    int rc;

    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: %s check-config [-c FILE]\n", g->progname);
        return TERN_EX_USAGE;
    }
    rc = cmd_load_config(g, &cfg);
    if (rc != 0)
        return rc;
    text = config_describe(cfg);
    fputs(text, stdout);
    free(text);
    if (cfg->nwarnings)
        printf("\n# %zu warning%s (see above)\n", cfg->nwarnings, cfg->nwarnings == 1 ? "" : "s");
    config_free(cfg);
    return EX_OK;
}
