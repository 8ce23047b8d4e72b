/* libFuzzer target: the ~/.mailrc reader (first pass, iniparser, validation). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tern/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *cfg;
    struct err e;

    if (config_parse("fuzz", (const char *)data, size, &cfg, &e) == 0) {
        char *text = config_describe(cfg);
        free(text);
        config_free(cfg);
    }
    return 0;
}
