/* jv.h - declarative validation of JSON input, every error reported with its path */
#ifndef CQRSD_JV_H
#define CQRSD_JV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    JV_INT = 1,   /* JSON integer in [min, max] */
    JV_ID = 2,    /* JSON integer 1..2^63-1 */
    JV_STR = 3,   /* string; length in code points after trimming in [min, max] */
    JV_ARRAY = 4, /* array of min..max objects, each checked against .sub */
    JV_KIND = 0xff,
    JV_REQ = 1 << 8,   /* required */
    JV_ML = 1 << 9,    /* string may hold newline, carriage return and tab */
    JV_SKU = 1 << 10,  /* string of [A-Za-z0-9._-] only */
    JV_EMAIL = 1 << 11 /* string that is an email address */
};

#define JV_MAX_FIELDS 8

struct jv_field {
    const char *name;
    unsigned flags;
    int64_t min, max;
    const struct jv_field *sub; /* JV_ARRAY: spec of each element */
};

/* What jv_check found: per field of the spec, in spec order. */
struct jv_vals {
    bool has[JV_MAX_FIELDS];
    int64_t i[JV_MAX_FIELDS];      /* JV_INT, JV_ID; JV_ARRAY: element count */
    const char *s[JV_MAX_FIELDS];  /* JV_STR: trimmed, borrowed from the JSON */
    size_t n[JV_MAX_FIELDS];       /* JV_STR: trimmed length in bytes */
    const json_t *j[JV_MAX_FIELDS]; /* the member itself (borrowed) */
};

/*
 * Check object `obj` (found at `path`, e.g. "data") against a spec ended by
 * {0}. Each problem is appended to `errors` (a JSON array of {field, message})
 * and counted; values of valid members land in *v. Returns the number of
 * errors added.
 */
int jv_check(const json_t *obj, const char *path, const struct jv_field *spec,
             struct jv_vals *v, json_t *errors);

/* Append {field, message} to errors. */
void jv_error(json_t *errors, const char *field, const char *message);

/*
 * Trim ASCII space, tab, CR, LF at both ends of <s, n>; count code points of a
 * valid UTF-8 string. Exposed for tests.
 */
void jv_trim(const char **s, size_t *n);
size_t jv_codepoints(const char *s, size_t n);
/* True when <s, n> (valid UTF-8) has a control character (ml: \n \r \t allowed). */
bool jv_has_control(const char *s, size_t n, bool ml);
bool jv_is_email(const char *s, size_t n);

#endif
