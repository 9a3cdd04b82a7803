// SPDX-License-Identifier: MIT
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

void esfm_freep(void *p)
{
	free(*(void **)p);
}

void esfm_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

int esfm_read_attr(const char *path, char *buf, size_t len, struct esfm_err *err)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return esfm_err_sys(err, errno, "cannot open %s", path);
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return esfm_err_sys(err, errno, "cannot read %s", path);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int esfm_read_attr_uint(const char *path, unsigned *out, struct esfm_err *err)
{
	char buf[64];
	const char *s = buf;
	bool hex = false;

	if (esfm_read_attr(path, buf, sizeof(buf), err) < 0)
		return -1;
	if (!strncmp(buf, "0x", 2)) {
		s += 2;
		hex = true;
	}
	if (!esfm_parse_uint(s, UINT_MAX, hex, out))
		return esfm_err_set(err, ESFM_ERR_FAILED, 0, "unexpected content '%s' in %s", buf,
				    path);
	return 0;
}

int esfm_write_attr(const char *path, const char *value, struct esfm_err *err)
{
	_cleanup_close_ int fd = -1;
	size_t len = strlen(value);
	ssize_t n;

	esfm_info("write '%s' to %s", value, path);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return esfm_err_sys(err, errno, "cannot open %s for writing", path);
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return esfm_err_sys(err, errno, "cannot write '%s' to %s", value, path);
	if ((size_t)n != len)
		return esfm_err_sys(err, EIO, "short write of '%s' to %s", value, path);
	return 0;
}

/* esfm_read_fd with a first buffer of @first bytes (the file's size, when known). */
static int read_fd_from(int fd, size_t max, size_t first, char **out, size_t *outlen,
			struct esfm_err *err)
{
	/* Read up to one byte past @max to tell "exactly max" from "too large". */
	size_t limit = max < SIZE_MAX - 1 ? max + 1 : SIZE_MAX - 1;
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0, len = 0;

	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : first;
			char *nbuf;

			if (ncap > limit || ncap < cap)
				ncap = limit;
			if (ncap == cap)
				break;
			nbuf = realloc(buf, ncap + 1);
			if (!nbuf)
				return esfm_err_sys(err, ENOMEM, "cannot allocate input buffer");
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return esfm_err_sys(err, errno, "cannot read input");
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max)
		return esfm_err_set(err, ESFM_ERR_CONFIG, EFBIG, "input larger than %zu bytes",
				    max);
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return esfm_err_sys(err, ENOMEM, "cannot allocate input buffer");
	}
	buf[len] = '\0';
	*out = esfm_steal_ptr(&buf);
	if (outlen)
		*outlen = len;
	return 0;
}

int esfm_read_fd(int fd, size_t max, char **out, size_t *outlen, struct esfm_err *err)
{
	return read_fd_from(fd, max, 16384, out, outlen, err);
}

const char *esfm_file_type_name(unsigned mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	if (S_ISLNK(mode))
		return "a symlink";
	return "not a regular file";
}

int esfm_open_regular_at(int dirfd, const char *name, const char *path, int flags,
			 struct esfm_err *err)
{
	struct stat st;
	int fd, fl;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer (or a reader). */
	fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
	/* ENXIO: a FIFO without a reader, opened for writing; EISDIR: a directory. */
	if (fd < 0 && (errno == ENXIO || errno == EISDIR) &&
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s is %s, not a regular file", path,
			     esfm_file_type_name(st.st_mode));
		return esfm_err_hint(err, "replace it with a regular file");
	}
	if (fd < 0)
		return esfm_err_set(err, errno == ENOENT ? ESFM_ERR_NOTFOUND : ESFM_ERR_FAILED,
				    errno, "cannot open %s", path);
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return esfm_err_sys(err, e, "cannot stat %s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s is %s, not a regular file", path,
			     esfm_file_type_name(st.st_mode));
		return esfm_err_hint(err, "replace it with a regular file");
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;

		close(fd);
		return esfm_err_sys(err, e, "cannot open %s", path);
	}
	return fd;
}

int esfm_read_file_at(int dirfd, const char *name, const char *path, size_t max, char **out,
		      size_t *outlen, struct esfm_err *err)
{
	_cleanup_close_ int fd = -1;

	struct stat st;

	fd = esfm_open_regular_at(dirfd, name, path, O_RDONLY, err);
	if (fd < 0)
		return -1;
	/*
	 * One buffer of the file's size (and one byte to see its end): growing
	 * one from 16 KiB copied a 40 KiB ledger twice and faulted in its pages.
	 */
	if (fstat(fd, &st) < 0 || st.st_size < 0 || (size_t)st.st_size >= max)
		st.st_size = 16383;
	if (read_fd_from(fd, max, (size_t)st.st_size + 1, out, outlen, err) < 0)
		return esfm_err_prefix(err, "%s", path);
	return 0;
}

int esfm_read_file(const char *path, size_t max, char **out, size_t *outlen, struct esfm_err *err)
{
	return esfm_read_file_at(AT_FDCWD, path, path, max, out, outlen, err);
}

static int write_atomic_at(int dirfd, const char *name, const char *path, const char *data,
			   size_t len, mode_t mode, struct esfm_err *err)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = -1;
	size_t done = 0;

	if (esfm_snprintf(tmp, sizeof(tmp), err, "%s.tmp.%ld", name, (long)getpid()) < 0)
		return -1;
	/* A stale temp file (a crash, a reused pid) is unlinked, never written through. */
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		struct stat st;

		/* Only a stale regular file goes; a symlink there is somebody's trick. */
		if (fstatat(dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return esfm_err_sys(err, ELOOP, "refusing symlink at %s.tmp.%ld", path,
					    (long)getpid());
		if (unlinkat(dirfd, tmp, 0) == 0)
			fd = openat(dirfd, tmp,
				    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return esfm_err_sys(err, errno, "cannot create %s.tmp.%ld", path, (long)getpid());
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			unlinkat(dirfd, tmp, 0);
			return esfm_err_sys(err, e, "cannot write %s.tmp.%ld", path,
					    (long)getpid());
		}
		done += (size_t)n;
	}
	/* The mode is set, not left to the umask: a reader of another user may need it. */
	if (mode != 0600 && fchmod(fd, mode) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return esfm_err_sys(err, e, "cannot set the mode of %s.tmp.%ld", path,
				    (long)getpid());
	}
	if (fsync(fd) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return esfm_err_sys(err, e, "cannot sync %s.tmp.%ld", path, (long)getpid());
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		return esfm_err_sys(err, e, "cannot rename %s.tmp.%ld to %s", path, (long)getpid(),
				    path);
	}
	if (dirfd != AT_FDCWD && fsync(dirfd) < 0)
		return esfm_err_sys(err, errno, "cannot sync the directory of %s", path);
	return 0;
}

bool esfm_dir_is_private(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & 022);
}

int esfm_write_file_atomic_at(int dirfd, const char *name, const char *path, const char *data,
			      size_t len, struct esfm_err *err)
{
	return write_atomic_at(dirfd, name, path, data, len, 0600, err);
}

int esfm_write_file_atomic(const char *path, const char *data, size_t len, struct esfm_err *err)
{
	return esfm_write_file_atomic_mode(path, data, len, 0600, err);
}

int esfm_write_file_atomic_mode(const char *path, const char *data, size_t len, unsigned mode,
				struct esfm_err *err)
{
	char dir[PATH_MAX], base[PATH_MAX];
	_cleanup_close_ int dfd = -1;

	if (esfm_snprintf(dir, sizeof(dir), err, "%s", path) < 0)
		return -1;
	snprintf(base, sizeof(base), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return esfm_err_sys(err, errno, "cannot open the directory of %s", path);
	return write_atomic_at(dfd, basename(base), path, data, len, (mode_t)mode, err);
}

void esfm_remove_stale_temps_at(int dirfd, const char *name, bool locked)
{
	size_t prefix_len = strlen(name) + strlen(".tmp.");
	struct dirent *de;
	DIR *d;
	int fd = dup(dirfd);

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	rewinddir(d); /* the copy shares @dirfd's offset: an earlier listing left it at the end */
	while ((de = readdir(d))) {
		const char *pid_text = de->d_name + prefix_len;
		unsigned pid;

		if (strncmp(de->d_name, name, strlen(name)) ||
		    strncmp(de->d_name + strlen(name), ".tmp.", 5) ||
		    !esfm_parse_uint(pid_text, INT_MAX, false, &pid) || !pid)
			continue;
		if (locked || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

bool esfm_parse_uint(const char *s, unsigned max, bool hex, unsigned *out)
{
	unsigned long long v = 0;
	const char *p = s;

	if (!*p)
		return false;
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (hex && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return false;
		v = v * (hex ? 16 : 10) + d;
		if (v > max)
			return false;
	}
	*out = (unsigned)v;
	return true;
}

bool esfm_name_valid(const char *s)
{
	size_t n = 0;

	for (const char *p = s; *p; p++, n++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	if (n == 0 || n > 64)
		return false;
	return strcmp(s, ".") && strcmp(s, "..");
}

long long esfm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void esfm_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int esfm_snprintf(char *buf, size_t len, struct esfm_err *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return esfm_err_sys(err, ENAMETOOLONG, "path or name too long: '%.64s...'", buf);
	return 0;
}
