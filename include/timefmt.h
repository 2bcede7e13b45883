/* timefmt.h - the daemon's two ways of writing the time (UTC, milliseconds) */
#ifndef CQRSD_TIMEFMT_H
#define CQRSD_TIMEFMT_H

#define TIMEFMT_DB_LEN 24  /* "YYYY-MM-DD HH:MM:SS.mmm" and its NUL */
#define TIMEFMT_ISO_LEN 25 /* "YYYY-MM-DDTHH:MM:SS.mmmZ" and its NUL */

/* The time offset_ms from now (negative: in the past) as a DATETIME(3) column stores it. */
void timefmt_db(long long offset_ms, char out[TIMEFMT_DB_LEN]);
/* Now, as log lines write it (RFC 3339). */
void timefmt_iso(char out[TIMEFMT_ISO_LEN]);

#endif
