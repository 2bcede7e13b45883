/* cmd_customers.c - RegisterCustomer */
#include <inttypes.h>
#include <string.h>

#include "cmd.h"
#include "problem.h"

enum { RC_EMAIL, RC_NAME };
static const struct jv_field register_spec[] = {
    {"email", JV_STR | JV_REQ | JV_EMAIL, 3, 254, NULL},
    {"name", JV_STR | JV_REQ, 1, 200, NULL},
    {NULL, 0, 0, 0, NULL},
};

static int register_customer(struct cmd_ctx *cx, const struct jv_vals *v, struct reply *r)
{
    int64_t id;
    int rc = db_run(cx->db, Q_CUSTOMER_INSERT,
                    DB_ARGS(DB_STR(v->s[RC_EMAIL], v->n[RC_EMAIL]),
                            DB_STR(v->s[RC_NAME], v->n[RC_NAME]), DB_STR(cx->now, strlen(cx->now)),
                            DB_STR(cx->now, strlen(cx->now))));

    if (rc == DB_DUP)
        return problem(r, P_DUPLICATE, "email '%.*s' is taken", (int)v->n[RC_EMAIL],
                       v->s[RC_EMAIL]);
    if (rc)
        return rc;
    id = (int64_t)db_insert_id(cx->db, Q_CUSTOMER_INSERT);
    if ((rc = cmd_event(cx, "CustomerRegistered", "customer", id, 1,
                        json_pack("{s:s%, s:s%}", "email", v->s[RC_EMAIL], v->n[RC_EMAIL], "name",
                                  v->s[RC_NAME], v->n[RC_NAME]))))
        return rc;
    return cmd_ack(cx, r, 201, "customer", id, 1);
}

const struct command_def customer_commands[] = {
    {"RegisterCustomer", register_spec, NULL, register_customer},
    {NULL, NULL, NULL, NULL},
};
