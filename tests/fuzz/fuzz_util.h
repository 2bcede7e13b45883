/*
 * fuzz_util.h - set-up shared by the fuzz targets (not a target: run.sh
 * builds fuzz_*.c only).
 */
#ifndef CQRSD_FUZZ_UTIL_H
#define CQRSD_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * A key or token file as the daemon wants one: text and a newline, mode
 * 0600 (mkstemp), in path, which holds a mkstemp template ("…XXXXXX") and
 * gets the name. The caller loads it and unlinks it. Aborts on failure,
 * naming the target.
 */
static inline void fuzz_secret_file(const char *target, const char *text, char *path)
{
    int fd = mkstemp(path);

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
        write(fd, "\n", 1) != 1) {
        fprintf(stderr, "%s: cannot write %s\n", target, path);
        abort();
    }
    close(fd);
}

#endif
