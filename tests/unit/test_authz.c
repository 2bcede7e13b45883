/* test_authz.c - authz.c: principals from credentials, API.md's table by route and by command */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "authz.h"
#include "request.h"
#include "route.h"
#include "suites.h"

/* authz_resolve into *who; the status it answered (0 when it let the request in) */
static int resolve(const char *authorization, const char *access_token, struct principal *who,
                   bool *invalid_token)
{
    struct reply r;
    int status;

    reply_init(&r);
    status = authz_resolve(authorization, access_token, who, &r) == 0 ? 0 : r.status;
    if (invalid_token)
        *invalid_token = r.invalid_token && r.www_authenticate;
    reply_release(&r);
    return status;
}

static int route_status(enum access a, const struct principal *who)
{
    struct reply r;
    int status;

    reply_init(&r);
    status = authz_route(a, who, &r) == 0 ? 0 : r.status;
    if (status == 401)
        ck_assert(r.www_authenticate && !r.invalid_token);
    reply_release(&r);
    return status;
}

static int command_status(const struct principal *who, const char *type)
{
    struct reply r;
    int status;

    reply_init(&r);
    status = authz_command(who, type, &r) == 0 ? 0 : r.status;
    reply_release(&r);
    return status;
}

/* a command token in a temporary file, loaded; the path to remove afterwards in path */
static void load_token(const char *token, char *path, size_t cap)
{
    char err[256];
    int fd;

    snprintf(path, cap, "/tmp/cqrsd-authz-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, token, strlen(token)), (ssize_t)strlen(token));
    close(fd);
    ck_assert_int_eq(auth_load(path, err, sizeof(err)), 0);
}

START_TEST(open_daemon_is_admin)
{
    struct principal who;

    ck_assert(!authz_configured());
    /* whatever a client sends, an open daemon lets it do everything, in the admin scope */
    ck_assert_int_eq(resolve(NULL, NULL, &who, NULL), 0);
    ck_assert_int_eq(who.role, ROLE_ADMIN);
    ck_assert_str_eq(who.scope, "admin");
    ck_assert_int_eq(resolve("Bearer anything", NULL, &who, NULL), 0);
    ck_assert_int_eq(who.role, ROLE_ADMIN);
    ck_assert_int_eq(resolve("Bearer !!", "x", &who, NULL), 0);
    ck_assert_int_eq(who.role, ROLE_ADMIN);
}
END_TEST

START_TEST(credentials_to_principal)
{
    struct principal who;
    char path[64];
    bool invalid;

    load_token("tok-Abc.123~", path, sizeof(path));
    ck_assert(authz_configured());
    ck_assert_int_eq(resolve(NULL, NULL, &who, &invalid), 0);
    ck_assert_int_eq(who.role, ROLE_ANONYMOUS);
    ck_assert_str_eq(who.scope, "anon");
    /* another scheme carries no credentials of ours */
    ck_assert_int_eq(resolve("Basic dG9rOng=", NULL, &who, NULL), 0);
    ck_assert_int_eq(who.role, ROLE_ANONYMOUS);
    ck_assert_int_eq(resolve("Bearer tok-Abc.123~", NULL, &who, NULL), 0);
    ck_assert_int_eq(who.role, ROLE_ADMIN);
    ck_assert_str_eq(who.scope, "admin");
    /* a token that was sent and is wrong: 401 invalid_token, whatever its form */
    const char *bad[] = {"Bearer tok-Abc.123", "Bearer tok-Abc.123~x", "Bearer", "Bearer ",
                         "Bearer tok Abc", "bearer tok-Abc.123~ ", "Bearer a.b.c"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        invalid = false;
        ck_assert_msg(resolve(bad[i], NULL, &who, &invalid) == 401, "%s", bad[i]);
        ck_assert_msg(invalid, "%s", bad[i]);
    }
    /* the stream's access_token, when the header has none */
    ck_assert_int_eq(resolve(NULL, "tok-Abc.123~", &who, NULL), 0);
    ck_assert_int_eq(who.role, ROLE_ADMIN);
    ck_assert_int_eq(resolve(NULL, "", &who, &invalid), 401);
    ck_assert(invalid);
    ck_assert_int_eq(resolve(NULL, "nope", &who, &invalid), 401);
    /* the header wins over the parameter */
    ck_assert_int_eq(resolve("Bearer nope", "tok-Abc.123~", &who, NULL), 401);
    auth_release();
    unlink(path);
    ck_assert(!authz_configured());
}
END_TEST

START_TEST(route_table)
{
    struct principal anon, cust, admin;

    auth_anonymous(&anon);
    auth_customer(&cust, 7);
    auth_admin(&admin);
    for (int a = ACCESS_NONE; a <= ACCESS_PUBLIC; a++) {
        ck_assert_int_eq(route_status((enum access)a, &anon), 0);
        ck_assert_int_eq(route_status((enum access)a, &cust), 0);
        ck_assert_int_eq(route_status((enum access)a, &admin), 0);
    }
    ck_assert_int_eq(route_status(ACCESS_COMMAND, &anon), 0); /* decided by type */
    ck_assert_int_eq(route_status(ACCESS_CUSTOMER, &anon), 401);
    ck_assert_int_eq(route_status(ACCESS_CUSTOMER, &cust), 0);
    ck_assert_int_eq(route_status(ACCESS_CUSTOMER, &admin), 0);
    ck_assert_int_eq(route_status(ACCESS_ADMIN, &anon), 401);
    ck_assert_int_eq(route_status(ACCESS_ADMIN, &cust), 403);
    ck_assert_int_eq(route_status(ACCESS_ADMIN, &admin), 0);
    /* zero is admin only: a route that forgets to say is closed */
    ck_assert_int_eq(ACCESS_ADMIN, 0);
}
END_TEST

/* what the route table gives each route, as API.md's table says */
START_TEST(routes_follow_the_table)
{
    static const struct {
        const char *path;
        enum method m;
        enum access want;
    } rows[] = {
        {"/healthz", M_GET, ACCESS_NONE},
        {"/readyz", M_GET, ACCESS_NONE},
        {"/openapi.json", M_GET, ACCESS_PUBLIC},
        {"/queries/products", M_GET, ACCESS_PUBLIC},
        {"/queries/products/1", M_GET, ACCESS_PUBLIC},
        {"/queries/products/1", M_HEAD, ACCESS_PUBLIC},
        {"/queries/orders/1", M_GET, ACCESS_CUSTOMER},
        {"/queries/customers/1", M_GET, ACCESS_CUSTOMER},
        {"/queries/customers/1/orders", M_GET, ACCESS_CUSTOMER},
        {"/commands/abc", M_GET, ACCESS_CUSTOMER},
        {"/commands", M_POST, ACCESS_COMMAND},
        {"/commands", M_GET, ACCESS_ADMIN},
        {"/queries/events", M_GET, ACCESS_ADMIN},
        {"/queries/events/stream", M_GET, ACCESS_ADMIN},
        {"/metrics", M_GET, ACCESS_ADMIN},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct request rq;
        const struct route *rt;
        memset(&rq, 0, sizeof(rq));
        rq.method = rows[i].m;
        rq.path = rows[i].path;
        ck_assert_int_eq(route_match(&rq, &rt), ROUTE_OK);
        ck_assert_msg(route_access(rt, rows[i].m) == rows[i].want, "%s", rows[i].path);
        ck_assert_msg(rt->access_token == (strcmp(rows[i].path, "/queries/events/stream") == 0),
                      "%s", rows[i].path);
    }
}
END_TEST

START_TEST(command_table)
{
    static const char *const admin_only[] = {"CreateProduct", "UpdateProduct",
                                             "UpdateProductPrice", "RestockProduct",
                                             "DeleteProduct", "PayOrder", "ShipOrder",
                                             "NoSuchCommand", NULL};
    struct principal anon, cust, admin;

    auth_anonymous(&anon);
    auth_customer(&cust, 7);
    auth_admin(&admin);
    for (const char *const *t = admin_only; *t; t++) {
        ck_assert_int_eq(command_status(&anon, *t), 401);
        ck_assert_int_eq(command_status(&cust, *t), 403);
        ck_assert_int_eq(command_status(&admin, *t), 0);
    }
    ck_assert_int_eq(command_status(&anon, NULL), 401); /* "type" not a string */
    ck_assert_int_eq(command_status(&cust, NULL), 403);
    ck_assert_int_eq(command_status(&admin, NULL), 0);  /* its 422 follows */
    ck_assert_int_eq(command_status(&anon, "PlaceOrder"), 401);
    ck_assert_int_eq(command_status(&anon, "CancelOrder"), 401);
    ck_assert_int_eq(command_status(&cust, "PlaceOrder"), 0);
    ck_assert_int_eq(command_status(&cust, "CancelOrder"), 0);
    ck_assert_int_eq(command_status(&cust, "RegisterCustomer"), 0);
    ck_assert_int_eq(command_status(&cust, "placeorder"), 403); /* names are exact */
    authz_setup(false);
    ck_assert_int_eq(command_status(&anon, "RegisterCustomer"), 401);
    authz_setup(true);
    ck_assert_int_eq(command_status(&anon, "RegisterCustomer"), 0);
    ck_assert_int_eq(command_status(&anon, "CreateProduct"), 401);
    authz_setup(false);
}
END_TEST

Suite *authz_suite(void)
{
    Suite *s = suite_create("authz");
    TCase *tc = tcase_create("authz");

    tcase_add_test(tc, open_daemon_is_admin);
    tcase_add_test(tc, credentials_to_principal);
    tcase_add_test(tc, route_table);
    tcase_add_test(tc, routes_follow_the_table);
    tcase_add_test(tc, command_table);
    suite_add_tcase(s, tc);
    return s;
}
