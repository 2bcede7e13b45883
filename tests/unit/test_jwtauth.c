/*
 * test_jwtauth.c - jwtauth.c with real tokens: the keys are made by
 * openssl(1) in a temporary directory, each token is signed by `openssl dgst`
 * (HMAC, RSA, ECDSA converted from DER to JWS's R||S), never by the code
 * under test. The clock is a hook set to a fixed NOW.
 */
#include <check.h>
#include <errno.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jwtauth.h"
#include "suites.h"
#include "testutil.h"

#define NOW 1700000000
#define SECRET "cqrsd-unit-test-hs256-secret-0123456789abcdef"
#define SECRET2 "another-hs256-secret-for-the-reload-tests-9876"
#define ISS "https://issuer.example"
#define AUD "cqrsd"

static char g_dir[64];
static pid_t g_owner;
static time_t g_now = NOW;
static struct principal g_p;

static time_t fake_now(void) { return g_now; }

/*=== Keys and tokens ===*/

/* Run a shell command; in the fixture a failure ends the run, in a test it fails the test. */
static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "test_jwtauth: '%s' failed (%d)\n", cmd, rc);
        return -1;
    }
    return 0;
}

static const char *path_of(const char *name)
{
    static char bufs[4][128];
    static int next;
    char *p = bufs[next++ & 3];

    snprintf(p, sizeof(bufs[0]), "%s/%s", g_dir, name);
    return p;
}

static void put_file(const char *name, const void *data, size_t n, mode_t mode)
{
    const char *path = path_of(name);
    FILE *f = fopen(path, "w");

    ck_assert_msg(f, "%s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
}

static void put_text(const char *name, const char *text, mode_t mode)
{
    put_file(name, text, strlen(text), mode);
}

/* The whole file into a malloc'd buffer; *n its length. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc(65536);
    size_t got;

    ck_assert_msg(f && buf, "%s", path);
    got = fread(buf, 1, 65536, f);
    fclose(f);
    *n = got;
    return buf;
}

static void remove_keys(void)
{
    if (g_dir[0] && getpid() == g_owner)
        run("rm -rf '%s'", g_dir);
}

/* Once for the whole run (in the runner's own process): the key files. */
static void make_keys(void)
{
    if (g_dir[0])
        return;
    snprintf(g_dir, sizeof(g_dir), "/tmp/cqrsd-jwt-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("test_jwtauth: mkdtemp");
        exit(1);
    }
    g_owner = getpid();
    atexit(remove_keys);
    if (run("cd '%s' && umask 077 &&"
            " printf '%%s\\n' '" SECRET "' > hs.key &&"
            " openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem "
            "2>/dev/null &&"
            " openssl pkey -in rsa.pem -pubout -out rsa.pub &&"
            " openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2.pem "
            "2>/dev/null &&"
            " openssl pkey -in rsa2.pem -pubout -out rsa2.pub &&"
            " openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.pem "
            "2>/dev/null &&"
            " openssl pkey -in rsa1024.pem -pubout -out rsa1024.pub &&"
            " openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem &&"
            " openssl pkey -in ec.pem -pubout -out ec.pub &&"
            " openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec384.pem &&"
            " openssl pkey -in ec384.pem -pubout -out ec384.pub",
            g_dir) != 0)
        exit(1);
}

static char *b64url(const unsigned char *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    int len;

    ck_assert(out);
    len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

static char *b64url_str(const char *s) { return b64url((const unsigned char *)s, strlen(s)); }

/* JWS's ES256 signature (R||S, 32 bytes each) from the DER openssl writes. */
static void der_to_raw(const unsigned char *der, size_t n, unsigned char raw[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)n);
    const BIGNUM *r, *s;

    ck_assert(sig);
    ECDSA_SIG_get0(sig, &r, &s);
    ck_assert_int_eq(BN_bn2binpad(r, raw, 32), 32);
    ck_assert_int_eq(BN_bn2binpad(s, raw + 32, 32), 32);
    ECDSA_SIG_free(sig);
}

/*
 * A token: header (NULL: {"alg": sign_alg, "typ": "JWT"}) and claims,
 * signed by openssl with sign_alg ("HS256", "HS384", "RS256", "ES256", or
 * "none" for no signature) and key: for HMAC the secret itself, or "@file"
 * for a file's bytes as the secret; else a private key file. malloc'd.
 */
/* "a.b", allocated: the parts of a JWT joined */
static char *dotted(const char *a, const char *b)
{
    char *out = malloc(strlen(a) + strlen(b) + 2);

    ck_assert(out);
    sprintf(out, "%s.%s", a, b);
    return out;
}

static char *mint(const char *sign_alg, const char *key, const char *header, const char *claims)
{
    char hdr[128], *h64, *c64, *input, *token, *s64;
    unsigned char *sig = NULL, raw[64];
    size_t n = 0;
    const char *in = path_of("input"), *out = path_of("sig");

    if (!header) {
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", sign_alg);
        header = hdr;
    }
    h64 = b64url_str(header);
    c64 = b64url_str(claims);
    input = dotted(h64, c64);
    put_text("input", input, 0600);
    unlink(out);
    if (strcmp(sign_alg, "none") == 0) {
        sig = malloc(1);
    } else if (sign_alg[0] == 'H') {
        unsigned char *secret = (unsigned char *)strdup(key);
        char *hex;
        size_t len = strlen(key);

        if (key[0] == '@') {
            free(secret);
            secret = slurp(path_of(key + 1), &len);
        }
        hex = malloc(2 * len + 1);
        for (size_t i = 0; i < len; i++)
            sprintf(hex + 2 * i, "%02x", secret[i]);
        hex[2 * len] = '\0';
        ck_assert_int_eq(
            run("openssl dgst -sha%s -mac HMAC -macopt hexkey:%s -binary -out '%s' '%s'",
                sign_alg + 2, hex, out, in),
            0);
        free(hex);
        free(secret);
        sig = slurp(out, &n);
    } else {
        ck_assert_int_eq(run("openssl dgst -sha%s -sign '%s' -binary -out '%s' '%s'", sign_alg + 2,
                             path_of(key), out, in),
                         0);
        sig = slurp(out, &n);
        if (sign_alg[0] == 'E') {
            der_to_raw(sig, n, raw);
            memcpy(sig, raw, 64);
            n = 64;
        }
    }
    s64 = b64url(sig, n);
    token = dotted(input, s64);
    free(h64);
    free(c64);
    free(input);
    free(s64);
    free(sig);
    return token;
}

/* Claims of role admin that expire an hour after NOW, with extra members (or ""). */
static const char *admin_claims(const char *extra)
{
    static char buf[10000];
    snprintf(buf, sizeof(buf), "{\"role\":\"admin\",\"exp\":%d%s%s}", NOW + 3600,
             extra[0] ? "," : "", extra);
    return buf;
}

static const char *customer_claims(const char *id)
{
    static char buf[512];
    snprintf(buf, sizeof(buf), "{\"role\":\"customer\",\"customer_id\":%s,\"exp\":%d}", id,
             NOW + 3600);
    return buf;
}

static enum jwtauth_status verify(const char *token)
{
    return jwtauth_verify(token, strlen(token), &g_p);
}

#define CK_VERIFY(token, want)                                                                     \
    do {                                                                                           \
        enum jwtauth_status got_ = verify(token);                                                  \
        ck_assert_msg(got_ == (want), "%s: want %s got %s (%s)", #token,                           \
                      jwtauth_status_name(want), jwtauth_status_name(got_), tu_esc(token));        \
    } while (0)

/* JWTs on with this algorithm, its usual key, no issuer or audience. */
static void setup_alg(const char *alg)
{
    char err[256] = "";
    const char *file = strcmp(alg, "HS256") == 0   ? "hs.key"
                       : strcmp(alg, "RS256") == 0 ? "rsa.pub"
                                                   : "ec.pub";

    ck_assert_msg(jwtauth_setup(path_of(file), alg, NULL, NULL, err, sizeof(err)) == 0, "%s", err);
    ck_assert(jwtauth_enabled());
}

static void fixture_keys(void) { make_keys(); }

static void fixture_clock(void)
{
    g_now = NOW;
    jwtauth_set_clock(fake_now);
}

static void fixture_release(void)
{
    jwtauth_release();
    jwtauth_set_clock(NULL);
}

/*=== Setup ===*/

/* setup fails with a one-line message holding want, and JWTs are off. */
static void refused(const char *file, const char *alg, const char *want)
{
    char err[512] = "";

    ck_assert_int_eq(jwtauth_setup(file, alg, NULL, NULL, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, want), "%s/%s: '%s' lacks '%s'", file, alg, err, want);
    ck_assert_msg(!strchr(err, '\n'), "'%s' is not one line", err);
    ck_assert(!jwtauth_enabled());
}

START_TEST(setup_off_and_algorithms)
{
    char err[256];
    char *tok = mint("HS256", SECRET, NULL, admin_claims(""));

    ck_assert_int_eq(jwtauth_setup("", "HS256", NULL, NULL, err, sizeof(err)), 0);
    ck_assert(!jwtauth_enabled());
    ck_assert_int_eq(jwtauth_setup(NULL, NULL, NULL, NULL, err, sizeof(err)), 0);
    ck_assert(!jwtauth_enabled());
    CK_VERIFY(tok, JWTAUTH_OFF);
    ck_assert_int_eq(jwtauth_reload(err, sizeof(err)), 0); /* nothing to re-read */
    ck_assert(!jwtauth_enabled());

    refused(path_of("hs.key"), "hs256", "algorithm \"hs256\"");
    refused(path_of("hs.key"), "none", "HS256, RS256 or ES256");
    refused(path_of("hs.key"), "HS384", "HS256, RS256 or ES256");
    refused(path_of("rsa.pub"), "RS512", "HS256, RS256 or ES256");
    refused(path_of("hs.key"), "", "HS256, RS256 or ES256");
    refused(path_of("hs.key"), NULL, "HS256, RS256 or ES256");
    CK_VERIFY(tok, JWTAUTH_OFF);

    setup_alg("HS256");
    CK_VERIFY(tok, JWTAUTH_OK);
    jwtauth_release();
    ck_assert(!jwtauth_enabled());
    CK_VERIFY(tok, JWTAUTH_OFF);
    free(tok);
}
END_TEST

START_TEST(setup_file_modes)
{
    static const mode_t open_modes[] = {0644, 0640, 0604, 0620, 0602, 0660, 0666};
    char open_key[128];

    snprintf(open_key, sizeof(open_key), "%s", path_of("open.key"));

    for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
        put_text("open.key", SECRET, open_modes[i]);
        refused(open_key, "HS256", open_key);
        refused(open_key, "HS256", "group or others (chmod 600 it)");
    }
    put_text("open.key", SECRET, 0400);
    setup_alg("HS256"); /* a good one in between: a failure turns JWTs off */
    refused(path_of("missing.key"), "HS256", path_of("missing.key"));
    refused(g_dir, "HS256", "not a regular file");
    /* the public key files are under the same rule */
    run("cp '%s' '%s' && chmod 644 '%s'", path_of("rsa.pub"), path_of("open.pub"),
        path_of("open.pub"));
    refused(path_of("open.pub"), "RS256", "group or others");
    {
        char err[256];
        ck_assert_msg(jwtauth_setup(open_key, "HS256", NULL, NULL, err, sizeof(err)) == 0, "%s",
                      err);
    }
}
END_TEST

START_TEST(setup_key_contents)
{
    char err[256], big[70000];
    char *tok = mint("HS256", SECRET, NULL, admin_claims(""));

    put_text("empty.key", "", 0600);
    refused(path_of("empty.key"), "HS256", "needs 32 bytes or more, it has 0");
    put_text("short.key", "0123456789012345678901234567890\n", 0600); /* 31 and a newline */
    refused(path_of("short.key"), "HS256", "needs 32 bytes or more, it has 31");
    refused(path_of("rsa.pub"), "HS256", "holds a PEM key, not an HS256 secret");
    refused(path_of("hs.key"), "RS256", "holds no PEM public key");
    refused(path_of("rsa.pem"), "RS256", "holds no PEM public key"); /* a private key */
    refused(path_of("ec.pub"), "RS256", "is not an RSA public key");
    refused(path_of("rsa1024.pub"), "RS256", "an RSA key of 1024 bits");
    refused(path_of("rsa.pub"), "ES256", "is not an EC P-256 public key");
    refused(path_of("ec384.pub"), "ES256", "is not an EC P-256 public key");
    refused(path_of("hs.key"), "ES256", "holds no PEM public key");
    memset(big, 'k', sizeof(big));
    put_file("big.key", big, sizeof(big), 0600);
    refused(path_of("big.key"), "HS256", "larger than");

    /* the secret is the whole file less one trailing newline (LF or CRLF) */
    put_text("crlf.key", SECRET "\r\n", 0600);
    ck_assert_int_eq(jwtauth_setup(path_of("crlf.key"), "HS256", NULL, NULL, err, sizeof(err)), 0);
    CK_VERIFY(tok, JWTAUTH_OK);
    put_text("nonl.key", SECRET, 0600);
    ck_assert_int_eq(jwtauth_setup(path_of("nonl.key"), "HS256", NULL, NULL, err, sizeof(err)), 0);
    CK_VERIFY(tok, JWTAUTH_OK);
    put_text("twonl.key", SECRET "\n\n", 0600); /* the secret is SECRET "\n" */
    ck_assert_int_eq(jwtauth_setup(path_of("twonl.key"), "HS256", NULL, NULL, err, sizeof(err)), 0);
    CK_VERIFY(tok, JWTAUTH_SIGNATURE);
    free(tok);
}
END_TEST

START_TEST(status_names)
{
    ck_assert_str_eq(jwtauth_status_name(JWTAUTH_OK), "ok");
    ck_assert_str_eq(jwtauth_status_name(JWTAUTH_EXPIRED), "expired");
    ck_assert_str_eq(jwtauth_status_name(JWTAUTH_NOMEM), "nomem");
    ck_assert_str_eq(jwtauth_status_name(JWTAUTH__COUNT), "?");
    ck_assert_str_eq(jwtauth_status_name((enum jwtauth_status) - 1), "?");
    for (int s = 0; s < JWTAUTH__COUNT; s++)
        ck_assert(jwtauth_status_name((enum jwtauth_status)s)[0] != '?');
}
END_TEST

/*=== Valid tokens, each algorithm ===*/

START_TEST(valid_tokens)
{
    static const struct {
        const char *alg, *signer;
    } algs[] = {{"HS256", SECRET}, {"RS256", "rsa.pem"}, {"ES256", "ec.pem"}};

    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        char *admin = mint(algs[i].alg, algs[i].signer, NULL, admin_claims("\"sub\":\"ops\""));
        char *cust = mint(algs[i].alg, algs[i].signer, NULL, customer_claims("7"));

        setup_alg(algs[i].alg);
        memset(&g_p, 0xff, sizeof(g_p));
        CK_VERIFY(admin, JWTAUTH_OK);
        ck_assert_int_eq(g_p.role, ROLE_ADMIN);
        ck_assert_int_eq(g_p.customer_id, 0);
        ck_assert_str_eq(g_p.scope, "admin");
        CK_VERIFY(cust, JWTAUTH_OK);
        ck_assert_int_eq(g_p.role, ROLE_CUSTOMER);
        ck_assert_int_eq(g_p.customer_id, 7);
        ck_assert_str_eq(g_p.scope, "c7");
        /* and from the cache, the same */
        CK_VERIFY(admin, JWTAUTH_OK);
        ck_assert_int_eq(g_p.role, ROLE_ADMIN);
        CK_VERIFY(cust, JWTAUTH_OK);
        ck_assert_int_eq(g_p.customer_id, 7);
        free(admin);
        free(cust);
    }
}
END_TEST

START_TEST(header_forms)
{
    const char *claims = admin_claims("");
    char *no_typ = mint("HS256", SECRET, "{\"alg\":\"HS256\"}", claims);
    char *typ_lower =
        mint("HS256", SECRET, "{\"typ\":\"jwt\",\"alg\":\"HS256\",\"kid\":\"k1\"}", claims);
    char *typ_other = mint("HS256", SECRET, "{\"alg\":\"HS256\",\"typ\":\"JOSE\"}", claims);
    char *typ_num = mint("HS256", SECRET, "{\"alg\":\"HS256\",\"typ\":1}", claims);
    char *crit = mint("HS256", SECRET, "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"exp\":1}", claims);
    char *dup = mint("HS256", SECRET, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", claims);
    char *arr = mint("HS256", SECRET, "[\"HS256\"]", claims);
    char *no_alg = mint("HS256", SECRET, "{\"typ\":\"JWT\"}", claims);
    char *alg_num = mint("HS256", SECRET, "{\"alg\":256}", claims);
    char *not_json = mint("HS256", SECRET, "{\"alg\":\"HS256\"", claims);
    char *dup_claim = mint("HS256", SECRET, NULL,
                           "{\"role\":\"customer\",\"role\":\"admin\",\"exp\":1700003600}");
    char *claims_arr = mint("HS256", SECRET, NULL, "[1700003600]");
    char *claims_str = mint("HS256", SECRET, NULL, "\"admin\"");

    setup_alg("HS256");
    CK_VERIFY(no_typ, JWTAUTH_OK);
    CK_VERIFY(typ_lower, JWTAUTH_OK);
    CK_VERIFY(typ_other, JWTAUTH_MALFORMED);
    CK_VERIFY(typ_num, JWTAUTH_MALFORMED);
    CK_VERIFY(crit, JWTAUTH_MALFORMED);
    CK_VERIFY(dup, JWTAUTH_MALFORMED);
    CK_VERIFY(arr, JWTAUTH_MALFORMED);
    CK_VERIFY(no_alg, JWTAUTH_MALFORMED);
    CK_VERIFY(alg_num, JWTAUTH_MALFORMED);
    CK_VERIFY(not_json, JWTAUTH_MALFORMED);
    CK_VERIFY(dup_claim, JWTAUTH_MALFORMED);
    CK_VERIFY(claims_arr, JWTAUTH_MALFORMED);
    CK_VERIFY(claims_str, JWTAUTH_MALFORMED);
    free(no_typ);
    free(typ_lower);
    free(typ_other);
    free(typ_num);
    free(crit);
    free(dup);
    free(arr);
    free(no_alg);
    free(alg_num);
    free(not_json);
    free(dup_claim);
    free(claims_arr);
    free(claims_str);
}
END_TEST

/*=== Algorithms ===*/

START_TEST(alg_none)
{
    const char *claims = admin_claims("");
    char *none = mint("none", NULL, "{\"alg\":\"none\",\"typ\":\"JWT\"}", claims);
    char *none_nodot = strdup(none);
    char *none_sig = mint("HS256", SECRET, "{\"alg\":\"none\"}", claims);
    char *none_upper = mint("HS256", SECRET, "{\"alg\":\"NONE\"}", claims);
    char *none_cap = mint("HS256", SECRET, "{\"alg\":\"None\"}", claims);
    char *hs_lower = mint("HS256", SECRET, "{\"alg\":\"hs256\"}", claims);

    none_nodot[strlen(none_nodot) - 1] = '\0'; /* "h.c." -> "h.c" */
    ck_assert_int_eq(none[strlen(none) - 1], '.');
    for (int i = 0; i < 3; i++) {
        setup_alg(i == 0 ? "HS256" : i == 1 ? "RS256" : "ES256");
        CK_VERIFY(none, JWTAUTH_MALFORMED);
        CK_VERIFY(none_nodot, JWTAUTH_MALFORMED);
        CK_VERIFY(none_sig, JWTAUTH_ALGORITHM);
        CK_VERIFY(none_upper, JWTAUTH_ALGORITHM);
        CK_VERIFY(none_cap, JWTAUTH_ALGORITHM);
    }
    /* libjwt reads "hs256" as HS256; the algorithm names are case-sensitive (RFC 7515 4.1.1) */
    setup_alg("HS256");
    CK_VERIFY(hs_lower, JWTAUTH_ALGORITHM);
    free(none);
    free(none_nodot);
    free(none_sig);
    free(none_upper);
    free(none_cap);
    free(hs_lower);
}
END_TEST

START_TEST(other_algorithms)
{
    const char *claims = admin_claims("");
    char *hs256 = mint("HS256", SECRET, NULL, claims);
    char *hs384 = mint("HS384", SECRET, NULL, claims);
    char *hs512 = mint("HS512", SECRET, NULL, claims);
    char *rs256 = mint("RS256", "rsa.pem", NULL, claims);
    char *rs384 = mint("RS384", "rsa.pem", NULL, claims);
    char *es256 = mint("ES256", "ec.pem", NULL, claims);

    setup_alg("HS256");
    CK_VERIFY(hs256, JWTAUTH_OK);
    CK_VERIFY(hs384, JWTAUTH_ALGORITHM);
    CK_VERIFY(hs512, JWTAUTH_ALGORITHM);
    CK_VERIFY(rs256, JWTAUTH_ALGORITHM);
    CK_VERIFY(es256, JWTAUTH_ALGORITHM);
    setup_alg("RS256");
    CK_VERIFY(rs256, JWTAUTH_OK);
    CK_VERIFY(hs256, JWTAUTH_ALGORITHM);
    CK_VERIFY(rs384, JWTAUTH_ALGORITHM);
    CK_VERIFY(es256, JWTAUTH_ALGORITHM);
    setup_alg("ES256");
    CK_VERIFY(es256, JWTAUTH_OK);
    CK_VERIFY(hs256, JWTAUTH_ALGORITHM);
    CK_VERIFY(rs256, JWTAUTH_ALGORITHM);
    free(hs256);
    free(hs384);
    free(hs512);
    free(rs256);
    free(rs384);
    free(es256);
}
END_TEST

/*
 * The classic confusion: the public key's PEM text, which anyone may have,
 * used as an HMAC secret. libjwt 1.10 alone accepts such a token; our check
 * of the algorithm refuses it.
 */
START_TEST(public_key_as_hmac_secret)
{
    const char *claims = admin_claims("");
    char *rsa_confused = mint("HS256", "@rsa.pub", NULL, claims);
    char *ec_confused = mint("HS256", "@ec.pub", NULL, claims);
    char *rs_header = mint("HS256", "@rsa.pub", "{\"alg\":\"RS256\"}", claims);
    size_t n;
    unsigned char *pem = slurp(path_of("rsa.pub"), &n);
    jwt_t *jwt = NULL;

    /* what libjwt does on its own: verifies HS256 with the PEM text as the secret */
    ck_assert_int_eq(jwt_decode(&jwt, rsa_confused, pem, (int)n), 0);
    ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
    jwt_free(jwt);

    setup_alg("RS256");
    CK_VERIFY(rsa_confused, JWTAUTH_ALGORITHM);
    CK_VERIFY(rs_header, JWTAUTH_SIGNATURE); /* an HMAC where an RSA signature belongs */
    setup_alg("ES256");
    CK_VERIFY(ec_confused, JWTAUTH_ALGORITHM);
    free(pem);
    free(rsa_confused);
    free(ec_confused);
    free(rs_header);
}
END_TEST

/*=== Time ===*/

START_TEST(expiry_and_skew)
{
    char claims[256];
    char *tok;

    setup_alg("HS256");
#define AT(fmt, ...)                                                                               \
    (snprintf(claims, sizeof(claims), "{\"role\":\"admin\"," fmt "}", __VA_ARGS__),                \
     tok = mint("HS256", SECRET, NULL, claims))
    AT("\"exp\":%d", NOW - 31);
    CK_VERIFY(tok, JWTAUTH_EXPIRED);
    free(tok);
    AT("\"exp\":%d", NOW - 30); /* within the skew */
    CK_VERIFY(tok, JWTAUTH_OK);
    free(tok);
    AT("\"exp\":%d.5", NOW - 30); /* NumericDate may have a fraction */
    CK_VERIFY(tok, JWTAUTH_OK);
    free(tok);
    AT("\"exp\":%d.5", NOW - 31); /* NOW - 30.5 */
    CK_VERIFY(tok, JWTAUTH_EXPIRED);
    free(tok);
    AT("\"exp\":%d,\"nbf\":%d", NOW + 60, NOW + 31);
    CK_VERIFY(tok, JWTAUTH_NOT_YET_VALID);
    free(tok);
    AT("\"exp\":%d,\"nbf\":%d", NOW + 60, NOW + 30); /* within the skew */
    CK_VERIFY(tok, JWTAUTH_OK);
    free(tok);
    AT("\"exp\":%d,\"nbf\":%d", NOW + 60, NOW - 3600);
    CK_VERIFY(tok, JWTAUTH_OK);
    free(tok);
    AT("\"exp\":%s", "1e300"); /* far away, kept in range in the cache */
    CK_VERIFY(tok, JWTAUTH_OK);
    CK_VERIFY(tok, JWTAUTH_OK);
    free(tok);
    AT("\"exp\":%d", -5);
    CK_VERIFY(tok, JWTAUTH_EXPIRED);
    free(tok);
    /* exp is required, and a number; so is nbf when it is there */
    AT("\"iat\":%d", NOW);
    CK_VERIFY(tok, JWTAUTH_CLAIMS);
    free(tok);
    AT("\"exp\":\"%d\"", NOW + 60);
    CK_VERIFY(tok, JWTAUTH_CLAIMS);
    free(tok);
    AT("\"exp\":%s", "null");
    CK_VERIFY(tok, JWTAUTH_CLAIMS);
    free(tok);
    AT("\"exp\":%s", "true");
    CK_VERIFY(tok, JWTAUTH_CLAIMS);
    free(tok);
    AT("\"exp\":%d,\"nbf\":\"%d\"", NOW + 60, NOW);
    CK_VERIFY(tok, JWTAUTH_CLAIMS);
    free(tok);
#undef AT
}
END_TEST

/*=== Issuer, audience, roles ===*/

START_TEST(issuer_and_audience)
{
    static const struct {
        const char *extra;
        enum jwtauth_status want;
    } cases[] = {
        {"\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"", JWTAUTH_OK},
        {"\"iss\":\"" ISS "\",\"aud\":[\"other\",\"" AUD "\"]", JWTAUTH_OK},
        {"\"iss\":\"" ISS "\",\"aud\":[\"" AUD "\"]", JWTAUTH_OK},
        {"\"iss\":\"" ISS "/\",\"aud\":\"" AUD "\"", JWTAUTH_ISSUER},
        {"\"iss\":\"https://evil.example\",\"aud\":\"" AUD "\"", JWTAUTH_ISSUER},
        {"\"aud\":\"" AUD "\"", JWTAUTH_ISSUER},
        {"\"iss\":[\"" ISS "\"],\"aud\":\"" AUD "\"", JWTAUTH_ISSUER},
        {"\"iss\":null,\"aud\":\"" AUD "\"", JWTAUTH_ISSUER},
        {"\"iss\":\"" ISS "\"", JWTAUTH_AUDIENCE},
        {"\"iss\":\"" ISS "\",\"aud\":\"CQRSD\"", JWTAUTH_AUDIENCE},
        {"\"iss\":\"" ISS "\",\"aud\":[\"other\"]", JWTAUTH_AUDIENCE},
        {"\"iss\":\"" ISS "\",\"aud\":[]", JWTAUTH_AUDIENCE},
        {"\"iss\":\"" ISS "\",\"aud\":[1,null,[\"" AUD "\"]]", JWTAUTH_AUDIENCE},
        {"\"iss\":\"" ISS "\",\"aud\":{\"" AUD "\":1}", JWTAUTH_AUDIENCE},
    };
    char err[256];
    char *toks[sizeof(cases) / sizeof(cases[0])];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        toks[i] = mint("HS256", SECRET, NULL, admin_claims(cases[i].extra));
    ck_assert_int_eq(jwtauth_setup(path_of("hs.key"), "HS256", ISS, AUD, err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(verify(toks[i]) == cases[i].want, "%s: want %s got %s", cases[i].extra,
                      jwtauth_status_name(cases[i].want), jwtauth_status_name(verify(toks[i])));
    /* neither configured: neither checked */
    ck_assert_int_eq(jwtauth_setup(path_of("hs.key"), "HS256", "", NULL, err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(verify(toks[i]) == JWTAUTH_OK, "%s", cases[i].extra);
    /* the audience alone */
    ck_assert_int_eq(jwtauth_setup(path_of("hs.key"), "HS256", NULL, AUD, err, sizeof(err)), 0);
    CK_VERIFY(toks[5], JWTAUTH_OK);
    CK_VERIFY(toks[8], JWTAUTH_AUDIENCE);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        free(toks[i]);
}
END_TEST

START_TEST(role_claims)
{
    static const struct {
        const char *claims;
        enum jwtauth_status want;
    } cases[] = {
        {"{\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"superuser\",\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"Admin\",\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"\",\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":1,\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":[\"admin\"],\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":null,\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"roles\":\"admin\",\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"customer_id\":0,\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"customer_id\":-3,\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"customer_id\":\"5\",\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"customer_id\":5.0,\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"customer_id\":5.5,\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"customer_id\":true,\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"customer_id\":null,\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"customer_id\":[5],\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"customer_id\":1e3,\"exp\":1700003600}", JWTAUTH_CLAIMS},
        {"{\"role\":\"customer\",\"customer_id\":1,\"exp\":1700003600}", JWTAUTH_OK},
        {"{\"role\":\"customer\",\"customer_id\":9223372036854775807,\"exp\":1700003600}",
         JWTAUTH_OK},
        {"{\"role\":\"admin\",\"customer_id\":5,\"exp\":1700003600}", JWTAUTH_OK},
        {"{\"role\":\"admin\",\"customer_id\":\"x\",\"exp\":1700003600}", JWTAUTH_OK},
    };

    setup_alg("HS256");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *tok = mint("HS256", SECRET, NULL, cases[i].claims);
        enum jwtauth_status got = verify(tok);
        ck_assert_msg(got == cases[i].want, "%s: want %s got %s", cases[i].claims,
                      jwtauth_status_name(cases[i].want), jwtauth_status_name(got));
        free(tok);
    }
    /* the last ones: an admin stays an admin whatever customer_id says */
    ck_assert_int_eq(g_p.role, ROLE_ADMIN);
    ck_assert_int_eq(g_p.customer_id, 0);
}
END_TEST

/*=== Malformed and forged tokens ===*/

START_TEST(format_and_forgery)
{
    char *tok = mint("HS256", SECRET, NULL, customer_claims("9"));
    char *bad_claims = mint("HS256", SECRET, NULL, "{\"role\":\"admin\",\"exp\":1700003600");
    size_t len = strlen(tok);
    char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
    char buf[12000];
    struct principal p;

    setup_alg("HS256");
    CK_VERIFY(tok, JWTAUTH_OK);
    /* every proper prefix fails (most are not three parts; the rest lack signature bytes) */
    for (size_t n = 0; n < len; n++) {
        enum jwtauth_status st = jwtauth_verify(tok, n, &p);
        ck_assert_msg(st == JWTAUTH_MALFORMED || st == JWTAUTH_SIGNATURE, "the first %zu bytes: %s",
                      n, jwtauth_status_name(st));
    }
    /* only len bytes are read: no NUL needed, what follows is not looked at */
    snprintf(buf, sizeof(buf), "%s.garbage", tok);
    ck_assert_int_eq(jwtauth_verify(buf, len, &p), JWTAUTH_OK);
    ck_assert_int_eq(p.customer_id, 9);
    ck_assert_int_eq(jwtauth_verify(buf, len + 8, &p), JWTAUTH_MALFORMED);
    /* a character outside base64url in each part, and a NUL */
    {
        size_t at[] = {3, (size_t)(d1 - tok) + 3, (size_t)(d2 - tok) + 3};
        const char bad[] = {'*', '+', '/', '=', ' ', '\0', '\n', (char)0xc3};
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < sizeof(bad); j++) {
                memcpy(buf, tok, len + 1);
                buf[at[i]] = bad[j];
                ck_assert_int_eq(jwtauth_verify(buf, len, &p), JWTAUTH_MALFORMED);
            }
    }
    /* other claims under this signature (customer 8, not 9) */
    {
        char *other = mint("HS256", SECRET, NULL, customer_claims("8"));
        snprintf(buf, sizeof(buf), "%.*s%s", (int)(strrchr(other, '.') - other), other, d2);
        CK_VERIFY(buf, JWTAUTH_SIGNATURE);
        free(other);
    }
    /* a changed character of the signature that is still base64url */
    {
        size_t at[] = {(size_t)(d2 - tok) + 1, (size_t)(d2 - tok) + 20, len - 2};
        for (size_t i = 0; i < 3; i++) {
            memcpy(buf, tok, len + 1);
            buf[at[i]] = buf[at[i]] == 'A' ? 'B' : 'A';
            ck_assert_int_eq(jwtauth_verify(buf, len, &p), JWTAUTH_SIGNATURE);
        }
        /* the last character's unused low bits: another spelling of the same bytes */
        memcpy(buf, tok, len + 1);
        buf[len - 1] ^= 1;
        ck_assert_int_ne(jwtauth_verify(buf, len, &p), JWTAUTH_OK);
    }
    /* a header of the right alg whose JSON is cut short */
    memcpy(buf, tok, len + 1);
    ck_assert_int_eq(jwtauth_verify(buf + 2, len - 2, &p), JWTAUTH_MALFORMED);
    /* claims that are not JSON, under a good signature */
    CK_VERIFY(bad_claims, JWTAUTH_MALFORMED);
    /* the parts: empty, missing, too many */
    snprintf(buf, sizeof(buf), "%s.", tok);
    CK_VERIFY(buf, JWTAUTH_MALFORMED);
    snprintf(buf, sizeof(buf), "%s.AAAA", tok);
    CK_VERIFY(buf, JWTAUTH_MALFORMED);
    snprintf(buf, sizeof(buf), ".%s", tok);
    CK_VERIFY(buf, JWTAUTH_MALFORMED);
    snprintf(buf, sizeof(buf), "%.*s.%s", (int)(d1 - tok), tok, d1); /* h..c.s */
    CK_VERIFY(buf, JWTAUTH_MALFORMED);
    snprintf(buf, sizeof(buf), "%.*s", (int)(d2 - tok), tok); /* h.c */
    CK_VERIFY(buf, JWTAUTH_MALFORMED);
    snprintf(buf, sizeof(buf), "%.*s.", (int)(d2 - tok), tok); /* h.c. */
    CK_VERIFY(buf, JWTAUTH_MALFORMED);
    snprintf(buf, sizeof(buf), "%s=", tok); /* padding */
    CK_VERIFY(buf, JWTAUTH_MALFORMED);
    CK_VERIFY("..", JWTAUTH_MALFORMED);
    CK_VERIFY("a.b.c", JWTAUTH_MALFORMED);
    CK_VERIFY("", JWTAUTH_MALFORMED);
    ck_assert_int_eq(jwtauth_verify(NULL, 0, &p), JWTAUTH_MALFORMED);
    free(tok);
    free(bad_claims);
}
END_TEST

/* A 10 KB token is refused on its length: not hashed, not decoded, not verified. */
START_TEST(oversized_token)
{
    static char big[10 * 1024 + 1];
    char *tok = mint("HS256", SECRET, NULL, admin_claims(""));
    uint64_t misses;
    struct timespec t0, t1;

    setup_alg("HS256");
    memset(big, 'A', sizeof(big) - 1);
    big[100] = big[5000] = '.';
    misses = jwtauth_cache_misses();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 1000; i++)
        CK_VERIFY(big, JWTAUTH_MALFORMED);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_uint_eq(jwtauth_cache_misses(), misses); /* never reached the cache */
    ck_assert_msg((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 500000000L,
                  "1000 refusals took over 0.5 s");
    /* the bound: JWTAUTH_MAX_TOKEN bytes are looked at, one more are not */
    big[JWTAUTH_MAX_TOKEN] = '\0';
    ck_assert_int_eq(jwtauth_verify(big, JWTAUTH_MAX_TOKEN, &g_p), JWTAUTH_MALFORMED);
    ck_assert_uint_eq(jwtauth_cache_misses(), misses + 1);
    /* a long real token (claims padded to ~8 KB) still verifies */
    {
        static char extra[7900];
        char *longtok;
        memset(extra, 'x', sizeof(extra) - 1);
        memcpy(extra, "\"pad\":\"", 7);
        extra[sizeof(extra) - 2] = '"';
        longtok = mint("HS256", SECRET, NULL, admin_claims(extra));
        ck_assert_uint_gt(strlen(longtok), 8192);
        CK_VERIFY(longtok, JWTAUTH_MALFORMED);
        free(longtok);
        extra[6000] = '"';
        extra[6001] = '\0';
        longtok = mint("HS256", SECRET, NULL, admin_claims(extra));
        ck_assert_uint_lt(strlen(longtok), 8192);
        CK_VERIFY(longtok, JWTAUTH_OK);
        free(longtok);
    }
    free(tok);
}
END_TEST

/*=== Reload ===*/

START_TEST(reload_hs256)
{
    char err[256];
    char *a = mint("HS256", SECRET, NULL, admin_claims(""));
    char *b = mint("HS256", SECRET2, NULL, admin_claims(""));
    char *c = mint("HS256", SECRET "-third", NULL, admin_claims(""));
    const char *file = path_of("reload.key");
    uint64_t hits;

    put_text("reload.key", SECRET "\n", 0600);
    ck_assert_int_eq(jwtauth_setup(file, "HS256", NULL, NULL, err, sizeof(err)), 0);
    CK_VERIFY(a, JWTAUTH_OK);
    CK_VERIFY(a, JWTAUTH_OK); /* cached now */
    CK_VERIFY(b, JWTAUTH_SIGNATURE);

    put_text("reload.key", SECRET2 "\n", 0600);
    ck_assert_int_eq(jwtauth_reload(err, sizeof(err)), 0);
    hits = jwtauth_cache_hits();
    CK_VERIFY(a, JWTAUTH_SIGNATURE); /* the cache forgot it */
    ck_assert_uint_eq(jwtauth_cache_hits(), hits);
    CK_VERIFY(b, JWTAUTH_OK);
    CK_VERIFY(b, JWTAUTH_OK);

    /* bad new files: the key in use stays */
    put_text("reload.key", SECRET "-third\n", 0644);
    ck_assert_int_eq(jwtauth_reload(err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, file) && strstr(err, "group or others"), "%s", err);
    put_text("reload.key", "too-short\n", 0600);
    ck_assert_int_eq(jwtauth_reload(err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "32 bytes"), "%s", err);
    unlink(file);
    ck_assert_int_eq(jwtauth_reload(err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, file) && strstr(err, "No such file"), "%s", err);
    ck_assert(jwtauth_enabled());
    CK_VERIFY(b, JWTAUTH_OK);
    CK_VERIFY(c, JWTAUTH_SIGNATURE);
    CK_VERIFY(a, JWTAUTH_SIGNATURE);

    /* the same key again: still a new key for the cache */
    put_text("reload.key", SECRET2 "\n", 0600);
    CK_VERIFY(b, JWTAUTH_OK);
    hits = jwtauth_cache_hits();
    ck_assert_int_eq(jwtauth_reload(err, sizeof(err)), 0);
    CK_VERIFY(b, JWTAUTH_OK);
    ck_assert_uint_eq(jwtauth_cache_hits(), hits);
    CK_VERIFY(b, JWTAUTH_OK);
    ck_assert_uint_eq(jwtauth_cache_hits(), hits + 1);
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(reload_public_keys)
{
    char err[256];
    char *one = mint("RS256", "rsa.pem", NULL, customer_claims("3"));
    char *two = mint("RS256", "rsa2.pem", NULL, customer_claims("3"));
    const char *file = path_of("reload.pub");

    run("cp '%s' '%s' && chmod 600 '%s'", path_of("rsa.pub"), file, file);
    ck_assert_int_eq(jwtauth_setup(file, "RS256", NULL, NULL, err, sizeof(err)), 0);
    CK_VERIFY(one, JWTAUTH_OK);
    CK_VERIFY(two, JWTAUTH_SIGNATURE);
    /* an EC key where an RSA key belongs: refused, the RSA key stays */
    run("cp '%s' '%s'", path_of("ec.pub"), file);
    ck_assert_int_eq(jwtauth_reload(err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "not an RSA public key"), "%s", err);
    CK_VERIFY(one, JWTAUTH_OK);
    run("cp '%s' '%s'", path_of("rsa2.pub"), file);
    ck_assert_int_eq(jwtauth_reload(err, sizeof(err)), 0);
    CK_VERIFY(one, JWTAUTH_SIGNATURE);
    CK_VERIFY(two, JWTAUTH_OK);
    free(one);
    free(two);
}
END_TEST

/*=== The cache ===*/

START_TEST(cache_hits_and_failures)
{
    char *tok = mint("ES256", "ec.pem", NULL, customer_claims("11"));
    char *other = mint("ES256", "ec.pem", NULL, customer_claims("12"));
    char *forged = strdup(tok);
    uint64_t h0, m0;

    setup_alg("ES256");
    forged[strlen(forged) - 3] = forged[strlen(forged) - 3] == 'A' ? 'B' : 'A';
    h0 = jwtauth_cache_hits();
    m0 = jwtauth_cache_misses();
    CK_VERIFY(tok, JWTAUTH_OK);
    ck_assert_uint_eq(jwtauth_cache_hits(), h0);
    ck_assert_uint_eq(jwtauth_cache_misses(), m0 + 1);
    memset(&g_p, 0, sizeof(g_p));
    CK_VERIFY(tok, JWTAUTH_OK);
    ck_assert_uint_eq(jwtauth_cache_hits(), h0 + 1);
    ck_assert_uint_eq(jwtauth_cache_misses(), m0 + 1);
    ck_assert_int_eq(g_p.role, ROLE_CUSTOMER);
    ck_assert_int_eq(g_p.customer_id, 11);
    ck_assert_str_eq(g_p.scope, "c11");
    CK_VERIFY(other, JWTAUTH_OK);
    ck_assert_int_eq(g_p.customer_id, 12);
    /* a failure is never cached: each try is verified again, and fails again */
    for (int i = 0; i < 3; i++)
        CK_VERIFY(forged, JWTAUTH_SIGNATURE);
    ck_assert_uint_eq(jwtauth_cache_hits(), h0 + 1);
    ck_assert_uint_eq(jwtauth_cache_misses(), m0 + 5);
    CK_VERIFY(tok, JWTAUTH_OK);
    ck_assert_uint_eq(jwtauth_cache_hits(), h0 + 2);
    free(tok);
    free(other);
    free(forged);
}
END_TEST

/* An HS256 token signed here with libcrypto (no openssl process: for many tokens). */
static char *mint_fast(const char *claims)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char *h64 = b64url_str(header), *c64 = b64url_str(claims), *input, *s64, *token;

    input = dotted(h64, c64);
    ck_assert(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)input,
                   strlen(input), mac, &n));
    s64 = b64url(mac, n);
    token = dotted(input, s64);
    free(h64);
    free(c64);
    free(input);
    free(s64);
    return token;
}

/*
 * Many live tokens at once, as many customers' browsers send: each is
 * verified once and then remembered, none pushes another out (with the
 * table direct-mapped, 1,000 tokens in 4,096 slots collided ~120 times).
 */
START_TEST(cache_keeps_many_tokens)
{
    enum { N = 1000 };
    char *tok[N];
    uint64_t m0, h0;

    setup_alg("HS256");
    for (int i = 0; i < N; i++) {
        char id[24];
        snprintf(id, sizeof(id), "%d", i + 1);
        tok[i] = mint_fast(customer_claims(id));
    }
    m0 = jwtauth_cache_misses();
    for (int i = 0; i < N; i++)
        CK_VERIFY(tok[i], JWTAUTH_OK);
    ck_assert_uint_eq(jwtauth_cache_misses(), m0 + N);
    h0 = jwtauth_cache_hits();
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < N; i++) {
            CK_VERIFY(tok[i], JWTAUTH_OK);
            ck_assert_int_eq(g_p.customer_id, i + 1);
        }
    /* 8 ways per set: overflowing one of 512 sets by 1,000 tokens is a 1-in-10^4 event */
    ck_assert_uint_ge(jwtauth_cache_hits(), h0 + 3 * N - 30);
    ck_assert_uint_le(jwtauth_cache_misses(), m0 + N + 30);
    for (int i = 0; i < N; i++)
        free(tok[i]);
}
END_TEST

/* A cached token is good until exp + skew, never after, as if it were verified again. */
START_TEST(cache_respects_expiry)
{
    char claims[128];
    char *tok;
    uint64_t h0;

    snprintf(claims, sizeof(claims), "{\"role\":\"admin\",\"exp\":%d}", NOW + 2);
    tok = mint("RS256", "rsa.pem", NULL, claims);
    setup_alg("RS256");
    CK_VERIFY(tok, JWTAUTH_OK);
    h0 = jwtauth_cache_hits();
    g_now = NOW + 2 + JWTAUTH_SKEW; /* the last second it is good */
    CK_VERIFY(tok, JWTAUTH_OK);
    ck_assert_uint_eq(jwtauth_cache_hits(), h0 + 1);
    g_now = NOW + 2 + JWTAUTH_SKEW + 1;
    CK_VERIFY(tok, JWTAUTH_EXPIRED);
    CK_VERIFY(tok, JWTAUTH_EXPIRED);
    ck_assert_uint_eq(jwtauth_cache_hits(), h0 + 1);
    /* a token with a fractional exp: the cache ends where verification does */
    free(tok);
    snprintf(claims, sizeof(claims), "{\"role\":\"admin\",\"exp\":%d.9}", NOW + 2);
    tok = mint("HS256", SECRET, NULL, claims);
    setup_alg("HS256");
    g_now = NOW;
    CK_VERIFY(tok, JWTAUTH_OK);
    g_now = NOW + 2 + JWTAUTH_SKEW;
    CK_VERIFY(tok, JWTAUTH_OK);
    g_now = NOW + 2 + JWTAUTH_SKEW + 1;
    CK_VERIFY(tok, JWTAUTH_EXPIRED);
    free(tok);
}
END_TEST

/* Verifications on four threads while the key is re-read 300 times: no torn key, no freed key. */
struct hammer {
    const char *good, *forged;
    int bad;
};

static void *hammer(void *arg)
{
    struct hammer *h = arg;
    struct principal p;

    for (int i = 0; i < 3000; i++) {
        if (jwtauth_verify(h->good, strlen(h->good), &p) != JWTAUTH_OK || p.customer_id != 5)
            h->bad++;
        if (i % 10 == 0 && jwtauth_verify(h->forged, strlen(h->forged), &p) != JWTAUTH_SIGNATURE)
            h->bad++;
    }
    return NULL;
}

START_TEST(reload_while_verifying)
{
    char err[256];
    char *good = mint("HS256", SECRET, NULL, customer_claims("5"));
    char *forged = strdup(good);
    struct hammer h[4];
    pthread_t t[4];

    forged[strlen(forged) - 2] = forged[strlen(forged) - 2] == 'A' ? 'B' : 'A';
    setup_alg("HS256");
    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){.good = good, .forged = forged};
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &h[i]), 0);
    }
    for (int i = 0; i < 300; i++)
        ck_assert_msg(jwtauth_reload(err, sizeof(err)) == 0, "%s", err);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(h[i].bad, 0);
    }
    free(good);
    free(forged);
}
END_TEST

/* A test case with the keys made once, and the fake clock set (and JWTs off) around each test. */
static TCase *keyed_tcase(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_unchecked_fixture(tc, fixture_keys, NULL);
    tcase_add_checked_fixture(tc, fixture_clock, fixture_release);
    tcase_set_timeout(tc, 60);
    return tc;
}

Suite *jwtauth_suite(void)
{
    Suite *s = suite_create("jwtauth");
    TCase *setup = keyed_tcase("setup");
    TCase *verify_tc = keyed_tcase("verify");
    TCase *reload = keyed_tcase("reload");

    tcase_add_test(setup, setup_off_and_algorithms);
    tcase_add_test(setup, setup_file_modes);
    tcase_add_test(setup, setup_key_contents);
    tcase_add_test(setup, status_names);
    suite_add_tcase(s, setup);

    tcase_add_test(verify_tc, valid_tokens);
    tcase_add_test(verify_tc, header_forms);
    tcase_add_test(verify_tc, alg_none);
    tcase_add_test(verify_tc, other_algorithms);
    tcase_add_test(verify_tc, public_key_as_hmac_secret);
    tcase_add_test(verify_tc, expiry_and_skew);
    tcase_add_test(verify_tc, issuer_and_audience);
    tcase_add_test(verify_tc, role_claims);
    tcase_add_test(verify_tc, format_and_forgery);
    tcase_add_test(verify_tc, oversized_token);
    suite_add_tcase(s, verify_tc);

    tcase_add_test(reload, reload_hs256);
    tcase_add_test(reload, reload_public_keys);
    tcase_add_test(reload, cache_hits_and_failures);
    tcase_add_test(reload, cache_respects_expiry);
    tcase_add_test(reload, cache_keeps_many_tokens);
    tcase_add_test(reload, reload_while_verifying);
    suite_add_tcase(s, reload);
    return s;
}
