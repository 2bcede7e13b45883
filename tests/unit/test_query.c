/* test_query.c - the pure parts of query.c: ETags, If-None-Match, query arguments */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "query.h"
#include "suites.h"
#include "testutil.h"

/*=== query_etag ===*/

static void etag_of(const char *doc, char out[24])
{
    memset(out, 'X', 24);
    query_etag(doc, strlen(doc), out);
}

START_TEST(etag_is_quoted_and_strong)
{
    char e[24];
    size_t n;
    etag_of("{\"product_id\":1}", e);
    ck_assert_ptr_nonnull(memchr(e, '\0', 24));
    n = strlen(e);
    ck_assert_uint_ge(n, 3);
    ck_assert_int_eq(e[0], '"');
    ck_assert_int_eq(e[n - 1], '"');
    ck_assert(strncmp(e, "W/", 2) != 0);
    /* etagc = %x21 / %x23-7E: no quote or space inside */
    for (size_t i = 1; i + 1 < n; i++)
        ck_assert_msg(e[i] >= 0x21 && e[i] <= 0x7e && e[i] != '"', "bad char in %s", e);
}
END_TEST

START_TEST(etag_same_for_same_content)
{
    char a[24], b[24];
    etag_of("{\"stock\":8}", a);
    etag_of("{\"stock\":8}", b);
    ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(etag_changes_with_content)
{
    static const char *docs[] = {"",
                                 "{}",
                                 "{\"stock\":8}",
                                 "{\"stock\":7}",
                                 "{\"stock\":80}",
                                 "{\"stock\":8} ",
                                 "{\"Stock\":8}",
                                 "{\"version\":2}",
                                 "{\"version\":3}",
                                 NULL};
    char e[16][24];
    int n = 0;
    for (; docs[n]; n++)
        etag_of(docs[n], e[n]);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(e[i], e[j]) != 0, "'%s' and '%s' share %s", docs[i], docs[j],
                          e[i]);
}
END_TEST

START_TEST(etag_uses_length)
{
    char a[24], b[24];
    query_etag("abcdef", 3, a);
    query_etag("abc", 3, b);
    ck_assert_str_eq(a, b);
}
END_TEST

/*=== query_etag_match ===*/

START_TEST(match_exact)
{
    char e[24];
    etag_of("doc", e);
    ck_assert(query_etag_match(e, e));
}
END_TEST

START_TEST(match_in_list)
{
    char e[24], h[128];
    etag_of("doc", e);
    snprintf(h, sizeof(h), "\"aaa\", %s, \"bbb\"", e);
    ck_assert(query_etag_match(h, e));
    snprintf(h, sizeof(h), "\"aaa\",%s", e);
    ck_assert(query_etag_match(h, e));
    snprintf(h, sizeof(h), "%s,\"aaa\"", e);
    ck_assert(query_etag_match(h, e));
}
END_TEST

START_TEST(match_star)
{
    ck_assert(query_etag_match("*", "\"0123456789abcdef\""));
    ck_assert(query_etag_match(" * ", "\"0123456789abcdef\""));
}
END_TEST

START_TEST(match_weak_prefix)
{
    /* If-None-Match uses the weak comparison (RFC 9110 13.1.2) */
    char e[24], h[64];
    etag_of("doc", e);
    snprintf(h, sizeof(h), "W/%s", e);
    ck_assert(query_etag_match(h, e));
    snprintf(h, sizeof(h), "\"x\", W/%s", e);
    ck_assert(query_etag_match(h, e));
}
END_TEST

START_TEST(match_with_spaces_and_tabs)
{
    char e[24], h[64];
    etag_of("doc", e);
    snprintf(h, sizeof(h), "  %s  ", e);
    ck_assert(query_etag_match(h, e));
    snprintf(h, sizeof(h), "\t%s\t,\t\"x\"", e);
    ck_assert(query_etag_match(h, e));
    snprintf(h, sizeof(h), "\"x\" ,  %s", e);
    ck_assert(query_etag_match(h, e));
}
END_TEST

START_TEST(no_match_for_other_tags)
{
    char e[24], other[24], h[80];
    etag_of("doc", e);
    etag_of("doc2", other);
    ck_assert(!query_etag_match(other, e));
    ck_assert(!query_etag_match("", e));
    ck_assert(!query_etag_match(" , ,", e));
    ck_assert(!query_etag_match("\"\"", e));
    /* unquoted value, prefix, longer value */
    snprintf(h, sizeof(h), "%.*s", (int)strlen(e) - 2, e + 1);
    ck_assert(!query_etag_match(h, e));
    snprintf(h, sizeof(h), "%.*s", (int)strlen(e) - 1, e);
    ck_assert(!query_etag_match(h, e));
    snprintf(h, sizeof(h), "%sx", e);
    ck_assert(!query_etag_match(h, e));
    snprintf(h, sizeof(h), "x%s", e);
    ck_assert(!query_etag_match(h, e));
    ck_assert(!query_etag_match("**", e));
    ck_assert(!query_etag_match("W/", e));
}
END_TEST

START_TEST(no_match_case_changed)
{
    const char *e = "\"00000000abcdef12\"";
    ck_assert(!query_etag_match("\"00000000ABCDEF12\"", e));
}
END_TEST

/*=== query_check_args, query_int_arg ===*/

static struct request g_rq;
static struct reply g_r;

static void setup(void)
{
    memset(&g_rq, 0, sizeof(g_rq));
    reply_init(&g_r);
}

static void teardown(void) { reply_release(&g_r); }

static void add_arg(const char *k, const char *v)
{
    g_rq.args[g_rq.nargs++] = (struct req_arg){k, v};
}

static void assert_invalid_parameter(void)
{
    json_t *b;
    ck_assert_int_eq(g_r.status, 400);
    ck_assert_str_eq(g_r.content_type, "application/problem+json");
    b = json_loadb(g_r.body.buf, g_r.body.len, 0, NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(json_string_value(json_object_get(b, "type")), "invalid-parameter");
    json_decref(b);
}

static const char *const list_args[] = {"category", "sort", "limit", "after", NULL};

START_TEST(args_known_accepted)
{
    add_arg("category", "Books");
    add_arg("limit", "5");
    ck_assert_int_eq(query_check_args(&g_rq, list_args, &g_r), 0);
    ck_assert_int_eq(g_r.status, 0);
}
END_TEST

START_TEST(args_none_accepted) { ck_assert_int_eq(query_check_args(&g_rq, list_args, &g_r), 0); }
END_TEST

START_TEST(args_unknown_rejected)
{
    add_arg("limit", "5");
    add_arg("colour", "red");
    ck_assert_int_eq(query_check_args(&g_rq, list_args, &g_r), -1);
    assert_invalid_parameter();
}
END_TEST

START_TEST(args_empty_value_rejected)
{
    add_arg("limit", "");
    ck_assert_int_eq(query_check_args(&g_rq, list_args, &g_r), -1);
    assert_invalid_parameter();
}
END_TEST

START_TEST(args_without_value_rejected)
{
    add_arg("limit", NULL);
    ck_assert_int_eq(query_check_args(&g_rq, list_args, &g_r), -1);
    assert_invalid_parameter();
}
END_TEST

START_TEST(args_repeated_rejected)
{
    add_arg("limit", "5");
    add_arg("limit", "6");
    ck_assert_int_eq(query_check_args(&g_rq, list_args, &g_r), -1);
    assert_invalid_parameter();
}
END_TEST

START_TEST(args_too_many_rejected)
{
    g_rq.too_many_args = true;
    ck_assert_int_eq(query_check_args(&g_rq, list_args, &g_r), -1);
    assert_invalid_parameter();
}
END_TEST

START_TEST(args_none_allowed)
{
    static const char *const none[] = {NULL};
    add_arg("x", "1");
    ck_assert_int_eq(query_check_args(&g_rq, none, &g_r), -1);
    assert_invalid_parameter();
}
END_TEST

START_TEST(args_unknown_with_invalid_utf8_key_gives_full_problem)
{
    /* GET /queries/products?%FF=1: the detail must still be there */
    json_t *b;
    add_arg("\xff", "1");
    ck_assert_int_eq(query_check_args(&g_rq, list_args, &g_r), -1);
    assert_invalid_parameter();
    b = json_loadb(g_r.body.buf, g_r.body.len, 0, NULL);
    ck_assert_msg(json_is_string(json_object_get(b, "detail")), "no detail: %s",
                  tu_esc(g_r.body.buf));
    json_decref(b);
}
END_TEST

START_TEST(int_arg_absent_keeps_default)
{
    int64_t v = 50;
    ck_assert_int_eq(query_int_arg(&g_rq, "limit", 1, 200, &v, &g_r), 0);
    ck_assert_int_eq(v, 50);
}
END_TEST

START_TEST(int_arg_bounds)
{
    int64_t v = 50;
    add_arg("limit", "1");
    ck_assert_int_eq(query_int_arg(&g_rq, "limit", 1, 200, &v, &g_r), 0);
    ck_assert_int_eq(v, 1);
    g_rq.args[0].val = "200";
    ck_assert_int_eq(query_int_arg(&g_rq, "limit", 1, 200, &v, &g_r), 0);
    ck_assert_int_eq(v, 200);
}
END_TEST

START_TEST(int_arg_out_of_range_not_clamped)
{
    static const char *bad[] = {"0",   "201", "1000", "-1", "+5",   "5.0",
                                "1e2", "abc", " 5",   "5 ", "0x10", "99999999999999999999",
                                NULL};
    for (int i = 0; bad[i]; i++) {
        int64_t v = 50;
        add_arg("limit", bad[i]);
        ck_assert_msg(query_int_arg(&g_rq, "limit", 1, 200, &v, &g_r) == -1, "'%s' accepted",
                      bad[i]);
        ck_assert_int_eq(v, 50);
        assert_invalid_parameter();
        teardown();
        setup();
    }
}
END_TEST

START_TEST(int_arg_large_range)
{
    int64_t v = 0;
    add_arg("after", "9223372036854775807");
    ck_assert_int_eq(query_int_arg(&g_rq, "after", 0, INT64_MAX, &v, &g_r), 0);
    ck_assert_int_eq(v, INT64_MAX);
    g_rq.args[0].val = "0";
    ck_assert_int_eq(query_int_arg(&g_rq, "after", 0, INT64_MAX, &v, &g_r), 0);
    ck_assert_int_eq(v, 0);
    g_rq.args[0].val = "9223372036854775808";
    ck_assert_int_eq(query_int_arg(&g_rq, "after", 0, INT64_MAX, &v, &g_r), -1);
}
END_TEST

Suite *query_suite(void)
{
    Suite *s = suite_create("query");
    TCase *tc = tcase_create("etag");
    tcase_add_test(tc, etag_is_quoted_and_strong);
    tcase_add_test(tc, etag_same_for_same_content);
    tcase_add_test(tc, etag_changes_with_content);
    tcase_add_test(tc, etag_uses_length);
    tcase_add_test(tc, match_exact);
    tcase_add_test(tc, match_in_list);
    tcase_add_test(tc, match_star);
    tcase_add_test(tc, match_weak_prefix);
    tcase_add_test(tc, match_with_spaces_and_tabs);
    tcase_add_test(tc, no_match_for_other_tags);
    tcase_add_test(tc, no_match_case_changed);
    suite_add_tcase(s, tc);

    tc = tcase_create("args");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, args_known_accepted);
    tcase_add_test(tc, args_none_accepted);
    tcase_add_test(tc, args_unknown_rejected);
    tcase_add_test(tc, args_empty_value_rejected);
    tcase_add_test(tc, args_without_value_rejected);
    tcase_add_test(tc, args_repeated_rejected);
    tcase_add_test(tc, args_too_many_rejected);
    tcase_add_test(tc, args_none_allowed);
    tcase_add_test(tc, args_unknown_with_invalid_utf8_key_gives_full_problem);
    tcase_add_test(tc, int_arg_absent_keeps_default);
    tcase_add_test(tc, int_arg_bounds);
    tcase_add_test(tc, int_arg_out_of_range_not_clamped);
    tcase_add_test(tc, int_arg_large_range);
    suite_add_tcase(s, tc);
    return s;
}
