/* batch.c - concurrent reads of product documents answered by shared IN (…) statements */
#include "batch.h"

#include <pthread.h>
#include <string.h>

/*
 * Flat combining. A request puts a slot on a queue. If fewer than
 * BATCH_INFLIGHT statements are running, its thread becomes a leader: it
 * takes up to BATCH_SIZE slots from the head of the queue, runs one
 * `WHERE product_id IN (…)` on its own read connection, copies each
 * document into its slot's owner's reply, and wakes the owners. A leader
 * goes on with the next batch until its own slot is done; then, if slots
 * are still waiting, it hands leadership to the thread of the oldest one.
 * Under load, many GETs cost the database one statement; alone, a GET is a
 * batch of one.
 */
#define BATCH_SIZE 16
#define BATCH_INFLIGHT 4

enum slot_state { SLOT_WAITING, SLOT_TAKEN, SLOT_DONE };

struct slot {
    int64_t id;
    struct sbuf *out; /* the owner's buffer for the document */
    int rc;           /* 1 found, 0 not found, < 0 a db rc */
    enum slot_state state;
    bool lead;        /* handed leadership */
    pthread_cond_t cv;
    struct slot *next;
};

static struct {
    pthread_mutex_t lock;
    struct slot *head, *tail;
    int inflight;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Take up to BATCH_SIZE waiting slots (lock held). */
static int take(struct slot **batch)
{
    int n = 0;

    while (g.head && n < BATCH_SIZE) {
        struct slot *s = g.head;
        g.head = s->next;
        if (!g.head)
            g.tail = NULL;
        s->state = SLOT_TAKEN;
        batch[n++] = s;
    }
    return n;
}

/* Run one batch on this thread's connection (lock not held). */
static void run(struct db *db, struct slot **batch, int n)
{
    struct db_param p[BATCH_SIZE];
    int rc;

    for (int i = 0; i < BATCH_SIZE; i++) /* pad with the last id: IN ignores repeats */
        p[i] = DB_I64(batch[i < n ? i : n - 1]->id);
    for (int i = 0; i < n; i++)
        batch[i]->rc = 0;
    rc = db_run(db, Q_PRODUCT_DOCS, p, BATCH_SIZE);
    if (rc == DB_GONE || rc == DB_RETRY) /* a stale connection: one more try */
        rc = db_run(db, Q_PRODUCT_DOCS, p, BATCH_SIZE);
    while (rc == DB_OK && (rc = db_next(db, Q_PRODUCT_DOCS)) == 1) {
        int64_t id = db_i64(db, Q_PRODUCT_DOCS, 0);
        size_t len;
        const char *doc = db_str(db, Q_PRODUCT_DOCS, 1, &len);
        for (int i = 0; i < n; i++)
            if (batch[i]->id == id && batch[i]->rc == 0) {
                sbuf_add(batch[i]->out, doc, len);
                batch[i]->rc = 1;
            }
        rc = DB_OK;
    }
    if (rc < 0)
        for (int i = 0; i < n; i++)
            batch[i]->rc = rc;
}

int batch_product_doc(struct db *db, int64_t id, struct sbuf *out)
{
    struct slot me = {.id = id, .out = out, .state = SLOT_WAITING};

    pthread_cond_init(&me.cv, NULL);
    pthread_mutex_lock(&g.lock);
    if (g.tail)
        g.tail->next = &me;
    else
        g.head = &me;
    g.tail = &me;
    for (;;) {
        if (me.state == SLOT_DONE)
            break;
        if (me.lead || (me.state == SLOT_WAITING && g.inflight < BATCH_INFLIGHT)) {
            struct slot *batch[BATCH_SIZE];
            int n;
            me.lead = false;
            /* lead until our own slot is done */
            while (me.state != SLOT_DONE && (n = take(batch)) > 0) {
                g.inflight++;
                pthread_mutex_unlock(&g.lock);
                run(db, batch, n);
                pthread_mutex_lock(&g.lock);
                g.inflight--;
                for (int i = 0; i < n; i++) {
                    batch[i]->state = SLOT_DONE;
                    if (batch[i] != &me)
                        pthread_cond_signal(&batch[i]->cv);
                }
            }
            if (g.head && !g.head->lead) { /* someone must go on: the oldest waiter */
                g.head->lead = true;
                pthread_cond_signal(&g.head->cv);
            }
            continue;
        }
        pthread_cond_wait(&me.cv, &g.lock);
    }
    pthread_mutex_unlock(&g.lock);
    pthread_cond_destroy(&me.cv);
    return me.rc;
}
