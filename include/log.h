/* log.h - one line per event on stderr, as text or JSON */
#ifndef CQRSD_LOG_H
#define CQRSD_LOG_H

#include "config.h"

enum log_level { LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

struct log_request {
    const char *request_id;
    const char *method;
    const char *route;
    int status;
    double duration_ms;
    const char *command_type; /* may be NULL or "" */
    const char *command_id;   /* may be NULL or "" */
};

/* Set the format before threads start. */
void log_init(enum log_format fmt);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_request(const struct log_request *r);

#endif
