/* config.h - command line, environment and DSN parsing */
#ifndef CQRSD_CONFIG_H
#define CQRSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CQRSD_VERSION "0.1.0"

/* TLS to the server, with the MySQL client's names and meanings. */
enum ssl_mode {
    DSN_SSL_PREFERRED = 0, /* TLS whenever the server offers it (the default) */
    DSN_SSL_DISABLED,      /* never TLS */
    DSN_SSL_REQUIRED,      /* TLS or no connection; the certificate is not checked */
    DSN_SSL_VERIFY_CA,     /* required, and the certificate is signed by ssl-ca */
    DSN_SSL_VERIFY_IDENTITY, /* verify-ca, and the certificate is for the DSN's host */
};

/*
 * A parsed mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?PARAM=VALUE&...];
 * the parameters are socket, ssl-mode, ssl-ca, ssl-cert and ssl-key.
 */
struct dsn {
    char user[129];
    char password[257];
    char host[256];
    unsigned port; /* 0: library default */
    char database[65];
    char socket[256];
    enum ssl_mode ssl_mode;
    char ssl_ca[512], ssl_cert[512], ssl_key[512]; /* PEM files; "" none */
};

enum cmd_mode {
    MODE_SERVE,
    MODE_MIGRATE,
    MODE_VERIFY,
    MODE_REBUILD,
    MODE_VERIFY_EVENTS,
    MODE_HELP,
    MODE_VERSION
};

enum log_format { LOG_TEXT, LOG_JSON };

#define CONFIG_MAX_REPLICAS 8

struct config {
    enum cmd_mode mode;
    char listen[128];
    struct dsn write_dsn, read_dsn, admin_dsn;
    struct dsn replica_dsn[CONFIG_MAX_REPLICAS]; /* --replica-dsn, in the order given */
    int nreplicas;
    unsigned max_replica_lag;      /* seconds */
    unsigned consistency_wait_ms;
    bool consistency_fallback_none; /* --consistency-fallback none */
    unsigned threads;
    size_t max_body;
    char command_token_file[512];
    char jwt_key_file[512];
    char jwt_algorithm[8];
    char jwt_issuer[256], jwt_audience[256];
    bool open_registration;
    char cors_origins[1024];
    enum log_format log_format;
    unsigned queue_workers;
    unsigned queue_max_attempts;
};

/*
 * Parse argv and the environment into *cfg (defaults first, then the
 * environment, then flags). On error writes one line to err and returns -1.
 */
typedef const char *(*config_getenv_fn)(const char *name);
int config_parse(struct config *cfg, int argc, char **argv, config_getenv_fn get_env, char *err,
                 size_t errlen);

/* Parse a DSN string; returns 0, or -1 with a message in err. */
int dsn_parse(const char *s, struct dsn *out, char *err, size_t errlen);

/* The ssl-mode's name as a DSN spells it ("preferred", ...). */
const char *dsn_ssl_mode_name(enum ssl_mode m);

/*
 * Can every file the DSN names (ssl-ca, ssl-cert, ssl-key) be opened for
 * reading? 0, or -1 with the parameter, the path and the reason in err.
 */
int dsn_check_files(const struct dsn *d, char *err, size_t errlen);

/* s with the password of its user part (if any) replaced by "***", into out. */
void dsn_redact(const char *s, char *out, size_t outlen);

/* Print --help text to stdout. */
void config_usage(void);

#endif
