/* views.h - verify-views and rebuild-views */
#ifndef CQRSD_VIEWS_H
#define CQRSD_VIEWS_H

#include "config.h"

/* Compare every view with its recomputation: exit status 0 equal, 1 different, 2 error. */
int views_verify(const struct config *cfg);
/* Recompute every view into shadow tables and swap them in: exit status. */
int views_rebuild(const struct config *cfg);

/*
 * In the daemon: every 30 s, compare the view rows of the aggregates that
 * the last 500 events touched with their recomputation; the count of
 * differing rows is the gauge cqrsd_read_model_drift_rows.
 */
int views_audit_start(const struct config *cfg);
void views_audit_stop(void);

#endif
