/* work.c - the handler workers: requests that may wait on the database run here */
#include "work.h"

#include "db.h"
#include "pool.h"

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
static struct {
    struct pool p;
    struct work_item *head, **tail;
} g = {.p = POOL_INIT, .tail = &g.head};

int work_submit(struct work_item *item)
{
    pthread_mutex_lock(&g.p.lock);
    if (!g.p.running || g.p.stop) {
        pthread_mutex_unlock(&g.p.lock);
        return -1;
    }
    item->next = NULL;
    *g.tail = item;
    g.tail = &item->next;
    if (g.p.idle)
        pthread_cond_signal(&g.p.work);
    pthread_mutex_unlock(&g.p.lock);
    return 0;
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.p.lock);
    for (;;) {
        struct work_item *item = g.head;
        if (!item) {
            if (g.p.stop)
                break;
            g.p.idle++;
            pthread_cond_wait(&g.p.work, &g.p.lock);
            g.p.idle--;
            continue;
        }
        g.head = item->next;
        if (!g.head)
            g.tail = &g.head;
        pthread_mutex_unlock(&g.p.lock);
        item->run(item);
        pthread_mutex_lock(&g.p.lock);
    }
    pthread_mutex_unlock(&g.p.lock);
    db_thread_release();
    return NULL;
}

int work_start(unsigned n)
{
    return pool_start(&g.p, n, worker_main);
}

void work_stop(void)
{
    pool_stop(&g.p);
}
