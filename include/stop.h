/* stop.h - the daemon is stopping: one flag that every layer may read */
#ifndef CQRSD_STOP_H
#define CQRSD_STOP_H

#include <stdbool.h>

/* The daemon begins to stop (SIGTERM, SIGINT): set once, never cleared. */
void stop_begin(void);
/* Has it? Work that would wait (a retry) answers now instead. */
bool stop_requested(void);

#endif
