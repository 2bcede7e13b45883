/* request.c - reading a request: its arguments and ids */
#include "request.h"

#include <string.h>

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
