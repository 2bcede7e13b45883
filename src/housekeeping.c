/* housekeeping.c - the periodic purges: idempotency keys and finished commands */
#include "housekeeping.h"

#include "db.h"
#include "idem.h"
#include "periodic.h"
#include "queue.h"

static struct periodic g_housekeeping;

/* Each purge runs in autocommit: every batch is its own short transaction. */
static long purge(void *ctx)
{
    struct db *db = db_thread();

    (void)ctx;
    if (db) {
        idem_purge(db);
        queue_purge(db);
    }
    return -1; /* again in HOUSEKEEPING_EVERY_S */
}

static void release(void *ctx)
{
    (void)ctx;
    db_thread_release();
}

int housekeeping_start(void)
{
    return periodic_start(&g_housekeeping, purge, release, NULL, HOUSEKEEPING_EVERY_S * 1000L);
}

void housekeeping_stop(void)
{
    periodic_stop(&g_housekeeping);
}
