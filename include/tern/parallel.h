/*
 * Work split over the machine's cores: the index's cold build, the reading of every cache
 * block and the body search each cut their input into shares and run one a thread.
 */
#ifndef TERN_PARALLEL_H
#define TERN_PARALLEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define PAR_MAX_THREADS 4

/* How many threads work of n shares is worth: the cores online (TERN_INDEX_THREADS=N
 * overrides it, for benchmarks: 1 is serial), at most PAR_MAX_THREADS and n, at least 1. */
size_t par_threads(size_t n);

/* Run fn on each of the n jobs (job k at (char *)jobs + k * size), the first on the calling
 * thread and the others on threads of their own; a thread that cannot be started has its
 * share done here, so every job has run when this returns. n is at most PAR_MAX_THREADS. */
void par_run(void *(*fn)(void *), void *jobs, size_t size, size_t n);

/* par_run in two steps, for a caller with work of its own meanwhile: par_start starts jobs
 * 1..n-1 on threads; par_finish runs job 0 on the calling thread and waits for the others
 * (running here the share of a thread that could not be started). */
struct par {
    void *(*fn)(void *);
    void *jobs;
    size_t size, n;
    pthread_t tid[PAR_MAX_THREADS];
    bool started[PAR_MAX_THREADS];
};
void par_start(struct par *p, void *(*fn)(void *), void *jobs, size_t size, size_t n);
void par_finish(struct par *p);

#endif
