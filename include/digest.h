/* digest.h - SHA-256 as hex, by libcrypto */
#ifndef CQRSD_DIGEST_H
#define CQRSD_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define SHA256_LEN 32

/* SHA-256 of <p, n> as 64 hex characters plus NUL; "" when libcrypto fails (out of memory). */
void sha256_hex(const void *p, size_t n, char out[65]);
/* SHA-256 of <p, n> as 32 bytes; false when libcrypto fails (out of memory). */
bool sha256_bytes(const void *p, size_t n, unsigned char out[SHA256_LEN]);

#endif
