/* views.c - verify-views and rebuild-views: the read model against the write model */
#include "views.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "sbuf.h"
#include "sqlscript.h"

/*
 * Each view, its key, and the rows that the events in a position range can
 * have changed (two %" PRId64 " pairs: after, upto). Positions are integers
 * this program formats itself; no input reaches these texts.
 */
/* A string literal and its length, for the calls that take both */
#define LIT(s) s, sizeof(s) - 1

struct view {
    const char *table;
    const char *key;
    const char *affected; /* SQL yielding keys; %1$ after, %2$ upto */
};

static const struct view views[] = {
    {"product_view", "product_id",
     "SELECT aggregate_id FROM events WHERE aggregate_type = 'product' AND position > %1$" PRId64
     " AND position <= %2$" PRId64 " UNION SELECT l.product_id FROM events e JOIN order_lines l "
     "ON l.order_id = e.aggregate_id WHERE e.aggregate_type = 'order' AND e.position > %1$" PRId64
     " AND e.position <= %2$" PRId64},
    {"order_summary_view", "order_id",
     "SELECT aggregate_id FROM events WHERE aggregate_type = 'order' AND position > %1$" PRId64
     " AND position <= %2$" PRId64},
    {"customer_view", "customer_id",
     "SELECT aggregate_id FROM events WHERE aggregate_type = 'customer' AND position > %1$" PRId64
     " AND position <= %2$" PRId64 " UNION SELECT o.customer_id FROM events e JOIN orders o "
     "ON o.id = e.aggregate_id WHERE e.aggregate_type = 'order' AND e.position > %1$" PRId64
     " AND e.position <= %2$" PRId64},
};

#define N_VIEWS (sizeof(views) / sizeof(views[0]))
/* the last positions before a recomputation that must be visible to it */
#define VISIBLE_WINDOW 4096

static int open_session(struct views_session *s, const struct config *cfg)
{
    s->a = db_admin_open(&cfg->admin_dsn, cfg->write_dsn.database, s->err, sizeof(s->err));
    if (!s->a) {
        fprintf(stderr, "cqrsd: %s\n", s->err);
        return -1;
    }
    /* an order has up to 100 lines; their JSON is joined with GROUP_CONCAT */
    if (db_admin_exec(s->a,
                      LIT("SET SESSION group_concat_max_len = 16777216, lock_wait_timeout = 60, "
                          "net_write_timeout = 600"),
                      NULL, NULL, s->err, sizeof(s->err))) {
        fprintf(stderr, "cqrsd: %s\n", s->err);
        return -1;
    }
    return 0;
}

static int run(struct views_session *s, const char *sql, size_t n)
{
    if (db_admin_exec(s->a, sql, n, NULL, NULL, s->err, sizeof(s->err))) {
        fprintf(stderr, "cqrsd: %s\n", s->err);
        return -1;
    }
    return 0;
}

static int run_buf(struct views_session *s, struct sbuf *b)
{
    int rc = b->oom ? -1 : run(s, b->buf, b->len);
    sbuf_reset(b);
    return rc;
}

static const struct sql_file *recompute_of(const char *table)
{
    char want[80];

    snprintf(want, sizeof(want), "%s.sql", table);
    for (const struct sql_file *f = sql_recompute; f->name; f++)
        if (strcmp(f->name, want) == 0)
            return f;
    return NULL;
}

/* The recompute SELECT without its leading comment lines. */
static void recompute_text(const struct sql_file *f, const char **s, size_t *n)
{
    const char *p = f->text, *end = f->text + f->len;

    while (p < end && p[0] == '-' && p + 1 < end && p[1] == '-') {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    *s = p;
    *n = (size_t)(end - p);
    while (*n && ((*s)[*n - 1] == '\n' || (*s)[*n - 1] == ' ' || (*s)[*n - 1] == ';'))
        (*n)--;
}

static int add_col(void *ctx, unsigned ncols, const char *const *cols)
{
    struct sbuf *b = ctx;

    if (ncols < 1 || !cols[0])
        return 0;
    if (b->len)
        sbuf_adds(b, ", ");
    sbuf_printf(b, "`%s`", cols[0]);
    return 0;
}

/*
 * "c1, c2, …": the view's columns in table order, without doc. print: say why not on
 * stderr (the verify-views and rebuild-views tools; never the daemon's sample check,
 * whose stderr is its log, and whose error text may be the server's)
 */
static int view_columns(struct views_session *s, const char *table, struct sbuf *cols, bool print)
{
    struct sbuf q = SBUF_INIT;
    int rc;

    sbuf_printf(&q, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                    "DATABASE() AND TABLE_NAME = '%s' AND COALESCE(GENERATION_EXPRESSION, '') = '' "
                    "ORDER BY ORDINAL_POSITION", table);
    rc = q.oom ? -1 : db_admin_exec(s->a, q.buf, q.len, add_col, cols, s->err, sizeof(s->err));
    sbuf_release(&q);
    if (rc || cols->len == 0) {
        if (print)
            fprintf(stderr, "cqrsd: cannot read the columns of %s: %s\n", table, s->err);
        return -1;
    }
    return 0;
}

int views_read_i64(void *ctx, unsigned ncols, const char *const *cols)
{
    if (ncols >= 1 && cols[0])
        *(int64_t *)ctx = strtoll(cols[0], NULL, 10);
    return 0;
}

/* Append a positive integer key to a comma-separated list. */
void views_add_key(struct sbuf *b, const char *s)
{
    char *e;
    long long v = s ? strtoll(s, &e, 10) : 0;

    if (!s || *e || v <= 0)
        return;
    sbuf_printf(b, "%s%lld", b->len ? "," : "", v);
}

static int event_head(struct views_session *s, int64_t *head)
{
    static const char q[] = "SELECT position FROM event_head WHERE id = 1";
    return db_admin_exec(s->a, q, sizeof(q) - 1, views_read_i64, head, s->err, sizeof(s->err));
}

/*
 * Wait until every event in (after, upto] is visible to the session's next
 * statement (READ COMMITTED: each reads its own moment). Positions have no
 * lasting holes; a missing one is a commit still becoming visible (README,
 * "The event store"), so this waits it out, 1 ms at a time, at most 10 s.
 */
static int wait_visible(struct views_session *s, int64_t after, int64_t upto)
{
    static const char q[] = "SELECT COUNT(*) FROM events WHERE position > ? AND position <= ?";

    for (int i = 0; i < 10000; i++) {
        int64_t seen = -1;
        struct timespec ms = {0, 1000 * 1000};
        if (db_admin_i64(s->a, q, sizeof(q) - 1, after, upto, &seen, s->err, sizeof(s->err))) {
            fprintf(stderr, "cqrsd: %s\n", s->err);
            return -1;
        }
        if (seen == upto - after)
            return 0;
        nanosleep(&ms, NULL);
    }
    fprintf(stderr, "cqrsd: events after %" PRId64 " up to %" PRId64 " are not all visible "
                    "after 10 s\n", after, upto);
    return -1;
}

/*=== verify-views ===*/

#define CONFIRM_KEYS 1000 /* keys per confirming statement */

enum verify_flags {
    VF_DIFFS = 1,  /* print each difference on stdout */
    VF_ERRORS = 2, /* print errors on stderr (the tools; never the daemon's sample check) */
};

static void print_value(const char *v)
{
    if (!v)
        fputs("NULL", stdout);
    else
        printf("'%.200s'", v);
}

/* The c-th name of "`a`, `b`, …" without its quotes, for a report line. */
static void print_column(const char *cols, unsigned c)
{
    const char *p = cols, *pe;

    for (unsigned k = 0; k < c && p; k++) {
        p = strchr(p, ',');
        if (p)
            p += 2;
    }
    if (!p) {
        fputs("?", stdout);
        return;
    }
    if (*p == '`')
        p++;
    pe = strchr(p, '`');
    printf("%.*s", (int)(pe ? (size_t)(pe - p) : strlen(p)), p);
}

static void verify_error(const struct view *v, const char *err, int flags)
{
    if (flags & VF_ERRORS)
        fprintf(stderr, "cqrsd: verify-views: %s: %s\n", v->table, err);
}

static void note_bad(struct views_tally *t, int64_t key)
{
    t->bad++;
    if (t->bad_keys)
        sbuf_printf(t->bad_keys, "%s%" PRId64, t->bad_keys->len ? "," : "", key);
}

/* Compare one pair of rows with the same key; true when they differ. */
static bool compare_row(const struct view *v, const char *cols, int64_t key,
                        const char *const *e, unsigned ne, const char *const *g, unsigned ng,
                        int flags, struct views_tally *t)
{
    long before = t->diffs;

    for (unsigned c = 1; c < ne && c < ng; c++) {
        if ((!e[c] && !g[c]) || (e[c] && g[c] && strcmp(e[c], g[c]) == 0))
            continue;
        t->diffs++;
        if (!(flags & VF_DIFFS))
            continue;
        printf("%s %" PRId64 " ", v->table, key);
        print_column(cols, c);
        fputs(": expected ", stdout);
        print_value(e[c]);
        fputs(", found ", stdout);
        print_value(g[c]);
        putchar('\n');
    }
    return t->diffs > before;
}

/*
 * Merge-compare the view's rows (from session got) with their recomputation
 * (from session exp), both in key order: every row, or (filter: "1,2,3")
 * only those keys. With one session for both, the two statements read one
 * consistent snapshot (a read-only transaction WITH CONSISTENT SNAPSHOT, the
 * view's rows buffered first): the comparison is exact while commands run.
 * With two sessions, each statement reads its own moment, and a row that a
 * command changed in between looks different: the caller confirms those.
 * Returns 0, or -1 (said on stderr with VF_ERRORS: the view and the error).
 */
static int verify_view(struct views_session *exp, struct views_session *got, const struct view *v,
                       const char *filter, int flags, struct views_tally *t)
{
    const struct sql_file *f = recompute_of(v->table);
    struct sbuf cols = SBUF_INIT, q = SBUF_INIT, names = SBUF_INIT;
    struct db_admin_rows *re = NULL, *rg = NULL;
    const char *const *e, *const *g;
    bool one = exp == got, in_tx = false;
    unsigned ne = 0, ng = 0;
    const char *rs;
    size_t rn;
    int rc = -1;

    if (!f || view_columns(got, v->table, &cols, flags & VF_ERRORS))
        goto out;
    recompute_text(f, &rs, &rn);
    if (filter) {
        sbuf_printf(&q, "SELECT %s FROM `%s` WHERE `%s` IN (%s) ORDER BY `%s`", cols.buf,
                    v->table, v->key, filter, v->key);
        sbuf_printf(&names, "SELECT * FROM (%.*s) r WHERE r.`%s` IN (%s) ORDER BY r.`%s`",
                    (int)rn, rs, v->key, filter, v->key);
        if (names.oom)
            goto out;
        rs = names.buf;
        rn = names.len;
    } else {
        sbuf_printf(&q, "SELECT %s FROM `%s` ORDER BY `%s`", cols.buf, v->table, v->key);
    }
    if (q.oom)
        goto out;
    if (one) {
        static const char iso[] = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ";
        static const char begin[] = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";
        if (db_admin_exec(got->a, iso, sizeof(iso) - 1, NULL, NULL, got->err, sizeof(got->err)) ||
            db_admin_exec(got->a, begin, sizeof(begin) - 1, NULL, NULL, got->err,
                          sizeof(got->err))) {
            verify_error(v, got->err, flags);
            goto out;
        }
        in_tx = true;
    }
    /*
     * The view's rows first when they are buffered (one session); else the
     * recomputation first: it may take seconds before its first row (it
     * groups every order), and a streamed view would wait on the server
     * meanwhile.
     */
    if (one && !(rg = db_admin_stream(got->a, q.buf, q.len, true, got->err, sizeof(got->err)))) {
        verify_error(v, got->err, flags);
        goto out;
    }
    if (!(re = db_admin_stream(exp->a, rs, rn, false, exp->err, sizeof(exp->err)))) {
        verify_error(v, exp->err, flags);
        goto out;
    }
    if (!one && !(rg = db_admin_stream(got->a, q.buf, q.len, false, got->err, sizeof(got->err)))) {
        verify_error(v, got->err, flags);
        goto out;
    }
    e = db_admin_next(re, &ne);
    g = db_admin_next(rg, &ng);
    while (e || g) {
        int64_t ke = e ? strtoll(e[0], NULL, 10) : INT64_MAX;
        int64_t kg = g ? strtoll(g[0], NULL, 10) : INT64_MAX;
        t->rows++;
        if (ke < kg) {
            if (flags & VF_DIFFS)
                printf("%s %" PRId64 ": row missing from the view\n", v->table, ke);
            t->diffs++;
            note_bad(t, ke);
            e = db_admin_next(re, &ne);
            continue;
        }
        if (kg < ke) {
            if (flags & VF_DIFFS)
                printf("%s %" PRId64 ": row in the view that the write model does not have\n",
                       v->table, kg);
            t->diffs++;
            note_bad(t, kg);
            g = db_admin_next(rg, &ng);
            continue;
        }
        if (compare_row(v, cols.buf, ke, e, ne, g, ng, flags, t))
            note_bad(t, ke);
        e = db_admin_next(re, &ne);
        g = db_admin_next(rg, &ng);
    }
    rc = 0;
out:
    /* rows that ended early with an error: the error, not the rows, is the answer */
    if (re && db_admin_stream_end(re, exp->err, sizeof(exp->err)) && rc == 0) {
        verify_error(v, exp->err, flags);
        rc = -1;
    }
    if (rg && db_admin_stream_end(rg, got->err, sizeof(got->err)) && rc == 0) {
        verify_error(v, got->err, flags);
        rc = -1;
    }
    if (in_tx)
        db_admin_exec(got->a, LIT("COMMIT"), NULL, NULL, got->err, sizeof(got->err));
    sbuf_release(&cols);
    sbuf_release(&q);
    sbuf_release(&names);
    return rc;
}

/*
 * Compare the rows of keys ("1,2,3") within one snapshot of session s, a
 * chunk of keys at a time (each chunk its own snapshot: a row is compared
 * with itself at one moment).
 */
static int confirm_keys(struct views_session *s, const struct view *v, const char *keys, int flags,
                        struct views_tally *t)
{
    struct sbuf chunk = SBUF_INIT;
    const char *p = keys;
    int rc = 0;

    while (*p && rc == 0) {
        const char *q = p;
        for (int n = 0; n < CONFIRM_KEYS && q; n++) {
            q = strchr(q, ',');
            if (q)
                q++;
        }
        size_t len = q ? (size_t)(q - p - 1) : strlen(p);
        sbuf_reset(&chunk);
        sbuf_add(&chunk, p, len);
        if (chunk.oom) {
            rc = -1;
            break;
        }
        rc = verify_view(s, s, v, chunk.buf, flags, t);
        p = q ? q : p + len;
    }
    sbuf_release(&chunk);
    return rc;
}

/*
 * verify-views: every row of every view, streamed from two sessions (a
 * full pass reads no more memory than a row at a time); the rows that
 * differ are then compared again within one snapshot, and only those that
 * still differ are reported: a command that committed between the two
 * reads of the full pass is not a difference.
 */
int views_verify(const struct config *cfg)
{
    struct views_session exp = {0}, got = {0};
    struct sbuf keys = SBUF_INIT;
    long total_diffs = 0;
    int rc = 2;

    if (open_session(&exp, cfg) || open_session(&got, cfg))
        goto out;
    for (size_t i = 0; i < N_VIEWS; i++) {
        struct views_tally pass = {0, 0, 0, &keys}, sure = {0, 0, 0, NULL};
        sbuf_reset(&keys);
        if (verify_view(&exp, &got, &views[i], NULL, VF_ERRORS, &pass))
            goto out;
        if (keys.oom)
            goto out;
        if (keys.len && confirm_keys(&exp, &views[i], keys.buf, VF_DIFFS | VF_ERRORS, &sure))
            goto out;
        printf("verify-views: %s: %ld rows compared, %ld difference%s\n", views[i].table,
               pass.rows, sure.diffs, sure.diffs == 1 ? "" : "s");
        total_diffs += sure.diffs;
    }
    printf("verify-views: %s\n", total_diffs ? "the read model differs from the write model"
                                             : "the read model equals the write model");
    rc = total_diffs ? 1 : 0;
out:
    fflush(stdout);
    sbuf_release(&keys);
    db_admin_close(exp.a);
    db_admin_close(got.a);
    return rc;
}

/*=== rebuild-views ===*/

static int collect_key(void *ctx, unsigned ncols, const char *const *cols)
{
    if (ncols >= 1)
        views_add_key((struct sbuf *)ctx, cols[0]);
    return 0;
}

/*
 * Recompute, into table `into`, the rows of view v that events in
 * (after, upto] touched. The keys are read first and written as a literal
 * list: MariaDB 10.11 can drop rows when an IN (subquery) meets the
 * recomputation's derived tables (a split-materialization plan).
 */
static int catch_up(struct views_session *s, const struct view *v, const char *into, int64_t after,
                    int64_t upto, const char *cols)
{
    const struct sql_file *f = recompute_of(v->table);
    struct sbuf b = SBUF_INIT, keys = SBUF_INIT;
    const char *rs;
    size_t rn;
    int rc = -1;

    if (!f)
        return -1;
    recompute_text(f, &rs, &rn);
    sbuf_printf(&b, v->affected, after, upto);
    if (b.oom || db_admin_exec(s->a, b.buf, b.len, collect_key, &keys, s->err, sizeof(s->err))) {
        fprintf(stderr, "cqrsd: %s\n", s->err);
        goto out;
    }
    sbuf_reset(&b);
    rc = 0;
    if (keys.len == 0 || keys.oom)
        goto out;
    sbuf_printf(&b, "DELETE FROM `%s` WHERE `%s` IN (%s)", into, v->key, keys.buf);
    if ((rc = run_buf(s, &b)))
        goto out;
    sbuf_printf(&b, "INSERT INTO `%s` (%s) SELECT * FROM (%.*s) r WHERE r.`%s` IN (%s)", into,
                cols, (int)rn, rs, v->key, keys.buf);
    rc = run_buf(s, &b);
out:
    sbuf_release(&b);
    sbuf_release(&keys);
    return rc;
}

struct proc_state {
    unsigned long id;
    bool waiting;
};

static int check_state(void *ctx, unsigned ncols, const char *const *cols)
{
    struct proc_state *p = ctx;

    if (ncols >= 1 && cols[0] && strstr(cols[0], "metadata lock"))
        p->waiting = true;
    return 0;
}

/* The sessions and state of one rebuild. */
struct rebuild {
    struct views_session w, lk, mon; /* work (READ COMMITTED), LOCK TABLES, PROCESSLIST */
    struct sbuf cols[N_VIEWS]; /* each view's column list */
    struct sbuf b;
    int64_t from; /* the events up to here are in the shadow tables */
};

/* Empty `v_new` shadow tables like the views, and their column lists. */
static int make_shadows(struct rebuild *rb)
{
    for (size_t i = 0; i < N_VIEWS; i++) {
        const char *t = views[i].table;
        if (!recompute_of(t) || view_columns(&rb->w, t, &rb->cols[i], true))
            return -1;
        sbuf_printf(&rb->b, "DROP TABLE IF EXISTS `%s_new`, `%s_old`", t, t);
        if (run_buf(&rb->w, &rb->b))
            return -1;
        sbuf_printf(&rb->b, "CREATE TABLE `%s_new` LIKE `%s`", t, t);
        if (run_buf(&rb->w, &rb->b))
            return -1;
    }
    return 0;
}

/*
 * 1. A full recomputation into the shadows, as of event rb->from (changes
 * committed meanwhile are caught up after). It must include every event up
 * to `from`: a commit still becoming visible sits among the last positions,
 * so those are waited for.
 */
static int recompute_all(struct rebuild *rb)
{
    int64_t from = 0;

    if (event_head(&rb->w, &from) ||
        wait_visible(&rb->w, from > VISIBLE_WINDOW ? from - VISIBLE_WINDOW : 0, from))
        return -1;
    for (size_t i = 0; i < N_VIEWS; i++) {
        const char *rs;
        size_t rn;
        recompute_text(recompute_of(views[i].table), &rs, &rn);
        sbuf_printf(&rb->b, "INSERT INTO `%s_new` (%s) %.*s", views[i].table, rb->cols[i].buf,
                    (int)rn, rs);
        if (run_buf(&rb->w, &rb->b))
            return -1;
    }
    rb->from = from;
    printf("rebuild-views: recomputed every view as of event %" PRId64 "\n", from);
    return 0;
}

/* View i's shadow gets the rows that the visible events in (rb->from, upto] touched. */
static int catch_up_view(struct rebuild *rb, size_t i, int64_t upto)
{
    char into[80];

    if (upto <= rb->from)
        return 0;
    snprintf(into, sizeof(into), "%s_new", views[i].table);
    return catch_up(&rb->w, &views[i], into, rb->from, upto, rb->cols[i].buf);
}

/* 2. Catch up with the events committed meanwhile, while commands keep running. */
static int catch_up_all(struct rebuild *rb)
{
    for (int round = 0; round < 10; round++) {
        int64_t to = 0;
        if (event_head(&rb->w, &to) || wait_visible(&rb->w, rb->from, to))
            return -1;
        if (to == rb->from)
            break;
        for (size_t i = 0; i < N_VIEWS; i++)
            if (catch_up_view(rb, i, to))
                return -1;
        rb->from = to;
    }
    return 0;
}

/*
 * 3. The swap of view i. LOCK TABLES v READ waits for every transaction
 * that wrote v to commit and holds back new writes to it (commands wait,
 * they do not fail): the events that touch v are now final, so the last
 * ones are caught up. Then RENAME TABLE v TO v_old, v_new TO v is sent and
 * queues for v's exclusive metadata lock; once it waits, the read lock is
 * released. A waiting exclusive lock goes before the waiting writers, so
 * the rename runs first and they then write to the new table. (One RENAME
 * for all three views would queue on the first name only, and writers of
 * the others would slip into the old tables: MariaDB takes a RENAME's locks
 * one by one.) *upto: the events the view now includes.
 */
static int swap_view(struct rebuild *rb, size_t i, int64_t *upto)
{
    const char *t = views[i].table;
    struct proc_state ps = {db_admin_thread_id(rb->w.a), false};
    struct timespec ts = {0, 2 * 1000 * 1000};

    sbuf_printf(&rb->b, "LOCK TABLES `%s` READ", t);
    if (run_buf(&rb->lk, &rb->b))
        return -1;
    if (event_head(&rb->w, upto) || wait_visible(&rb->w, rb->from, *upto) ||
        catch_up_view(rb, i, *upto))
        goto out_unlock;
    sbuf_printf(&rb->b, "RENAME TABLE `%s` TO `%s_old`, `%s_new` TO `%s`", t, t, t, t);
    if (rb->b.oom || db_admin_send(rb->w.a, rb->b.buf, rb->b.len, rb->w.err, sizeof(rb->w.err))) {
        fprintf(stderr, "cqrsd: %s\n", rb->w.err);
        goto out_unlock;
    }
    sbuf_reset(&rb->b);
    sbuf_printf(&rb->b, "SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = %lu", ps.id);
    for (int k = 0; k < 5000 && !ps.waiting; k++) {
        if (db_admin_exec(rb->mon.a, rb->b.buf, rb->b.len, check_state, &ps, rb->mon.err,
                          sizeof(rb->mon.err)))
            break;
        if (!ps.waiting)
            nanosleep(&ts, NULL);
    }
    sbuf_reset(&rb->b);
    run(&rb->lk, LIT("UNLOCK TABLES"));
    if (db_admin_wait(rb->w.a, rb->w.err, sizeof(rb->w.err))) {
        fprintf(stderr, "cqrsd: rename %s: %s\n", t, rb->w.err);
        return -1;
    }
    sbuf_printf(&rb->b, "DROP TABLE IF EXISTS `%s_old`", t);
    return run_buf(&rb->w, &rb->b);
out_unlock:
    sbuf_reset(&rb->b);
    run(&rb->lk, LIT("UNLOCK TABLES"));
    return -1;
}

int views_rebuild(const struct config *cfg)
{
    struct rebuild rb;
    int64_t to = 0;
    int rc = 1;

    memset(&rb, 0, sizeof(rb));
    if (open_session(&rb.w, cfg) || open_session(&rb.lk, cfg) || open_session(&rb.mon, cfg))
        goto out;
    /* each statement reads its own fresh snapshot and takes no row locks */
    if (run(&rb.w, LIT("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")) ||
        make_shadows(&rb) || recompute_all(&rb) || catch_up_all(&rb))
        goto out;
    for (size_t i = 0; i < N_VIEWS; i++) {
        int64_t upto = 0;
        if (swap_view(&rb, i, &upto))
            goto out;
        to = upto > to ? upto : to;
    }
    printf("rebuild-views: swapped in the rebuilt views (events up to %" PRId64 ")\n", to);
    rc = 0;
out:
    for (size_t i = 0; i < N_VIEWS; i++)
        sbuf_release(&rb.cols[i]);
    sbuf_release(&rb.b);
    db_admin_close(rb.w.a);
    db_admin_close(rb.lk.a);
    db_admin_close(rb.mon.a);
    return rc;
}

int views_confirm_keys(struct views_session *s, enum views_which w, const char *keys,
                       struct views_tally *t)
{
    return confirm_keys(s, &views[w], keys, 0, t);
}
