/* work.h - the handler workers: requests that may wait on the database run here */
#ifndef CQRSD_WORK_H
#define CQRSD_WORK_H

/*
 * One queued job. The HTTP layer embeds it in its per-request state (no
 * allocation); a worker calls run(item) once, after which the item belongs
 * to its owner again.
 */
struct work_item {
    void (*run)(struct work_item *item);
    struct work_item *next;
};

/* Start n worker threads (at least 1); -1 when none could start. */
int work_start(unsigned n);

/* Queue a job (FIFO). Returns -1 (nothing queued) when no worker runs. */
int work_submit(struct work_item *item);

/* Run what is queued, then stop and join the workers. */
void work_stop(void);

#endif
