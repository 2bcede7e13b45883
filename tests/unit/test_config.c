/* test_config.c - DSN parsing and the flag/environment table */
#include <check.h>
#include <string.h>

#include "config.h"
#include "suites.h"

START_TEST(dsn_full)
{
    struct dsn d;
    char err[160];
    ck_assert_int_eq(dsn_parse("mysql://u%40x:p%3Aw@db.local:3307/shop?socket=/tmp/s.sock", &d,
                               err, sizeof(err)),
                     0);
    ck_assert_str_eq(d.user, "u@x");
    ck_assert_str_eq(d.password, "p:w");
    ck_assert_str_eq(d.host, "db.local");
    ck_assert_uint_eq(d.port, 3307);
    ck_assert_str_eq(d.database, "shop");
    ck_assert_str_eq(d.socket, "/tmp/s.sock");
}
END_TEST

START_TEST(dsn_bad)
{
    static const char *bad[] = {"", "http://u@h/db", "mysql://h/db", "mysql://u@h", "mysql://@h/db",
                                "mysql://u@h:0/db", "mysql://u@h:70000/db", "mysql://u@h:x/db",
                                "mysql://u@/db", "mysql://u%4@h/db", "mysql://u@h/d-b",
                                "mysql://u@h/db?sock=x", "mysql://u@h/db?socket=", NULL};
    struct dsn d;
    char err[160];
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(dsn_parse(bad[i], &d, err, sizeof(err)) == -1, "accepted '%s'", bad[i]);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("dsn");
    tcase_add_test(tc, dsn_full);
    tcase_add_test(tc, dsn_bad);
    suite_add_tcase(s, tc);
    return s;
}
