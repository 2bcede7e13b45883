/* sbuf.h - a growable byte buffer (always NUL-terminated when non-empty) */
#ifndef CQRSD_SBUF_H
#define CQRSD_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbuf {
    char *buf;
    size_t len, cap;
    bool oom; /* an append failed; the content is incomplete */
};

#define SBUF_INIT {NULL, 0, 0, false}

void sbuf_release(struct sbuf *b);
void sbuf_reset(struct sbuf *b); /* keep the memory, empty the content */
int sbuf_reserve(struct sbuf *b, size_t extra);
int sbuf_add(struct sbuf *b, const char *s, size_t n);
int sbuf_adds(struct sbuf *b, const char *s);
int sbuf_addch(struct sbuf *b, char c);
int sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sbuf_add_i64(struct sbuf *b, int64_t v);
/* Append <s, n> as a JSON string literal (with quotes), escaping as JSON requires. */
int sbuf_add_json_str(struct sbuf *b, const char *s, size_t n);
/* Replace every byte of s that is not part of valid UTF-8 with '?', in place. */
void utf8_clean(char *s);

/* Hand the buffer to the caller (who frees it); the sbuf is left empty. */
char *sbuf_detach(struct sbuf *b, size_t *len);

#endif
