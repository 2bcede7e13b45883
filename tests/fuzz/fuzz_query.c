/* fuzz_query.c - the request path and query string: routing, path ids, query
 * arguments, integer arguments and list cursors.
 *
 * Input: byte 0 picks the method; the rest is "PATH?k=v&k2&k3=v3..." (split
 * at the first '?', then at '&', then at the first '='; an argument without
 * '=' has a NULL value, as libmicrohttpd gives it; more than REQ_MAX_ARGS
 * arguments set too_many_args, as http.c's collect_arg does). A NUL byte in
 * a piece ends that C string, as it would after libmicrohttpd's unescaping.
 *
 * Invariants: route_match's results are consistent (a route for OK, 405 and
 * OPTIONS; captured segments are non-empty pieces of the path, without '/'
 * unless the route's last {…} takes the rest of the path); request_parse_id accepts exactly
 * the canonical decimal form of 1..2^63-1; query_check_args and
 * query_int_arg answer 400 invalid-parameter with a problem body or leave the
 * reply alone; cursor_decode accepts only what cursor_encode makes, and
 * every cursor_encode output decodes to its own values.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "query.h"
#include "reply.h"
#include "route.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_query: invariant broken: " __VA_ARGS__);                            \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_object_seed(1);
    return 0;
}

static const enum method methods[] = {M_GET, M_HEAD, M_POST, M_OPTIONS, M_OTHER};
static const char *const method_names[] = {"GET", "HEAD", "POST", "OPTIONS", "PATCH"};

/* The allowed-argument lists of the handlers (events.c, query.c, queue.c). */
static const char *const allow_none[] = {NULL};
static const char *const allow_events[] = {"after", "limit", NULL};
static const char *const allow_stream[] = {"after", NULL};
static const char *const allow_products[] = {"category", "sort", "limit", "after", NULL};
static const char *const allow_orders[] = {"status", "limit", "after", NULL};
static const char *const *const allow_lists[] = {allow_none, allow_events, allow_stream,
                                                  allow_products, allow_orders};

static void check_problem_400(const struct reply *r, const char *what)
{
    json_error_t jerr;
    json_t *b;

    if (r->status != 400)
        FAIL("%s: status %d", what, r->status);
    b = json_loadb(r->body.buf ? r->body.buf : "", r->body.len, 0, &jerr);
    if (!b || !json_is_string(json_object_get(b, "type")) ||
        strcmp(json_string_value(json_object_get(b, "type")), "invalid-parameter") != 0)
        FAIL("%s: body is not an invalid-parameter problem: %.*s", what, (int)r->body.len,
             r->body.buf ? r->body.buf : "");
    json_decref(b);
}

/* request_parse_id accepts s exactly when it is the canonical form of 1..INT64_MAX. */
static void check_id(const char *s, size_t n)
{
    int64_t id = -1;
    bool ok = request_parse_id(s, n, &id);
    char canon[32];

    if (!ok)
        return;
    if (id < 1)
        FAIL("request_parse_id accepted %.*s as %" PRId64, (int)n, s, id);
    snprintf(canon, sizeof(canon), "%" PRId64, id);
    if (strlen(canon) != n || memcmp(canon, s, n) != 0)
        FAIL("request_parse_id accepted '%.*s' as %s", (int)n, s, canon);
}

static void check_cursor(const char *s)
{
    static const char kinds[] = {'i', 'p', 'b', 'o', 'q'};

    for (size_t k = 0; k < sizeof(kinds); k++) {
        int64_t key = 0, id = 0;
        if (cursor_decode(s, kinds[k], &key, &id)) {
            char again[CURSOR_MAX];
            cursor_encode(kinds[k], key, id, again);
            if (strcmp(again, s) != 0)
                FAIL("cursor '%s' decodes to (%c, %" PRId64 ", %" PRId64 ") but encodes as '%s'",
                     s, kinds[k], key, id, again);
        }
    }
}

/* Any (kind, key, id) taken from the input round-trips. */
static void check_cursor_roundtrip(const uint8_t *data, size_t size)
{
    static const char kinds[] = {'i', 'p', 'b', 'o', 'q'};
    int64_t key = 0, id = 0, k2, i2;
    char kind = kinds[size ? data[0] % sizeof(kinds) : 0];
    char enc[CURSOR_MAX];

    if (size >= 17) {
        memcpy(&key, data + 1, 8);
        memcpy(&id, data + 9, 8);
    }
    cursor_encode(kind, key, id, enc);
    if (!cursor_decode(enc, kind, &k2, &i2) || k2 != key || i2 != id)
        FAIL("cursor (%c, %" PRId64 ", %" PRId64 ") -> '%s' does not decode back", kind, key, id,
             enc);
    for (size_t k = 0; k < sizeof(kinds); k++)
        if (kinds[k] != kind && cursor_decode(enc, kinds[k], &k2, &i2))
            FAIL("cursor '%s' of kind %c decodes as kind %c", enc, kind, kinds[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct request rq;
    const struct route *rt = NULL;
    enum route_result rr;
    char *buf, *path, *qs, *save = NULL, *tok;
    char allow[64];

    if (size == 0)
        return 0;
    check_cursor_roundtrip(data, size);
    buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';

    memset(&rq, 0, sizeof(rq));
    rq.method = methods[data[0] % 5];
    rq.method_name = method_names[data[0] % 5];
    path = buf;
    qs = strchr(buf, '?');
    if (qs)
        *qs++ = '\0';
    rq.path = path;
    for (tok = qs ? strtok_r(qs, "&", &save) : NULL; tok; tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        if (rq.nargs >= REQ_MAX_ARGS) {
            rq.too_many_args = true;
            break;
        }
        if (eq)
            *eq++ = '\0';
        rq.args[rq.nargs].key = tok;
        rq.args[rq.nargs].val = eq;
        rq.nargs++;
    }

    /* routing */
    rr = route_match(&rq, &rt);
    switch (rr) {
    case ROUTE_NOT_FOUND:
        if (rt)
            FAIL("not found, yet a route");
        break;
    case ROUTE_OK:
    case ROUTE_METHOD_NOT_ALLOWED:
    case ROUTE_OPTIONS:
        if (!rt)
            FAIL("route result %d without a route", (int)rr);
        if (route_index(rt) < 0 || route_index(rt) >= route_count())
            FAIL("route index %d out of the table", route_index(rt));
        route_allow(rt, allow, sizeof(allow));
        if (!strstr(allow, "OPTIONS"))
            FAIL("Allow without OPTIONS: %s", allow);
        if ((rr == ROUTE_OPTIONS) != (rq.method == M_OPTIONS))
            FAIL("OPTIONS mismatch");
        for (int i = 0; i < REQ_MAX_SEGS; i++) {
            if (!rq.seg[i])
                continue;
            /* a slash only in a route's last {…} that takes the rest of the path */
            if (rq.seg[i] < rq.path || rq.seg[i] + rq.seg_len[i] > rq.path + strlen(rq.path) ||
                rq.seg_len[i] == 0 ||
                (memchr(rq.seg[i], '/', rq.seg_len[i]) &&
                 !(rt->rest && rq.seg[i] + rq.seg_len[i] == rq.path + strlen(rq.path))))
                FAIL("segment %d is not a piece of the path", i);
            check_id(rq.seg[i], rq.seg_len[i]);
        }
        break;
    default:
        FAIL("route result %d", (int)rr);
    }
    check_id(rq.path, strlen(rq.path));

    /* query arguments, as each handler checks them */
    for (size_t l = 0; l < sizeof(allow_lists) / sizeof(allow_lists[0]); l++) {
        struct reply r;
        reply_init(&r);
        if (query_check_args(&rq, allow_lists[l], &r)) {
            check_problem_400(&r, "query_check_args");
        } else {
            int64_t limit = 50, after = 0;
            if (r.status != 0)
                FAIL("query_check_args passed with status %d", r.status);
            if (rq.too_many_args)
                FAIL("query_check_args passed too many arguments");
            if (query_int_arg(&rq, "limit", 1, 200, &limit, &r))
                check_problem_400(&r, "query_int_arg limit");
            else if (limit < 1 || limit > 200)
                FAIL("limit %" PRId64 " out of range", limit);
            reply_release(&r);
            reply_init(&r);
            if (query_int_arg(&rq, "after", 0, INT64_MAX, &after, &r))
                check_problem_400(&r, "query_int_arg after");
            else if (after < 0)
                FAIL("after %" PRId64 " out of range", after);
        }
        reply_release(&r);
    }
    for (int i = 0; i < rq.nargs; i++) {
        if (request_arg(&rq, rq.args[i].key) == NULL)
            FAIL("request_arg lost '%s'", rq.args[i].key);
        check_cursor(rq.args[i].key);
        if (rq.args[i].val)
            check_cursor(rq.args[i].val);
    }
    free(buf);
    return 0;
}
