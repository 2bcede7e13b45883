/* digest.c - SHA-256 as hex, by libcrypto (idempotency digests, token scopes) */
#include "digest.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

/*
 * SHA-256 fetched from the default provider once: EVP_sha256() makes
 * EVP_Digest look the algorithm up on every call (a lock and a table search
 * in OpenSSL 3), which doubled the cost of hashing a token. Kept for the
 * life of the process; EVP_sha256() if the fetch failed.
 */
static EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* libcrypto's one-shot digest */
bool sha256_bytes(const void *data, size_t n, unsigned char out[SHA256_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    pthread_once(&g_sha256_once, fetch_sha256);
    if (!EVP_Digest(data, n, md, &len, g_sha256 ? g_sha256 : EVP_sha256(), NULL) ||
        len != SHA256_LEN)
        return false;
    memcpy(out, md, SHA256_LEN);
    return true;
}

/* The digest as hex; out is "" when libcrypto fails (out of memory). */
void sha256_hex(const void *data, size_t n, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_LEN];

    out[0] = '\0';
    if (!sha256_bytes(data, n, md))
        return;
    for (unsigned int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0x0f];
    }
    out[64] = '\0';
}
