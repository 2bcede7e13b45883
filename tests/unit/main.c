/* main.c - runs every unit suite; prints "unit: N passed, M failed" */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int run, failed;

    srunner_add_suite(sr, jv_suite());
    srunner_add_suite(sr, problem_suite());
    srunner_add_suite(sr, route_suite());
    srunner_add_suite(sr, cursor_suite());
    srunner_add_suite(sr, sqlscript_suite());
    srunner_add_suite(sr, sbuf_suite());
    srunner_add_suite(sr, http_suite());
    srunner_add_suite(sr, idem_suite());
    srunner_add_suite(sr, query_suite());
    srunner_add_suite(sr, log_suite());
    srunner_add_suite(sr, misc_suite());
    srunner_add_suite(sr, work_suite());
    srunner_add_suite(sr, greeting_suite());
    srunner_add_suite(sr, auth_suite());
    srunner_add_suite(sr, jwtauth_suite());
    srunner_add_suite(sr, authz_suite());
    srunner_add_suite(sr, gtid_suite());
    srunner_add_suite(sr, evfilter_suite());
    srunner_run_all(sr, CK_NORMAL);
    run = srunner_ntests_run(sr);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    printf("unit: %d passed, %d failed\n", run - failed, failed);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
