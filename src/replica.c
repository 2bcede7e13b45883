/* replica.c - read replicas: their health and positions, where a query reads, token waits
 *
 * Each replica has a monitor (a periodic job with a connection of its own)
 * that reads SHOW REPLICA STATUS and the GTIDs it has applied every 100 ms.
 * A sampler reads the primary's position as often and keeps when each one
 * was first seen, so a replica's lag is how long ago the primary had the
 * oldest transaction the replica has not applied: measured in GTIDs, with
 * MASTER_DELAY or a stopped applier alike, without any right beyond SELECT.
 *
 * A query without a token reads on a healthy replica, round robin: no
 * lock, the health flags are atomics. A query with a token reads on a
 * healthy replica whose last known position includes it; if none is known
 * to, it is parked here (no thread holds it) and the monitors wait on
 * their replicas with MASTER_GTID_WAIT / WAIT_FOR_EXECUTED_GTID_SET for the
 * oldest parked query, then wake every query their new position includes.
 * The reaper sends what is still parked after --consistency-wait-ms (or at
 * once, when no replica is healthy) to the primary, or refuses it.
 */
#include "replica.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dbprobe.h"
#include "gtid.h"
#include "log.h"
#include "periodic.h"

#define POLL_MS 100
#define WAIT_SLICE_MS 100 /* one MASTER_GTID_WAIT at most, then the status again */
#define RING 64           /* the primary's positions kept, oldest first */

enum { READ_REPLICA, READ_PRIMARY, READ_FALLBACK, READ__N };
enum { TOKEN_IMMEDIATE, TOKEN_WAITED, TOKEN_FALLBACK, TOKEN_REFUSED, TOKEN__N };
static const char *const read_names[READ__N] = {"replica", "primary", "fallback"};
static const char *const token_names[TOKEN__N] = {"immediate", "waited", "fallback", "refused"};

struct replica_wait {
    struct gtid_set want;
    char arg[2048]; /* want as the wait function's argument */
    int64_t deadline_ms;
    int target;
    void (*done)(void *arg);
    void *done_arg;
    struct replica_wait *next;
};

struct replica {
    int i;
    char name[280]; /* host:port, for metrics and the log */
    const struct dsn *dsn;
    struct periodic job;
    /* the monitor's thread only */
    struct db_probe *probe;
    struct db_replica_state st;
    int64_t probed_ms; /* when st was read */
    /* under g.lock */
    struct gtid_set pos;
    bool pos_ok;
    double lag; /* seconds; -1 unknown */
    bool in_pool, said;
    /* lock-free: read by every query */
    atomic_bool healthy;
};

struct sample {
    int64_t t_ms;
    struct gtid_set pos;
};

static struct {
    pthread_mutex_t lock;
    int n;
    struct replica r[CONFIG_MAX_REPLICAS];
    int64_t max_lag_ms, wait_ms, spacing_ms;
    bool fallback_none;
    const struct dsn *primary;
    struct periodic sampler, reaper;
    struct db_probe *pprobe; /* the sampler's thread only */
    /* under lock */
    struct sample ring[RING];
    int ring_n, ring_first;
    struct replica_wait *waiters, **tail;
    bool stopping;
    /* counters */
    atomic_uint rr;
    _Atomic uint64_t reads[READ__N], tokens[TOKEN__N];
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .tail = &g.waiters};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

bool replica_enabled(void)
{
    return g.n > 0;
}

/*=== The pool: who is in it, and the log when that changes ===*/

/* Lock held. why NULL: healthy. */
static void set_state(struct replica *r, const char *why)
{
    bool in = why == NULL;

    atomic_store(&r->healthy, in);
    if (r->said && in == r->in_pool)
        return;
    if (in)
        log_msg(LOG_LVL_INFO, "replica %s %s the pool", r->name, r->said ? "rejoined" : "joined");
    else
        log_msg(LOG_LVL_WARN, "replica %s %s the pool: %s", r->name,
                r->said ? "left" : "is not in", why);
    r->in_pool = in;
    r->said = true;
}

void replica_failed(int i)
{
    if (i < 0 || i >= g.n)
        return;
    pthread_mutex_lock(&g.lock);
    if (atomic_load(&g.r[i].healthy))
        set_state(&g.r[i], "a query could not reach it");
    pthread_mutex_unlock(&g.lock);
    periodic_kick(&g.r[i].job);
}

/*=== Waking parked queries ===*/

/* Unlink every waiter `take` picks (lock held) into *out, setting its target. */
static void take_waiters(bool (*take)(struct replica_wait *w, void *ctx), void *ctx,
                         struct replica_wait **out)
{
    struct replica_wait **pp = &g.waiters;

    while (*pp) {
        struct replica_wait *w = *pp;
        if (!take(w, ctx)) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        w->next = *out;
        *out = w;
    }
    g.tail = pp;
}

/* Call done for each (lock not held): from here on the waiter is its owner's. */
static void finish(struct replica_wait *list, int outcome_if_primary)
{
    while (list) {
        struct replica_wait *w = list;
        list = w->next;
        if (w->target >= 0) {
            count(&g.tokens[TOKEN_WAITED]);
            count(&g.reads[READ_REPLICA]);
        } else {
            count(&g.tokens[w->target == REPLICA_REFUSED ? TOKEN_REFUSED : outcome_if_primary]);
            if (w->target == REPLICA_PRIMARY)
                count(&g.reads[READ_FALLBACK]);
        }
        w->done(w->done_arg);
    }
}

static bool take_covered(struct replica_wait *w, void *ctx)
{
    struct replica *r = ctx;

    if (!gtid_covers(&r->pos, &w->want))
        return false;
    w->target = r->i;
    return true;
}

/* Wake every parked query r's position includes (r healthy). */
static void wake_covered(struct replica *r)
{
    struct replica_wait *done = NULL;

    pthread_mutex_lock(&g.lock);
    if (r->pos_ok && atomic_load(&r->healthy) && g.waiters)
        take_waiters(take_covered, r, &done);
    pthread_mutex_unlock(&g.lock);
    finish(done, TOKEN_FALLBACK);
}

/*=== The primary's positions, and each replica's lag ===*/

static long sampler_run(void *ctx)
{
    char text[DBPROBE_POS_MAX], err[400];
    size_t len;
    struct gtid_set pos;
    int64_t now = now_ms();

    (void)ctx;
    if (!g.pprobe && !(g.pprobe = db_probe_open(g.primary, err, sizeof(err))))
        return 500;
    if (db_probe_position(g.pprobe, text, sizeof(text), &len)) {
        db_probe_close(g.pprobe);
        g.pprobe = NULL;
        return 500;
    }
    if (gtid_parse_position(text, len, &pos))
        return POLL_MS;
    pthread_mutex_lock(&g.lock);
    {
        struct sample *last =
            g.ring_n ? &g.ring[(g.ring_first + g.ring_n - 1) % RING] : NULL;
        if (!last || (!gtid_covers(&last->pos, &pos) && now - last->t_ms >= g.spacing_ms)) {
            struct sample *s;
            if (g.ring_n == RING) {
                g.ring_first = (g.ring_first + 1) % RING;
                g.ring_n--;
            }
            s = &g.ring[(g.ring_first + g.ring_n++) % RING];
            s->t_ms = now;
            s->pos = pos;
        }
    }
    pthread_mutex_unlock(&g.lock);
    return POLL_MS;
}

static void sampler_done(void *ctx)
{
    (void)ctx;
    db_probe_close(g.pprobe);
    g.pprobe = NULL;
}

/* Lock held: how long ago the primary had the oldest transaction r lacks (ms). */
static int64_t lag_ms(const struct replica *r, int64_t now)
{
    for (int k = 0; k < g.ring_n; k++) {
        const struct sample *s = &g.ring[(g.ring_first + k) % RING];
        if (!gtid_covers(&r->pos, &s->pos))
            return now - s->t_ms;
    }
    return 0;
}

/*=== A replica's monitor ===*/

static void down(struct replica *r, const char *why)
{
    pthread_mutex_lock(&g.lock);
    r->lag = -1;
    set_state(r, why);
    pthread_mutex_unlock(&g.lock);
}

static void drop_probe(struct replica *r, const char *why)
{
    db_probe_close(r->probe);
    r->probe = NULL;
    down(r, why);
}

/* Take in what the probe read: position, lag, health. */
static void evaluate(struct replica *r)
{
    const struct db_replica_state *st = &r->st;
    struct gtid_set pos;
    bool pos_ok = gtid_parse_position(st->pos, st->pos_len, &pos) == 0;
    char why[160] = "";
    int64_t now = now_ms(), lag;

    pthread_mutex_lock(&g.lock);
    r->pos_ok = pos_ok;
    if (pos_ok)
        r->pos = pos;
    lag = pos_ok ? lag_ms(r, now) : -1000;
    r->lag = (double)lag / 1000;
    if (st->status_known && !st->replicating)
        snprintf(why, sizeof(why), "it is not replicating from a source");
    else if (st->status_known && !st->sql_running)
        snprintf(why, sizeof(why), "its SQL thread is stopped");
    else if (st->status_known && st->io_stopped)
        snprintf(why, sizeof(why), "its I/O thread is stopped");
    else if (!pos_ok)
        snprintf(why, sizeof(why), "its GTID position cannot be read");
    else if (lag > g.max_lag_ms)
        snprintf(why, sizeof(why), "it lags %.2f s behind the primary (at most %" PRId64 " s)",
                 (double)lag / 1000, g.max_lag_ms / 1000);
    set_state(r, why[0] ? why : NULL);
    pthread_mutex_unlock(&g.lock);
}

/* The oldest parked query r's position lacks: its wait argument and time left; false if none. */
static bool oldest_wanted(struct replica *r, char *arg, size_t cap, int64_t *left)
{
    bool found = false;

    pthread_mutex_lock(&g.lock);
    for (struct replica_wait *w = g.waiters; w; w = w->next)
        if (!gtid_covers(&r->pos, &w->want)) {
            snprintf(arg, cap, "%s", w->arg);
            *left = w->deadline_ms - now_ms();
            found = true;
            break;
        }
    pthread_mutex_unlock(&g.lock);
    return found;
}

static long monitor_run(void *ctx)
{
    struct replica *r = ctx;
    char err[400], arg[sizeof(((struct replica_wait *)0)->arg)];
    int64_t left;

    if (!r->probe) {
        if (!(r->probe = db_probe_open(r->dsn, err, sizeof(err)))) {
            down(r, err);
            return 200;
        }
    }
    /* kicked for a parked query soon after a look: straight to the wait (one round trip less) */
    if (now_ms() - r->probed_ms >= POLL_MS || !atomic_load(&r->healthy)) {
        if (db_probe_replica(r->probe, &r->st)) {
            drop_probe(r, "the connection to it failed");
            return POLL_MS;
        }
        r->probed_ms = now_ms();
        evaluate(r);
    }
    wake_covered(r);
    if (!atomic_load(&r->healthy) || !oldest_wanted(r, arg, sizeof(arg), &left) || left <= 0)
        return POLL_MS;
    /* wait on the replica for the oldest parked query, then look again at once */
    if (db_probe_wait(r->probe, arg, left < WAIT_SLICE_MS ? left : WAIT_SLICE_MS, r->st.pos,
                      sizeof(r->st.pos), &r->st.pos_len)) {
        drop_probe(r, "the connection to it failed");
        return POLL_MS;
    }
    {
        struct gtid_set pos;
        if (gtid_parse_position(r->st.pos, r->st.pos_len, &pos) == 0) {
            pthread_mutex_lock(&g.lock);
            r->pos = pos;
            r->pos_ok = true;
            pthread_mutex_unlock(&g.lock);
            wake_covered(r);
        }
    }
    return 0;
}

static void monitor_done(void *ctx)
{
    struct replica *r = ctx;

    db_probe_close(r->probe);
    r->probe = NULL;
}

/*=== The reaper: what waited too long, or has no replica left to wait for ===*/

static bool any_healthy(void)
{
    for (int i = 0; i < g.n; i++)
        if (atomic_load(&g.r[i].healthy))
            return true;
    return false;
}

struct expiry {
    int64_t now;
    bool all;
};

static bool take_expired(struct replica_wait *w, void *ctx)
{
    const struct expiry *e = ctx;

    if (!e->all && w->deadline_ms > e->now)
        return false;
    w->target = g.fallback_none ? REPLICA_REFUSED : REPLICA_PRIMARY;
    return true;
}

static long reaper_run(void *ctx)
{
    struct expiry e = {.now = now_ms(), .all = !any_healthy()};
    struct replica_wait *done = NULL;
    int64_t next = 500;

    (void)ctx;
    pthread_mutex_lock(&g.lock);
    take_waiters(take_expired, &e, &done);
    for (struct replica_wait *w = g.waiters; w; w = w->next)
        if (w->deadline_ms - e.now < next)
            next = w->deadline_ms - e.now;
    pthread_mutex_unlock(&g.lock);
    finish(done, TOKEN_FALLBACK);
    return next < 1 ? 1 : next;
}

/*=== Routing ===*/

/* A healthy replica, round robin, or the primary. */
static int pick(void)
{
    unsigned start = atomic_fetch_add_explicit(&g.rr, 1, memory_order_relaxed);

    for (int k = 0; k < g.n; k++) {
        int i = (int)((start + (unsigned)k) % (unsigned)g.n);
        if (atomic_load_explicit(&g.r[i].healthy, memory_order_relaxed))
            return i;
    }
    return REPLICA_PRIMARY;
}

/* A healthy replica known to have applied want (round robin among them), or -1. */
static int pick_covering(const struct gtid_set *want)
{
    unsigned start = atomic_fetch_add_explicit(&g.rr, 1, memory_order_relaxed);
    int found = -1;

    pthread_mutex_lock(&g.lock);
    for (int k = 0; k < g.n && found < 0; k++) {
        struct replica *r = &g.r[(start + (unsigned)k) % (unsigned)g.n];
        if (atomic_load(&r->healthy) && r->pos_ok && gtid_covers(&r->pos, want))
            found = r->i;
    }
    pthread_mutex_unlock(&g.lock);
    return found;
}

/* No replica will do: the primary, or a refusal. */
static enum replica_route fall_back(int *target)
{
    if (g.fallback_none) {
        count(&g.tokens[TOKEN_REFUSED]);
        *target = REPLICA_REFUSED;
        return RR_REFUSED;
    }
    count(&g.tokens[TOKEN_FALLBACK]);
    count(&g.reads[READ_FALLBACK]);
    *target = REPLICA_PRIMARY;
    return RR_READY;
}

enum replica_route replica_route(const char *tokens, int *target, struct replica_wait **w)
{
    struct replica_wait *nw;

    *w = NULL;
    if (!g.n) {
        count(&g.reads[READ_PRIMARY]);
        *target = REPLICA_PRIMARY;
        return RR_READY;
    }
    if (!tokens) {
        *target = pick();
        count(&g.reads[*target >= 0 ? READ_REPLICA : READ_PRIMARY]);
        return RR_READY;
    }
    if (!(nw = calloc(1, sizeof(*nw)))) {
        *target = REPLICA_PRIMARY;
        count(&g.reads[READ_PRIMARY]);
        return RR_READY;
    }
    if (gtid_parse_tokens(tokens, &nw->want)) {
        free(nw);
        return RR_BAD_TOKEN;
    }
    if ((*target = pick_covering(&nw->want)) >= 0) {
        free(nw);
        count(&g.tokens[TOKEN_IMMEDIATE]);
        count(&g.reads[READ_REPLICA]);
        return RR_READY;
    }
    /* nothing to wait for: no healthy replica, or tokens no one server can have */
    if (!any_healthy() || gtid_wait_arg(&nw->want, nw->arg, sizeof(nw->arg))) {
        free(nw);
        return fall_back(target);
    }
    *w = nw;
    return RR_WAIT;
}

bool replica_token_valid(const char *tokens)
{
    struct gtid_set want;

    return !g.n || gtid_parse_tokens(tokens, &want) == 0;
}

int replica_park(struct replica_wait *w, void (*done)(void *arg), void *arg)
{
    pthread_mutex_lock(&g.lock);
    if (g.stopping) {
        pthread_mutex_unlock(&g.lock);
        return -1;
    }
    w->done = done;
    w->done_arg = arg;
    w->deadline_ms = now_ms() + g.wait_ms;
    w->target = REPLICA_PRIMARY;
    w->next = NULL;
    *g.tail = w;
    g.tail = &w->next;
    pthread_mutex_unlock(&g.lock);
    for (int i = 0; i < g.n; i++)
        if (atomic_load(&g.r[i].healthy))
            periodic_kick(&g.r[i].job);
    periodic_kick(&g.reaper);
    return 0;
}

int replica_wait_target(const struct replica_wait *w)
{
    return w->target;
}

void replica_wait_free(struct replica_wait *w)
{
    free(w);
}

/*=== Start, stop, metrics ===*/

int replica_start(const struct config *cfg)
{
    g.n = 0;
    if (!cfg->nreplicas)
        return 0;
    g.max_lag_ms = (int64_t)cfg->max_replica_lag * 1000;
    g.wait_ms = cfg->consistency_wait_ms;
    g.fallback_none = cfg->consistency_fallback_none;
    g.primary = &cfg->read_dsn;
    /* the ring spans twice the lag bound: a lag past it is always seen */
    g.spacing_ms = 2 * g.max_lag_ms / RING > POLL_MS ? 2 * g.max_lag_ms / RING : POLL_MS;
    g.n = cfg->nreplicas;
    for (int i = 0; i < g.n; i++) {
        struct replica *r = &g.r[i];
        const struct dsn *d = &cfg->replica_dsn[i];
        r->i = i;
        r->dsn = d;
        r->lag = -1;
        if (d->socket[0])
            snprintf(r->name, sizeof(r->name), "%s", d->socket);
        else
            snprintf(r->name, sizeof(r->name), "%s:%u", d->host, d->port ? d->port : 3306);
    }
    if (periodic_start(&g.sampler, sampler_run, sampler_done, NULL, POLL_MS) ||
        periodic_start(&g.reaper, reaper_run, NULL, NULL, 500))
        return -1;
    for (int i = 0; i < g.n; i++)
        if (periodic_start(&g.r[i].job, monitor_run, monitor_done, &g.r[i], POLL_MS))
            return -1;
    return 0;
}

void replica_stop(void)
{
    struct expiry e = {.all = true};
    struct replica_wait *done = NULL;

    pthread_mutex_lock(&g.lock);
    if (!g.n || g.stopping) {
        pthread_mutex_unlock(&g.lock);
        return;
    }
    g.stopping = true;
    take_waiters(take_expired, &e, &done);
    pthread_mutex_unlock(&g.lock);
    for (struct replica_wait *w = done; w; w = w->next)
        w->target = REPLICA_PRIMARY; /* stopping: answer from the primary, never refuse */
    finish(done, TOKEN_FALLBACK);
    for (int i = 0; i < g.n; i++)
        periodic_stop(&g.r[i].job);
    periodic_stop(&g.reaper);
    periodic_stop(&g.sampler);
}

void replica_metrics(struct sbuf *b)
{
    sbuf_adds(b, "# HELP cqrsd_replica_healthy 1 while a replica takes queries (it answers, "
                 "replicates, and lags at most --max-replica-lag).\n"
                 "# TYPE cqrsd_replica_healthy gauge\n");
    for (int i = 0; i < g.n; i++)
        sbuf_printf(b, "cqrsd_replica_healthy{replica=\"%s\"} %d\n", g.r[i].name,
                    atomic_load(&g.r[i].healthy) ? 1 : 0);
    sbuf_adds(b, "# HELP cqrsd_replica_lag_seconds How long ago the primary had the oldest "
                 "transaction a replica has not applied (-1: unknown).\n"
                 "# TYPE cqrsd_replica_lag_seconds gauge\n");
    pthread_mutex_lock(&g.lock);
    for (int i = 0; i < g.n; i++)
        sbuf_printf(b, "cqrsd_replica_lag_seconds{replica=\"%s\"} %.3f\n", g.r[i].name,
                    g.r[i].lag);
    pthread_mutex_unlock(&g.lock);
    sbuf_adds(b, "# HELP cqrsd_reads_total Queries by where they read: a replica, the primary "
                 "(no replica configured or healthy), or the primary as the fallback of a "
                 "consistency token.\n# TYPE cqrsd_reads_total counter\n");
    for (int k = 0; k < READ__N; k++)
        sbuf_printf(b, "cqrsd_reads_total{target=\"%s\"} %llu\n", read_names[k],
                    (unsigned long long)atomic_load(&g.reads[k]));
    sbuf_adds(b, "# HELP cqrsd_consistency_tokens_total Queries with a consistency token: "
                 "a replica had it (immediate), had it after a wait (waited), the primary "
                 "answered (fallback), or 503 (refused).\n"
                 "# TYPE cqrsd_consistency_tokens_total counter\n");
    for (int k = 0; k < TOKEN__N; k++)
        sbuf_printf(b, "cqrsd_consistency_tokens_total{outcome=\"%s\"} %llu\n", token_names[k],
                    (unsigned long long)atomic_load(&g.tokens[k]));
}
