/* fuzz_gtid.c - consistency tokens (X-Consistency-Token, attacker input) and GTID positions
 *
 * The input up to its first NUL is a header value for gtid_parse_tokens and a
 * server position for gtid_parse_position.
 *
 * Invariants: nothing reads or writes out of bounds; an accepted header has
 * 1..GTID_MAX elements; the wait argument of accepted tokens, read back as
 * a position, includes them; a position that becomes a token parses as that
 * token again, and each includes the other.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gtid.h"

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_gtid: invariant broken: " __VA_ARGS__);                             \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gtid_set want, have, back;
    char text[8192], arg[8192], tok[GTID_TOKEN_MAX + 1];
    size_t n = strnlen((const char *)data, size);

    if (n >= sizeof(text))
        return 0;
    memcpy(text, data, n);
    text[n] = '\0';
    if (gtid_parse_tokens(text, &want) == 0) {
        if (want.n < 1 || want.n > GTID_MAX)
            FAIL("%d elements from an accepted header", want.n);
        if (gtid_wait_arg(&want, arg, sizeof(arg)) == 0) {
            if (gtid_parse_position(arg, strlen(arg), &have))
                FAIL("the wait argument '%s' is not a position", arg);
            if (!gtid_covers(&have, &want))
                FAIL("the wait argument '%s' does not include its tokens", arg);
        }
    }
    if (gtid_parse_position(text, n, &have) == 0 && gtid_token_of(text, n, tok, sizeof(tok)) == 0) {
        if (gtid_parse_tokens(tok, &back))
            FAIL("the token '%s' of a position does not parse", tok);
        if (!gtid_covers(&have, &back) || !gtid_covers(&back, &have))
            FAIL("the token '%s' and its position differ", tok);
    }
    return 0;
}
