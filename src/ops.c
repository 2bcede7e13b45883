/* ops.c - the operations routes: /healthz, /readyz, /openapi.json */
#include <stdbool.h>

#include "db.h"
#include "handlers.h"
#include "problem.h"
#include "sqlscript.h"

void handle_healthz(const struct request *rq, struct reply *r)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    (void)rq;
    reply_json(r, 200, ok, sizeof(ok) - 1);
}

void handle_readyz(const struct request *rq, struct reply *r)
{
    static const char ok[] = "{\"status\":\"ready\"}";
    struct db *db = db_thread();
    bool w, rd;

    (void)rq;
    if (!db) {
        problem(r, P_INTERNAL, "out of memory");
        return;
    }
    w = db_ping(db, DB_WRITE) == DB_OK;
    rd = db_ping(db, DB_READ) == DB_OK;
    if (w && rd) {
        reply_json(r, 200, ok, sizeof(ok) - 1);
        return;
    }
    problem(r, P_DATABASE_UNAVAILABLE, "%s", !w && !rd ? "the write and read accounts do not answer"
                                              : !w     ? "the write account does not answer"
                                                       : "the read account does not answer");
}

void handle_openapi(const struct request *rq, struct reply *r)
{
    (void)rq;
    reply_json(r, 200, openapi_files[0].text, openapi_files[0].len);
}
