/* fuzz_jwtauth.c - JWT bearer tokens: auth_bearer, then jwtauth_verify with an
 * HS256 key set up from a 0600 file by jwtauth_setup (issuer and audience
 * configured), on a fixed clock.
 *
 * Byte 0 picks the mode:
 *   even: the rest, up to its first NUL, is an Authorization header value;
 *   odd:  the rest is "HEADER\nCLAIMS" (no newline: the default header and
 *         all of it the claims), which the target encodes and signs with the
 *         secret (HMAC-SHA256 by libcrypto), so the fuzzer reaches the claims
 *         checks behind the signature; then it goes through the same path.
 * Invariants (abort when broken):
 *   - authz_resolve (what every request goes through) agrees: no Bearer
 *     header is anonymous, a refused token is 401 invalid_token, an accepted
 *     one is jwtauth_verify's principal; no answer holds the token;
 *   - auth_bearer's token lies inside the header, after "Bearer" and spaces,
 *     and is token68 up to the end of the value;
 *   - a status is in range; verifying the same token again gives the same
 *     status (the cache agrees with verification) and the same principal;
 *   - an accepted token has three parts, a header of alg HS256, and claims
 *     (read here with libcrypto and jansson) that say what the principal
 *     says: role admin, or customer with that integer customer_id >= 1 (and
 *     its scope); exp a number not past now - skew, nbf not ahead of now +
 *     skew; iss and aud the configured ones.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "fuzz_util.h"
#include "authz.h"
#include "jwtauth.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_jwtauth: invariant broken: " __VA_ARGS__);                           \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

#define NOW 1700000000
static const char secret[] = "fuzz-jwt-secret-0123456789abcdef-0123456789";

static time_t fixed_now(void) { return NOW; }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[] = "/tmp/cqrsd-fuzz-jwt.XXXXXX";
    char err[256];

    (void)argc;
    (void)argv;
    json_object_seed(1);
    fuzz_secret_file("fuzz_jwtauth", secret, path); /* mode 0600 */
    if (jwtauth_setup(path, "HS256", "https://issuer.example", "cqrsd", err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_jwtauth: jwtauth_setup: %s\n", err);
        abort();
    }
    unlink(path);
    jwtauth_set_clock(fixed_now);
    return 0;
}

static bool token68(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n &&
           (strchr("-._~+/", s[i]) || (s[i] >= 'A' && s[i] <= 'Z') ||
            (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')) &&
           s[i])
        i++;
    if (i == 0)
        return false;
    while (i < n && s[i] == '=')
        i++;
    return i == n;
}

static size_t b64url(const unsigned char *p, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);

    while (len > 0 && out[len - 1] == '=')
        len--;
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[len] = '\0';
    return (size_t)len;
}

/* "Bearer " + header.claims.HMAC-SHA256 with the secret; malloc'd. */
static char *sign(const char *data, size_t n)
{
    static const char dflt[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    const char *nl = memchr(data, '\n', n);
    const char *h = nl ? data : dflt, *c = nl ? nl + 1 : data;
    size_t hn = nl ? (size_t)(nl - data) : strlen(dflt), cn = nl ? n - hn - 1 : n;
    char *out = malloc(7 + 4 * (hn + cn + 32) / 3 + 16);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    size_t o = 7;

    if (!out)
        return NULL;
    memcpy(out, "Bearer ", 7);
    o += b64url((const unsigned char *)h, hn, out + o);
    out[o++] = '.';
    o += b64url((const unsigned char *)c, cn, out + o);
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)out + 7, o - 7, mac,
              &maclen)) {
        free(out);
        return NULL;
    }
    out[o++] = '.';
    b64url(mac, maclen, out + o);
    return out;
}

/* A part's JSON (base64url decoded by libcrypto); NULL when it is not JSON. */
static json_t *part_json(const char *s, size_t n)
{
    char *b64 = malloc(n + 4);
    unsigned char *raw = malloc(n + 4);
    json_t *js = NULL;
    size_t i, k;
    int got;

    if (!b64 || !raw)
        abort();
    for (i = 0; i < n; i++)
        b64[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (i % 4)
        b64[i++] = '=';
    b64[i] = '\0';
    got = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)i);
    if (got >= 0) {
        k = (size_t)got;
        while (i > 0 && b64[i - 1] == '=' && k > 0) {
            i--;
            k--;
        }
        js = json_loadb((const char *)raw, k, JSON_REJECT_DUPLICATES, NULL);
    }
    free(b64);
    free(raw);
    return js;
}

static bool names_audience(const json_t *aud)
{
    size_t i;
    const json_t *v;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), "cqrsd") == 0;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), "cqrsd") == 0)
            return true;
    }
    return false;
}

/* An accepted token: its header and claims (read here) must say what the principal says. */
static void check_accepted(const char *tok, size_t len, const struct principal *p)
{
    const char *d1 = memchr(tok, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    json_t *h, *c, *role, *id, *exp, *iss;

    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
        FAIL("accepted a token without three parts");
    h = part_json(tok, (size_t)(d1 - tok));
    if (!json_is_string(json_object_get(h, "alg")) ||
        strcmp(json_string_value(json_object_get(h, "alg")), "HS256") != 0)
        FAIL("accepted a header without alg HS256");
    json_decref(h);
    c = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!json_is_object(c))
        FAIL("accepted claims that are not a JSON object");
    role = json_object_get(c, "role");
    id = json_object_get(c, "customer_id");
    exp = json_object_get(c, "exp");
    iss = json_object_get(c, "iss");
    if (!json_is_number(exp) || json_number_value(exp) + JWTAUTH_SKEW < NOW)
        FAIL("accepted exp that is missing or past");
    if (json_is_number(json_object_get(c, "nbf")) &&
        json_number_value(json_object_get(c, "nbf")) > NOW + JWTAUTH_SKEW)
        FAIL("accepted nbf in the future");
    if (!json_is_string(iss) || strcmp(json_string_value(iss), "https://issuer.example") != 0)
        FAIL("accepted another issuer");
    if (!names_audience(json_object_get(c, "aud")))
        FAIL("accepted another audience");
    if (p->role == ROLE_ADMIN) {
        if (!json_is_string(role) || strcmp(json_string_value(role), "admin") != 0 ||
            strcmp(p->scope, "admin") != 0 || p->customer_id != 0)
            FAIL("an admin principal from role '%s'", json_string_value(role));
    } else if (p->role == ROLE_CUSTOMER) {
        char scope[AUTH_SCOPE_MAX];
        if (!json_is_string(role) || strcmp(json_string_value(role), "customer") != 0 ||
            !json_is_integer(id) || json_integer_value(id) < 1 ||
            json_integer_value(id) != p->customer_id)
            FAIL("a customer principal %lld from other claims", (long long)p->customer_id);
        snprintf(scope, sizeof(scope), "c%lld", (long long)p->customer_id);
        if (strcmp(scope, p->scope) != 0)
            FAIL("customer %lld with scope '%s'", (long long)p->customer_id, p->scope);
    } else {
        FAIL("an accepted token made role %d", (int)p->role);
    }
    json_decref(c);
}

/*
 * authz_resolve, the path of every request: a header of another scheme (or
 * none) is anonymous; a Bearer one is the principal jwtauth_verify gives, or
 * 401 with error="invalid_token"; and no answer holds the token's text.
 */
static void check_resolve(const char *header)
{
    struct principal who, want;
    struct reply r;
    const char *tok;
    size_t len = 0;
    int rc;

    reply_init(&r);
    memset(&who, 0, sizeof(who));
    rc = authz_resolve(header, NULL, &who, &r);
    tok = auth_bearer(header, &len);
    if (!auth_scheme_bearer(header)) {
        if (rc != 0 || who.role != ROLE_ANONYMOUS)
            FAIL("'%s' is not a Bearer header, yet not anonymous", header);
    } else if (!tok || jwtauth_verify(tok, len, &want) != JWTAUTH_OK) {
        if (rc == 0 || (r.status != 401 && r.status != 500) ||
            (r.status == 401 && !(r.www_authenticate && r.invalid_token)))
            FAIL("a refused token got %d", r.status);
    } else if (rc != 0 || memcmp(&who, &want, sizeof(who)) != 0) {
        FAIL("authz_resolve and jwtauth_verify disagree");
    }
    if (tok && len >= 8 && r.body.buf && memmem(r.body.buf, r.body.len, tok, len))
        FAIL("the answer holds the token");
    reply_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *header = NULL;
    const char *tok;
    size_t len = 0;
    struct principal p1, p2;
    enum jwtauth_status s1, s2;

    if (size == 0)
        return 0;
    if (data[0] & 1) {
        header = sign((const char *)data + 1, size - 1);
    } else {
        header = malloc(size);
        if (header) {
            memcpy(header, data + 1, size - 1);
            header[size - 1] = '\0';
        }
    }
    if (!header)
        return 0;

    check_resolve(header);
    tok = auth_bearer(header, &len);
    if (!tok)
        goto out;
    if (tok < header + 7 || strncasecmp(header, "Bearer ", 7) != 0 || tok[-1] != ' ' ||
        strlen(tok) != len || !token68(tok, len))
        FAIL("auth_bearer gave '%s' from '%s'", tok, header);

    memset(&p1, 0, sizeof(p1));
    memset(&p2, 0, sizeof(p2));
    s1 = jwtauth_verify(tok, len, &p1);
    s2 = jwtauth_verify(tok, len, &p2);
    if ((unsigned)s1 >= JWTAUTH__COUNT || s1 == JWTAUTH_OFF)
        FAIL("status %d", (int)s1);
    if (s1 != s2 && s1 != JWTAUTH_NOMEM && s2 != JWTAUTH_NOMEM)
        FAIL("the same token gave %s, then %s", jwtauth_status_name(s1), jwtauth_status_name(s2));
    if (s1 == JWTAUTH_OK) {
        if (memcmp(&p1, &p2, sizeof(p1)) != 0)
            FAIL("the cache gave another principal");
        check_accepted(tok, len, &p1);
    }
out:
    free(header);
    return 0;
}
