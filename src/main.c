/* main.c - subcommands: serve, migrate, verify-views, rebuild-views */
#include <jansson.h>
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "admin.h"
#include "auth.h"
#include "authz.h"
#include "batch.h"
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "drift.h"
#include "housekeeping.h"
#include "http.h"
#include "idem.h"
#include "jwtauth.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "replay.h"
#include "replica.h"
#include "route.h"
#include "stream.h"
#include "views.h"
#include "work.h"

static const char *env_get(const char *name)
{
    return getenv(name);
}

/* Allow as many open files as the hard limit permits (one per connection). */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/*
 * Memory the daemon frees goes back to the system, so its RSS follows what
 * it holds, not the most it ever held. Blocks of 128 KiB and more (pages of
 * events, large replies) are mapped on their own and unmapped when freed
 * (glibc would otherwise raise that threshold after the first large free,
 * and keep such blocks in its heaps); what smaller blocks leave free in the
 * heaps is released by malloc_trim every TRIM_S while serving.
 */
#define MMAP_THRESHOLD (128 << 10)
#define TRIM_S 10

static void memory_setup(void)
{
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
}

/* cqrsd_http_requests_total's route labels: the patterns of the route table. */
static void metrics_init_routes(void)
{
    static const char *patterns[64];
    int n = route_count() < 64 ? route_count() : 64;

    for (int i = 0; i < n; i++)
        patterns[i] = route_pattern(i);
    metrics_routes(patterns, n);
}

/* Does the daemon listen on a loopback address only (127.0.0.0/8, ::1)? */
static bool loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return false;
}

/* SIGHUP: re-read the command token and the JWT key; each keeps its old value on failure. */
static void reload_credentials(void)
{
    char err[600];

    if (auth_reload(err, sizeof(err)))
        log_msg(LOG_LVL_WARN, "cqrsd: SIGHUP: %s; keeping the current token", err);
    else if (auth_enabled())
        log_msg(LOG_LVL_INFO, "cqrsd: SIGHUP: command token re-read");
    if (jwtauth_reload(err, sizeof(err)))
        log_msg(LOG_LVL_WARN, "cqrsd: SIGHUP: %s; keeping the current JWT key", err);
    else if (jwtauth_enabled())
        log_msg(LOG_LVL_INFO, "cqrsd: SIGHUP: JWT key re-read");
}

static int serve(const struct config *cfg)
{
    sigset_t set;
    int sig = 0;
    char err[600];
    struct sockaddr_storage ss;
    socklen_t sslen;

    if (http_listen_parse(cfg->listen, &ss, &sslen)) {
        fprintf(stderr, "cqrsd: --listen: '%s' is not HOST:PORT\n", cfg->listen);
        return 2;
    }
    if (auth_load(cfg->command_token_file, err, sizeof(err))) {
        fprintf(stderr, "cqrsd: %s (%s)\n", err, cfg->command_token_file);
        return 2;
    }
    if (jwtauth_setup(cfg->jwt_key_file, cfg->jwt_algorithm, cfg->jwt_issuer,
                      cfg->jwt_audience, err, sizeof(err))) {
        fprintf(stderr, "cqrsd: --jwt-key-file: %s\n", err);
        auth_release();
        return 2;
    }
    authz_setup(cfg->open_registration);
    log_init(cfg->log_format);
    if (!authz_configured() && !loopback(&ss))
        log_msg(LOG_LVL_WARN,
                "cqrsd: warning: no credentials are configured (--command-token-file, "
                "--jwt-key-file) and it listens on %s, not on loopback: anyone who reaches "
                "it may read every customer and run every command",
                cfg->listen);
    json_object_seed(0);
    cmd_metrics_init(); /* cqrsd_commands_total counts every type of the command tables */
    metrics_init_routes();
    raise_nofile();
    memory_setup();
    if (db_global_init(cfg)) {
        fprintf(stderr, "cqrsd: cannot initialise the MySQL client library\n");
        return 1;
    }
    /* the workers inherit this mask: only the main thread takes the signals */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /*
     * Readers for GETs by id (batch.c). One keeps the batches largest: on 2
     * cores it served more than two or four; very wide pools get another
     * per 32 workers. Without readers the HTTP threads read themselves.
     */
    if (batch_start(1 + cfg->threads / 32))
        fprintf(stderr, "cqrsd: cannot start the batch readers\n");
    /* --threads handler workers: what may wait on the database runs there (work.c) */
    if (work_start(cfg->threads))
        fprintf(stderr, "cqrsd: cannot start the handler workers\n");
    if (replica_start(cfg))
        log_msg(LOG_LVL_WARN, "cqrsd: cannot start the replica monitors");
    if (http_start(cfg)) {
        fprintf(stderr, "cqrsd: cannot listen on %s\n", cfg->listen);
        replica_stop();
        work_stop();
        batch_stop();
        db_global_end();
        return 1;
    }
    {
        struct db *db = db_thread();
        bool w = db && db_ping(db, DB_WRITE) == DB_OK, r = db && db_ping(db, DB_READ) == DB_OK;
        log_msg(LOG_LVL_INFO,
                "cqrsd %s listening on %s with %u threads; database: write %s, read %s",
                CQRSD_VERSION, cfg->listen, cfg->threads, w ? "reachable" : "unreachable",
                r ? "reachable" : "unreachable");
        db_thread_release();
    }
    if (stream_start())
        log_msg(LOG_LVL_WARN, "cqrsd: cannot start the event stream poller");
    if (queue_start(cfg->queue_workers, cfg->queue_max_attempts))
        log_msg(LOG_LVL_WARN, "cqrsd: cannot start the command queue workers");
    if (drift_start(cfg))
        log_msg(LOG_LVL_WARN, "cqrsd: cannot start the read model sample check");
    if (housekeeping_start())
        log_msg(LOG_LVL_WARN, "cqrsd: cannot start the housekeeping thread (purges)");
    for (;;) {
        struct timespec every = {TRIM_S, 0};
        sig = sigtimedwait(&set, NULL, &every);
        if (sig < 0) { /* no signal for TRIM_S: give freed heap pages back */
            malloc_trim(0);
            continue;
        }
        if (sig != SIGHUP)
            break;
        reload_credentials();
    }
    log_msg(LOG_LVL_INFO, "cqrsd: %s received, finishing requests in flight",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_stop(10000);
    work_stop();
    batch_stop();
    queue_stop();
    stream_stop();
    drift_stop();
    housekeeping_stop();
    db_thread_release();
    db_global_end();
    auth_release();
    jwtauth_release();
    log_msg(LOG_LVL_INFO, "cqrsd: stopped");
    return 0;
}

int main(int argc, char **argv)
{
    struct config cfg;
    char err[1200];

    if (config_parse(&cfg, argc, argv, env_get, err, sizeof(err))) {
        fprintf(stderr, "cqrsd: %s\n", err);
        return 2;
    }
    switch (cfg.mode) {
    case MODE_HELP:
        config_usage();
        return 0;
    case MODE_VERSION:
        printf("cqrsd %s (libmicrohttpd %s, jansson %s, MySQL client %s)\n", CQRSD_VERSION,
               http_library_version(), JANSSON_VERSION, db_client_version());
        return 0;
    case MODE_MIGRATE: {
        int rc;
        if (db_global_init(&cfg))
            return 1;
        rc = admin_migrate(&cfg);
        db_global_end();
        return rc;
    }
    case MODE_VERIFY:
    case MODE_REBUILD:
    case MODE_VERIFY_EVENTS: {
        int rc;
        if (db_global_init(&cfg))
            return 2;
        rc = cfg.mode == MODE_VERIFY          ? views_verify(&cfg)
             : cfg.mode == MODE_VERIFY_EVENTS ? replay_verify(&cfg)
                                              : views_rebuild(&cfg);
        db_global_end();
        return rc;
    }
    case MODE_SERVE:
        break;
    }
    return serve(&cfg);
}
