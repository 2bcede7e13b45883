/*
 * drift.c - the read model's drift gauge: a sample check inside the daemon
 * that compares the view rows recent events touched with their
 * recomputation (verify-views' comparison, views.c), every 30 s
 */
#include "drift.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "periodic.h"
#include "sbuf.h"
#include "views.h"

#define AUDIT_EVERY_S 30
#define AUDIT_EVENTS 500 /* the aggregates the last this many events touched */

/* The check's thread, and the sessions it keeps between rounds (its own). */
static struct {
    const struct config *cfg;
    struct periodic thread;
    struct views_session rd, wr;
} g_audit;

struct idlists {
    struct sbuf product, order, customer;
};

static int collect_recent(void *ctx, unsigned ncols, const char *const *cols)
{
    struct idlists *l = ctx;

    if (ncols < 2 || !cols[0])
        return 0;
    if (strcmp(cols[0], "product") == 0)
        views_add_key(&l->product, cols[1]);
    else if (strcmp(cols[0], "order") == 0)
        views_add_key(&l->order, cols[1]);
    else if (strcmp(cols[0], "customer") == 0)
        views_add_key(&l->customer, cols[1]);
    return 0;
}

static int collect_products(void *ctx, unsigned ncols, const char *const *cols)
{
    if (ncols >= 1)
        views_add_key(&((struct idlists *)ctx)->product, cols[0]);
    return 0;
}

static int collect_customers(void *ctx, unsigned ncols, const char *const *cols)
{
    if (ncols >= 1)
        views_add_key(&((struct idlists *)ctx)->customer, cols[0]);
    return 0;
}

/*
 * Compare the rows of the aggregates that recent events touched. The reader
 * account finds them (events), the writer account compares their view rows
 * with their recomputation inside one snapshot, so a command committing
 * meanwhile is no difference: it reads the write tables, the views and
 * cqrs_line_json, and nothing else. Returns the number of differing rows,
 * or -1.
 */
static long audit_once(struct views_session *rd, struct views_session *wr)
{
    struct idlists l = {SBUF_INIT, SBUF_INIT, SBUF_INIT};
    struct views_tally t = {0, 0, 0, NULL};
    struct sbuf q = SBUF_INIT;
    int64_t head = 0;
    long rc = -1;
    static const char head_sql[] = "SELECT COALESCE(MAX(position), 0) FROM events";

    if (db_admin_exec(rd->a, head_sql, sizeof(head_sql) - 1, views_read_i64, &head, rd->err,
                      sizeof(rd->err)))
        goto out;
    sbuf_printf(&q, "SELECT DISTINCT aggregate_type, aggregate_id FROM events WHERE position > "
                    "%" PRId64, head - AUDIT_EVENTS);
    if (q.oom || db_admin_exec(rd->a, q.buf, q.len, collect_recent, &l, rd->err, sizeof(rd->err)))
        goto out;
    sbuf_reset(&q);
    if (l.order.len) { /* an order touches its products' and its customer's rows too */
        sbuf_printf(&q, "SELECT DISTINCT product_id FROM order_lines WHERE order_id IN (%s)",
                    l.order.buf);
        if (q.oom || db_admin_exec(wr->a, q.buf, q.len, collect_products, &l, wr->err,
                                   sizeof(wr->err)))
            goto out;
        sbuf_reset(&q);
        sbuf_printf(&q, "SELECT DISTINCT customer_id FROM orders WHERE id IN (%s)", l.order.buf);
        if (q.oom || db_admin_exec(wr->a, q.buf, q.len, collect_customers, &l, wr->err,
                                   sizeof(wr->err)))
            goto out;
    }
    if (l.product.oom || l.order.oom || l.customer.oom ||
        (l.product.len && views_confirm_keys(wr, VIEWS_PRODUCT, l.product.buf, &t)) ||
        (l.order.len && views_confirm_keys(wr, VIEWS_ORDER, l.order.buf, &t)) ||
        (l.customer.len && views_confirm_keys(wr, VIEWS_CUSTOMER, l.customer.buf, &t)))
        goto out;
    metrics_drift(t.bad, t.rows); /* rows, not columns: a row with several wrong columns is one */
    rc = t.bad;
out:
    sbuf_release(&q);
    sbuf_release(&l.product);
    sbuf_release(&l.order);
    sbuf_release(&l.customer);
    return rc;
}

/* One round: (re)open the sessions if needed, compare, publish, warn. */
static long audit_round(void *ctx)
{
    struct views_session *rd = &g_audit.rd, *wr = &g_audit.wr;

    (void)ctx;
    if (!rd->a)
        rd->a = db_admin_open(&g_audit.cfg->read_dsn, g_audit.cfg->read_dsn.database, rd->err,
                              sizeof(rd->err));
    if (!wr->a &&
        (wr->a = db_admin_open(&g_audit.cfg->write_dsn, g_audit.cfg->write_dsn.database, wr->err,
                               sizeof(wr->err))) &&
        db_admin_exec(wr->a, "SET SESSION group_concat_max_len = 16777216",
                      sizeof("SET SESSION group_concat_max_len = 16777216") - 1, NULL, NULL,
                      wr->err, sizeof(wr->err))) {
        db_admin_close(wr->a); /* a truncated GROUP_CONCAT would be false drift */
        wr->a = NULL;
    }
    if (rd->a && wr->a) {
        long d = audit_once(rd, wr);
        if (d < 0) { /* start over with fresh connections next time */
            db_admin_close(rd->a);
            db_admin_close(wr->a);
            rd->a = wr->a = NULL;
        } else if (d > 0) {
            log_msg(LOG_LVL_WARN, "read model: %ld recently changed rows differ from the "
                                  "write model (run cqrsd verify-views)", d);
        }
    }
    return -1; /* again in AUDIT_EVERY_S */
}

static void audit_done(void *ctx)
{
    (void)ctx;
    db_admin_close(g_audit.rd.a);
    db_admin_close(g_audit.wr.a);
    g_audit.rd.a = g_audit.wr.a = NULL;
    db_thread_release();
}

int drift_start(const struct config *cfg)
{
    g_audit.cfg = cfg;
    return periodic_start(&g_audit.thread, audit_round, audit_done, NULL, AUDIT_EVERY_S * 1000L);
}

void drift_stop(void)
{
    periodic_stop(&g_audit.thread);
}
