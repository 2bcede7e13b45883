/* http.c - libmicrohttpd glue: bodies and limits, request ids, CORS, responses, shutdown */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "authz.h"
#include "batch.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "problem.h"
#include "replica.h"
#include "route.h"
#include "stop.h"
#include "stream.h"
#include "work.h"

/*=== State ===*/

#define MAX_ORIGINS 32
#define HTTP_DROP_CAP (8u << 20) /* bytes of an oversized chunked body read before closing */
#define EXPOSE_HEADERS "Location, ETag, X-Request-Id, Idempotent-Replayed"
#define ALLOW_HEADERS                                                                              \
    "Content-Type, Authorization, Idempotency-Key, Prefer, If-None-Match, X-Request-Id, "         \
    "X-Consistency-Token"

struct http {
    struct MHD_Daemon *mhd;
    const struct config *cfg;
    bool cors_any;
    char origins_buf[1024];
    const char *origins[MAX_ORIGINS];
    int norigins;
    atomic_int in_flight;
};

/* One per request: from the headers-only first call to the completion callback. */
struct conn_req {
    struct request rq;
    struct reply reply;
    struct sbuf body;
    struct timespec start;
    char request_id[68];
    const struct route *route;
    enum route_result rr;
    bool responded; /* a reply was queued early (415/413/404/405) */
    bool deferred;  /* a worker or a batch reader fills the reply, then resumes */
    bool routed;    /* a query of the read model knows where it reads (replica.h) */
    struct replica_wait *wait; /* parked until a replica has its consistency tokens */
    struct batch_entry read;
    struct work_item job;
    struct MHD_Connection *conn;
    bool too_large; /* the body crossed --max-body: the rest is read and dropped */
    size_t dropped; /* bytes dropped since */
};

/* The daemon's state: one instance, set up before MHD starts its threads. */
static struct http g_http;

/*=== Helpers ===*/

static uint64_t next_rand(void)
{
    static _Thread_local uint64_t s;

    if (s == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)&s;
        s |= 1;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

bool http_request_id_ok(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e || n >= 64)
            return false;
    return n > 0;
}

static void make_request_id(char *out)
{
    uint64_t a = next_rand(), b = next_rand();
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

bool http_json_content_type(const char *ct)
{
    static const char want[] = "application/json";
    size_t n = sizeof(want) - 1;

    if (!ct || strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (*ct == '\0')
        return true;
    if (*ct != ';')
        return false;
    ct++;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, "charset=", 8) != 0)
        return false;
    ct += 8;
    bool quoted = *ct == '"';
    if (quoted)
        ct++;
    if (strncasecmp(ct, "utf-8", 5) != 0)
        return false;
    ct += 5;
    if (quoted && *ct++ != '"')
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0';
}

/* Does a Prefer value ask for respond-async (RFC 7240: a list of preferences)? */
static bool prefers_async(const char *prefer)
{
    const char *p = prefer;

    while (p && *p) {
        const char *e;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        e = p;
        while (*e && *e != ',' && *e != ';' && *e != ' ' && *e != '\t' && *e != '=')
            e++;
        if (e - p == 13 && strncasecmp(p, "respond-async", 13) == 0)
            return true;
        p = strchr(e, ',');
    }
    return false;
}

/* Every Prefer header counts: RFC 7240 allows them in several fields. */
static enum MHD_Result scan_prefer(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct request *rq = cls;

    (void)kind;
    if (strcasecmp(key, "Prefer") == 0 && prefers_async(value))
        rq->prefer_async = true;
    return MHD_YES;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct request *rq = cls;

    (void)kind;
    if (rq->nargs >= REQ_MAX_ARGS) {
        rq->too_many_args = true;
        return MHD_NO;
    }
    rq->args[rq->nargs].key = key;
    rq->args[rq->nargs].val = value;
    rq->nargs++;
    return MHD_YES;
}

/*=== Responses ===*/

static void add_cors(struct MHD_Response *resp, struct MHD_Connection *c)
{
    const char *origin;

    if (g_http.cors_any) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    } else {
        MHD_add_response_header(resp, "Vary", "Origin");
        origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        for (int i = 0; origin && i < g_http.norigins; i++) {
            if (strcmp(origin, g_http.origins[i]) == 0) {
                MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
                break;
            }
        }
    }
    MHD_add_response_header(resp, "Access-Control-Expose-Headers", EXPOSE_HEADERS);
}

/*=== Event streams (SSE): suspended connections fed by the poller of stream.c ===*/

static void sse_suspend(void *conn)
{
    MHD_suspend_connection(conn);
}

static void sse_wake(void *conn)
{
    MHD_resume_connection(conn);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    long n = stream_read(cls, buf, max, sse_suspend);

    (void)pos;
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void sse_free(void *cls)
{
    stream_close(cls);
}

static struct MHD_Response *sse_response(struct MHD_Connection *c, struct conn_req *cr)
{
    struct stream_client *sc;
    struct MHD_Response *resp;
    const union MHD_ConnectionInfo *ci;

    /* stopping: the stream ends at once (a suspended one would abort MHD_stop_daemon) */
    if (cr->rq.method == M_HEAD || stop_requested())
        return MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    sc = stream_open(cr->reply.stream_after, &cr->reply.stream_filter, c, ci ? (int)ci->connect_fd : -1, sse_wake);
    if (!sc)
        return NULL;
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, sc, sse_free);
    if (!resp)
        stream_close(sc);
    return resp;
}

/* Queue cr->reply on c. The body buffer goes to MHD (freed by it). */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct conn_req *cr)
{
    struct reply *r = &cr->reply;
    struct MHD_Response *resp;
    size_t len = 0;
    char *body;
    enum MHD_Result ret;
    char allow_methods[64];

    if (r->status == 0)
        problem(r, P_INTERNAL, "the request was not handled");
    if (r->body.oom) {
        sbuf_release(&r->body);
        problem(r, P_INTERNAL, "out of memory");
    }
    if (r->status == 304 || r->status == 204)
        sbuf_release(&r->body);
    if (r->stream && r->status == 200) {
        resp = sse_response(c, cr);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
    } else {
        body = sbuf_detach(&r->body, &len);
        resp = MHD_create_response_from_buffer(len, body ? body : (char *)"",
                                               body ? MHD_RESPMEM_MUST_FREE
                                                    : MHD_RESPMEM_PERSISTENT);
        if (!resp) {
            free(body);
            return MHD_NO;
        }
    }
    if (len || r->status != 304)
        if (r->status != 204 && r->status != 304)
            MHD_add_response_header(resp, "Content-Type", r->content_type);
    MHD_add_response_header(resp, "X-Request-Id", cr->request_id);
    add_cors(resp, c);
    if (r->location[0])
        MHD_add_response_header(resp, "Location", r->location);
    if (r->etag[0])
        MHD_add_response_header(resp, "ETag", r->etag);
    if (r->allow[0])
        MHD_add_response_header(resp, "Allow", r->allow);
    if (r->retry_after)
        MHD_add_response_header(resp, "Retry-After", "1");
    if (r->www_authenticate)
        MHD_add_response_header(resp, "WWW-Authenticate",
                                r->invalid_token ? "Bearer error=\"invalid_token\"" : "Bearer");
    if (r->replayed)
        MHD_add_response_header(resp, "Idempotent-Replayed", "true");
    if (r->status == 202) /* only a command accepted for later answers 202 */
        MHD_add_response_header(resp, "Preference-Applied", "respond-async");
    if (r->status == 204 && cr->rr == ROUTE_OPTIONS) {
        snprintf(allow_methods, sizeof(allow_methods), "GET, HEAD, POST, OPTIONS");
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", allow_methods);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers", ALLOW_HEADERS);
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    }
    if (r->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    cr->responded = true;
    return ret;
}

/*=== Request life cycle ===*/

static struct conn_req *begin_request(struct MHD_Connection *c, const char *url,
                                      const char *method)
{
    struct conn_req *cr = calloc(1, sizeof(*cr));
    const char *rid;

    if (!cr)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &cr->start);
    reply_init(&cr->reply);
    cr->rq.method = request_method(method);
    cr->rq.method_name = method;
    cr->rq.path = url;
    rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    if (http_request_id_ok(rid))
        snprintf(cr->request_id, sizeof(cr->request_id), "%s", rid);
    else
        make_request_id(cr->request_id);
    cr->rq.request_id = cr->request_id;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &cr->rq);
    cr->rq.if_none_match = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    cr->rq.idempotency_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    cr->rq.prefer = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Prefer");
    if (cr->rq.prefer)
        MHD_get_connection_values(c, MHD_HEADER_KIND, scan_prefer, &cr->rq);
    cr->rq.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    cr->rq.last_event_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    cr->rq.consistency_token =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Consistency-Token");
    cr->rq.read_target = REPLICA_PRIMARY;
    atomic_fetch_add(&g_http.in_flight, 1);
    return cr;
}

/*
 * Decide on the headers alone: routing (404/405/OPTIONS) and, for a POST
 * with a body, 415 and a Content-Length over the limit (413). Returns true
 * when the reply is ready now.
 */
static bool early_reply(struct MHD_Connection *c, struct conn_req *cr)
{
    struct reply *r = &cr->reply;
    const char *ct, *cl, *te;
    enum access access;

    cr->rr = route_match(&cr->rq, &cr->route);
    r->route = cr->route ? cr->route->pattern : "unmatched";
    switch (cr->rr) {
    case ROUTE_NOT_FOUND:
        problem(r, P_NOT_FOUND, "no route for this path");
        return true;
    case ROUTE_METHOD_NOT_ALLOWED:
        route_allow(cr->route, r->allow, sizeof(r->allow));
        problem(r, P_METHOD_NOT_ALLOWED, "allowed: %s", r->allow);
        return true;
    case ROUTE_OPTIONS:
        route_allow(cr->route, r->allow, sizeof(r->allow));
        r->status = 204;
        return true;
    case ROUTE_OK:
        break;
    }
    /* credentials, then the role (API.md "Authorization"); ownership is the handler's */
    access = route_access(cr->route, cr->rq.method);
    if (access != ACCESS_NONE) {
        const struct req_arg *at =
            cr->route->access_token ? request_arg(&cr->rq, "access_token") : NULL;
        if (authz_resolve(cr->rq.authorization, at ? (at->val ? at->val : "") : NULL,
                          &cr->rq.who, r) ||
            authz_route(access, &cr->rq.who, r)) {
            r->close = cr->rq.method == M_POST;
            return true;
        }
    }
    te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te && strcasecmp(te, "chunked") != 0) { /* gzip etc.: a body we could not read */
        problem(r, P_INVALID_PARAMETER, "Transfer-Encoding must be chunked (or absent)");
        r->close = true;
        return true;
    }
    if (cr->rq.method != M_POST)
        return false;
    ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!http_json_content_type(ct)) {
        problem(r, P_UNSUPPORTED_MEDIA_TYPE, "send the body as application/json");
        r->close = true;
        return true;
    }
    cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > g_http.cfg->max_body) {
        problem(r, P_PAYLOAD_TOO_LARGE, "the body is over %zu bytes", g_http.cfg->max_body);
        r->close = true;
        return true;
    }
    return false;
}

/* The consistency tokens of a request: the header, or the stream's query parameter. */
static const char *token_of(const struct conn_req *cr)
{
    const struct req_arg *a;

    if (cr->rq.consistency_token || !cr->route->access_token)
        return cr->rq.consistency_token;
    a = request_arg(&cr->rq, "consistency_token");
    return a ? (a->val ? a->val : "") : NULL;
}

static void wait_done(void *conn)
{
    MHD_resume_connection(conn);
}

/*
 * Where a query of the read model reads (replica.h): a replica, the
 * primary, or nowhere yet: then the connection is suspended until a replica
 * has applied the request's consistency tokens or the wait is over, and
 * libmicrohttpd calls on_request again. True when *res is the answer.
 */
static bool route_read(struct MHD_Connection *c, struct conn_req *cr, enum MHD_Result *res)
{
    struct reply *r = &cr->reply;
    struct replica_wait *w = NULL;
    int target = REPLICA_PRIMARY;

    if (cr->wait) { /* resumed */
        target = replica_wait_target(cr->wait);
        replica_wait_free(cr->wait);
        cr->wait = NULL;
    } else {
        switch (replica_route(cr->rq.consistency_token, &target, &w)) {
        case RR_READY:
        case RR_REFUSED:
            break;
        case RR_BAD_TOKEN:
            problem(r, P_INVALID_PARAMETER,
                    "X-Consistency-Token must hold consistency tokens from command answers, "
                    "comma-separated (at most 32)");
            *res = send_reply(c, cr);
            return true;
        case RR_WAIT:
            if (stop_requested()) { /* never suspend while stopping: see defer_work */
                replica_wait_free(w);
                break;
            }
            cr->wait = w;
            MHD_suspend_connection(c);
            if (replica_park(w, wait_done, c) == 0) {
                *res = MHD_YES;
                return true;
            }
            MHD_resume_connection(c);
            replica_wait_free(w);
            cr->wait = NULL;
            break;
        }
    }
    cr->routed = true;
    if (target == REPLICA_REFUSED) {
        problem(r, P_REPLICA_LAGGING, "no replica has applied the write of the consistency "
                                      "token in time; retry");
        *res = send_reply(c, cr);
        return true;
    }
    cr->rq.read_target = target;
    return false;
}

static void call_handler(struct conn_req *cr)
{
    if (cr->rq.method == M_POST)
        cr->route->post(&cr->rq, &cr->reply);
    else
        cr->route->get(&cr->rq, &cr->reply);
}

/* On a handler worker (work.c): run the handler, then hand the connection back. */
static void run_job(struct work_item *item)
{
    struct conn_req *cr = (struct conn_req *)((char *)item - offsetof(struct conn_req, job));
    struct MHD_Connection *c = cr->conn;

    struct db *db = cr->rq.read_target >= 0 ? db_thread() : NULL;

    cr->rq.batch = false; /* a worker may wait on its own read */
    if (db)
        db_read_on(db, cr->rq.read_target);
    call_handler(cr);
    if (db)
        db_read_on(db, REPLICA_PRIMARY);
    MHD_resume_connection(c); /* cr is libmicrohttpd's thread's again */
}

/*
 * A handler that may wait on the database runs on a handler worker, so that
 * a slow one never holds up the other connections of this HTTP thread.
 * Without workers it runs here.
 */
static enum MHD_Result defer_work(struct MHD_Connection *c, struct conn_req *cr)
{
    /*
     * Stopping: a keep-alive connection may still bring a request after
     * MHD_quiesce_daemon. It runs here, never suspended: MHD_stop_daemon
     * aborts the process if a connection is suspended. (begin_request
     * counted it in in_flight before this test, so http_stop either sees it
     * or it sees the flag.)
     */
    if (stop_requested()) {
        call_handler(cr);
        return send_reply(c, cr);
    }
    cr->conn = c;
    cr->job.run = run_job;
    cr->deferred = true;
    MHD_suspend_connection(c);
    if (work_submit(&cr->job) == 0)
        return MHD_YES;
    MHD_resume_connection(c);
    cr->deferred = false;
    call_handler(cr);
    return send_reply(c, cr);
}

static void read_done(void *conn)
{
    MHD_resume_connection(conn);
}

/*
 * Hand a GET by id to the batch readers: suspend the connection first, so
 * that the reader's resume always comes after; libmicrohttpd calls
 * on_request again once it is resumed. Without readers, read it here.
 */
static enum MHD_Result defer_read(struct MHD_Connection *c, struct conn_req *cr)
{
    struct batch_entry *e = &cr->read;

    if (stop_requested()) { /* never suspend while stopping: see defer_work */
        cr->reply.defer_kind = 0;
        cr->rq.batch = false;
        call_handler(cr);
        return send_reply(c, cr);
    }
    e->kind = (enum doc_kind)(cr->reply.defer_kind - 1);
    e->id = cr->reply.defer_id;
    e->owner = cr->reply.defer_owner;
    e->if_none_match = cr->rq.if_none_match;
    e->target = cr->rq.read_target;
    e->r = &cr->reply;
    e->conn = c;
    e->done = read_done;
    cr->deferred = true;
    MHD_suspend_connection(c);
    if (batch_submit(e) == 0)
        return MHD_YES;
    MHD_resume_connection(c);
    cr->deferred = false;
    cr->reply.defer_kind = 0;
    cr->rq.batch = false;
    call_handler(cr);
    return send_reply(c, cr);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct conn_req *cr = *con_cls;

    (void)cls;
    (void)version;
    if (!cr) {
        cr = begin_request(c, url, method);
        if (!cr)
            return MHD_NO;
        *con_cls = cr;
        if (early_reply(c, cr))
            return send_reply(c, cr);
        return MHD_YES;
    }
    if (cr->responded) { /* an early reply is on its way: drop the rest */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        /*
         * libmicrohttpd 0.9.75 cannot queue a reply in the middle of a body
         * (only on the headers-only call or once the body is complete). A
         * body without Content-Length that crosses the limit is therefore
         * dropped as it arrives and answered 413 at its end; one that goes
         * on past a hard cap gets its connection closed.
         */
        if (cr->too_large || cr->body.len + n > g_http.cfg->max_body) {
            if (!cr->too_large) {
                cr->too_large = true;
                sbuf_release(&cr->body);
            }
            cr->dropped += n;
            return cr->dropped > HTTP_DROP_CAP ? MHD_NO : MHD_YES;
        }
        if (sbuf_add(&cr->body, upload_data, n))
            return MHD_NO;
        return MHD_YES;
    }
    if (cr->too_large) {
        problem(&cr->reply, P_PAYLOAD_TOO_LARGE, "the body is over %zu bytes",
                g_http.cfg->max_body);
        cr->reply.close = true;
        return send_reply(c, cr);
    }
    /* the whole request is here */
    cr->rq.body = cr->body.buf ? cr->body.buf : "";
    cr->rq.body_len = cr->body.len;
    if (cr->deferred) /* resumed: a worker or a reader filled the reply */
        return send_reply(c, cr);
    if (cr->route->replica && !cr->routed) {
        enum MHD_Result res;
        if (route_read(c, cr, &res))
            return res;
    } else if (cr->route->token && !replica_token_valid(token_of(cr))) {
        problem(&cr->reply, P_INVALID_PARAMETER,
                "the consistency token must hold tokens from command answers, comma-separated "
                "(at most 32)");
        return send_reply(c, cr);
    }
    if (!cr->route->quick)
        return defer_work(c, cr);
    cr->rq.batch = true;
    call_handler(cr);
    if (cr->reply.defer_kind)
        return defer_read(c, cr);
    return send_reply(c, cr);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_req *cr = *con_cls;
    struct timespec end;
    struct log_request lr;

    (void)cls;
    (void)c;
    (void)toe;
    if (!cr)
        return;
    clock_gettime(CLOCK_MONOTONIC, &end);
    lr.request_id = cr->request_id;
    lr.method = cr->rq.method_name;
    lr.route = cr->reply.route ? cr->reply.route : "unmatched";
    lr.status = cr->reply.status;
    lr.duration_ms = (double)(end.tv_sec - cr->start.tv_sec) * 1e3 +
                     (double)(end.tv_nsec - cr->start.tv_nsec) / 1e6;
    metrics_request(route_index(cr->route), cr->rq.method, cr->reply.status, lr.duration_ms / 1e3);
    lr.command_type = cr->reply.command_type;
    lr.command_id = cr->reply.command_id;
    log_request(&lr);
    replica_wait_free(cr->wait); /* resumed but never run again (the connection ended) */
    reply_release(&cr->reply);
    sbuf_release(&cr->body);
    free(cr);
    *con_cls = NULL;
    atomic_fetch_sub(&g_http.in_flight, 1);
}

/*=== Start and stop ===*/

static void parse_origins(const char *list)
{
    char *save = NULL, *tok;

    snprintf(g_http.origins_buf, sizeof(g_http.origins_buf), "%s", list);
    g_http.cors_any = false;
    g_http.norigins = 0;
    for (tok = strtok_r(g_http.origins_buf, ",", &save); tok && g_http.norigins < MAX_ORIGINS;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *e = tok + strlen(tok);
        while (e > tok && e[-1] == ' ')
            *--e = '\0';
        if (strcmp(tok, "*") == 0)
            g_http.cors_any = true;
        else if (*tok)
            g_http.origins[g_http.norigins++] = tok;
    }
}

int http_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *colon;
    char *end;
    unsigned long port;

    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
            return -1;
        memcpy(host, s + 1, (size_t)(rb - s - 1));
        host[rb - s - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof(host))
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
    }
    if (colon[1] < '0' || colon[1] > '9')
        return -1;
    port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535)
        return -1;
    if (s[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return -1;
        *len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (host[0] == '\0' || strcmp(host, "*") == 0)
            a->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (strcmp(host, "localhost") == 0)
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return -1;
        *len = sizeof(*a);
    }
    return 0;
}

int http_start(const struct config *cfg)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    /* HTTP threads only read requests and write replies: one per core is enough */
    unsigned io_threads = ncpu > 0 && (unsigned long)ncpu < cfg->threads ? (unsigned)ncpu
                                                                         : cfg->threads;

    g_http.cfg = cfg;
    atomic_store(&g_http.in_flight, 0);
    parse_origins(cfg->cors_origins);
    if (http_listen_parse(cfg->listen, &ss, &sslen))
        return -1;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    g_http.mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, io_threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    return g_http.mhd ? 0 : -1;
}

void http_stop(unsigned grace_ms)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    unsigned waited = 0;

    if (!g_http.mhd)
        return;
    stop_begin();
    MHD_socket ls = MHD_quiesce_daemon(g_http.mhd); /* stop accepting; the socket is ours */
    stream_end_all(); /* event streams end; their suspended connections are resumed */
    replica_stop(); /* queries waiting for a replica are answered from the primary */
    while (atomic_load(&g_http.in_flight) > 0 && waited < grace_ms) {
        nanosleep(&ts, NULL);
        waited += 10;
    }
    if (atomic_load(&g_http.in_flight) > 0) {
        /* a worker is stuck in the database: the bound wins; the server rolls back */
        log_msg(LOG_LVL_WARN, "cqrsd: %d requests still running after %u ms; exiting",
                atomic_load(&g_http.in_flight), grace_ms);
        _exit(0);
    }
    MHD_stop_daemon(g_http.mhd);
    g_http.mhd = NULL;
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
}

const char *http_library_version(void)
{
    return MHD_get_version();
}
