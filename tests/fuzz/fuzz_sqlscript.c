/* fuzz_sqlscript.c - sqlscript_split, the splitter migrate runs on the files of sql/.
 *
 * Invariants: every statement handed to the callback lies inside the input,
 * is non-empty and trimmed, comes after the previous one, and its line number
 * is the line its first character is on; the result is 0, -1 (a bad
 * DELIMITER line) or the callback's own stop value. A second pass that stops
 * at the first statement returns the stop value.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlscript.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_sqlscript: invariant broken: " __VA_ARGS__);                        \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

#define STOP 7

struct walk {
    const char *text;
    size_t len;
    int lines;
    const char *prev_end;
    int prev_line;
    int count;
    int stop_at; /* 0: never */
};

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int on_stmt(void *ctx, const char *stmt, size_t n, int line)
{
    struct walk *w = ctx;

    if (n == 0)
        FAIL("an empty statement");
    if (stmt < w->text || stmt + n > w->text + w->len)
        FAIL("a statement outside the input");
    if (stmt < w->prev_end)
        FAIL("statement %d overlaps the one before", w->count + 1);
    if (blank(stmt[0]) || blank(stmt[n - 1]))
        FAIL("statement %d is not trimmed", w->count + 1);
    if (line < 1 || line > w->lines)
        FAIL("statement %d on line %d of %d", w->count + 1, line, w->lines);
    if (line < w->prev_line)
        FAIL("statement %d on line %d after line %d", w->count + 1, line, w->prev_line);
    {
        int want = 1;
        for (const char *c = w->text; c < stmt; c++)
            want += *c == '\n';
        if (line != want)
            FAIL("statement %d starts on line %d, reported as %d", w->count + 1, want, line);
    }
    w->prev_end = stmt + n;
    w->prev_line = line;
    w->count++;
    return w->stop_at && w->count == w->stop_at ? STOP : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size copy, so reads past the end are caught */
    char *text = malloc(size ? size : 1);
    struct walk w;
    int rc;

    if (!text)
        return 0;
    memcpy(text, data, size);
    memset(&w, 0, sizeof(w));
    w.text = text;
    w.len = size;
    w.lines = 1;
    for (size_t i = 0; i < size; i++)
        if (text[i] == '\n')
            w.lines++;
    rc = sqlscript_split(text, size, on_stmt, &w);
    if (rc != 0 && rc != -1)
        FAIL("sqlscript_split returned %d", rc);
    if (rc == 0 && w.count > 0) {
        int total = w.count;
        memset(&w, 0, sizeof(w));
        w.text = text;
        w.len = size;
        w.lines = 1;
        for (size_t i = 0; i < size; i++)
            if (text[i] == '\n')
                w.lines++;
        w.stop_at = 1;
        rc = sqlscript_split(text, size, on_stmt, &w);
        if (rc != STOP || w.count != 1)
            FAIL("a stop at the first of %d statements returned %d after %d", total, rc,
                 w.count);
    }
    free(text);
    return 0;
}
