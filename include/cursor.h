/* cursor.h - opaque, tamper-evident list cursors */
#ifndef CQRSD_CURSOR_H
#define CQRSD_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CURSOR_MAX 96

/* Encode (kind, key, id) as a URL-safe string into out (CURSOR_MAX bytes). */
void cursor_encode(char kind, int64_t key, int64_t id, char out[CURSOR_MAX]);
/* Decode s; false unless it is a cursor of this kind made by cursor_encode. */
bool cursor_decode(const char *s, char kind, int64_t *key, int64_t *id);

#endif
