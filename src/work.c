/* work.c - the handler workers: requests that may wait on the database run here */
#include "work.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "db.h"

/*
 * Why: a libmicrohttpd worker serves every connection it accepted, one
 * after the other. If it ran a command that waits 5 s on a row lock, the
 * other connections it holds would wait too, while other threads idle. So
 * the few HTTP threads only read requests and write replies; a request
 * whose handler may wait on the database is suspended and queued here, and
 * the first free worker runs it (each worker with its own database
 * connections: --threads of them run database work at once), then resumes
 * its connection.
 */
#define MAX_WORKERS 1024

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct work_item *head, **tail;
    unsigned idle, n;
    bool running, stop;
    pthread_t *threads;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER};

int work_submit(struct work_item *item)
{
    pthread_mutex_lock(&g.lock);
    if (!g.running || g.stop) {
        pthread_mutex_unlock(&g.lock);
        return -1;
    }
    item->next = NULL;
    *g.tail = item;
    g.tail = &item->next;
    if (g.idle)
        pthread_cond_signal(&g.work);
    pthread_mutex_unlock(&g.lock);
    return 0;
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.lock);
    for (;;) {
        struct work_item *item = g.head;
        if (!item) {
            if (g.stop)
                break;
            g.idle++;
            pthread_cond_wait(&g.work, &g.lock);
            g.idle--;
            continue;
        }
        g.head = item->next;
        if (!g.head)
            g.tail = &g.head;
        pthread_mutex_unlock(&g.lock);
        item->run(item);
        pthread_mutex_lock(&g.lock);
    }
    pthread_mutex_unlock(&g.lock);
    db_thread_release();
    return NULL;
}

int work_start(unsigned n)
{
    if (n < 1)
        n = 1;
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    g.threads = calloc(n, sizeof(*g.threads));
    if (!g.threads)
        return -1;
    g.head = NULL;
    g.tail = &g.head;
    g.stop = false;
    g.n = 0;
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&g.threads[g.n], NULL, worker_main, NULL))
            break;
        g.n++;
    }
    pthread_mutex_lock(&g.lock);
    g.running = g.n > 0;
    pthread_mutex_unlock(&g.lock);
    return g.running ? 0 : -1;
}

void work_stop(void)
{
    pthread_mutex_lock(&g.lock);
    g.stop = true;
    pthread_cond_broadcast(&g.work);
    pthread_mutex_unlock(&g.lock);
    for (unsigned i = 0; i < g.n; i++)
        pthread_join(g.threads[i], NULL);
    pthread_mutex_lock(&g.lock);
    g.running = false;
    g.n = 0;
    pthread_mutex_unlock(&g.lock);
    free(g.threads);
    g.threads = NULL;
}
