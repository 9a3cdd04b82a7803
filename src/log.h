/* SPDX-License-Identifier: MIT */
/*
 * Logging through a sink the program installs.
 *
 * The library logs every sysfs write and every state change at info level:
 * that is the audit trail. Without an installed sink nothing is emitted.
 * The CLI installs a stderr sink, the hook a syslog sink (ident esfm-hook).
 */
#ifndef ESFM_LOG_H
#define ESFM_LOG_H

/* Same values as syslog(3) priorities. */
enum esfm_log_level {
	ESFM_LOG_ERR = 3,
	ESFM_LOG_WARNING = 4,
	ESFM_LOG_NOTICE = 5,
	ESFM_LOG_INFO = 6,
	ESFM_LOG_DEBUG = 7,
};

typedef void (*esfm_log_fn)(void *data, int level, const char *msg);

/* Install @fn (NULL removes it); messages above @max_level are dropped. */
void esfm_log_set_sink(esfm_log_fn fn, void *data, int max_level);

int esfm_log_enabled(int level);

void esfm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse "err", "warning", "notice", "info", "debug". Returns -1 if unknown. */
int esfm_log_level_parse(const char *s);

#define esfm_log_error(...) esfm_log(ESFM_LOG_ERR, __VA_ARGS__)
#define esfm_warn(...)	    esfm_log(ESFM_LOG_WARNING, __VA_ARGS__)
#define esfm_notice(...)    esfm_log(ESFM_LOG_NOTICE, __VA_ARGS__)
#define esfm_info(...)	    esfm_log(ESFM_LOG_INFO, __VA_ARGS__)
#define esfm_debug(...)	    esfm_log(ESFM_LOG_DEBUG, __VA_ARGS__)

#endif
