/* gtid.c - consistency tokens and servers' GTID positions, in MariaDB's and MySQL's forms */
#include "gtid.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/*=== One element ===*/

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Decimal digits at *p (at least one, no overflow past max); *p moves past them. */
static int parse_num(const char **p, const char *end, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = *p;

    if (s == end || !is_digit(*s))
        return -1;
    for (; s < end && is_digit(*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 0;
}

static bool is_uuid(const char *s, const char *end)
{
    if (end - s < 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

static int add(struct gtid_set *set, const struct gtid_elem *e)
{
    if (set->n == GTID_MAX)
        return -1;
    set->e[set->n++] = *e;
    return 0;
}

/* MariaDB's D-S-N, exactly. */
static int parse_mariadb(const char *s, const char *end, struct gtid_set *set)
{
    struct gtid_elem e = {0};
    uint64_t d, sv, n;

    if (parse_num(&s, end, UINT32_MAX, &d) || s == end || *s++ != '-' ||
        parse_num(&s, end, UINT32_MAX, &sv) || s == end || *s++ != '-' ||
        parse_num(&s, end, UINT64_MAX, &n) || s != end)
        return -1;
    e.domain = (uint32_t)d;
    e.server = (uint32_t)sv;
    e.lo = e.hi = n;
    return add(set, &e);
}

/* MySQL's UUID then ':'-parts: intervals N or N-M, or a tag naming the ones after it. */
static int parse_mysql(const char *s, const char *end, struct gtid_set *set)
{
    struct gtid_elem e = {.mysql = true};
    int intervals = 0;

    if (!is_uuid(s, end))
        return -1;
    for (int i = 0; i < 36; i++)
        e.source[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
    s += 36;
    if (s == end)
        return -1;
    while (s < end) {
        if (*s++ != ':')
            return -1;
        if (s < end && (*s == '_' || (*s >= 'a' && *s <= 'z'))) { /* a tag */
            const char *t = s;
            while (s < end && (*s == '_' || (*s >= 'a' && *s <= 'z') || is_digit(*s)))
                s++;
            if (s - t > 32)
                return -1;
            snprintf(e.source + 36, sizeof(e.source) - 36, ":%.*s", (int)(s - t), t);
            continue;
        }
        if (parse_num(&s, end, INT64_MAX, &e.lo) || e.lo == 0)
            return -1;
        e.hi = e.lo;
        if (s < end && *s == '-') {
            s++;
            if (parse_num(&s, end, INT64_MAX, &e.hi) || e.hi < e.lo)
                return -1;
        }
        if (add(set, &e))
            return -1;
        intervals++;
    }
    return intervals ? 0 : -1;
}

static int parse_elem(const char *s, const char *end, struct gtid_set *set)
{
    if (end - s >= 36 && s[8] == '-')
        return parse_mysql(s, end, set);
    return parse_mariadb(s, end, set);
}

/*=== Tokens and positions ===*/

int gtid_parse_tokens(const char *value, struct gtid_set *want)
{
    const char *p = value;
    int tokens = 0;

    want->n = 0;
    for (;;) {
        const char *a, *b;
        while (*p == ' ' || *p == '\t')
            p++;
        a = p;
        while (*p && *p != ',')
            p++;
        b = p;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b == a || b - a > GTID_TOKEN_MAX || ++tokens > GTID_TOKENS_MAX)
            return -1;
        for (const char *c = a; c < b; c++)
            if (*c < 0x21 || *c > 0x7e)
                return -1;
        for (const char *c = a; c <= b; c++) { /* '.'-separated elements */
            const char *dot = memchr(c, '.', (size_t)(b - c));
            const char *stop = dot ? dot : b;
            if (parse_elem(c, stop, want))
                return -1;
            c = stop;
        }
        if (!*p)
            return 0;
        p++; /* the comma */
    }
}

int gtid_parse_position(const char *s, size_t len, struct gtid_set *have)
{
    char buf[128];
    size_t n = 0;

    have->n = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : ',';
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c != ',') {
            if (n + 1 >= sizeof(buf))
                return -1;
            buf[n++] = c;
            continue;
        }
        if (n == 0) { /* an empty position, else an empty element */
            if (i < len || have->n)
                return -1;
            break;
        }
        if (parse_elem(buf, buf + n, have))
            return -1;
        n = 0;
    }
    return 0;
}

static bool covered(const struct gtid_set *have, const struct gtid_elem *w)
{
    for (int i = 0; i < have->n; i++) {
        const struct gtid_elem *h = &have->e[i];
        if (h->mysql != w->mysql)
            continue;
        if (!w->mysql && h->domain == w->domain && h->hi >= w->hi)
            return true;
        if (w->mysql && strcmp(h->source, w->source) == 0 && h->lo <= w->lo && w->hi <= h->hi)
            return true;
    }
    return false;
}

bool gtid_covers(const struct gtid_set *have, const struct gtid_set *want)
{
    for (int i = 0; i < want->n; i++)
        if (!covered(have, &want->e[i]))
            return false;
    return true;
}

int gtid_wait_arg(const struct gtid_set *want, char *out, size_t cap)
{
    size_t o = 0;
    bool mysql = want->n && want->e[0].mysql;

    out[0] = '\0';
    for (int i = 0; i < want->n; i++) {
        const struct gtid_elem *w = &want->e[i];
        int k;
        bool skip = false;
        if (w->mysql != mysql)
            return -1;
        if (!mysql) /* MariaDB takes one GTID per domain: the highest */
            for (int j = 0; j < want->n; j++)
                if (j != i && want->e[j].domain == w->domain &&
                    (want->e[j].hi > w->hi || (want->e[j].hi == w->hi && j < i)))
                    skip = true;
        if (skip)
            continue;
        if (mysql && w->lo != w->hi)
            k = snprintf(out + o, cap - o, "%s%s:%" PRIu64 "-%" PRIu64, o ? "," : "", w->source,
                         w->lo, w->hi);
        else if (mysql)
            k = snprintf(out + o, cap - o, "%s%s:%" PRIu64, o ? "," : "", w->source, w->lo);
        else
            k = snprintf(out + o, cap - o, "%s%" PRIu32 "-%" PRIu32 "-%" PRIu64, o ? "," : "",
                         w->domain, w->server, w->hi);
        if (k < 0 || (size_t)k >= cap - o)
            return -1;
        o += (size_t)k;
    }
    return 0;
}

int gtid_token_of(const char *pos, size_t len, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = pos[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (o + 1 >= cap || o >= GTID_TOKEN_MAX)
            return -1;
        out[o++] = c == ',' ? '.' : c;
    }
    out[o] = '\0';
    return o ? 0 : -1;
}
