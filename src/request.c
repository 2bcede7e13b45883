/* request.c - reading a request: its arguments and ids */
#include "request.h"

#include <string.h>

/* The methods the router knows, and their names: the one list of them. */
static const struct {
    enum method m;
    const char *name;
} methods[] = {{M_GET, "GET"}, {M_HEAD, "HEAD"}, {M_POST, "POST"}, {M_OPTIONS, "OPTIONS"}};

#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

enum method request_method(const char *name)
{
    for (size_t i = 0; i < N_METHODS; i++)
        if (strcmp(name, methods[i].name) == 0)
            return methods[i].m;
    return M_OTHER;
}

const char *request_method_name(enum method m)
{
    for (size_t i = 0; i < N_METHODS; i++)
        if (methods[i].m == m)
            return methods[i].name;
    return "other";
}

bool request_parse_id(const char *s, size_t n, int64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 19 || s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

const struct req_arg *request_arg(const struct request *rq, const char *key)
{
    for (int i = 0; i < rq->nargs; i++)
        if (strcmp(rq->args[i].key, key) == 0)
            return &rq->args[i];
    return NULL;
}
