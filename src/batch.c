/* batch.c - GET of one stored document, answered by reader threads in shared statements */
#include "batch.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#include "db.h"
#include "metrics.h"
#include "pool.h"
#include "problem.h"
#include "query.h"

/*
 * Why: a point select costs the database about the same whether it reads
 * one row or sixteen (the statement's round trip, wake-up and dispatch are
 * most of it), and an HTTP thread that waits for its own statement costs
 * the daemon two context switches per request and holds up its other
 * connections. So the HTTP thread does not wait: it suspends the connection
 * and queues the read here. A reader
 * thread takes every read of one kind that is waiting (up to BATCH_MAX),
 * answers them with one `WHERE id IN (...)` statement on its own read
 * connection, fills each reply and resumes each connection; the HTTP
 * thread then sends the reply. While a statement runs, the next reads
 * gather, so the batches grow with the load; alone, a read is a batch of
 * one with the single-row statement.
 */
#define BATCH_MAX 16
#define MAX_READERS 16

struct kind_info {
    enum q one, four, sixteen; /* statements for 1, up to 4 and up to 16 ids */
    const char *what;          /* for the 404 detail */
};

static const struct kind_info kinds[DOC__KINDS] = {
    [DOC_PRODUCT] = {Q_PRODUCT_DOC, Q_PRODUCT_DOCS4, Q_PRODUCT_DOCS16, "product"},
    [DOC_ORDER] = {Q_ORDER_DOC, Q_ORDER_DOCS4, Q_ORDER_DOCS16, "order"},
    [DOC_CUSTOMER] = {Q_CUSTOMER_DOC, Q_CUSTOMER_DOCS4, Q_CUSTOMER_DOCS16, "customer"},
};

static struct {
    struct pool p;
    struct batch_entry *head[DOC__KINDS], **tail[DOC__KINDS];
    unsigned next_kind; /* where a reader starts looking: no kind starves */
} g = {.p = POOL_INIT,
       .tail = {&g.head[DOC_PRODUCT], &g.head[DOC_ORDER], &g.head[DOC_CUSTOMER]}};

int batch_submit(struct batch_entry *e)
{
    pthread_mutex_lock(&g.p.lock);
    if (!g.p.running || g.p.stop) {
        pthread_mutex_unlock(&g.p.lock);
        return -1;
    }
    e->next = NULL;
    *g.tail[e->kind] = e;
    g.tail[e->kind] = &e->next;
    if (g.p.idle) /* a busy reader finds it when its statement is done: no wake-up */
        pthread_cond_signal(&g.p.work);
    pthread_mutex_unlock(&g.p.lock);
    return 0;
}

/*
 * Take up to BATCH_MAX waiting reads of one kind that read in one place
 * (the first one's: the primary or a replica), lock held; returns how many.
 */
static int take(struct batch_entry **batch, enum doc_kind *kind, int *target)
{
    int n = 0;

    for (unsigned i = 0; i < DOC__KINDS; i++) {
        unsigned k = (g.next_kind + i) % DOC__KINDS;
        struct batch_entry **pp = &g.head[k];
        if (!g.head[k])
            continue;
        bool skipped = false;
        *target = g.head[k]->target;
        while (*pp && n < BATCH_MAX) {
            struct batch_entry *e = *pp;
            if (e->target != *target) {
                pp = &e->next;
                skipped = true;
                continue;
            }
            *pp = e->next;
            batch[n++] = e;
        }
        if (!g.head[k]) {
            g.tail[k] = &g.head[k];
        } else if (skipped) { /* reads elsewhere stayed behind: find the tail again (rare) */
            while (*pp)
                pp = &(*pp)->next;
            g.tail[k] = pp;
        }
        g.next_kind = k + 1;
        *kind = (enum doc_kind)k;
        break;
    }
    return n;
}

/* The reply of one read whose row was found. */
static void found(struct batch_entry *e, const char *doc, size_t len)
{
    struct reply *r = e->r;

    query_etag(doc, len, r->etag);
    if (e->if_none_match && query_etag_match(e->if_none_match, r->etag))
        r->status = 304;
    else
        reply_json(r, 200, doc, len);
}

/* Run one batch on this thread's read connection and fill every reply. */
static void run(struct db *db, struct batch_entry **batch, int n, enum doc_kind kind)
{
    const struct kind_info *ki = &kinds[kind];
    struct db_param p[BATCH_MAX];
    bool done[BATCH_MAX] = {false};
    enum q q = n == 1 ? ki->one : n <= 4 ? ki->four : ki->sixteen;
    size_t np = n == 1 ? 1 : n <= 4 ? 4 : BATCH_MAX;
    int rc;

    for (size_t i = 0; i < np; i++) /* pad with the last id: IN ignores repeats */
        p[i] = DB_I64(batch[(int)i < n ? i : (size_t)n - 1]->id);
    rc = query_run(db, q, p, np);
    while (rc == DB_OK && (rc = db_next(db, q)) == 1) {
        size_t len;
        const char *doc;
        int64_t id;
        if (n == 1) {
            doc = db_str(db, q, COL_FIRST, &len);
            id = batch[0]->id;
        } else {
            id = db_i64(db, q, DOCS_ID);
            doc = db_str(db, q, DOCS_DOC, &len);
        }
        for (int i = 0; i < n; i++)
            if (!done[i] && batch[i]->id == id) {
                /* another customer's order: left not found, as an unknown id */
                if (batch[i]->owner &&
                    db_i64(db, q, n == 1 ? DOC_OWNER : DOCS_OWNER) != batch[i]->owner)
                    continue;
                found(batch[i], doc, len);
                done[i] = true;
            }
        rc = DB_OK;
    }
    for (int i = 0; i < n; i++) {
        if (rc < 0) {
            query_db_problem(batch[i]->r, rc);
        } else if (!done[i]) {
            query_not_found(batch[i]->r, ki->what, kind == DOC_PRODUCT ? batch[i]->id : 0);
        }
    }
}

static void *reader_main(void *arg)
{
    struct batch_entry *batch[BATCH_MAX];
    enum doc_kind kind = DOC_PRODUCT;
    int target = -1;

    (void)arg;
    pthread_mutex_lock(&g.p.lock);
    for (;;) {
        int n = take(batch, &kind, &target);
        if (n == 0) {
            if (g.p.stop)
                break;
            g.p.idle++;
            pthread_cond_wait(&g.p.work, &g.p.lock);
            g.p.idle--;
            continue;
        }
        pthread_mutex_unlock(&g.p.lock);
        {
            struct db *db = db_thread();
            if (db) {
                db_read_on(db, target);
                run(db, batch, n, kind);
                db_read_on(db, -1);
                metrics_read_batch((unsigned)n);
            } else {
                for (int i = 0; i < n; i++)
                    problem(batch[i]->r, P_INTERNAL, "out of memory");
            }
        }
        for (int i = 0; i < n; i++)
            batch[i]->done(batch[i]->conn); /* batch[i] is its owner's from here */
        pthread_mutex_lock(&g.p.lock);
    }
    pthread_mutex_unlock(&g.p.lock);
    db_thread_release();
    return NULL;
}

int batch_start(unsigned readers)
{
    return pool_start(&g.p, readers > MAX_READERS ? MAX_READERS : readers, reader_main);
}

void batch_stop(void)
{
    pool_stop(&g.p);
}
