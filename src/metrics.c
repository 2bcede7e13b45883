/* metrics.c - lock-free counters (relaxed atomics), rendered on scrape */
#include "metrics.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "catalog.h"
#include "config.h"

#define MAX_ROUTES 24 /* slot 0: unmatched, then route_count() routes; more count as unmatched */
#define N_METHODS 5   /* GET HEAD POST OPTIONS other */
#define N_BUCKETS 14

static const int statuses[] = {200, 201, 202, 204, 304, 400, 401, 404,
                               405, 409, 413, 415, 422, 500, 503, 0};
#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0])) /* 0: any other */

static const double bucket_le[N_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,  5,     10};
static const char *const outcome_names[OUT__COUNT] = {"accepted", "succeeded", "rejected",
                                                      "failed", "replayed"};

/* The route patterns (slot i + 1): set once by metrics_routes, before any thread. */
static struct {
    const char *pattern[MAX_ROUTES];
    int n;
} routes;

/* The command types counted: set once by metrics_command_types, before any thread. */
static struct {
    const char *name[METRICS_MAX_TYPES];
    size_t n;
} types;

/* The counters: process-wide, updated with relaxed atomic adds (no lock). */
static struct {
    _Atomic uint64_t requests[MAX_ROUTES][N_METHODS][N_STATUSES];
    _Atomic uint64_t buckets[MAX_ROUTES][N_BUCKETS + 1]; /* + the +Inf bucket */
    _Atomic uint64_t sum_us[MAX_ROUTES];
    _Atomic uint64_t commands[METRICS_MAX_TYPES][OUT__COUNT];
    _Atomic uint64_t retries;
    _Atomic uint64_t read_batches, read_batched;
    _Atomic int64_t connections[2];
    _Atomic int64_t drift, drift_checked;
} m = {.drift = -1};

/* Methods in request.h order (M_GET = 1, M_HEAD = 2, M_POST = 4, …): a slot each. */
static const enum method method_of_slot[N_METHODS] = {M_GET, M_HEAD, M_POST, M_OPTIONS, M_OTHER};

static int method_slot(enum method me)
{
    for (int i = 0; i < N_METHODS - 1; i++)
        if (method_of_slot[i] == me)
            return i;
    return N_METHODS - 1;
}

static const char *route_name(int slot)
{
    return slot > 0 && slot <= routes.n ? routes.pattern[slot - 1] : "unmatched";
}

void metrics_routes(const char *const *patterns, int n)
{
    routes.n = n < MAX_ROUTES - 1 ? n : MAX_ROUTES - 1;
    for (int i = 0; i < routes.n; i++)
        routes.pattern[i] = patterns[i];
}

void metrics_request(int route, enum method me, int status, double seconds)
{
    int ri = route < 0 || route + 1 >= MAX_ROUTES ? 0 : route + 1; /* 0: unmatched */
    size_t si = N_STATUSES - 1;
    int b = 0;

    for (size_t i = 0; i + 1 < N_STATUSES; i++)
        if (statuses[i] == status)
            si = i;
    atomic_fetch_add_explicit(&m.requests[ri][method_slot(me)][si], 1, memory_order_relaxed);
    while (b < N_BUCKETS && seconds > bucket_le[b])
        b++;
    atomic_fetch_add_explicit(&m.buckets[ri][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m.sum_us[ri], (uint64_t)(seconds * 1e6), memory_order_relaxed);
}

void metrics_command_types(const char *const *names, size_t n)
{
    types.n = n < METRICS_MAX_TYPES ? n : METRICS_MAX_TYPES;
    for (size_t i = 0; i < types.n; i++)
        types.name[i] = names[i];
}

void metrics_command(const char *type, enum metric_outcome outcome)
{
    for (size_t i = 0; i < types.n; i++)
        if (strcmp(types.name[i], type) == 0) {
            atomic_fetch_add_explicit(&m.commands[i][outcome], 1, memory_order_relaxed);
            return;
        }
}

void metrics_retry(void)
{
    atomic_fetch_add_explicit(&m.retries, 1, memory_order_relaxed);
}

void metrics_read_batch(unsigned reads)
{
    atomic_fetch_add_explicit(&m.read_batches, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m.read_batched, reads, memory_order_relaxed);
}

void metrics_db_connection(int side, int delta)
{
    atomic_fetch_add_explicit(&m.connections[side ? 1 : 0], delta, memory_order_relaxed);
}

void metrics_drift(long diffs, long rows)
{
    atomic_store(&m.drift, diffs);
    atomic_store(&m.drift_checked, rows);
}

static uint64_t get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* cqrsd_http_requests_total and the duration histogram, by route (slots in use only). */
static void render_http(struct sbuf *b)
{
    int nroutes = routes.n + 1;
    sbuf_adds(b, "# HELP cqrsd_http_requests_total HTTP requests by route pattern, method and "
                 "status.\n# TYPE cqrsd_http_requests_total counter\n");
    for (int ri = 0; ri < nroutes; ri++)
        for (int mi = 0; mi < N_METHODS; mi++)
            for (size_t si = 0; si < N_STATUSES; si++) {
                uint64_t v = get(&m.requests[ri][mi][si]);
                if (!v)
                    continue;
                sbuf_printf(b,
                            "cqrsd_http_requests_total{route=\"%s\",method=\"%s\",status=\"",
                            route_name(ri), request_method_name(method_of_slot[mi]));
                if (statuses[si])
                    sbuf_printf(b, "%d", statuses[si]);
                else
                    sbuf_adds(b, "other");
                sbuf_printf(b, "\"} %llu\n", (unsigned long long)v);
            }
    sbuf_adds(b, "# HELP cqrsd_http_request_duration_seconds Time from the first byte of a "
                 "request to its reply, by route pattern.\n"
                 "# TYPE cqrsd_http_request_duration_seconds histogram\n");
    for (int ri = 0; ri < nroutes; ri++) {
        uint64_t cum = 0;
        const char *route = route_name(ri);
        for (int bi = 0; bi <= N_BUCKETS; bi++)
            cum += get(&m.buckets[ri][bi]);
        if (!cum)
            continue;
        cum = 0;
        for (int bi = 0; bi < N_BUCKETS; bi++) {
            cum += get(&m.buckets[ri][bi]);
            sbuf_printf(b, "cqrsd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                           "%llu\n", route, bucket_le[bi], (unsigned long long)cum);
        }
        cum += get(&m.buckets[ri][N_BUCKETS]);
        sbuf_printf(b, "cqrsd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
                       "%llu\n", route, (unsigned long long)cum);
        sbuf_printf(b, "cqrsd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route,
                    (double)get(&m.sum_us[ri]) / 1e6);
        sbuf_printf(b, "cqrsd_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route,
                    (unsigned long long)cum);
    }
}

/* cqrsd_commands_total (every type and outcome), the retries and the replays. */
static void render_commands(struct sbuf *b)
{
    uint64_t replays = 0;

    sbuf_adds(b, "# HELP cqrsd_commands_total Commands by type and outcome: accepted for "
                 "later (202), then as it ran (or synchronously) succeeded, rejected (a rule or "
                 "a bad request), failed (infrastructure; queued: after its last attempt), or "
                 "replayed from an idempotency key.\n"
                 "# TYPE cqrsd_commands_total counter\n");
    for (size_t ti = 0; ti < types.n; ti++)
        for (int oi = 0; oi < OUT__COUNT; oi++)
            sbuf_printf(b, "cqrsd_commands_total{type=\"%s\",outcome=\"%s\"} %llu\n",
                        types.name[ti], outcome_names[oi],
                        (unsigned long long)get(&m.commands[ti][oi]));
    sbuf_adds(b, "# HELP cqrsd_command_retries_total Transactions retried after a deadlock or "
                 "lock wait timeout.\n# TYPE cqrsd_command_retries_total counter\n");
    sbuf_printf(b, "cqrsd_command_retries_total %llu\n", (unsigned long long)get(&m.retries));
    sbuf_adds(b, "# HELP cqrsd_idempotent_replays_total Commands answered from a recorded "
                 "idempotency key.\n# TYPE cqrsd_idempotent_replays_total counter\n");
    for (size_t ti = 0; ti < types.n; ti++)
        replays += get(&m.commands[ti][OUT_REPLAYED]);
    sbuf_printf(b, "cqrsd_idempotent_replays_total %llu\n", (unsigned long long)replays);
}

void metrics_write(struct sbuf *b)
{
    sbuf_adds(b, "# HELP cqrsd_build_info Build information.\n"
                 "# TYPE cqrsd_build_info gauge\n");
    sbuf_printf(b, "cqrsd_build_info{version=\"%s\"} 1\n", CQRSD_VERSION);
    render_http(b);
    render_commands(b);
    sbuf_adds(b, "# HELP cqrsd_db_connections Open database connections (one pair per worker "
                 "thread that has served a request).\n# TYPE cqrsd_db_connections gauge\n");
    sbuf_printf(b, "cqrsd_db_connections{account=\"write\"} %lld\n",
                (long long)atomic_load(&m.connections[DB_WRITE]));
    sbuf_printf(b, "cqrsd_db_connections{account=\"read\"} %lld\n",
                (long long)atomic_load(&m.connections[DB_READ]));
    sbuf_adds(b, "# HELP cqrsd_read_batches_total Statements that answered GETs by id (one per "
                 "batch).\n# TYPE cqrsd_read_batches_total counter\n");
    sbuf_printf(b, "cqrsd_read_batches_total %llu\n", (unsigned long long)get(&m.read_batches));
    sbuf_adds(b, "# HELP cqrsd_read_batched_total GETs by id answered by those statements "
                 "(divided by cqrsd_read_batches_total: the mean batch).\n"
                 "# TYPE cqrsd_read_batched_total counter\n");
    sbuf_printf(b, "cqrsd_read_batched_total %llu\n", (unsigned long long)get(&m.read_batched));
    sbuf_adds(b, "# HELP cqrsd_read_model_drift_rows View rows of recently changed aggregates "
                 "that differ from the write model at the last sample check (-1: not yet run).\n"
                 "# TYPE cqrsd_read_model_drift_rows gauge\n");
    sbuf_printf(b, "cqrsd_read_model_drift_rows %lld\n", (long long)atomic_load(&m.drift));
    sbuf_adds(b, "# HELP cqrsd_read_model_checked_rows View rows compared at the last sample "
                 "check.\n# TYPE cqrsd_read_model_checked_rows gauge\n");
    sbuf_printf(b, "cqrsd_read_model_checked_rows %lld\n",
                (long long)atomic_load(&m.drift_checked));
}
