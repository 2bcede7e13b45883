/* evfilter.h - the event feed's filters: aggregate_type, aggregate_id, type (API.md) */
#ifndef CQRSD_EVFILTER_H
#define CQRSD_EVFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVF_TYPES 10 /* the event types the commands write */

/* Every event type, with the type of the aggregate it belongs to. */
struct evf_type {
    const char *type, *aggregate;
};
extern const struct evf_type evf_types[EVF_TYPES];

struct event_filter {
    bool on;              /* any filter given */
    const char *aggregate; /* "product", "customer", "order", or NULL */
    int64_t aggregate_id; /* > 0: one aggregate's events */
    unsigned types;       /* bit i: evf_types[i] may pass */
};

/*
 * The filter from the request's values (NULL: absent). -1 with one line in
 * why: aggregate_id without aggregate_type, an unknown aggregate type or
 * event type, a bad id, an empty list item.
 */
int evfilter_parse(struct event_filter *f, const char *aggregate_type, const char *aggregate_id,
                   const char *types, char *why, size_t cap);

/* Does an event of `type` on aggregate (aggregate, id) pass? */
bool evfilter_match(const struct event_filter *f, const char *type, size_t tn,
                    const char *aggregate, size_t an, int64_t id);

/* The names of the types that may pass, into out (at most EVF_TYPES); how many. */
int evfilter_type_names(const struct event_filter *f, const char **out);

#endif
