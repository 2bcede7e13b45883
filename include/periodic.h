/* periodic.h - a background thread that runs a job at once, then every so many seconds */
#ifndef CQRSD_PERIODIC_H
#define CQRSD_PERIODIC_H

#include <pthread.h>
#include <stdbool.h>

/*
 * One background job: `run(ctx)` at start and then every `every_s` seconds
 * until periodic_stop; `done(ctx)` (may be NULL) on the thread once it
 * ends (to close what the job keeps open, e.g. its database handles).
 * The struct is the caller's; start fills the rest.
 */
struct periodic {
    void (*run)(void *ctx);
    void (*done)(void *ctx);
    void *ctx;
    unsigned every_s;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool running, stop;
};

/* Start the thread; -1 when it cannot be created. */
int periodic_start(struct periodic *p, void (*run)(void *), void (*done)(void *), void *ctx,
                   unsigned every_s);
/* Stop it (a run in progress finishes first) and join it; nothing when it never started. */
void periodic_stop(struct periodic *p);

#endif
