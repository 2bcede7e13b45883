/* idem.h - Idempotency-Key: claim, replay, record */
#ifndef CQRSD_IDEM_H
#define CQRSD_IDEM_H

#include <jansson.h>

#include "db.h"
#include "reply.h"
#include "request.h"

#define IDEM_REPLAYED 1 /* r holds the recorded answer (or 422 idempotency-key-reused) */
#define IDEM_MAX_KEY 128

struct idem {
    const char *key; /* NULL: the command has no key */
    char stored[160]; /* the key as stored: "<scope>:<key>", the principal's scope (principal.h) */
    char digest[65]; /* SHA-256 of the canonical envelope, hex */
};

/* Check the header; 400 invalid-parameter into r and -1 when it is bad. */
int idem_prepare(struct idem *id, const struct request *rq, struct reply *r);
/* Digest the envelope in canonical form (sorted keys, no white space); -1 out of memory. */
int idem_digest(struct idem *id, const json_t *envelope);
/* 1 when another envelope is the same command as the digested one (canonically), 0 if not, -1 */
int idem_same_envelope(const struct idem *id, const json_t *envelope);
/*
 * Inside the transaction, first: claim the key. 0 when it is ours (run the
 * command), IDEM_REPLAYED when a committed twin answered (r filled), or a
 * negative db rc.
 */
int idem_claim(struct idem *id, struct db *db, const char *now, struct reply *r);
/*
 * Record the successful answer in r under the claimed key (same transaction);
 * DB_ERR when r's body is incomplete (out of memory): the command then fails.
 */
int idem_record(struct idem *id, struct db *db, const struct reply *r);
void idem_release(struct idem *id);

/*
 * Remove keys older than IDEM_KEEP_HOURS, in batches of 500 (one short
 * statement each, so commands never wait long on it). Run by housekeeping.c.
 */
#define IDEM_KEEP_HOURS 25
void idem_purge(struct db *db);

/* True when s is 1-128 visible ASCII characters. */
bool idem_key_ok(const char *s);

#endif
