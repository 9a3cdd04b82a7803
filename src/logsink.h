/* SPDX-License-Identifier: MIT */
/* Log sinks the programs install: stderr (CLI), syslog (hook), or a file. */
#ifndef ESFM_LOGSINK_H
#define ESFM_LOGSINK_H

#include "err.h"

/* "<prog>: <msg>" on stderr. */
void esfm_logsink_stderr(const char *prog, int max_level);

/* syslog(3) with @ident, facility daemon. */
void esfm_logsink_syslog(const char *ident, int max_level);

/*
 * Append "<time> <ident>[<pid>]: <msg>" lines to @path (O_APPEND, one write
 * per line, so concurrent processes do not interleave). A path that cannot
 * be opened, or is not a regular file (a FIFO would block every writer), is
 * refused: -1 with @err filled, and syslog is installed instead.
 */
int esfm_logsink_file(const char *path, const char *ident, int max_level, struct esfm_err *err);

#endif
