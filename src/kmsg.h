/* SPDX-License-Identifier: MIT */
/*
 * The kernel log lines drivers emit while a command runs (-d): remember the
 * end of /dev/kmsg (ESFM_KMSG overrides the path) at the start, read what
 * was added at the end, keep the lines that mention one of the filters.
 */
#ifndef ESFM_KMSG_H
#define ESFM_KMSG_H

#include <stddef.h>

#include "err.h"

struct esfm_kmsg {
	int fd;
	long long start; /* regular files: offset at begin */
};

int esfm_kmsg_begin(struct esfm_kmsg *k, struct esfm_err *err);

/* Call @fn for each new line containing any of @filters (NULL-terminated). */
int esfm_kmsg_collect(struct esfm_kmsg *k, const char *const *filters,
		      void (*fn)(void *data, const char *line), void *data, struct esfm_err *err);

void esfm_kmsg_end(struct esfm_kmsg *k);

#endif
