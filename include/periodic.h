/* periodic.h - a background thread that runs a job at once, then again and again */
#ifndef CQRSD_PERIODIC_H
#define CQRSD_PERIODIC_H

#include <pthread.h>
#include <stdbool.h>

/*
 * One background job: `run(ctx)` at start, then again after the number of
 * milliseconds it returns (negative: every_ms), or at once when kicked,
 * until periodic_stop; `done(ctx)` (may be NULL) on the thread once it ends
 * (to close what the job keeps open, e.g. its database handles). The
 * struct is the caller's; start fills it.
 */
struct periodic {
    long (*run)(void *ctx);
    void (*done)(void *ctx);
    void *ctx;
    long every_ms;
    pthread_t thread;
    pthread_mutex_t lock; /* held only for a moment: never while the job runs */
    pthread_cond_t wake;
    bool running, stop, kicked;
};

/* Start the thread; -1 when it cannot be created. */
int periodic_start(struct periodic *p, long (*run)(void *), void (*done)(void *), void *ctx,
                   long every_ms);
/* Run the job again as soon as the current round (if any) ends. */
void periodic_kick(struct periodic *p);
/* Stop it (a round in progress finishes first) and join it; nothing when it never started. */
void periodic_stop(struct periodic *p);

#endif
