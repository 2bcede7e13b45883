/* test_jv.c - validation rules of API.md: types, bounds, strings, paths, every error at once */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jv.h"
#include "suites.h"
#include "testutil.h"

/*=== Helpers ===*/

static const struct jv_field int_spec[] = {{"n", JV_INT | JV_REQ, -5, 10, NULL}, {0}};
static const struct jv_field int_full_spec[] = {{"n", JV_INT | JV_REQ, INT64_MIN, INT64_MAX, NULL},
                                                {0}};
static const struct jv_field opt_int_spec[] = {{"n", JV_INT, 1, INT64_MAX, NULL}, {0}};
static const struct jv_field id_spec[] = {{"id", JV_ID | JV_REQ, 0, 0, NULL}, {0}};
static const struct jv_field str_spec[] = {{"s", JV_STR | JV_REQ, 1, 200, NULL}, {0}};
static const struct jv_field opt_str_spec[] = {{"s", JV_STR, 0, 500, NULL}, {0}};
static const struct jv_field ml_spec[] = {{"s", JV_STR | JV_ML, 0, 2000, NULL}, {0}};
static const struct jv_field sku_spec[] = {{"sku", JV_STR | JV_REQ | JV_SKU, 1, 64, NULL}, {0}};
static const struct jv_field email_spec[] = {{"email", JV_STR | JV_REQ | JV_EMAIL, 3, 254, NULL},
                                             {0}};
static const struct jv_field item_spec[] = {
    {"product_id", JV_ID | JV_REQ, 0, 0, NULL}, {"quantity", JV_INT | JV_REQ, 1, 1000, NULL}, {0}};
static const struct jv_field order_spec[] = {{"customer_id", JV_ID | JV_REQ, 0, 0, NULL},
                                             {"items", JV_ARRAY | JV_REQ, 1, 100, item_spec},
                                             {0}};
static const struct jv_field product_spec[] = {
    {"sku", JV_STR | JV_REQ | JV_SKU, 1, 64, NULL},
    {"name", JV_STR | JV_REQ, 1, 200, NULL},
    {"description", JV_STR | JV_ML, 0, 2000, NULL},
    {"category", JV_STR | JV_REQ, 1, 100, NULL},
    {"price_cents", JV_INT | JV_REQ, 0, 100000000000LL, NULL},
    {"stock", JV_INT, 0, 1000000000LL, NULL},
    {0}};

/* Last check's state: freed by the fork. */
static json_t *g_doc, *g_errors;
static struct jv_vals g_v;

/* Load text (must be a JSON object) and check it under path "data". */
static int run(const char *text, const struct jv_field *spec)
{
    json_error_t jerr;

    json_decref(g_doc);
    json_decref(g_errors);
    g_doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_msg(g_doc != NULL, "test JSON does not load: %s: %s", text, jerr.text);
    ck_assert(json_is_object(g_doc));
    g_errors = json_array();
    return jv_check(g_doc, "data", spec, &g_v, g_errors);
}

/* Checked teardown: the last document and errors of a test. */
static void free_last(void)
{
    json_decref(g_doc);
    json_decref(g_errors);
    g_doc = g_errors = NULL;
}

/* Run with a single member `name` whose JSON value is `value`. */
static int run1(const char *name, const char *value, const struct jv_field *spec)
{
    char text[8192];
    snprintf(text, sizeof(text), "{\"%s\": %s}", name, value);
    return run(text, spec);
}

/* Number of errors in g_errors that name field. */
static int errors_on(const char *field)
{
    int n = 0;
    size_t i;
    json_t *e;

    json_array_foreach(g_errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        const char *m = json_string_value(json_object_get(e, "message"));
        ck_assert_msg(f && m && m[0], "error %zu is not {field, message}", i);
        if (strcmp(f, field) == 0)
            n++;
    }
    return n;
}

static void assert_ok(int count, const char *what)
{
    char *dump = json_dumps(g_errors, JSON_COMPACT);
    ck_assert_msg(count == 0 && json_array_size(g_errors) == 0, "%s: rejected: %s", what, dump);
    free(dump);
}

/* Exactly one error, on field. */
static void assert_bad(int count, const char *field, const char *what)
{
    char *dump = json_dumps(g_errors, JSON_COMPACT);
    ck_assert_msg(count == 1 && json_array_size(g_errors) == 1 && errors_on(field) == 1,
                  "%s: want one error on %s, got %d: %s", what, field, count, dump);
    free(dump);
}

/* A JSON string literal of `count` copies of the UTF-8 unit `unit`, with pad around. */
static char *repeat_str(const char *unit, int count, const char *pad)
{
    size_t ul = strlen(unit), pl = strlen(pad);
    char *s = malloc(ul * (size_t)count + 2 * pl + 3);
    size_t o = 0;
    s[o++] = '"';
    memcpy(s + o, pad, pl), o += pl;
    for (int i = 0; i < count; i++)
        memcpy(s + o, unit, ul), o += ul;
    memcpy(s + o, pad, pl), o += pl;
    s[o++] = '"';
    s[o] = '\0';
    return s;
}

/*=== JV_INT ===*/

START_TEST(int_bounds_inclusive)
{
    assert_ok(run1("n", "-5", int_spec), "-5");
    ck_assert(g_v.has[0]);
    ck_assert_int_eq(g_v.i[0], -5);
    assert_ok(run1("n", "10", int_spec), "10");
    ck_assert_int_eq(g_v.i[0], 10);
    assert_ok(run1("n", "0", int_spec), "0");
}
END_TEST

START_TEST(int_below_min_rejected)
{
    assert_bad(run1("n", "-6", int_spec), "data.n", "-6");
    ck_assert(!g_v.has[0]);
}
END_TEST

START_TEST(int_above_max_rejected)
{
    assert_bad(run1("n", "11", int_spec), "data.n", "11");
    ck_assert(!g_v.has[0]);
}
END_TEST

START_TEST(int_full_range)
{
    assert_ok(run1("n", "-9223372036854775808", int_full_spec), "INT64_MIN");
    ck_assert_int_eq(g_v.i[0], INT64_MIN);
    assert_ok(run1("n", "9223372036854775807", int_full_spec), "INT64_MAX");
    ck_assert_int_eq(g_v.i[0], INT64_MAX);
}
END_TEST

START_TEST(int_range_ending_at_zero)
{
    /* jv.h: "JSON integer in [min, max]": max 0 is a bound like any other */
    static const struct jv_field spec[] = {{"n", JV_INT | JV_REQ, -10, 0, NULL}, {0}};
    assert_ok(run1("n", "0", spec), "0");
    assert_ok(run1("n", "-10", spec), "-10");
    assert_bad(run1("n", "1", spec), "data.n", "1 in [-10, 0]");
}
END_TEST

START_TEST(int_real_rejected)
{
    static const char *reals[] = {"1.0", "1e2", "1E2", "2.5", "-0.0", "1e0", NULL};
    for (int i = 0; reals[i]; i++)
        assert_bad(run1("n", reals[i], int_spec), "data.n", reals[i]);
}
END_TEST

START_TEST(int_other_types_rejected)
{
    static const char *vals[] = {"\"1\"", "null", "true", "false", "[]", "{}", "[1]", NULL};
    for (int i = 0; vals[i]; i++)
        assert_bad(run1("n", vals[i], int_spec), "data.n", vals[i]);
}
END_TEST

START_TEST(int_optional_absent_is_fine)
{
    assert_ok(run("{}", opt_int_spec), "{}");
    ck_assert(!g_v.has[0]);
}
END_TEST

START_TEST(int_optional_null_rejected)
{
    assert_bad(run1("n", "null", opt_int_spec), "data.n", "null for an optional integer");
}
END_TEST

START_TEST(required_absent_reported) { assert_bad(run("{}", int_spec), "data.n", "missing n"); }
END_TEST

/*=== JV_ID ===*/

START_TEST(id_range)
{
    assert_ok(run1("id", "1", id_spec), "1");
    ck_assert_int_eq(g_v.i[0], 1);
    assert_ok(run1("id", "9223372036854775807", id_spec), "2^63-1");
    ck_assert_int_eq(g_v.i[0], INT64_MAX);
}
END_TEST

START_TEST(id_zero_and_negative_rejected)
{
    assert_bad(run1("id", "0", id_spec), "data.id", "0");
    assert_bad(run1("id", "-1", id_spec), "data.id", "-1");
    assert_bad(run1("id", "-9223372036854775808", id_spec), "data.id", "INT64_MIN");
}
END_TEST

START_TEST(id_wrong_types_rejected)
{
    static const char *vals[] = {"1.0", "1e2", "\"1\"", "null", "true", "[1]", "{}", NULL};
    for (int i = 0; vals[i]; i++)
        assert_bad(run1("id", vals[i], id_spec), "data.id", vals[i]);
}
END_TEST

/*=== JV_STR ===*/

START_TEST(str_trimmed_value)
{
    assert_ok(run1("s", "\" \\t\\r\\n Dune \\n\\r\\t \"", str_spec), "padded");
    ck_assert(g_v.has[0]);
    ck_assert_uint_eq(g_v.n[0], 4);
    ck_assert(memcmp(g_v.s[0], "Dune", 4) == 0);
}
END_TEST

START_TEST(str_inner_spaces_kept)
{
    assert_ok(run1("s", "\"  a  b  \"", str_spec), "inner spaces");
    ck_assert_uint_eq(g_v.n[0], 4);
    ck_assert(memcmp(g_v.s[0], "a  b", 4) == 0);
}
END_TEST

START_TEST(str_blank_below_min)
{
    assert_bad(run1("s", "\"   \\t\\n \"", str_spec), "data.s", "only white space");
    assert_bad(run1("s", "\"\"", str_spec), "data.s", "empty");
}
END_TEST

START_TEST(str_optional_empty_allowed)
{
    assert_ok(run1("s", "\"\"", opt_str_spec), "empty optional");
    ck_assert(g_v.has[0]);
    ck_assert_uint_eq(g_v.n[0], 0);
}
END_TEST

START_TEST(str_200_ascii_accepted_201_rejected)
{
    char *s200 = repeat_str("a", 200, ""), *s201 = repeat_str("a", 201, "");
    assert_ok(run1("s", s200, str_spec), "200 ascii");
    assert_bad(run1("s", s201, str_spec), "data.s", "201 ascii");
    free(s200);
    free(s201);
}
END_TEST

START_TEST(str_200_two_byte_chars_accepted)
{
    char *s = repeat_str("\xc3\xa9", 200, ""); /* é: 400 bytes */
    assert_ok(run1("s", s, str_spec), "200 x U+00E9");
    ck_assert_uint_eq(g_v.n[0], 400);
    free(s);
}
END_TEST

START_TEST(str_201_two_byte_chars_rejected)
{
    char *s = repeat_str("\xc3\xa9", 201, "");
    assert_bad(run1("s", s, str_spec), "data.s", "201 x U+00E9");
    free(s);
}
END_TEST

START_TEST(str_200_three_and_four_byte_chars_accepted)
{
    char *s3 = repeat_str("\xe2\x82\xac", 200, "");     /* € */
    char *s4 = repeat_str("\xf0\x9f\x98\x80", 200, ""); /* U+1F600 */
    assert_ok(run1("s", s3, str_spec), "200 x U+20AC");
    assert_ok(run1("s", s4, str_spec), "200 x U+1F600");
    free(s3);
    free(s4);
}
END_TEST

START_TEST(str_201_four_byte_chars_rejected)
{
    char *s = repeat_str("\xf0\x9f\x98\x80", 201, "");
    assert_bad(run1("s", s, str_spec), "data.s", "201 x U+1F600");
    free(s);
}
END_TEST

START_TEST(str_length_counted_after_trimming)
{
    char *s = repeat_str("\xc3\xa9", 200, "  \\t\\n\\r  ");
    assert_ok(run1("s", s, str_spec), "200 chars with white space around");
    ck_assert_uint_eq(g_v.n[0], 400);
    free(s);
}
END_TEST

START_TEST(str_other_types_rejected)
{
    static const char *vals[] = {"5", "1.5", "true", "null", "[]", "{}", "[\"a\"]", NULL};
    for (int i = 0; vals[i]; i++)
        assert_bad(run1("s", vals[i], str_spec), "data.s", vals[i]);
}
END_TEST

START_TEST(str_optional_null_rejected)
{
    assert_bad(run1("s", "null", opt_str_spec), "data.s", "null for an optional string");
}
END_TEST

START_TEST(str_c0_controls_rejected)
{
    for (int c = 1; c < 0x20; c++) {
        char v[32];
        if (c == '\n' || c == '\r' || c == '\t')
            continue;
        snprintf(v, sizeof(v), "\"a\\u%04xb\"", c);
        assert_bad(run1("s", v, str_spec), "data.s", v);
    }
}
END_TEST

START_TEST(str_newline_tab_cr_inside_rejected_without_ml)
{
    assert_bad(run1("s", "\"a\\nb\"", str_spec), "data.s", "newline");
    assert_bad(run1("s", "\"a\\rb\"", str_spec), "data.s", "carriage return");
    assert_bad(run1("s", "\"a\\tb\"", str_spec), "data.s", "tab");
}
END_TEST

START_TEST(str_del_and_c1_controls_rejected)
{
    static const char *vals[] = {"\"a\\u007fb\"", "\"a\\u0080b\"", "\"a\\u0085b\"",
                                 "\"a\\u009fb\"", "\"\\u009f\"",   NULL};
    for (int i = 0; vals[i]; i++) {
        assert_bad(run1("s", vals[i], str_spec), "data.s", vals[i]);
        assert_bad(run1("s", vals[i], ml_spec), "data.s", vals[i]);
    }
}
END_TEST

START_TEST(str_near_controls_accepted)
{
    /* U+00A0, U+00FF, U+0100, U+2028 are not control characters by API.md's definition */
    static const char *vals[] = {"\"a\\u00a0b\"", "\"a\\u00ffb\"", "\"a\\u0100b\"",
                                 "\"a\\u2028b\"", "\"~\"",         NULL};
    for (int i = 0; vals[i]; i++)
        assert_ok(run1("s", vals[i], str_spec), vals[i]);
}
END_TEST

START_TEST(ml_allows_newline_cr_tab)
{
    assert_ok(run1("s", "\"line 1\\nline 2\\r\\n\\tindented\"", ml_spec), "multi-line");
    ck_assert_uint_eq(g_v.n[0], strlen("line 1\nline 2\r\n\tindented"));
}
END_TEST

START_TEST(ml_still_rejects_other_c0)
{
    static const char *vals[] = {"\"a\\u000bb\"",
                                 "\"a\\u000cb\"",
                                 "\"a\\u0001b\"",
                                 "\"a\\u001bb\"",
                                 "\"a\\u001fb\"",
                                 "\"a\\bb\"",
                                 NULL};
    for (int i = 0; vals[i]; i++)
        assert_bad(run1("s", vals[i], ml_spec), "data.s", vals[i]);
}
END_TEST

/*=== JV_SKU ===*/

START_TEST(sku_charset_accepted)
{
    assert_ok(run1("sku", "\"BK-1\"", sku_spec), "BK-1");
    assert_ok(run1("sku", "\"a.b_c-D9\"", sku_spec), "a.b_c-D9");
    assert_ok(run1("sku", "\"._-\"", sku_spec), "._-");
}
END_TEST

START_TEST(sku_trimmed_before_charset)
{
    assert_ok(run1("sku", "\"  BK-1 \"", sku_spec), "padded BK-1");
    ck_assert_uint_eq(g_v.n[0], 4);
}
END_TEST

START_TEST(sku_other_chars_rejected)
{
    static const char *vals[] = {"\"a b\"", "\"a/b\"", "\"a+b\"", "\"\\u00e9\"",
                                 "\"a:b\"", "\"a,b\"", "\"a#b\"", "\"a%b\"",
                                 "\"\"",    "\"a@b\"", NULL};
    for (int i = 0; vals[i]; i++)
        assert_bad(run1("sku", vals[i], sku_spec), "data.sku", vals[i]);
}
END_TEST

START_TEST(sku_length_bounds)
{
    char *s64 = repeat_str("A", 64, ""), *s65 = repeat_str("A", 65, "");
    assert_ok(run1("sku", s64, sku_spec), "64");
    assert_bad(run1("sku", s65, sku_spec), "data.sku", "65");
    free(s64);
    free(s65);
}
END_TEST

/*=== JV_EMAIL ===*/

START_TEST(email_valid_accepted)
{
    static const char *vals[] = {
        "\"ada@example.com\"",   "\"A.B+c@sub.example.co.uk\"",    "\"a@b.c\"",
        "\" ada@example.com \"", "\"j\\u00f6rg@b\\u00fccher.de\"", NULL};
    for (int i = 0; vals[i]; i++)
        assert_ok(run1("email", vals[i], email_spec), vals[i]);
}
END_TEST

START_TEST(email_invalid_rejected)
{
    static const char *vals[] = {
        "\"ada\"",       "\"ada@\"",        "\"@example.com\"", "\"ada@example\"",
        "\"ada@.com\"",  "\"ada@com.\"",    "\"a@b@c.com\"",    "\"a b@c.com\"",
        "\"ab@c .com\"", "\"a\\tb@c.com\"", "\"a@b.c\\u007f\"", "\"a\\u0085b@c.com\"",
        "\"\"",          "\"@\"",           "\"a@.\"",          NULL};
    for (int i = 0; vals[i]; i++)
        assert_bad(run1("email", vals[i], email_spec), "data.email", vals[i]);
}
END_TEST

START_TEST(email_length_254_accepted_255_rejected)
{
    char body[300];
    char json[320];
    /* local part of 244 + "@example.com" (12) = 256; trim to fit */
    memset(body, 'a', 242);
    strcpy(body + 242, "@example.com"); /* 254 characters */
    snprintf(json, sizeof(json), "\"%s\"", body);
    assert_ok(run1("email", json, email_spec), "254 characters");
    memset(body, 'a', 243);
    strcpy(body + 243, "@example.com"); /* 255 characters */
    snprintf(json, sizeof(json), "\"%s\"", body);
    assert_bad(run1("email", json, email_spec), "data.email", "255 characters");
}
END_TEST

START_TEST(is_email_direct)
{
#define E(s) jv_is_email(s, strlen(s))
    ck_assert(E("ada@example.com"));
    ck_assert(E("a@b.c"));
    ck_assert(E("x@a.b.c"));
    ck_assert(!E(""));
    ck_assert(!E("ada"));
    ck_assert(!E("@b.c"));
    ck_assert(!E("a@"));
    ck_assert(!E("a@bc"));
    ck_assert(!E("a@.bc"));
    ck_assert(!E("a@bc."));
    ck_assert(!E("a@@b.c"));
    ck_assert(!E("a@b@c.d"));
    ck_assert(!E("a b@c.d"));
    ck_assert(!E("a@c.d "));
    ck_assert(!E("a\x01@c.d"));
    ck_assert(!E("a\x7f@c.d"));
    ck_assert(!E("a.b.c"));
#undef E
}
END_TEST

START_TEST(is_email_uses_length_not_nul)
{
    ck_assert(jv_is_email("a@b.cXXX", 5));
    ck_assert(!jv_is_email("a@b.c", 4)); /* "a@b." */
}
END_TEST

/*=== Objects: unknown members, every error, paths ===*/

START_TEST(unknown_member_reported_with_path)
{
    assert_bad(run("{\"n\": 1, \"extra\": 2}", int_spec), "data.extra", "extra member");
    ck_assert(g_v.has[0]);
}
END_TEST

START_TEST(unknown_members_each_reported)
{
    int n = run("{\"n\": 1, \"x\": 1, \"y\": null, \"N\": 1}", int_spec);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(errors_on("data.x"), 1);
    ck_assert_int_eq(errors_on("data.y"), 1);
    ck_assert_int_eq(errors_on("data.N"), 1);
}
END_TEST

START_TEST(every_error_reported_at_once)
{
    int n = run("{\"sku\": \"a b\", \"name\": \"\", \"description\": \"x\\u0001\", "
                "\"price_cents\": 1.5, \"stock\": -1, \"colour\": \"red\"}",
                product_spec);
    char *dump = json_dumps(g_errors, JSON_COMPACT);
    ck_assert_msg(n == 7, "want 7 errors, got %d: %s", n, dump);
    free(dump);
    ck_assert_int_eq(json_array_size(g_errors), 7);
    ck_assert_int_eq(errors_on("data.sku"), 1);
    ck_assert_int_eq(errors_on("data.name"), 1);
    ck_assert_int_eq(errors_on("data.description"), 1);
    ck_assert_int_eq(errors_on("data.category"), 1);
    ck_assert_int_eq(errors_on("data.price_cents"), 1);
    ck_assert_int_eq(errors_on("data.stock"), 1);
    ck_assert_int_eq(errors_on("data.colour"), 1);
}
END_TEST

START_TEST(valid_object_fills_values)
{
    assert_ok(run("{\"sku\": \"BK-1\", \"name\": \"Dune\", \"category\": \"Books\", "
                  "\"price_cents\": 1999}",
                  product_spec),
              "product");
    ck_assert(g_v.has[0] && g_v.has[1] && g_v.has[3] && g_v.has[4]);
    ck_assert(!g_v.has[2] && !g_v.has[5]);
    ck_assert_int_eq(g_v.i[4], 1999);
    ck_assert_uint_eq(g_v.n[3], 5);
    ck_assert(memcmp(g_v.s[3], "Books", 5) == 0);
    ck_assert_ptr_eq(g_v.j[4], json_object_get(g_doc, "price_cents"));
}
END_TEST

START_TEST(errors_are_appended)
{
    json_t *obj = json_pack("{s:i}", "n", 99);
    json_t *errors = json_array();
    struct jv_vals v;
    jv_error(errors, "type", "is required");
    ck_assert_int_eq(jv_check(obj, "data", int_spec, &v, errors), 1);
    ck_assert_int_eq(json_array_size(errors), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
                     "type");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 1), "field")),
                     "data.n");
    json_decref(obj);
    json_decref(errors);
}
END_TEST

START_TEST(jv_error_shape)
{
    json_t *errors = json_array();
    jv_error(errors, "data.x", "is not allowed");
    ck_assert_int_eq(json_array_size(errors), 1);
    ck_assert_int_eq(json_object_size(json_array_get(errors, 0)), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 0), "message")),
                     "is not allowed");
    json_decref(errors);
}
END_TEST

/*=== JV_ARRAY ===*/

START_TEST(array_valid_counts_items)
{
    assert_ok(run("{\"customer_id\": 3, \"items\": [{\"product_id\": 42, \"quantity\": 2}, "
                  "{\"product_id\": 43, \"quantity\": 1000}]}",
                  order_spec),
              "two items");
    ck_assert(g_v.has[1]);
    ck_assert_int_eq(g_v.i[1], 2);
    ck_assert(json_is_array(g_v.j[1]));
}
END_TEST

START_TEST(array_element_field_path)
{
    assert_bad(run("{\"customer_id\": 3, \"items\": [{\"product_id\": 1, \"quantity\": 1}, "
                   "{\"product_id\": 2, \"quantity\": 1}, {\"product_id\": 3, \"quantity\": 0}]}",
                   order_spec),
               "data.items[2].quantity", "quantity 0 in the third item");
    ck_assert(!g_v.has[1]);
}
END_TEST

START_TEST(array_element_unknown_member_path)
{
    assert_bad(run("{\"customer_id\": 3, \"items\": [{\"product_id\": 1, \"quantity\": 1, "
                   "\"price\": 5}]}",
                   order_spec),
               "data.items[0].price", "unknown member in an item");
}
END_TEST

START_TEST(array_element_missing_member_path)
{
    assert_bad(run("{\"customer_id\": 3, \"items\": [{\"quantity\": 1}]}", order_spec),
               "data.items[0].product_id", "missing product_id");
}
END_TEST

START_TEST(array_element_not_object)
{
    assert_bad(run("{\"customer_id\": 3, \"items\": [{\"product_id\": 1, \"quantity\": 1}, 7]}",
                   order_spec),
               "data.items[1]", "number as an item");
}
END_TEST

START_TEST(array_every_element_error_reported)
{
    int n = run("{\"customer_id\": 0, \"items\": [{\"product_id\": \"1\", \"quantity\": 1}, "
                "{\"product_id\": 2, \"quantity\": 1001}, {\"product_id\": 1.0, \"quantity\": "
                "null}, {\"extra\": true, \"product_id\": 4, \"quantity\": 4}]}",
                order_spec);
    char *dump = json_dumps(g_errors, JSON_COMPACT);
    ck_assert_msg(n == 6 && json_array_size(g_errors) == 6, "want 6, got %d: %s", n, dump);
    free(dump);
    ck_assert_int_eq(errors_on("data.customer_id"), 1);
    ck_assert_int_eq(errors_on("data.items[0].product_id"), 1);
    ck_assert_int_eq(errors_on("data.items[1].quantity"), 1);
    ck_assert_int_eq(errors_on("data.items[2].product_id"), 1);
    ck_assert_int_eq(errors_on("data.items[2].quantity"), 1);
    ck_assert_int_eq(errors_on("data.items[3].extra"), 1);
}
END_TEST

START_TEST(array_count_bounds)
{
    char text[8192];
    size_t o;
    assert_bad(run("{\"customer_id\": 3, \"items\": []}", order_spec), "data.items", "empty");
    o = (size_t)snprintf(text, sizeof(text), "{\"customer_id\": 3, \"items\": [");
    for (int i = 0; i < 101; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "%s{\"product_id\": %d, \"quantity\": 1}",
                              i ? "," : "", i + 1);
    snprintf(text + o, sizeof(text) - o, "]}");
    assert_bad(run(text, order_spec), "data.items", "101 items");
}
END_TEST

START_TEST(array_100_items_accepted)
{
    char text[8192];
    size_t o = (size_t)snprintf(text, sizeof(text), "{\"customer_id\": 3, \"items\": [");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "%s{\"product_id\": %d, \"quantity\": 1}",
                              i ? "," : "", i + 1);
    snprintf(text + o, sizeof(text) - o, "]}");
    assert_ok(run(text, order_spec), "100 items");
    ck_assert_int_eq(g_v.i[1], 100);
}
END_TEST

START_TEST(array_wrong_type_rejected)
{
    static const char *vals[] = {"{}", "null", "\"x\"", "1", NULL};
    for (int i = 0; vals[i]; i++) {
        char text[128];
        snprintf(text, sizeof(text), "{\"customer_id\": 3, \"items\": %s}", vals[i]);
        assert_bad(run(text, order_spec), "data.items", vals[i]);
    }
}
END_TEST

/*=== jv_trim, jv_codepoints, jv_has_control ===*/

static void trim_eq(const char *in, const char *want)
{
    const char *s = in;
    size_t n = strlen(in);
    jv_trim(&s, &n);
    ck_assert_msg(n == strlen(want) && memcmp(s, want, n) == 0,
                  "trim('%s') gave %zu bytes at offset %td", tu_esc(in), n, s - in);
}

START_TEST(trim_ascii_white_space)
{
    trim_eq("", "");
    trim_eq("    ", "");
    trim_eq(" \t\r\n", "");
    trim_eq("abc", "abc");
    trim_eq("  abc  ", "abc");
    trim_eq("\t\r\nabc\n\r\t", "abc");
    trim_eq(" a b ", "a b");
}
END_TEST

START_TEST(trim_leaves_other_space)
{
    trim_eq("\vabc\f", "\vabc\f");
    trim_eq("\xc2\xa0"
            "abc",
            "\xc2\xa0"
            "abc");                            /* U+00A0 */
    trim_eq("\xe3\x80\x80x", "\xe3\x80\x80x"); /* U+3000 */
}
END_TEST

START_TEST(trim_uses_length)
{
    const char *s = " ab  cd";
    size_t n = 4; /* " ab " */
    jv_trim(&s, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(s, "ab", 2) == 0);
}
END_TEST

START_TEST(codepoints_counts)
{
    ck_assert_uint_eq(jv_codepoints("", 0), 0);
    ck_assert_uint_eq(jv_codepoints("abc", 3), 3);
    ck_assert_uint_eq(jv_codepoints("h\xc3\xa9llo", 6), 5);
    ck_assert_uint_eq(jv_codepoints("\xe2\x82\xac", 3), 1);
    ck_assert_uint_eq(jv_codepoints("\xf0\x9f\x98\x80", 4), 1);
    ck_assert_uint_eq(jv_codepoints("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z", 11), 5);
}
END_TEST

START_TEST(has_control_plain_text)
{
    ck_assert(!jv_has_control("", 0, false));
    ck_assert(!jv_has_control("Hello, world ~", 14, false));
    ck_assert(!jv_has_control("h\xc3\xa9", 3, false));
    ck_assert(!jv_has_control("\xc2\xa0", 2, false));     /* U+00A0 */
    ck_assert(!jv_has_control("\xc4\x80", 2, false));     /* U+0100 */
    ck_assert(!jv_has_control("\xe2\x80\xa8", 3, false)); /* U+2028 */
}
END_TEST

START_TEST(has_control_c0)
{
    for (int c = 0; c < 0x20; c++) {
        char s[3] = {'a', (char)c, 'b'};
        bool ml_ok = c == '\n' || c == '\r' || c == '\t';
        ck_assert_msg(jv_has_control(s, 3, false), "0x%02x not seen", c);
        ck_assert_msg(jv_has_control(s, 3, true) == !ml_ok, "0x%02x with ml", c);
    }
}
END_TEST

START_TEST(has_control_del_and_c1)
{
    ck_assert(jv_has_control("\x7f", 1, false));
    ck_assert(jv_has_control("\x7f", 1, true));
    for (int c = 0x80; c <= 0x9f; c++) {
        char s[4] = {'a', '\xc2', (char)c, 'b'};
        ck_assert_msg(jv_has_control(s, 4, false), "U+%04X not seen", c);
        ck_assert_msg(jv_has_control(s, 4, true), "U+%04X not seen with ml", c);
    }
}
END_TEST

START_TEST(has_control_uses_length) { ck_assert(!jv_has_control("ab\x01", 2, false)); }
END_TEST

Suite *jv_suite(void)
{
    Suite *s = suite_create("jv");
    TCase *tc = tcase_create("integers");
    tcase_add_test(tc, int_bounds_inclusive);
    tcase_add_test(tc, int_below_min_rejected);
    tcase_add_test(tc, int_above_max_rejected);
    tcase_add_test(tc, int_full_range);
    tcase_add_test(tc, int_range_ending_at_zero);
    tcase_add_test(tc, int_real_rejected);
    tcase_add_test(tc, int_other_types_rejected);
    tcase_add_test(tc, int_optional_absent_is_fine);
    tcase_add_test(tc, int_optional_null_rejected);
    tcase_add_test(tc, required_absent_reported);
    tcase_add_test(tc, id_range);
    tcase_add_test(tc, id_zero_and_negative_rejected);
    tcase_add_test(tc, id_wrong_types_rejected);
    tcase_add_checked_fixture(tc, NULL, free_last);
    suite_add_tcase(s, tc);

    tc = tcase_create("strings");
    tcase_add_test(tc, str_trimmed_value);
    tcase_add_test(tc, str_inner_spaces_kept);
    tcase_add_test(tc, str_blank_below_min);
    tcase_add_test(tc, str_optional_empty_allowed);
    tcase_add_test(tc, str_200_ascii_accepted_201_rejected);
    tcase_add_test(tc, str_200_two_byte_chars_accepted);
    tcase_add_test(tc, str_201_two_byte_chars_rejected);
    tcase_add_test(tc, str_200_three_and_four_byte_chars_accepted);
    tcase_add_test(tc, str_201_four_byte_chars_rejected);
    tcase_add_test(tc, str_length_counted_after_trimming);
    tcase_add_test(tc, str_other_types_rejected);
    tcase_add_test(tc, str_optional_null_rejected);
    tcase_add_test(tc, str_c0_controls_rejected);
    tcase_add_test(tc, str_newline_tab_cr_inside_rejected_without_ml);
    tcase_add_test(tc, str_del_and_c1_controls_rejected);
    tcase_add_test(tc, str_near_controls_accepted);
    tcase_add_test(tc, ml_allows_newline_cr_tab);
    tcase_add_test(tc, ml_still_rejects_other_c0);
    tcase_add_test(tc, sku_charset_accepted);
    tcase_add_test(tc, sku_trimmed_before_charset);
    tcase_add_test(tc, sku_other_chars_rejected);
    tcase_add_test(tc, sku_length_bounds);
    tcase_add_test(tc, email_valid_accepted);
    tcase_add_test(tc, email_invalid_rejected);
    tcase_add_test(tc, email_length_254_accepted_255_rejected);
    tcase_add_test(tc, is_email_direct);
    tcase_add_test(tc, is_email_uses_length_not_nul);
    tcase_add_checked_fixture(tc, NULL, free_last);
    suite_add_tcase(s, tc);

    tc = tcase_create("objects");
    tcase_add_test(tc, unknown_member_reported_with_path);
    tcase_add_test(tc, unknown_members_each_reported);
    tcase_add_test(tc, every_error_reported_at_once);
    tcase_add_test(tc, valid_object_fills_values);
    tcase_add_test(tc, errors_are_appended);
    tcase_add_test(tc, jv_error_shape);
    tcase_add_test(tc, array_valid_counts_items);
    tcase_add_test(tc, array_element_field_path);
    tcase_add_test(tc, array_element_unknown_member_path);
    tcase_add_test(tc, array_element_missing_member_path);
    tcase_add_test(tc, array_element_not_object);
    tcase_add_test(tc, array_every_element_error_reported);
    tcase_add_test(tc, array_count_bounds);
    tcase_add_test(tc, array_100_items_accepted);
    tcase_add_test(tc, array_wrong_type_rejected);
    tcase_add_checked_fixture(tc, NULL, free_last);
    suite_add_tcase(s, tc);

    tc = tcase_create("helpers");
    tcase_add_test(tc, trim_ascii_white_space);
    tcase_add_test(tc, trim_leaves_other_space);
    tcase_add_test(tc, trim_uses_length);
    tcase_add_test(tc, codepoints_counts);
    tcase_add_test(tc, has_control_plain_text);
    tcase_add_test(tc, has_control_c0);
    tcase_add_test(tc, has_control_del_and_c1);
    tcase_add_test(tc, has_control_uses_length);
    tcase_add_checked_fixture(tc, NULL, free_last);
    suite_add_tcase(s, tc);
    return s;
}
