/* SPDX-License-Identifier: MIT */
/* Log sinks the programs install: stderr (CLI), syslog (hook), or a file. */
#ifndef ESFM_LOGSINK_H
#define ESFM_LOGSINK_H

/* "<prog>: <msg>" on stderr. */
void esfm_logsink_stderr(const char *prog, int max_level);

/* syslog(3) with @ident, facility daemon. */
void esfm_logsink_syslog(const char *ident, int max_level);

/*
 * Append "<time> <ident>[<pid>]: <msg>" lines to @path (O_APPEND, one write
 * per line, so concurrent processes do not interleave). Falls back to syslog
 * if the file cannot be opened.
 */
void esfm_logsink_file(const char *path, const char *ident, int max_level);

#endif
