/* fuzz_headers.c - request header checks: Idempotency-Key, X-Request-Id,
 * Content-Type, If-None-Match, Authorization (with a token loaded from a 0600
 * file by auth_load), and the --listen address parser.
 *
 * The input, up to its first NUL, is the header value (a NUL cannot reach a
 * handler: libmicrohttpd hands over C strings). Each predicate is compared
 * with a reference reading of API.md; a mismatch aborts.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth.h"
#include "fuzz_util.h"
#include "authz.h"
#include "http.h"
#include "idem.h"
#include "query.h"
#include "reply.h"
#include "route.h"

/* Does this Authorization header make the request admin (authz_resolve)? */
static bool as_admin(const char *authorization)
{
    struct principal who;
    struct reply r;
    bool ok;

    reply_init(&r);
    ok = authz_resolve(authorization, NULL, &who, &r) == 0 && who.role == ROLE_ADMIN;
    reply_release(&r);
    return ok;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_headers: invariant broken: " __VA_ARGS__);                          \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

static const char token[] = "fuzz-token-0123456789abcdef";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[] = "/tmp/cqrsd-fuzz-token.XXXXXX";
    char err[256];

    (void)argc;
    (void)argv;
    json_object_seed(1);
    fuzz_secret_file("fuzz_headers", token, path); /* mode 0600 */
    if (auth_load(path, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_headers: auth_load: %s\n", err);
        abort();
    }
    unlink(path);
    if (!auth_enabled() || !as_admin("Bearer fuzz-token-0123456789abcdef"))
        FAIL("the loaded token does not check");
    return 0;
}

/* 1..max visible ASCII characters (0x21-0x7e) */
static bool ref_visible(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static bool ref_auth(const char *h)
{
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    return strcmp(h, token) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *bearer = malloc(size + 8), *nl;
    char etag[24], other[24];
    struct sockaddr_storage ss;
    socklen_t len = 0;

    if (!s || !bearer)
        goto out;
    memcpy(s, data, size);
    s[size] = '\0';

    /* Idempotency-Key and X-Request-Id */
    if (idem_key_ok(s) != ref_visible(s, IDEM_MAX_KEY))
        FAIL("idem_key_ok('%s') = %d", s, idem_key_ok(s));
    if (http_request_id_ok(s) != ref_visible(s, 64))
        FAIL("http_request_id_ok('%s') = %d", s, http_request_id_ok(s));
    {
        struct request rq;
        struct reply r;
        struct idem id;
        int rc;
        memset(&rq, 0, sizeof(rq));
        rq.idempotency_key = s;
        reply_init(&r);
        rc = idem_prepare(&id, &rq, &r);
        if ((rc == 0) != ref_visible(s, IDEM_MAX_KEY) || (rc != 0 && r.status != 400) ||
            (rc == 0 && (r.status != 0 || !strstr(id.stored, s))))
            FAIL("idem_prepare('%s') = %d, status %d", s, rc, r.status);
        idem_release(&id);
        reply_release(&r);
    }

    /* Content-Type */
    if (http_json_content_type(s) && strncasecmp(s, "application/json", 16) != 0)
        FAIL("http_json_content_type accepted '%s'", s);

    /* If-None-Match against the ETag of the text after the first newline */
    nl = strchr(s, '\n');
    query_etag(nl ? nl + 1 : s, nl ? strlen(nl + 1) : size, etag);
    if (etag[0] != '"' || strlen(etag) != 18 || etag[17] != '"')
        FAIL("query_etag gave %s", etag);
    if (!query_etag_match(etag, etag))
        FAIL("an ETag does not match itself");
    if (query_etag_match(s, etag) && !strstr(s, etag) && !strchr(s, '*'))
        FAIL("'%s' matched %s", s, etag);
    query_etag(s, strlen(s), other);
    if (strcmp(other, etag) != 0 && query_etag_match(other, etag))
        FAIL("%s matched %s", other, etag);

    /* Authorization */
    if (as_admin(s) != ref_auth(s))
        FAIL("as_admin('%s') = %d", s, as_admin(s));
    memcpy(bearer, "Bearer ", 7);
    memcpy(bearer + 7, s, strlen(s) + 1);
    if (as_admin(bearer) != ref_auth(bearer))
        FAIL("as_admin('%s') = %d", bearer, as_admin(bearer));
    if (!as_admin("bearer  fuzz-token-0123456789abcdef"))
        FAIL("the token stopped checking");

    /* --listen */
    if (http_listen_parse(s, &ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            if (len != sizeof(struct sockaddr_in))
                FAIL("listen '%s': AF_INET with length %u", s, (unsigned)len);
        } else if (ss.ss_family == AF_INET6) {
            if (len != sizeof(struct sockaddr_in6) || s[0] != '[')
                FAIL("listen '%s': AF_INET6 with length %u", s, (unsigned)len);
        } else {
            FAIL("listen '%s': family %d", s, ss.ss_family);
        }
        if (!strrchr(s, ':'))
            FAIL("listen '%s' accepted without a port", s);
    }
out:
    free(s);
    free(bearer);
    return 0;
}
