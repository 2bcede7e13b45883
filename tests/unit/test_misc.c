/* test_misc.c - reply.c: what a handler fills in */
#include <check.h>
#include <string.h>

#include "reply.h"
#include "suites.h"

START_TEST(reply_init_defaults)
{
    struct reply r;
    memset(&r, 0x5a, sizeof(r));
    reply_init(&r);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.content_type, "application/json");
    ck_assert_uint_eq(r.body.len, 0);
    ck_assert_str_eq(r.location, "");
    ck_assert_str_eq(r.etag, "");
    ck_assert(!r.retry_after && !r.www_authenticate && !r.replayed && !r.close);
    reply_release(&r);
}
END_TEST

START_TEST(reply_json_sets_body_and_status)
{
    struct reply r;
    reply_init(&r);
    ck_assert_int_eq(reply_json(&r, 201, "{\"a\":1}xyz", 7), 0);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.content_type, "application/json");
    ck_assert_uint_eq(r.body.len, 7);
    ck_assert_str_eq(r.body.buf, "{\"a\":1}");
    reply_release(&r);
}
END_TEST

START_TEST(reply_json_replaces_body)
{
    struct reply r;
    reply_init(&r);
    reply_json(&r, 200, "{\"first\":true}", 14);
    reply_json(&r, 200, "{}", 2);
    ck_assert_str_eq(r.body.buf, "{}");
    ck_assert_uint_eq(r.body.len, 2);
    reply_release(&r);
}
END_TEST

START_TEST(reply_release_twice_is_safe)
{
    struct reply r;
    reply_init(&r);
    reply_json(&r, 200, "{}", 2);
    reply_release(&r);
    reply_release(&r);
    ck_assert_ptr_null(r.body.buf);
}
END_TEST

Suite *misc_suite(void)
{
    Suite *s = suite_create("misc");
    TCase *tc = tcase_create("reply");
    tcase_add_test(tc, reply_init_defaults);
    tcase_add_test(tc, reply_json_sets_body_and_status);
    tcase_add_test(tc, reply_json_replaces_body);
    tcase_add_test(tc, reply_release_twice_is_safe);
    suite_add_tcase(s, tc);
    return s;
}
