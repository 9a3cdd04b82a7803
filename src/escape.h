/* SPDX-License-Identifier: MIT */
/*
 * Control characters made visible. Domain names, pool files and paths come
 * from users; a newline or an escape sequence in one must not forge a log
 * line or a terminal's state. Every log line and every error message goes
 * through here once, where it is emitted or formatted.
 */
#ifndef ESFM_ESCAPE_H
#define ESFM_ESCAPE_H

#include <stddef.h>

/*
 * Copy @in into @out (@len bytes, NUL-terminated, truncated on a whole
 * escape) with newline, carriage return and tab written as \n, \r, \t and
 * every other byte below 0x20, and 0x7f, as \xHH. Returns @out.
 */
char *esfm_escape_ctl(const char *in, char *out, size_t len);

#endif
