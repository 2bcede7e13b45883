/* sqlscript.c - split SQL scripts into statements, honouring DELIMITER, quotes, comments */
#include "sqlscript.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* True when <s, n> holds nothing but blanks and comments. */
static bool only_comments(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        if (is_space(s[i])) {
            i++;
        } else if (s[i] == '#' || (s[i] == '-' && i + 2 < n && s[i + 1] == '-' &&
                                   is_space(s[i + 2]))) {
            while (i < n && s[i] != '\n')
                i++;
        } else if (s[i] == '-' && i + 2 == n && s[i + 1] == '-') {
            return true;
        } else if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            i += 2;
        } else {
            return false;
        }
    }
    return true;
}

/* Emit <s, n> trimmed, unless it is empty or only comments. */
static int emit(const char *s, size_t n, int line, sqlscript_cb cb, void *ctx)
{
    if (only_comments(s, n))
        return 0;
    while (n && is_space(*s)) {
        if (*s == '\n')
            line++;
        s++, n--;
    }
    while (n && is_space(s[n - 1]))
        n--;
    return n ? cb(ctx, s, n, line) : 0;
}

int sqlscript_split(const char *text, size_t len, sqlscript_cb cb, void *ctx)
{
    char delim[16] = ";";
    size_t dlen = 1, start = 0, i = 0;
    int line = 1, start_line = 1, rc;
    bool at_line_start = true;

    while (i < len) {
        char c = text[i];
        /* DELIMITER at the start of a line (only blanks before it) */
        if (at_line_start) {
            size_t j = i;
            while (j < len && (text[j] == ' ' || text[j] == '\t'))
                j++;
            if (len - j > 10 && strncasecmp(text + j, "DELIMITER", 9) == 0 &&
                (text[j + 9] == ' ' || text[j + 9] == '\t')) {
                size_t k = j + 9, e;
                /* text before it that has no delimiter is a statement of its own */
                if ((rc = emit(text + start, i - start, start_line, cb, ctx)))
                    return rc;
                while (k < len && (text[k] == ' ' || text[k] == '\t'))
                    k++;
                e = k;
                while (e < len && !is_space(text[e]))
                    e++;
                if (e - k == 0 || e - k >= sizeof(delim))
                    return -1;
                memcpy(delim, text + k, e - k);
                delim[e - k] = '\0';
                dlen = e - k;
                while (e < len && text[e] != '\n')
                    e++;
                i = e;
                start = i;
                start_line = line;
                continue;
            }
        }
        at_line_start = false;
        if (c == '\n') {
            line++;
            at_line_start = true;
            i++;
            continue;
        }
        if (c == '\'' || c == '"' || c == '`') {
            i++;
            while (i < len && text[i] != c) {
                if (text[i] == '\\' && c != '`' && i + 1 < len)
                    i++;
                if (text[i] == '\n')
                    line++;
                i++;
            }
            i++;
            continue;
        }
        if (c == '#' || (c == '-' && i + 2 < len && text[i + 1] == '-' && is_space(text[i + 2]))) {
            while (i < len && text[i] != '\n')
                i++;
            continue;
        }
        if (c == '/' && i + 1 < len && text[i + 1] == '*') {
            i += 2;
            while (i + 1 < len && !(text[i] == '*' && text[i + 1] == '/')) {
                if (text[i] == '\n')
                    line++;
                i++;
            }
            i += 2;
            continue;
        }
        if (len - i >= dlen && memcmp(text + i, delim, dlen) == 0) {
            if ((rc = emit(text + start, i - start, start_line, cb, ctx)))
                return rc;
            i += dlen;
            start = i;
            start_line = line;
            continue;
        }
        i++;
    }
    if (start < len)
        return emit(text + start, len - start, start_line, cb, ctx);
    return 0;
}
