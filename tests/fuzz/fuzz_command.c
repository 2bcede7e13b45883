/* fuzz_command.c - cmd_parse: the envelope and the data rules of every command.
 *
 * Invariants checked on every input:
 * - success (0): a command definition, a JSON object root with exactly `type`
 *   (naming that command) and `data` (an object), and no reply written;
 * - failure: status 400 or 422, application/problem+json, a body that parses
 *   as a JSON object with `type`, `title`, `status` (equal to the reply's) and
 *   `detail`; 400 is malformed-json; validation-failed carries a non-empty
 *   `errors` array whose items each have a string `field` and `message`.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "reply.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_command: invariant broken: " __VA_ARGS__);                          \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    json_object_seed(1); /* deterministic member order: reproducible runs */
    return 0;
}

static void check_problem(const struct reply *r)
{
    json_error_t jerr;
    json_t *b, *t, *e;
    const char *slug;

    if (r->status != 400 && r->status != 422)
        FAIL("failure with status %d", r->status);
    if (!r->content_type || strcmp(r->content_type, "application/problem+json") != 0)
        FAIL("failure with content type %s", r->content_type ? r->content_type : "(null)");
    if (!r->body.buf || r->body.len == 0)
        FAIL("failure with an empty body");
    b = json_loadb(r->body.buf, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!b || !json_is_object(b))
        FAIL("problem body is not a JSON object (%s): %.*s", jerr.text, (int)r->body.len,
             r->body.buf);
    t = json_object_get(b, "type");
    if (!json_is_string(t))
        FAIL("problem body has no string type: %s", r->body.buf);
    slug = json_string_value(t);
    if (!json_is_string(json_object_get(b, "title")) ||
        !json_is_string(json_object_get(b, "detail")))
        FAIL("problem body lacks title or detail: %s", r->body.buf);
    if (json_integer_value(json_object_get(b, "status")) != r->status)
        FAIL("problem status differs from the reply's %d: %s", r->status, r->body.buf);
    if (r->status == 400 && strcmp(slug, "malformed-json") != 0)
        FAIL("400 with type %s", slug);
    if (r->status == 422 && strcmp(slug, "validation-failed") != 0 &&
        strcmp(slug, "unknown-command") != 0)
        FAIL("422 with type %s", slug);
    e = json_object_get(b, "errors");
    if (strcmp(slug, "validation-failed") == 0) {
        size_t i;
        json_t *it;
        if (!json_is_array(e) || json_array_size(e) == 0)
            FAIL("validation-failed without errors: %s", r->body.buf);
        json_array_foreach(e, i, it) {
            if (!json_is_string(json_object_get(it, "field")) ||
                !json_is_string(json_object_get(it, "message")))
                FAIL("errors[%zu] lacks a string field or message: %s", i, r->body.buf);
        }
    } else if (e) {
        FAIL("errors in a %s problem", slug);
    }
    json_decref(b);
}

static void check_success(const json_t *root, const struct command_def *def,
                          const struct reply *r)
{
    const json_t *type = json_object_get(root, "type");

    if (!def || !def->type)
        FAIL("success without a command definition");
    if (!json_is_object(root) || json_object_size(root) != 2)
        FAIL("success with an envelope that is not {type, data}");
    if (!json_is_string(type) || strcmp(json_string_value(type), def->type) != 0)
        FAIL("success: def %s does not match the envelope's type", def->type);
    if (!json_is_object(json_object_get(root, "data")))
        FAIL("success with data that is not an object");
    if (r->status != 0)
        FAIL("success but the reply has status %d", r->status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reply r;
    json_t *root = NULL;
    const struct command_def *def = NULL;
    struct jv_vals v;
    int rc;

    reply_init(&r);
    rc = cmd_parse((const char *)data, size, &r, &root, &def, &v);
    if (rc == 0)
        check_success(root, def, &r);
    else
        check_problem(&r);
    json_decref(root);
    reply_release(&r);
    return 0;
}
