// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/util.h: number parsing, name validation, attribute
 * reads and writes, whole-file and fd reads, atomic file writes, cleanup
 * helpers and esfm_snprintf. File tests run in a private temp directory.
 */
#include "testutil.h"

#include <dirent.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "util.h"

/* ---- esfm_parse_uint ---- */

static void test_parse_uint_decimal(void **state)
{
	unsigned v = 12345;

	(void)state;
	assert_true(esfm_parse_uint("0", UINT_MAX, false, &v));
	assert_int_equal(v, 0);
	assert_true(esfm_parse_uint("42", UINT_MAX, false, &v));
	assert_int_equal(v, 42);
	assert_true(esfm_parse_uint("007", UINT_MAX, false, &v));
	assert_int_equal(v, 7);
	assert_true(esfm_parse_uint("4294967295", UINT_MAX, false, &v));
	assert_int_equal(v, UINT_MAX);
}

static void test_parse_uint_max_bound(void **state)
{
	unsigned v;

	(void)state;
	assert_true(esfm_parse_uint("10", 10, false, &v));
	assert_int_equal(v, 10);
	assert_false(esfm_parse_uint("11", 10, false, &v));
	assert_true(esfm_parse_uint("0", 0, false, &v));
	assert_int_equal(v, 0);
	assert_false(esfm_parse_uint("1", 0, false, &v));
	assert_true(esfm_parse_uint("ff", 255, true, &v));
	assert_int_equal(v, 255);
	assert_false(esfm_parse_uint("100", 255, true, &v));
}

static void test_parse_uint_overflow(void **state)
{
	unsigned v;

	(void)state;
	assert_false(esfm_parse_uint("4294967296", UINT_MAX, false, &v));
	assert_false(esfm_parse_uint("18446744073709551616", UINT_MAX, false, &v));
	assert_false(
		esfm_parse_uint("99999999999999999999999999999999999999", UINT_MAX, false, &v));
	assert_false(esfm_parse_uint("100000000", UINT_MAX, true, &v));
	assert_false(esfm_parse_uint("fffffffffffffffffffff", UINT_MAX, true, &v));
	assert_true(esfm_parse_uint("ffffffff", UINT_MAX, true, &v));
	assert_int_equal(v, UINT_MAX);
}

static void test_parse_uint_hex(void **state)
{
	unsigned v;

	(void)state;
	assert_true(esfm_parse_uint("10ee", UINT_MAX, true, &v));
	assert_int_equal(v, 0x10ee);
	assert_true(esfm_parse_uint("10EE", UINT_MAX, true, &v));
	assert_int_equal(v, 0x10ee);
	assert_true(esfm_parse_uint("aBcD", UINT_MAX, true, &v));
	assert_int_equal(v, 0xabcd);
	assert_true(esfm_parse_uint("10", UINT_MAX, true, &v));
	assert_int_equal(v, 16);
	assert_false(esfm_parse_uint("1g", UINT_MAX, true, &v));
	/* Without @hex, hex digits are not digits. */
	assert_false(esfm_parse_uint("ff", UINT_MAX, false, &v));
	assert_false(esfm_parse_uint("1e3", UINT_MAX, false, &v));
	assert_false(esfm_parse_uint("0x10", UINT_MAX, false, &v));
}

static void test_parse_uint_rejects_junk(void **state)
{
	static const char *const bad[] = {
		"",    "+1",  "-1",    "-0",	" 1",  "1 ", "1\n",
		"\t1", "1.0", "1,000", "1_000", "one", "1a",
	};
	unsigned v;

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(bad); i++) {
		if (esfm_parse_uint(bad[i], UINT_MAX, false, &v))
			fail_msg("decimal parse accepted '%s'", bad[i]);
		if (esfm_parse_uint(bad[i], UINT_MAX, true, &v) && strcmp(bad[i], "1a"))
			fail_msg("hex parse accepted '%s'", bad[i]);
	}
}

/* ---- esfm_name_valid ---- */

static void test_name_valid_accepts(void **state)
{
	static const char *const good[] = {
		"a",	      "Z",	   "0",	  "pool",    "pool-1",
		"my_pool.v2", "A-b_C.d-9", "...", ".hidden", "x..y",
	};
	char *max = tu_repeat('n', 64);

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(good); i++)
		if (!esfm_name_valid(good[i]))
			fail_msg("rejected valid name '%s'", good[i]);
	assert_true(esfm_name_valid(max));
	free(max);
}

static void test_name_valid_rejects(void **state)
{
	static const char *const bad[] = {
		"",	".",   "..",	"../x", "a/b", "/abs", "x/",	"a b", " a",
		"a\n",	"a\t", "a:b",	"a\\b", "a*",  "a?",   "$HOME", "a;b", "a'b",
		"a\"b", "é",   "a\x7f", "\xff", "~",   "a@b",  "a+b",	"a=b",
	};
	char *over = tu_repeat('n', 65);

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(bad); i++)
		if (esfm_name_valid(bad[i]))
			fail_msg("accepted invalid name '%s'", bad[i]);
	assert_false(esfm_name_valid(over));
	free(over);
}

/* ---- esfm_read_attr / esfm_read_attr_uint / esfm_write_attr ---- */

static void test_read_attr_strips_newline(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX], buf[64];

	tu_write(tu_path(path, "%s/a", fx->dir), "vfio-pci\n");
	assert_int_equal(esfm_read_attr(path, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "vfio-pci");

	tu_write(path, "no-newline");
	assert_int_equal(esfm_read_attr(path, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "no-newline");

	tu_write(path, "");
	assert_int_equal(esfm_read_attr(path, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "");

	tu_write(path, "\n");
	assert_int_equal(esfm_read_attr(path, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "");

	/* Only the trailing newline goes; inner ones stay. */
	tu_write(path, "one\ntwo\n");
	assert_int_equal(esfm_read_attr(path, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "one\ntwo");
}

static void test_read_attr_small_buffer_stays_in_bounds(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	char *buf = malloc(4);

	assert_non_null(buf);
	tu_write(tu_path(path, "%s/a", fx->dir), "0123456789\n");
	assert_int_equal(esfm_read_attr(path, buf, 4, &err), 0);
	assert_true(strnlen(buf, 4) < 4);
	free(buf);
}

static void test_read_attr_missing(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX], buf[64];

	esfm_err_clear(&err);
	tu_path(path, "%s/nope", fx->dir);
	assert_int_equal(esfm_read_attr(path, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_non_null(strstr(err.msg, path));
}

static void test_read_attr_directory(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char buf[64];

	esfm_err_clear(&err);
	assert_int_equal(esfm_read_attr(fx->dir, buf, sizeof(buf), &err), -1);
	assert_int_equal(err.errnum, EISDIR);
	assert_non_null(strstr(err.msg, fx->dir));
}

static void test_read_attr_uint(void **state)
{
	static const struct {
		const char *content;
		unsigned want;
	} good[] = {
		{"0\n", 0},
		{"8\n", 8},
		{"252", 252},
		{"0x10ee\n", 0x10ee},
		{"0xffffffff\n", UINT_MAX},
		{"4294967295\n", UINT_MAX},
	};
	static const char *const bad[] = {
		"",	"\n",		"0x\n",		 "x\n",	    "-1\n",
		"+1\n", "4294967296\n", "0x100000000\n", "12abc\n", "ff\n",
	};
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	unsigned v;

	tu_path(path, "%s/n", fx->dir);
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(good); i++) {
		tu_write(path, good[i].content);
		if (esfm_read_attr_uint(path, &v, &err) < 0)
			fail_msg("'%s': %s", good[i].content, err.msg);
		assert_int_equal(v, good[i].want);
	}
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(bad); i++) {
		esfm_err_clear(&err);
		tu_write(path, bad[i]);
		if (esfm_read_attr_uint(path, &v, &err) == 0)
			fail_msg("accepted '%s' as %u", bad[i], v);
		assert_int_not_equal(err.cls, ESFM_ERR_NONE);
		assert_non_null(strstr(err.msg, path));
	}
	tu_path(path, "%s/missing", fx->dir);
	esfm_err_clear(&err);
	assert_int_equal(esfm_read_attr_uint(path, &v, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
}

static void test_write_attr(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX], buf[64];
	char *got;
	bool ok;

	tu_write(tu_path(path, "%s/attr", fx->dir), "");
	assert_int_equal(esfm_write_attr(path, "vfio-pci", &err), 0);
	assert_int_equal(esfm_read_attr(path, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "vfio-pci");
	got = tu_slurp(path);
	/* One value, with at most the newline echo would add. */
	ok = !strcmp(got, "vfio-pci") || !strcmp(got, "vfio-pci\n");
	free(got);
	assert_true(ok);
}

static void test_write_attr_does_not_create(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];

	esfm_err_clear(&err);
	tu_path(path, "%s/absent", fx->dir);
	assert_int_equal(esfm_write_attr(path, "1", &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(err.cls, ESFM_ERR_FAILED);
	assert_non_null(strstr(err.msg, path));
	assert_false(tu_exists(path));
}

static void test_write_attr_error_names_value(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];

	/* A directory opens but cannot be written: EISDIR from open. */
	esfm_err_clear(&err);
	tu_mkdirs(tu_path(path, "%s/dir", fx->dir));
	assert_int_equal(esfm_write_attr(path, "1", &err), -1);
	assert_int_equal(err.errnum, EISDIR);
	assert_non_null(strstr(err.msg, path));
	/* /dev/full: open works, write fails with ENOSPC; the message names value and path. */
	if (access("/dev/full", W_OK) == 0) {
		esfm_err_clear(&err);
		assert_int_equal(esfm_write_attr("/dev/full", "magic-value", &err), -1);
		assert_int_equal(err.errnum, ENOSPC);
		assert_non_null(strstr(err.msg, "magic-value"));
		assert_non_null(strstr(err.msg, "/dev/full"));
	}
}

/* ---- esfm_read_fd / esfm_read_file ---- */

static int fd_with(struct tu_tmpdir *fx, const char *data, size_t len)
{
	char path[PATH_MAX];
	int fd;

	tu_write_n(tu_path(path, "%s/fdinput", fx->dir), data, len);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void test_read_fd_content(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char *out = NULL;
	size_t len = 99;
	int fd = fd_with(fx, "hello\nworld", 11);

	assert_int_equal(esfm_read_fd(fd, 1024, &out, &len, &err), 0);
	close(fd);
	assert_int_equal(len, 11);
	assert_string_equal(out, "hello\nworld");
	free(out);
}

static void test_read_fd_empty(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char *out = NULL;
	size_t len = 99;
	int fd = fd_with(fx, "", 0);

	assert_int_equal(esfm_read_fd(fd, 1024, &out, &len, &err), 0);
	close(fd);
	assert_non_null(out);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	free(out);
}

static void test_read_fd_large(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	size_t n = 300000;
	char *data = tu_repeat('d', n), *out = NULL;
	size_t len = 0;
	int fd;

	data[1000] = 'X';
	data[n - 1] = 'Z';
	fd = fd_with(fx, data, n);
	assert_int_equal(esfm_read_fd(fd, 1 << 20, &out, &len, &err), 0);
	close(fd);
	assert_int_equal(len, n);
	assert_int_equal(out[n], '\0');
	assert_memory_equal(out, data, n);
	free(out);
	free(data);
}

static void test_read_fd_over_limit(void **state)
{
	static const size_t maxes[] = {0, 1, 10, 4095, 4096, 16383, 16384, 16385, 40000};
	struct tu_tmpdir *fx = *state;
	char *data = tu_repeat('x', 40001);

	for (size_t i = 0; i < ESFM_ARRAY_SIZE(maxes); i++) {
		struct esfm_err err;
		char *out = NULL;
		size_t len = 0;
		int fd = fd_with(fx, data, maxes[i] + 1);

		esfm_err_clear(&err);
		if (esfm_read_fd(fd, maxes[i], &out, &len, &err) == 0)
			fail_msg("max %zu: accepted %zu bytes", maxes[i], len);
		close(fd);
		assert_null(out);
		assert_int_not_equal(err.cls, ESFM_ERR_NONE);
		assert_int_not_equal(esfm_err_exit_code(&err), 0);
	}
	free(data);
}

/* "up to @max bytes": input of exactly @max bytes is within the limit. */
static void test_read_fd_exactly_max(void **state)
{
	static const size_t maxes[] = {0, 1, 10, 4095, 4096, 16383, 16384, 16385, 40000};
	static char data[40000]; /* static: nothing to leak while this fails */
	struct tu_tmpdir *fx = *state;

	memset(data, 'x', sizeof(data));

	for (size_t i = 0; i < ESFM_ARRAY_SIZE(maxes); i++) {
		struct esfm_err err;
		char *out = NULL;
		size_t len = 0;
		int fd = fd_with(fx, data, maxes[i]);

		esfm_err_clear(&err);
		if (esfm_read_fd(fd, maxes[i], &out, &len, &err) < 0)
			fail_msg("max %zu: input of exactly %zu bytes rejected: %s", maxes[i],
				 maxes[i], err.msg);
		close(fd);
		assert_int_equal(len, maxes[i]);
		assert_memory_equal(out, data, len);
		assert_int_equal(out[len], '\0');
		free(out);
	}
}

/* SIZE_MAX as the limit must not overflow into "nothing allowed". */
static void test_read_fd_size_max_limit(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char *out = NULL;
	size_t len = 0;
	int fd = fd_with(fx, "abc", 3);

	esfm_err_clear(&err);
	if (esfm_read_fd(fd, SIZE_MAX, &out, &len, &err) < 0)
		fail_msg("3-byte input rejected with max SIZE_MAX: %s", err.msg);
	close(fd);
	assert_int_equal(len, 3);
	assert_string_equal(out, "abc");
	free(out);
}

static void test_read_fd_pipe(void **state)
{
	struct esfm_err err;
	char *out = NULL;
	size_t len = 0;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(write(p[1], "def", 3), 3);
	close(p[1]);
	assert_int_equal(esfm_read_fd(p[0], 100, &out, &len, &err), 0);
	close(p[0]);
	assert_int_equal(len, 6);
	assert_string_equal(out, "abcdef");
	free(out);
}

static void test_read_fd_bad_fd(void **state)
{
	struct esfm_err err;
	char *out = NULL;
	size_t len = 0;

	(void)state;
	esfm_err_clear(&err);
	assert_int_equal(esfm_read_fd(-1, 100, &out, &len, &err), -1);
	assert_int_equal(err.errnum, EBADF);
	assert_null(out);
}

static void test_read_file(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	char *out = NULL;
	size_t len = 0;

	tu_write(tu_path(path, "%s/f.xml", fx->dir), "<pool name='a'/>\n");
	assert_int_equal(esfm_read_file(path, 4096, &out, &len, &err), 0);
	assert_int_equal(len, 17);
	assert_string_equal(out, "<pool name='a'/>\n");
	free(out);
}

static void test_read_file_missing_is_notfound(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	char *out = NULL;
	size_t len = 0;

	esfm_err_clear(&err);
	tu_path(path, "%s/none", fx->dir);
	assert_int_equal(esfm_read_file(path, 4096, &out, &len, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, path));
	assert_null(out);
}

static void test_read_file_over_limit_names_path(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	char *out = NULL;
	size_t len = 0;

	esfm_err_clear(&err);
	tu_write(tu_path(path, "%s/big", fx->dir), "0123456789A");
	assert_int_equal(esfm_read_file(path, 10, &out, &len, &err), -1);
	assert_null(out);
	assert_non_null(strstr(err.msg, path));
	assert_int_not_equal(esfm_err_exit_code(&err), 0);
}

static void test_read_file_exactly_max(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	char *out = NULL;
	size_t len = 0;

	esfm_err_clear(&err);
	tu_write(tu_path(path, "%s/ten", fx->dir), "0123456789");
	if (esfm_read_file(path, 10, &out, &len, &err) < 0)
		fail_msg("10-byte file rejected with max 10: %s", err.msg);
	assert_int_equal(len, 10);
	assert_string_equal(out, "0123456789");
	free(out);
}

static void test_read_file_directory_fails(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char *out = NULL;
	size_t len = 0;

	esfm_err_clear(&err);
	assert_int_equal(esfm_read_file(fx->dir, 4096, &out, &len, &err), -1);
	assert_null(out);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
}

/* ---- esfm_write_file_atomic ---- */

static void test_write_atomic_content_and_mode(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	struct stat st;
	mode_t old = umask(022);

	tu_path(path, "%s/state.xml", fx->dir);
	assert_int_equal(esfm_write_file_atomic(path, "<state/>\n", 9, &err), 0);
	umask(old);
	tu_assert_file(path, "<state/>\n");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_write_atomic_mode_despite_permissive_umask(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	struct stat st;
	mode_t old = umask(0);

	tu_path(path, "%s/state.xml", fx->dir);
	assert_int_equal(esfm_write_file_atomic(path, "x", 1, &err), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_write_atomic_replaces(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	struct stat st;

	tu_path(path, "%s/f", fx->dir);
	tu_write(path, "an old and much longer content\n");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(esfm_write_file_atomic(path, "new", 3, &err), 0);
	tu_assert_file(path, "new");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_write_atomic_empty_and_binary(void **state)
{
	static const char bin[] = {'a', '\0', 'b', '\n', '\xff'};
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	struct stat st;

	tu_path(path, "%s/empty", fx->dir);
	assert_int_equal(esfm_write_file_atomic(path, "", 0, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);

	tu_path(path, "%s/bin", fx->dir);
	assert_int_equal(esfm_write_file_atomic(path, bin, sizeof(bin), &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(bin));
	{
		char *got = tu_slurp(path);
		int diff = memcmp(got, bin, sizeof(bin));

		free(got);
		assert_int_equal(diff, 0);
	}
}

static void test_write_atomic_leaves_no_temp(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	tu_path(path, "%s/only", fx->dir);
	for (int i = 0; i < 3; i++)
		assert_int_equal(esfm_write_file_atomic(path, "data", 4, &err), 0);
	assert_int_equal(tu_count_entries(fx->dir), 1);
	d = opendir(fx->dir);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			assert_string_equal(de->d_name, "only");
	closedir(d);
}

/*
 * The temp file is created with O_NOFOLLOW: a symlink planted at the temp
 * path (<path>.tmp.<pid>, the name the implementation uses) must not be
 * followed, and the planted target must not be created or written.
 */
static void test_write_atomic_refuses_symlink_at_temp(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX], tmp[PATH_MAX], victim[PATH_MAX];
	struct stat st;

	tu_path(path, "%s/conf", fx->dir);
	tu_path(tmp, "%s.tmp.%ld", path, (long)getpid());
	tu_path(victim, "%s/victim", fx->dir);
	tu_symlink(victim, tmp);
	esfm_err_clear(&err);
	assert_int_equal(esfm_write_file_atomic(path, "pwned", 5, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_FAILED);
	assert_int_not_equal(err.errnum, 0);
	assert_false(tu_exists(victim));
	assert_false(tu_exists(path));
	/* The planted link is still a link (not replaced by a file we wrote). */
	assert_int_equal(lstat(tmp, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void test_write_atomic_refuses_symlink_at_temp_existing_target(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX], tmp[PATH_MAX], victim[PATH_MAX];

	tu_path(path, "%s/conf", fx->dir);
	tu_path(tmp, "%s.tmp.%ld", path, (long)getpid());
	tu_write(tu_path(victim, "%s/victim", fx->dir), "precious\n");
	tu_write(path, "old\n");
	tu_symlink(victim, tmp);
	assert_int_equal(esfm_write_file_atomic(path, "pwned", 5, &err), -1);
	tu_assert_file(victim, "precious\n");
	tu_assert_file(path, "old\n");
}

/*
 * A regular file already at the temp path (a stale temp from a crashed run
 * with the same pid, or a hard link planted there) must not be written
 * through, and the result must still be a 0600 file with the new content.
 */
static void test_write_atomic_stale_temp_file(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX], tmp[PATH_MAX], victim[PATH_MAX];
	struct stat st;
	int r;

	tu_path(path, "%s/conf", fx->dir);
	tu_path(tmp, "%s.tmp.%ld", path, (long)getpid());
	tu_write(tu_path(victim, "%s/victim", fx->dir), "precious\n");
	assert_int_equal(chmod(victim, 0644), 0);
	assert_int_equal(link(victim, tmp), 0);
	esfm_err_clear(&err);
	r = esfm_write_file_atomic(path, "new", 3, &err);
	tu_assert_file(victim, "precious\n");
	if (r == 0) {
		tu_assert_file(path, "new");
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
}

/* A pid that was just alive and is not any more. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

/*
 * Without the lock only the temp files of writers that died go: a live
 * writer's and files that merely look alike stay.
 */
static void test_remove_stale_temps(void **state)
{
	struct tu_tmpdir *fx = *state;
	char dead[PATH_MAX], live[PATH_MAX], other[PATH_MAX], odd[PATH_MAX], target[PATH_MAX];
	int dfd;

	tu_write(tu_path(target, "%s/conf", fx->dir), "kept\n");
	tu_write(tu_path(dead, "%s/conf.tmp.%ld", fx->dir, (long)dead_pid()), "half");
	tu_write(tu_path(live, "%s/conf.tmp.%ld", fx->dir, (long)getppid()), "writing");
	tu_write(tu_path(other, "%s/confx.tmp.%ld", fx->dir, (long)dead_pid()), "not ours");
	tu_write(tu_path(odd, "%s/conf.tmp.12ab", fx->dir), "not a pid");
	dfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	esfm_remove_stale_temps_at(dfd, "conf", false);
	assert_int_equal(access(dead, F_OK), -1);
	tu_assert_file(live, "writing");
	tu_assert_file(other, "not ours");
	tu_assert_file(odd, "not a pid");
	tu_assert_file(target, "kept\n");
	/* Under the writers' lock no writer is live: the live-looking one goes too. */
	esfm_remove_stale_temps_at(dfd, "conf", true);
	close(dfd);
	assert_int_equal(access(live, F_OK), -1);
	tu_assert_file(other, "not ours");
	tu_assert_file(odd, "not a pid");
	tu_assert_file(target, "kept\n");
}

static void test_write_atomic_missing_dir(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX];

	esfm_err_clear(&err);
	tu_path(path, "%s/no/such/dir/f", fx->dir);
	assert_int_equal(esfm_write_file_atomic(path, "x", 1, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(esfm_err_exit_code(&err), 1);
	assert_int_equal(tu_count_entries(fx->dir), 0);
}

/* rename onto a directory fails: error, and the temp file is cleaned up. */
static void test_write_atomic_rename_failure_cleans_temp(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	char path[PATH_MAX], inner[PATH_MAX];

	tu_path(path, "%s/target", fx->dir);
	tu_write(tu_path(inner, "%s/keep", path), "k");
	esfm_err_clear(&err);
	assert_int_equal(esfm_write_file_atomic(path, "x", 1, &err), -1);
	assert_int_not_equal(err.errnum, 0);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(tu_count_entries(fx->dir), 1);
	assert_true(tu_exists(inner));
}

static void test_write_atomic_overlong_path(void **state)
{
	struct esfm_err err;
	char *path = tu_repeat('a', PATH_MAX);

	(void)state;
	path[0] = '/';
	esfm_err_clear(&err);
	assert_int_equal(esfm_write_file_atomic(path, "x", 1, &err), -1);
	assert_int_equal(err.errnum, ENAMETOOLONG);
	free(path);
}

/* ---- esfm_snprintf ---- */

static void test_snprintf(void **state)
{
	struct esfm_err err;
	char buf[8];

	(void)state;
	assert_int_equal(esfm_snprintf(buf, sizeof(buf), &err, "%s-%d", "ab", 1234), 0);
	assert_string_equal(buf, "ab-1234");
	esfm_err_clear(&err);
	assert_int_equal(esfm_snprintf(buf, sizeof(buf), &err, "%s-%d", "ab", 12345), -1);
	assert_int_equal(err.errnum, ENAMETOOLONG);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_true(strnlen(buf, sizeof(buf)) < sizeof(buf));
	assert_int_equal(esfm_snprintf(buf, sizeof(buf), NULL, "%s", "123456789"), -1);
}

static void test_snprintf_long_text_in_message(void **state)
{
	struct esfm_err err;
	char *big = tu_repeat('z', 10000);
	char small[PATH_MAX];

	(void)state;
	assert_int_equal(esfm_snprintf(small, sizeof(small), &err, "%s", big), -1);
	assert_true(strlen(err.msg) < sizeof(err.msg));
	free(big);
}

/* ---- cleanup helpers, time ---- */

static void test_cleanup_free_and_steal(void **state)
{
	char *kept;

	(void)state;
	{
		_cleanup_free_ char *p = strdup("freed at scope end"); /* leak checkers verify */

		assert_non_null(p);
	}
	{
		_cleanup_free_ char *q = strdup("stolen");

		kept = esfm_steal_ptr(&q);
		assert_null(q);
	}
	assert_string_equal(kept, "stolen");
	free(kept);
	{
		_cleanup_free_ char *n = NULL; /* NULL is fine */

		(void)n;
	}
}

static void test_cleanup_close(void **state)
{
	int saved;

	(void)state;
	{
		_cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		saved = fd;
	}
	assert_int_equal(fcntl(saved, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	{
		_cleanup_close_ int none = -1;

		(void)none;
	}
}

static void test_array_size(void **state)
{
	int a[7];
	struct esfm_err e[3];

	(void)state;
	(void)a;
	(void)e;
	assert_int_equal(ESFM_ARRAY_SIZE(a), 7);
	assert_int_equal(ESFM_ARRAY_SIZE(e), 3);
}

static void test_now_and_sleep(void **state)
{
	long long t0, t1;

	(void)state;
	t0 = esfm_now_ms();
	esfm_sleep_ms(30);
	t1 = esfm_now_ms();
	assert_true(t1 - t0 >= 30);
	assert_true(t1 - t0 < 5000);
	esfm_sleep_ms(0);
	assert_true(esfm_now_ms() >= t1);
}

#define T(f) cmocka_unit_test(f)
#define F(f) cmocka_unit_test_setup_teardown(f, tu_tmpdir_setup, tu_tmpdir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_parse_uint_decimal),
		T(test_parse_uint_max_bound),
		T(test_parse_uint_overflow),
		T(test_parse_uint_hex),
		T(test_parse_uint_rejects_junk),
		T(test_name_valid_accepts),
		T(test_name_valid_rejects),
		F(test_read_attr_strips_newline),
		F(test_read_attr_small_buffer_stays_in_bounds),
		F(test_read_attr_missing),
		F(test_read_attr_directory),
		F(test_read_attr_uint),
		F(test_write_attr),
		F(test_write_attr_does_not_create),
		F(test_write_attr_error_names_value),
		F(test_read_fd_content),
		F(test_read_fd_empty),
		F(test_read_fd_large),
		F(test_read_fd_over_limit),
		F(test_read_fd_exactly_max),
		F(test_read_fd_size_max_limit),
		T(test_read_fd_pipe),
		T(test_read_fd_bad_fd),
		F(test_read_file),
		F(test_read_file_missing_is_notfound),
		F(test_read_file_over_limit_names_path),
		F(test_read_file_exactly_max),
		F(test_read_file_directory_fails),
		F(test_write_atomic_content_and_mode),
		F(test_write_atomic_mode_despite_permissive_umask),
		F(test_write_atomic_replaces),
		F(test_write_atomic_empty_and_binary),
		F(test_write_atomic_leaves_no_temp),
		F(test_write_atomic_refuses_symlink_at_temp),
		F(test_write_atomic_refuses_symlink_at_temp_existing_target),
		F(test_write_atomic_stale_temp_file),
		F(test_remove_stale_temps),
		F(test_write_atomic_missing_dir),
		F(test_write_atomic_rename_failure_cleans_temp),
		T(test_write_atomic_overlong_path),
		T(test_snprintf),
		T(test_snprintf_long_text_in_message),
		T(test_cleanup_free_and_steal),
		T(test_cleanup_close),
		T(test_array_size),
		T(test_now_and_sleep),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
