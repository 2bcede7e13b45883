/* housekeeping.h - the periodic purges: idempotency keys and finished commands */
#ifndef CQRSD_HOUSEKEEPING_H
#define CQRSD_HOUSEKEEPING_H

#define HOUSEKEEPING_EVERY_S 60

/*
 * A thread that, at start and then every HOUSEKEEPING_EVERY_S seconds,
 * removes idempotency keys past their 25 hours (idem.c) and succeeded
 * commands past their 7 days (queue.c). -1 when it cannot start.
 */
int housekeeping_start(void);
void housekeeping_stop(void);

#endif
