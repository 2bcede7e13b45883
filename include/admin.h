/* admin.h - the administrative subcommands */
#ifndef CQRSD_ADMIN_H
#define CQRSD_ADMIN_H

#include "config.h"

/* cqrsd migrate: returns the process exit status. */
int admin_migrate(const struct config *cfg);

#endif
