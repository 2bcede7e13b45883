/* replay.c - verify-events: the event store, replayed, against the write model
 *
 * One pass over the events in aggregate order (the events_aggregate index:
 * customers, then orders, then products, each by id and version), folding
 * each aggregate's events into its state, merged with the write table read
 * in id order on a connection of its own (order lines on a third). Orders
 * come before products, so the stock that orders took and cancellations
 * gave back is known, per product, when the products are folded: the only
 * state kept besides one aggregate is that map and the category names, both
 * as large as the catalog, whatever the size of the store.
 */
#include "replay.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "sbuf.h"

#define LIT(s) s, sizeof(s) - 1
#define MAX_LINES 100

struct line {
    int64_t product, quantity, price;
};

/* One aggregate, folded from its events. */
struct state {
    char kind[16];
    int64_t id, version;
    bool version_gap;
    const char *bad; /* the first event that could not be folded: what was wrong */
    /* customer */
    struct sbuf email, name;
    /* order */
    int64_t customer;
    char status[16];
    struct sbuf reason;
    bool has_reason;
    struct line lines[MAX_LINES];
    int nlines;
    /* product */
    struct sbuf sku, description, category;
    int64_t price, stock;
    bool deleted;
};

struct replay {
    struct db_admin *ev, *tb, *ln;
    struct db_admin_rows *evr;
    const char *const *row; /* the current event row, or NULL at the end */
    char err[600];
    /* the stock orders moved, by product: open addressing */
    int64_t *keys, *vals;
    size_t cap, used;
    /* categories by id */
    struct cat {
        int64_t id;
        char *name;
    } *cats;
    size_t ncats;
    long events, aggregates, diffs;
    /*
     * The first pass reads the events and the tables at two moments: it
     * only notes the aggregates that differ (quiet); each is compared again
     * in one snapshot, and only what still differs is printed.
     */
    bool quiet, no_deltas;
    struct key {
        char kind[16];
        int64_t id;
    } *suspects;
    size_t nsuspects, capsuspects;
    bool too_many;
};

#define MAX_SUSPECTS 100000

/*=== Small maps ===*/

static int delta_add(struct replay *rp, int64_t key, int64_t v)
{
    size_t i;

    if (rp->no_deltas) /* comparing an order again: the products' stock is already known */
        return 0;
    if ((rp->used + 1) * 2 > rp->cap) {
        size_t ncap = rp->cap ? rp->cap * 2 : 4096;
        int64_t *nk = calloc(ncap, sizeof(*nk)), *nv = calloc(ncap, sizeof(*nv));
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return -1;
        }
        for (size_t j = 0; j < rp->cap; j++) {
            if (!rp->keys[j])
                continue;
            for (i = (size_t)rp->keys[j] * 0x9E3779B97F4A7C15ULL % ncap; nk[i]; i = (i + 1) % ncap)
                ;
            nk[i] = rp->keys[j];
            nv[i] = rp->vals[j];
        }
        free(rp->keys);
        free(rp->vals);
        rp->keys = nk, rp->vals = nv, rp->cap = ncap;
    }
    for (i = (size_t)key * 0x9E3779B97F4A7C15ULL % rp->cap; rp->keys[i] && rp->keys[i] != key;
         i = (i + 1) % rp->cap)
        ;
    if (!rp->keys[i]) {
        rp->keys[i] = key;
        rp->used++;
    }
    rp->vals[i] += v;
    return 0;
}

static int64_t delta_of(const struct replay *rp, int64_t key)
{
    if (!rp->cap)
        return 0;
    for (size_t i = (size_t)key * 0x9E3779B97F4A7C15ULL % rp->cap; rp->keys[i];
         i = (i + 1) % rp->cap)
        if (rp->keys[i] == key)
            return rp->vals[i];
    return 0;
}

static const char *category_name(const struct replay *rp, int64_t id)
{
    size_t lo = 0, hi = rp->ncats;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rp->cats[mid].id == id)
            return rp->cats[mid].name;
        if (rp->cats[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return "";
}

static int load_category(void *ctx, unsigned ncols, const char *const *cols)
{
    struct replay *rp = ctx;
    struct cat *n;

    if (ncols < 2 || !cols[0] || !cols[1])
        return 0;
    if (!(n = realloc(rp->cats, (rp->ncats + 1) * sizeof(*n))) || !(n[rp->ncats].name = strdup(cols[1]))) {
        if (n)
            rp->cats = n;
        return -1;
    }
    rp->cats = n;
    rp->cats[rp->ncats++].id = strtoll(cols[0], NULL, 10);
    return 0;
}

/*=== Reporting ===*/

/* Note an aggregate to compare again (once). */
static void suspect(struct replay *rp, const char *kind, int64_t id)
{
    struct key *k;

    if (rp->nsuspects && rp->suspects[rp->nsuspects - 1].id == id &&
        !strcmp(rp->suspects[rp->nsuspects - 1].kind, kind))
        return;
    if (rp->nsuspects == MAX_SUSPECTS) {
        rp->too_many = true;
        return;
    }
    if (rp->nsuspects == rp->capsuspects) {
        size_t cap = rp->capsuspects ? rp->capsuspects * 2 : 64;
        if (!(k = realloc(rp->suspects, cap * sizeof(*k)))) {
            rp->too_many = true;
            return;
        }
        rp->suspects = k;
        rp->capsuspects = cap;
    }
    k = &rp->suspects[rp->nsuspects++];
    snprintf(k->kind, sizeof(k->kind), "%s", kind);
    k->id = id;
}

static void diff(struct replay *rp, const struct state *s, const char *field, const char *events,
                 const char *table)
{
    if (rp->quiet) {
        suspect(rp, s->kind, s->id);
        return;
    }
    rp->diffs++;
    printf("verify-events: %s %" PRId64 ": %s: the events give %s, the table has %s\n", s->kind,
           s->id, field, events, table);
}

static void diff_i64(struct replay *rp, const struct state *s, const char *field, int64_t events,
                     const char *table)
{
    char e[32];

    snprintf(e, sizeof(e), "%" PRId64, events);
    if (!table || strcmp(e, table) != 0)
        diff(rp, s, field, e, table ? table : "NULL");
}

static void diff_str(struct replay *rp, const struct state *s, const char *field,
                     const struct sbuf *events, const char *table)
{
    const char *e = events->len ? events->buf : "";

    if (!table || strcmp(e, table) != 0) {
        struct sbuf a = SBUF_INIT, b = SBUF_INIT;
        sbuf_add_json_str(&a, e, strlen(e));
        if (table)
            sbuf_add_json_str(&b, table, strlen(table));
        else
            sbuf_adds(&b, "NULL");
        diff(rp, s, field, a.buf ? a.buf : "\"\"", b.buf ? b.buf : "NULL");
        sbuf_release(&a);
        sbuf_release(&b);
    }
}

/*=== Folding ===*/

static void set_str(struct sbuf *b, json_t *v)
{
    sbuf_reset(b);
    sbuf_add(b, json_string_value(v), json_string_length(v));
    sbuf_addch(b, '\0');
    b->len--;
}

static bool get_int(json_t *data, const char *key, int64_t *out)
{
    json_t *v = json_object_get(data, key);

    if (!json_is_integer(v))
        return false;
    *out = json_integer_value(v);
    return true;
}

/* One event into s; false when its data lacks what the type needs (s->bad says what). */
static bool fold(struct replay *rp, struct state *s, const char *type, json_t *data)
{
    json_t *v;
    int64_t n;

    if (!strcmp(type, "CustomerRegistered")) {
        if (!json_is_string(v = json_object_get(data, "email")))
            return s->bad = "CustomerRegistered without email", false;
        set_str(&s->email, v);
        if (!json_is_string(v = json_object_get(data, "name")))
            return s->bad = "CustomerRegistered without name", false;
        set_str(&s->name, v);
    } else if (!strcmp(type, "OrderPlaced")) {
        json_t *items = json_object_get(data, "items"), *it;
        size_t i;
        if (!get_int(data, "customer_id", &s->customer))
            return s->bad = "OrderPlaced without customer_id", false;
        if (!json_is_array(items) || json_array_size(items) > MAX_LINES)
            return s->bad = "OrderPlaced without items", false;
        s->nlines = 0;
        json_array_foreach(items, i, it) {
            struct line *l = &s->lines[s->nlines++];
            if (!get_int(it, "product_id", &l->product) || !get_int(it, "quantity", &l->quantity) ||
                !get_int(it, "unit_price_cents", &l->price))
                return s->bad = "OrderPlaced with an incomplete item", false;
            if (delta_add(rp, l->product, -l->quantity))
                return s->bad = "out of memory", false;
        }
        snprintf(s->status, sizeof(s->status), "placed");
    } else if (!strcmp(type, "OrderPaid")) {
        snprintf(s->status, sizeof(s->status), "paid");
    } else if (!strcmp(type, "OrderShipped")) {
        snprintf(s->status, sizeof(s->status), "shipped");
    } else if (!strcmp(type, "OrderCancelled")) {
        snprintf(s->status, sizeof(s->status), "cancelled");
        if (!json_is_string(v = json_object_get(data, "reason")))
            return s->bad = "OrderCancelled without reason", false;
        set_str(&s->reason, v);
        s->has_reason = true;
        for (int i = 0; i < s->nlines; i++) /* the stock goes back */
            if (delta_add(rp, s->lines[i].product, s->lines[i].quantity))
                return s->bad = "out of memory", false;
    } else if (!strcmp(type, "ProductCreated")) {
        if (!json_is_string(v = json_object_get(data, "sku")))
            return s->bad = "ProductCreated without sku", false;
        set_str(&s->sku, v);
        if (!json_is_string(v = json_object_get(data, "name")))
            return s->bad = "ProductCreated without name", false;
        set_str(&s->name, v);
        if (!json_is_string(v = json_object_get(data, "description")))
            return s->bad = "ProductCreated without description", false;
        set_str(&s->description, v);
        if (!json_is_string(v = json_object_get(data, "category")))
            return s->bad = "ProductCreated without category", false;
        set_str(&s->category, v);
        if (!get_int(data, "price_cents", &s->price))
            return s->bad = "ProductCreated without price_cents", false;
        if (!get_int(data, "stock", &s->stock))
            return s->bad = "ProductCreated without stock", false;
    } else if (!strcmp(type, "ProductUpdated")) {
        if ((v = json_object_get(data, "name")))
            set_str(&s->name, v);
        if ((v = json_object_get(data, "description")))
            set_str(&s->description, v);
        if ((v = json_object_get(data, "category")))
            set_str(&s->category, v);
    } else if (!strcmp(type, "ProductPriceUpdated")) {
        if (!get_int(data, "new_price_cents", &s->price))
            return s->bad = "ProductPriceUpdated without new_price_cents", false;
    } else if (!strcmp(type, "ProductRestocked")) {
        if (!get_int(data, "quantity", &n))
            return s->bad = "ProductRestocked without quantity", false;
        s->stock += n;
    } else if (!strcmp(type, "ProductDeleted")) {
        s->deleted = true;
    } else {
        return s->bad = "an event type no command writes", false;
    }
    return true;
}

static void state_reset(struct state *s)
{
    struct sbuf keep[6] = {s->email, s->name, s->reason, s->sku, s->description, s->category};

    memset(s, 0, sizeof(*s));
    s->email = keep[0], s->name = keep[1], s->reason = keep[2];
    s->sku = keep[3], s->description = keep[4], s->category = keep[5];
    sbuf_reset(&s->email), sbuf_reset(&s->name), sbuf_reset(&s->reason);
    sbuf_reset(&s->sku), sbuf_reset(&s->description), sbuf_reset(&s->category);
}

static void state_release(struct state *s)
{
    sbuf_release(&s->email), sbuf_release(&s->name), sbuf_release(&s->reason);
    sbuf_release(&s->sku), sbuf_release(&s->description), sbuf_release(&s->category);
}

/*
 * Fold the next aggregate of kind `kind` from the event stream into s: false
 * when the stream has none (ended, or moved on to the next kind).
 */
static bool next_aggregate(struct replay *rp, const char *kind, struct state *s)
{
    unsigned ncols;

    if (!rp->row || strcmp(rp->row[0], kind) != 0)
        return false;
    state_reset(s);
    snprintf(s->kind, sizeof(s->kind), "%s", kind);
    s->id = strtoll(rp->row[1], NULL, 10);
    rp->aggregates++;
    while (rp->row && strcmp(rp->row[0], kind) == 0 && strtoll(rp->row[1], NULL, 10) == s->id) {
        int64_t version = strtoll(rp->row[2], NULL, 10);
        rp->events++;
        if (version != s->version + 1)
            s->version_gap = true;
        s->version = version;
        if (!s->bad) {
            json_t *data = json_loads(rp->row[4] ? rp->row[4] : "", 0, NULL);
            if (!json_is_object(data))
                s->bad = "its data is not a JSON object";
            else
                fold(rp, s, rp->row[3], data);
            json_decref(data);
        }
        rp->row = db_admin_next(rp->evr, &ncols);
    }
    return true;
}

/*=== Comparing ===*/

static int cmp_line(const void *a, const void *b)
{
    const struct line *x = a, *y = b;

    if (x->product != y->product)
        return x->product < y->product ? -1 : 1;
    if (x->quantity != y->quantity)
        return x->quantity < y->quantity ? -1 : 1;
    return x->price < y->price ? -1 : x->price > y->price;
}

/* The lines of order id from the order-lines stream (at or after its current row). */
static int order_lines(struct replay *rp, struct db_admin_rows *lr, const char *const **lrow,
                       int64_t id, struct line *out, int *n)
{
    unsigned ncols;

    *n = 0;
    while (*lrow && strtoll((*lrow)[0], NULL, 10) < id)
        *lrow = db_admin_next(lr, &ncols);
    while (*lrow && strtoll((*lrow)[0], NULL, 10) == id) {
        if (*n < MAX_LINES) {
            out[*n].product = strtoll((*lrow)[1], NULL, 10);
            out[*n].quantity = strtoll((*lrow)[2], NULL, 10);
            out[*n].price = strtoll((*lrow)[3], NULL, 10);
        }
        (*n)++;
        *lrow = db_admin_next(lr, &ncols);
    }
    (void)rp;
    return 0;
}

static void compare(struct replay *rp, struct state *s, const char *const *t,
                    struct db_admin_rows *lr, const char *const **lrow)
{
    if (s->bad) { /* what it needs is not in its events: nothing to compare with */
        if (rp->quiet) {
            suspect(rp, s->kind, s->id);
            return;
        }
        rp->diffs++;
        printf("verify-events: %s %" PRId64 ": events: %s (the aggregate is not compared)\n",
               s->kind, s->id, s->bad);
        return;
    }
    if (s->version_gap)
        diff(rp, s, "aggregate_version", "versions with a gap", "(compared at the last one)");
    if (!strcmp(s->kind, "customer")) { /* id, email, name, version */
        diff_str(rp, s, "email", &s->email, t[1]);
        diff_str(rp, s, "name", &s->name, t[2]);
        diff_i64(rp, s, "version", s->version, t[3]);
    } else if (!strcmp(s->kind, "order")) { /* id, customer_id, status, version, cancel_reason */
        struct line tl[MAX_LINES];
        int tn;
        diff_i64(rp, s, "customer_id", s->customer, t[1]);
        if (!t[2] || strcmp(s->status, t[2]) != 0)
            diff(rp, s, "status", s->status, t[2] ? t[2] : "NULL");
        diff_i64(rp, s, "version", s->version, t[3]);
        if (s->has_reason)
            diff_str(rp, s, "cancel_reason", &s->reason, t[4]);
        else if (t[4])
            diff(rp, s, "cancel_reason", "none", t[4]);
        order_lines(rp, lr, lrow, s->id, tl, &tn);
        if (tn != s->nlines || tn > MAX_LINES) {
            char e[24], g[24];
            snprintf(e, sizeof(e), "%d", s->nlines);
            snprintf(g, sizeof(g), "%d", tn);
            diff(rp, s, "lines", e, g);
        } else {
            qsort(tl, (size_t)tn, sizeof(*tl), cmp_line);
            qsort(s->lines, (size_t)tn, sizeof(*tl), cmp_line);
            for (int i = 0; i < tn; i++)
                if (cmp_line(&tl[i], &s->lines[i])) {
                    char e[96], g[96];
                    snprintf(e, sizeof(e), "product %" PRId64 " x %" PRId64 " at %" PRId64,
                             s->lines[i].product, s->lines[i].quantity, s->lines[i].price);
                    snprintf(g, sizeof(g), "product %" PRId64 " x %" PRId64 " at %" PRId64,
                             tl[i].product, tl[i].quantity, tl[i].price);
                    diff(rp, s, "line", e, g);
                }
        }
    } else { /* id, sku, name, description, category_id, price_cents, stock, version, deleted */
        const char *cat = category_name(rp, t[4] ? strtoll(t[4], NULL, 10) : 0);
        diff_str(rp, s, "sku", &s->sku, t[1]);
        diff_str(rp, s, "name", &s->name, t[2]);
        diff_str(rp, s, "description", &s->description, t[3]);
        diff_str(rp, s, "category", &s->category, cat);
        diff_i64(rp, s, "price_cents", s->price, t[5]);
        diff_i64(rp, s, "stock", s->stock + delta_of(rp, s->id), t[6]);
        diff_i64(rp, s, "version", s->version, t[7]);
        diff_i64(rp, s, "deleted", s->deleted, t[8]);
    }
}

/* One kind: its aggregates merged with its table by id. 0, or -1 on an error. */
static int verify_kind(struct replay *rp, const char *kind, const char *sql, size_t len,
                       struct state *s)
{
    struct db_admin_rows *tr = db_admin_stream(rp->tb, sql, len, false, rp->err, sizeof(rp->err));
    struct db_admin_rows *lr = NULL;
    const char *const *t, *const *lrow = NULL;
    unsigned ncols;
    bool more;
    int rc = 0;

    if (!tr)
        return -1;
    if (!strcmp(kind, "order")) {
        lr = db_admin_stream(rp->ln,
                             LIT("SELECT order_id, product_id, quantity, unit_price_cents FROM "
                                 "order_lines ORDER BY order_id, line_no"),
                             false, rp->err, sizeof(rp->err));
        if (!lr) {
            db_admin_stream_end(tr, rp->err, sizeof(rp->err));
            return -1;
        }
        lrow = db_admin_next(lr, &ncols);
    }
    t = db_admin_next(tr, &ncols);
    more = next_aggregate(rp, kind, s);
    while (more || t) {
        int64_t tid = t ? strtoll(t[0], NULL, 10) : INT64_MAX;
        if (more && s->id == tid) {
            compare(rp, s, t, lr, &lrow);
            t = db_admin_next(tr, &ncols);
            more = next_aggregate(rp, kind, s);
        } else if (more && s->id < tid) {
            diff(rp, s, "row", "events", "no row");
            more = next_aggregate(rp, kind, s);
        } else {
            struct state lone = {.id = tid};
            snprintf(lone.kind, sizeof(lone.kind), "%s", kind);
            diff(rp, &lone, "events", "none", "a row");
            t = db_admin_next(tr, &ncols);
        }
    }
    if (db_admin_stream_end(tr, rp->err, sizeof(rp->err)))
        rc = -1;
    if (lr && db_admin_stream_end(lr, rp->err, sizeof(rp->err)))
        rc = -1;
    return rc;
}

static struct db_admin *open_one(const struct config *cfg, char *err, size_t cap)
{
    struct db_admin *a = db_admin_open(&cfg->admin_dsn, cfg->write_dsn.database, err, cap);

    if (a && db_admin_exec(a, LIT("SET SESSION net_write_timeout = 600, net_read_timeout = 600"),
                           NULL, NULL, err, cap)) {
        db_admin_close(a);
        return NULL;
    }
    return a;
}

/* The kinds in the order of events_aggregate (aggregate_type sorts customer, order, product). */
static const struct kind {
    const char *kind, *table; /* its columns as compare() reads them, then FROM its table */
} kinds[] = {
    {"customer", "SELECT id, email, name, version FROM customers"},
    {"order", "SELECT id, customer_id, status, version, cancel_reason FROM orders"},
    {"product", "SELECT id, sku, name, description, category_id, price_cents, stock, version, "
                "deleted_at IS NOT NULL FROM products"},
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

#define EVENT_COLS "SELECT aggregate_type, aggregate_id, aggregate_version, `type`, data FROM events "

/* A buffered statement (the snapshot's connection runs several in turn); NULL on an error. */
static struct db_admin_rows *fetch(struct replay *rp, const char *sql)
{
    return db_admin_stream(rp->tb, sql, strlen(sql), true, rp->err, sizeof(rp->err));
}

/*
 * Compare every suspect again in one snapshot of one connection: the
 * products' stock from every order event, then each aggregate's events, its
 * row and its lines. Prints what still differs. 0, or -1 on an error.
 */
static int recheck(struct replay *rp, struct state *s)
{
    char sql[512], err[300];
    unsigned ncols;
    long events = rp->events, aggregates = rp->aggregates;
    int rc = -1;

    if (db_admin_exec(rp->tb, LIT("START TRANSACTION WITH CONSISTENT SNAPSHOT"), NULL, NULL,
                      rp->err, sizeof(rp->err)))
        return -1;
    for (size_t i = 0; i < rp->nsuspects; i++)
        if (!strcmp(rp->suspects[i].kind, "product")) { /* the stock orders moved, again */
            rp->used = 0;
            if (rp->cap) {
                memset(rp->keys, 0, rp->cap * sizeof(*rp->keys));
                memset(rp->vals, 0, rp->cap * sizeof(*rp->vals));
            }
            rp->evr = db_admin_stream(rp->tb,
                                      LIT(EVENT_COLS "WHERE aggregate_type = 'order' ORDER BY "
                                                     "aggregate_type, aggregate_id, "
                                                     "aggregate_version"),
                                      false, rp->err, sizeof(rp->err));
            if (!rp->evr)
                goto out;
            rp->row = db_admin_next(rp->evr, &ncols);
            while (next_aggregate(rp, "order", s))
                ;
            if (db_admin_stream_end(rp->evr, rp->err, sizeof(rp->err)))
                goto out_ended;
            break;
        }
    rp->quiet = false;
    rp->no_deltas = true;
    for (size_t i = 0; i < rp->nsuspects; i++) {
        const struct key *k = &rp->suspects[i];
        struct db_admin_rows *tr, *lr = NULL;
        const char *const *t, *const *lrow = NULL;
        const struct kind *kd = NULL;
        bool have;
        for (size_t j = 0; j < N_KINDS; j++)
            if (!strcmp(kinds[j].kind, k->kind))
                kd = &kinds[j];
        if (!kd)
            continue;
        snprintf(sql, sizeof(sql),
                 EVENT_COLS "WHERE aggregate_type = '%s' AND aggregate_id = %" PRId64
                            " ORDER BY aggregate_version",
                 kd->kind, k->id);
        if (!(rp->evr = fetch(rp, sql)))
            goto out;
        rp->row = db_admin_next(rp->evr, &ncols);
        have = next_aggregate(rp, kd->kind, s);
        if (db_admin_stream_end(rp->evr, rp->err, sizeof(rp->err)))
            goto out_ended;
        snprintf(sql, sizeof(sql), "%s WHERE id = %" PRId64, kd->table, k->id);
        if (!(tr = fetch(rp, sql)))
            goto out;
        t = db_admin_next(tr, &ncols);
        if (!strcmp(kd->kind, "order")) {
            snprintf(sql, sizeof(sql),
                     "SELECT order_id, product_id, quantity, unit_price_cents FROM order_lines "
                     "WHERE order_id = %" PRId64 " ORDER BY line_no",
                     k->id);
            if (!(lr = fetch(rp, sql))) {
                db_admin_stream_end(tr, rp->err, sizeof(rp->err));
                goto out;
            }
            lrow = db_admin_next(lr, &ncols);
        }
        if (have && t) {
            compare(rp, s, t, lr, &lrow);
        } else if (have) {
            diff(rp, s, "row", "events", "no row");
        } else if (t) {
            struct state lone = {.id = k->id};
            snprintf(lone.kind, sizeof(lone.kind), "%s", kd->kind);
            diff(rp, &lone, "events", "none", "a row");
        }
        db_admin_stream_end(tr, rp->err, sizeof(rp->err));
        if (lr)
            db_admin_stream_end(lr, rp->err, sizeof(rp->err));
    }
    rc = 0;
    goto out;
out_ended:
    rp->evr = NULL;
out:
    rp->evr = NULL;
    rp->events = events, rp->aggregates = aggregates;
    db_admin_exec(rp->tb, LIT("COMMIT"), NULL, NULL, err, sizeof(err)); /* a read: nothing to lose */
    return rc;
}

int replay_verify(const struct config *cfg)
{
    struct replay rp = {.quiet = true};
    struct state s = {0};
    unsigned ncols;
    int rc = 2;

    if (!(rp.ev = open_one(cfg, rp.err, sizeof(rp.err))) ||
        !(rp.tb = open_one(cfg, rp.err, sizeof(rp.err))) ||
        !(rp.ln = open_one(cfg, rp.err, sizeof(rp.err))))
        goto out;
    if (db_admin_exec(rp.tb, LIT("SELECT id, name FROM categories ORDER BY id"), load_category,
                      &rp, rp.err, sizeof(rp.err)))
        goto out;
    rp.evr = db_admin_stream(
        rp.ev, LIT(EVENT_COLS "ORDER BY aggregate_type, aggregate_id, aggregate_version"), false,
        rp.err, sizeof(rp.err));
    if (!rp.evr)
        goto out;
    rp.row = db_admin_next(rp.evr, &ncols);
    for (size_t k = 0; k <= N_KINDS; k++) {
        /* events of a kind sorted before this one are of no kind the commands write */
        while (rp.row && (k == N_KINDS || strcmp(rp.row[0], kinds[k].kind) < 0)) {
            struct state odd = {.id = strtoll(rp.row[1], NULL, 10)};
            snprintf(odd.kind, sizeof(odd.kind), "%.15s", rp.row[0]);
            rp.quiet = false; /* not a matter of timing: said at once */
            diff(&rp, &odd, "aggregate_type", "an unknown aggregate type", "no table");
            rp.quiet = true;
            rp.events++;
            rp.row = db_admin_next(rp.evr, &ncols);
        }
        if (k < N_KINDS) {
            char sql[256];
            snprintf(sql, sizeof(sql), "%s ORDER BY id", kinds[k].table);
            if (verify_kind(&rp, kinds[k].kind, sql, strlen(sql), &s))
                goto out;
        }
    }
    if (db_admin_stream_end(rp.evr, rp.err, sizeof(rp.err))) {
        rp.evr = NULL;
        goto out;
    }
    rp.evr = NULL;
    if (rp.nsuspects && recheck(&rp, &s))
        goto out;
    if (rp.too_many)
        printf("verify-events: more than %d aggregates differed at first; the first %d were "
               "compared again\n",
               MAX_SUSPECTS, MAX_SUSPECTS);
    printf("verify-events: %ld events of %ld aggregates replayed, %ld difference%s\n", rp.events,
           rp.aggregates, rp.diffs, rp.diffs == 1 ? "" : "s");
    if (rp.nsuspects > (size_t)rp.diffs)
        printf("verify-events: %zu aggregate%s differed in the first pass and not in one "
               "snapshot (commands ran meanwhile)\n",
               rp.nsuspects - (size_t)rp.diffs, rp.nsuspects - (size_t)rp.diffs == 1 ? "" : "s");
    printf("verify-events: %s\n", rp.diffs ? "the write model differs from the event store"
                                           : "the event store holds every change");
    rc = rp.diffs ? 1 : 0;
out:
    if (rc == 2)
        fprintf(stderr, "cqrsd: verify-events: %s\n", rp.err[0] ? rp.err : "out of memory");
    fflush(stdout);
    if (rp.evr)
        db_admin_stream_end(rp.evr, rp.err, sizeof(rp.err));
    db_admin_close(rp.ev);
    db_admin_close(rp.tb);
    db_admin_close(rp.ln);
    state_release(&s);
    for (size_t i = 0; i < rp.ncats; i++)
        free(rp.cats[i].name);
    free(rp.cats);
    free(rp.keys);
    free(rp.vals);
    free(rp.suspects);
    return rc;
}
