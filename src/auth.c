/* auth.c - the command bearer token: loaded at start, re-read on SIGHUP */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "idem.h"

#define MAX_TOKEN 512
#define MAX_GENERATIONS 64

struct token {
    size_t len;
    char scope[17];
    char value[MAX_TOKEN];
};

/*
 * Readers take the current token with one atomic load. A reload installs a
 * new one; old ones stay allocated (a reader may still hold one) until exit.
 */
static struct {
    char path[512];
    _Atomic(struct token *) cur;
    struct token *all[MAX_GENERATIONS];
    int n;
    pthread_mutex_t lock;
} g_auth = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int read_token(const char *path, struct token *t, char *err, size_t errlen)
{
    struct stat st;
    FILE *f;
    size_t n;

    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "command token file: %s", strerror(errno));
        return -1;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        snprintf(err, errlen, "command token file is readable by others (chmod 600 it)");
        return -1;
    }
    f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "command token file: %s", strerror(errno));
        return -1;
    }
    n = fread(t->value, 1, sizeof(t->value) - 1, f);
    fclose(f);
    t->value[n] = '\0';
    while (n && (t->value[n - 1] == '\n' || t->value[n - 1] == '\r' || t->value[n - 1] == ' '))
        t->value[--n] = '\0';
    if (n == 0 || memchr(t->value, '\n', n)) {
        snprintf(err, errlen, "command token file must hold one non-empty line");
        return -1;
    }
    t->len = n;
    {
        char hex[65];
        sha256_hex(t->value, n, hex);
        memcpy(t->scope, hex, 16);
        t->scope[16] = '\0';
    }
    return 0;
}

static int install(char *err, size_t errlen)
{
    struct token *t = calloc(1, sizeof(*t));
    int rc = -1;

    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_lock(&g_auth.lock);
    if (g_auth.n == MAX_GENERATIONS) {
        snprintf(err, errlen, "too many token reloads; restart the daemon");
    } else if (read_token(g_auth.path, t, err, errlen) == 0) {
        g_auth.all[g_auth.n++] = t;
        atomic_store(&g_auth.cur, t);
        t = NULL;
        rc = 0;
    }
    pthread_mutex_unlock(&g_auth.lock);
    free(t);
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
    return atomic_load(&g_auth.cur) != NULL;
}

bool auth_check(const char *authorization)
{
    const struct token *t = atomic_load(&g_auth.cur);
    static const char bearer[] = "Bearer ";
    unsigned char diff = 0;
    size_t n;

    if (!t)
        return true;
    if (!authorization || strncasecmp(authorization, bearer, sizeof(bearer) - 1) != 0)
        return false;
    authorization += sizeof(bearer) - 1;
    while (*authorization == ' ')
        authorization++;
    n = strlen(authorization);
    /* the work depends on the token's length only, never on where they differ */
    for (size_t i = 0; i < t->len; i++)
        diff |= (unsigned char)(t->value[i] ^ (i < n ? authorization[i] : 0));
    return diff == 0 && n == t->len;
}

const char *auth_scope(void)
{
    const struct token *t = atomic_load(&g_auth.cur);
    return t ? t->scope : "";
}

void auth_release(void)
{
    atomic_store(&g_auth.cur, NULL);
    for (int i = 0; i < g_auth.n; i++)
        free(g_auth.all[i]);
    g_auth.n = 0;
}
