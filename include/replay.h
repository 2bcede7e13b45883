/* replay.h - verify-events: the event store, replayed, against the write model */
#ifndef CQRSD_REPLAY_H
#define CQRSD_REPLAY_H

#include "config.h"

/*
 * Replay every event from the first, fold each aggregate (customers,
 * orders, products, and the stock orders move) and compare it with the
 * write tables; print each difference. 0 equal, 1 differences, 2 an error.
 */
int replay_verify(const struct config *cfg);

#endif
