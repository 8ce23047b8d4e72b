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

void par_run(void *(*fn)(void *), void *jobs, size_t size, size_t n)
{
    pthread_t tid[PAR_MAX_THREADS];
    bool started[PAR_MAX_THREADS] = { false };
    char *job = jobs;

    if (n > PAR_MAX_THREADS)
        n = PAR_MAX_THREADS;
    for (size_t k = 1; k < n; k++)
        started[k] = pthread_create(&tid[k], NULL, fn, job + k * size) == 0;
    if (n > 0)
        fn(job);
    for (size_t k = 1; k < n; k++) {
        if (started[k])
            pthread_join(tid[k], NULL);
        else
            fn(job + k * size);
    }
}
