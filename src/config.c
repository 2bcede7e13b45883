/* config.c - the flag/environment table, subcommands and DSN parsing */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*=== Option table ===*/

enum opt_type { OPT_STR, OPT_DSN, OPT_DSN_LIST, OPT_UINT, OPT_SIZE, OPT_LOGFMT, OPT_ONOFF, OPT_FALLBACK };

struct option_def {
    const char *flag;
    const char *env;
    const char *def; /* NULL: no default */
    enum opt_type type;
    size_t off;  /* offset of the target in struct config */
    size_t size; /* size of the target (strings) */
    unsigned long long min, max;
    const char *help;
};

#define OFF(f) offsetof(struct config, f)
#define SZ(f) sizeof(((struct config *)0)->f)

static const struct option_def options[] = {
    {"--listen", "CQRSD_LISTEN", "127.0.0.1:8080", OPT_STR, OFF(listen), SZ(listen), 0, 0,
     "address and port to serve on"},
    {"--write-dsn", "CQRSD_WRITE_DSN", "mysql://cqrs_writer:cqrs_writer@127.0.0.1:3306/cqrs",
     OPT_DSN, OFF(write_dsn), 0, 0, 0, "account for commands"},
    {"--read-dsn", "CQRSD_READ_DSN", "mysql://cqrs_reader:cqrs_reader@127.0.0.1:3306/cqrs",
     OPT_DSN, OFF(read_dsn), 0, 0, 0, "account for queries on the primary"},
    {"--replica-dsn", "CQRSD_REPLICA_DSN", NULL, OPT_DSN_LIST, OFF(replica_dsn), 0, 0, 0,
     "a replica for queries (reader account); repeat the flag, or comma-separate in the "
     "variable, for several"},
    {"--max-replica-lag", "CQRSD_MAX_REPLICA_LAG", "5", OPT_UINT, OFF(max_replica_lag), 0, 1,
     86400, "seconds of lag after which a replica takes no queries without a token"},
    {"--consistency-wait-ms", "CQRSD_CONSISTENCY_WAIT_MS", "2000", OPT_UINT,
     OFF(consistency_wait_ms), 0, 0, 60000,
     "how long a query with a consistency token waits for a replica"},
    {"--consistency-fallback", "CQRSD_CONSISTENCY_FALLBACK", "primary", OPT_FALLBACK,
     OFF(consistency_fallback_none), 0, 0, 0,
     "primary, or none (then 503 replica-lagging) when no replica has a token's write in time"},
    {"--admin-dsn", "CQRSD_ADMIN_DSN", "mysql://root@127.0.0.1:3306/", OPT_DSN, OFF(admin_dsn),
     0, 0, 0, "used by migrate, verify-views, rebuild-views and verify-events only"},
    {"--threads", "CQRSD_THREADS", "16", OPT_UINT, OFF(threads), 0, 1, 1024,
     "worker threads that run requests, each with its own database connections"},
    {"--max-body", "CQRSD_MAX_BODY", "65536", OPT_SIZE, OFF(max_body), 0, 64, 64u << 20,
     "request body limit in bytes"},
    {"--command-token-file", "CQRSD_COMMAND_TOKEN_FILE", NULL, OPT_STR, OFF(command_token_file),
     SZ(command_token_file), 0, 0, "a static bearer token with the admin role"},
    {"--jwt-key-file", "CQRSD_JWT_KEY_FILE", NULL, OPT_STR, OFF(jwt_key_file), SZ(jwt_key_file),
     0, 0, "HS256 secret, or PEM public key for RS256/ES256; turns JWT checks on"},
    {"--jwt-algorithm", "CQRSD_JWT_ALGORITHM", "HS256", OPT_STR, OFF(jwt_algorithm),
     SZ(jwt_algorithm), 0, 0, "the one algorithm accepted: HS256, RS256 or ES256"},
    {"--jwt-issuer", "CQRSD_JWT_ISSUER", NULL, OPT_STR, OFF(jwt_issuer), SZ(jwt_issuer), 0, 0,
     "when set, a JWT's iss must be this"},
    {"--jwt-audience", "CQRSD_JWT_AUDIENCE", NULL, OPT_STR, OFF(jwt_audience),
     SZ(jwt_audience), 0, 0, "when set, a JWT's aud must name this"},
    {"--open-registration", "CQRSD_OPEN_REGISTRATION", "off", OPT_ONOFF,
     OFF(open_registration), 0, 0, 0, "on: anonymous clients may send RegisterCustomer"},
    {"--cors-origins", "CQRSD_CORS_ORIGINS", "*", OPT_STR, OFF(cors_origins), SZ(cors_origins),
     0, 0, "comma-separated allowed origins"},
    {"--log-format", "CQRSD_LOG_FORMAT", "text", OPT_LOGFMT, OFF(log_format), 0, 0, 0,
     "text or json, one line per request to stderr"},
    {"--queue-workers", "CQRSD_QUEUE_WORKERS", "2", OPT_UINT, OFF(queue_workers), 0, 0, 64,
     "threads that run asynchronous commands (0: none in this daemon)"},
    {"--queue-max-attempts", "CQRSD_QUEUE_MAX_ATTEMPTS", "5", OPT_UINT, OFF(queue_max_attempts),
     0, 1, 100, "tries of an asynchronous command that fails for infrastructure reasons"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/*=== DSN ===*/

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode <s, n> into out (size cap); -1 on a bad escape, NUL or overflow. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = hexval((unsigned char)s[i + 1]);
            lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            if (c == 0)
                return -1;
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int copy_span(const char *s, size_t n, char *out, size_t cap)
{
    if (n >= cap)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

static int parse_params(const char *p, const char *end, struct dsn *out, char *err,
                        size_t errlen);

#define DSN_FAIL(...)                                                                              \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -1;                                                                                 \
    } while (0)

int dsn_parse(const char *s, struct dsn *out, char *err, size_t errlen)
{
    static const char scheme[] = "mysql://";
    const char *p, *at, *slash, *hostend, *q, *end;

    memset(out, 0, sizeof(*out));
    if (strncmp(s, scheme, sizeof(scheme) - 1) != 0)
        DSN_FAIL("dsn must start with 'mysql://'");
    p = s + sizeof(scheme) - 1;
    end = p + strlen(p);
    q = strchr(p, '?');
    if (!q)
        q = end;
    slash = memchr(p, '/', (size_t)(q - p));
    if (!slash)
        DSN_FAIL("dsn has no '/DATABASE' part");
    /* the last '@' before the path separates the userinfo */
    at = NULL;
    for (const char *c = p; c < slash; c++)
        if (*c == '@')
            at = c;
    if (!at)
        DSN_FAIL("dsn has no 'USER@' part");
    {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
        if (ulen == 0)
            DSN_FAIL("dsn has an empty user");
        if (pct_decode(p, ulen, out->user, sizeof(out->user)))
            DSN_FAIL("dsn user is badly percent-encoded or too long");
        if (colon && pct_decode(colon + 1, (size_t)(at - colon - 1), out->password,
                                sizeof(out->password)))
            DSN_FAIL("dsn password is badly percent-encoded or too long");
    }
    p = at + 1;
    hostend = slash;
    if (*p == '[') { /* [ipv6]:port */
        const char *rb = memchr(p, ']', (size_t)(slash - p));
        if (!rb)
            DSN_FAIL("dsn host has an unclosed '['");
        if (copy_span(p + 1, (size_t)(rb - p - 1), out->host, sizeof(out->host)))
            DSN_FAIL("dsn host is too long");
        hostend = rb + 1;
        if (hostend != slash && *hostend != ':')
            DSN_FAIL("dsn has junk after the host");
    } else {
        const char *colon = memchr(p, ':', (size_t)(slash - p));
        hostend = colon ? colon : slash;
        if (copy_span(p, (size_t)(hostend - p), out->host, sizeof(out->host)))
            DSN_FAIL("dsn host is too long");
    }
    if (out->host[0] == '\0')
        DSN_FAIL("dsn has an empty host");
    for (const char *c = out->host; *c; c++)
        if (*c == '@' || *c == '/' || *c == '?' || *c == ' ' || *c == '%')
            DSN_FAIL("dsn host has an invalid character");
    if (hostend < slash && *hostend == ':') {
        unsigned long port = 0;
        const char *d = hostend + 1;
        if (d == slash)
            DSN_FAIL("dsn port is empty");
        for (; d < slash; d++) {
            if (*d < '0' || *d > '9')
                DSN_FAIL("dsn port must be a number from 1 to 65535");
            port = port * 10 + (unsigned long)(*d - '0');
            if (port > 65535)
                DSN_FAIL("dsn port must be a number from 1 to 65535");
        }
        if (port == 0)
            DSN_FAIL("dsn port must be a number from 1 to 65535");
        out->port = (unsigned)port;
    }
    if (copy_span(slash + 1, (size_t)(q - slash - 1), out->database, sizeof(out->database)))
        DSN_FAIL("dsn database name is too long");
    for (const char *c = out->database; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            DSN_FAIL("dsn database name may only hold letters, digits and '_'");
    if (q < end && q + 1 == end)
        DSN_FAIL("dsn has a '?' and no parameters");
    if (q < end && parse_params(q + 1, end, out, err, errlen))
        return -1;
    return 0;
}

static const char *const ssl_mode_names[] = {
    [DSN_SSL_PREFERRED] = "preferred",         [DSN_SSL_DISABLED] = "disabled",
    [DSN_SSL_REQUIRED] = "required",           [DSN_SSL_VERIFY_CA] = "verify-ca",
    [DSN_SSL_VERIFY_IDENTITY] = "verify-identity",
};

const char *dsn_ssl_mode_name(enum ssl_mode m)
{
    return (unsigned)m < sizeof(ssl_mode_names) / sizeof(ssl_mode_names[0]) ? ssl_mode_names[m]
                                                                             : "?";
}

/* The parameters after '?': NAME=VALUE pairs joined by '&', each name at most once. */
static int parse_params(const char *p, const char *end, struct dsn *out, char *err,
                        size_t errlen)
{
    enum { P_SOCKET, P_MODE, P_CA, P_CERT, P_KEY, P__COUNT };
    static const char *const names[P__COUNT] = {"socket", "ssl-mode", "ssl-ca", "ssl-cert",
                                                "ssl-key"};
    char *const targets[P__COUNT] = {out->socket, NULL, out->ssl_ca, out->ssl_cert,
                                     out->ssl_key};
    const size_t caps[P__COUNT] = {sizeof(out->socket), 0, sizeof(out->ssl_ca),
                                   sizeof(out->ssl_cert), sizeof(out->ssl_key)};
    bool seen[P__COUNT] = {false};

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        size_t nlen = eq ? (size_t)(eq - p) : (size_t)(stop - p);
        int k = -1;
        for (int i = 0; i < P__COUNT; i++)
            if (strlen(names[i]) == nlen && strncmp(p, names[i], nlen) == 0)
                k = i;
        if (k < 0)
            DSN_FAIL("dsn has an unknown parameter '%.*s' (known: socket, ssl-mode, ssl-ca, "
                     "ssl-cert, ssl-key)",
                     (int)(nlen > 40 ? 40 : nlen), p);
        if (seen[k])
            DSN_FAIL("dsn has the parameter '%s' twice", names[k]);
        seen[k] = true;
        if (!eq || eq + 1 == stop)
            DSN_FAIL("dsn parameter '%s' has no value", names[k]);
        if (k == P_MODE) {
            char v[24]; /* percent-decoded, like every value */
            int m = -1;
            if (pct_decode(eq + 1, (size_t)(stop - eq - 1), v, sizeof(v)))
                v[0] = '\0';
            for (int i = 0; i < (int)(sizeof(ssl_mode_names) / sizeof(ssl_mode_names[0])); i++)
                if (strcmp(v, ssl_mode_names[i]) == 0)
                    m = i;
            if (m < 0)
                DSN_FAIL("dsn ssl-mode must be disabled, preferred, required, verify-ca or "
                         "verify-identity");
            out->ssl_mode = (enum ssl_mode)m;
        } else if (pct_decode(eq + 1, (size_t)(stop - eq - 1), targets[k], caps[k])) {
            DSN_FAIL("dsn %s is badly percent-encoded or too long", names[k]);
        }
        p = amp ? amp + 1 : end;
        if (amp && p == end)
            DSN_FAIL("dsn ends with '&'");
    }
    if ((out->ssl_mode == DSN_SSL_VERIFY_CA || out->ssl_mode == DSN_SSL_VERIFY_IDENTITY) &&
        !out->ssl_ca[0])
        DSN_FAIL("dsn ssl-mode=%s needs ssl-ca (the CA that signed the server's certificate)",
                 dsn_ssl_mode_name(out->ssl_mode));
    if (!out->ssl_cert[0] != !out->ssl_key[0])
        DSN_FAIL("dsn needs ssl-cert and ssl-key together (a client certificate and its key)");
    if (out->ssl_mode == DSN_SSL_DISABLED && (out->ssl_ca[0] || out->ssl_cert[0]))
        DSN_FAIL("dsn has ssl-ca, ssl-cert or ssl-key with ssl-mode=disabled");
    if (out->socket[0] && (out->ssl_mode >= DSN_SSL_REQUIRED || out->ssl_ca[0] || out->ssl_cert[0]))
        DSN_FAIL("dsn socket is a local connection, which never uses TLS: drop the ssl "
                 "parameters or connect over TCP");
    return 0;
}

int dsn_check_files(const struct dsn *d, char *err, size_t errlen)
{
    const char *const names[] = {"ssl-ca", "ssl-cert", "ssl-key"};
    const char *const paths[] = {d->ssl_ca, d->ssl_cert, d->ssl_key};

    for (size_t i = 0; i < 3; i++) {
        struct stat st;
        int fd;
        if (!paths[i][0])
            continue;
        fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "%s file %s cannot be read: %s", names[i], paths[i],
                     fd < 0 ? strerror(errno) : "not a regular file");
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}

void dsn_redact(const char *s, char *out, size_t outlen)
{
    static const char scheme[] = "mysql://";
    const char *u = strncmp(s, scheme, sizeof(scheme) - 1) == 0 ? s + sizeof(scheme) - 1 : s;
    const char *slash = strchr(u, '/'), *at = NULL, *colon;

    if (!slash)
        slash = u + strlen(u);
    for (const char *c = u; c < slash; c++)
        if (*c == '@')
            at = c;
    if (!at) /* no user part to tell the password from: show none of it */
        snprintf(out, outlen, "%.*s***%s", (int)(u - s), s, slash);
    else if ((colon = memchr(u, ':', (size_t)(at - u))))
        snprintf(out, outlen, "%.*s:***%s", (int)(colon - s), s, at);
    else
        snprintf(out, outlen, "%s", s);
}

/*=== Options ===*/

static int set_option(struct config *cfg, const struct option_def *o, const char *val,
                      const char *src, char *err, size_t errlen)
{
    char *target = (char *)cfg + o->off;

    switch (o->type) {
    case OPT_STR:
        if (strlen(val) >= o->size) {
            snprintf(err, errlen, "%s: value is too long", src);
            return -1;
        }
        strcpy(target, val);
        return 0;
    case OPT_DSN:
    case OPT_DSN_LIST: {
        char why[700], shown[300];
        if (o->type == OPT_DSN_LIST) { /* one more replica: target is replica_dsn */
            if (cfg->nreplicas == CONFIG_MAX_REPLICAS) {
                snprintf(err, errlen, "%s: at most %d replicas", src, CONFIG_MAX_REPLICAS);
                return -1;
            }
            target = (char *)&cfg->replica_dsn[cfg->nreplicas++];
        }
        if (dsn_parse(val, (struct dsn *)target, why, sizeof(why)) ||
            dsn_check_files((struct dsn *)target, why, sizeof(why))) {
            dsn_redact(val, shown, sizeof(shown));
            snprintf(err, errlen, "%s %s: %s", src, shown, why);
            return -1;
        }
        return 0;
    }
    case OPT_UINT:
    case OPT_SIZE: {
        char *endp;
        unsigned long long v;
        if (val[0] < '0' || val[0] > '9')
            goto bad_number;
        errno = 0;
        v = strtoull(val, &endp, 10);
        if (errno || *endp || v < o->min || v > o->max)
            goto bad_number;
        if (o->type == OPT_UINT)
            *(unsigned *)target = (unsigned)v;
        else
            *(size_t *)target = (size_t)v;
        return 0;
    bad_number:
        snprintf(err, errlen, "%s: must be a whole number from %llu to %llu", src, o->min,
                 o->max);
        return -1;
    }
    case OPT_ONOFF:
        if (strcmp(val, "on") == 0)
            *(bool *)target = true;
        else if (strcmp(val, "off") == 0)
            *(bool *)target = false;
        else {
            snprintf(err, errlen, "%s: must be 'on' or 'off'", src);
            return -1;
        }
        return 0;
    case OPT_FALLBACK:
        if (strcmp(val, "primary") == 0 || strcmp(val, "none") == 0) {
            *(bool *)target = val[0] == 'n';
            return 0;
        }
        snprintf(err, errlen, "%s: must be 'primary' or 'none'", src);
        return -1;
    case OPT_LOGFMT:
        if (strcmp(val, "text") == 0)
            *(enum log_format *)target = LOG_TEXT;
        else if (strcmp(val, "json") == 0)
            *(enum log_format *)target = LOG_JSON;
        else {
            snprintf(err, errlen, "%s: must be 'text' or 'json'", src);
            return -1;
        }
        return 0;
    }
    return -1;
}

/*
 * A list option: each value the flag was given, else the variable's
 * comma-separated values (an empty one is an error), else none.
 */
static int set_list(struct config *cfg, const struct option_def *o, const char *const *vals,
                    int n, const char *env, char *err, size_t errlen)
{
    char one[2048];

    for (int i = 0; i < n; i++)
        if (set_option(cfg, o, vals[i], o->flag, err, errlen))
            return -1;
    while (env) {
        const char *comma = strchr(env, ',');
        size_t len = comma ? (size_t)(comma - env) : strlen(env);
        if (len == 0 || len >= sizeof(one)) {
            snprintf(err, errlen, "%s: an empty or over-long DSN in the list", o->env);
            return -1;
        }
        memcpy(one, env, len);
        one[len] = '\0';
        if (set_option(cfg, o, one, o->env, err, errlen))
            return -1;
        env = comma ? comma + 1 : NULL;
    }
    return 0;
}

static const struct option_def *find_option(const char *flag, size_t n)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].flag) == n && strncmp(options[i].flag, flag, n) == 0)
            return &options[i];
    return NULL;
}

int config_parse(struct config *cfg, int argc, char **argv, config_getenv_fn get_env, char *err,
                 size_t errlen)
{
    const char *flag_val[N_OPTIONS] = {0}; /* the value each flag was given, if any */
    const char *list_val[CONFIG_MAX_REPLICAS + 1]; /* a repeated flag's values */
    int nlist = 0;
    bool have_mode = false;

    memset(cfg, 0, sizeof(*cfg));
    cfg->mode = MODE_SERVE;
    /* 1. the command line: subcommand and flags (values applied last) */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cfg->mode = MODE_HELP;
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            cfg->mode = MODE_VERSION;
            return 0;
        }
        if (a[0] == '-' && a[1] == '-') {
            const char *eq = strchr(a, '=');
            size_t n = eq ? (size_t)(eq - a) : strlen(a);
            const struct option_def *o = find_option(a, n);
            if (!o) {
                snprintf(err, errlen, "unknown option '%.*s' (see --help)", (int)n, a);
                return -1;
            }
            if (!eq && i + 1 >= argc) {
                snprintf(err, errlen, "option '%s' needs a value", o->flag);
                return -1;
            }
            flag_val[o - options] = eq ? eq + 1 : argv[++i];
            if (o->type == OPT_DSN_LIST) {
                if (nlist == CONFIG_MAX_REPLICAS) {
                    snprintf(err, errlen, "%s: at most %d replicas", o->flag,
                             CONFIG_MAX_REPLICAS);
                    return -1;
                }
                list_val[nlist++] = flag_val[o - options];
            }
            continue;
        }
        if (have_mode || a[0] == '-') {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return -1;
        }
        have_mode = true;
        if (strcmp(a, "serve") == 0)
            cfg->mode = MODE_SERVE;
        else if (strcmp(a, "migrate") == 0)
            cfg->mode = MODE_MIGRATE;
        else if (strcmp(a, "verify-views") == 0)
            cfg->mode = MODE_VERIFY;
        else if (strcmp(a, "rebuild-views") == 0)
            cfg->mode = MODE_REBUILD;
        else if (strcmp(a, "verify-events") == 0)
            cfg->mode = MODE_VERIFY_EVENTS;
        else {
            snprintf(err, errlen, "unknown command '%s' (see --help)", a);
            return -1;
        }
    }
    /* 2. each option from its flag, else its environment variable, else its default */
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const struct option_def *o = &options[i];
        const char *env = get_env ? get_env(o->env) : NULL;
        if (o->type == OPT_DSN_LIST) {
            if (set_list(cfg, o, nlist ? list_val : NULL, nlist, nlist ? NULL : env, err,
                         errlen))
                return -1;
        } else if (flag_val[i]) {
            if (set_option(cfg, o, flag_val[i], o->flag, err, errlen))
                return -1;
        } else if (env) {
            if (set_option(cfg, o, env, o->env, err, errlen))
                return -1;
        } else if (o->def && set_option(cfg, o, o->def, o->flag, err, errlen)) {
            return -1;
        }
    }
    return 0;
}

void config_usage(void)
{
    printf("usage: cqrsd [serve] [options]    serve the HTTP API (the default)\n"
           "       cqrsd migrate [options]    create or upgrade the database, idempotently\n"
           "       cqrsd verify-views         compare the read model with the write model\n"
           "       cqrsd rebuild-views        recompute the read model from the write model\n"
           "       cqrsd verify-events        replay the event store and compare with the write "
           "model\n"
           "       cqrsd --help | --version\n\n"
           "options (a flag wins over its environment variable):\n");
    for (size_t i = 0; i < N_OPTIONS; i++)
        printf("  %-22s %-26s %s (default: %s)\n", options[i].flag, options[i].env,
               options[i].help, options[i].def ? options[i].def : "none");
    printf("\nA DSN is mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAM=VALUE&...],\n"
           "with percent-encoding in the user, the password and the values. Parameters:\n"
           "  socket=/path/to.sock   a local socket instead of TCP (never TLS)\n"
           "  ssl-mode=MODE          disabled, preferred (default: TLS whenever the server\n"
           "                         offers it), required (TLS, certificate not checked),\n"
           "                         verify-ca (signed by ssl-ca), verify-identity (and\n"
           "                         issued for the DSN's host)\n"
           "  ssl-ca=, ssl-cert=, ssl-key=   PEM files: the server's CA, a client\n"
           "                         certificate and its key\n");
}
