/* jv.c - field specs, every error with its path, UTF-8 lengths */
#include "jv.h"

#include "sbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jv_error(json_t *errors, const char *field, const char *message)
{
    json_t *e = json_object();
    char *clean = strdup(field);

    if (!e || !clean) {
        json_decref(e);
        free(clean);
        return;
    }
    /* a path holds the client's member names: keep them valid UTF-8 */
    utf8_clean(clean);
    json_object_set_new(e, "field", json_string(clean));
    free(clean);
    json_object_set_new(e, "message", json_string(message));
    json_array_append_new(errors, e);
}

static bool is_trim(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void jv_trim(const char **s, size_t *n)
{
    while (*n && is_trim((*s)[0]))
        (*s)++, (*n)--;
    while (*n && is_trim((*s)[*n - 1]))
        (*n)--;
}

size_t jv_codepoints(const char *s, size_t n)
{
    size_t count = 0;

    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}

bool jv_has_control(const char *s, size_t n, bool ml)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20) {
            if (ml && (c == '\n' || c == '\r' || c == '\t'))
                continue;
            return true;
        }
        if (c == 0x7f)
            return true;
        /* U+0080..U+009F is encoded as C2 80..C2 9F */
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9F)
            return true;
    }
    return false;
}

bool jv_is_email(const char *s, size_t n)
{
    const char *at = NULL;
    size_t dot_last = 0, dot_first = 0;
    bool dot = false;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f)
            return false;
        if (c == '@') {
            if (at)
                return false;
            at = s + i;
        }
    }
    if (!at || at == s)
        return false;
    /* the domain: at least one dot, neither first nor last */
    for (const char *d = at + 1; d < s + n; d++) {
        if (*d == '.') {
            if (!dot)
                dot_first = (size_t)(d - (at + 1));
            dot = true;
            dot_last = (size_t)(d - (at + 1));
        }
    }
    if (!dot)
        return false;
    return dot_first != 0 && dot_last != (size_t)(s + n - (at + 1)) - 1;
}

static bool sku_chars(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool spec_has(const struct jv_field *spec, const char *key)
{
    for (; spec->name; spec++)
        if (strcmp(spec->name, key) == 0)
            return true;
    return false;
}

static void int_error(json_t *errors, const char *field, const struct jv_field *f)
{
    char msg[96];
    int64_t min = (f->flags & JV_KIND) == JV_ID ? 1 : f->min;
    int64_t max = (f->flags & JV_KIND) == JV_ID ? INT64_MAX : f->max;

    if (max == INT64_MAX)
        snprintf(msg, sizeof(msg), "must be an integer of at least %" PRId64, min);
    else
        snprintf(msg, sizeof(msg), "must be an integer from %" PRId64 " to %" PRId64, min, max);
    jv_error(errors, field, msg);
}

static int check_string(const json_t *m, const char *field, const struct jv_field *f,
                        struct jv_vals *v, size_t idx, json_t *errors)
{
    char msg[96];
    const char *s = json_string_value(m);
    size_t n = json_string_length(m);
    size_t cps;

    jv_trim(&s, &n);
    cps = jv_codepoints(s, n);
    if (cps < (size_t)f->min || cps > (size_t)f->max) {
        if (f->min > 0)
            snprintf(msg, sizeof(msg), "must be a string of %" PRId64 " to %" PRId64
                     " characters", f->min, f->max);
        else
            snprintf(msg, sizeof(msg), "must be a string of at most %" PRId64 " characters",
                     f->max);
        jv_error(errors, field, msg);
        return 1;
    }
    if (jv_has_control(s, n, f->flags & JV_ML)) {
        jv_error(errors, field, "must not contain control characters");
        return 1;
    }
    if ((f->flags & JV_SKU) && !sku_chars(s, n)) {
        jv_error(errors, field, "may only contain letters, digits, '.', '_' and '-'");
        return 1;
    }
    if ((f->flags & JV_EMAIL) && !jv_is_email(s, n)) {
        jv_error(errors, field, "must be an email address");
        return 1;
    }
    v->s[idx] = s;
    v->n[idx] = n;
    return 0;
}

int jv_check(const json_t *obj, const char *path, const struct jv_field *spec,
             struct jv_vals *v, json_t *errors)
{
    int count = 0;
    char field[160];
    const char *key;
    json_t *m;

    memset(v, 0, sizeof(*v));
    /* unknown members, in document order */
    json_object_foreach((json_t *)obj, key, m) {
        if (!spec_has(spec, key)) {
            struct sbuf f = SBUF_INIT; /* the client's name, whole, however long */
            sbuf_printf(&f, "%s.%s", path, key);
            jv_error(errors, f.buf ? f.buf : path, "is not allowed");
            sbuf_release(&f);
            count++;
        }
    }
    for (size_t i = 0; spec[i].name && i < JV_MAX_FIELDS; i++) {
        const struct jv_field *f = &spec[i];
        unsigned kind = f->flags & JV_KIND;

        snprintf(field, sizeof(field), "%s.%s", path, f->name);
        m = json_object_get(obj, f->name);
        if (!m) {
            if (f->flags & JV_REQ) {
                jv_error(errors, field, "is required");
                count++;
            }
            continue;
        }
        v->j[i] = m;
        switch (kind) {
        case JV_INT:
        case JV_ID: {
            int64_t x;
            int64_t min = kind == JV_ID ? 1 : f->min;
            int64_t max = kind == JV_ID ? INT64_MAX : f->max;
            if (!json_is_integer(m)) {
                int_error(errors, field, f);
                count++;
                continue;
            }
            x = (int64_t)json_integer_value(m);
            if (x < min || x > max) {
                int_error(errors, field, f);
                count++;
                continue;
            }
            v->i[i] = x;
            break;
        }
        case JV_STR:
            if (!json_is_string(m)) {
                char msg[96];
                if (f->min > 0)
                    snprintf(msg, sizeof(msg), "must be a string of %" PRId64 " to %" PRId64
                             " characters", f->min, f->max);
                else
                    snprintf(msg, sizeof(msg), "must be a string of at most %" PRId64
                             " characters", f->max);
                jv_error(errors, field, msg);
                count++;
                continue;
            }
            if (check_string(m, field, f, v, i, errors)) {
                count++;
                continue;
            }
            break;
        case JV_ARRAY: {
            size_t n = json_is_array(m) ? json_array_size(m) : 0;
            int sub_errors = 0;
            if (!json_is_array(m) || n < (size_t)f->min || n > (size_t)f->max) {
                char msg[96];
                snprintf(msg, sizeof(msg), "must be an array of %" PRId64 " to %" PRId64
                         " items", f->min, f->max);
                jv_error(errors, field, msg);
                count++;
                continue;
            }
            for (size_t k = 0; k < n; k++) {
                const json_t *el = json_array_get(m, k);
                char elpath[200];
                snprintf(elpath, sizeof(elpath), "%s[%zu]", field, k);
                if (!json_is_object(el)) {
                    jv_error(errors, elpath, "must be an object");
                    sub_errors++;
                    continue;
                }
                struct jv_vals sv;
                sub_errors += jv_check(el, elpath, f->sub, &sv, errors);
            }
            if (sub_errors) {
                count += sub_errors;
                continue;
            }
            v->i[i] = (int64_t)n;
            break;
        }
        default:
            continue;
        }
        v->has[i] = true;
    }
    return count;
}
