/* drift.h - the read model's drift gauge (cqrsd_read_model_drift_rows) */
#ifndef CQRSD_DRIFT_H
#define CQRSD_DRIFT_H

#include "config.h"

/*
 * In the daemon: every 30 s, compare the view rows of the aggregates that
 * the last 500 events touched with their recomputation; the count of
 * differing rows is the gauge cqrsd_read_model_drift_rows.
 */
int drift_start(const struct config *cfg);
void drift_stop(void);

#endif
