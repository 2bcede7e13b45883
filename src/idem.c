/* idem.c - idempotency keys: the key row is claimed first in the command's transaction */
#include "idem.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "problem.h"
#include "queue.h"

/*=== SHA-256 (FIPS 180-4) ===*/

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, hh;

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void sha256_hex(const void *data, size_t n, char out[65])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const unsigned char *p = data;
    unsigned char tail[128];
    size_t full = n / 64 * 64, rest = n - full, tn;
    uint64_t bits = (uint64_t)n * 8;

    for (size_t i = 0; i < full; i += 64)
        sha256_block(h, p + i);
    memset(tail, 0, sizeof(tail));
    if (rest)
        memcpy(tail, p + full, rest);
    tail[rest] = 0x80;
    tn = rest + 9 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        tail[tn - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t i = 0; i < tn; i += 64)
        sha256_block(h, tail + i);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", h[i]);
}

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
    if (auth_scope()[0]) /* one token's keys never replay another's answers */
        snprintf(id->stored, sizeof(id->stored), "%s:%s", auth_scope(), id->key);
    else
        snprintf(id->stored, sizeof(id->stored), "%s", id->key);
    return 0;
}

int idem_digest(struct idem *id, const json_t *envelope)
{
    char *canon = json_dumps(envelope, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);

    if (!canon)
        return -1;
    sha256_hex(canon, strlen(canon), id->digest);
    free(canon);
    return 0;
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
    digest = db_str(db, Q_IDEM_GET, 0, &dlen);
    if (dlen != 64 || memcmp(digest, id->digest, 64) != 0) {
        db_end(db, Q_IDEM_GET);
        problem(r, P_IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was used with a different command");
        return IDEM_REPLAYED;
    }
    loc = db_str(db, Q_IDEM_GET, 2, &llen);
    body = db_str(db, Q_IDEM_GET, 3, &blen);
    reply_json(r, (int)db_i64(db, Q_IDEM_GET, 1), body, blen);
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

/*=== Purger ===*/

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool running, stop;
} g_purger = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void purge_once(struct db *db)
{
    struct timespec ts;
    struct tm tm;
    char cutoff[24];
    uint64_t total;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec -= IDEM_KEEP_HOURS * 3600;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(cutoff, sizeof(cutoff), "%Y-%m-%d %H:%M:%S", &tm);
    total = db_delete_drain(db, Q_IDEM_PURGE, DB_ARGS(DB_STR(cutoff, strlen(cutoff))), 500);
    if (total)
        log_msg(LOG_LVL_INFO, "idempotency: removed %llu keys older than %d hours",
                (unsigned long long)total, IDEM_KEEP_HOURS);
}

static void *purger_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_purger.lock);
    while (!g_purger.stop) {
        struct timespec until;
        pthread_mutex_unlock(&g_purger.lock);
        struct db *db = db_thread();
        if (db) {
            purge_once(db); /* autocommit: each batch is its own short transaction */
            queue_purge(db);
        }
        pthread_mutex_lock(&g_purger.lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += IDEM_PURGE_EVERY_S;
        while (!g_purger.stop &&
               pthread_cond_timedwait(&g_purger.wake, &g_purger.lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&g_purger.lock);
    db_thread_release();
    return NULL;
}

int idem_purger_start(void)
{
    g_purger.stop = false;
    if (pthread_create(&g_purger.thread, NULL, purger_main, NULL))
        return -1;
    g_purger.running = true;
    return 0;
}

void idem_purger_stop(void)
{
    if (!g_purger.running)
        return;
    pthread_mutex_lock(&g_purger.lock);
    g_purger.stop = true;
    pthread_cond_signal(&g_purger.wake);
    pthread_mutex_unlock(&g_purger.lock);
    pthread_join(g_purger.thread, NULL);
    g_purger.running = false;
}
