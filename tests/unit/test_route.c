/* test_route.c - the method + path table, Allow lists, path ids, query arguments */
#include <check.h>
#include <string.h>

#include "route.h"
#include "suites.h"
#include "testutil.h"

/*=== Helpers ===*/

static struct request g_rq;
static const struct route *g_rt;

static enum route_result match(enum method m, const char *path)
{
    memset(&g_rq, 0, sizeof(g_rq));
    g_rq.method = m;
    g_rq.path = path;
    g_rt = NULL;
    return route_match(&g_rq, &g_rt);
}

static void assert_route(enum method m, const char *path, enum route_result want,
                         const char *pattern)
{
    enum route_result got = match(m, path);
    ck_assert_msg(got == want, "%d %s: want result %d, got %d", m, path, want, got);
    if (pattern) {
        ck_assert_msg(g_rt != NULL, "%s: no route", path);
        ck_assert_str_eq(g_rt->pattern, pattern);
    }
}

/* Whether the comma-separated list has token tok. */
static bool list_has(const char *list, const char *tok)
{
    size_t n = strlen(tok);
    const char *p = list;

    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncmp(p, tok, n) == 0 && (p[n] == ',' || p[n] == '\0' || p[n] == ' '))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

static void allow_of(enum method m, const char *path, char *out, size_t cap)
{
    match(m, path);
    ck_assert_msg(g_rt != NULL, "%s: no route", path);
    route_allow(g_rt, out, cap);
}

/*=== route_match ===*/

START_TEST(get_routes_of_api_md)
{
    assert_route(M_GET, "/healthz", ROUTE_OK, "/healthz");
    assert_route(M_GET, "/readyz", ROUTE_OK, "/readyz");
    assert_route(M_GET, "/queries/products", ROUTE_OK, "/queries/products");
    assert_route(M_GET, "/queries/products/42", ROUTE_OK, "/queries/products/{id}");
    assert_route(M_GET, "/queries/orders/7", ROUTE_OK, "/queries/orders/{id}");
    assert_route(M_GET, "/queries/customers/3", ROUTE_OK, "/queries/customers/{id}");
    assert_route(M_GET, "/queries/customers/3/orders", ROUTE_OK, "/queries/customers/{id}/orders");
    assert_route(M_GET, "/queries/events", ROUTE_OK, "/queries/events");
}
END_TEST

START_TEST(post_commands)
{
    assert_route(M_POST, "/commands", ROUTE_OK, "/commands");
    ck_assert_ptr_nonnull(g_rt->post);
}
END_TEST

START_TEST(get_route_has_get_handler)
{
    assert_route(M_GET, "/queries/products/1", ROUTE_OK, NULL);
    ck_assert_ptr_nonnull(g_rt->get);
}
END_TEST

START_TEST(head_allowed_where_get_is)
{
    static const char *paths[] = {"/healthz",
                                  "/readyz",
                                  "/queries/products",
                                  "/queries/products/1",
                                  "/queries/orders/1",
                                  "/queries/customers/1",
                                  "/queries/customers/1/orders",
                                  "/queries/events",
                                  NULL};
    for (int i = 0; paths[i]; i++)
        assert_route(M_HEAD, paths[i], ROUTE_OK, NULL);
}
END_TEST

START_TEST(unknown_paths_not_found)
{
    static const char *paths[] = {"/",
                                  "",
                                  "/nope",
                                  "/healthz/",
                                  "/healthzz",
                                  "/health",
                                  "/Healthz",
                                  "/queries",
                                  "/queries/",
                                  "/queries/products/1/x",
                                  "/queries/customers/1/orders/2",
                                  "/queries/widgets/1",
                                  "/commands/",
                                  "//commands",
                                  "/commandsx",
                                  NULL};
    for (int i = 0; paths[i]; i++) {
        enum route_result r = match(M_GET, paths[i]);
        ck_assert_msg(r == ROUTE_NOT_FOUND, "'%s' is not 404 (%d)", paths[i], r);
        ck_assert_ptr_null(g_rt);
    }
}
END_TEST

START_TEST(unknown_path_not_found_for_every_method)
{
    assert_route(M_POST, "/nope", ROUTE_NOT_FOUND, NULL);
    assert_route(M_HEAD, "/nope", ROUTE_NOT_FOUND, NULL);
    assert_route(M_OTHER, "/nope", ROUTE_NOT_FOUND, NULL);
}
END_TEST

START_TEST(options_on_unknown_route_is_not_found)
{
    assert_route(M_OPTIONS, "/nope", ROUTE_NOT_FOUND, NULL);
    assert_route(M_OPTIONS, "/queries/products/1/x", ROUTE_NOT_FOUND, NULL);
}
END_TEST

START_TEST(options_on_known_routes)
{
    assert_route(M_OPTIONS, "/commands", ROUTE_OPTIONS, "/commands");
    assert_route(M_OPTIONS, "/queries/products/9", ROUTE_OPTIONS, "/queries/products/{id}");
    assert_route(M_OPTIONS, "/healthz", ROUTE_OPTIONS, "/healthz");
    assert_route(M_OPTIONS, "/queries/customers/1/orders", ROUTE_OPTIONS,
                 "/queries/customers/{id}/orders");
}
END_TEST

START_TEST(post_on_get_route_not_allowed)
{
    char allow[64];
    assert_route(M_POST, "/queries/products", ROUTE_METHOD_NOT_ALLOWED, "/queries/products");
    route_allow(g_rt, allow, sizeof(allow));
    ck_assert(list_has(allow, "GET"));
    ck_assert(list_has(allow, "HEAD"));
    ck_assert(list_has(allow, "OPTIONS"));
    ck_assert(!list_has(allow, "POST"));
}
END_TEST

START_TEST(other_method_not_allowed)
{
    assert_route(M_OTHER, "/queries/orders/1", ROUTE_METHOD_NOT_ALLOWED, "/queries/orders/{id}");
    assert_route(M_OTHER, "/commands", ROUTE_METHOD_NOT_ALLOWED, "/commands");
    assert_route(M_OTHER, "/healthz", ROUTE_METHOD_NOT_ALLOWED, "/healthz");
}
END_TEST

START_TEST(other_method_on_commands_allow_lists_post)
{
    char allow[64];
    assert_route(M_OTHER, "/commands", ROUTE_METHOD_NOT_ALLOWED, "/commands");
    route_allow(g_rt, allow, sizeof(allow));
    ck_assert(list_has(allow, "POST"));
    ck_assert(list_has(allow, "OPTIONS"));
}
END_TEST

START_TEST(allow_list_exact_for_get_routes)
{
    char allow[64];
    allow_of(M_GET, "/queries/products/1", allow, sizeof(allow));
    ck_assert_str_eq(allow, "GET, HEAD, OPTIONS");
    allow_of(M_GET, "/healthz", allow, sizeof(allow));
    ck_assert_str_eq(allow, "GET, HEAD, OPTIONS");
}
END_TEST

START_TEST(allow_list_for_commands)
{
    char allow[64];
    allow_of(M_POST, "/commands", allow, sizeof(allow));
    ck_assert(list_has(allow, "POST"));
    ck_assert(list_has(allow, "OPTIONS"));
    ck_assert(!list_has(allow, "PUT"));
}
END_TEST

START_TEST(captures_id_segment)
{
    assert_route(M_GET, "/queries/products/1999", ROUTE_OK, NULL);
    ck_assert_uint_eq(g_rq.seg_len[0], 4);
    ck_assert(memcmp(g_rq.seg[0], "1999", 4) == 0);
}
END_TEST

START_TEST(captures_id_before_orders)
{
    assert_route(M_GET, "/queries/customers/12345/orders", ROUTE_OK,
                 "/queries/customers/{id}/orders");
    ck_assert_uint_eq(g_rq.seg_len[0], 5);
    ck_assert(memcmp(g_rq.seg[0], "12345", 5) == 0);
}
END_TEST

START_TEST(bad_id_still_matches_route)
{
    /* a bad path id is 400 invalid-parameter (the handler's), not 404 */
    static const char *paths[] = {"/queries/products/abc",
                                  "/queries/products/0",
                                  "/queries/products/007",
                                  "/queries/orders/-1",
                                  "/queries/customers/1.5",
                                  "/queries/customers/99999999999999999999",
                                  NULL};
    for (int i = 0; paths[i]; i++) {
        enum route_result r = match(M_GET, paths[i]);
        ck_assert_msg(r == ROUTE_OK, "'%s' does not reach its handler (%d)", paths[i], r);
    }
    match(M_GET, "/queries/products/abc");
    ck_assert_uint_eq(g_rq.seg_len[0], 3);
    ck_assert(memcmp(g_rq.seg[0], "abc", 3) == 0);
}
END_TEST

START_TEST(bad_id_before_orders_still_matches)
{
    assert_route(M_GET, "/queries/customers/x1/orders", ROUTE_OK, "/queries/customers/{id}/orders");
    ck_assert_uint_eq(g_rq.seg_len[0], 2);
}
END_TEST

/* Routes API.md names besides the ones above. */
START_TEST(route_metrics) { assert_route(M_GET, "/metrics", ROUTE_OK, NULL); }
END_TEST

START_TEST(route_events_stream) { assert_route(M_GET, "/queries/events/stream", ROUTE_OK, NULL); }
END_TEST

START_TEST(route_command_status)
{
    assert_route(M_GET, "/commands/6f1c0a6e-4a5b-4c1d-9e2f-0123456789ab", ROUTE_OK, NULL);
}
END_TEST

START_TEST(route_commands_list) { assert_route(M_GET, "/commands", ROUTE_OK, "/commands"); }
END_TEST

/*=== request_parse_id ===*/

static bool id_of(const char *s, int64_t *v) { return request_parse_id(s, strlen(s), v); }

START_TEST(path_ids)
{
    int64_t v;
    ck_assert(request_parse_id("42", 2, &v) && v == 42);
    ck_assert(!request_parse_id("042", 3, &v));
    ck_assert(!request_parse_id("0", 1, &v));
    ck_assert(request_parse_id("9223372036854775807", 19, &v));
    ck_assert(!request_parse_id("9223372036854775808", 19, &v));
}
END_TEST

START_TEST(id_valid_values)
{
    int64_t v = 0;
    ck_assert(id_of("1", &v) && v == 1);
    ck_assert(id_of("9", &v) && v == 9);
    ck_assert(id_of("10", &v) && v == 10);
    ck_assert(id_of("1000000", &v) && v == 1000000);
    ck_assert(id_of("9223372036854775807", &v) && v == INT64_MAX);
    ck_assert(id_of("9223372036854775806", &v) && v == INT64_MAX - 1);
}
END_TEST

START_TEST(id_invalid_values)
{
    static const char *bad[] = {"",
                                "0",
                                "00",
                                "01",
                                "-1",
                                "+1",
                                " 1",
                                "1 ",
                                "1a",
                                "a1",
                                "1.0",
                                "1e3",
                                "0x1f",
                                "１",
                                "1/2",
                                "9223372036854775808",
                                "9999999999999999999",
                                "18446744073709551616",
                                "18446744073709551617",
                                "99999999999999999999",
                                "000000000000000000001",
                                NULL};
    for (int i = 0; bad[i]; i++) {
        int64_t v = 12345;
        ck_assert_msg(!id_of(bad[i], &v), "accepted '%s'", tu_esc(bad[i]));
    }
}
END_TEST

START_TEST(id_uses_length_not_nul)
{
    int64_t v = 0;
    ck_assert(request_parse_id("123/orders", 3, &v) && v == 123);
    ck_assert(!request_parse_id("123/orders", 4, &v));
    ck_assert(!request_parse_id("123", 0, &v));
}
END_TEST

/*=== request_arg ===*/

START_TEST(request_arg_lookup)
{
    struct request rq;
    const struct req_arg *a;
    memset(&rq, 0, sizeof(rq));
    rq.args[0] = (struct req_arg){"category", "Books"};
    rq.args[1] = (struct req_arg){"limit", "10"};
    rq.args[2] = (struct req_arg){"flag", NULL};
    rq.nargs = 3;
    a = request_arg(&rq, "limit");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a->val, "10");
    a = request_arg(&rq, "category");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a->val, "Books");
    a = request_arg(&rq, "flag");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(a->val);
    ck_assert_ptr_null(request_arg(&rq, "sort"));
    ck_assert_ptr_null(request_arg(&rq, "Limit"));
    ck_assert_ptr_null(request_arg(&rq, "lim"));
}
END_TEST

START_TEST(request_arg_no_args)
{
    struct request rq;
    memset(&rq, 0, sizeof(rq));
    ck_assert_ptr_null(request_arg(&rq, "limit"));
}
END_TEST

START_TEST(request_arg_first_of_repeated)
{
    struct request rq;
    memset(&rq, 0, sizeof(rq));
    rq.args[0] = (struct req_arg){"limit", "1"};
    rq.args[1] = (struct req_arg){"limit", "2"};
    rq.nargs = 2;
    ck_assert_str_eq(request_arg(&rq, "limit")->val, "1");
}
END_TEST

START_TEST(request_arg_ignores_slots_past_nargs)
{
    struct request rq;
    memset(&rq, 0, sizeof(rq));
    rq.args[0] = (struct req_arg){"a", "1"};
    rq.args[1] = (struct req_arg){"b", "2"};
    rq.nargs = 1;
    ck_assert_ptr_null(request_arg(&rq, "b"));
}
END_TEST

Suite *route_suite(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("match");
    tcase_add_test(tc, get_routes_of_api_md);
    tcase_add_test(tc, post_commands);
    tcase_add_test(tc, get_route_has_get_handler);
    tcase_add_test(tc, head_allowed_where_get_is);
    tcase_add_test(tc, unknown_paths_not_found);
    tcase_add_test(tc, unknown_path_not_found_for_every_method);
    tcase_add_test(tc, options_on_unknown_route_is_not_found);
    tcase_add_test(tc, options_on_known_routes);
    tcase_add_test(tc, post_on_get_route_not_allowed);
    tcase_add_test(tc, other_method_not_allowed);
    tcase_add_test(tc, other_method_on_commands_allow_lists_post);
    tcase_add_test(tc, allow_list_exact_for_get_routes);
    tcase_add_test(tc, allow_list_for_commands);
    tcase_add_test(tc, captures_id_segment);
    tcase_add_test(tc, captures_id_before_orders);
    tcase_add_test(tc, bad_id_still_matches_route);
    tcase_add_test(tc, bad_id_before_orders_still_matches);
    suite_add_tcase(s, tc);

    tc = tcase_create("api_md_routes");
    tcase_add_test(tc, route_metrics);
    tcase_add_test(tc, route_events_stream);
    tcase_add_test(tc, route_command_status);
    tcase_add_test(tc, route_commands_list);
    suite_add_tcase(s, tc);

    tc = tcase_create("ids_and_args");
    tcase_add_test(tc, path_ids);
    tcase_add_test(tc, id_valid_values);
    tcase_add_test(tc, id_invalid_values);
    tcase_add_test(tc, id_uses_length_not_nul);
    tcase_add_test(tc, request_arg_lookup);
    tcase_add_test(tc, request_arg_no_args);
    tcase_add_test(tc, request_arg_first_of_repeated);
    tcase_add_test(tc, request_arg_ignores_slots_past_nargs);
    suite_add_tcase(s, tc);
    return s;
}
