/* test_problem.c - problem+json bodies: the error table of API.md */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "reply.h"
#include "suites.h"
#include "testutil.h"

/*=== Helpers ===*/

static const struct {
    enum problem_type t;
    int status;
    const char *slug;
} table[] = {
    {P_MALFORMED_JSON, 400, "malformed-json"},
    {P_INVALID_PARAMETER, 400, "invalid-parameter"},
    {P_UNAUTHORIZED, 401, "unauthorized"},
    {P_FORBIDDEN, 403, "forbidden"},
    {P_NOT_FOUND, 404, "not-found"},
    {P_METHOD_NOT_ALLOWED, 405, "method-not-allowed"},
    {P_VERSION_CONFLICT, 409, "version-conflict"},
    {P_INSUFFICIENT_STOCK, 409, "insufficient-stock"},
    {P_INVALID_STATE_TRANSITION, 409, "invalid-state-transition"},
    {P_DUPLICATE, 409, "duplicate"},
    {P_PAYLOAD_TOO_LARGE, 413, "payload-too-large"},
    {P_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported-media-type"},
    {P_VALIDATION_FAILED, 422, "validation-failed"},
    {P_UNKNOWN_COMMAND, 422, "unknown-command"},
    {P_IDEMPOTENCY_KEY_REUSED, 422, "idempotency-key-reused"},
    {P_DATABASE_UNAVAILABLE, 503, "database-unavailable"},
    {P_REPLICA_LAGGING, 503, "replica-lagging"},
    {P_INTERNAL, 500, "internal"},
};

#define N_TABLE (sizeof(table) / sizeof(table[0]))

static struct reply g_r;
static json_t *g_body;

static void setup(void)
{
    reply_init(&g_r);
    g_body = NULL;
}

static void teardown(void)
{
    json_decref(g_body);
    reply_release(&g_r);
}

/* Parse g_r's body; it must be a JSON object. */
static json_t *body(void)
{
    json_error_t jerr;

    json_decref(g_body);
    ck_assert_msg(g_r.body.buf != NULL, "no body");
    g_body = json_loadb(g_r.body.buf, g_r.body.len, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_msg(g_body != NULL, "body is not JSON (%s): %s", jerr.text, tu_esc(g_r.body.buf));
    ck_assert(json_is_object(g_body));
    return g_body;
}

/* The four members of RFC 9457 as API.md uses them. */
static void assert_problem_shape(enum problem_type t)
{
    json_t *b = body();
    ck_assert_str_eq(json_string_value(json_object_get(b, "type")), problem_slug(t));
    ck_assert_str_eq(json_string_value(json_object_get(b, "title")), problem_title(t));
    ck_assert(json_is_integer(json_object_get(b, "status")));
    ck_assert_int_eq(json_integer_value(json_object_get(b, "status")), problem_status(t));
    ck_assert_msg(json_is_string(json_object_get(b, "detail")), "no string detail in %s",
                  tu_esc(g_r.body.buf));
}

/*=== The table ===*/

START_TEST(every_type_has_status_and_slug_of_api_md)
{
    ck_assert_int_eq(N_TABLE, P__COUNT);
    for (size_t i = 0; i < N_TABLE; i++) {
        ck_assert_int_eq(problem_status(table[i].t), table[i].status);
        ck_assert_str_eq(problem_slug(table[i].t), table[i].slug);
    }
}
END_TEST

START_TEST(titles_of_api_md)
{
    ck_assert_str_eq(problem_title(P_VALIDATION_FAILED), "Validation failed");
    ck_assert_str_eq(problem_title(P_NOT_FOUND), "Not found");
}
END_TEST

START_TEST(titles_non_empty_and_distinct)
{
    for (int i = 0; i < P__COUNT; i++) {
        const char *t = problem_title((enum problem_type)i);
        ck_assert_msg(t && t[0], "type %d has no title", i);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(t, problem_title((enum problem_type)j)) != 0,
                          "types %d and %d share title '%s'", i, j, t);
    }
}
END_TEST

/*=== Bodies ===*/

START_TEST(every_type_body_shape)
{
    for (int i = 0; i < P__COUNT; i++) {
        enum problem_type t = (enum problem_type)i;
        ck_assert_int_eq(problem(&g_r, t, "detail %d", i), 0);
        ck_assert_int_eq(g_r.status, problem_status(t));
        ck_assert_str_eq(g_r.content_type, "application/problem+json");
        assert_problem_shape(t);
        ck_assert_int_eq(json_object_size(g_body), 4);
    }
}
END_TEST

START_TEST(detail_is_formatted)
{
    problem(&g_r, P_NOT_FOUND, "%s %d not found", "product", 42);
    ck_assert_str_eq(json_string_value(json_object_get(body(), "detail")), "product 42 not found");
}
END_TEST

START_TEST(title_fixed_whatever_the_detail)
{
    problem(&g_r, P_VALIDATION_FAILED, "1 field is invalid");
    ck_assert_str_eq(json_string_value(json_object_get(body(), "title")), "Validation failed");
    problem(&g_r, P_VALIDATION_FAILED, "7 fields are invalid");
    ck_assert_str_eq(json_string_value(json_object_get(body(), "title")), "Validation failed");
}
END_TEST

START_TEST(detail_special_characters_escaped)
{
    const char *d = "sku 'a\"b\\c' is\ttaken\nnow \xc3\xa9";
    problem(&g_r, P_DUPLICATE, "%s", d);
    ck_assert_str_eq(json_string_value(json_object_get(body(), "detail")), d);
}
END_TEST

START_TEST(detail_with_invalid_utf8_still_present)
{
    /* e.g. an unknown query parameter '%FF' quoted into the detail */
    problem(&g_r, P_INVALID_PARAMETER, "unknown query parameter '%.40s'", "a\xff");
    assert_problem_shape(P_INVALID_PARAMETER);
}
END_TEST

START_TEST(detail_precision_cutting_a_character_still_present)
{
    /* cmd.c quotes an unknown type with '%.64s': 63 ASCII + U+00E9 is cut mid-character */
    char type[80];
    memset(type, 'a', 63);
    strcpy(type + 63, "\xc3\xa9");
    problem(&g_r, P_UNKNOWN_COMMAND, "'%.64s' is not a command", type);
    assert_problem_shape(P_UNKNOWN_COMMAND);
}
END_TEST

START_TEST(long_multibyte_detail_still_present)
{
    char d[1201];
    for (int i = 0; i < 600; i++)
        d[2 * i] = '\xc3', d[2 * i + 1] = '\xa9';
    d[1200] = '\0';
    /* the 512-byte detail buffer ends inside a character */
    problem(&g_r, P_DUPLICATE, "%s", d);
    assert_problem_shape(P_DUPLICATE);
}
END_TEST

START_TEST(long_ascii_detail_valid_json)
{
    char d[2001];
    memset(d, 'x', 2000);
    d[2000] = '\0';
    problem(&g_r, P_DUPLICATE, "%s", d);
    assert_problem_shape(P_DUPLICATE);
}
END_TEST

START_TEST(ext_adds_errors)
{
    json_t *extra = json_object(), *errors = json_array(), *got;
    json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "data.items[0].quantity",
                                            "message", "must be an integer from 1 to 1000"));
    json_object_set_new(extra, "errors", errors);
    ck_assert_int_eq(problem_ext(&g_r, P_VALIDATION_FAILED, extra, "%d field is invalid", 1), 0);
    ck_assert_int_eq(g_r.status, 422);
    assert_problem_shape(P_VALIDATION_FAILED);
    got = json_object_get(g_body, "errors");
    ck_assert(json_is_array(got));
    ck_assert_int_eq(json_array_size(got), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(got, 0), "field")),
                     "data.items[0].quantity");
    ck_assert_str_eq(json_string_value(json_object_get(g_body, "detail")), "1 field is invalid");
}
END_TEST

START_TEST(ext_adds_current_version)
{
    problem_ext(&g_r, P_VERSION_CONFLICT, json_pack("{s:i}", "current_version", 3),
                "current version is %d", 3);
    ck_assert_int_eq(g_r.status, 409);
    assert_problem_shape(P_VERSION_CONFLICT);
    ck_assert(json_is_integer(json_object_get(g_body, "current_version")));
    ck_assert_int_eq(json_integer_value(json_object_get(g_body, "current_version")), 3);
    ck_assert_int_eq(json_object_size(g_body), 5);
}
END_TEST

START_TEST(ext_null_extra)
{
    problem_ext(&g_r, P_NOT_FOUND, NULL, "x");
    assert_problem_shape(P_NOT_FOUND);
    ck_assert_int_eq(json_object_size(g_body), 4);
}
END_TEST

START_TEST(no_errors_member_without_extra)
{
    problem(&g_r, P_VALIDATION_FAILED, "x");
    ck_assert_ptr_null(json_object_get(body(), "errors"));
}
END_TEST

/*=== Header flags ===*/

START_TEST(retry_after_on_database_unavailable)
{
    problem(&g_r, P_DATABASE_UNAVAILABLE, "the database does not answer");
    ck_assert_int_eq(g_r.status, 503);
    ck_assert(g_r.retry_after);
    ck_assert(!g_r.www_authenticate);
}
END_TEST

START_TEST(www_authenticate_on_unauthorized)
{
    problem(&g_r, P_UNAUTHORIZED, "missing bearer token");
    ck_assert_int_eq(g_r.status, 401);
    ck_assert(g_r.www_authenticate);
    ck_assert(!g_r.retry_after);
}
END_TEST

START_TEST(no_header_flags_on_other_types)
{
    for (int i = 0; i < P__COUNT; i++) {
        enum problem_type t = (enum problem_type)i;
        if (t == P_DATABASE_UNAVAILABLE || t == P_REPLICA_LAGGING || t == P_UNAUTHORIZED)
            continue;
        problem(&g_r, t, "x");
        ck_assert_msg(!g_r.retry_after, "%s sets Retry-After", problem_slug(t));
        ck_assert_msg(!g_r.www_authenticate, "%s sets WWW-Authenticate", problem_slug(t));
    }
}
END_TEST

START_TEST(second_problem_replaces_first)
{
    problem(&g_r, P_DATABASE_UNAVAILABLE, "first");
    problem(&g_r, P_NOT_FOUND, "second");
    ck_assert_int_eq(g_r.status, 404);
    ck_assert(!g_r.retry_after);
    assert_problem_shape(P_NOT_FOUND);
    ck_assert_str_eq(json_string_value(json_object_get(g_body, "detail")), "second");
}
END_TEST

START_TEST(problem_replaces_json_body)
{
    reply_json(&g_r, 200, "{\"status\":\"ok\"}", 15);
    problem(&g_r, P_INTERNAL, "oops");
    ck_assert_int_eq(g_r.status, 500);
    ck_assert_str_eq(g_r.content_type, "application/problem+json");
    assert_problem_shape(P_INTERNAL);
}
END_TEST

Suite *problem_suite(void)
{
    Suite *s = suite_create("problem");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, every_type_has_status_and_slug_of_api_md);
    tcase_add_test(tc, titles_of_api_md);
    tcase_add_test(tc, titles_non_empty_and_distinct);
    suite_add_tcase(s, tc);

    tc = tcase_create("bodies");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_type_body_shape);
    tcase_add_test(tc, detail_is_formatted);
    tcase_add_test(tc, title_fixed_whatever_the_detail);
    tcase_add_test(tc, detail_special_characters_escaped);
    tcase_add_test(tc, detail_with_invalid_utf8_still_present);
    tcase_add_test(tc, detail_precision_cutting_a_character_still_present);
    tcase_add_test(tc, long_multibyte_detail_still_present);
    tcase_add_test(tc, long_ascii_detail_valid_json);
    tcase_add_test(tc, ext_adds_errors);
    tcase_add_test(tc, ext_adds_current_version);
    tcase_add_test(tc, ext_null_extra);
    tcase_add_test(tc, no_errors_member_without_extra);
    suite_add_tcase(s, tc);

    tc = tcase_create("headers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, retry_after_on_database_unavailable);
    tcase_add_test(tc, www_authenticate_on_unauthorized);
    tcase_add_test(tc, no_header_flags_on_other_types);
    tcase_add_test(tc, second_problem_replaces_first);
    tcase_add_test(tc, problem_replaces_json_body);
    suite_add_tcase(s, tc);
    return s;
}
