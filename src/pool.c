/* pool.c - a fixed set of threads around one lock and condition variable */
#include "pool.h"

#include <stdlib.h>

int pool_start(struct pool *p, unsigned n, void *(*fn)(void *))
{
    if (n < 1)
        n = 1;
    p->threads = calloc(n, sizeof(*p->threads));
    if (!p->threads)
        return -1;
    pthread_mutex_lock(&p->lock);
    p->stop = false;
    p->running = true; /* the threads may take work as soon as they run */
    pthread_mutex_unlock(&p->lock);
    p->n = 0;
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&p->threads[p->n], NULL, fn, NULL))
            break;
        p->n++;
    }
    if (p->n == 0) {
        pthread_mutex_lock(&p->lock);
        p->running = false;
        pthread_mutex_unlock(&p->lock);
        free(p->threads);
        p->threads = NULL;
        return -1;
    }
    return 0;
}

void pool_stop(struct pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_lock(&p->lock);
    p->running = false;
    p->n = 0;
    pthread_mutex_unlock(&p->lock);
    free(p->threads);
    p->threads = NULL;
}
