/* evfilter.c - the event feed's filters: aggregate_type, aggregate_id, type (API.md) */
#include "evfilter.h"

#include <stdio.h>
#include <string.h>

#include "request.h"

const struct evf_type evf_types[EVF_TYPES] = {
    {"ProductCreated", "product"},     {"ProductUpdated", "product"},
    {"ProductPriceUpdated", "product"}, {"ProductRestocked", "product"},
    {"ProductDeleted", "product"},     {"CustomerRegistered", "customer"},
    {"OrderPlaced", "order"},          {"OrderPaid", "order"},
    {"OrderShipped", "order"},         {"OrderCancelled", "order"},
};

#define ALL_TYPES ((1u << EVF_TYPES) - 1)

static int type_index(const char *s, size_t n)
{
    for (int i = 0; i < EVF_TYPES; i++)
        if (strlen(evf_types[i].type) == n && memcmp(evf_types[i].type, s, n) == 0)
            return i;
    return -1;
}

int evfilter_parse(struct event_filter *f, const char *aggregate_type, const char *aggregate_id,
                   const char *types, char *why, size_t cap)
{
    memset(f, 0, sizeof(*f));
    f->types = ALL_TYPES;
    if (aggregate_id && !aggregate_type) {
        snprintf(why, cap, "aggregate_id needs aggregate_type");
        return -1;
    }
    if (aggregate_type) {
        static const char *const aggregates[] = {"product", "customer", "order"};
        for (size_t i = 0; i < 3; i++)
            if (strcmp(aggregate_type, aggregates[i]) == 0)
                f->aggregate = aggregates[i];
        if (!f->aggregate) {
            snprintf(why, cap, "aggregate_type must be product, customer or order");
            return -1;
        }
        f->types = 0;
        for (int i = 0; i < EVF_TYPES; i++)
            if (strcmp(evf_types[i].aggregate, f->aggregate) == 0)
                f->types |= 1u << i;
    }
    if (aggregate_id && !request_parse_id(aggregate_id, strlen(aggregate_id), &f->aggregate_id)) {
        snprintf(why, cap, "aggregate_id must be a positive integer");
        return -1;
    }
    if (types) {
        unsigned listed = 0;
        const char *p = types;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            int k = type_index(p, n);
            if (k < 0) {
                snprintf(why, cap, "type must list known event types, comma-separated: '%.*s' is "
                                   "not one",
                         (int)(n > 64 ? 64 : n), p);
                return -1;
            }
            listed |= 1u << k;
            if (!comma)
                break;
            p = comma + 1;
        }
        f->types &= listed; /* with aggregate_type: the types of both (maybe none) */
    }
    f->on = aggregate_type || types;
    return 0;
}

bool evfilter_match(const struct event_filter *f, const char *type, size_t tn,
                    const char *aggregate, size_t an, int64_t id)
{
    int k;

    if (!f->on)
        return true;
    k = type_index(type, tn);
    if (k < 0 || !(f->types & (1u << k)))
        return false;
    if (f->aggregate && (strlen(f->aggregate) != an || memcmp(f->aggregate, aggregate, an) != 0))
        return false;
    return f->aggregate_id == 0 || f->aggregate_id == id;
}

int evfilter_type_names(const struct event_filter *f, const char **out)
{
    int n = 0;

    for (int i = 0; i < EVF_TYPES; i++)
        if (f->types & (1u << i))
            out[n++] = evf_types[i].type;
    return n;
}
