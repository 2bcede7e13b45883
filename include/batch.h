/* batch.h - GET /queries/products/{id} answered in shared batches */
#ifndef CQRSD_BATCH_H
#define CQRSD_BATCH_H

#include <stdint.h>

#include "db.h"
#include "sbuf.h"

/*
 * Append product `id`'s stored document to out. Concurrent calls share one
 * statement (see batch.c). Returns 1 found, 0 not found, or a negative db rc.
 */
int batch_product_doc(struct db *db, int64_t id, struct sbuf *out);

#endif
