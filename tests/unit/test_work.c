/* test_work.c - the handler workers: every job runs once, on a worker, FIFO per worker */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "suites.h"
#include "work.h"

/*=== Helpers ===*/

#define JOBS 2000
#define SUBMITTERS 4

struct job {
    struct work_item item; /* first: the worker hands back the item */
    atomic_int runs;
    pthread_t ran_on;
};

static struct job g_jobs[JOBS];

static void run_job(struct work_item *item)
{
    struct job *j = (struct job *)item;

    j->ran_on = pthread_self();
    atomic_fetch_add(&j->runs, 1);
}

static void *submitter(void *arg)
{
    int k = (int)(long)arg;

    for (int i = k; i < JOBS; i += SUBMITTERS)
        ck_assert_int_eq(work_submit(&g_jobs[i].item), 0);
    return NULL;
}

/*=== Tests ===*/

/* Jobs from several threads at once each run exactly once, never on a submitter. */
START_TEST(test_each_job_runs_once)
{
    pthread_t t[SUBMITTERS];

    for (int i = 0; i < JOBS; i++) {
        g_jobs[i].item.run = run_job;
        atomic_store(&g_jobs[i].runs, 0);
    }
    ck_assert_int_eq(work_start(3), 0);
    for (long k = 0; k < SUBMITTERS; k++)
        ck_assert_int_eq(pthread_create(&t[k], NULL, submitter, (void *)k), 0);
    for (int k = 0; k < SUBMITTERS; k++)
        pthread_join(t[k], NULL);
    work_stop(); /* runs what is queued, then joins */
    for (int i = 0; i < JOBS; i++) {
        ck_assert_int_eq(atomic_load(&g_jobs[i].runs), 1);
        for (int k = 0; k < SUBMITTERS; k++)
            ck_assert(!pthread_equal(g_jobs[i].ran_on, t[k]));
        ck_assert(!pthread_equal(g_jobs[i].ran_on, pthread_self()));
    }
}
END_TEST

/* Without running workers a submit is refused (the caller runs the job itself). */
START_TEST(test_submit_refused_when_stopped)
{
    struct job j = {.item = {.run = run_job}};

    ck_assert_int_eq(work_submit(&j.item), -1);
    ck_assert_int_eq(work_start(1), 0);
    work_stop();
    ck_assert_int_eq(work_submit(&j.item), -1);
    ck_assert_int_eq(atomic_load(&j.runs), 0);
}
END_TEST

Suite *work_suite(void)
{
    Suite *s = suite_create("work");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_each_job_runs_once);
    tcase_add_test(tc, test_submit_refused_when_stopped);
    suite_add_tcase(s, tc);
    return s;
}
