/* libFuzzer target: the worker protocol parser (what the client reads from its children).
 * Whatever it accepts must format back to a line that parses to the same event. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/worker.h"

static void same(const char *a, const char *b)
{
    if (strcmp(a, b) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct worker_event ev, again;
    struct buf b = BUF_INIT;
    struct err e;

    if (worker_parse((const char *)data, size, &ev, &e) < 0)
        return 0;
    worker_format(&ev, &b);
    if (worker_parse(b.ptr, b.len - 1, &again, &e) < 0)
        abort();
    if (again.kind != ev.kind || again.cls != ev.cls || again.version != ev.version ||
        memcmp(again.num, ev.num, sizeof ev.num) != 0)
        abort();
    same(again.unit, ev.unit);
    same(again.folder, ev.folder);
    same(again.file, ev.file);
    same(again.id, ev.id);
    same(again.addr, ev.addr);
    same(again.phase, ev.phase);
    same(again.job, ev.job);
    buf_free(&b);
    return 0;
}
