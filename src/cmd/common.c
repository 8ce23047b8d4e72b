/* What every front end shares: loading the configuration and mapping errors to exit codes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "tern/cmd.h"

int cmd_load_config(const struct globals *g, struct config **cfg)
{
    char *path = config_default_path(g->config_path);
    struct err e;
    int rc;

    rc = config_load(path, cfg, &e);
    free(path);
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", g->progname, e.msg);
        return e.cls == ERR_CONFIG ? EX_CONFIG : EX_NOINPUT;
    }
    for (size_t i = 0; i < (*cfg)->nwarnings; i++)
        fprintf(stderr, "%s: warning: %s\n", g->progname, (*cfg)->warnings[i]);
    return 0;
}

int cmd_exit_code(enum err_class cls)
{
    switch (cls) {
    case ERR_NONE:
        return EX_OK;
    case ERR_CONFIG:
        return EX_CONFIG;
    case ERR_NET:
    case ERR_TEMP:
    case ERR_LOCKED:
        return EX_TEMPFAIL;
    case ERR_TLS:
        return EX_UNAVAILABLE;
    case ERR_PROTO:
        return EX_PROTOCOL;
    case ERR_AUTH:
        return EX_NOPERM;
    case ERR_PERM:
        return EX_UNAVAILABLE;
    case ERR_PARSE:
        return EX_DATAERR;
    case ERR_CANCEL:
        return 130;
    case ERR_SYS:
    default:
        return EX_IOERR;
    }
}
