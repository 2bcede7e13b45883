/* gtid.h - consistency tokens and servers' GTID positions, in MariaDB's and MySQL's forms */
#ifndef CQRSD_GTID_H
#define CQRSD_GTID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A set of transactions, as either server names them:
 *   MariaDB: DOMAIN-SERVER-SEQ per replication domain ("0-1-42"); within a
 *            domain a higher sequence number includes every lower one;
 *   MySQL:   SOURCE_UUID[:TAG]:N[-M][:N[-M]...] ("3e11fa47-…:1-42").
 * A consistency token (API.md) is such a set with '.' between its elements
 * (a server writes ','), so that a header can list tokens with commas.
 */
#define GTID_MAX 32     /* elements in one set */
#define GTID_SOURCE 72  /* "uuid" or "uuid:tag", NUL-terminated */
#define GTID_TOKEN_MAX 200
#define GTID_TOKENS_MAX 32

struct gtid_elem {
    bool mysql;
    uint32_t domain, server; /* MariaDB */
    char source[GTID_SOURCE]; /* MySQL */
    uint64_t lo, hi;          /* MariaDB: lo = hi = the sequence number */
};

struct gtid_set {
    int n;
    struct gtid_elem e[GTID_MAX];
};

/*
 * A request's X-Consistency-Token value: comma-separated tokens (spaces
 * around them allowed), at most GTID_TOKENS_MAX, each at most
 * GTID_TOKEN_MAX visible ASCII characters. -1 when malformed.
 */
int gtid_parse_tokens(const char *value, struct gtid_set *want);

/*
 * A server's position (@@gtid_slave_pos, @@gtid_binlog_pos, @@gtid_executed,
 * Executed_Gtid_Set): ','-separated, white space ignored. -1 when it does not
 * parse or holds more than GTID_MAX elements.
 */
int gtid_parse_position(const char *s, size_t len, struct gtid_set *have);

/* Does position `have` include every transaction of `want`? */
bool gtid_covers(const struct gtid_set *have, const struct gtid_set *want);

/*
 * `want` as the argument of MASTER_GTID_WAIT (MariaDB: the highest sequence
 * per domain) or WAIT_FOR_EXECUTED_GTID_SET (MySQL). -1 when it does not fit,
 * or mixes both forms (then no server can ever meet it).
 */
int gtid_wait_arg(const struct gtid_set *want, char *out, size_t cap);

/* A server's position as a token (',' becomes '.', white space dropped); -1 if over GTID_TOKEN_MAX. */
int gtid_token_of(const char *pos, size_t len, char *out, size_t cap);

#endif
