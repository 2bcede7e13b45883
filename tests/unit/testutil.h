/* testutil.h - small helpers shared by the unit suites */
#ifndef CQRSD_TEST_UTIL_H
#define CQRSD_TEST_UTIL_H

#include <stdio.h>
#include <string.h>

/*
 * s with every byte outside printable ASCII as \xNN, for failure messages:
 * the runner's output must stay text (tests/run.sh greps it). Four rotating
 * buffers, so a message may quote up to four strings.
 */
static inline const char *tu_esc(const char *s)
{
    static char bufs[4][400];
    static int next;
    char *out = bufs[next++ & 3];
    size_t o = 0;

    if (!s)
        return "(null)";
    for (; *s; s++) {
        if (o + 9 > sizeof(bufs[0])) {
            memcpy(out + o, "...", 4);
            return out;
        }
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

#endif
