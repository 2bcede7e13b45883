/* cmd_products.c - CreateProduct, UpdateProduct, UpdateProductPrice, RestockProduct, DeleteProduct */
#include <inttypes.h>
#include <string.h>

#include "cmd.h"
#include "problem.h"

/* Q_PRODUCT_LOCK columns */

struct product_row {
    int64_t version, price, stock, category_id;
    size_t name_n, desc_n;
    char name[801], desc[8001]; /* 200 and 2000 characters of up to 4 bytes */
};

static void copy_col(struct db *db, int col, char *out, size_t cap, size_t *n)
{
    const char *s = db_str(db, Q_PRODUCT_LOCK, col, n);

    if (*n >= cap)
        *n = cap - 1;
    memcpy(out, s, *n);
    out[*n] = '\0';
}

/*
 * Lock product `id` (FOR UPDATE) and check that it is live and at the
 * expected version (if has_expected). Returns DB_OK with *row filled,
 * DB_NOTFOUND with a 404/409 in r, or a db rc.
 */
static int product_lock(struct cmd_ctx *cx, int64_t id, bool has_expected, int64_t expected,
                        struct product_row *row, struct reply *r)
{
    int rc = db_run(cx->db, Q_PRODUCT_LOCK, DB_ARGS(DB_I64(id)));

    if (rc)
        return rc;
    if ((rc = db_next(cx->db, Q_PRODUCT_LOCK)) < 0)
        return rc;
    if (rc == 0 || !db_i64(cx->db, Q_PRODUCT_LOCK, PL_LIVE)) {
        db_end(cx->db, Q_PRODUCT_LOCK);
        problem(r, P_NOT_FOUND, "product %" PRId64 " not found", id);
        return DB_NOTFOUND;
    }
    row->version = db_i64(cx->db, Q_PRODUCT_LOCK, PL_VERSION);
    row->price = db_i64(cx->db, Q_PRODUCT_LOCK, PL_PRICE);
    row->stock = db_i64(cx->db, Q_PRODUCT_LOCK, PL_STOCK);
    row->category_id = db_i64(cx->db, Q_PRODUCT_LOCK, PL_CATEGORY);
    copy_col(cx->db, PL_NAME, row->name, sizeof(row->name), &row->name_n);
    copy_col(cx->db, PL_DESCRIPTION, row->desc, sizeof(row->desc), &row->desc_n);
    db_end(cx->db, Q_PRODUCT_LOCK);
    if (has_expected && expected != row->version) {
        json_t *extra = json_object();
        json_object_set_new(extra, "current_version", json_integer(row->version));
        problem_ext(r, P_VERSION_CONFLICT, extra,
                    "product %" PRId64 " is at version %" PRId64 ", not %" PRId64, id,
                    row->version, expected);
        return DB_NOTFOUND;
    }
    return DB_OK;
}

/* Find or create the category `<name, n>`; its id into *id (category_name reads its name). */
static int category_id(struct cmd_ctx *cx, const char *name, size_t n, int64_t *id)
{
    int rc = db_run(cx->db, Q_CATEGORY_UPSERT,
                    DB_ARGS(DB_STR(name, n), DB_STR(cx->now, strlen(cx->now))));

    if (rc)
        return rc;
    *id = (int64_t)db_insert_id(cx->db, Q_CATEGORY_UPSERT);
    if (*id > 0)
        return DB_OK;
    /* it existed, and the server reported no id for an update that changed nothing */
    return db_one_i64(cx->db, Q_CATEGORY_FIND, id, DB_ARGS(DB_STR(name, n)));
}

/* The category's stored name as a new JSON string (names compare case-insensitively). */
static json_t *category_name(struct cmd_ctx *cx, int64_t id, int *rc)
{
    size_t n;
    const char *s;
    json_t *j;

    if ((*rc = db_run(cx->db, Q_CATEGORY_NAME, DB_ARGS(DB_I64(id)))))
        return NULL;
    if ((*rc = db_next(cx->db, Q_CATEGORY_NAME)) <= 0) {
        *rc = *rc ? *rc : DB_ERR;
        return NULL;
    }
    s = db_str(cx->db, Q_CATEGORY_NAME, COL_FIRST, &n);
    j = json_stringn(s, n);
    db_end(cx->db, Q_CATEGORY_NAME);
    *rc = j ? DB_OK : DB_ERR;
    return j;
}

/* The outcome of product_lock as the handler's return value. */
static int lock_failed(int rc)
{
    return rc == DB_NOTFOUND ? DB_OK : rc;
}

/*=== CreateProduct ===*/

enum { CP_SKU, CP_NAME, CP_DESCRIPTION, CP_CATEGORY, CP_PRICE, CP_STOCK };
static const struct jv_field create_spec[] = {
    {"sku", JV_STR | JV_REQ | JV_SKU, 1, 64, NULL},
    {"name", JV_STR | JV_REQ, 1, 200, NULL},
    {"description", JV_STR | JV_ML, 0, 2000, NULL},
    {"category", JV_STR | JV_REQ, 1, 100, NULL},
    {"price_cents", JV_INT | JV_REQ, 0, 100000000000LL, NULL},
    {"stock", JV_INT, 0, 1000000000LL, NULL},
    {NULL, 0, 0, 0, NULL},
};

static int create_product(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r)
{
    int64_t cat, id;
    int64_t stock = v->has[CP_STOCK] ? v->i[CP_STOCK] : 0;
    const char *desc = v->has[CP_DESCRIPTION] ? v->s[CP_DESCRIPTION] : "";
    size_t desc_n = v->has[CP_DESCRIPTION] ? v->n[CP_DESCRIPTION] : 0;
    json_t *data, *catname;
    int rc;

    if ((rc = category_id(cx, v->s[CP_CATEGORY], v->n[CP_CATEGORY], &cat)))
        return rc;
    rc = db_run(cx->db, Q_PRODUCT_INSERT,
                DB_ARGS(DB_STR(v->s[CP_SKU], v->n[CP_SKU]), DB_STR(v->s[CP_NAME], v->n[CP_NAME]),
                        DB_STR(desc, desc_n), DB_I64(cat), DB_I64(v->i[CP_PRICE]), DB_I64(stock),
                        DB_STR(cx->now, strlen(cx->now)), DB_STR(cx->now, strlen(cx->now))));
    if (rc == DB_DUP)
        return problem(r, P_DUPLICATE, "sku '%.*s' is taken", (int)v->n[CP_SKU], v->s[CP_SKU]);
    if (rc)
        return rc;
    id = (int64_t)db_insert_id(cx->db, Q_PRODUCT_INSERT);
    if (!(catname = category_name(cx, cat, &rc)))
        return rc;
    data = json_pack("{s:I, s:s%, s:s%, s:s%, s:o, s:I, s:I}", "product_id", (json_int_t)id,
                     "sku", v->s[CP_SKU], v->n[CP_SKU], "name", v->s[CP_NAME], v->n[CP_NAME],
                     "description", desc, desc_n, "category", catname, "price_cents",
                     (json_int_t)v->i[CP_PRICE], "stock", (json_int_t)stock);
    if ((rc = cmd_event(cx, "ProductCreated", "product", id, 1, data)))
        return rc;
    return cmd_ack(cx, r, 201, "product", id, 1);
}

/*=== UpdateProduct ===*/

enum { UP_ID, UP_NAME, UP_DESCRIPTION, UP_CATEGORY, UP_EXPECTED };
static const struct jv_field update_spec[] = {
    {"product_id", JV_ID | JV_REQ, 0, 0, NULL},
    {"name", JV_STR, 1, 200, NULL},
    {"description", JV_STR | JV_ML, 0, 2000, NULL},
    {"category", JV_STR, 1, 100, NULL},
    {"expected_version", JV_INT, 1, INT64_MAX, NULL},
    {NULL, 0, 0, 0, NULL},
};

static int update_check(const json_t *data, const struct jv_vals *v, json_t *errors)
{
    (void)v;
    if (!json_object_get(data, "name") && !json_object_get(data, "description") &&
        !json_object_get(data, "category")) {
        jv_error(errors, "data", "must hold at least one of name, description, category");
        return 1;
    }
    return 0;
}

static int update_product(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r)
{
    struct product_row row;
    int64_t id = v->i[UP_ID], cat;
    json_t *data = NULL;
    int rc;
    size_t name_n, desc_n;
    const char *name, *desc;

    rc = product_lock(cx, id, v->has[UP_EXPECTED], v->i[UP_EXPECTED], &row, r);
    if (rc)
        return lock_failed(rc);
    /* fields that are not changed keep their current values */
    name = row.name, name_n = row.name_n;
    desc = row.desc, desc_n = row.desc_n;
    cat = row.category_id;
    data = json_object();
    if (!data)
        return DB_ERR;
    if (v->has[UP_NAME]) {
        name = v->s[UP_NAME], name_n = v->n[UP_NAME];
        json_object_set_new(data, "name", json_stringn(name, name_n));
    }
    if (v->has[UP_DESCRIPTION]) {
        desc = v->s[UP_DESCRIPTION], desc_n = v->n[UP_DESCRIPTION];
        json_object_set_new(data, "description", json_stringn(desc, desc_n));
    }
    if (v->has[UP_CATEGORY]) {
        json_t *cn;
        if ((rc = category_id(cx, v->s[UP_CATEGORY], v->n[UP_CATEGORY], &cat)) ||
            !(cn = category_name(cx, cat, &rc))) {
            json_decref(data);
            return rc;
        }
        json_object_set_new(data, "category", cn);
    }
    rc = db_run(cx->db, Q_PRODUCT_UPDATE,
                DB_ARGS(DB_STR(name, name_n), DB_STR(desc, desc_n), DB_I64(cat),
                        DB_STR(cx->now, strlen(cx->now)), DB_I64(id)));
    if (rc) {
        json_decref(data);
        return rc;
    }
    if ((rc = cmd_event(cx, "ProductUpdated", "product", id, row.version + 1, data)))
        return rc;
    return cmd_ack(cx, r, 200, "product", id, row.version + 1);
}

/*=== UpdateProductPrice ===*/

enum { PP_ID, PP_PRICE, PP_EXPECTED };
static const struct jv_field price_spec[] = {
    {"product_id", JV_ID | JV_REQ, 0, 0, NULL},
    {"price_cents", JV_INT | JV_REQ, 0, 100000000000LL, NULL},
    {"expected_version", JV_INT, 1, INT64_MAX, NULL},
    {NULL, 0, 0, 0, NULL},
};

static int update_price(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r)
{
    struct product_row row;
    int64_t id = v->i[PP_ID];
    int rc = product_lock(cx, id, v->has[PP_EXPECTED], v->i[PP_EXPECTED], &row, r);

    if (rc)
        return lock_failed(rc);
    if ((rc = db_run(cx->db, Q_PRODUCT_PRICE,
                     DB_ARGS(DB_I64(v->i[PP_PRICE]), DB_STR(cx->now, strlen(cx->now)),
                             DB_I64(id)))) ||
        (rc = cmd_event(cx, "ProductPriceUpdated", "product", id, row.version + 1,
                        json_pack("{s:I, s:I}", "old_price_cents", (json_int_t)row.price,
                                  "new_price_cents", (json_int_t)v->i[PP_PRICE]))))
        return rc;
    return cmd_ack(cx, r, 200, "product", id, row.version + 1);
}

/*=== RestockProduct ===*/

enum { RS_ID, RS_QUANTITY, RS_EXPECTED };
static const struct jv_field restock_spec[] = {
    {"product_id", JV_ID | JV_REQ, 0, 0, NULL},
    {"quantity", JV_INT | JV_REQ, 1, 1000000, NULL},
    {"expected_version", JV_INT, 1, INT64_MAX, NULL},
    {NULL, 0, 0, 0, NULL},
};

static int restock_product(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r)
{
    struct product_row row;
    int64_t id = v->i[RS_ID];
    int rc = product_lock(cx, id, v->has[RS_EXPECTED], v->i[RS_EXPECTED], &row, r);

    if (rc)
        return lock_failed(rc);
    if ((rc = db_run(cx->db, Q_PRODUCT_RESTOCK,
                     DB_ARGS(DB_I64(v->i[RS_QUANTITY]), DB_STR(cx->now, strlen(cx->now)),
                             DB_I64(id)))) ||
        (rc = cmd_event(cx, "ProductRestocked", "product", id, row.version + 1,
                        json_pack("{s:I, s:I}", "quantity", (json_int_t)v->i[RS_QUANTITY],
                                  "stock", (json_int_t)(row.stock + v->i[RS_QUANTITY])))))
        return rc;
    return cmd_ack(cx, r, 200, "product", id, row.version + 1);
}

/*=== DeleteProduct ===*/

enum { DP_ID, DP_EXPECTED };
static const struct jv_field delete_spec[] = {
    {"product_id", JV_ID | JV_REQ, 0, 0, NULL},
    {"expected_version", JV_INT, 1, INT64_MAX, NULL},
    {NULL, 0, 0, 0, NULL},
};

static int delete_product(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r)
{
    struct product_row row;
    int64_t id = v->i[DP_ID];
    int rc = product_lock(cx, id, v->has[DP_EXPECTED], v->i[DP_EXPECTED], &row, r);

    if (rc)
        return lock_failed(rc);
    if ((rc = db_run(cx->db, Q_PRODUCT_DELETE,
                     DB_ARGS(DB_STR(cx->now, strlen(cx->now)), DB_STR(cx->now, strlen(cx->now)),
                             DB_I64(id)))) ||
        (rc = cmd_event(cx, "ProductDeleted", "product", id, row.version + 1, json_object())))
        return rc;
    return cmd_ack(cx, r, 200, "product", id, row.version + 1);
}

const struct command_def product_commands[] = {
    {"CreateProduct", create_spec, NULL, create_product},
    {"UpdateProduct", update_spec, update_check, update_product},
    {"UpdateProductPrice", price_spec, NULL, update_price},
    {"RestockProduct", restock_spec, NULL, restock_product},
    {"DeleteProduct", delete_spec, NULL, delete_product},
    {NULL, NULL, NULL, NULL},
};
