/* query.c - GET /queries: documents by id, cursor-paged lists, ETag/304 */
#include "query.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "handlers.h"
#include "problem.h"

/*=== Shared helpers ===*/

int query_check_args(const struct request *rq, const char *const *allowed, struct reply *r)
{
    if (rq->too_many_args)
        return problem(r, P_INVALID_PARAMETER, "too many query parameters"), -1;
    for (int i = 0; i < rq->nargs; i++) {
        const char *k = rq->args[i].key;
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, k) == 0)
                ok = true;
        if (!ok)
            return problem(r, P_INVALID_PARAMETER, "unknown query parameter '%.40s'", k), -1;
        if (!rq->args[i].val || !rq->args[i].val[0])
            return problem(r, P_INVALID_PARAMETER, "query parameter '%s' is empty", k), -1;
        for (int j = 0; j < i; j++)
            if (strcmp(rq->args[j].key, k) == 0)
                return problem(r, P_INVALID_PARAMETER, "query parameter '%s' is repeated", k),
                       -1;
    }
    return 0;
}

int query_int_arg(const struct request *rq, const char *key, int64_t min, int64_t max,
                  int64_t *out, struct reply *r)
{
    const struct req_arg *a = request_arg(rq, key);
    const char *s;
    char *e;
    long long v;

    if (!a)
        return 0;
    s = a->val;
    if (!(s[0] >= '0' && s[0] <= '9') || (s[0] == '0' && s[1]))
        goto bad;
    errno = 0;
    v = strtoll(s, &e, 10);
    if (errno || *e || v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    if (max == INT64_MAX)
        return problem(r, P_INVALID_PARAMETER, "%s must be an integer of at least %" PRId64, key,
                       min), -1;
    return problem(r, P_INVALID_PARAMETER, "%s must be an integer from %" PRId64 " to %" PRId64,
                   key, min, max), -1;
}

struct db *query_db(struct reply *r)
{
    struct db *db = db_thread();

    if (!db)
        problem(r, P_INTERNAL, "out of memory");
    return db;
}

int query_run(struct db *db, enum q q, const struct db_param *p, size_t np)
{
    return db_run_read(db, q, p, np);
}

void query_db_problem(struct reply *r, int rc)
{
    sbuf_reset(&r->body);
    if (rc == DB_GONE || rc == DB_RETRY)
        problem(r, P_DATABASE_UNAVAILABLE, "the database did not answer; retry");
    else
        problem(r, P_INTERNAL, "the query could not be answered");
}

void query_etag(const char *doc, size_t n, char out[24])
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)doc[i];
        h *= 0x100000001b3ull;
    }
    snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}

bool query_etag_match(const char *header, const char *etag)
{
    size_t en = strlen(etag);
    const char *p = header;

    while (*p) {
        const char *start, *end;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        start = p;
        while (*p && *p != ',')
            p++;
        end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end - start == 1 && *start == '*')
            return true;
        if (end - start > 2 && start[0] == 'W' && start[1] == '/')
            start += 2;
        if ((size_t)(end - start) == en && memcmp(start, etag, en) == 0)
            return true;
    }
    return false;
}

/* Parse path segment i as an id; 400 into r on failure. */
static int path_id(const struct request *rq, int i, int64_t *id, struct reply *r)
{
    if (!request_parse_id(rq->seg[i], rq->seg_len[i], id))
        return problem(r, P_INVALID_PARAMETER,
                       "the id in the path must be a positive integer without leading zeros"),
               -1;
    return 0;
}

/*=== Documents by id ===*/

/*
 * Answer the stored document of view statement q for the path id (ETag,
 * 304, 404): deferred to the batch readers as `kind`, or read here when
 * kind is -1 (the readers are not running). owner > 0: only that customer's
 * document exists (q's second column is its customer), and any other
 * answers exactly as an unknown id does.
 */
static void doc_by_id(const struct request *rq, struct reply *r, enum q q, const char *what,
                      int kind, int64_t owner)
{
    static const char *const allowed[] = {NULL};
    struct db *db;
    int64_t id;
    const char *doc;
    size_t n;
    int rc;

    if (query_check_args(rq, allowed, r) || path_id(rq, 0, &id, r))
        return;
    if (kind >= 0) { /* the HTTP layer hands it to a reader thread (batch.c) */
        r->defer_kind = kind + 1;
        r->defer_id = id;
        r->defer_owner = owner;
        return;
    }
    if (!(db = query_db(r)))
        return;
    if ((rc = query_run(db, q, DB_ARGS(DB_I64(id)))) || (rc = db_next(db, q)) < 0) {
        query_db_problem(r, rc);
        return;
    }
    if (rc == 1 && owner && db_i64(db, q, DOC_OWNER) != owner) {
        db_end(db, q);
        rc = 0;
    }
    if (rc == 0) {
        query_not_found(r, what, q == Q_PRODUCT_DOC ? id : 0);
        return;
    }
    doc = db_str(db, q, COL_FIRST, &n);
    query_etag(doc, n, r->etag);
    if (rq->if_none_match && query_etag_match(rq->if_none_match, r->etag))
        r->status = 304;
    else
        reply_json(r, 200, doc, n);
    db_end(db, q);
}

void query_not_found(struct reply *r, const char *what, int64_t id)
{
    sbuf_reset(&r->body);
    if (id)
        problem(r, P_NOT_FOUND, "%s %" PRId64 " not found", what, id);
    else
        problem(r, P_NOT_FOUND, "no such %s", what);
}

/* A customer reads only its own customer: another id is not found (API.md "Authorization"). */
static bool not_own_customer(const struct request *rq, struct reply *r)
{
    int64_t id, owner = principal_owner(&rq->who);

    if (!owner || !request_parse_id(rq->seg[0], rq->seg_len[0], &id) || id == owner)
        return false;
    query_not_found(r, "customer", 0);
    return true;
}

void handle_product_get(const struct request *rq, struct reply *r)
{
    doc_by_id(rq, r, Q_PRODUCT_DOC, "product", rq->batch ? DOC_PRODUCT : -1, 0);
}

void handle_order_get(const struct request *rq, struct reply *r)
{
    doc_by_id(rq, r, Q_ORDER_DOC, "order", rq->batch ? DOC_ORDER : -1,
              principal_owner(&rq->who));
}

void handle_customer_get(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {NULL};

    if (query_check_args(rq, allowed, r) || not_own_customer(rq, r))
        return;
    doc_by_id(rq, r, Q_CUSTOMER_DOC, "customer", rq->batch ? DOC_CUSTOMER : -1, 0);
}

/*=== Lists ===*/

/* The item of a list row: its stored document (column 0). */
static void doc_item(struct sbuf *b, struct db *db, enum q q)
{
    size_t n;
    const char *doc = db_str(db, q, COL_FIRST, &n);

    sbuf_add(b, doc, n);
}

void query_list(struct db *db, enum q q, const struct db_param *p, size_t np, int64_t limit,
                query_item_fn item, query_cursor_fn cursor_of, struct reply *r)
{
    char next[CURSOR_MAX] = "";
    int64_t got = 0;
    int rc;

    if ((rc = query_run(db, q, p, np))) {
        query_db_problem(r, rc);
        return;
    }
    r->status = 200;
    sbuf_reset(&r->body);
    sbuf_adds(&r->body, "{\"items\":[");
    while ((rc = db_next(db, q)) == 1) {
        if (got == limit) { /* one more than asked: there is a next page */
            db_end(db, q);
            break;
        }
        if (got++)
            sbuf_addch(&r->body, ',');
        item(&r->body, db, q);
        cursor_of(db, q, next);
    }
    if (rc < 0) {
        query_db_problem(r, rc);
        return;
    }
    if (rc == 1)
        sbuf_printf(&r->body, "],\"next_cursor\":\"%s\"}", next);
    else
        sbuf_adds(&r->body, "],\"next_cursor\":null}");
}

static void list_reply(struct db *db, enum q q, const struct db_param *p, size_t np,
                       int64_t limit, query_cursor_fn cursor_of, struct reply *r)
{
    query_list(db, q, p, np, limit, doc_item, cursor_of, r);
}

/* product lists: columns doc, product_id, price_cents, units_sold */
static void cursor_by_id(struct db *db, enum q q, char out[CURSOR_MAX])
{
    cursor_encode('i', 0, db_i64(db, q, PLIST_ID), out);
}

static void cursor_by_price(struct db *db, enum q q, char out[CURSOR_MAX])
{
    cursor_encode('p', db_i64(db, q, PLIST_PRICE), db_i64(db, q, PLIST_ID), out);
}

static void cursor_by_sold(struct db *db, enum q q, char out[CURSOR_MAX])
{
    cursor_encode('b', db_i64(db, q, PLIST_SOLD), db_i64(db, q, PLIST_ID), out);
}

/*
 * The product list's sorts: the name in ?sort=, the cursor's kind, where a
 * walk starts (a keyed sort walks from below the first key), and the
 * statements without and with a category. A keyed sort's statement takes
 * (key, key, id, limit), the id sort's (id, limit), after the category.
 */
static const struct product_sort {
    const char *name;
    char kind;
    bool keyed;
    int64_t first_key;
    enum q all, in_category;
    query_cursor_fn cursor_of;
} product_sorts[] = {
    {"id", 'i', false, 0, Q_PRODUCTS_BY_ID, Q_PRODUCTS_CAT_BY_ID, cursor_by_id},
    {"price", 'p', true, -1 /* prices are >= 0 */, Q_PRODUCTS_BY_PRICE, Q_PRODUCTS_CAT_BY_PRICE,
     cursor_by_price},
    {"best_selling", 'b', true, INT64_MAX, Q_PRODUCTS_BY_SOLD, Q_PRODUCTS_CAT_BY_SOLD,
     cursor_by_sold},
};

void handle_products_list(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {"category", "sort", "limit", "after", NULL};
    const struct req_arg *cat = request_arg(rq, "category");
    const struct req_arg *sort = request_arg(rq, "sort");
    const struct req_arg *after = request_arg(rq, "after");
    const struct product_sort *ps = &product_sorts[0];
    int64_t limit = 50, key, id = 0;
    struct db_param p[5];
    size_t np = 0;
    struct db *db;

    if (query_check_args(rq, allowed, r) || query_int_arg(rq, "limit", 1, 200, &limit, r))
        return;
    if (sort) {
        size_t i = 0, n = sizeof(product_sorts) / sizeof(product_sorts[0]);
        while (i < n && strcmp(sort->val, product_sorts[i].name) != 0)
            i++;
        if (i == n) {
            problem(r, P_INVALID_PARAMETER, "sort must be id, price or best_selling");
            return;
        }
        ps = &product_sorts[i];
    }
    key = ps->first_key;
    if (after && !cursor_decode(after->val, ps->kind, &key, &id)) {
        problem(r, P_INVALID_PARAMETER, "after is not a cursor of this list");
        return;
    }
    if (cat && strlen(cat->val) > 400) {
        problem(r, P_INVALID_PARAMETER, "category is too long");
        return;
    }
    if (!(db = query_db(r)))
        return;
    if (cat)
        p[np++] = DB_STR(cat->val, strlen(cat->val));
    if (ps->keyed) {
        p[np++] = DB_I64(key);
        p[np++] = DB_I64(key);
    }
    p[np++] = DB_I64(id);
    p[np++] = DB_I64(limit + 1);
    list_reply(db, cat ? ps->in_category : ps->all, p, np, limit, ps->cursor_of, r);
}

/* customer orders: columns doc, order_id; newest first */
static void cursor_by_order(struct db *db, enum q q, char out[CURSOR_MAX])
{
    cursor_encode('o', 0, db_i64(db, q, CO_ORDER_ID), out);
}

void handle_customer_orders(const struct request *rq, struct reply *r)
{
    static const char *const allowed[] = {"status", "limit", "after", NULL};
    static const char *const statuses[] = {"placed", "paid", "shipped", "cancelled", NULL};
    const struct req_arg *status = request_arg(rq, "status");
    const struct req_arg *after = request_arg(rq, "after");
    int64_t limit = 50, customer, key, before = INT64_MAX;
    struct db *db;
    int rc;

    if (query_check_args(rq, allowed, r) || path_id(rq, 0, &customer, r) ||
        query_int_arg(rq, "limit", 1, 200, &limit, r))
        return;
    if (status) {
        bool ok = false;
        for (const char *const *s = statuses; *s; s++)
            if (strcmp(*s, status->val) == 0)
                ok = true;
        if (!ok) {
            problem(r, P_INVALID_PARAMETER, "status must be placed, paid, shipped or cancelled");
            return;
        }
    }
    if (after && !cursor_decode(after->val, 'o', &key, &before)) {
        problem(r, P_INVALID_PARAMETER, "after is not a cursor of this list");
        return;
    }
    if (not_own_customer(rq, r) || !(db = query_db(r)))
        return;
    if ((rc = query_run(db, Q_CUSTOMER_DOC, DB_ARGS(DB_I64(customer)))) ||
        (rc = db_next(db, Q_CUSTOMER_DOC)) < 0) {
        query_db_problem(r, rc);
        return;
    }
    if (rc == 0) {
        query_not_found(r, "customer", 0);
        return;
    }
    db_end(db, Q_CUSTOMER_DOC);
    if (status)
        list_reply(db, Q_CUSTOMER_ORDERS_STATUS,
                   DB_ARGS(DB_I64(customer), DB_STR(status->val, strlen(status->val)),
                           DB_I64(before), DB_I64(limit + 1)),
                   limit, cursor_by_order, r);
    else
        list_reply(db, Q_CUSTOMER_ORDERS,
                   DB_ARGS(DB_I64(customer), DB_I64(before), DB_I64(limit + 1)), limit,
                   cursor_by_order, r);
}
