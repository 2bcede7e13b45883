/* pool.h - a fixed set of threads around one lock and condition variable */
#ifndef CQRSD_POOL_H
#define CQRSD_POOL_H

#include <pthread.h>
#include <stdbool.h>

/*
 * What the handler workers (work.c) and the batch readers (batch.c) share:
 * the threads, the lock that guards their queue, the condition variable
 * idle threads wait on, and the stop flag. Each thread runs `fn`, which
 * loops under `lock` until it sees `stop` with nothing left to do.
 */
struct pool {
    pthread_mutex_t lock;
    pthread_cond_t work;
    unsigned idle;   /* threads waiting on `work` (lock held) */
    bool running;    /* accepting work (lock held) */
    bool stop;       /* finish what is queued, then return (lock held) */
    unsigned n;
    pthread_t *threads;
};

#define POOL_INIT {.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER}

/* Start n threads (at least 1) running fn; -1 when none could start. */
int pool_start(struct pool *p, unsigned n, void *(*fn)(void *));

/* Set stop, wake every thread, join them. */
void pool_stop(struct pool *p);

#endif
