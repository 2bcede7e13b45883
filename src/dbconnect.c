/* dbconnect.c - one MySQL connection for a DSN: timeouts, character set, session set-up, TLS mode
 *
 * Every ssl-mode of the DSN is met here (see tls_options), and a failure is
 * described without the password and without the server's text.
 */
#include "dbconnect.h"

#include <errmsg.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "greeting.h"

/*
 * The DSN's ssl-mode as client options. MariaDB Connector/C (Debian's
 * libmariadb, what cqrsd builds with) has no ssl-mode option: asking for TLS
 * (mysql_ssl_set) gives "preferred"; a CA makes it check the certificate's
 * chain; MYSQL_OPT_SSL_VERIFY_SERVER_CERT adds the host name and refuses a
 * server without TLS before the login. "required" and "verify-ca" get that
 * refusal from tls_precheck and tls_postcheck. MySQL's own client library
 * has MYSQL_OPT_SSL_MODE with the same five modes.
 */
static void tls_options(MYSQL *my, const struct dsn *d)
{
    const char *ca = d->ssl_ca[0] ? d->ssl_ca : NULL, *cert = d->ssl_cert[0] ? d->ssl_cert : NULL,
               *key = d->ssl_key[0] ? d->ssl_key : NULL;

    if (d->socket[0]) /* local: never TLS (dsn_parse refuses TLS parameters with a socket) */
        return;
#if defined(MARIADB_PACKAGE_VERSION_ID)
    switch (d->ssl_mode) {
    case DSN_SSL_DISABLED:
        return;
    case DSN_SSL_PREFERRED:
    case DSN_SSL_REQUIRED: /* the certificate is not checked: no CA */
        mysql_ssl_set(my, key, cert, NULL, NULL, NULL);
        return;
    case DSN_SSL_VERIFY_CA:
        mysql_ssl_set(my, key, cert, ca, NULL, NULL);
        return;
    case DSN_SSL_VERIFY_IDENTITY: {
        my_bool on = 1;
        mysql_ssl_set(my, key, cert, ca, NULL, NULL);
        mysql_options(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
        return;
    }
    }
#else
    {
        static const unsigned modes[] = {
            [DSN_SSL_PREFERRED] = SSL_MODE_PREFERRED,
            [DSN_SSL_DISABLED] = SSL_MODE_DISABLED,
            [DSN_SSL_REQUIRED] = SSL_MODE_REQUIRED,
            [DSN_SSL_VERIFY_CA] = SSL_MODE_VERIFY_CA,
            [DSN_SSL_VERIFY_IDENTITY] = SSL_MODE_VERIFY_IDENTITY,
        };
        mysql_options(my, MYSQL_OPT_SSL_MODE, &modes[d->ssl_mode]);
        if (d->ssl_mode >= DSN_SSL_VERIFY_CA)
            mysql_options(my, MYSQL_OPT_SSL_CA, ca);
        if (cert) {
            mysql_options(my, MYSQL_OPT_SSL_CERT, cert);
            mysql_options(my, MYSQL_OPT_SSL_KEY, key);
        }
    }
#endif
}

/* Modes that must never log in without TLS, and that the client library does not enforce. */
static bool tls_needs_checks(const struct dsn *d)
{
#if defined(MARIADB_PACKAGE_VERSION_ID)
    return !d->socket[0] && (d->ssl_mode == DSN_SSL_REQUIRED || d->ssl_mode == DSN_SSL_VERIFY_CA);
#else
    (void)d;
    return false;
#endif
}

/* Why a TLS connection failed, from the client library's own message (never the server's). */
static const char *tls_reason(MYSQL *my)
{
    static const struct {
        const char *needle, *reason;
    } map[] = {
        {"does not support", "the server does not offer TLS"},
        {"Validation of SSL server certificate", "the server's certificate is not for this host"},
        {"issuer", "the server's certificate is not signed by ssl-ca"},
        {"self signed", "the server's certificate is not signed by ssl-ca"},
        {"self-signed", "the server's certificate is not signed by ssl-ca"},
        {"certificate verify failed", "the server's certificate is not signed by ssl-ca"},
        {"signature", "the server's certificate is not signed by ssl-ca"},
        {"key", "ssl-cert and ssl-key cannot be used (not a PEM certificate and its key?)"},
        {"PEM", "ssl-ca, ssl-cert or ssl-key is not a usable PEM file"},
    };
    const char *msg = mysql_error(my);

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strstr(msg, map[i].needle))
            return map[i].reason;
    return "the TLS handshake failed";
}

MYSQL *db_connect(const struct dsn *d, const char *database, bool session_setup, char *err,
                  size_t errlen)
{
    MYSQL *my;
    /* the daemon's statements are short; a tool's (verify-views) may stream for minutes */
    unsigned timeout = 3, rw_timeout = session_setup ? 30 : 600;
    unsigned proto = MYSQL_PROTOCOL_TCP;
    const char *where = d->socket[0] ? "the local socket" : d->host;
    const char *mode = dsn_ssl_mode_name(d->ssl_mode);

    if (tls_needs_checks(d) && greeting_tls(d->host, d->port, timeout) == GREETING_NO_TLS) {
        snprintf(err, errlen,
                 "cannot connect to %s as '%s' with ssl-mode=%s: the server does "
                 "not offer TLS",
                 where, d->user, mode);
        return NULL;
    }
    my = mysql_init(NULL);
    if (!my) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
    mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
    mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (d->socket[0])
        proto = MYSQL_PROTOCOL_SOCKET;
    mysql_options(my, MYSQL_OPT_PROTOCOL, &proto);
    tls_options(my, d);
    if (session_setup) {
        /* lock waits are bounded (catalog.c) */
        mysql_options(my, MYSQL_INIT_COMMAND, catalog_session[S_SESSION_SETUP].sql);
        mysql_options(my, MYSQL_INIT_COMMAND, catalog_session[S_SESSION_ISOLATION].sql);
    }
    if (!mysql_real_connect(my, d->host, d->user, d->password[0] ? d->password : NULL,
                            database ? (database[0] ? database : NULL) : d->database, d->port,
                            d->socket[0] ? d->socket : NULL, 0)) {
        unsigned e = mysql_errno(my);
        /* the error number only: server text can quote SQL; no socket path */
        if (e == CR_SSL_CONNECTION_ERROR)
            snprintf(err, errlen, "cannot connect to %s as '%s' with ssl-mode=%s: %s (error %u)",
                     where, d->user, mode, tls_reason(my), e);
        else
            snprintf(err, errlen, "cannot connect to %s as '%s' (error %u)", where, d->user, e);
        mysql_close(my);
        return NULL;
    }
    if (tls_needs_checks(d) && !mysql_get_ssl_cipher(my)) {
        snprintf(err, errlen,
                 "cannot connect to %s as '%s' with ssl-mode=%s: the session is "
                 "not encrypted",
                 where, d->user, mode);
        mysql_close(my);
        return NULL;
    }
    return my;
}
