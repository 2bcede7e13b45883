/* log.c - log lines; each is written with one write(2) so lines never interleave */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sbuf.h"
#include "timefmt.h"

static enum log_format g_fmt = LOG_TEXT; /* set before threads */

static const char *level_name[] = {"info", "warn", "error"};

void log_init(enum log_format fmt)
{
    g_fmt = fmt;
}

static void emit(struct sbuf *b)
{
    if (b->oom || !b->buf)
        return;
    sbuf_addch(b, '\n');
    if (write(STDERR_FILENO, b->buf, b->len) < 0) {
        /* nowhere left to report it */
    }
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    char ts[32], msg[512];
    struct sbuf b = SBUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    utf8_clean(msg);
    timefmt_iso(ts);
    if (g_fmt == LOG_JSON) {
        sbuf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", ts, level_name[lvl]);
        sbuf_add_json_str(&b, msg, strlen(msg));
        sbuf_addch(&b, '}');
    } else {
        sbuf_printf(&b, "%s %s %s", ts, level_name[lvl], msg);
    }
    emit(&b);
    sbuf_release(&b);
}

/* Append s as a JSON string, with anything that is not UTF-8 replaced. */
static void add_clean_str(struct sbuf *b, const char *s)
{
    char tmp[256];

    snprintf(tmp, sizeof(tmp), "%s", s ? s : "");
    utf8_clean(tmp);
    sbuf_add_json_str(b, tmp, strlen(tmp));
}

void log_request(const struct log_request *r)
{
    char ts[32];
    struct sbuf b = SBUF_INIT;
    bool has_cmd = r->command_type && r->command_type[0];

    timefmt_iso(ts);
    if (g_fmt == LOG_JSON) {
        sbuf_printf(&b, "{\"time\":\"%s\",\"level\":\"info\",\"request_id\":", ts);
        sbuf_add_json_str(&b, r->request_id, strlen(r->request_id));
        sbuf_adds(&b, ",\"method\":");
        add_clean_str(&b, r->method);
        sbuf_adds(&b, ",\"route\":");
        add_clean_str(&b, r->route);
        sbuf_printf(&b, ",\"status\":%d,\"duration_ms\":%.3f", r->status, r->duration_ms);
        if (has_cmd) {
            sbuf_adds(&b, ",\"command_type\":");
            add_clean_str(&b, r->command_type);
            sbuf_adds(&b, ",\"command_id\":");
            add_clean_str(&b, r->command_id);
        }
        sbuf_addch(&b, '}');
    } else {
        sbuf_printf(&b, "%s info %s %s %d %.3fms id=%s", ts, r->method, r->route, r->status,
                    r->duration_ms, r->request_id);
        if (has_cmd)
            sbuf_printf(&b, " command=%s command_id=%s", r->command_type, r->command_id);
    }
    emit(&b);
    sbuf_release(&b);
}
