// SPDX-License-Identifier: MIT
/* Unit tests for src/err.h: filling, hints, prefix chaining, formatting, exit codes. */
#include "testutil.h"

#include "err.h"
#include "escape.h"
#include "log.h"

static void test_set_fills_and_returns_minus_one(void **state)
{
	struct esfm_err err;

	(void)state;
	esfm_err_clear(&err);
	assert_int_equal(esfm_err_set(&err, ESFM_ERR_CONFIG, EINVAL, "bad %s %d", "value", 42), -1);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_int_equal(err.errnum, EINVAL);
	assert_string_equal(err.msg, "bad value 42");
	assert_string_equal(err.hint, "");
}

static void test_set_errnum_zero(void **state)
{
	struct esfm_err err;

	(void)state;
	esfm_err_clear(&err);
	assert_int_equal(esfm_err_set(&err, ESFM_ERR_NOTFOUND, 0, "no pool %s", "p"), -1);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);
	assert_int_equal(err.errnum, 0);
	assert_string_equal(err.msg, "no pool p");
}

static void test_sys_is_failed(void **state)
{
	struct esfm_err err;

	(void)state;
	esfm_err_clear(&err);
	assert_int_equal(esfm_err_sys(&err, EACCES, "cannot open %s", "/x"), -1);
	assert_int_equal(err.cls, ESFM_ERR_FAILED);
	assert_int_equal(err.errnum, EACCES);
	assert_string_equal(err.msg, "cannot open /x");
}

static void test_null_err_is_accepted(void **state)
{
	(void)state;
	assert_int_equal(esfm_err_set(NULL, ESFM_ERR_FAILED, EIO, "x %d", 1), -1);
	assert_int_equal(esfm_err_sys(NULL, EIO, "x"), -1);
	assert_int_equal(esfm_err_hint(NULL, "h"), -1);
	assert_int_equal(esfm_err_prefix(NULL, "ctx"), -1);
	esfm_err_clear(NULL);
}

static void test_hint_replaces_previous(void **state)
{
	struct esfm_err err;

	(void)state;
	esfm_err_set(&err, ESFM_ERR_BUSY, EBUSY, "device busy");
	assert_int_equal(esfm_err_hint(&err, "first %d", 1), -1);
	assert_string_equal(err.hint, "first 1");
	assert_int_equal(esfm_err_hint(&err, "second"), -1);
	assert_string_equal(err.hint, "second");
	/* The hint does not touch the rest. */
	assert_int_equal(err.cls, ESFM_ERR_BUSY);
	assert_int_equal(err.errnum, EBUSY);
	assert_string_equal(err.msg, "device busy");
}

static void test_prefix_prepends(void **state)
{
	struct esfm_err err;

	(void)state;
	esfm_err_set(&err, ESFM_ERR_CONFIG, ERANGE, "too many VFs");
	esfm_err_hint(&err, "lower the count");
	assert_int_equal(esfm_err_prefix(&err, "PF %s", "0000:83:00.0"), -1);
	assert_string_equal(err.msg, "PF 0000:83:00.0: too many VFs");
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_int_equal(err.errnum, ERANGE);
	assert_string_equal(err.hint, "lower the count");
}

static void test_prefix_chains_outermost_first(void **state)
{
	struct esfm_err err;

	(void)state;
	esfm_err_set(&err, ESFM_ERR_FAILED, 0, "inner");
	esfm_err_prefix(&err, "middle");
	esfm_err_prefix(&err, "outer %d", 3);
	assert_string_equal(err.msg, "outer 3: middle: inner");
}

static void test_clear(void **state)
{
	struct esfm_err err;

	(void)state;
	esfm_err_set(&err, ESFM_ERR_BUSY, EBUSY, "busy");
	esfm_err_hint(&err, "retry");
	esfm_err_clear(&err);
	assert_int_equal(err.cls, ESFM_ERR_NONE);
	assert_int_equal(err.errnum, 0);
	assert_string_equal(err.msg, "");
	assert_string_equal(err.hint, "");
	assert_int_equal(esfm_err_exit_code(&err), 0);
}

static void test_format_msg_only(void **state)
{
	struct esfm_err err;
	char buf[256];

	(void)state;
	esfm_err_set(&err, ESFM_ERR_USAGE, 0, "unknown command 'frob'");
	assert_ptr_equal(esfm_err_format(&err, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "unknown command 'frob'");
}

static void test_format_with_errno(void **state)
{
	struct esfm_err err;
	char buf[256], want[256];

	(void)state;
	esfm_err_sys(&err, ENOENT, "cannot open /sys/x");
	snprintf(want, sizeof(want), "cannot open /sys/x: %s", strerror(ENOENT));
	assert_string_equal(esfm_err_format(&err, buf, sizeof(buf)), want);
}

static void test_format_with_errno_and_hint(void **state)
{
	struct esfm_err err;
	char buf[256], want[256];

	(void)state;
	esfm_err_set(&err, ESFM_ERR_BUSY, EBUSY, "PF 0000:83:00.0: cannot write sriov_numvfs");
	esfm_err_hint(&err, "set 0 VFs first");
	snprintf(want, sizeof(want),
		 "PF 0000:83:00.0: cannot write sriov_numvfs: %s; set 0 VFs first",
		 strerror(EBUSY));
	assert_string_equal(esfm_err_format(&err, buf, sizeof(buf)), want);
}

static void test_format_hint_without_errno(void **state)
{
	struct esfm_err err;
	char buf[256];

	(void)state;
	esfm_err_set(&err, ESFM_ERR_CONFIG, 0, "invalid PCI address 'x'");
	esfm_err_hint(&err, "use DDDD:BB:DD.F");
	assert_string_equal(esfm_err_format(&err, buf, sizeof(buf)),
			    "invalid PCI address 'x'; use DDDD:BB:DD.F");
}

/* Every prefix of the full text must come out NUL-terminated and in bounds (ASan checks the heap). */
static void test_format_truncates_safely(void **state)
{
	struct esfm_err err;
	char full[512];
	size_t fulllen;

	(void)state;
	esfm_err_set(&err, ESFM_ERR_FAILED, EACCES, "cannot write 'vfio-pci' to driver_override");
	esfm_err_hint(&err, "run as root");
	esfm_err_format(&err, full, sizeof(full));
	fulllen = strlen(full);
	for (size_t len = 1; len <= fulllen + 1; len++) {
		char *buf = malloc(len);

		assert_non_null(buf);
		memset(buf, 'X', len);
		assert_ptr_equal(esfm_err_format(&err, buf, len), buf);
		assert_true(strnlen(buf, len) < len);
		/* What fits is the beginning of the full text. */
		assert_memory_equal(buf, full, strlen(buf));
		free(buf);
	}
}

static void test_format_zero_length_buffer_untouched(void **state)
{
	struct esfm_err err;
	char buf[4] = {'a', 'b', 'c', 'd'};

	(void)state;
	esfm_err_sys(&err, EIO, "x");
	assert_ptr_equal(esfm_err_format(&err, buf, 0), buf);
	assert_memory_equal(buf, "abcd", 4);
}

static void test_long_message_truncated(void **state)
{
	struct esfm_err err;
	char *big = tu_repeat('m', 5000);

	(void)state;
	assert_int_equal(esfm_err_set(&err, ESFM_ERR_FAILED, EIO, "%s", big), -1);
	assert_int_equal(strnlen(err.msg, sizeof(err.msg)), ESFM_ERR_MSG_MAX - 1);
	assert_memory_equal(err.msg, big, ESFM_ERR_MSG_MAX - 1);
	assert_int_equal(esfm_err_sys(&err, EIO, "%s", big), -1);
	assert_int_equal(strnlen(err.msg, sizeof(err.msg)), ESFM_ERR_MSG_MAX - 1);
	free(big);
}

static void test_long_hint_truncated(void **state)
{
	struct esfm_err err;
	char *big = tu_repeat('h', 3000);

	(void)state;
	esfm_err_set(&err, ESFM_ERR_FAILED, 0, "m");
	assert_int_equal(esfm_err_hint(&err, "%s", big), -1);
	assert_int_equal(strnlen(err.hint, sizeof(err.hint)), ESFM_ERR_HINT_MAX - 1);
	assert_memory_equal(err.hint, big, ESFM_ERR_HINT_MAX - 1);
	assert_string_equal(err.msg, "m");
	free(big);
}

static void test_long_prefix_truncated(void **state)
{
	struct esfm_err err;
	char *big = tu_repeat('p', 5000);

	(void)state;
	esfm_err_set(&err, ESFM_ERR_FAILED, 0, "inner");
	assert_int_equal(esfm_err_prefix(&err, "%s", big), -1);
	assert_int_equal(strnlen(err.msg, sizeof(err.msg)), ESFM_ERR_MSG_MAX - 1);
	/* The outer context comes first. */
	assert_memory_equal(err.msg, big, ESFM_ERR_MSG_MAX - 1);
	free(big);
}

static void test_prefix_onto_full_message(void **state)
{
	struct esfm_err err;
	char *big = tu_repeat('i', ESFM_ERR_MSG_MAX - 1);

	(void)state;
	esfm_err_set(&err, ESFM_ERR_FAILED, 0, "%s", big);
	for (int i = 0; i < 5; i++)
		assert_int_equal(esfm_err_prefix(&err, "ctx%d", i), -1);
	assert_int_equal(strnlen(err.msg, sizeof(err.msg)), ESFM_ERR_MSG_MAX - 1);
	assert_memory_equal(err.msg, "ctx4: ctx3: ctx2: ctx1: ctx0: iii", 33);
	free(big);
}

static void test_prefix_near_limit(void **state)
{
	struct esfm_err err;
	char *inner = tu_repeat('i', 1000);
	char *ctx = tu_repeat('c', 20);

	(void)state;
	esfm_err_set(&err, ESFM_ERR_FAILED, 0, "%s", inner);
	esfm_err_prefix(&err, "%s", ctx);
	/* 20 + 2 + 1000 = 1022 characters: fits exactly. */
	assert_int_equal(strlen(err.msg), 1022);
	assert_memory_equal(err.msg, ctx, 20);
	assert_memory_equal(err.msg + 20, ": ", 2);
	assert_memory_equal(err.msg + 22, inner, 1000);
	esfm_err_prefix(&err, "x");
	assert_int_equal(strlen(err.msg), ESFM_ERR_MSG_MAX - 1);
	assert_memory_equal(err.msg, "x: ccc", 6);
	free(inner);
	free(ctx);
}

static void test_format_of_maximal_error(void **state)
{
	struct esfm_err err;
	char *m = tu_repeat('m', 4000), *h = tu_repeat('h', 4000);
	char *big, *want;
	size_t wantlen;

	(void)state;
	esfm_err_set(&err, ESFM_ERR_FAILED, ENAMETOOLONG, "%s", m);
	esfm_err_hint(&err, "%s", h);
	wantlen = (size_t)asprintf(&want, "%.*s: %s; %.*s", ESFM_ERR_MSG_MAX - 1, m,
				   strerror(ENAMETOOLONG), ESFM_ERR_HINT_MAX - 1, h);
	big = malloc(wantlen + 1);
	assert_non_null(big);
	assert_string_equal(esfm_err_format(&err, big, wantlen + 1), want);
	/* One byte short: still terminated, still in bounds. */
	esfm_err_format(&err, big, wantlen);
	assert_int_equal(strlen(big), wantlen - 1);
	free(big);
	free(want);
	free(m);
	free(h);
}

static void test_exit_codes(void **state)
{
	static const struct {
		enum esfm_err_class cls;
		int code;
	} cases[] = {
		{ESFM_ERR_NONE, 0},  {ESFM_ERR_FAILED, 1}, {ESFM_ERR_NOTFOUND, 1},
		{ESFM_ERR_USAGE, 2}, {ESFM_ERR_CONFIG, 2}, {ESFM_ERR_BUSY, 3},
	};
	struct esfm_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		esfm_err_clear(&err);
		if (cases[i].cls != ESFM_ERR_NONE)
			esfm_err_set(&err, cases[i].cls, 0, "x");
		assert_int_equal(esfm_err_exit_code(&err), cases[i].code);
	}
	/* esfm_err_sys is class FAILED. */
	esfm_err_sys(&err, EIO, "x");
	assert_int_equal(esfm_err_exit_code(&err), 1);
}

static void test_prefix_keeps_exit_code(void **state)
{
	struct esfm_err err;

	(void)state;
	esfm_err_set(&err, ESFM_ERR_BUSY, EBUSY, "locked");
	esfm_err_prefix(&err, "pool a");
	assert_int_equal(esfm_err_exit_code(&err), 3);
}

/* A domain name with a newline must not make an error message two lines (or a log line). */
static void test_format_escapes_control_characters(void **state)
{
	struct esfm_err err;
	char buf[256];

	(void)state;
	esfm_err_clear(&err);
	esfm_err_set(&err, ESFM_ERR_CONFIG, 0, "domain 'a\nesfm: forged\x1b[31m'");
	esfm_err_hint(&err, "tab\there, cr\r, del\x7f");
	assert_string_equal(esfm_err_format(&err, buf, sizeof(buf)),
			    "domain 'a\\nesfm: forged\\x1b[31m'; tab\\there, cr\\r, del\\x7f");
	assert_null(strchr(buf, '\n'));
}

static void test_escape_truncates_on_whole_escapes(void **state)
{
	char out[6];

	(void)state;
	assert_string_equal(esfm_escape_ctl("ab\x01"
					    "cd",
					    out, sizeof(out)),
			    "ab");
	assert_string_equal(esfm_escape_ctl("abc\nd", out, sizeof(out)), "abc\\n");
	assert_string_equal(esfm_escape_ctl("caf\xc3\xa9", out, sizeof(out)), "caf\xc3\xa9");
}

static char logged[512];

static void capture(void *data, int level, const char *msg)
{
	(void)data;
	(void)level;
	snprintf(logged, sizeof(logged), "%s", msg);
}

static void test_log_escapes_control_characters(void **state)
{
	(void)state;
	esfm_log_set_sink(capture, NULL, ESFM_LOG_DEBUG);
	esfm_info("VF 0 reserved for domain '%s'", "vm\n2026-01-01T00:00:00 esfm-hook[1]: forged");
	esfm_log_set_sink(NULL, NULL, ESFM_LOG_NOTICE);
	assert_string_equal(
		logged, "VF 0 reserved for domain 'vm\\n2026-01-01T00:00:00 esfm-hook[1]: forged'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_fills_and_returns_minus_one),
		cmocka_unit_test(test_set_errnum_zero),
		cmocka_unit_test(test_sys_is_failed),
		cmocka_unit_test(test_null_err_is_accepted),
		cmocka_unit_test(test_hint_replaces_previous),
		cmocka_unit_test(test_prefix_prepends),
		cmocka_unit_test(test_prefix_chains_outermost_first),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_format_msg_only),
		cmocka_unit_test(test_format_with_errno),
		cmocka_unit_test(test_format_with_errno_and_hint),
		cmocka_unit_test(test_format_hint_without_errno),
		cmocka_unit_test(test_format_truncates_safely),
		cmocka_unit_test(test_format_zero_length_buffer_untouched),
		cmocka_unit_test(test_long_message_truncated),
		cmocka_unit_test(test_long_hint_truncated),
		cmocka_unit_test(test_long_prefix_truncated),
		cmocka_unit_test(test_prefix_onto_full_message),
		cmocka_unit_test(test_prefix_near_limit),
		cmocka_unit_test(test_format_of_maximal_error),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_prefix_keeps_exit_code),
		cmocka_unit_test(test_format_escapes_control_characters),
		cmocka_unit_test(test_escape_truncates_on_whole_escapes),
		cmocka_unit_test(test_log_escapes_control_characters),
	};

	return cmocka_run_group_tests_name("err", tests, NULL, NULL);
}
