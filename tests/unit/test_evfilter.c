/* test_evfilter.c - the event feed's filters (API.md "Event feed filters") */
#include <check.h>
#include <string.h>

#include "evfilter.h"
#include "suites.h"

static bool match(const struct event_filter *f, const char *type, const char *agg, int64_t id)
{
    return evfilter_match(f, type, strlen(type), agg, strlen(agg), id);
}

START_TEST(no_filter_passes_everything)
{
    struct event_filter f;
    char why[160];
    ck_assert_int_eq(evfilter_parse(&f, NULL, NULL, NULL, why, sizeof(why)), 0);
    ck_assert(!f.on);
    ck_assert(match(&f, "OrderPlaced", "order", 3));
    ck_assert(match(&f, "SomethingNew", "thing", 3));
}
END_TEST

START_TEST(aggregate_type_and_id)
{
    struct event_filter f;
    const char *names[EVF_TYPES];
    char why[160];

    ck_assert_int_eq(evfilter_parse(&f, "order", NULL, NULL, why, sizeof(why)), 0);
    ck_assert(f.on);
    ck_assert(match(&f, "OrderPaid", "order", 9));
    ck_assert(!match(&f, "ProductCreated", "product", 9));
    ck_assert_int_eq(evfilter_type_names(&f, names), 4);
    ck_assert_int_eq(evfilter_parse(&f, "product", "42", NULL, why, sizeof(why)), 0);
    ck_assert(match(&f, "ProductRestocked", "product", 42));
    ck_assert(!match(&f, "ProductRestocked", "product", 41));
    ck_assert(!match(&f, "CustomerRegistered", "customer", 42));
    ck_assert_int_eq(evfilter_type_names(&f, names), 5);
}
END_TEST

START_TEST(type_lists)
{
    struct event_filter f;
    const char *names[EVF_TYPES];
    char why[160];

    ck_assert_int_eq(evfilter_parse(&f, NULL, NULL, "OrderPlaced,OrderCancelled", why, sizeof(why)),
                     0);
    ck_assert(match(&f, "OrderCancelled", "order", 1));
    ck_assert(!match(&f, "OrderPaid", "order", 1));
    ck_assert_int_eq(evfilter_type_names(&f, names), 2);
    /* with an aggregate type: the types of both, here none */
    ck_assert_int_eq(evfilter_parse(&f, "customer", NULL, "OrderPlaced", why, sizeof(why)), 0);
    ck_assert(f.on);
    ck_assert_int_eq(evfilter_type_names(&f, names), 0);
    ck_assert(!match(&f, "OrderPlaced", "order", 1));
    ck_assert(!match(&f, "CustomerRegistered", "customer", 1));
}
END_TEST

START_TEST(bad_filters_refused)
{
    static const char *const bad[][3] = {
        {NULL, "1", NULL},           {"Product", NULL, NULL}, {"orders", NULL, NULL},
        {"order", "0", NULL},        {"order", "-1", NULL},   {"order", "1x", NULL},
        {"order", "", NULL},         {NULL, NULL, ""},        {NULL, NULL, "OrderPlaced,"},
        {NULL, NULL, ",OrderPlaced"}, {NULL, NULL, "orderplaced"}, {NULL, NULL, "Nope"},
        {"", NULL, NULL},
    };
    struct event_filter f;
    char why[160];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        ck_assert_msg(evfilter_parse(&f, bad[i][0], bad[i][1], bad[i][2], why, sizeof(why)) == -1,
                      "accepted case %zu", i);
        ck_assert(why[0] != '\0');
    }
}
END_TEST

Suite *evfilter_suite(void)
{
    Suite *s = suite_create("evfilter");
    TCase *tc = tcase_create("filters");
    tcase_add_test(tc, no_filter_passes_everything);
    tcase_add_test(tc, aggregate_type_and_id);
    tcase_add_test(tc, type_lists);
    tcase_add_test(tc, bad_filters_refused);
    suite_add_tcase(s, tc);
    return s;
}
