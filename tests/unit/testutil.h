/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the cmocka unit tests: private temp directories,
 * fixture files, directories and symlinks, and reading files back without
 * going through the code under test. Every helper fails the current test
 * (cmocka assertion) instead of returning an error.
 */
#ifndef ESFM_TESTUTIL_H
#define ESFM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* snprintf into a PATH_MAX buffer; truncation fails the test. Returns @buf. */
static inline __attribute__((format(printf, 2, 3))) char *tu_path(char buf[PATH_MAX],
								  const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && n < PATH_MAX);
	return buf;
}

/* A fresh private directory under $TMPDIR (or /tmp). Free with tu_rmtree. */
static inline char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[PATH_MAX];
	char *dir;

	if (!base || !*base)
		base = "/tmp";
	tu_path(tmpl, "%s/esfm-unit.XXXXXX", base);
	assert_non_null(mkdtemp(tmpl));
	dir = strdup(tmpl);
	assert_non_null(dir);
	return dir;
}

static inline int tu_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf @dir (never follows symlinks) and free it. NULL-safe. */
static inline void tu_rmtree(char *dir)
{
	if (!dir)
		return;
	nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* mkdir -p */
static inline void tu_mkdirs(const char *path)
{
	char buf[PATH_MAX];

	tu_path(buf, "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", buf, strerror(errno));
}

static inline void tu_mkparent(const char *path)
{
	char buf[PATH_MAX];
	char *slash;

	tu_path(buf, "%s", path);
	slash = strrchr(buf, '/');
	if (slash && slash != buf) {
		*slash = '\0';
		tu_mkdirs(buf);
	}
}

/* Create or replace the file @path (and its parents) holding @len bytes of @data. */
static inline void tu_write_n(const char *path, const char *data, size_t len)
{
	FILE *f;

	tu_mkparent(path);
	f = fopen(path, "w");
	if (!f)
		fail_msg("create %s: %s", path, strerror(errno));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static inline void tu_write(const char *path, const char *content)
{
	tu_write_n(path, content, strlen(content));
}

/* ln -s @target @linkpath (parents created). */
static inline void tu_symlink(const char *target, const char *linkpath)
{
	tu_mkparent(linkpath);
	if (symlink(target, linkpath) < 0)
		fail_msg("symlink %s -> %s: %s", linkpath, target, strerror(errno));
}

/* Whole file as a malloc'ed NUL-terminated string (caller frees). */
static inline char *tu_slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r");
	FILE *m;
	char chunk[4096];
	size_t n;

	if (!f)
		fail_msg("open %s: %s", path, strerror(errno));
	m = open_memstream(&buf, &len);
	assert_non_null(m);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(fwrite(chunk, 1, n, m), n);
	fclose(f);
	assert_int_equal(fclose(m), 0);
	return buf;
}

/*
 * Fail unless the file @path holds exactly @want. Frees what it read before
 * failing, so a failed check leaks nothing.
 */
/* Fail unless @got (freed here) is @want; @what names it in the message. */
static inline void tu_assert_text(const char *what, char *got, const char *want)
{
	char shown[256];

	if (!strcmp(got, want)) {
		free(got);
		return;
	}
	snprintf(shown, sizeof(shown), "%s", got);
	free(got);
	fail_msg("%s holds '%s', expected '%s'", what, shown, want);
}

static inline void tu_assert_file(const char *path, const char *want)
{
	tu_assert_text(path, tu_slurp(path), want);
}

/* True if @path exists (lstat: a dangling symlink counts). */
static inline bool tu_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Number of directory entries in @dir, "." and ".." not counted. */
static inline int tu_count_entries(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		fail_msg("opendir %s: %s", dir, strerror(errno));
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* A heap string of @n copies of @c (caller frees). */
static inline char *tu_repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/*
 * The fixture of a test that needs a private temp directory and nothing
 * else: *state is a struct tu_tmpdir; teardown removes the directory with
 * everything in it.
 */
struct tu_tmpdir {
	char *dir;
};

static inline int tu_tmpdir_setup(void **state)
{
	struct tu_tmpdir *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->dir = tu_mkdtemp();
	*state = fx;
	return 0;
}

static inline int tu_tmpdir_teardown(void **state)
{
	struct tu_tmpdir *fx = *state;

	tu_rmtree(fx->dir);
	free(fx);
	return 0;
}

#endif
