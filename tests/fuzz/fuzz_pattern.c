/* libFuzzer target: the limit parsers (the ~ pattern parser of pattern.c and the word
 * syntax), and matching whatever compiled against a small Maildir made once at start. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tern/index.h"
#include "tern/pattern.h"
#include "tern/view.h"
#include "tern/xalloc.h"

static struct idx *folder(void)
{
    static struct idx *x;
    static const char *msgs[] = {
        "From: Ivan <ivan@example.org>\nTo: Ann <ann@example.org>\nCc: Bo <bo@x.org>\n"
        "Subject: Budget 2024\nMessage-ID: <a@x>\n\nNumbers\nand more\n",
        "From: =?utf-8?q?M=C3=BCller?= <m@example.de>\nSubject: Re: Budget\n\n\n",
    };
    char dir[] = "/tmp/tern-fuzz-pattern.XXXXXX", path[256];
    struct err e;

    if (x)
        return x;
    if (mkdtemp(dir) == NULL)
        abort();
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, i == 0 ? "cur" : i == 1 ? "new" : "tmp");
        if (mkdir(path, 0700) < 0)
            abort();
    }
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        FILE *f;

        snprintf(path, sizeof path, "%s/cur/100%zu.fuzz.host:2,%s", dir, i, i ? "S" : "F");
        if ((f = fopen(path, "w")) == NULL)
            abort();
        fputs(msgs[i], f);
        fclose(f);
    }
    if (idx_open(dir, IDX_NO_SAVE, &x, &e) < 0)
        abort();
    return x;
}

static bool tag_odd(void *arg, uint32_t id)
{
    (void)arg;
    return id & 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);
    struct idx *x = folder();
    struct idx_limit *l;
    struct err e;

    if (idx_limit_compile(s, &l, &e) == 0) {
        idx_limit_set_tagged(l, tag_odd, NULL);
        for (size_t i = 0; i < idx_count(x); i++)
            (void)idx_limit_match(x, l, i);
        idx_limit_free(l);
    }
    (void)pattern_is_pattern(s);
    free(s);
    return 0;
}
