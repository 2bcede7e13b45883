/* fuzz_dsn.c - dsn_parse, and config_parse with an argv and an environment
 * built from the input.
 *
 * dsn_parse gets the input up to its first NUL. For config_parse the input is
 * split at NUL bytes into pieces: a piece "NAME=VALUE" whose NAME starts with
 * CQRSD_ goes to the environment, every other piece is the next argv element.
 *
 * Invariants: a parsed DSN has a non-empty host of allowed characters, a port
 * of 0..65535, a database of [A-Za-z0-9_], NUL-terminated fields; a failure
 * writes a message; config_parse never leaves a field unterminated
 * and a successful serve/migrate configuration has threads >= 1, a body limit
 * of 64..64 MiB and a valid log format.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_dsn: invariant broken: " __VA_ARGS__);                              \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

#define MAX_PIECES 64

static const char *env_names[MAX_PIECES], *env_vals[MAX_PIECES];
static size_t env_n;

static const char *fuzz_getenv(const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < env_n; i++) /* the last one wins, as with putenv */
        if (strcmp(env_names[i], name) == 0)
            v = env_vals[i];
    return v;
}

static void check_terminated(const char *f, size_t cap, const char *what)
{
    if (!memchr(f, '\0', cap))
        FAIL("%s is not NUL-terminated", what);
}

static void check_dsn(const struct dsn *d, const char *what)
{
    check_terminated(d->user, sizeof(d->user), what);
    check_terminated(d->password, sizeof(d->password), what);
    check_terminated(d->host, sizeof(d->host), what);
    check_terminated(d->database, sizeof(d->database), what);
    check_terminated(d->socket, sizeof(d->socket), what);
    check_terminated(d->ssl_ca, sizeof(d->ssl_ca), what);
    check_terminated(d->ssl_cert, sizeof(d->ssl_cert), what);
    check_terminated(d->ssl_key, sizeof(d->ssl_key), what);
    if ((unsigned)d->ssl_mode > DSN_SSL_VERIFY_IDENTITY)
        FAIL("%s: ssl-mode %d", what, (int)d->ssl_mode);
    if (d->ssl_mode >= DSN_SSL_VERIFY_CA && !d->ssl_ca[0])
        FAIL("%s: a verify mode without ssl-ca", what);
    if (!d->ssl_cert[0] != !d->ssl_key[0])
        FAIL("%s: a certificate without its key", what);
    if (d->host[0] == '\0' || d->user[0] == '\0')
        FAIL("%s: parsed with an empty host or user", what);
    if (strpbrk(d->host, "@/? %"))
        FAIL("%s: host '%s' has a forbidden character", what, d->host);
    if (d->port > 65535)
        FAIL("%s: port %u", what, d->port);
    for (const char *c = d->database; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_'))
            FAIL("%s: database '%s'", what, d->database);
}

static void check_err(const char *err, size_t cap, const char *what)
{
    if (!memchr(err, '\0', cap) || err[0] == '\0')
        FAIL("%s: failure without a message", what);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_object_seed(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *argv[MAX_PIECES + 2];
    int argc = 1;
    char err[512];
    struct dsn d;
    struct config *cfg = malloc(sizeof(*cfg));

    if (!buf || !cfg)
        goto out;
    memcpy(buf, data, size);
    buf[size] = '\0';

    /* 1. the input as one DSN */
    memset(err, 0, sizeof(err));
    if (dsn_parse(buf, &d, err, sizeof(err)) == 0) {
        check_dsn(&d, "dsn_parse");
        if (strncmp(buf, "mysql://", 8) != 0)
            FAIL("dsn_parse accepted '%s' without the scheme", buf);
    } else {
        check_err(err, sizeof(err), "dsn_parse");
    }

    /* 2. the input as argv and environment */
    env_n = 0;
    argv[0] = (char *)"cqrsd";
    for (size_t i = 0; i < size && argc <= MAX_PIECES;) {
        char *p = buf + i;
        size_t n = strlen(p);
        char *eq = strchr(p, '=');
        if (strncmp(p, "CQRSD_", 6) == 0 && eq && env_n < MAX_PIECES) {
            *eq = '\0';
            env_names[env_n] = p;
            env_vals[env_n++] = eq + 1;
        } else {
            argv[argc++] = p;
        }
        i += n + 1;
    }
    argv[argc] = NULL;
    memset(err, 0, sizeof(err));
    if (config_parse(cfg, argc, argv, fuzz_getenv, err, sizeof(err)) == 0) {
        if (cfg->mode != MODE_HELP && cfg->mode != MODE_VERSION) {
            check_terminated(cfg->listen, sizeof(cfg->listen), "listen");
            check_terminated(cfg->command_token_file, sizeof(cfg->command_token_file),
                             "command_token_file");
            check_terminated(cfg->cors_origins, sizeof(cfg->cors_origins), "cors_origins");
            check_dsn(&cfg->write_dsn, "write_dsn");
            check_dsn(&cfg->read_dsn, "read_dsn");
            check_dsn(&cfg->admin_dsn, "admin_dsn");
            if (cfg->threads < 1 || cfg->threads > 1024)
                FAIL("threads %u", cfg->threads);
            if (cfg->max_body < 64 || cfg->max_body > (64u << 20))
                FAIL("max_body %zu", cfg->max_body);
            if (cfg->log_format != LOG_TEXT && cfg->log_format != LOG_JSON)
                FAIL("log_format %d", (int)cfg->log_format);
            if (cfg->queue_max_attempts < 1 || cfg->queue_workers > 64)
                FAIL("queue settings %u %u", cfg->queue_workers, cfg->queue_max_attempts);
        }
    } else {
        check_err(err, sizeof(err), "config_parse");
    }
out:
    free(buf);
    free(cfg);
    return 0;
}
