/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by every module: scope-bound cleanup, whole-file
 * reads and single writes of sysfs-style attributes, strict number parsing
 * and name validation.
 */
#ifndef ESFM_UTIL_H
#define ESFM_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

void esfm_freep(void *p);
void esfm_closep(int *fd);

#define _cleanup_free_	__attribute__((cleanup(esfm_freep)))
#define _cleanup_close_ __attribute__((cleanup(esfm_closep)))

/* Take ownership out of a cleanup-managed variable. */
#define esfm_steal_ptr(pp)                                                                         \
	({                                                                                         \
		__typeof__(*(pp)) _p = *(pp);                                                      \
		*(pp) = NULL;                                                                      \
		_p;                                                                                \
	})

#define ESFM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Read a small attribute file into @buf (NUL-terminated, trailing newline
 * stripped). Returns 0, or -1 with @err filled (path and errno text).
 */
int esfm_read_attr(const char *path, char *buf, size_t len, struct esfm_err *err);

/* Read an attribute holding an unsigned number (decimal, or hex with 0x). */
int esfm_read_attr_uint(const char *path, unsigned *out, struct esfm_err *err);

/*
 * Write @value to an attribute with one write(2), as `echo` would. Logs the
 * write at info level. Returns 0, or -1 with @err naming value, path, errno.
 */
int esfm_write_attr(const char *path, const char *value, struct esfm_err *err);

/*
 * Read a whole regular file (up to @max bytes) into a malloc'ed NUL-terminated buffer.
 * A symlink, FIFO, directory or device there is refused (CONFIG error) without
 * blocking; a missing file is a NOTFOUND error.
 */
int esfm_read_file(const char *path, size_t max, char **out, size_t *outlen, struct esfm_err *err);

/* Same with file mode @mode (e.g. 0644 for a file another user reads). */
int esfm_write_file_atomic_mode(const char *path, const char *data, size_t len, unsigned mode,
				struct esfm_err *err);

/* Same for @name relative to the directory @dirfd; @path names it in errors. */
int esfm_read_file_at(int dirfd, const char *name, const char *path, size_t max, char **out,
		      size_t *outlen, struct esfm_err *err);

/*
 * Open @name relative to @dirfd (AT_FDCWD: a path) with @flags plus O_NOFOLLOW,
 * never blocking on a FIFO, and refuse anything but a regular file (CONFIG
 * error naming @path and what it is). Returns the fd (blocking mode), or -1.
 */
int esfm_open_regular_at(int dirfd, const char *name, const char *path, int flags,
			 struct esfm_err *err);

/* "a FIFO", "a directory", ... for messages about a file that should be regular. */
const char *esfm_file_type_name(unsigned mode);

/* Read all of @fd until EOF into a malloc'ed NUL-terminated buffer. */
int esfm_read_fd(int fd, size_t max, char **out, size_t *outlen, struct esfm_err *err);

/*
 * Write @data to @path atomically: temp file in the same directory (0600,
 * O_NOFOLLOW), fsync, rename, fsync of the directory.
 */
int esfm_write_file_atomic(const char *path, const char *data, size_t len, struct esfm_err *err);

/* Same with file mode @mode (e.g. 0644 for a file another user reads). */
int esfm_write_file_atomic_mode(const char *path, const char *data, size_t len, unsigned mode,
				struct esfm_err *err);

/*
 * A directory whose files whoever runs esfm may trust: owned by root (or by
 * the effective user) and writable by no one else.
 */
struct stat;
bool esfm_dir_is_private(const struct stat *st);

/* Same for @name relative to the directory @dirfd; @path names it in errors. */
int esfm_write_file_atomic_at(int dirfd, const char *name, const char *path, const char *data,
			      size_t len, struct esfm_err *err);

/*
 * Remove the temp files <name>.tmp.<pid> in @dirfd that writers (the atomic
 * writes above) left when they died before their rename. With @locked (the
 * caller holds the lock every writer of @name takes) all of them are stale;
 * without it a live writer's file stays. Best effort: nothing fails.
 */
void esfm_remove_stale_temps_at(int dirfd, const char *name, bool locked);

/* Strict unsigned parse: whole string, base 10 (or 16 with @hex), <= max. */
bool esfm_parse_uint(const char *s, unsigned max, bool hex, unsigned *out);

/* Names of pools and VM base names: [A-Za-z0-9_.-]{1,64}, not "." or "..". */
bool esfm_name_valid(const char *s);

/* Monotonic clock in milliseconds. */
long long esfm_now_ms(void);

void esfm_sleep_ms(long ms);

/* snprintf that reports truncation as an error (ENAMETOOLONG). */
int esfm_snprintf(char *buf, size_t len, struct esfm_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
