/* query.h - shared pieces of the GET /queries handlers */
#ifndef CQRSD_QUERY_H
#define CQRSD_QUERY_H

#include <stdint.h>

#include "db.h"
#include "reply.h"
#include "request.h"

/* The documents read by id; a GET of one may be deferred to the batch readers (batch.h). */
enum doc_kind { DOC_PRODUCT, DOC_ORDER, DOC_CUSTOMER, DOC__KINDS };

/* 400 unless every argument is in allowed (NULL-ended), non-empty and given once. */
int query_check_args(const struct request *rq, const char *const *allowed, struct reply *r);
/* Parse an optional integer argument in [min, max] into *out (left as is when absent). */
int query_int_arg(const struct request *rq, const char *key, int64_t min, int64_t max,
                  int64_t *out, struct reply *r);
/* This thread's db handle, or NULL with 500 in r. */
struct db *query_db(struct reply *r);
/* Run a read statement; once more after a reconnect when the server had gone. */
int query_run(struct db *db, enum q q, const struct db_param *p, size_t np);
/*
 * 404 not-found for an unknown `what`. A product's detail names its id (id >
 * 0); an order's or a customer's names none (id 0): another customer's
 * answers with the same bytes as an unknown one, so no answer tells the two
 * apart (API.md "Authorization").
 */
void query_not_found(struct reply *r, const char *what, int64_t id);
/* 503 database-unavailable or 500 for a db rc. */
void query_db_problem(struct reply *r, int rc);

/*
 * A cursor-paged list: run q (asked for limit + 1 rows), write up to `limit`
 * items as {"items":[…],"next_cursor":…}; the cursor comes from the last
 * item shown, and is null when no row was left over.
 */
typedef void (*query_item_fn)(struct sbuf *b, struct db *db, enum q q);
typedef void (*query_cursor_fn)(struct db *db, enum q q, char *out);
void query_list(struct db *db, enum q q, const struct db_param *p, size_t np, int64_t limit,
                query_item_fn item, query_cursor_fn cursor_of, struct reply *r);

/* Strong ETag of a document: a quoted 64-bit FNV-1a hash. */
void query_etag(const char *doc, size_t n, char out[24]);
/* True when an If-None-Match header value matches etag. */
bool query_etag_match(const char *header, const char *etag);

#endif
