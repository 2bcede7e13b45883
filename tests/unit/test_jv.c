/* test_jv.c - validation rules */
#include <check.h>
#include <string.h>

#include "jv.h"
#include "suites.h"

START_TEST(codepoints)
{
    ck_assert_uint_eq(jv_codepoints("h\xc3\xa9llo", 6), 5);
}
END_TEST

Suite *jv_suite(void)
{
    Suite *s = suite_create("jv");
    TCase *tc = tcase_create("strings");
    tcase_add_test(tc, codepoints);
    suite_add_tcase(s, tc);
    return s;
}
