/* suites.h - one Suite per module under test */
#ifndef CQRSD_TEST_SUITES_H
#define CQRSD_TEST_SUITES_H

#include <check.h>

Suite *config_suite(void);
Suite *jv_suite(void);
Suite *misc_suite(void);

#endif
