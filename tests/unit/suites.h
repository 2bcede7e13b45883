/* suites.h - one Suite per module under test */
#ifndef CQRSD_TEST_SUITES_H
#define CQRSD_TEST_SUITES_H

#include <check.h>

Suite *config_suite(void);
Suite *jv_suite(void);
Suite *problem_suite(void);
Suite *route_suite(void);
Suite *cursor_suite(void);
Suite *sqlscript_suite(void);
Suite *sbuf_suite(void);
Suite *http_suite(void);
Suite *idem_suite(void);
Suite *query_suite(void);
Suite *log_suite(void);
Suite *misc_suite(void);
Suite *work_suite(void);
Suite *greeting_suite(void);
Suite *auth_suite(void);
Suite *jwtauth_suite(void);
Suite *authz_suite(void);
Suite *gtid_suite(void);
Suite *evfilter_suite(void);

#endif
