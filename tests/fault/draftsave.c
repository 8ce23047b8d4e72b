/*
 * draftsave RC SUBJECT MARK: what the compose screen does to save a message, without a
 * screen: start a message, write the editor file and the recovery copy (then create MARK:
 * from here on the text is the user's), save a change made on the screen, postpone to
 * Drafts. tests/integration/fault.sh runs it under faultinject.so to show that whatever file
 * operation fails, the text is in Drafts or still recoverable. Exit 3: the first save failed
 * (reported before any editing, as the compose screen does).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tern/compose.h"
#include "tern/config.h"
#include "tern/xalloc.h"

int main(int argc, char **argv)
{
    struct config *cfg;
    struct compose c;
    struct err e;

    if (argc != 4) {
        fprintf(stderr, "usage: draftsave RC SUBJECT MARK\n");
        return 2;
    }
    if (config_load(argv[1], &cfg, &e) < 0) {
        fprintf(stderr, "draftsave: %s\n", e.msg);
        return 1;
    }
    if (compose_start(&c, cfg, COMPOSE_NEW, NULL, NULL, NULL, &e) < 0) {
        fprintf(stderr, "draftsave: %s\n", e.msg);
        config_free(cfg);
        return 1;
    }
    c.d.to = xstrdup("mum@family.example");
    c.d.subject = xstrdup(argv[2]);
    if (compose_write(&c, cfg, &e) < 0) {
        fprintf(stderr, "draftsave: %s\n", e.msg);
        compose_discard(&c);
        compose_free(&c);
        config_free(cfg);
        return 3;
    }
    {
        FILE *m = fopen(argv[3], "w");

        if (m)
            fclose(m);
    }
    draft_attach_data(&c.d, "menu.txt", "text/plain", "soup\n", 5);
    if (compose_checkpoint(&c, cfg, &e) < 0 || compose_postpone(&c, cfg, &e) < 0)
        goto fail;
    compose_free(&c);
    config_free(cfg);
    return 0;
fail:
    fprintf(stderr, "draftsave: %s\n", e.msg);
    compose_free(&c);
    config_free(cfg);
    return 1;
}
