/* SPDX-License-Identifier: MIT */
/*
 * Errors that carry their context up to main.
 *
 * A fallible library call takes a struct esfm_err *, fills it once at the
 * point of failure (class, errno, message, optional hint) and returns -1.
 * Each outer layer may prepend the object it was working on with
 * esfm_err_prefix(). Only a program's main formats and prints the result
 * and maps the class to an exit code. The library never prints or exits.
 */
#ifndef ESFM_ERR_H
#define ESFM_ERR_H

#include <stddef.h>

enum esfm_err_class {
	ESFM_ERR_NONE = 0,
	ESFM_ERR_FAILED,   /* a system operation failed: exit 1 */
	ESFM_ERR_NOTFOUND, /* a named device, pool or VM does not exist: exit 1 */
	ESFM_ERR_USAGE,	   /* bad command line: exit 2 */
	ESFM_ERR_CONFIG,   /* bad configuration, pool file, annotation or input: exit 2 */
	ESFM_ERR_BUSY,	   /* exhausted pool, held lock, device busy: retry later, exit 3 */
};

#define ESFM_ERR_MSG_MAX  1024
#define ESFM_ERR_HINT_MAX 256

struct esfm_err {
	enum esfm_err_class cls;
	int errnum; /* errno of the failed call, 0 if none */
	char msg[ESFM_ERR_MSG_MAX];
	char hint[ESFM_ERR_HINT_MAX];
};

/* Fill @err (if not NULL) and return -1. errnum may be 0. */
int esfm_err_set(struct esfm_err *err, enum esfm_err_class cls, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Shorthand for esfm_err_set(err, ESFM_ERR_FAILED, errnum, ...). Returns -1. */
int esfm_err_sys(struct esfm_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set the hint ("what to do"), replacing any previous one. Returns -1. */
int esfm_err_hint(struct esfm_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepend "<context>: " to the message. Returns -1 so callers can `return esfm_err_prefix(...)`. */
int esfm_err_prefix(struct esfm_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void esfm_err_clear(struct esfm_err *err);

/*
 * Format as one line: "<msg>[: <strerror(errnum)>][; <hint>]" into @buf,
 * control characters escaped (\n, \x1b). Returns @buf.
 */
const char *esfm_err_format(const struct esfm_err *err, char *buf, size_t len);

/* Exit code for the class: 0 none, 1 failed/notfound, 2 usage/config, 3 busy. */
int esfm_err_exit_code(const struct esfm_err *err);

#endif
