/* test_config.c - DSN parsing and the flag/environment table (OPERATING.md) */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "suites.h"

/*=== Helpers ===*/

/* A fake environment: NULL-ended pairs of name, value. */
static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    for (const char *const *e = fake_env; e && e[0]; e += 2)
        if (strcmp(e[0], name) == 0)
            return e[1];
    return NULL;
}

static const char *no_env[] = {NULL};

/* config_parse with argv (NULL-ended, without argv[0]) and env pairs. */
static int parse(struct config *cfg, const char *const *args, const char *const *env, char *err,
                 size_t errlen)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = "cqrsd";
    for (; args && *args && argc < 31; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    fake_env = env;
    err[0] = '\0';
    return config_parse(cfg, argc, argv, fake_getenv, err, errlen);
}

/* An error message is one non-empty line. */
static void assert_one_line(const char *err, const char *what)
{
    ck_assert_msg(err[0] != '\0', "%s: empty message", what);
    ck_assert_msg(strchr(err, '\n') == NULL, "%s: message has a newline: '%s'", what, err);
}

static void assert_dsn_bad(const char *s)
{
    struct dsn d;
    char err[160] = "";
    ck_assert_msg(dsn_parse(s, &d, err, sizeof(err)) == -1, "accepted '%s'", s);
    assert_one_line(err, s);
}

/*=== DSN ===*/

START_TEST(dsn_full)
{
    struct dsn d;
    char err[160];
    ck_assert_int_eq(dsn_parse("mysql://u%40x:p%3Aw@db.local:3307/shop?socket=/tmp/s.sock", &d, err,
                               sizeof(err)),
                     0);
    ck_assert_str_eq(d.user, "u@x");
    ck_assert_str_eq(d.password, "p:w");
    ck_assert_str_eq(d.host, "db.local");
    ck_assert_uint_eq(d.port, 3307);
    ck_assert_str_eq(d.database, "shop");
    ck_assert_str_eq(d.socket, "/tmp/s.sock");
}
END_TEST

START_TEST(dsn_minimal_has_no_password_port_socket)
{
    struct dsn d;
    char err[160];
    ck_assert_int_eq(dsn_parse("mysql://root@localhost/cqrs", &d, err, sizeof(err)), 0);
    ck_assert_str_eq(d.user, "root");
    ck_assert_str_eq(d.password, "");
    ck_assert_str_eq(d.host, "localhost");
    ck_assert_uint_eq(d.port, 0);
    ck_assert_str_eq(d.database, "cqrs");
    ck_assert_str_eq(d.socket, "");
}
END_TEST

START_TEST(dsn_empty_password_after_colon)
{
    struct dsn d;
    char err[160];
    ck_assert_int_eq(dsn_parse("mysql://u:@h/db", &d, err, sizeof(err)), 0);
    ck_assert_str_eq(d.user, "u");
    ck_assert_str_eq(d.password, "");
}
END_TEST

START_TEST(dsn_percent_encoding_in_user_and_password)
{
    struct dsn d;
    char err[160];
    ck_assert_int_eq(
        dsn_parse("mysql://a%20b%2fc:%40%3a%2F%3F%23%25%c3%a9@h/db", &d, err, sizeof(err)), 0);
    ck_assert_str_eq(d.user, "a b/c");
    ck_assert_str_eq(d.password, "@:/?#%\xc3\xa9");
}
END_TEST

START_TEST(dsn_port_bounds)
{
    struct dsn d;
    char err[160];
    ck_assert_int_eq(dsn_parse("mysql://u@h:1/db", &d, err, sizeof(err)), 0);
    ck_assert_uint_eq(d.port, 1);
    ck_assert_int_eq(dsn_parse("mysql://u@h:65535/db", &d, err, sizeof(err)), 0);
    ck_assert_uint_eq(d.port, 65535);
    assert_dsn_bad("mysql://u@h:0/db");
    assert_dsn_bad("mysql://u@h:65536/db");
    assert_dsn_bad("mysql://u@h:99999999999999999999/db");
    assert_dsn_bad("mysql://u@h:-1/db");
    assert_dsn_bad("mysql://u@h:+1/db");
    assert_dsn_bad("mysql://u@h:/db");
    assert_dsn_bad("mysql://u@h:33 06/db");
}
END_TEST

START_TEST(dsn_socket_parameter)
{
    struct dsn d;
    char err[160];
    ck_assert_int_eq(
        dsn_parse("mysql://u:p@localhost/db?socket=/run/mysqld/mysqld.sock", &d, err, sizeof(err)),
        0);
    ck_assert_str_eq(d.socket, "/run/mysqld/mysqld.sock");
    ck_assert_str_eq(d.database, "db");
    ck_assert_str_eq(d.host, "localhost");
}
END_TEST

START_TEST(dsn_ipv6_host_with_port)
{
    struct dsn d;
    char err[160];
    ck_assert_int_eq(dsn_parse("mysql://u:p@[::1]:3306/db", &d, err, sizeof(err)), 0);
    ck_assert_str_eq(d.host, "::1");
    ck_assert_uint_eq(d.port, 3306);
    ck_assert_str_eq(d.database, "db");
}
END_TEST

START_TEST(dsn_ipv6_host_without_port)
{
    struct dsn d;
    char err[160];
    ck_assert_int_eq(dsn_parse("mysql://u@[fe80::1:2]/db", &d, err, sizeof(err)), 0);
    ck_assert_str_eq(d.host, "fe80::1:2");
    ck_assert_uint_eq(d.port, 0);
}
END_TEST

START_TEST(dsn_empty_database_allowed)
{
    /* the admin DSN default of OPERATING.md has no database */
    struct dsn d;
    char err[160];
    ck_assert_int_eq(dsn_parse("mysql://root@127.0.0.1:3306/", &d, err, sizeof(err)), 0);
    ck_assert_str_eq(d.user, "root");
    ck_assert_str_eq(d.host, "127.0.0.1");
    ck_assert_uint_eq(d.port, 3306);
    ck_assert_str_eq(d.database, "");
}
END_TEST

START_TEST(dsn_bad)
{
    static const char *bad[] = {"",
                                "http://u@h/db",
                                "mysql://h/db",
                                "mysql://u@h",
                                "mysql://@h/db",
                                "mysql://u@h:0/db",
                                "mysql://u@h:70000/db",
                                "mysql://u@h:x/db",
                                "mysql://u@/db",
                                "mysql://u%4@h/db",
                                "mysql://u@h/d-b",
                                "mysql://u@h/db?sock=x",
                                "mysql://u@h/db?socket=",
                                NULL};
    for (int i = 0; bad[i]; i++)
        assert_dsn_bad(bad[i]);
}
END_TEST

START_TEST(dsn_bad_scheme)
{
    assert_dsn_bad("mysql:/u@h/db");
    assert_dsn_bad("MYSQL//u@h/db");
    assert_dsn_bad("postgres://u@h/db");
    assert_dsn_bad("u@h/db");
}
END_TEST

START_TEST(dsn_bad_percent_escapes)
{
    assert_dsn_bad("mysql://u%@h/db");
    assert_dsn_bad("mysql://u%zz@h/db");
    assert_dsn_bad("mysql://u%00@h/db");
    assert_dsn_bad("mysql://u:p%4@h/db");
    assert_dsn_bad("mysql://u:p%g1@h/db");
    assert_dsn_bad("mysql://u:%00@h/db");
}
END_TEST

START_TEST(dsn_bad_ipv6)
{
    assert_dsn_bad("mysql://u@[::1/db");
    assert_dsn_bad("mysql://u@[]/db");
    assert_dsn_bad("mysql://u@[::1]x/db");
    assert_dsn_bad("mysql://u@[::1]:/db");
    assert_dsn_bad("mysql://u@[::1]:0/db");
    assert_dsn_bad("mysql://u@[::1]:65536/db");
}
END_TEST

START_TEST(dsn_bad_query)
{
    assert_dsn_bad("mysql://u@h/db?");
    assert_dsn_bad("mysql://u@h/db?socket=/a&x=1");
    assert_dsn_bad("mysql://u@h/db?charset=utf8");
}
END_TEST

START_TEST(dsn_tls_parameters)
{
    struct dsn d;
    char err[300];
    ck_assert_int_eq(dsn_parse("mysql://u@h/db", &d, err, sizeof(err)), 0);
    ck_assert_int_eq(d.ssl_mode, DSN_SSL_PREFERRED); /* the default of OPERATING.md */
    ck_assert_str_eq(dsn_ssl_mode_name(d.ssl_mode), "preferred");
    ck_assert_int_eq(dsn_parse("mysql://u@h/db?ssl-mode=disabled", &d, err, sizeof(err)), 0);
    ck_assert_int_eq(d.ssl_mode, DSN_SSL_DISABLED);
    ck_assert_int_eq(dsn_parse("mysql://u@h/db?ssl-mode=required", &d, err, sizeof(err)), 0);
    ck_assert_int_eq(d.ssl_mode, DSN_SSL_REQUIRED);
    ck_assert_int_eq(dsn_parse("mysql://u@h/db?ssl-mode=verify%2Dca&ssl-ca=/a", &d, err, sizeof(err)), 0);
    ck_assert_int_eq(d.ssl_mode, DSN_SSL_VERIFY_CA);
    ck_assert_int_eq(
        dsn_parse("mysql://u@h/db?ssl-mode=verify-ca&ssl-ca=/etc/ca.pem", &d, err, sizeof(err)), 0);
    ck_assert_int_eq(d.ssl_mode, DSN_SSL_VERIFY_CA);
    ck_assert_str_eq(d.ssl_ca, "/etc/ca.pem");
    ck_assert_int_eq(dsn_parse("mysql://u:p@db.example.com:3306/shop?ssl-ca=%2Fa%20b%2Fca.pem&"
                               "ssl-mode=verify-identity&ssl-cert=/c.pem&ssl-key=/k.pem",
                               &d, err, sizeof(err)),
                     0);
    ck_assert_int_eq(d.ssl_mode, DSN_SSL_VERIFY_IDENTITY);
    ck_assert_str_eq(dsn_ssl_mode_name(d.ssl_mode), "verify-identity");
    ck_assert_str_eq(d.ssl_ca, "/a b/ca.pem");
    ck_assert_str_eq(d.ssl_cert, "/c.pem");
    ck_assert_str_eq(d.ssl_key, "/k.pem");
    ck_assert_str_eq(d.database, "shop");
    ck_assert_str_eq(d.socket, "");
    ck_assert_int_eq(dsn_parse("mysql://u@h/db?ssl-mode=required&ssl-cert=/c&ssl-key=/k", &d,
                               err, sizeof(err)),
                     0);
    ck_assert_str_eq(d.ssl_ca, "");
}
END_TEST

START_TEST(dsn_tls_bad)
{
    assert_dsn_bad("mysql://u@h/db?sslmode=required");           /* unknown parameter */
    assert_dsn_bad("mysql://u@h/db?ssl-mode=REQUIRED");          /* modes are lower case */
    assert_dsn_bad("mysql://u@h/db?ssl-mode=require");           /* not a mode */
    assert_dsn_bad("mysql://u@h/db?ssl-mode=");                  /* no value */
    assert_dsn_bad("mysql://u@h/db?ssl-mode");                   /* no '=' */
    assert_dsn_bad("mysql://u@h/db?ssl-mode=required&ssl-mode=disabled"); /* twice */
    assert_dsn_bad("mysql://u@h/db?ssl-mode=verify-ca");         /* needs ssl-ca */
    assert_dsn_bad("mysql://u@h/db?ssl-mode=verify-identity");   /* needs ssl-ca */
    assert_dsn_bad("mysql://u@h/db?ssl-cert=/c.pem");            /* without its key */
    assert_dsn_bad("mysql://u@h/db?ssl-key=/k.pem");             /* without its certificate */
    assert_dsn_bad("mysql://u@h/db?ssl-mode=disabled&ssl-ca=/ca.pem");
    assert_dsn_bad("mysql://u@h/db?ssl-mode=required&");         /* trailing '&' */
    assert_dsn_bad("mysql://u@h/db?ssl-ca=%zz");                 /* bad escape */
    assert_dsn_bad("mysql://u@h/db?ssl-ca=%00");                 /* NUL */
    assert_dsn_bad("mysql://u@h/db?socket=/s.sock&ssl-mode=required"); /* a socket is local */
    assert_dsn_bad("mysql://u@h/db?socket=/s.sock&ssl-mode=verify-ca&ssl-ca=/ca.pem");
}
END_TEST

START_TEST(dsn_socket_with_preferred_or_disabled)
{
    struct dsn d;
    char err[300];
    ck_assert_int_eq(dsn_parse("mysql://u@h/db?socket=/s.sock&ssl-mode=disabled", &d, err,
                               sizeof(err)),
                     0);
    ck_assert_int_eq(dsn_parse("mysql://u@h/db?ssl-mode=preferred&socket=/s.sock", &d, err,
                               sizeof(err)),
                     0);
    ck_assert_str_eq(d.socket, "/s.sock");
}
END_TEST

START_TEST(dsn_files_checked)
{
    struct dsn d;
    char err[300];
    char path[] = "/tmp/cqrsd-unit-ca-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(dsn_parse("mysql://u@h/db?ssl-mode=verify-ca&ssl-ca=/nonexistent/ca.pem",
                               &d, err, sizeof(err)),
                     0);
    ck_assert_int_eq(dsn_check_files(&d, err, sizeof(err)), -1);
    assert_one_line(err, "missing ssl-ca");
    ck_assert_msg(strstr(err, "ssl-ca") && strstr(err, "/nonexistent/ca.pem"), "%s", err);
    snprintf(d.ssl_ca, sizeof(d.ssl_ca), "%s", path);
    ck_assert_int_eq(dsn_check_files(&d, err, sizeof(err)), 0);
    snprintf(d.ssl_ca, sizeof(d.ssl_ca), "/tmp"); /* a directory is not a PEM file */
    ck_assert_int_eq(dsn_check_files(&d, err, sizeof(err)), -1);
    unlink(path);
}
END_TEST

START_TEST(dsn_redacted)
{
    char out[200];
    dsn_redact("mysql://u:pw-SECRET@h:1/db?ssl-mode=required", out, sizeof(out));
    ck_assert_str_eq(out, "mysql://u:***@h:1/db?ssl-mode=required");
    dsn_redact("mysql://u:p:w@x@h/db", out, sizeof(out)); /* the last '@' ends the user part */
    ck_assert_str_eq(out, "mysql://u:***@h/db");
    dsn_redact("mysql://root@h/", out, sizeof(out));
    ck_assert_str_eq(out, "mysql://root@h/");
    dsn_redact("mysql://u:pw-SECRET/db", out, sizeof(out)); /* no '@': hide it all */
    ck_assert_str_eq(out, "mysql://***/db");
    dsn_redact("u:pw-SECRET@h", out, sizeof(out));
    ck_assert_ptr_null(strstr(out, "SECRET"));
}
END_TEST

START_TEST(dsn_too_long_parts)
{
    char s[1200];
    char big[600];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(s, sizeof(s), "mysql://%.200s@h/db", big); /* user over 128 */
    assert_dsn_bad(s);
    snprintf(s, sizeof(s), "mysql://u:%.300s@h/db", big); /* password over 256 */
    assert_dsn_bad(s);
    snprintf(s, sizeof(s), "mysql://u@%.300s/db", big); /* host over 255 */
    assert_dsn_bad(s);
    snprintf(s, sizeof(s), "mysql://u@h/%.65s", big); /* database over 64 */
    assert_dsn_bad(s);
    snprintf(s, sizeof(s), "mysql://u@h/db?socket=/%.300s", big); /* socket over 255 */
    assert_dsn_bad(s);
}
END_TEST

START_TEST(dsn_longest_parts_fit)
{
    char s[1200];
    char big[600];
    struct dsn d;
    char err[160];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(s, sizeof(s), "mysql://%.128s:%.256s@h/%.64s", big, big, big);
    ck_assert_msg(dsn_parse(s, &d, err, sizeof(err)) == 0, "rejected: %s", err);
    ck_assert_uint_eq(strlen(d.user), 128);
    ck_assert_uint_eq(strlen(d.password), 256);
    ck_assert_uint_eq(strlen(d.database), 64);
}
END_TEST

/*=== config_parse: defaults ===*/

START_TEST(defaults_of_operating_md)
{
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, NULL, no_env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.mode, MODE_SERVE);
    ck_assert_str_eq(c.listen, "127.0.0.1:8080");
    ck_assert_str_eq(c.write_dsn.user, "cqrs_writer");
    ck_assert_str_eq(c.write_dsn.password, "cqrs_writer");
    ck_assert_str_eq(c.write_dsn.host, "127.0.0.1");
    ck_assert_uint_eq(c.write_dsn.port, 3306);
    ck_assert_str_eq(c.write_dsn.database, "cqrs");
    ck_assert_str_eq(c.read_dsn.user, "cqrs_reader");
    ck_assert_str_eq(c.read_dsn.password, "cqrs_reader");
    ck_assert_str_eq(c.read_dsn.host, "127.0.0.1");
    ck_assert_uint_eq(c.read_dsn.port, 3306);
    ck_assert_str_eq(c.read_dsn.database, "cqrs");
    ck_assert_str_eq(c.admin_dsn.user, "root");
    ck_assert_str_eq(c.admin_dsn.password, "");
    ck_assert_str_eq(c.admin_dsn.host, "127.0.0.1");
    ck_assert_uint_eq(c.admin_dsn.port, 3306);
    ck_assert_str_eq(c.admin_dsn.database, "");
    ck_assert_uint_eq(c.threads, 16);
    ck_assert_uint_eq(c.max_body, 65536);
    ck_assert_str_eq(c.command_token_file, "");
    ck_assert_str_eq(c.cors_origins, "*");
    ck_assert_int_eq(c.log_format, LOG_TEXT);
}
END_TEST

START_TEST(defaults_with_null_getenv)
{
    struct config c;
    char err[300];
    char *argv[] = {"cqrsd", NULL};
    ck_assert_int_eq(config_parse(&c, 1, argv, NULL, err, sizeof(err)), 0);
    ck_assert_uint_eq(c.threads, 16);
    ck_assert_str_eq(c.listen, "127.0.0.1:8080");
}
END_TEST

/*=== config_parse: environment ===*/

START_TEST(environment_applied_for_every_option)
{
    static const char *env[] = {"CQRSD_LISTEN",
                                "0.0.0.0:9000",
                                "CQRSD_WRITE_DSN",
                                "mysql://w:wp@dbw:3310/wdb",
                                "CQRSD_READ_DSN",
                                "mysql://r:rp@dbr:3311/rdb",
                                "CQRSD_ADMIN_DSN",
                                "mysql://adm:ap@dba:3312/",
                                "CQRSD_THREADS",
                                "4",
                                "CQRSD_MAX_BODY",
                                "1048576",
                                "CQRSD_COMMAND_TOKEN_FILE",
                                "/etc/cqrsd/token",
                                "CQRSD_CORS_ORIGINS",
                                "https://a.example,https://b.example",
                                "CQRSD_LOG_FORMAT",
                                "json",
                                NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, NULL, env, err, sizeof(err)), 0);
    ck_assert_str_eq(c.listen, "0.0.0.0:9000");
    ck_assert_str_eq(c.write_dsn.user, "w");
    ck_assert_str_eq(c.write_dsn.host, "dbw");
    ck_assert_uint_eq(c.write_dsn.port, 3310);
    ck_assert_str_eq(c.write_dsn.database, "wdb");
    ck_assert_str_eq(c.read_dsn.user, "r");
    ck_assert_str_eq(c.read_dsn.password, "rp");
    ck_assert_uint_eq(c.read_dsn.port, 3311);
    ck_assert_str_eq(c.admin_dsn.user, "adm");
    ck_assert_uint_eq(c.admin_dsn.port, 3312);
    ck_assert_uint_eq(c.threads, 4);
    ck_assert_uint_eq(c.max_body, 1048576);
    ck_assert_str_eq(c.command_token_file, "/etc/cqrsd/token");
    ck_assert_str_eq(c.cors_origins, "https://a.example,https://b.example");
    ck_assert_int_eq(c.log_format, LOG_JSON);
}
END_TEST

START_TEST(environment_bad_number_rejected)
{
    static const char *env[] = {"CQRSD_THREADS", "lots", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, NULL, env, err, sizeof(err)), -1);
    assert_one_line(err, "CQRSD_THREADS=lots");
}
END_TEST

START_TEST(environment_bad_dsn_rejected)
{
    static const char *env[] = {"CQRSD_WRITE_DSN", "mysql://nouser/db", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, NULL, env, err, sizeof(err)), -1);
    assert_one_line(err, "CQRSD_WRITE_DSN");
}
END_TEST

START_TEST(environment_bad_log_format_rejected)
{
    static const char *env[] = {"CQRSD_LOG_FORMAT", "xml", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, NULL, env, err, sizeof(err)), -1);
    assert_one_line(err, "CQRSD_LOG_FORMAT=xml");
}
END_TEST

/*=== config_parse: flags ===*/

START_TEST(flag_with_equals)
{
    static const char *args[] = {"--threads=8", "--listen=127.0.0.1:9999", "--log-format=json",
                                 "--max-body=1024", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_uint_eq(c.threads, 8);
    ck_assert_str_eq(c.listen, "127.0.0.1:9999");
    ck_assert_int_eq(c.log_format, LOG_JSON);
    ck_assert_uint_eq(c.max_body, 1024);
}
END_TEST

START_TEST(flag_with_separate_value)
{
    static const char *args[] = {
        "--threads", "8", "--cors-origins", "https://x.example", "--command-token-file",
        "/tmp/tok",  NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_uint_eq(c.threads, 8);
    ck_assert_str_eq(c.cors_origins, "https://x.example");
    ck_assert_str_eq(c.command_token_file, "/tmp/tok");
}
END_TEST

START_TEST(flag_dsns)
{
    static const char *args[] = {
        "--write-dsn", "mysql://a:b@h1:1/d1",         "--read-dsn=mysql://c@h2/d2",
        "--admin-dsn", "mysql://root:pw@[::1]:3306/", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_str_eq(c.write_dsn.user, "a");
    ck_assert_str_eq(c.write_dsn.host, "h1");
    ck_assert_uint_eq(c.write_dsn.port, 1);
    ck_assert_str_eq(c.read_dsn.user, "c");
    ck_assert_str_eq(c.read_dsn.host, "h2");
    ck_assert_str_eq(c.read_dsn.database, "d2");
    ck_assert_str_eq(c.admin_dsn.password, "pw");
    ck_assert_str_eq(c.admin_dsn.host, "::1");
}
END_TEST

START_TEST(flag_wins_over_environment)
{
    static const char *env[] = {"CQRSD_THREADS",
                                "4",
                                "CQRSD_LISTEN",
                                "0.0.0.0:1",
                                "CQRSD_LOG_FORMAT",
                                "json",
                                "CQRSD_READ_DSN",
                                "mysql://envuser@envhost/envdb",
                                NULL};
    static const char *args[] = {"--threads",
                                 "32",
                                 "--listen=127.0.0.1:2",
                                 "--log-format",
                                 "text",
                                 "--read-dsn",
                                 "mysql://flaguser@flaghost/flagdb",
                                 NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, env, err, sizeof(err)), 0);
    ck_assert_uint_eq(c.threads, 32);
    ck_assert_str_eq(c.listen, "127.0.0.1:2");
    ck_assert_int_eq(c.log_format, LOG_TEXT);
    ck_assert_str_eq(c.read_dsn.user, "flaguser");
    ck_assert_str_eq(c.read_dsn.host, "flaghost");
}
END_TEST

START_TEST(environment_kept_for_options_without_flag)
{
    static const char *env[] = {"CQRSD_THREADS", "4", "CQRSD_MAX_BODY", "2048", NULL};
    static const char *args[] = {"--threads", "32", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, env, err, sizeof(err)), 0);
    ck_assert_uint_eq(c.threads, 32);
    ck_assert_uint_eq(c.max_body, 2048);
}
END_TEST

START_TEST(repeated_flag_last_wins)
{
    /* the last flag of a repeated option wins */
    static const char *args[] = {"--threads", "2", "--threads=3", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_uint_eq(c.threads, 3);
}
END_TEST

/*=== config_parse: subcommands ===*/

START_TEST(subcommand_serve_explicit)
{
    static const char *args[] = {"serve", "--threads", "2", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.mode, MODE_SERVE);
    ck_assert_uint_eq(c.threads, 2);
}
END_TEST

START_TEST(subcommand_migrate)
{
    static const char *args[] = {"migrate", "--admin-dsn", "mysql://root@h:1/", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.mode, MODE_MIGRATE);
    ck_assert_str_eq(c.admin_dsn.host, "h");
}
END_TEST

START_TEST(subcommand_after_options)
{
    static const char *args[] = {"--threads=2", "migrate", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.mode, MODE_MIGRATE);
    ck_assert_uint_eq(c.threads, 2);
}
END_TEST

START_TEST(subcommand_verify_views)
{
    static const char *args[] = {"verify-views", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.mode, MODE_VERIFY);
}
END_TEST

START_TEST(subcommand_rebuild_views)
{
    static const char *args[] = {"rebuild-views", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.mode, MODE_REBUILD);
}
END_TEST

START_TEST(help_flag)
{
    static const char *args[] = {"--help", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.mode, MODE_HELP);
}
END_TEST

START_TEST(version_flag)
{
    static const char *args[] = {"--version", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.mode, MODE_VERSION);
}
END_TEST

START_TEST(help_after_subcommand)
{
    static const char *args[] = {"migrate", "--help", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.mode, MODE_HELP);
}
END_TEST

/*=== config_parse: errors ===*/

static void assert_args_bad(const char *const *args, const char *what)
{
    struct config c;
    char err[300];
    ck_assert_msg(parse(&c, args, no_env, err, sizeof(err)) == -1, "accepted %s", what);
    assert_one_line(err, what);
}

START_TEST(unknown_option)
{
    static const char *a1[] = {"--thread=4", NULL};
    static const char *a2[] = {"--bogus", "x", NULL};
    static const char *a3[] = {"-x", NULL};
    assert_args_bad(a1, "--thread=4");
    assert_args_bad(a2, "--bogus x");
    assert_args_bad(a3, "-x");
}
END_TEST

START_TEST(unknown_option_named_in_message)
{
    static const char *args[] = {"--frobnicate=1", NULL};
    struct config c;
    char err[300];
    ck_assert_int_eq(parse(&c, args, no_env, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "--frobnicate") != NULL, "message does not name it: '%s'", err);
}
END_TEST

START_TEST(unknown_subcommand)
{
    static const char *a1[] = {"frobnicate", NULL};
    static const char *a2[] = {"migrate", "serve", NULL};
    assert_args_bad(a1, "frobnicate");
    assert_args_bad(a2, "two subcommands");
}
END_TEST

START_TEST(bad_numbers)
{
    static const char *bad[] = {
        "abc", "", "-1", "4x", "4.0", " 4", "0x10", "99999999999999999999999", "0", NULL};
    for (int i = 0; bad[i]; i++) {
        const char *args[] = {"--threads", bad[i], NULL};
        char what[64];
        snprintf(what, sizeof(what), "--threads '%s'", bad[i]);
        assert_args_bad(args, what);
    }
}
END_TEST

START_TEST(bad_max_body)
{
    static const char *a1[] = {"--max-body=big", NULL};
    static const char *a2[] = {"--max-body=-5", NULL};
    static const char *a3[] = {"--max-body=", NULL};
    assert_args_bad(a1, "--max-body=big");
    assert_args_bad(a2, "--max-body=-5");
    assert_args_bad(a3, "--max-body=");
}
END_TEST

START_TEST(bad_log_format)
{
    static const char *a1[] = {"--log-format=xml", NULL};
    static const char *a2[] = {"--log-format", "", NULL};
    assert_args_bad(a1, "--log-format=xml");
    assert_args_bad(a2, "--log-format ''");
}
END_TEST

START_TEST(bad_dsn_flag)
{
    static const char *a1[] = {"--write-dsn", "mysql://u@h:0/db", NULL};
    static const char *a2[] = {"--read-dsn=nonsense", NULL};
    assert_args_bad(a1, "--write-dsn port 0");
    assert_args_bad(a2, "--read-dsn=nonsense");
}
END_TEST

START_TEST(replica_dsns_from_flags_or_variable)
{
    static const char *flags[] = {"--replica-dsn", "mysql://r:p@h1:3307/cqrs",
                                  "--replica-dsn=mysql://r:p@h2/cqrs", NULL};
    static const char *env[] = {"CQRSD_REPLICA_DSN", "mysql://r@e1/cqrs,mysql://r@e2:3310/cqrs",
                                NULL};
    struct config c;
    char err[1200];

    ck_assert_int_eq(parse(&c, (const char *const[]){NULL}, no_env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.nreplicas, 0);
    ck_assert_uint_eq(c.max_replica_lag, 5);
    ck_assert_uint_eq(c.consistency_wait_ms, 2000);
    ck_assert(!c.consistency_fallback_none);
    ck_assert_int_eq(parse(&c, flags, env, err, sizeof(err)), 0); /* the flags win, all of them */
    ck_assert_int_eq(c.nreplicas, 2);
    ck_assert_str_eq(c.replica_dsn[0].host, "h1");
    ck_assert_uint_eq(c.replica_dsn[0].port, 3307);
    ck_assert_str_eq(c.replica_dsn[1].host, "h2");
    ck_assert_int_eq(parse(&c, (const char *const[]){NULL}, env, err, sizeof(err)), 0);
    ck_assert_int_eq(c.nreplicas, 2);
    ck_assert_str_eq(c.replica_dsn[0].host, "e1");
    ck_assert_uint_eq(c.replica_dsn[1].port, 3310);
}
END_TEST

START_TEST(replica_options_checked)
{
    static const char *env_empty[] = {"CQRSD_REPLICA_DSN", "mysql://r@e1/cqrs,,mysql://r@e2/db",
                                      NULL};
    static const char *a1[] = {"--replica-dsn", "mysql://r@h:0/cqrs", NULL};
    static const char *a2[] = {"--consistency-fallback", "replica", NULL};
    static const char *a3[] = {"--max-replica-lag", "0", NULL};
    static const char *a4[] = {"--consistency-fallback", "none", "--consistency-wait-ms", "0",
                               NULL};
    const char *nine[20];
    struct config c;
    char err[1200];

    ck_assert_int_eq(parse(&c, (const char *const[]){NULL}, env_empty, err, sizeof(err)), -1);
    assert_args_bad(a1, "--replica-dsn port 0");
    assert_args_bad(a2, "--consistency-fallback replica");
    assert_args_bad(a3, "--max-replica-lag 0");
    ck_assert_int_eq(parse(&c, a4, no_env, err, sizeof(err)), 0);
    ck_assert(c.consistency_fallback_none);
    ck_assert_uint_eq(c.consistency_wait_ms, 0);
    for (int i = 0; i < 9; i++) { /* one more than CONFIG_MAX_REPLICAS */
        nine[2 * i] = "--replica-dsn";
        nine[2 * i + 1] = "mysql://r@h/cqrs";
    }
    nine[18] = NULL;
    ck_assert_int_eq(parse(&c, nine, no_env, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "at most 8 replicas"));
}
END_TEST

START_TEST(tls_file_error_names_option_not_password)
{
    static const char *a[] = {
        "--read-dsn", "mysql://cqrs_reader:pw-SECRET-123@h/db?ssl-mode=verify-ca&ssl-ca=/no/ca.pem",
        NULL};
    static const char *env[] = {"CQRSD_ADMIN_DSN",
                                "mysql://root:pw-SECRET-123@h/?ssl-key=/no/k.pem&ssl-cert=/no/c.pem",
                                NULL};
    struct config c;
    char err[1200];
    ck_assert_int_eq(parse(&c, a, no_env, err, sizeof(err)), -1);
    assert_one_line(err, "missing ssl-ca");
    ck_assert_msg(strncmp(err, "--read-dsn mysql://cqrs_reader:***@h/db", 39) == 0, "%s", err);
    ck_assert_msg(strstr(err, "cannot be read") != NULL, "%s", err);
    ck_assert_ptr_null(strstr(err, "SECRET"));
    ck_assert_int_eq(parse(&c, NULL, env, err, sizeof(err)), -1);
    ck_assert_msg(strncmp(err, "CQRSD_ADMIN_DSN mysql://root:***@h/", 35) == 0, "%s", err);
    ck_assert_ptr_null(strstr(err, "SECRET"));
}
END_TEST

START_TEST(missing_value)
{
    static const char *a1[] = {"--threads", NULL};
    static const char *a2[] = {"--listen", NULL};
    static const char *a3[] = {"migrate", "--write-dsn", NULL};
    assert_args_bad(a1, "--threads without value");
    assert_args_bad(a2, "--listen without value");
    assert_args_bad(a3, "--write-dsn without value");
}
END_TEST

START_TEST(value_too_long)
{
    char big[2000];
    const char *args[] = {"--cors-origins", big, NULL};
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_args_bad(args, "--cors-origins of 1999 characters");
}
END_TEST

/*=== --help ===*/

START_TEST(usage_lists_every_flag_and_environment_variable)
{
    static const char *names[] = {"--listen",
                                  "CQRSD_LISTEN",
                                  "--write-dsn",
                                  "CQRSD_WRITE_DSN",
                                  "--read-dsn",
                                  "CQRSD_READ_DSN",
                                  "--admin-dsn",
                                  "CQRSD_ADMIN_DSN",
                                  "--threads",
                                  "CQRSD_THREADS",
                                  "--max-body",
                                  "CQRSD_MAX_BODY",
                                  "--command-token-file",
                                  "CQRSD_COMMAND_TOKEN_FILE",
                                  "--cors-origins",
                                  "CQRSD_CORS_ORIGINS",
                                  "--log-format",
                                  "CQRSD_LOG_FORMAT",
                                  "serve",
                                  "migrate",
                                  "verify-views",
                                  "rebuild-views",
                                  "--version",
                                  NULL};
    static char out[8192];
    FILE *tmp = tmpfile();
    int saved;
    size_t n;
    ck_assert_ptr_nonnull(tmp);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    dup2(fileno(tmp), STDOUT_FILENO);
    config_usage();
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    rewind(tmp);
    n = fread(out, 1, sizeof(out) - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    for (int i = 0; names[i]; i++)
        ck_assert_msg(strstr(out, names[i]) != NULL, "--help does not mention %s", names[i]);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("dsn");
    tcase_add_test(tc, dsn_full);
    tcase_add_test(tc, dsn_minimal_has_no_password_port_socket);
    tcase_add_test(tc, dsn_empty_password_after_colon);
    tcase_add_test(tc, dsn_percent_encoding_in_user_and_password);
    tcase_add_test(tc, dsn_port_bounds);
    tcase_add_test(tc, dsn_socket_parameter);
    tcase_add_test(tc, dsn_ipv6_host_with_port);
    tcase_add_test(tc, dsn_ipv6_host_without_port);
    tcase_add_test(tc, dsn_empty_database_allowed);
    tcase_add_test(tc, dsn_bad);
    tcase_add_test(tc, dsn_bad_scheme);
    tcase_add_test(tc, dsn_bad_percent_escapes);
    tcase_add_test(tc, dsn_bad_ipv6);
    tcase_add_test(tc, dsn_bad_query);
    tcase_add_test(tc, dsn_too_long_parts);
    tcase_add_test(tc, dsn_tls_parameters);
    tcase_add_test(tc, dsn_tls_bad);
    tcase_add_test(tc, dsn_socket_with_preferred_or_disabled);
    tcase_add_test(tc, dsn_files_checked);
    tcase_add_test(tc, dsn_redacted);
    tcase_add_test(tc, tls_file_error_names_option_not_password);
    tcase_add_test(tc, dsn_longest_parts_fit);
    suite_add_tcase(s, tc);

    tc = tcase_create("options");
    tcase_add_test(tc, defaults_of_operating_md);
    tcase_add_test(tc, defaults_with_null_getenv);
    tcase_add_test(tc, environment_applied_for_every_option);
    tcase_add_test(tc, environment_bad_number_rejected);
    tcase_add_test(tc, environment_bad_dsn_rejected);
    tcase_add_test(tc, environment_bad_log_format_rejected);
    tcase_add_test(tc, flag_with_equals);
    tcase_add_test(tc, flag_with_separate_value);
    tcase_add_test(tc, flag_dsns);
    tcase_add_test(tc, flag_wins_over_environment);
    tcase_add_test(tc, environment_kept_for_options_without_flag);
    tcase_add_test(tc, repeated_flag_last_wins);
    suite_add_tcase(s, tc);

    tc = tcase_create("subcommands");
    tcase_add_test(tc, subcommand_serve_explicit);
    tcase_add_test(tc, subcommand_migrate);
    tcase_add_test(tc, subcommand_after_options);
    tcase_add_test(tc, subcommand_verify_views);
    tcase_add_test(tc, subcommand_rebuild_views);
    tcase_add_test(tc, help_flag);
    tcase_add_test(tc, version_flag);
    tcase_add_test(tc, help_after_subcommand);
    tcase_add_test(tc, usage_lists_every_flag_and_environment_variable);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, unknown_option);
    tcase_add_test(tc, unknown_option_named_in_message);
    tcase_add_test(tc, unknown_subcommand);
    tcase_add_test(tc, bad_numbers);
    tcase_add_test(tc, bad_max_body);
    tcase_add_test(tc, bad_log_format);
    tcase_add_test(tc, bad_dsn_flag);
    tcase_add_test(tc, replica_dsns_from_flags_or_variable);
    tcase_add_test(tc, replica_options_checked);
    tcase_add_test(tc, missing_value);
    tcase_add_test(tc, value_too_long);
    suite_add_tcase(s, tc);
    return s;
}
