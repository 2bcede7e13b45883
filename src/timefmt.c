/* timefmt.c - the daemon's two ways of writing the time (UTC, milliseconds) */
#include "timefmt.h"

#include <stdio.h>
#include <time.h>

/* Now + offset_ms as seconds and milliseconds (0-999). */
static void now_plus(long long offset_ms, time_t *sec, unsigned *ms)
{
    struct timespec ts;
    long long total;

    clock_gettime(CLOCK_REALTIME, &ts);
    total = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
    *sec = (time_t)(total / 1000);
    *ms = (unsigned)(total % 1000);
}

void timefmt_db(long long offset_ms, char out[TIMEFMT_DB_LEN])
{
    struct tm tm;
    time_t sec;
    unsigned ms;

    now_plus(offset_ms, &sec, &ms);
    gmtime_r(&sec, &tm);
    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out + 19, TIMEFMT_DB_LEN - 19, ".%03u", ms);
}

void timefmt_iso(char out[TIMEFMT_ISO_LEN])
{
    struct tm tm;
    time_t sec;
    unsigned ms;

    now_plus(0, &sec, &ms);
    gmtime_r(&sec, &tm);
    strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + 19, TIMEFMT_ISO_LEN - 19, ".%03uZ", ms);
}
