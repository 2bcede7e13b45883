/* cursor.c - a cursor is base64url("kind:key:id:check"); check is a keyed hash of the rest */
#include "cursor.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static uint32_t check_of(const char *s, size_t n)
{
    uint32_t h = 0x6b43a9b5u; /* a fixed key: the check catches edits, not forgery */

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

void cursor_encode(char kind, int64_t key, int64_t id, char out[CURSOR_MAX])
{
    char raw[80];
    int n = snprintf(raw, sizeof(raw), "%c:%" PRId64 ":%" PRId64, kind, key, id);
    size_t o = 0;

    n += snprintf(raw + n, sizeof(raw) - (size_t)n, ":%08x", check_of(raw, (size_t)n));
    for (int i = 0; i < n && o + 4 < CURSOR_MAX; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)raw[i] << 16;
        int left = n - i;
        if (left > 1)
            v |= (uint32_t)(unsigned char)raw[i + 1] << 8;
        if (left > 2)
            v |= (unsigned char)raw[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (left > 1)
            out[o++] = b64[(v >> 6) & 63];
        if (left > 2)
            out[o++] = b64[v & 63];
    }
    out[o] = '\0';
}

static int b64val(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

static bool parse_i64(const char *s, const char *end, int64_t *out)
{
    char *e;
    long long v;

    if (s == end || (end - s) > 20)
        return false;
    if (!(*s == '-' || (*s >= '0' && *s <= '9')))
        return false;
    v = strtoll(s, &e, 10);
    if (e != end)
        return false;
    *out = v;
    return true;
}

bool cursor_decode(const char *s, char kind, int64_t *key, int64_t *id)
{
    char raw[80];
    size_t n = strlen(s), o = 0;
    char *c1, *c2, *c3;
    unsigned long chk;
    char *e;

    if (n == 0 || n > CURSOR_MAX || n % 4 == 1)
        return false;
    for (size_t i = 0; i < n; i += 4) {
        int v[4] = {0, 0, 0, 0};
        size_t k, m = n - i < 4 ? n - i : 4;
        for (k = 0; k < m; k++)
            if ((v[k] = b64val(s[i + k])) < 0)
                return false;
        uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        raw[o++] = (char)(x >> 16);
        if (m > 2)
            raw[o++] = (char)(x >> 8);
        if (m > 3)
            raw[o++] = (char)x;
    }
    raw[o] = '\0';
    if (strlen(raw) != o || o < 14 || raw[0] != kind || raw[1] != ':')
        return false;
    c3 = strrchr(raw, ':');
    if (!c3 || (size_t)(raw + o - c3) != 9)
        return false;
    chk = strtoul(c3 + 1, &e, 16);
    if (*e || chk != check_of(raw, (size_t)(c3 - raw)))
        return false;
    c1 = raw + 1;
    c2 = memchr(c1 + 1, ':', (size_t)(c3 - c1 - 1));
    if (!c2 || !parse_i64(c1 + 1, c2, key) || !parse_i64(c2 + 1, c3, id))
        return false;
    /* only the exact text cursor_encode makes is a cursor (no spare bits, no case games) */
    {
        char again[CURSOR_MAX];
        cursor_encode(kind, *key, *id, again);
        return strcmp(again, s) == 0;
    }
}
