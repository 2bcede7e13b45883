/* stream.c - GET /queries/events/stream: one poller thread feeds every SSE client */
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "db.h"
#include "feed.h"
#include "log.h"
#include "periodic.h"
#include "sbuf.h"

#define POLL_MS 250             /* other daemons' events arrive within this */
#define HEARTBEAT_S 15          /* a comment line keeps proxies and clients awake */
#define PROBE_MS 1000           /* how often idle clients are checked for a hang-up */
#define CLIENT_BUF_MAX (1u << 20) /* a client that does not read is dropped past this */
#define CLIENT_BUF_KEEP (16u << 10) /* a drained buffer larger than this is freed */
#define PAGE 500
#define POLL_PAGES 20          /* pages per poll for one group of clients */
#define HOLE_RETRY_MS 2        /* a hole is a commit becoming visible: look again soon */
#define HOLE_WARN_S 10         /* a hole that lasts this long is logged (it should not) */

struct stream_client {
    pthread_mutex_t lock;
    struct sbuf buf;  /* bytes not yet sent */
    size_t off;       /* how much of buf was sent */
    int64_t after;    /* the last position queued for this client (or passed by its filter) */
    struct event_filter filter;
    bool waiting;     /* its connection is suspended until data arrives */
    bool closing;     /* dropped (slow) or the daemon stops: end the stream */
    bool gone;        /* its connection ended: the poller unlinks and frees it */
    void *conn;
    int fd;           /* its socket, to see a hang-up while the connection is suspended */
    stream_wake_fn wake;
    struct stream_client *next;
};

static struct {
    pthread_mutex_t lock; /* the client list */
    struct stream_client *clients;
    struct periodic poller;
    struct timespec last_hb, last_probe;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* For /metrics: clients in the list (opened, not yet freed), and streams dropped as too slow. */
static _Atomic long n_clients;
static _Atomic uint64_t n_dropped;

/*=== Clients ===*/

struct stream_client *stream_open(int64_t after, const struct event_filter *filter, void *conn,
                                  int fd, stream_wake_fn wake)
{
    struct stream_client *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->after = after;
    c->filter = *filter;
    c->conn = conn;
    c->fd = fd;
    c->wake = wake;
    atomic_fetch_add_explicit(&n_clients, 1, memory_order_relaxed);
    /* tell the client how soon to reconnect, and start the body at once */
    sbuf_adds(&c->buf, "retry: 2000\n\n");
    pthread_mutex_lock(&g.lock);
    c->next = g.clients;
    g.clients = c;
    pthread_mutex_unlock(&g.lock);
    periodic_kick(&g.poller);
    return c;
}

/*
 * Called from libmicrohttpd's thread when the connection ends. It only marks
 * the client and wakes the poller: the poller, which owns the list, unlinks
 * and frees it. This thread never waits on the list lock while
 * libmicrohttpd holds its own (the poller's wake-up lock is held only for a
 * moment, never with another).
 */
void stream_close(struct stream_client *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->gone = true;
    pthread_mutex_unlock(&c->lock);
    periodic_kick(&g.poller);
}

static void client_free(struct stream_client *c)
{
    atomic_fetch_sub_explicit(&n_clients, 1, memory_order_relaxed);
    sbuf_release(&c->buf);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Unlink and free the clients whose connections ended (g.lock held). */
static void reap(void)
{
    struct stream_client **p = &g.clients;

    while (*p) {
        struct stream_client *c = *p;
        bool gone;
        pthread_mutex_lock(&c->lock);
        gone = c->gone;
        pthread_mutex_unlock(&c->lock);
        if (gone) {
            *p = c->next;
            client_free(c);
        } else {
            p = &c->next;
        }
    }
}

long stream_read(struct stream_client *c, char *out, size_t max, stream_suspend_fn suspend)
{
    long n;

    pthread_mutex_lock(&c->lock);
    if (c->off < c->buf.len) {
        n = (long)(c->buf.len - c->off < max ? c->buf.len - c->off : max);
        memcpy(out, c->buf.buf + c->off, (size_t)n);
        c->off += (size_t)n;
        if (c->off == c->buf.len) { /* all sent: keep a small buffer, not the largest one */
            if (c->buf.cap > CLIENT_BUF_KEEP)
                sbuf_release(&c->buf);
            else
                sbuf_reset(&c->buf);
            c->off = 0;
        }
    } else if (c->closing) {
        n = -1;
    } else {
        c->waiting = true;
        suspend(c->conn); /* under the lock: the poller resumes only after this */
        n = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* Append to one client (its lock held by the caller); wake it if it waits. */
static void deliver(struct stream_client *c, const char *s, size_t n)
{
    if (c->closing || c->gone)
        return;
    if (c->buf.len - c->off + n > CLIENT_BUF_MAX) {
        c->closing = true; /* too slow: drop it rather than buffer without bound */
        atomic_fetch_add_explicit(&n_dropped, 1, memory_order_relaxed);
    } else {
        if (c->off > 0 && c->off * 2 > c->buf.len) { /* compact */
            memmove(c->buf.buf, c->buf.buf + c->off, c->buf.len - c->off);
            c->buf.len -= c->off;
            c->off = 0;
        }
        sbuf_add(&c->buf, s, n);
    }
    if (c->waiting) {
        c->waiting = false;
        c->wake(c->conn);
    }
}

/*=== The poller ===*/

void stream_notify(void)
{
    periodic_kick(&g.poller);
}

/*
 * One event of a contiguous run (feed.c): format it once as an SSE message and
 * hand it to every client whose next position it is. A client elsewhere (one
 * that joined behind the others, or asked for a position ahead) is left as it
 * is: each client gets its positions one after another, never one past a gap.
 */
static void hand_out(void *ctx, struct db *db, int64_t pos)
{
    struct sbuf *msg = ctx;
    const char *type, *agg;
    size_t n, an;
    int64_t id = db_i64(db, Q_EVENTS_PAGE, EV_AGGREGATE_ID);

    sbuf_reset(msg);
    type = db_str(db, Q_EVENTS_PAGE, EV_TYPE, &n);
    agg = db_str(db, Q_EVENTS_PAGE, EV_AGGREGATE_TYPE, &an);
    sbuf_printf(msg, "id: %" PRId64 "\nevent: %.*s\ndata: ", pos, (int)n, type);
    feed_row_json(msg, db); /* one line: JSON has no raw newlines */
    sbuf_adds(msg, "\n\n");
    pthread_mutex_lock(&g.lock);
    for (struct stream_client *c = g.clients; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        if (c->after == pos - 1) {
            /* a filtered client passes the others' events: its next position moves on */
            if (evfilter_match(&c->filter, type, n, agg, an, id))
                deliver(c, msg->buf, msg->len);
            c->after = pos;
        }
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&g.lock);
}

/*
 * Hand out the events after `from`, up to POLL_PAGES pages. Returns the
 * position of the hole it stopped at (a commit still becoming visible), or 0.
 */
static int64_t serve_from(struct db *db, struct sbuf *msg, int64_t from)
{
    for (int page = 0; page < POLL_PAGES; page++) {
        bool hole;
        int got = feed_read(db, from, PAGE, 0, hand_out, msg, &hole);
        if (got < 0)
            return 0; /* the next tick tries again */
        from += got;
        if (hole)
            return from + 1;
        if (got < PAGE)
            return 0;
    }
    return 0;
}

/*
 * Serve the clients at the head first, then those still catching up (one that
 * joined far behind does not hold up the others). Returns the hole it stopped
 * at, or 0.
 */
static int64_t poll_once(struct db *db)
{
    struct sbuf msg = SBUF_INIT;
    int64_t lo = INT64_MAX, hi = -1, hole;

    pthread_mutex_lock(&g.lock);
    reap();
    for (struct stream_client *c = g.clients; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        if (!c->closing && !c->gone) {
            lo = c->after < lo ? c->after : lo;
            hi = c->after > hi ? c->after : hi;
        }
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&g.lock);
    if (hi < 0)
        return 0;
    hole = serve_from(db, &msg, hi);
    if (lo < hi) {
        int64_t h = serve_from(db, &msg, lo);
        hole = hole ? hole : h;
    }
    sbuf_release(&msg);
    return hole;
}

static void heartbeat(void)
{
    static const char hb[] = ": heartbeat\n\n";

    pthread_mutex_lock(&g.lock);
    for (struct stream_client *c = g.clients; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        deliver(c, hb, sizeof(hb) - 1);
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&g.lock);
}

/*
 * libmicrohttpd does not watch a suspended connection's socket, so a client
 * that hangs up while its stream is idle would stay until the next event or
 * heartbeat is written to it. Peek at the sockets of the waiting clients: one
 * that has hung up (end of file, or an error such as a reset) is ended and
 * resumed, libmicrohttpd then closes the connection and the poller frees it.
 * A waiting client's connection stays suspended, so its socket stays open.
 */
static void probe(void)
{
    pthread_mutex_lock(&g.lock);
    for (struct stream_client *c = g.clients; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        if (c->waiting && !c->gone && !c->closing && c->fd >= 0) {
            char ch;
            ssize_t n = recv(c->fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                c->closing = true;
                c->waiting = false;
                c->wake(c->conn);
            }
        }
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&g.lock);
}

/*
 * A hole that does not close is not a commit in flight: say so once (the
 * streams keep waiting for it, as they must). Called after each poll.
 */
static void watch_hole(int64_t hole, const struct timespec *now)
{
    static int64_t seen;
    static struct timespec since;
    static bool warned;

    if (hole != seen) {
        seen = hole;
        since = *now;
        warned = false;
    } else if (hole && !warned && now->tv_sec - since.tv_sec >= HOLE_WARN_S) {
        log_msg(LOG_LVL_WARN, "event feed: position %" PRId64 " has stayed missing for %d s "
                              "while later positions exist; streams wait for it",
                hole, HOLE_WARN_S);
        warned = true;
    }
}

/*
 * One round of the poller (periodic.c runs it at once when kicked: a local
 * commit, a new or ended stream; else after the delay it returns): free the
 * ended clients, hand out new events, and every HEARTBEAT_S a heartbeat,
 * every PROBE_MS a look for hang-ups. Soon again after a hole.
 */
static long poll_round(void *ctx)
{
    struct timespec now;
    int64_t hole;
    struct db *db;
    bool any;

    (void)ctx;
    pthread_mutex_lock(&g.lock);
    reap();
    any = g.clients != NULL;
    pthread_mutex_unlock(&g.lock);
    if (!any)
        return POLL_MS;
    db = db_thread();
    hole = db ? poll_once(db) : 0;
    clock_gettime(CLOCK_MONOTONIC, &now);
    watch_hole(hole, &now);
    if (now.tv_sec - g.last_hb.tv_sec >= HEARTBEAT_S) {
        heartbeat();
        g.last_hb = now;
    }
    if ((now.tv_sec - g.last_probe.tv_sec) * 1000 +
            (now.tv_nsec - g.last_probe.tv_nsec) / 1000000 >=
        PROBE_MS) {
        probe();
        g.last_probe = now;
    }
    return hole ? HOLE_RETRY_MS : POLL_MS;
}

static void poller_done(void *ctx)
{
    (void)ctx;
    db_thread_release();
}

int stream_start(void)
{
    clock_gettime(CLOCK_MONOTONIC, &g.last_hb);
    g.last_probe = g.last_hb;
    return periodic_start(&g.poller, poll_round, poller_done, NULL, POLL_MS);
}

void stream_end_all(void)
{
    pthread_mutex_lock(&g.lock);
    for (struct stream_client *c = g.clients; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        c->closing = true;
        if (c->waiting && !c->gone) {
            c->waiting = false;
            c->wake(c->conn);
        }
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&g.lock);
}

void stream_stop(void)
{
    if (!g.poller.running)
        return;
    periodic_stop(&g.poller);
    pthread_mutex_lock(&g.lock);
    while (g.clients) {
        struct stream_client *c = g.clients;
        g.clients = c->next;
        client_free(c);
    }
    pthread_mutex_unlock(&g.lock);
}

long stream_clients(void)
{
    return atomic_load_explicit(&n_clients, memory_order_relaxed);
}

uint64_t stream_dropped(void)
{
    return atomic_load_explicit(&n_dropped, memory_order_relaxed);
}
