/* test_cursor.c - opaque, tamper-evident list cursors */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "suites.h"
#include "testutil.h"

/*=== Helpers ===*/

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char kinds[] = {'i', 'p', 'b', 'o'};

static const int64_t keys[] = {
    0, 1, -1, 1999, 100000000000LL, INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - 1};

static const int64_t ids[] = {1, 42, 1000000007, INT64_MAX};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* base64url without padding, for hand-made cursors */
static void b64url(const char *raw, char *out)
{
    size_t n = strlen(raw), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)(unsigned char)raw[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)(unsigned char)raw[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)raw[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = alphabet[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = alphabet[v & 63];
    }
    out[o] = '\0';
}

/*=== Round trips ===*/

START_TEST(cursor_roundtrip)
{
    char c[CURSOR_MAX];
    int64_t k, id;
    cursor_encode('p', 1999, 42, c);
    ck_assert(cursor_decode(c, 'p', &k, &id));
    ck_assert_int_eq(k, 1999);
    ck_assert_int_eq(id, 42);
    ck_assert(!cursor_decode(c, 'i', &k, &id));
}
END_TEST

START_TEST(roundtrip_every_kind_and_extreme_keys)
{
    for (size_t a = 0; a < N(kinds); a++)
        for (size_t b = 0; b < N(keys); b++)
            for (size_t d = 0; d < N(ids); d++) {
                char c[CURSOR_MAX];
                int64_t k = 7, id = 7;
                cursor_encode(kinds[a], keys[b], ids[d], c);
                ck_assert_msg(cursor_decode(c, kinds[a], &k, &id), "%c %lld %lld: '%s' rejected",
                              kinds[a], (long long)keys[b], (long long)ids[d], c);
                ck_assert_int_eq(k, keys[b]);
                ck_assert_int_eq(id, ids[d]);
            }
}
END_TEST

START_TEST(encoded_is_url_safe_and_fits)
{
    char c[CURSOR_MAX];
    memset(c, 'x', sizeof(c));
    cursor_encode('b', INT64_MIN, INT64_MAX, c);
    ck_assert_ptr_nonnull(memchr(c, '\0', sizeof(c)));
    ck_assert_uint_gt(strlen(c), 0);
    ck_assert_uint_lt(strlen(c), CURSOR_MAX);
    ck_assert_uint_eq(strspn(c, alphabet), strlen(c));
}
END_TEST

START_TEST(different_positions_different_cursors)
{
    char a[CURSOR_MAX], b[CURSOR_MAX], c[CURSOR_MAX];
    cursor_encode('p', 100, 5, a);
    cursor_encode('p', 100, 6, b);
    cursor_encode('p', 101, 5, c);
    ck_assert_str_ne(a, b);
    ck_assert_str_ne(a, c);
}
END_TEST

START_TEST(wrong_kind_rejected)
{
    for (size_t a = 0; a < N(kinds); a++) {
        char c[CURSOR_MAX];
        cursor_encode(kinds[a], 10, 20, c);
        for (size_t b = 0; b < N(kinds); b++) {
            int64_t k, id;
            if (a != b)
                ck_assert_msg(!cursor_decode(c, kinds[b], &k, &id), "%c cursor taken as %c",
                              kinds[a], kinds[b]);
        }
    }
}
END_TEST

/*=== Tampering ===*/

/*
 * Replace each character of each cursor by every other character of the
 * alphabet. want_rejected: the edited cursor must not decode at all;
 * otherwise it must at least not decode to another position.
 */
static void tamper_all(bool want_rejected)
{
    for (size_t a = 0; a < N(kinds); a++)
        for (size_t b = 0; b < N(keys); b++)
            for (size_t d = 0; d < N(ids); d++) {
                char c[CURSOR_MAX], t[CURSOR_MAX];
                size_t n;
                cursor_encode(kinds[a], keys[b], ids[d], c);
                n = strlen(c);
                for (size_t i = 0; i < n; i++)
                    for (const char *ch = alphabet; *ch; ch++) {
                        int64_t k = 0, id = 0;
                        bool ok;
                        if (*ch == c[i])
                            continue;
                        memcpy(t, c, n + 1);
                        t[i] = *ch;
                        ok = cursor_decode(t, kinds[a], &k, &id);
                        if (want_rejected)
                            ck_assert_msg(!ok,
                                          "cursor '%s' (%c %lld %lld) with char %zu changed to "
                                          "'%c' accepted as (%lld, %lld)",
                                          c, kinds[a], (long long)keys[b], (long long)ids[d], i,
                                          *ch, (long long)k, (long long)id);
                        else
                            ck_assert_msg(!ok || (k == keys[b] && id == ids[d]),
                                          "tampered '%s' decodes to another position (%lld, %lld)",
                                          t, (long long)k, (long long)id);
                    }
            }
}

START_TEST(tampered_never_moves_position) { tamper_all(false); }
END_TEST

START_TEST(tampered_any_char_rejected) { tamper_all(true); }
END_TEST

START_TEST(truncated_and_extended_rejected)
{
    char c[CURSOR_MAX], t[CURSOR_MAX + 8];
    int64_t k, id;
    size_t n;
    cursor_encode('i', 0, 12345, c);
    n = strlen(c);
    for (size_t cut = 1; cut < n; cut++) {
        memcpy(t, c, n - cut);
        t[n - cut] = '\0';
        ck_assert_msg(!cursor_decode(t, 'i', &k, &id), "'%s' accepted", t);
    }
    for (const char *ch = alphabet; *ch; ch++) {
        snprintf(t, sizeof(t), "%s%c", c, *ch);
        ck_assert_msg(!cursor_decode(t, 'i', &k, &id), "'%s' accepted", t);
    }
    snprintf(t, sizeof(t), "%sAAAA", c);
    ck_assert(!cursor_decode(t, 'i', &k, &id));
}
END_TEST

START_TEST(padding_and_standard_base64_rejected)
{
    char c[CURSOR_MAX], t[CURSOR_MAX + 8];
    int64_t k, id;
    cursor_encode('p', 5, 6, c);
    snprintf(t, sizeof(t), "%s=", c);
    ck_assert(!cursor_decode(t, 'p', &k, &id));
    snprintf(t, sizeof(t), "%s==", c);
    ck_assert(!cursor_decode(t, 'p', &k, &id));
    snprintf(t, sizeof(t), " %s", c);
    ck_assert(!cursor_decode(t, 'p', &k, &id));
    snprintf(t, sizeof(t), "%s ", c);
    ck_assert(!cursor_decode(t, 'p', &k, &id));
}
END_TEST

START_TEST(garbage_rejected)
{
    static const char *bad[] = {"",     "A",       "AA",     "AAA",  "AAAA",
                                "!!!!", "a b c",   "%3D%3D", "null", "0",
                                "-1",   "cDoxOjE", "aTox",   "===",  "\xc3\xa9\xc3\xa9",
                                NULL};
    for (int i = 0; bad[i]; i++)
        for (size_t a = 0; a < N(kinds); a++) {
            int64_t k, id;
            ck_assert_msg(!cursor_decode(bad[i], kinds[a], &k, &id), "'%s' accepted",
                          tu_esc(bad[i]));
        }
}
END_TEST

START_TEST(overlong_rejected)
{
    char t[1001];
    int64_t k, id;
    for (size_t n = CURSOR_MAX - 4; n <= 1000; n += 1) {
        memset(t, 'A', n);
        t[n] = '\0';
        ck_assert_msg(!cursor_decode(t, 'i', &k, &id), "%zu 'A's accepted", n);
    }
}
END_TEST

START_TEST(hand_made_without_valid_check_rejected)
{
    static const char *raws[] = {"i:0:1",
                                 "i:0:1:",
                                 "i:0:1:00000000",
                                 "i:0:1:ffffffff",
                                 "p:1999:42:12345678",
                                 "i:0:1:0000000g",
                                 "i::1:00000000",
                                 "i:0::00000000",
                                 NULL};
    for (int i = 0; raws[i]; i++) {
        char c[200];
        int64_t k, id;
        b64url(raws[i], c);
        ck_assert_msg(!cursor_decode(c, raws[i][0], &k, &id), "forged '%s' accepted", raws[i]);
    }
}
END_TEST

START_TEST(embedded_nul_rejected)
{
    /* "i:0\0:1:..." : a NUL inside the decoded bytes */
    char raw[] = "i:0X1:00000000";
    char c[64];
    int64_t k, id;
    b64url(raw, c);
    /* flip the X into a NUL by hand: X is byte 3 of group 1 */
    {
        char enc[64];
        unsigned char bytes[] = {'i', ':', '0', 0, '1', ':'};
        unsigned v = (unsigned)bytes[3] << 16 | (unsigned)bytes[4] << 8 | bytes[5];
        strcpy(enc, c);
        enc[4] = alphabet[(v >> 18) & 63];
        enc[5] = alphabet[(v >> 12) & 63];
        enc[6] = alphabet[(v >> 6) & 63];
        enc[7] = alphabet[v & 63];
        ck_assert(!cursor_decode(enc, 'i', &k, &id));
    }
}
END_TEST

Suite *cursor_suite(void)
{
    Suite *s = suite_create("cursor");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_test(tc, cursor_roundtrip);
    tcase_add_test(tc, roundtrip_every_kind_and_extreme_keys);
    tcase_add_test(tc, encoded_is_url_safe_and_fits);
    tcase_add_test(tc, different_positions_different_cursors);
    tcase_add_test(tc, wrong_kind_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("tampering");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, tampered_never_moves_position);
    tcase_add_test(tc, tampered_any_char_rejected);
    tcase_add_test(tc, truncated_and_extended_rejected);
    tcase_add_test(tc, padding_and_standard_base64_rejected);
    tcase_add_test(tc, garbage_rejected);
    tcase_add_test(tc, overlong_rejected);
    tcase_add_test(tc, hand_made_without_valid_check_rejected);
    tcase_add_test(tc, embedded_nul_rejected);
    suite_add_tcase(s, tc);
    return s;
}
