/*
 * auth.c - the command bearer token: loaded at start, re-read on SIGHUP; the
 * Bearer syntax it shares with JWTs; principals and their scopes
 */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TOKEN 512

struct token {
    size_t len;
    char value[MAX_TOKEN];
};

/*
 * The one token, stored in place. A reload reads the file into a copy of
 * its own, then overwrites the token under the write lock; readers (HTTP
 * threads comparing an Authorization header) hold the
 * read lock while they look at it. Nothing is allocated per reload, so
 * nothing is freed under a reader and reloads are unbounded; a reader holds
 * the lock for one compare of at most MAX_TOKEN bytes, so a reload waits
 * microseconds, and readers never wait on the file.
 */
static struct {
    char path[512];
    bool enabled;
    struct token tok;
    pthread_rwlock_t lock;
} g_auth = {.lock = PTHREAD_RWLOCK_INITIALIZER};

/*=== Principals ===*/

void auth_anonymous(struct principal *p)
{
    p->role = ROLE_ANONYMOUS;
    p->customer_id = 0;
    snprintf(p->scope, sizeof(p->scope), "anon");
}

void auth_admin(struct principal *p)
{
    p->role = ROLE_ADMIN;
    p->customer_id = 0;
    snprintf(p->scope, sizeof(p->scope), "admin");
}

void auth_customer(struct principal *p, int64_t customer_id)
{
    p->role = ROLE_CUSTOMER;
    p->customer_id = customer_id;
    snprintf(p->scope, sizeof(p->scope), "c%" PRId64, customer_id);
}

/*=== The Bearer scheme ===*/

static bool token68_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

/* The length of the token68 that is all of <s, n>, or 0 when it is not one. */
static size_t token68_len(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && token68_char(s[i]))
        i++;
    if (i == 0)
        return 0;
    while (i < n && s[i] == '=')
        i++;
    return i == n ? n : 0;
}

bool auth_scheme_bearer(const char *authorization)
{
    static const char scheme[] = "Bearer";

    return authorization && strncasecmp(authorization, scheme, sizeof(scheme) - 1) == 0 &&
           (authorization[sizeof(scheme) - 1] == ' ' || authorization[sizeof(scheme) - 1] == '\0');
}

const char *auth_bearer(const char *authorization, size_t *len)
{
    static const char scheme[] = "Bearer";
    const char *p = authorization;
    size_t n;

    if (!p || strncasecmp(p, scheme, sizeof(scheme) - 1) != 0)
        return NULL;
    p += sizeof(scheme) - 1;
    if (*p != ' ')
        return NULL;
    while (*p == ' ')
        p++;
    n = strlen(p);
    if (!token68_len(p, n))
        return NULL;
    *len = n;
    return p;
}

/*=== The command token ===*/

/* Read the token file into t: one non-empty line of token68, not readable by others. */
static int read_token(const char *path, struct token *t, char *err, size_t errlen)
{
    struct stat st;
    size_t n = 0;
    ssize_t got = 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "command token file: %s", strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "command token file: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        snprintf(err, errlen, "command token file is readable by others (chmod 600 it)");
        close(fd);
        return -1;
    }
    while (n < sizeof(t->value) - 1 && got != 0) {
        got = read(fd, t->value + n, sizeof(t->value) - 1 - n);
        if (got < 0 && errno != EINTR) {
            snprintf(err, errlen, "command token file: %s", strerror(errno));
            close(fd);
            return -1;
        }
        if (got > 0)
            n += (size_t)got;
    }
    close(fd);
    t->value[n] = '\0';
    while (n && (t->value[n - 1] == '\n' || t->value[n - 1] == '\r' || t->value[n - 1] == ' '))
        t->value[--n] = '\0';
    if (n == 0 || memchr(t->value, '\n', n)) {
        snprintf(err, errlen, "command token file must hold one non-empty line");
        return -1;
    }
    if (!token68_len(t->value, n)) {
        snprintf(err, errlen, "command token must be A-Z a-z 0-9 - . _ ~ + / then any '=' "
                              "(what \"Authorization: Bearer\" carries)");
        return -1;
    }
    t->len = n;
    return 0;
}

/* Read the file and, when it is good, make it the token. */
static int install(char *err, size_t errlen)
{
    struct token t;
    int rc;

    memset(&t, 0, sizeof(t));
    rc = read_token(g_auth.path, &t, err, errlen);
    if (rc == 0) {
        pthread_rwlock_wrlock(&g_auth.lock);
        g_auth.tok = t;
        g_auth.enabled = true;
        pthread_rwlock_unlock(&g_auth.lock);
    }
    explicit_bzero(&t, sizeof(t));
    return rc;
}

int auth_load(const char *path, char *err, size_t errlen)
{
    if (!path || !path[0])
        return 0;
    snprintf(g_auth.path, sizeof(g_auth.path), "%s", path);
    return install(err, errlen);
}

int auth_reload(char *err, size_t errlen)
{
    if (!g_auth.path[0])
        return 0;
    return install(err, errlen);
}

bool auth_enabled(void)
{
    bool on;

    pthread_rwlock_rdlock(&g_auth.lock);
    on = g_auth.enabled;
    pthread_rwlock_unlock(&g_auth.lock);
    return on;
}

bool auth_token_matches(const char *token, size_t len)
{
    const struct token *t = &g_auth.tok;
    unsigned char diff = 0;
    bool ok;

    pthread_rwlock_rdlock(&g_auth.lock);
    if (!g_auth.enabled) {
        ok = false;
        goto out;
    }
    /* the work depends on the token's length only, never on where they differ */
    for (size_t i = 0; i < t->len; i++)
        diff |= (unsigned char)(t->value[i] ^ (i < len ? token[i] : 0));
    ok = diff == 0 && len == t->len;
out:
    pthread_rwlock_unlock(&g_auth.lock);
    return ok;
}

void auth_release(void)
{
    pthread_rwlock_wrlock(&g_auth.lock);
    g_auth.enabled = false;
    explicit_bzero(&g_auth.tok, sizeof(g_auth.tok));
    pthread_rwlock_unlock(&g_auth.lock);
}
