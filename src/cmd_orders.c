/* cmd_orders.c - PlaceOrder, PayOrder, ShipOrder, CancelOrder */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "problem.h"

#define MAX_ITEMS 100

/*=== PlaceOrder ===*/

enum { PO_CUSTOMER, PO_ITEMS };
static const struct jv_field item_spec[] = {
    {"product_id", JV_ID | JV_REQ, 0, 0, NULL},
    {"quantity", JV_INT | JV_REQ, 1, 1000, NULL},
    {NULL, 0, 0, 0, NULL},
};
static const struct jv_field place_spec[] = {
    {"customer_id", JV_ID | JV_REQ, 0, 0, NULL},
    {"items", JV_ARRAY | JV_REQ, 1, MAX_ITEMS, item_spec},
    {NULL, 0, 0, 0, NULL},
};

struct line {
    int64_t product_id, quantity;
    int line_no; /* 1-based, the order of `items` */
    int64_t price, stock;
    size_t sku_n, name_n;
    char sku[65], name[801];
};

static int by_product(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    return (x->product_id > y->product_id) - (x->product_id < y->product_id);
}

static int by_line_no(const void *a, const void *b)
{
    const struct line *x = a, *y = b;
    return x->line_no - y->line_no;
}

/* Read the validated items; 422 errors for a product named twice. */
static int place_check(const json_t *data, const struct jv_vals *v, json_t *errors)
{
    const json_t *items = v->j[PO_ITEMS];
    int nerr = 0;

    (void)data;
    if (!v->has[PO_ITEMS])
        return 0;
    for (size_t i = 1; i < json_array_size(items); i++) {
        json_int_t pi = json_integer_value(json_object_get(json_array_get(items, i), "product_id"));
        for (size_t k = 0; k < i; k++) {
            if (json_integer_value(json_object_get(json_array_get(items, k), "product_id")) ==
                pi) {
                char field[64];
                snprintf(field, sizeof(field), "data.items[%zu].product_id", i);
                jv_error(errors, field, "names a product that is already in items");
                nerr++;
                break;
            }
        }
    }
    return nerr;
}

static void copy_str(struct db *db, enum q q, int col, char *out, size_t cap, size_t *n)
{
    const char *s = db_str(db, q, col, n);

    if (*n >= cap)
        *n = cap - 1;
    memcpy(out, s, *n);
    out[*n] = '\0';
}

/*
 * Lock every product in ascending id order (concurrent orders cannot
 * deadlock) and read its price, stock, sku and name into its line: one
 * statement per 16 products (4 for small orders). DB_OK with 404 in r for
 * the first unknown or deleted product (in id order); lines end in id order.
 */
static int lock_products(struct cmd_ctx *cx, struct line *lines, size_t n, struct reply *r)
{
    int rc;

    qsort(lines, n, sizeof(*lines), by_product);
    for (size_t at = 0; at < n; at += 16) {
        size_t k = n - at < 16 ? n - at : 16, np = k <= 4 ? 4 : 16, j = at;
        enum q q = k <= 4 ? Q_ORDER_PRODUCTS4 : Q_ORDER_PRODUCTS16;
        struct db_param p[16];
        bool seen[16] = {false};

        for (size_t i = 0; i < np; i++) /* pad with the last id: IN ignores repeats */
            p[i] = DB_I64(lines[at + (i < k ? i : k - 1)].product_id);
        if ((rc = db_run(cx->db, q, p, np)))
            return rc;
        while ((rc = db_next(cx->db, q)) == 1) { /* rows in id order, as the lines */
            int64_t id = db_i64(cx->db, q, OP_ID);
            while (j < at + k && lines[j].product_id < id)
                j++;
            if (j == at + k || lines[j].product_id != id || !db_i64(cx->db, q, OP_LIVE))
                continue;
            seen[j - at] = true;
            lines[j].price = db_i64(cx->db, q, OP_PRICE);
            lines[j].stock = db_i64(cx->db, q, OP_STOCK);
            copy_str(cx->db, q, OP_SKU, lines[j].sku, sizeof(lines[j].sku), &lines[j].sku_n);
            copy_str(cx->db, q, OP_NAME, lines[j].name, sizeof(lines[j].name), &lines[j].name_n);
        }
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < k; i++)
            if (!seen[i]) {
                json_t *extra =
                    json_pack("{s:I}", "product_id", (json_int_t)lines[at + i].product_id);
                problem_ext(r, P_NOT_FOUND, extra, "product %" PRId64 " not found",
                            lines[at + i].product_id);
                return DB_OK;
            }
    }
    return DB_OK;
}

/*
 * Add delta[i] to the stock of product pids[i] (ascending ids: the row
 * locks are taken in that order), up to 4 products per statement.
 */
static int move_stock(struct cmd_ctx *cx, const int64_t *pids, const int64_t *delta, size_t n)
{
    int rc;

    for (size_t at = 0; at < n; at += 4) {
        size_t k = n - at < 4 ? n - at : 4;
        struct db_param p[13];
        if (k == 1) {
            rc = db_run(cx->db, Q_PRODUCT_STOCK_MOVE,
                        DB_ARGS(DB_I64(delta[at]), DB_STR(cx->now, strlen(cx->now)),
                                DB_I64(pids[at])));
        } else {
            for (size_t i = 0; i < 4; i++) { /* pad with the last pair: CASE takes the first */
                size_t j = at + (i < k ? i : k - 1);
                p[2 * i] = DB_I64(pids[j]);
                p[2 * i + 1] = DB_I64(delta[j]);
                p[9 + i] = DB_I64(pids[j]);
            }
            p[8] = DB_STR(cx->now, strlen(cx->now));
            rc = db_run(cx->db, Q_PRODUCT_STOCK_MOVE4, p, 13);
        }
        if (rc)
            return rc;
    }
    return DB_OK;
}

/* Insert the lines (in line order), up to 4 rows per statement. */
static int insert_lines(struct cmd_ctx *cx, int64_t order_id, const struct line *lines, size_t n)
{
    static const enum q by_rows[] = {Q_ORDER_LINE_INSERT, Q_ORDER_LINE_INSERT2,
                                     Q_ORDER_LINE_INSERT3, Q_ORDER_LINE_INSERT4};
    int rc;

    for (size_t at = 0; at < n; at += 4) {
        size_t k = n - at < 4 ? n - at : 4;
        struct db_param p[4 * 7];
        for (size_t i = 0; i < k; i++) {
            const struct line *l = &lines[at + i];
            struct db_param *row = &p[7 * i];
            row[0] = DB_I64(order_id);
            row[1] = DB_I64(l->line_no);
            row[2] = DB_I64(l->product_id);
            row[3] = DB_I64(l->quantity);
            row[4] = DB_I64(l->price);
            row[5] = DB_STR(l->sku, l->sku_n);
            row[6] = DB_STR(l->name, l->name_n);
        }
        if ((rc = db_run(cx->db, by_rows[k - 1], p, 7 * k)))
            return rc;
    }
    return DB_OK;
}

/*
 * Every line against its product's stock: DB_OK, with 409
 * insufficient-stock in r listing every short product (in line order) when
 * one is short; DB_ERR out of memory. Lines end in line order.
 */
static int check_stock(struct line *lines, size_t n, struct reply *r)
{
    struct sbuf detail = SBUF_INIT;
    json_t *short_list = NULL, *extra;

    qsort(lines, n, sizeof(*lines), by_line_no);
    for (size_t i = 0; i < n; i++) {
        struct line *l = &lines[i];
        if (l->quantity <= l->stock)
            continue;
        if (!short_list && !(short_list = json_array())) {
            sbuf_release(&detail);
            return DB_ERR;
        }
        json_array_append_new(short_list, json_pack("{s:I, s:I, s:I}", "product_id",
                                                    (json_int_t)l->product_id, "requested",
                                                    (json_int_t)l->quantity, "available",
                                                    (json_int_t)l->stock));
        sbuf_printf(&detail, "%sproduct %" PRId64 ": requested %" PRId64 ", available %" PRId64,
                    detail.len ? "; " : "", l->product_id, l->quantity, l->stock);
    }
    if (short_list) {
        extra = json_object();
        json_object_set_new(extra, "products", short_list);
        problem_ext(r, P_INSUFFICIENT_STOCK, extra, "%s", detail.buf);
    }
    sbuf_release(&detail);
    return DB_OK;
}

/*
 * The writes: decrement the stocks in id order, then insert the order and
 * its lines (the triggers follow), and queue OrderPlaced. *order_id is set.
 */
static int write_order(struct cmd_ctx *cx, int64_t customer, struct line *lines, size_t n,
                       int64_t *order_id)
{
    json_t *ev_items;
    int64_t total = 0, pids[MAX_ITEMS], delta[MAX_ITEMS];
    int rc;

    qsort(lines, n, sizeof(*lines), by_product);
    for (size_t i = 0; i < n; i++) {
        pids[i] = lines[i].product_id;
        delta[i] = -lines[i].quantity;
    }
    if ((rc = move_stock(cx, pids, delta, n)))
        return rc;
    qsort(lines, n, sizeof(*lines), by_line_no);
    if ((rc = db_run(cx->db, Q_ORDER_INSERT,
                     DB_ARGS(DB_I64(customer), DB_STR(cx->now, strlen(cx->now)),
                             DB_STR(cx->now, strlen(cx->now))))))
        return rc;
    *order_id = (int64_t)db_insert_id(cx->db, Q_ORDER_INSERT);
    if ((rc = insert_lines(cx, *order_id, lines, n)))
        return rc;
    if (!(ev_items = json_array()))
        return DB_ERR;
    for (size_t i = 0; i < n; i++) {
        struct line *l = &lines[i];
        total += l->quantity * l->price;
        json_array_append_new(ev_items, json_pack("{s:I, s:I, s:I}", "product_id",
                                                 (json_int_t)l->product_id, "quantity",
                                                 (json_int_t)l->quantity, "unit_price_cents",
                                                 (json_int_t)l->price));
    }
    return cmd_event(cx, "OrderPlaced", "order", *order_id, 1,
                     json_pack("{s:I, s:o, s:I}", "customer_id", (json_int_t)customer, "items",
                               ev_items, "total_cents", (json_int_t)total));
}

/* PlaceOrder: the customer, then lock_products, check_stock, write_order, ack. */
static int place_order(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r)
{
    const json_t *items = v->j[PO_ITEMS];
    size_t n = json_array_size(items);
    struct line *lines = calloc(n, sizeof(*lines));
    int64_t customer = v->i[PO_CUSTOMER], order_id = 0;
    int rc;

    if (!lines)
        return DB_ERR;
    for (size_t i = 0; i < n; i++) {
        const json_t *it = json_array_get(items, i);
        lines[i].product_id = json_integer_value(json_object_get(it, "product_id"));
        lines[i].quantity = json_integer_value(json_object_get(it, "quantity"));
        lines[i].line_no = (int)i + 1;
    }
    if ((rc = db_run(cx->db, Q_CUSTOMER_LOCK, DB_ARGS(DB_I64(customer)))) ||
        (rc = db_next(cx->db, Q_CUSTOMER_LOCK)) < 0)
        goto out;
    if (rc == 0) {
        json_t *extra = json_pack("{s:I}", "customer_id", (json_int_t)customer);
        problem_ext(r, P_NOT_FOUND, extra, "customer %" PRId64 " not found", customer);
        rc = DB_OK;
        goto out;
    }
    db_end(cx->db, Q_CUSTOMER_LOCK);
    if ((rc = lock_products(cx, lines, n, r)) || r->status >= 400 ||
        (rc = check_stock(lines, n, r)) || r->status >= 400)
        goto out;
    if ((rc = write_order(cx, customer, lines, n, &order_id)) == DB_OK)
        rc = cmd_ack(cx, r, 201, "order", order_id, 1);
out:
    free(lines);
    return rc;
}

/*=== PayOrder, ShipOrder, CancelOrder ===*/

enum { OT_ID, OT_EXPECTED, OT_REASON };
static const struct jv_field transition_spec[] = {
    {"order_id", JV_ID | JV_REQ, 0, 0, NULL},
    {"expected_version", JV_INT, 1, INT64_MAX, NULL},
    {NULL, 0, 0, 0, NULL},
};
static const struct jv_field cancel_spec[] = {
    {"order_id", JV_ID | JV_REQ, 0, 0, NULL},
    {"expected_version", JV_INT, 1, INT64_MAX, NULL},
    {"reason", JV_STR | JV_ML, 0, 500, NULL},
    {NULL, 0, 0, 0, NULL},
};

/*
 * Lock the order, check version and that its status is one of `from`
 * (a "|"-separated list); then move it to `to`. Cancelling puts the stock back.
 */
static int transition(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r,
                      const char *from, const char *to, const char *event)
{
    int64_t id = v->i[OT_ID], version, customer;
    char status[17];
    size_t sn;
    bool cancel = strcmp(to, "cancelled") == 0;
    const char *reason = cancel && v->has[OT_REASON] ? v->s[OT_REASON] : "";
    size_t reason_n = cancel && v->has[OT_REASON] ? v->n[OT_REASON] : 0;
    json_t *data;
    int rc;

    if ((rc = db_run(cx->db, Q_ORDER_LOCK, DB_ARGS(DB_I64(id)))) ||
        (rc = db_next(cx->db, Q_ORDER_LOCK)) < 0)
        return rc;
    if (rc == 0)
        return problem(r, P_NOT_FOUND, "no such order");
    copy_str(cx->db, Q_ORDER_LOCK, OL_STATUS, status, sizeof(status), &sn);
    version = db_i64(cx->db, Q_ORDER_LOCK, OL_VERSION);
    customer = db_i64(cx->db, Q_ORDER_LOCK, OL_CUSTOMER);
    db_end(cx->db, Q_ORDER_LOCK);
    /* another customer's order is not found, word for word (API.md "Authorization") */
    if (principal_owner(&cx->who) && customer != principal_owner(&cx->who))
        return problem(r, P_NOT_FOUND, "no such order");
    if (v->has[OT_EXPECTED] && v->i[OT_EXPECTED] != version) {
        json_t *extra = json_pack("{s:I}", "current_version", (json_int_t)version);
        return problem_ext(r, P_VERSION_CONFLICT, extra,
                           "order %" PRId64 " is at version %" PRId64 ", not %" PRId64, id,
                           version, v->i[OT_EXPECTED]);
    }
    {
        const char *p = from;
        bool ok = false;
        while (*p) {
            const char *e = strchr(p, '|');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (n == sn && memcmp(p, status, n) == 0)
                ok = true;
            p += n + (e ? 1 : 0);
        }
        if (!ok)
            return problem(r, P_INVALID_STATE_TRANSITION, "order %" PRId64 " is %s; %s needs %s",
                           id, status, cx->type, from);
    }
    if (cancel) { /* the customer (as PlaceOrder does), then the stock back, in id order */
        int64_t pids[MAX_ITEMS], qty[MAX_ITEMS];
        int nl = 0;
        if ((rc = db_run(cx->db, Q_CUSTOMER_LOCK, DB_ARGS(DB_I64(customer)))))
            return rc;
        db_end(cx->db, Q_CUSTOMER_LOCK);
        if ((rc = db_run(cx->db, Q_ORDER_LINES, DB_ARGS(DB_I64(id)))))
            return rc;
        while ((rc = db_next(cx->db, Q_ORDER_LINES)) == 1 && nl < MAX_ITEMS) {
            pids[nl] = db_i64(cx->db, Q_ORDER_LINES, LN_PRODUCT);
            qty[nl++] = db_i64(cx->db, Q_ORDER_LINES, LN_QUANTITY);
        }
        db_end(cx->db, Q_ORDER_LINES);
        if (rc < 0)
            return rc;
        if ((rc = move_stock(cx, pids, qty, (size_t)nl)))
            return rc;
    }
    rc = db_run(cx->db, Q_ORDER_TRANSITION,
                DB_ARGS(DB_STR(to, strlen(to)), DB_STR(cx->now, strlen(cx->now)),
                        cancel ? DB_STR(cx->now, strlen(cx->now)) : DB_NULL,
                        cancel ? DB_STR(reason, reason_n) : DB_NULL, DB_I64(id)));
    if (rc)
        return rc;
    data = cancel ? json_pack("{s:s%}", "reason", reason, reason_n) : json_object();
    if ((rc = cmd_event(cx, event, "order", id, version + 1, data)))
        return rc;
    return cmd_ack(cx, r, 200, "order", id, version + 1);
}

static int pay_order(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r)
{
    return transition(cx, v, r, "placed", "paid", "OrderPaid");
}

static int ship_order(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r)
{
    return transition(cx, v, r, "paid", "shipped", "OrderShipped");
}

static int cancel_order(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r)
{
    return transition(cx, v, r, "placed|paid", "cancelled", "OrderCancelled");
}

const struct command_def order_commands[] = {
    {"PlaceOrder", place_spec, place_check, place_order},
    {"PayOrder", transition_spec, NULL, pay_order},
    {"ShipOrder", transition_spec, NULL, ship_order},
    {"CancelOrder", cancel_spec, NULL, cancel_order},
    {NULL, NULL, NULL, NULL},
};
