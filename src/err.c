// SPDX-License-Identifier: MIT
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

static int verr_set(struct esfm_err *err, enum esfm_err_class cls, int errnum, const char *fmt,
		    va_list ap)
{
	if (!err)
		return -1;
	err->cls = cls;
	err->errnum = errnum;
	err->hint[0] = '\0';
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -1;
}

int esfm_err_set(struct esfm_err *err, enum esfm_err_class cls, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_set(err, cls, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int esfm_err_sys(struct esfm_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_set(err, ESFM_ERR_FAILED, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

int esfm_err_hint(struct esfm_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
	return -1;
}

int esfm_err_prefix(struct esfm_err *err, const char *fmt, ...)
{
	char joined[2 * ESFM_ERR_MSG_MAX + 2];
	size_t n;
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	n = (size_t)vsnprintf(joined, ESFM_ERR_MSG_MAX, fmt, ap);
	va_end(ap);
	if (n >= ESFM_ERR_MSG_MAX)
		n = ESFM_ERR_MSG_MAX - 1;
	memcpy(joined + n, ": ", 2);
	memcpy(joined + n + 2, err->msg, strnlen(err->msg, ESFM_ERR_MSG_MAX - 1) + 1);
	joined[ESFM_ERR_MSG_MAX - 1] = '\0';
	memcpy(err->msg, joined, ESFM_ERR_MSG_MAX);
	return -1;
}

void esfm_err_clear(struct esfm_err *err)
{
	if (!err)
		return;
	err->cls = ESFM_ERR_NONE;
	err->errnum = 0;
	err->msg[0] = '\0';
	err->hint[0] = '\0';
}

const char *esfm_err_format(const struct esfm_err *err, char *buf, size_t len)
{
	char line[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 256];
	size_t n;

	if (!len)
		return buf;
	n = (size_t)snprintf(line, sizeof(line), "%s", err->msg);
	if (err->errnum && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, ": %s", strerror(err->errnum));
	if (err->hint[0] && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "; %s", err->hint);
	/* Names and paths in the message come from users: keep it one visible line. */
	return esfm_escape_ctl(line, buf, len);
}

int esfm_err_exit_code(const struct esfm_err *err)
{
	switch (err->cls) {
	case ESFM_ERR_NONE:
		return 0;
	case ESFM_ERR_USAGE:
	case ESFM_ERR_CONFIG:
		return 2;
	case ESFM_ERR_BUSY:
		return 3;
	case ESFM_ERR_FAILED:
	case ESFM_ERR_NOTFOUND:
		break;
	}
	return 1;
}
