/* idem.c - idempotency keys: the key row is claimed first in the command's transaction */
#include "idem.h"

#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "log.h"
#include "problem.h"
#include "timefmt.h"

/*=== Keys ===*/

bool idem_key_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e || n >= IDEM_MAX_KEY)
            return false;
    return n > 0;
}

int idem_prepare(struct idem *id, const struct request *rq, struct reply *r)
{
    memset(id, 0, sizeof(*id));
    if (!rq->idempotency_key)
        return 0;
    if (!idem_key_ok(rq->idempotency_key))
        return problem(r, P_INVALID_PARAMETER,
                       "Idempotency-Key must be 1 to 128 visible ASCII characters"),
               -1;
    id->key = rq->idempotency_key;
    /* one principal's keys never replay another's answers (principal.h) */
    snprintf(id->stored, sizeof(id->stored), "%s:%s", rq->who.scope, id->key);
    return 0;
}

/* The SHA-256 (hex) of an envelope in canonical form (sorted keys, no white space). */
static int digest_of(const json_t *envelope, char out[65])
{
    char *canon = json_dumps(envelope, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);

    if (!canon)
        return -1;
    sha256_hex(canon, strlen(canon), out);
    free(canon);
    return out[0] ? 0 : -1;
}

int idem_digest(struct idem *id, const json_t *envelope)
{
    return digest_of(envelope, id->digest);
}

int idem_same_envelope(const struct idem *id, const json_t *envelope)
{
    char digest[65];

    if (digest_of(envelope, digest))
        return -1;
    return memcmp(digest, id->digest, 64) == 0;
}

int idem_claim(struct idem *id, struct db *db, const char *now, struct reply *r)
{
    size_t dlen, llen, blen;
    const char *digest, *loc, *body;
    int rc = db_run(db, Q_IDEM_CLAIM,
                    DB_ARGS(DB_STR(id->stored, strlen(id->stored)), DB_STR(id->digest, 64),
                            DB_STR(now, strlen(now))));

    if (rc != DB_DUP)
        return rc; /* 0: ours; or an error */
    /* a committed twin holds the key (we waited for it if it was running) */
    if ((rc = db_run(db, Q_IDEM_GET, DB_ARGS(DB_STR(id->stored, strlen(id->stored))))))
        return rc;
    rc = db_next(db, Q_IDEM_GET);
    if (rc <= 0)
        return rc < 0 ? rc : DB_RETRY; /* gone again meanwhile: run it once more */
    digest = db_str(db, Q_IDEM_GET, IG_DIGEST, &dlen);
    if (dlen != 64 || memcmp(digest, id->digest, 64) != 0) {
        db_end(db, Q_IDEM_GET);
        problem(r, P_IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was used with a different command");
        return IDEM_REPLAYED;
    }
    loc = db_str(db, Q_IDEM_GET, IG_LOCATION, &llen);
    body = db_str(db, Q_IDEM_GET, IG_BODY, &blen);
    reply_json(r, (int)db_i64(db, Q_IDEM_GET, IG_STATUS), body, blen);
    if (llen < sizeof(r->location)) {
        memcpy(r->location, loc, llen);
        r->location[llen] = '\0';
    }
    r->replayed = true;
    db_end(db, Q_IDEM_GET);
    return IDEM_REPLAYED;
}

int idem_record(struct idem *id, struct db *db, const struct reply *r)
{
    if (r->body.oom) /* the body is cut short: a replay must never answer with it */
        return DB_ERR;
    return db_run(db, Q_IDEM_SAVE,
                  DB_ARGS(DB_I64(r->status), DB_STR(r->location, strlen(r->location)),
                          DB_STR(r->body.buf ? r->body.buf : "", r->body.len),
                          DB_STR(id->stored, strlen(id->stored))));
}

void idem_release(struct idem *id)
{
    (void)id;
}

/*=== Purge ===*/

void idem_purge(struct db *db)
{
    char cutoff[TIMEFMT_DB_LEN];
    uint64_t total;

    timefmt_db(-IDEM_KEEP_HOURS * 3600LL * 1000, cutoff);
    total = db_delete_drain(db, Q_IDEM_PURGE, DB_ARGS(DB_STR(cutoff, strlen(cutoff))), 500);
    if (total)
        log_msg(LOG_LVL_INFO, "idempotency: removed %llu keys older than %d hours",
                (unsigned long long)total, IDEM_KEEP_HOURS);
}
