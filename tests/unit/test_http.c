/* test_http.c - the pure helpers of http.c: Content-Type, X-Request-Id, --listen */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <string.h>

#include "http.h"
#include "suites.h"
#include "testutil.h"

/*=== http_json_content_type ===*/

START_TEST(json_content_type_plain) { ck_assert(http_json_content_type("application/json")); }
END_TEST

START_TEST(json_content_type_case_insensitive)
{
    ck_assert(http_json_content_type("Application/JSON"));
    ck_assert(http_json_content_type("APPLICATION/JSON"));
}
END_TEST

START_TEST(json_content_type_with_charset)
{
    static const char *ok[] = {
        "application/json; charset=utf-8",     "application/json;charset=utf-8",
        "application/json; charset=UTF-8",     "application/json; Charset=Utf-8",
        "APPLICATION/JSON; CHARSET=UTF-8",     "application/json ; charset=utf-8",
        "application/json;  charset=utf-8 ",   "application/json; charset=\"utf-8\"",
        "application/json; charset=\"UTF-8\"", NULL};
    for (int i = 0; ok[i]; i++)
        ck_assert_msg(http_json_content_type(ok[i]), "'%s' rejected", tu_esc(ok[i]));
}
END_TEST

START_TEST(json_content_type_rejects_others)
{
    static const char *bad[] = {"",
                                "text/plain",
                                "text/json",
                                "application/jsonx",
                                "application/json-patch+json",
                                "application/problem+json",
                                "application/x-www-form-urlencoded",
                                "multipart/form-data; boundary=x",
                                "application/jso",
                                " application/xml",
                                "application/json; charset=latin1",
                                "application/json; charset=iso-8859-1",
                                "application/json; charset=utf-16",
                                "application/json; charset=utf-8x",
                                "application/json; charset=utf8",
                                "application/json; charset=",
                                "application/json;",
                                "application/json; boundary=x",
                                "application/json x",
                                "application/json, text/plain",
                                NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(!http_json_content_type(bad[i]), "'%s' accepted", tu_esc(bad[i]));
}
END_TEST

START_TEST(json_content_type_rejects_unbalanced_quotes)
{
    ck_assert(!http_json_content_type("application/json; charset=\"utf-8"));
    ck_assert(!http_json_content_type("application/json; charset=utf-8\""));
}
END_TEST

START_TEST(json_content_type_absent) { ck_assert(!http_json_content_type(NULL)); }
END_TEST

/*=== http_request_id_ok ===*/

START_TEST(request_id_visible_ascii)
{
    ck_assert(http_request_id_ok("a"));
    ck_assert(http_request_id_ok("req-123_abc.DEF"));
    ck_assert(http_request_id_ok("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"));
}
END_TEST

START_TEST(request_id_64_accepted_65_rejected)
{
    char s[66];
    memset(s, 'r', 64);
    s[64] = '\0';
    ck_assert(http_request_id_ok(s));
    s[64] = 'r';
    s[65] = '\0';
    ck_assert(!http_request_id_ok(s));
}
END_TEST

START_TEST(request_id_rejects_empty_space_control_non_ascii)
{
    static const char *bad[] = {"",
                                " ",
                                "a b",
                                " ab",
                                "ab ",
                                "a\tb",
                                "a\x01",
                                "a\x7f",
                                "caf\xc3\xa9",
                                "\x80",
                                "a\r\nX-Evil: 1",
                                NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(!http_request_id_ok(bad[i]), "'%s' accepted", tu_esc(bad[i]));
    ck_assert(!http_request_id_ok(NULL));
}
END_TEST

/*=== http_listen_parse ===*/

START_TEST(listen_ipv4)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    ck_assert_int_eq(http_listen_parse("127.0.0.1:8080", &ss, &len), 0);
    ck_assert_int_eq(a->sin_family, AF_INET);
    ck_assert_uint_eq(ntohs(a->sin_port), 8080);
    ck_assert_uint_eq(ntohl(a->sin_addr.s_addr), INADDR_LOOPBACK);
    ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
}
END_TEST

START_TEST(listen_any_address)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    ck_assert_int_eq(http_listen_parse(":9000", &ss, &len), 0);
    ck_assert_int_eq(a->sin_family, AF_INET);
    ck_assert_uint_eq(ntohs(a->sin_port), 9000);
    ck_assert_uint_eq(ntohl(a->sin_addr.s_addr), INADDR_ANY);
    ck_assert_int_eq(http_listen_parse("0.0.0.0:1", &ss, &len), 0);
    ck_assert_uint_eq(ntohl(a->sin_addr.s_addr), INADDR_ANY);
    ck_assert_uint_eq(ntohs(a->sin_port), 1);
}
END_TEST

START_TEST(listen_ipv6)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    ck_assert_int_eq(http_listen_parse("[::1]:3306", &ss, &len), 0);
    ck_assert_int_eq(a->sin6_family, AF_INET6);
    ck_assert_uint_eq(ntohs(a->sin6_port), 3306);
    ck_assert(memcmp(&a->sin6_addr, &in6addr_loopback, sizeof(in6addr_loopback)) == 0);
    ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
    ck_assert_int_eq(http_listen_parse("[::]:80", &ss, &len), 0);
    ck_assert(memcmp(&a->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0);
}
END_TEST

START_TEST(listen_port_max)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    ck_assert_int_eq(http_listen_parse("127.0.0.1:65535", &ss, &len), 0);
    ck_assert_uint_eq(ntohs(((const struct sockaddr_in *)&ss)->sin_port), 65535);
}
END_TEST

START_TEST(listen_malformed)
{
    static const char *bad[] = {"",
                                "127.0.0.1",
                                "127.0.0.1:",
                                "127.0.0.1:65536",
                                "127.0.0.1:99999999999999999999",
                                "127.0.0.1:-1",
                                "127.0.0.1:+80",
                                "127.0.0.1: 80",
                                "127.0.0.1:80x",
                                "127.0.0.1:0x50",
                                "256.0.0.1:80",
                                "127.0.0:80",
                                "127.0.0.1.1:80",
                                "example invalid:80",
                                "::1:80",
                                "[::1]",
                                "[::1]:",
                                "[::1]80",
                                "[::1:80",
                                "[127.0.0.1]:80",
                                "[::g]:80",
                                "8080",
                                NULL};
    for (int i = 0; bad[i]; i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        ck_assert_msg(http_listen_parse(bad[i], &ss, &len) == -1, "'%s' accepted", tu_esc(bad[i]));
    }
}
END_TEST

START_TEST(listen_default_of_operating_md)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    ck_assert_int_eq(http_listen_parse("127.0.0.1:8080", &ss, &len), 0);
}
END_TEST

Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("content_type");
    tcase_add_test(tc, json_content_type_plain);
    tcase_add_test(tc, json_content_type_case_insensitive);
    tcase_add_test(tc, json_content_type_with_charset);
    tcase_add_test(tc, json_content_type_rejects_others);
    tcase_add_test(tc, json_content_type_rejects_unbalanced_quotes);
    tcase_add_test(tc, json_content_type_absent);
    suite_add_tcase(s, tc);

    tc = tcase_create("request_id");
    tcase_add_test(tc, request_id_visible_ascii);
    tcase_add_test(tc, request_id_64_accepted_65_rejected);
    tcase_add_test(tc, request_id_rejects_empty_space_control_non_ascii);
    suite_add_tcase(s, tc);

    tc = tcase_create("listen");
    tcase_add_test(tc, listen_ipv4);
    tcase_add_test(tc, listen_any_address);
    tcase_add_test(tc, listen_ipv6);
    tcase_add_test(tc, listen_port_max);
    tcase_add_test(tc, listen_malformed);
    tcase_add_test(tc, listen_default_of_operating_md);
    suite_add_tcase(s, tc);
    return s;
}
