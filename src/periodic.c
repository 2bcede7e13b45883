/* periodic.c - a background thread that runs a job at once, then again and again */
#include "periodic.h"

#include <time.h>

static void *periodic_main(void *arg)
{
    struct periodic *p = arg;

    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec until;
        long ms;
        p->kicked = false;
        pthread_mutex_unlock(&p->lock);
        ms = p->run(p->ctx);
        if (ms < 0)
            ms = p->every_ms;
        pthread_mutex_lock(&p->lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += ms / 1000;
        until.tv_nsec += (ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!p->stop && !p->kicked &&
               pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&p->lock);
    if (p->done)
        p->done(p->ctx);
    return NULL;
}

int periodic_start(struct periodic *p, long (*run)(void *), void (*done)(void *), void *ctx,
                   long every_ms)
{
    p->run = run;
    p->done = done;
    p->ctx = ctx;
    p->every_ms = every_ms;
    p->stop = p->kicked = false;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, periodic_main, p)) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        return -1;
    }
    p->running = true;
    return 0;
}

void periodic_kick(struct periodic *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->lock);
    p->kicked = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

void periodic_stop(struct periodic *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    p->running = false;
}
