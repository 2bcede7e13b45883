/* periodic.c - a background thread that runs a job at once, then every so many seconds */
#include "periodic.h"

#include <time.h>

static void *periodic_main(void *arg)
{
    struct periodic *p = arg;

    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct timespec until;
        pthread_mutex_unlock(&p->lock);
        p->run(p->ctx);
        pthread_mutex_lock(&p->lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += p->every_s;
        while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&p->lock);
    if (p->done)
        p->done(p->ctx);
    return NULL;
}

int periodic_start(struct periodic *p, void (*run)(void *), void (*done)(void *), void *ctx,
                   unsigned every_s)
{
    p->run = run;
    p->done = done;
    p->ctx = ctx;
    p->every_s = every_s;
    p->stop = false;
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
