/* test_greeting.c - greeting.c: the TLS capability of a server's greeting, and a real one */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "greeting.h"
#include "suites.h"

/* A protocol-10 greeting payload with capability flags caps (lower 16 bits). */
static size_t make_greeting(unsigned char *p, unsigned caps)
{
    static const char version[] = "10.11.19-MariaDB";
    size_t n = 0;
    p[n++] = 10;
    memcpy(p + n, version, sizeof(version)); /* with its NUL */
    n += sizeof(version);
    memset(p + n, 7, 4 + 8 + 1); /* connection id, scramble, filler */
    n += 13;
    p[n++] = (unsigned char)(caps & 0xff);
    p[n++] = (unsigned char)(caps >> 8);
    memset(p + n, 0, 20); /* the rest: charset, status, upper flags ... */
    return n + 20;
}

START_TEST(parse_tls_flag)
{
    unsigned char p[128];
    size_t n = make_greeting(p, 0xf7ff); /* every flag but CLIENT_SSL */
    ck_assert_int_eq(greeting_parse(p, n), GREETING_NO_TLS);
    n = make_greeting(p, 0x0800);
    ck_assert_int_eq(greeting_parse(p, n), GREETING_TLS);
}
END_TEST

START_TEST(parse_rejects_other_packets)
{
    unsigned char p[128];
    size_t n = make_greeting(p, 0x0800);
    ck_assert_int_eq(greeting_parse(p, 0), GREETING_UNKNOWN);
    p[0] = 0xff; /* an error packet: too many connections, a blocked host */
    ck_assert_int_eq(greeting_parse(p, n), GREETING_UNKNOWN);
    p[0] = 10;
    /* cut before the flags, and a version without its NUL */
    ck_assert_int_eq(greeting_parse(p, 1 + 17 + 13 + 1), GREETING_UNKNOWN);
    memset(p + 1, 'x', sizeof(p) - 1);
    ck_assert_int_eq(greeting_parse(p, sizeof(p)), GREETING_UNKNOWN);
}
END_TEST

/* A one-shot server on a loopback port that sends a greeting (or nothing) and hangs up. */
struct fake {
    int lfd;
    unsigned caps;
    bool silent;
};

static void *fake_serve(void *arg)
{
    struct fake *f = arg;
    unsigned char pkt[4 + 128];
    int c = accept(f->lfd, NULL, NULL);
    if (c >= 0) {
        if (!f->silent) {
            size_t n = make_greeting(pkt + 4, f->caps);
            pkt[0] = (unsigned char)n;
            pkt[1] = pkt[2] = 0;
            pkt[3] = 0;
            /* in two pieces: the reader must put them together */
            (void)!write(c, pkt, 3);
            usleep(20000);
            (void)!write(c, pkt + 3, n + 1);
        }
        usleep(f->silent ? 1500000 : 100000);
        close(c);
    }
    return NULL;
}

static unsigned fake_start(struct fake *f, pthread_t *t)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(f->lfd, 0);
    ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(f->lfd, 1), 0);
    ck_assert_int_eq(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
    ck_assert_int_eq(pthread_create(t, NULL, fake_serve, f), 0);
    return ntohs(a.sin_port);
}

START_TEST(probe_over_tcp)
{
    struct fake f = {.caps = 0x0800};
    pthread_t t;
    unsigned port = fake_start(&f, &t);
    ck_assert_int_eq(greeting_tls("127.0.0.1", port, 2), GREETING_TLS);
    pthread_join(t, NULL);
    close(f.lfd);
    f = (struct fake){.caps = 0x0200};
    port = fake_start(&f, &t);
    ck_assert_int_eq(greeting_tls("127.0.0.1", port, 2), GREETING_NO_TLS);
    pthread_join(t, NULL);
    close(f.lfd);
}
END_TEST

START_TEST(probe_is_bounded)
{
    /* a server that never speaks: unknown after the timeout, not a hang */
    struct fake f = {.silent = true};
    pthread_t t;
    unsigned port = fake_start(&f, &t);
    ck_assert_int_eq(greeting_tls("127.0.0.1", port, 1), GREETING_UNKNOWN);
    pthread_join(t, NULL);
    close(f.lfd);
    ck_assert_int_eq(greeting_tls("no-such-host.invalid", 3306, 1), GREETING_UNKNOWN);
}
END_TEST

Suite *greeting_suite(void)
{
    Suite *s = suite_create("greeting");
    TCase *tc = tcase_create("greeting");
    tcase_add_test(tc, parse_tls_flag);
    tcase_add_test(tc, parse_rejects_other_packets);
    tcase_add_test(tc, probe_over_tcp);
    tcase_add_test(tc, probe_is_bounded);
    suite_add_tcase(s, tc);
    return s;
}
