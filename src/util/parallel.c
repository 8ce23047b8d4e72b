/*
 * Shares of work on threads, with the caller as one of them. No pool: the jobs are large
 * (thousands of files or cache blocks each), so starting a thread costs nothing that shows.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "tern/parallel.h"

size_t par_threads(size_t n)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const char *env = getenv("TERN_INDEX_THREADS");

    if (env && *env >= '1' && *env <= '9')
        ncpu = *env - '0';
    if (ncpu < 1)
        ncpu = 1;
    if ((size_t)ncpu > PAR_MAX_THREADS)
        ncpu = PAR_MAX_THREADS;
    if ((size_t)ncpu > n)
        ncpu = (long)n;
    return ncpu < 1 ? 1 : (size_t)ncpu;
}

void par_start(struct par *p, void *(*fn)(void *), void *jobs, size_t size, size_t n)
{
    p->fn = fn;
    p->jobs = jobs;
    p->size = size;
    p->n = n > PAR_MAX_THREADS ? PAR_MAX_THREADS : n;
    for (size_t k = 1; k < p->n; k++)
        p->started[k] = pthread_create(&p->tid[k], NULL, fn, (char *)jobs + k * size) == 0;
}

void par_finish(struct par *p)
{
    char *job = p->jobs;

    if (p->n > 0)
        p->fn(job);
    for (size_t k = 1; k < p->n; k++) {
        if (p->started[k])
            pthread_join(p->tid[k], NULL);
        else
            p->fn(job + k * p->size);
    }
    p->n = 0;
}

void par_run(void *(*fn)(void *), void *jobs, size_t size, size_t n)
{
    struct par p;

    par_start(&p, fn, jobs, size, n);
    par_finish(&p);
}
