/* digest.c - SHA-256 as hex, by libcrypto (idempotency digests, token scopes) */
#include "digest.h"

#include <string.h>

#include <openssl/evp.h>

/* libcrypto's one-shot digest */
bool sha256_bytes(const void *data, size_t n, unsigned char out[SHA256_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != SHA256_LEN)
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
