/* greeting.h - does a MySQL server offer TLS? Its greeting says, before any login */
#ifndef CQRSD_GREETING_H
#define CQRSD_GREETING_H

#include <stddef.h>

enum greeting_tls {
    GREETING_TLS = 1,      /* the greeting announces TLS (CLIENT_SSL) */
    GREETING_NO_TLS = 0,   /* a greeting without TLS */
    GREETING_UNKNOWN = -1, /* no connection, no greeting, or an error packet */
};

/*
 * Connect to host:port (port 0: 3306), read the server's initial handshake
 * packet and hang up without sending anything. At most timeout_s seconds.
 */
enum greeting_tls greeting_tls(const char *host, unsigned port, unsigned timeout_s);

/* The capability test on a greeting's payload (without the 4-byte packet header). */
enum greeting_tls greeting_parse(const unsigned char *payload, size_t len);

#endif
