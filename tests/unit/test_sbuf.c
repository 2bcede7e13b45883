/* test_sbuf.c - the growable buffer and its JSON string writer */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "suites.h"
#include "testutil.h"

/*=== Helpers ===*/

static struct sbuf g_b;

static void setup(void) { g_b = (struct sbuf)SBUF_INIT; }

static void teardown(void) { sbuf_release(&g_b); }

/* <s, n> as a JSON string literal through sbuf_add_json_str. */
static const char *json_str(const char *s, size_t n)
{
    sbuf_reset(&g_b);
    ck_assert_int_eq(sbuf_add_json_str(&g_b, s, n), 0);
    ck_assert(!g_b.oom);
    ck_assert_uint_eq(strlen(g_b.buf), g_b.len);
    return g_b.buf;
}

/* The literal decodes (as JSON) back to <s, n>. */
static void assert_roundtrip(const char *s, size_t n)
{
    char doc[4096];
    json_error_t jerr;
    json_t *j;
    const char *lit = json_str(s, n);
    snprintf(doc, sizeof(doc), "[%s]", lit);
    j = json_loads(doc, JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(j != NULL, "not JSON: %s (%s)", tu_esc(lit), jerr.text);
    ck_assert_uint_eq(json_string_length(json_array_get(j, 0)), n);
    ck_assert(memcmp(json_string_value(json_array_get(j, 0)), s, n) == 0);
    json_decref(j);
}

/*=== Appending ===*/

START_TEST(empty_buffer)
{
    ck_assert_ptr_null(g_b.buf);
    ck_assert_uint_eq(g_b.len, 0);
    ck_assert(!g_b.oom);
}
END_TEST

START_TEST(add_and_adds)
{
    ck_assert_int_eq(sbuf_add(&g_b, "abcdef", 3), 0);
    ck_assert_int_eq(sbuf_adds(&g_b, "xyz"), 0);
    ck_assert_int_eq(sbuf_addch(&g_b, '!'), 0);
    ck_assert_str_eq(g_b.buf, "abcxyz!");
    ck_assert_uint_eq(g_b.len, 7);
}
END_TEST

START_TEST(add_nothing_terminates)
{
    ck_assert_int_eq(sbuf_add(&g_b, "", 0), 0);
    ck_assert_uint_eq(g_b.len, 0);
    if (g_b.buf)
        ck_assert_str_eq(g_b.buf, "");
}
END_TEST

START_TEST(add_grows_past_many_capacities)
{
    char chunk[100];
    memset(chunk, 'q', sizeof(chunk));
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(sbuf_add(&g_b, chunk, sizeof(chunk)), 0);
    ck_assert_uint_eq(g_b.len, 100000);
    ck_assert_uint_eq(strlen(g_b.buf), 100000);
    ck_assert_uint_ge(g_b.cap, 100001);
}
END_TEST

START_TEST(printf_small)
{
    ck_assert_int_eq(sbuf_printf(&g_b, "%s=%d", "a", 42), 0);
    ck_assert_str_eq(g_b.buf, "a=42");
    ck_assert_uint_eq(g_b.len, 4);
}
END_TEST

START_TEST(printf_grows_beyond_256)
{
    char big[1001];
    memset(big, 'z', 1000);
    big[1000] = '\0';
    ck_assert_int_eq(sbuf_printf(&g_b, "<%s>", big), 0);
    ck_assert_uint_eq(g_b.len, 1002);
    ck_assert_uint_eq(strlen(g_b.buf), 1002);
    ck_assert_int_eq(g_b.buf[0], '<');
    ck_assert_int_eq(g_b.buf[1001], '>');
}
END_TEST

START_TEST(printf_exactly_at_capacity_edges)
{
    /* 255 bytes + NUL fill the first 256; one more byte must grow */
    char s[300];
    for (size_t n = 250; n < 262; n++) {
        sbuf_release(&g_b);
        memset(s, 'k', n);
        s[n] = '\0';
        ck_assert_int_eq(sbuf_printf(&g_b, "%s", s), 0);
        ck_assert_uint_eq(g_b.len, n);
        ck_assert_str_eq(g_b.buf, s);
        ck_assert_int_eq(sbuf_printf(&g_b, "%c", '+'), 0);
        ck_assert_uint_eq(g_b.len, n + 1);
        ck_assert_int_eq(g_b.buf[n], '+');
        ck_assert_int_eq(g_b.buf[n + 1], '\0');
    }
}
END_TEST

START_TEST(printf_appends_repeatedly)
{
    for (int i = 0; i < 500; i++)
        ck_assert_int_eq(sbuf_printf(&g_b, "%03d,", i), 0);
    ck_assert_uint_eq(g_b.len, 2000);
    ck_assert(strncmp(g_b.buf, "000,001,002,", 12) == 0);
    ck_assert_str_eq(g_b.buf + 1996, "499,");
}
END_TEST

START_TEST(add_i64_extremes)
{
    sbuf_add_i64(&g_b, INT64_MIN);
    sbuf_addch(&g_b, ' ');
    sbuf_add_i64(&g_b, INT64_MAX);
    sbuf_addch(&g_b, ' ');
    sbuf_add_i64(&g_b, 0);
    ck_assert_str_eq(g_b.buf, "-9223372036854775808 9223372036854775807 0");
}
END_TEST

START_TEST(reset_keeps_memory)
{
    char *before;
    sbuf_adds(&g_b, "hello");
    before = g_b.buf;
    sbuf_reset(&g_b);
    ck_assert_uint_eq(g_b.len, 0);
    ck_assert_ptr_eq(g_b.buf, before);
    ck_assert_str_eq(g_b.buf, "");
    sbuf_adds(&g_b, "x");
    ck_assert_str_eq(g_b.buf, "x");
}
END_TEST

START_TEST(detach_hands_over)
{
    size_t n = 0;
    char *p;
    sbuf_adds(&g_b, "payload");
    p = sbuf_detach(&g_b, &n);
    ck_assert_str_eq(p, "payload");
    ck_assert_uint_eq(n, 7);
    ck_assert_ptr_null(g_b.buf);
    ck_assert_uint_eq(g_b.len, 0);
    free(p);
    sbuf_adds(&g_b, "again");
    ck_assert_str_eq(g_b.buf, "again");
}
END_TEST

/*=== sbuf_add_json_str ===*/

START_TEST(json_plain)
{
    ck_assert_str_eq(json_str("abc", 3), "\"abc\"");
    ck_assert_str_eq(json_str("", 0), "\"\"");
}
END_TEST

START_TEST(json_quote_and_backslash)
{
    ck_assert_str_eq(json_str("a\"b\\c", 5), "\"a\\\"b\\\\c\"");
}
END_TEST

START_TEST(json_newline_tab_cr)
{
    ck_assert_str_eq(json_str("a\nb\tc\rd", 7), "\"a\\nb\\tc\\rd\"");
}
END_TEST

START_TEST(json_other_controls_as_u00xx)
{
    ck_assert_str_eq(json_str("\x01", 1), "\"\\u0001\"");
    ck_assert_str_eq(json_str("\x1f", 1), "\"\\u001f\"");
    ck_assert_str_eq(json_str("\x08\x0c", 2), "\"\\u0008\\u000c\"");
    ck_assert_str_eq(json_str("a\x0b"
                              "b",
                              3),
                     "\"a\\u000bb\"");
}
END_TEST

START_TEST(json_nul_escaped) { ck_assert_str_eq(json_str("a\0b", 3), "\"a\\u0000b\""); }
END_TEST

START_TEST(json_multibyte_left_as_is)
{
    const char *s = "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x85";
    char want[64];
    snprintf(want, sizeof(want), "\"%s\"", s);
    ck_assert_str_eq(json_str(s, strlen(s)), want);
}
END_TEST

START_TEST(json_slash_and_printables_unescaped_or_valid)
{
    assert_roundtrip("a/b <script> ' ~", 16);
}
END_TEST

START_TEST(json_every_byte_below_0x80_roundtrips)
{
    char all[128];
    for (int i = 0; i < 128; i++)
        all[i] = (char)i;
    assert_roundtrip(all, sizeof(all));
}
END_TEST

START_TEST(json_appends_to_existing)
{
    sbuf_adds(&g_b, "{\"k\":");
    sbuf_add_json_str(&g_b, "v\"", 2);
    sbuf_addch(&g_b, '}');
    ck_assert_str_eq(g_b.buf, "{\"k\":\"v\\\"\"}");
}
END_TEST

START_TEST(json_long_string_grows)
{
    char s[3000];
    memset(s, '"', sizeof(s)); /* every byte doubles */
    sbuf_add_json_str(&g_b, s, sizeof(s));
    ck_assert_uint_eq(g_b.len, 2 * sizeof(s) + 2);
    ck_assert_uint_eq(strlen(g_b.buf), g_b.len);
}
END_TEST

Suite *sbuf_suite(void)
{
    Suite *s = suite_create("sbuf");
    TCase *tc = tcase_create("append");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, empty_buffer);
    tcase_add_test(tc, add_and_adds);
    tcase_add_test(tc, add_nothing_terminates);
    tcase_add_test(tc, add_grows_past_many_capacities);
    tcase_add_test(tc, printf_small);
    tcase_add_test(tc, printf_grows_beyond_256);
    tcase_add_test(tc, printf_exactly_at_capacity_edges);
    tcase_add_test(tc, printf_appends_repeatedly);
    tcase_add_test(tc, add_i64_extremes);
    tcase_add_test(tc, reset_keeps_memory);
    tcase_add_test(tc, detach_hands_over);
    suite_add_tcase(s, tc);

    tc = tcase_create("json");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, json_plain);
    tcase_add_test(tc, json_quote_and_backslash);
    tcase_add_test(tc, json_newline_tab_cr);
    tcase_add_test(tc, json_other_controls_as_u00xx);
    tcase_add_test(tc, json_nul_escaped);
    tcase_add_test(tc, json_multibyte_left_as_is);
    tcase_add_test(tc, json_slash_and_printables_unescaped_or_valid);
    tcase_add_test(tc, json_every_byte_below_0x80_roundtrips);
    tcase_add_test(tc, json_appends_to_existing);
    tcase_add_test(tc, json_long_string_grows);
    suite_add_tcase(s, tc);
    return s;
}
