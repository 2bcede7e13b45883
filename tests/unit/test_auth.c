/* test_auth.c - auth.c: the Bearer syntax, principals, the command token's file and compare */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "suites.h"
#include "testutil.h"

/* Does this Authorization header carry the command token? (authz_resolve's first test) */
static bool carries_token(const char *authorization)
{
    size_t n = 0;
    const char *t = auth_bearer(authorization, &n);

    return t && auth_token_matches(t, n);
}

/* auth_bearer's token as a string, or NULL */
static const char *bearer(const char *h)
{
    static char out[256];
    size_t n = 0;
    const char *t = auth_bearer(h, &n);

    if (!t)
        return NULL;
    ck_assert_uint_lt(n, sizeof(out));
    memcpy(out, t, n);
    out[n] = '\0';
    return out;
}

START_TEST(bearer_accepts)
{
    static const struct {
        const char *header, *token;
    } ok[] = {
        {"Bearer abc", "abc"},
        {"bearer abc", "abc"},
        {"BEARER abc", "abc"},
        {"bEaReR abc", "abc"},
        {"Bearer    abc", "abc"},
        {"Bearer eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln", "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln"},
        {"Bearer A-Z_a.z~0+9/", "A-Z_a.z~0+9/"},
        {"Bearer abc=", "abc="},
        {"Bearer abc==", "abc=="},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *t = bearer(ok[i].header);
        ck_assert_msg(t && strcmp(t, ok[i].token) == 0, "'%s' gave '%s'", tu_esc(ok[i].header),
                      tu_esc(t));
    }
}
END_TEST

START_TEST(bearer_refuses)
{
    static const char *const bad[] = {
        "",
        "Bearer",
        "Bearer ",
        "Bearer   ",
        "Bearerabc",
        "Bearer\tabc",
        "Bearer abc ",
        "Bearer abc def",
        "Bearer  abc\t",
        "Bearer abc\r\n",
        "Bearer =abc",
        "Bearer ==",
        "Bearer ab=c",
        "Bearer abc=.",
        "Bearer a,b",
        "Bearer a\"b",
        "Bearer ab\xc3\xa9",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        " Bearer abc",
        "Bearer: abc",
        "Bear abc",
    };
    size_t n = 99;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!auth_bearer(bad[i], &n), "'%s' accepted", tu_esc(bad[i]));
    ck_assert(!auth_bearer(NULL, &n));
    ck_assert_uint_eq(n, 99); /* untouched on failure */
}
END_TEST

START_TEST(principals_and_scopes)
{
    struct principal p;

    auth_anonymous(&p);
    ck_assert_int_eq(p.role, ROLE_ANONYMOUS);
    ck_assert_str_eq(p.scope, "anon");
    auth_admin(&p);
    ck_assert_int_eq(p.role, ROLE_ADMIN);
    ck_assert_int_eq(p.customer_id, 0);
    ck_assert_str_eq(p.scope, "admin");
    auth_customer(&p, 42);
    ck_assert_int_eq(p.role, ROLE_CUSTOMER);
    ck_assert_int_eq(p.customer_id, 42);
    ck_assert_str_eq(p.scope, "c42");
    auth_customer(&p, INT64_MAX);
    ck_assert_str_eq(p.scope, "c9223372036854775807");
    ck_assert(!strchr(p.scope, ':'));
}
END_TEST

/* A token file in a fresh directory, mode 0600 unless told. */
static void write_file(char *dir, const char *name, const char *text, mode_t mode, char *path,
                       size_t cap)
{
    FILE *f;

    snprintf(path, cap, "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(token_file_and_compare)
{
    char dir[] = "/tmp/cqrsd-auth-XXXXXX", path[256], err[256];

    ck_assert(mkdtemp(dir));
    /* not token68: it could never come in a Bearer header */
    write_file(dir, "spaced", "abc def\n", 0600, path, sizeof(path));
    ck_assert_int_eq(auth_load(path, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "Bearer"), "%s", err);
    ck_assert(!auth_enabled());
    write_file(dir, "open", "tok-123\n", 0644, path, sizeof(path));
    ck_assert_int_eq(auth_load(path, err, sizeof(err)), -1);
    ck_assert(!auth_enabled());

    ck_assert(!auth_token_matches("tok-123", 7)); /* none configured */
    write_file(dir, "good", "tok-123=\n", 0600, path, sizeof(path));
    ck_assert_int_eq(auth_load(path, err, sizeof(err)), 0);
    ck_assert(auth_enabled());
    ck_assert(auth_token_matches("tok-123=", 8));
    ck_assert(!auth_token_matches("tok-123", 7));
    ck_assert(!auth_token_matches("tok-123==", 9));
    ck_assert(!auth_token_matches("tok-124=", 8));
    ck_assert(carries_token("Bearer tok-123="));
    ck_assert(carries_token("bearer   tok-123="));
    ck_assert(!carries_token("Bearer tok-123= "));
    ck_assert(!carries_token("Bearer tok-123"));
    ck_assert(!carries_token(NULL));
    ck_assert(!carries_token("Basic tok-123="));
    auth_release();
    ck_assert(!auth_enabled());
    unlink(path);
    snprintf(path, sizeof(path), "%s/spaced", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/open", dir);
    unlink(path);
    rmdir(dir);
}
END_TEST

Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, bearer_accepts);
    tcase_add_test(tc, bearer_refuses);
    tcase_add_test(tc, principals_and_scopes);
    tcase_add_test(tc, token_file_and_compare);
    suite_add_tcase(s, tc);
    return s;
}
