/*
 * jwtauth.c - JWT bearer tokens: the key (loaded at start, re-read on
 * SIGHUP), verification by libjwt with our own checks around it, and a
 * bounded cache of verified tokens
 */
#include "jwtauth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "digest.h"

/* a key file larger than this is refused (a PEM RSA key of 16384 bits is ~3 KiB) */
#define MAX_KEY_FILE 65536
#define CACHE_SHARDS 64

/*=== The key ===*/

/*
 * A key as libjwt takes it: the HS256 secret, or the PEM text of the public
 * key. Verifications hold a reference while they use it; a reload swaps the
 * pointer and drops the old key's reference, and the last holder frees it.
 * So a reload never waits for a verification (ES256 takes a while) and a
 * verification never sees half a key. gen is the key's number: cache
 * entries are good for the key they were verified with only.
 */
struct key {
    atomic_uint refs;
    unsigned gen;
    int len;
    unsigned char bytes[]; /* len bytes, then a NUL */
};

static struct {
    pthread_mutex_t lock; /* guards key (the pointer) and gen */
    struct key *key;      /* NULL: JWTs are off */
    unsigned gen;         /* of the newest key */
    /* set by jwtauth_setup before threads, read-only afterwards */
    char path[4096];
    jwt_alg_t alg;
    char alg_name[8];
    char *issuer;   /* NULL: not checked */
    char *audience; /* NULL: not checked */
    time_t (*now)(void);
    atomic_uint_fast64_t hits, misses;
} g_jwt = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct key *key_get(void)
{
    struct key *k;

    pthread_mutex_lock(&g_jwt.lock);
    k = g_jwt.key;
    if (k)
        atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&g_jwt.lock);
    return k;
}

static void key_put(struct key *k)
{
    if (k && atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1) {
        explicit_bzero(k->bytes, (size_t)k->len);
        free(k);
    }
}

/* The file's bytes, at most MAX_KEY_FILE, if it is a regular file only its owner may touch. */
static unsigned char *read_key_file(const char *path, size_t *len, char *err, size_t errlen)
{
    unsigned char *buf = NULL;
    struct stat st;
    size_t n = 0;
    ssize_t got = 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "jwt key file \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "jwt key file \"%s\": %s", path, strerror(errno));
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "jwt key file \"%s\" is not a regular file", path);
        goto out_close;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "jwt key file \"%s\" is open to group or others (chmod 600 it)",
                 path);
        goto out_close;
    }
    buf = malloc(MAX_KEY_FILE + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto out_close;
    }
    while (n < MAX_KEY_FILE + 1 && got != 0) {
        got = read(fd, buf + n, MAX_KEY_FILE + 1 - n);
        if (got < 0 && errno != EINTR) {
            snprintf(err, errlen, "jwt key file \"%s\": %s", path, strerror(errno));
            goto out_free;
        }
        if (got > 0)
            n += (size_t)got;
    }
    if (n > MAX_KEY_FILE) {
        snprintf(err, errlen, "jwt key file \"%s\" is larger than %d bytes", path, MAX_KEY_FILE);
        goto out_free;
    }
    close(fd);
    *len = n;
    return buf;
out_free:
    explicit_bzero(buf, MAX_KEY_FILE + 1);
    free(buf);
    buf = NULL;
out_close:
    close(fd);
    return NULL;
}

/* Does <pem, n> hold a public key of the kind alg verifies with? */
static int check_public_key(const char *path, jwt_alg_t alg, const unsigned char *pem, size_t n,
                            char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *pkey = NULL;
    char group[64] = "";
    int rc = -1;

    if (!bio) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (!pkey) {
        snprintf(err, errlen, "jwt key file \"%s\" holds no PEM public key (BEGIN PUBLIC KEY)",
                 path);
        goto out;
    }
    if (alg == JWT_ALG_RS256) {
        if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
            snprintf(err, errlen, "jwt key file \"%s\" is not an RSA public key (RS256)", path);
            goto out;
        }
        if (EVP_PKEY_get_bits(pkey) < 2048) {
            snprintf(err, errlen, "jwt key file \"%s\": an RSA key of %d bits (RS256 needs 2048+)",
                     path, EVP_PKEY_get_bits(pkey));
            goto out;
        }
    } else {
        if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
            !EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) ||
            strcmp(group, "prime256v1") != 0) {
            snprintf(err, errlen, "jwt key file \"%s\" is not an EC P-256 public key (ES256)",
                     path);
            goto out;
        }
    }
    rc = 0;
out:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    ERR_clear_error(); /* nothing of ours is left for another user of libcrypto on this thread */
    return rc;
}

/* Read the key file by the rules of the configured algorithm into a new key (one reference). */
static struct key *load_key(char *err, size_t errlen)
{
    const char *path = g_jwt.path;
    struct key *k = NULL;
    size_t n = 0;
    unsigned char *buf = read_key_file(path, &n, err, errlen);

    if (!buf)
        return NULL;
    if (g_jwt.alg == JWT_ALG_HS256) {
        if (n && buf[n - 1] == '\n')
            n--;
        if (n && buf[n - 1] == '\r')
            n--;
        if (n >= 10 && memcmp(buf, "-----BEGIN", 10) == 0) {
            snprintf(err, errlen,
                     "jwt key file \"%s\" holds a PEM key, not an HS256 secret "
                     "(RS256 and ES256 take a public key)",
                     path);
            goto out;
        }
        if (n < JWTAUTH_MIN_SECRET) {
            snprintf(err, errlen,
                     "jwt key file \"%s\": an HS256 secret needs %d bytes or more, it has %zu",
                     path, JWTAUTH_MIN_SECRET, n);
            goto out;
        }
    } else if (check_public_key(path, g_jwt.alg, buf, n, err, errlen) != 0) {
        goto out;
    }
    k = malloc(sizeof(*k) + n + 1);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    atomic_init(&k->refs, 1);
    k->gen = 0;
    k->len = (int)n;
    memcpy(k->bytes, buf, n);
    k->bytes[n] = '\0';
out:
    explicit_bzero(buf, MAX_KEY_FILE + 1);
    free(buf);
    return k;
}

/*=== The cache ===*/

/*
 * JWTAUTH_CACHE_SLOTS entries in sets of CACHE_WAYS, the set chosen by the
 * token's SHA-256. A token that is not there takes a free or expired way of
 * its set, else the one used least recently. (Direct-mapped, two of 200
 * tokens in one slot pushed each other out on every other request: 5 % of
 * the ES256 GETs verified a signature again.) CACHE_SHARDS mutexes guard the
 * sets, set i under lock i % CACHE_SHARDS, held for at most CACHE_WAYS
 * memcmps and a copy. gen 0 is an empty slot.
 */
#define CACHE_WAYS 8
#define CACHE_SETS (JWTAUTH_CACHE_SLOTS / CACHE_WAYS)

struct slot {
    unsigned char hash[SHA256_LEN];
    unsigned gen;
    int64_t until; /* floor(exp) + skew: good while now <= until */
    uint64_t used; /* the set's clock when it was last found or put */
    struct principal who;
};

static struct {
    struct slot way[CACHE_WAYS];
    uint64_t clock;
} g_sets[CACHE_SETS];
static pthread_mutex_t g_shard[CACHE_SHARDS];
static pthread_once_t g_shard_once = PTHREAD_ONCE_INIT;

static void shards_init(void)
{
    for (int i = 0; i < CACHE_SHARDS; i++)
        pthread_mutex_init(&g_shard[i], NULL);
}

static size_t set_of(const unsigned char hash[SHA256_LEN])
{
    return ((size_t)hash[0] << 16 | (size_t)hash[1] << 8 | hash[2]) % CACHE_SETS;
}

static bool cache_get(const unsigned char hash[SHA256_LEN], unsigned gen, time_t now,
                      struct principal *out)
{
    size_t i = set_of(hash);
    bool hit = false;

    pthread_mutex_lock(&g_shard[i % CACHE_SHARDS]);
    for (int w = 0; w < CACHE_WAYS; w++) {
        struct slot *s = &g_sets[i].way[w];
        if (s->gen != gen || memcmp(s->hash, hash, SHA256_LEN) != 0)
            continue;
        if ((int64_t)now <= s->until) {
            *out = s->who;
            s->used = ++g_sets[i].clock;
            hit = true;
        } else {
            s->gen = 0; /* expired: never again */
        }
        break;
    }
    pthread_mutex_unlock(&g_shard[i % CACHE_SHARDS]);
    return hit;
}

static void cache_put(const unsigned char hash[SHA256_LEN], unsigned gen, int64_t until,
                      time_t now, const struct principal *who)
{
    size_t i = set_of(hash);
    struct slot *s = NULL;

    pthread_mutex_lock(&g_shard[i % CACHE_SHARDS]);
    for (int w = 0; w < CACHE_WAYS && !s; w++) { /* the token again (two verified it at once) */
        struct slot *x = &g_sets[i].way[w];
        if (x->gen == gen && memcmp(x->hash, hash, SHA256_LEN) == 0)
            s = x;
    }
    for (int w = 0; w < CACHE_WAYS && !s; w++) { /* a free way: empty, of an old key, expired */
        struct slot *x = &g_sets[i].way[w];
        if (x->gen != gen || (int64_t)now > x->until)
            s = x;
    }
    if (!s) { /* the way used least recently */
        s = &g_sets[i].way[0];
        for (int w = 1; w < CACHE_WAYS; w++)
            if (g_sets[i].way[w].used < s->used)
                s = &g_sets[i].way[w];
    }
    memcpy(s->hash, hash, SHA256_LEN);
    s->gen = gen;
    s->until = until;
    s->used = ++g_sets[i].clock;
    s->who = *who;
    pthread_mutex_unlock(&g_shard[i % CACHE_SHARDS]);
}

static void cache_clear(void)
{
    for (size_t i = 0; i < CACHE_SETS; i++) {
        pthread_mutex_lock(&g_shard[i % CACHE_SHARDS]);
        memset(&g_sets[i], 0, sizeof(g_sets[i]));
        pthread_mutex_unlock(&g_shard[i % CACHE_SHARDS]);
    }
}

/*=== Setup and reload ===*/

/* Make k the key (it gets the next number) and empty the cache; the old key is dropped. */
static void key_install(struct key *k)
{
    struct key *old;

    pthread_mutex_lock(&g_jwt.lock);
    old = g_jwt.key;
    if (k) {
        if (++g_jwt.gen == 0) /* never 0, an empty slot's */
            g_jwt.gen = 1;
        k->gen = g_jwt.gen;
    }
    g_jwt.key = k;
    pthread_mutex_unlock(&g_jwt.lock);
    key_put(old);
    cache_clear();
}

void jwtauth_release(void)
{
    pthread_once(&g_shard_once, shards_init);
    key_install(NULL);
    free(g_jwt.issuer);
    free(g_jwt.audience);
    g_jwt.issuer = g_jwt.audience = NULL;
    g_jwt.path[0] = '\0';
}

int jwtauth_setup(const char *key_file, const char *algorithm, const char *issuer,
                  const char *audience, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        jwt_alg_t alg;
    } algs[] = {{"HS256", JWT_ALG_HS256}, {"RS256", JWT_ALG_RS256}, {"ES256", JWT_ALG_ES256}};
    struct key *k;
    size_t i;

    jwtauth_release();
    if (!key_file || !key_file[0])
        return 0;
    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (algorithm && strcmp(algorithm, algs[i].name) == 0)
            break;
    if (i == sizeof(algs) / sizeof(algs[0])) {
        snprintf(err, errlen, "jwt algorithm \"%s\" is not HS256, RS256 or ES256",
                 algorithm ? algorithm : "");
        return -1;
    }
    if (strlen(key_file) >= sizeof(g_jwt.path)) {
        snprintf(err, errlen, "jwt key file: the path is too long");
        return -1;
    }
    snprintf(g_jwt.path, sizeof(g_jwt.path), "%s", key_file);
    g_jwt.alg = algs[i].alg;
    snprintf(g_jwt.alg_name, sizeof(g_jwt.alg_name), "%s", algs[i].name);
    if ((issuer && issuer[0] && !(g_jwt.issuer = strdup(issuer))) ||
        (audience && audience[0] && !(g_jwt.audience = strdup(audience)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    k = load_key(err, errlen);
    if (!k)
        goto fail;
    key_install(k);
    return 0;
fail:
    jwtauth_release();
    return -1;
}

int jwtauth_reload(char *err, size_t errlen)
{
    struct key *k;

    if (!g_jwt.path[0])
        return 0;
    k = load_key(err, errlen);
    if (!k)
        return -1;
    key_install(k);
    return 0;
}

bool jwtauth_enabled(void)
{
    bool on;

    pthread_mutex_lock(&g_jwt.lock);
    on = g_jwt.key != NULL;
    pthread_mutex_unlock(&g_jwt.lock);
    return on;
}

void jwtauth_set_clock(time_t (*now)(void)) { g_jwt.now = now; }

uint64_t jwtauth_cache_hits(void)
{
    return atomic_load_explicit(&g_jwt.hits, memory_order_relaxed);
}

uint64_t jwtauth_cache_misses(void)
{
    return atomic_load_explicit(&g_jwt.misses, memory_order_relaxed);
}

const char *jwtauth_status_name(enum jwtauth_status s)
{
    static const char *const names[JWTAUTH__COUNT] = {
        [JWTAUTH_OK] = "ok",
        [JWTAUTH_OFF] = "off",
        [JWTAUTH_MALFORMED] = "malformed",
        [JWTAUTH_ALGORITHM] = "algorithm",
        [JWTAUTH_SIGNATURE] = "signature",
        [JWTAUTH_EXPIRED] = "expired",
        [JWTAUTH_NOT_YET_VALID] = "not_yet_valid",
        [JWTAUTH_ISSUER] = "issuer",
        [JWTAUTH_AUDIENCE] = "audience",
        [JWTAUTH_CLAIMS] = "claims",
        [JWTAUTH_NOMEM] = "nomem",
    };

    return (unsigned)s < JWTAUTH__COUNT ? names[s] : "?";
}

/*=== Verification ===*/

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/*
 * Decode one part (base64url without padding, in canonical form: the unused
 * low bits of the last character are zero) into out, which has room for
 * n * 3 / 4 bytes. The decoded length, or -1.
 */
static long b64url_decode(const char *s, size_t n, unsigned char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    long o = 0;

    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1))
        return -1;
    return o;
}

/* Decode a part holding a JSON object (members unique); NULL when it is not one. */
static json_t *part_json(const char *s, size_t n)
{
    unsigned char *buf = malloc(n * 3 / 4 + 1);
    json_t *js = NULL;
    long len;

    if (!buf)
        return NULL;
    len = b64url_decode(s, n, buf);
    if (len >= 0)
        js = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (js && !json_is_object(js)) {
        json_decref(js);
        js = NULL;
    }
    return js;
}

/* The three parts: non-empty, base64url characters only, split by exactly two dots. */
static bool split(const char *t, size_t len, size_t *head_len, size_t *claims_len)
{
    const char *d1 = memchr(t, '.', len), *d2;

    if (!d1)
        return false;
    d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - t));
    if (!d2 || d1 == t || d2 == d1 + 1 || d2 == t + len - 1)
        return false;
    for (size_t i = 0; i < len; i++)
        if (t + i != d1 && t + i != d2 && b64url_value((unsigned char)t[i]) < 0)
            return false;
    *head_len = (size_t)(d1 - t);
    *claims_len = (size_t)(d2 - d1 - 1);
    return true;
}

static enum jwtauth_status check_header(const char *t, size_t n)
{
    json_t *h = part_json(t, n);
    const json_t *alg, *typ;
    enum jwtauth_status rc = JWTAUTH_MALFORMED;

    if (!h)
        return JWTAUTH_MALFORMED;
    alg = json_object_get(h, "alg");
    typ = json_object_get(h, "typ");
    if (!json_is_string(alg) ||
        (typ && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0)) ||
        json_object_get(h, "crit"))
        goto out;
    rc = strcmp(json_string_value(alg), g_jwt.alg_name) == 0 ? JWTAUTH_OK : JWTAUTH_ALGORITHM;
out:
    json_decref(h);
    return rc;
}

/* libjwt's verdict on the signature: a NUL-terminated copy of the token, the key. */
static enum jwtauth_status check_signature(const char *t, size_t len, const struct key *k)
{
    char buf[JWTAUTH_MAX_TOKEN + 1];
    jwt_t *jwt = NULL;
    enum jwtauth_status rc;
    int ret;

    memcpy(buf, t, len);
    buf[len] = '\0';
    ret = jwt_decode(&jwt, buf, k->bytes, k->len);
    if (ret == ENOMEM)
        rc = JWTAUTH_NOMEM;
    else if (ret != 0 || !jwt)
        rc = JWTAUTH_SIGNATURE;
    /*
     * libjwt 1.10 verifies with whatever algorithm the header names (an HS256
     * header makes it HMAC with our RSA key's PEM text as the secret), and
     * without a key it reports JWT_ALG_NONE and checks nothing: the
     * algorithm it used must be ours.
     */
    else if (jwt_get_alg(jwt) != g_jwt.alg)
        rc = JWTAUTH_ALGORITHM;
    else
        rc = JWTAUTH_OK;
    jwt_free(jwt);
    ERR_clear_error(); /* a failed verification leaves libcrypto errors on this thread */
    return rc;
}

/* aud names the audience: the string itself or an array holding it. */
static bool audience_ok(const json_t *aud, const char *want)
{
    size_t i;
    const json_t *v;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return false;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

/* The claims c once the signature verified; *until is when a cached verdict ends. */
static enum jwtauth_status check_claims(const json_t *c, time_t now, struct principal *out,
                                        int64_t *until)
{
    const json_t *exp, *nbf, *iss, *role, *id;
    enum jwtauth_status rc = JWTAUTH_CLAIMS;
    double e;

    exp = json_object_get(c, "exp");
    nbf = json_object_get(c, "nbf");
    if (!json_is_number(exp) || (nbf && !json_is_number(nbf)))
        goto out;
    e = json_number_value(exp);
    /* now is whole seconds: now > e + skew exactly when now > floor(e) + skew */
    if ((double)now > e + JWTAUTH_SKEW) {
        rc = JWTAUTH_EXPIRED;
        goto out;
    }
    if (nbf && json_number_value(nbf) > (double)now + JWTAUTH_SKEW) {
        rc = JWTAUTH_NOT_YET_VALID;
        goto out;
    }
    iss = json_object_get(c, "iss");
    if (g_jwt.issuer &&
        !(json_is_string(iss) && strcmp(json_string_value(iss), g_jwt.issuer) == 0)) {
        rc = JWTAUTH_ISSUER;
        goto out;
    }
    if (g_jwt.audience && !audience_ok(json_object_get(c, "aud"), g_jwt.audience)) {
        rc = JWTAUTH_AUDIENCE;
        goto out;
    }
    role = json_object_get(c, "role");
    id = json_object_get(c, "customer_id");
    if (json_is_string(role) && strcmp(json_string_value(role), "admin") == 0) {
        auth_admin(out);
    } else if (json_is_string(role) && strcmp(json_string_value(role), "customer") == 0 &&
               json_is_integer(id) && json_integer_value(id) >= 1) {
        auth_customer(out, (int64_t)json_integer_value(id));
    } else {
        goto out;
    }
    /* floor(e) + skew; e >= now - skew here, and a far future exp is kept in range */
    *until = e > 1e15 ? (int64_t)1e15 : (int64_t)e;
    if ((double)*until > e)
        (*until)--;
    *until += JWTAUTH_SKEW;
    rc = JWTAUTH_OK;
out:
    return rc;
}

enum jwtauth_status jwtauth_verify(const char *token, size_t len, struct principal *out)
{
    unsigned char hash[SHA256_LEN];
    struct principal who;
    size_t head_len, claims_len;
    struct key *k = key_get();
    json_t *claims = NULL;
    enum jwtauth_status rc;
    int64_t until = 0;
    time_t now;

    if (!k)
        return JWTAUTH_OFF;
    if (!token || len > JWTAUTH_MAX_TOKEN || !split(token, len, &head_len, &claims_len)) {
        rc = JWTAUTH_MALFORMED;
        goto out;
    }
    now = g_jwt.now ? g_jwt.now() : time(NULL);
    if (!sha256_bytes(token, len, hash)) {
        rc = JWTAUTH_NOMEM;
        goto out;
    }
    if (cache_get(hash, k->gen, now, out)) {
        atomic_fetch_add_explicit(&g_jwt.hits, 1, memory_order_relaxed);
        rc = JWTAUTH_OK;
        goto out;
    }
    atomic_fetch_add_explicit(&g_jwt.misses, 1, memory_order_relaxed);
    if ((rc = check_header(token, head_len)) != JWTAUTH_OK)
        goto out;
    /* libjwt would refuse claims that are not JSON too, but as a bad signature */
    if (!(claims = part_json(token + head_len + 1, claims_len))) {
        rc = JWTAUTH_MALFORMED;
        goto out;
    }
    if ((rc = check_signature(token, len, k)) != JWTAUTH_OK ||
        (rc = check_claims(claims, now, &who, &until)) != JWTAUTH_OK)
        goto out;
    cache_put(hash, k->gen, until, now, &who);
    *out = who;
out:
    json_decref(claims);
    key_put(k);
    return rc;
}
