/* test_misc.c - cursor, route ids, problem, sqlscript, http helpers */
#include <check.h>
#include <string.h>

#include "cursor.h"
#include "route.h"
#include "suites.h"

START_TEST(cursor_roundtrip)
{
    char c[CURSOR_MAX];
    int64_t k, id;
    cursor_encode('p', 1999, 42, c);
    ck_assert(cursor_decode(c, 'p', &k, &id));
    ck_assert_int_eq(k, 1999);
    ck_assert_int_eq(id, 42);
    ck_assert(!cursor_decode(c, 'i', &k, &id));
}
END_TEST

START_TEST(path_ids)
{
    int64_t v;
    ck_assert(route_parse_id("42", 2, &v) && v == 42);
    ck_assert(!route_parse_id("042", 3, &v));
    ck_assert(!route_parse_id("0", 1, &v));
    ck_assert(route_parse_id("9223372036854775807", 19, &v));
    ck_assert(!route_parse_id("9223372036854775808", 19, &v));
}
END_TEST

Suite *misc_suite(void)
{
    Suite *s = suite_create("misc");
    TCase *tc = tcase_create("misc");
    tcase_add_test(tc, cursor_roundtrip);
    tcase_add_test(tc, path_ids);
    suite_add_tcase(s, tc);
    return s;
}
