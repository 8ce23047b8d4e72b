/* libFuzzer target: the ~/.mailrc reader (first pass, iniparser, validation, the '#:' rewrite). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *cfg;
    struct err e;

    if (config_parse("fuzz", (const char *)data, size, &cfg, &e) == 0) {
        char *text = config_describe(cfg);
        free(text);
        config_free(cfg);
        /* the '#:' rewrite of a file tern reads must succeed and mean the same */
        text = config_mailx_safe("fuzz", (const char *)data, size, &e);
        if (text == NULL)
            abort();
        if (config_parse("fuzz", text, strlen(text), &cfg, &e) < 0 || cfg->plain_ini_lines)
            abort();
        config_free(cfg);
        free(text);
    }
    return 0;
}
