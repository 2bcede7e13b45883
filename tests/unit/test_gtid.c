/* test_gtid.c - consistency tokens against servers' GTID positions (MariaDB and MySQL forms) */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "gtid.h"
#include "suites.h"

#define UUID_A "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define UUID_B "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"

static bool covers(const char *pos, const char *tokens)
{
    struct gtid_set have, want;
    ck_assert_int_eq(gtid_parse_position(pos, strlen(pos), &have), 0);
    ck_assert_int_eq(gtid_parse_tokens(tokens, &want), 0);
    return gtid_covers(&have, &want);
}

START_TEST(mariadb_domain_sequence_covers_lower)
{
    ck_assert(covers("0-1-42", "0-1-42"));
    ck_assert(covers("0-1-42", "0-1-7"));
    ck_assert(covers("0-2-42", "0-1-41")); /* the server id does not order a domain */
    ck_assert(!covers("0-1-42", "0-1-43"));
    ck_assert(!covers("0-1-42", "1-1-1")); /* a domain the replica never saw */
    ck_assert(covers("0-1-42,1-2-7", "1-2-7, 0-1-40"));
    ck_assert(!covers("0-1-42,1-2-7", "1-2-8,0-1-40"));
    ck_assert(!covers("", "0-1-1"));
    ck_assert(covers("0-1-5,\n1-1-9", "0-1-5.1-1-9")); /* a position token: '.' inside */
}
END_TEST

START_TEST(mysql_intervals_and_tags)
{
    ck_assert(covers(UUID_A ":1-100", UUID_A ":42"));
    ck_assert(covers(UUID_A ":1-100", UUID_A ":1-100"));
    ck_assert(!covers(UUID_A ":1-41:43-100", UUID_A ":42"));
    ck_assert(covers(UUID_A ":1-41:43-100", UUID_A ":43"));
    ck_assert(!covers(UUID_A ":1-100", UUID_B ":1"));
    ck_assert(covers(UUID_A ":1-5,\n" UUID_B ":1-3", UUID_B ":3," UUID_A ":2"));
    ck_assert(covers("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-9", UUID_A ":9")); /* case */
    ck_assert(covers(UUID_A ":1-5:blue:1-3", UUID_A ":blue:2"));
    ck_assert(!covers(UUID_A ":1-5:blue:1-3", UUID_A ":blue:4"));
    ck_assert(!covers(UUID_A ":1-5", "0-1-1")); /* the other server's form */
}
END_TEST

START_TEST(malformed_tokens_refused)
{
    static const char *const bad[] = {
        "", " ", ",", "0-1-42,", ",0-1-42", "0-1", "0-1-", "-1-2", "0-1-2-3", "a-b-c",
        "0-1-42.", ".0-1-42", "0-1-42..0-1-43", "0-1-4 2", "0-4294967296-1",
        "0-1-99999999999999999999", UUID_A, UUID_A ":", UUID_A ":0", UUID_A ":5-3",
        UUID_A ":1-", "3e11fa47-71ca-11e1-9e33-c80aa942956:1", UUID_A ":Tag:1",
        "0-1-42\x7f", "0-1-\xc3\xa9",
    };
    struct gtid_set want;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(gtid_parse_tokens(bad[i], &want) == -1, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(token_count_and_length_bounded)
{
    char many[2048] = "";
    char longtok[300];
    struct gtid_set want;

    for (int i = 0; i < 32; i++)
        strcat(many, i ? ",0-1-1" : "0-1-1");
    ck_assert_int_eq(gtid_parse_tokens(many, &want), 0);
    strcat(many, ",0-1-1");
    ck_assert_int_eq(gtid_parse_tokens(many, &want), -1); /* 33 tokens */
    /* one token of 201 characters: 0-1-<197 digits> would overflow anyway; build elements */
    strcpy(longtok, "0-1-1");
    while (strlen(longtok) < 201)
        strcat(longtok, ".0-1-1");
    longtok[201] = '\0';
    if (longtok[200] == '.' || longtok[200] == '-')
        longtok[200] = '1';
    ck_assert_int_eq(gtid_parse_tokens(longtok, &want), -1);
}
END_TEST

START_TEST(wait_argument_per_server)
{
    struct gtid_set want;
    char arg[512];

    ck_assert_int_eq(gtid_parse_tokens("0-1-5,0-2-9, 1-1-3,0-1-7", &want), 0);
    ck_assert_int_eq(gtid_wait_arg(&want, arg, sizeof(arg)), 0);
    ck_assert_str_eq(arg, "0-2-9,1-1-3"); /* the highest per domain */
    ck_assert_int_eq(gtid_parse_tokens(UUID_A ":4," UUID_A ":1-3", &want), 0);
    ck_assert_int_eq(gtid_wait_arg(&want, arg, sizeof(arg)), 0);
    ck_assert_str_eq(arg, UUID_A ":4," UUID_A ":1-3");
    ck_assert_int_eq(gtid_parse_tokens(UUID_A ":4,0-1-1", &want), 0);
    ck_assert_int_eq(gtid_wait_arg(&want, arg, sizeof(arg)), -1); /* no server has both */
    ck_assert_int_eq(gtid_parse_tokens("0-1-5", &want), 0);
    ck_assert_int_eq(gtid_wait_arg(&want, arg, 4), -1);
}
END_TEST

START_TEST(position_becomes_token_and_back)
{
    static const char pos[] = UUID_A ":1-5,\n" UUID_B ":1-3";
    char tok[256];
    struct gtid_set want, have;

    ck_assert_int_eq(gtid_token_of(pos, strlen(pos), tok, sizeof(tok)), 0);
    ck_assert_str_eq(tok, UUID_A ":1-5." UUID_B ":1-3");
    ck_assert_int_eq(gtid_parse_tokens(tok, &want), 0);
    ck_assert_int_eq(gtid_parse_position(pos, strlen(pos), &have), 0);
    ck_assert(gtid_covers(&have, &want));
    ck_assert_int_eq(gtid_token_of("", 0, tok, sizeof(tok)), -1);
    ck_assert_int_eq(gtid_token_of(pos, strlen(pos), tok, 20), -1);
}
END_TEST

START_TEST(position_bounded)
{
    char pos[4096] = "";
    struct gtid_set have;

    for (int i = 0; i < GTID_MAX; i++)
        sprintf(pos + strlen(pos), "%s%d-1-1", i ? "," : "", i);
    ck_assert_int_eq(gtid_parse_position(pos, strlen(pos), &have), 0);
    ck_assert_int_eq(have.n, GTID_MAX);
    strcat(pos, ",99-1-1");
    ck_assert_int_eq(gtid_parse_position(pos, strlen(pos), &have), -1);
    ck_assert_int_eq(gtid_parse_position("0-1-1,,1-1-1", 12, &have), -1);
    ck_assert_int_eq(gtid_parse_position("0-1-1,", 6, &have), -1);
    ck_assert_int_eq(gtid_parse_position(",0-1-1", 6, &have), -1);
    ck_assert_int_eq(gtid_parse_position(" \n", 2, &have), 0);
    ck_assert_int_eq(gtid_parse_position("", 0, &have), 0);
    ck_assert_int_eq(have.n, 0);
}
END_TEST

Suite *gtid_suite(void)
{
    Suite *s = suite_create("gtid");
    TCase *tc = tcase_create("tokens");
    tcase_add_test(tc, mariadb_domain_sequence_covers_lower);
    tcase_add_test(tc, mysql_intervals_and_tags);
    tcase_add_test(tc, malformed_tokens_refused);
    tcase_add_test(tc, token_count_and_length_bounded);
    tcase_add_test(tc, wait_argument_per_server);
    tcase_add_test(tc, position_becomes_token_and_back);
    tcase_add_test(tc, position_bounded);
    suite_add_tcase(s, tc);
    return s;
}
