/* test_idem.c - the pure parts of idem.c: Idempotency-Key syntax, SHA-256, a body cut short */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "idem.h"
#include "suites.h"
#include "testutil.h"

/*=== idem_key_ok ===*/

START_TEST(key_visible_ascii_accepted)
{
    ck_assert(idem_key_ok("a"));
    ck_assert(idem_key_ok("6f1c0a6e-4a5b-4c1d-9e2f-0123456789ab"));
    ck_assert(idem_key_ok("!\"#$%&'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}~"));
}
END_TEST

START_TEST(key_128_accepted_129_rejected)
{
    char s[131];
    memset(s, 'k', 128);
    s[128] = '\0';
    ck_assert(idem_key_ok(s));
    s[128] = 'k';
    s[129] = '\0';
    ck_assert(!idem_key_ok(s));
    memset(s, 'k', 130);
    s[130] = '\0';
    ck_assert(!idem_key_ok(s));
}
END_TEST

START_TEST(key_invalid_rejected)
{
    static const char *bad[] = {"",     " ",     "a b",        " a",   "a ",     "a\tb",
                                "\x01", "a\x7f", "cl\xc3\xa9", "\xff", "a\r\nb", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(!idem_key_ok(bad[i]), "'%s' accepted", tu_esc(bad[i]));
}
END_TEST

/*=== sha256_hex ===*/

static void assert_sha(const void *p, size_t n, const char *want)
{
    char out[65];
    memset(out, 'X', sizeof(out));
    sha256_hex(p, n, out);
    ck_assert_int_eq(out[64], '\0');
    ck_assert_msg(strcmp(out, want) == 0, "sha256 of %zu bytes: want %s got %s", n, want, out);
}

static void assert_sha_of_as(size_t n, const char *want)
{
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[n] = '\0';
    assert_sha(s, n, want);
    free(s);
}

START_TEST(sha256_empty)
{
    assert_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(sha256_abc)
{
    assert_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(sha256_two_block_fips_vector)
{
    const char *s = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_sha(s, strlen(s), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(sha256_million_a)
{
    assert_sha_of_as(1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(sha256_padding_boundaries)
{
    assert_sha_of_as(55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    assert_sha_of_as(56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    assert_sha_of_as(63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
    assert_sha_of_as(64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    assert_sha_of_as(119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb");
    assert_sha_of_as(120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c");
}
END_TEST

START_TEST(sha256_binary_input)
{
    /* printf '\x00\xff\x80' | sha256sum */
    assert_sha("\x00\xff\x80", 3,
               "f742b965f156c10374bc23aea96e3a8aff8facd6fc079defeaa30219ad86f211");
}
END_TEST

START_TEST(sha256_lower_case_hex)
{
    char out[65];
    sha256_hex("abc", 3, out);
    ck_assert_uint_eq(strlen(out), 64);
    ck_assert_uint_eq(strspn(out, "0123456789abcdef"), 64);
}
END_TEST

/*=== idem_record ===*/

/* An answer whose body ran out of memory is never stored: the database is not even asked. */
START_TEST(record_refuses_a_truncated_body)
{
    struct idem id;
    struct reply r;

    memset(&id, 0, sizeof(id));
    snprintf(id.stored, sizeof(id.stored), "k-1");
    reply_init(&r);
    r.status = 201;
    sbuf_adds(&r.body, "{\"command_id\":");
    r.body.oom = true; /* an append failed: the rest is missing */
    ck_assert_int_eq(idem_record(&id, NULL, &r), DB_ERR);
    reply_release(&r);
}
END_TEST

Suite *idem_suite(void)
{
    Suite *s = suite_create("idem");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, key_visible_ascii_accepted);
    tcase_add_test(tc, key_128_accepted_129_rejected);
    tcase_add_test(tc, key_invalid_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("sha256");
    tcase_add_test(tc, sha256_empty);
    tcase_add_test(tc, sha256_abc);
    tcase_add_test(tc, sha256_two_block_fips_vector);
    tcase_add_test(tc, sha256_million_a);
    tcase_add_test(tc, sha256_padding_boundaries);
    tcase_add_test(tc, sha256_binary_input);
    tcase_add_test(tc, sha256_lower_case_hex);
    suite_add_tcase(s, tc);

    tc = tcase_create("record");
    tcase_add_test(tc, record_refuses_a_truncated_body);
    suite_add_tcase(s, tc);
    return s;
}
