/* test_log.c - log lines on stderr: one line each; valid JSON with --log-format json */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "suites.h"
#include "testutil.h"

/*=== Helpers ===*/

static char g_out[8192];
static json_t *g_line;

/* Capture what the next log call writes to stderr (the fork keeps it local). */
static int g_saved = -1;
static FILE *g_tmp;

static void capture_start(void)
{
    g_tmp = tmpfile();
    ck_assert_ptr_nonnull(g_tmp);
    fflush(stderr);
    g_saved = dup(STDERR_FILENO);
    dup2(fileno(g_tmp), STDERR_FILENO);
}

static const char *capture_end(void)
{
    size_t n;
    dup2(g_saved, STDERR_FILENO);
    close(g_saved);
    rewind(g_tmp);
    n = fread(g_out, 1, sizeof(g_out) - 1, g_tmp);
    g_out[n] = '\0';
    fclose(g_tmp);
    return g_out;
}

static void teardown(void)
{
    json_decref(g_line);
    g_line = NULL;
}

/* The captured text is exactly one line, ended by '\n'. */
static void assert_one_line(void)
{
    size_t n = strlen(g_out);
    ck_assert_msg(n > 1 && g_out[n - 1] == '\n', "not a line: '%s'", tu_esc(g_out));
    ck_assert_msg(memchr(g_out, '\n', n - 1) == NULL, "more than one line: '%s'", tu_esc(g_out));
}

/* The captured line parses as a JSON object. */
static json_t *json_line(void)
{
    json_error_t jerr;
    assert_one_line();
    g_line = json_loads(g_out, 0, &jerr);
    ck_assert_msg(g_line != NULL, "not JSON (%s): %s", jerr.text, tu_esc(g_out));
    ck_assert(json_is_object(g_line));
    return g_line;
}

static struct log_request sample(void)
{
    struct log_request r = {"req-1", "GET", "/queries/products/{id}", 200, 1.5, NULL, NULL};
    return r;
}

static void assert_rfc3339_ms(const char *t)
{
    int y, mo, d, h, mi, s, ms;
    char z;
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(strlen(t), 24);
    ck_assert_int_eq(sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z),
                     8);
    ck_assert_int_eq(z, 'Z');
}

/*=== JSON ===*/

START_TEST(json_request_line)
{
    struct log_request r = sample();
    json_t *j;
    log_init(LOG_JSON);
    capture_start();
    log_request(&r);
    capture_end();
    j = json_line();
    ck_assert_str_eq(json_string_value(json_object_get(j, "request_id")), "req-1");
    ck_assert_str_eq(json_string_value(json_object_get(j, "method")), "GET");
    ck_assert_str_eq(json_string_value(json_object_get(j, "route")), "/queries/products/{id}");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 200);
    ck_assert(json_is_number(json_object_get(j, "duration_ms")));
    assert_rfc3339_ms(json_string_value(json_object_get(j, "time")));
    ck_assert_ptr_null(json_object_get(j, "command_type"));
}
END_TEST

START_TEST(json_request_line_with_command)
{
    struct log_request r = sample();
    json_t *j;
    r.method = "POST";
    r.route = "/commands";
    r.status = 201;
    r.command_type = "PlaceOrder";
    r.command_id = "key-\"1\"\\";
    log_init(LOG_JSON);
    capture_start();
    log_request(&r);
    capture_end();
    j = json_line();
    ck_assert_str_eq(json_string_value(json_object_get(j, "command_type")), "PlaceOrder");
    ck_assert_str_eq(json_string_value(json_object_get(j, "command_id")), "key-\"1\"\\");
}
END_TEST

START_TEST(json_request_line_with_odd_method)
{
    /* libmicrohttpd passes a request line's method as sent: P"U\T reaches the log */
    struct log_request r = sample();
    json_t *j;
    r.method = "P\"U\\T";
    r.status = 405;
    log_init(LOG_JSON);
    capture_start();
    log_request(&r);
    capture_end();
    j = json_line();
    ck_assert_str_eq(json_string_value(json_object_get(j, "method")), "P\"U\\T");
}
END_TEST

START_TEST(json_msg_escaped)
{
    json_t *j;
    log_init(LOG_JSON);
    capture_start();
    log_msg(LOG_LVL_WARN, "a \"quoted\" \\ line\nwith\ttab");
    capture_end();
    j = json_line();
    ck_assert_str_eq(json_string_value(json_object_get(j, "msg")),
                     "a \"quoted\" \\ line\nwith\ttab");
    ck_assert_str_eq(json_string_value(json_object_get(j, "level")), "warn");
    assert_rfc3339_ms(json_string_value(json_object_get(j, "time")));
}
END_TEST

START_TEST(json_msg_levels)
{
    static const char *names[] = {"info", "warn", "error"};
    log_init(LOG_JSON);
    for (int i = 0; i < 3; i++) {
        capture_start();
        log_msg((enum log_level)i, "x");
        capture_end();
        ck_assert_str_eq(json_string_value(json_object_get(json_line(), "level")), names[i]);
        teardown();
    }
}
END_TEST

START_TEST(json_msg_long_multibyte_valid)
{
    char m[1201];
    for (int i = 0; i < 600; i++)
        m[2 * i] = '\xc3', m[2 * i + 1] = '\xa9';
    m[1200] = '\0';
    log_init(LOG_JSON);
    capture_start();
    log_msg(LOG_LVL_ERROR, "%s", m);
    capture_end();
    json_line();
}
END_TEST

/*=== Text ===*/

START_TEST(text_request_line)
{
    struct log_request r = sample();
    log_init(LOG_TEXT);
    capture_start();
    log_request(&r);
    capture_end();
    assert_one_line();
    ck_assert_ptr_nonnull(strstr(g_out, "GET"));
    ck_assert_ptr_nonnull(strstr(g_out, "/queries/products/{id}"));
    ck_assert_ptr_nonnull(strstr(g_out, "200"));
    ck_assert_ptr_nonnull(strstr(g_out, "req-1"));
}
END_TEST

START_TEST(text_msg_line)
{
    log_init(LOG_TEXT);
    capture_start();
    log_msg(LOG_LVL_INFO, "listening on %s", "127.0.0.1:8080");
    capture_end();
    assert_one_line();
    ck_assert_ptr_nonnull(strstr(g_out, "listening on 127.0.0.1:8080"));
}
END_TEST

Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("json");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, json_request_line);
    tcase_add_test(tc, json_request_line_with_command);
    tcase_add_test(tc, json_request_line_with_odd_method);
    tcase_add_test(tc, json_msg_escaped);
    tcase_add_test(tc, json_msg_levels);
    tcase_add_test(tc, json_msg_long_multibyte_valid);
    suite_add_tcase(s, tc);

    tc = tcase_create("text");
    tcase_add_test(tc, text_request_line);
    tcase_add_test(tc, text_msg_line);
    suite_add_tcase(s, tc);
    return s;
}
