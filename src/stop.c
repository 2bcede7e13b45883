/* stop.c - the daemon is stopping: one flag that every layer may read */
#include "stop.h"

#include <stdatomic.h>

static atomic_bool stopping;

void stop_begin(void)
{
    atomic_store(&stopping, true);
}

bool stop_requested(void)
{
    return atomic_load(&stopping);
}
