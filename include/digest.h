/* digest.h - SHA-256 as hex, by libcrypto */
#ifndef CQRSD_DIGEST_H
#define CQRSD_DIGEST_H

#include <stddef.h>

/* SHA-256 of <p, n> as 64 hex characters plus NUL; "" when libcrypto fails (out of memory). */
void sha256_hex(const void *p, size_t n, char out[65]);

#endif
