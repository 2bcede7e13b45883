/* views.h - verify-views and rebuild-views, and the comparison the drift gauge shares */
#ifndef CQRSD_VIEWS_H
#define CQRSD_VIEWS_H

#include "config.h"
#include "db.h"
#include "sbuf.h"

/* Compare every view with its recomputation: exit status 0 equal, 1 different, 2 error. */
int views_verify(const struct config *cfg);
/* Recompute every view into shadow tables and swap them in: exit status. */
int views_rebuild(const struct config *cfg);

/*=== The comparison, shared with the drift gauge (drift.c) ===*/

/* An admin session of the tools, or one of the gauge's own, and its last error. */
struct views_session {
    struct db_admin *a;
    char err[512];
};

/* What a comparison found. */
struct views_tally {
    long rows, diffs, bad; /* rows compared, differences (a row, or one column), rows differing */
    struct sbuf *bad_keys; /* if set: "k1,k2,…" of the rows differing */
};

enum views_which { VIEWS_PRODUCT, VIEWS_ORDER, VIEWS_CUSTOMER };

/*
 * Compare the rows of view w with the keys "k1,k2,…" (positive integers)
 * against their recomputation, in one snapshot per 1,000 keys, quietly;
 * add to *t. 0, or -1 with the error in s->err.
 */
int views_confirm_keys(struct views_session *s, enum views_which w, const char *keys,
                       struct views_tally *t);
/* Append a positive integer key (text) to a comma-separated list; others are skipped. */
void views_add_key(struct sbuf *b, const char *s);
/* A db_admin_exec row callback: the first column as an int64_t into ctx. */
int views_read_i64(void *ctx, unsigned ncols, const char *const *cols);

#endif
