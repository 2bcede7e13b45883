/* greeting.c - read a MySQL server's greeting to learn whether it offers TLS
 *
 * MariaDB Connector/C 3.3 has no option for "TLS or nothing" that does not
 * also check the certificate's host name: with TLS asked for, a server that
 * does not offer it gets the login in clear text. For ssl-mode=required and
 * verify-ca, db.c asks the server first, here, and sends no credentials to one
 * that does not offer TLS; after the login it checks again that the session
 * is encrypted.
 */
#include "greeting.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_SSL 0x0800u /* in the lower capability flags */
#define GREETING_MAX 512   /* enough for the capability flags of any greeting */

enum greeting_tls greeting_parse(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len, *nul;

    /* protocol version 10; 0xff is an error packet (too many connections, a blocked host) */
    if (len < 1 || p[0] != 10)
        return GREETING_UNKNOWN;
    nul = memchr(p + 1, '\0', len - 1); /* the server version */
    if (!nul)
        return GREETING_UNKNOWN;
    p = nul + 1 + 4 + 8 + 1; /* connection id, scramble part 1, filler */
    if (end - p < 2)
        return GREETING_UNKNOWN;
    return ((unsigned)p[0] | (unsigned)p[1] << 8) & CLIENT_SSL ? GREETING_TLS : GREETING_NO_TLS;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline; 1 ready, 0 not. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    for (;;) {
        int64_t left = deadline - now_ms();
        int n;
        if (left <= 0)
            return 0;
        n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 0;
    }
}

/* Read the first packet on a connected socket and test its capabilities. */
static enum greeting_tls read_greeting(int fd, int64_t deadline)
{
    unsigned char buf[4 + GREETING_MAX];
    size_t got = 0, want = 4;

    while (got < want) {
        ssize_t n;
        if (!wait_fd(fd, POLLIN, deadline))
            return GREETING_UNKNOWN;
        n = recv(fd, buf + got, want - got, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return GREETING_UNKNOWN;
        got += (size_t)n;
        if (want == 4 && got == 4) {
            size_t plen = (size_t)buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16;
            want = 4 + (plen < GREETING_MAX ? plen : GREETING_MAX);
        }
    }
    return greeting_parse(buf + 4, got - 4);
}

enum greeting_tls greeting_tls(const char *host, unsigned port, unsigned timeout_s)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    char service[12];
    int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
    enum greeting_tls r = GREETING_UNKNOWN;

    snprintf(service, sizeof(service), "%u", port ? port : 3306u);
    if (getaddrinfo(host, service, &hints, &res))
        return GREETING_UNKNOWN;
    for (ai = res; ai && r == GREETING_UNKNOWN; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) &&
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0))
            r = read_greeting(fd, deadline);
        close(fd);
    }
    freeaddrinfo(res);
    return r;
}
