// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/conf.h: built-in defaults, every esfm.conf key, comments
 * and whitespace, CONFIG errors with file:line, a missing file, environment
 * overrides and the pools.d path. Every configuration directory is a private
 * temp directory; /etc/esfm is never read.
 */
#include "testutil.h"

#include "conf.h"
#include "log.h"

static const char *const env_vars[] = {
	"ESFM_CONF_DIR",    "ESFM_SYSFS_ROOT",	 "ESFM_STATE_DIR",
	"ESFM_LIBVIRT_URI", "ESFM_TEMPLATE_DIR",
};

struct fx {
	char *dir;
	char conf_path[PATH_MAX];
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	clear_env();
	fx->dir = tu_mkdtemp();
	tu_path(fx->conf_path, "%s/esfm.conf", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	clear_env();
	tu_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* Load @text as esfm.conf; returns what esfm_conf_load_dir returns. */
static int load_text(struct fx *fx, const char *text, struct esfm_conf *conf, struct esfm_err *err)
{
	tu_write(fx->conf_path, text);
	esfm_err_clear(err);
	return esfm_conf_load_dir(conf, fx->dir, err);
}

static void assert_defaults(const struct esfm_conf *conf)
{
	assert_string_equal(conf->sysfs_root, "/sys");
	assert_string_equal(conf->state_dir, "/run/esfm");
	assert_string_equal(conf->libvirt_uri, "qemu:///system");
	assert_string_equal(conf->template_dir, ESFM_DATADIR);
	assert_int_equal(conf->log_level, ESFM_LOG_INFO);
	assert_int_equal(conf->lock_timeout_ms, 10000);
	assert_int_equal(conf->attach_timeout_ms, 60000);
	assert_int_equal(conf->vf_timeout_ms, 5000);
	assert_string_equal(conf->flash_command, "");
	assert_string_equal(conf->log_file, "");
}

/* A CONFIG error whose message starts with "<conf_path>:<line>: " and contains @needle. */
static void assert_config_at(struct fx *fx, const struct esfm_err *err, int line,
			     const char *needle)
{
	char want[PATH_MAX + 32];

	assert_int_equal(err->cls, ESFM_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:%d: ", fx->conf_path, line);
	if (strncmp(err->msg, want, strlen(want)))
		fail_msg("message '%s' does not start with '%s'", err->msg, want);
	if (needle && !strstr(err->msg, needle))
		fail_msg("message '%s' does not mention '%s'", err->msg, needle);
}

static void test_missing_file_gives_defaults(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load_dir(&conf, fx->dir, &err), 0);
	assert_defaults(&conf);
	assert_string_equal(conf.conf_dir, fx->dir);
}

static void test_missing_conf_dir_gives_defaults(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;
	char dir[PATH_MAX];

	tu_path(dir, "%s/does/not/exist", fx->dir);
	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load_dir(&conf, dir, &err), 0);
	assert_defaults(&conf);
	assert_string_equal(conf.conf_dir, dir);
}

static void test_empty_file_gives_defaults(void **state)
{
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(load_text(*state, "", &conf, &err), 0);
	assert_defaults(&conf);
}

static void test_comments_and_blank_lines(void **state)
{
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(load_text(*state,
				   "# esfm configuration\n"
				   "\n"
				   "   \n"
				   "\t# indented comment with = sign = here\n"
				   "#sysfs_root = /nope\n"
				   "\n",
				   &conf, &err),
			 0);
	assert_defaults(&conf);
}

static void test_every_key(void **state)
{
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(load_text(*state,
				   "sysfs_root = /tmp/sim/sys\n"
				   "state_dir = /tmp/sim/run\n"
				   "libvirt_uri = qemu+ssh://host/system\n"
				   "template_dir = /opt/esfm/templates\n"
				   "log_level = debug\n"
				   "lock_timeout_ms = 250\n"
				   "attach_timeout_ms = 3600000\n"
				   "vf_timeout_ms = 0\n"
				   "flash_command = /usr/bin/flash --pf {pf} --file {bitstream}\n"
				   "log_file = /var/log/esfm.log\n",
				   &conf, &err),
			 0);
	assert_string_equal(conf.sysfs_root, "/tmp/sim/sys");
	assert_string_equal(conf.state_dir, "/tmp/sim/run");
	assert_string_equal(conf.libvirt_uri, "qemu+ssh://host/system");
	assert_string_equal(conf.template_dir, "/opt/esfm/templates");
	assert_int_equal(conf.log_level, ESFM_LOG_DEBUG);
	assert_int_equal(conf.lock_timeout_ms, 250);
	assert_int_equal(conf.attach_timeout_ms, 3600000);
	assert_int_equal(conf.vf_timeout_ms, 0);
	assert_string_equal(conf.flash_command, "/usr/bin/flash --pf {pf} --file {bitstream}");
	assert_string_equal(conf.log_file, "/var/log/esfm.log");
}

static void test_log_levels(void **state)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{"err", ESFM_LOG_ERR},	     {"error", ESFM_LOG_ERR}, {"warning", ESFM_LOG_WARNING},
		{"notice", ESFM_LOG_NOTICE}, {"info", ESFM_LOG_INFO}, {"debug", ESFM_LOG_DEBUG},
	};
	struct esfm_conf conf;
	struct esfm_err err;
	char text[128];

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(text, sizeof(text), "log_level = %s\n", levels[i].name);
		assert_int_equal(load_text(*state, text, &conf, &err), 0);
		assert_int_equal(conf.log_level, levels[i].level);
	}
}

static void test_whitespace_is_trimmed(void **state)
{
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(load_text(*state,
				   "   sysfs_root=/a/b   \n"
				   "\tstate_dir\t=\t/c d/e\t\n"
				   "lock_timeout_ms      =     42\r\n"
				   "libvirt_uri =qemu:///session",
				   &conf, &err),
			 0);
	assert_string_equal(conf.sysfs_root, "/a/b");
	/* Inner whitespace of a value is kept. */
	assert_string_equal(conf.state_dir, "/c d/e");
	assert_int_equal(conf.lock_timeout_ms, 42);
	/* The last line needs no newline. */
	assert_string_equal(conf.libvirt_uri, "qemu:///session");
}

static void test_value_may_contain_equals(void **state)
{
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(load_text(*state, "flash_command = flash --mode=jtag --file={bitstream}\n",
				   &conf, &err),
			 0);
	assert_string_equal(conf.flash_command, "flash --mode=jtag --file={bitstream}");
}

/* A key set twice is a mistake (two edits, a bad merge), not "the last one wins". */
static void test_key_set_twice(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(
		load_text(fx, "state_dir = /one\n# other\nstate_dir = /two\n", &conf, &err), -1);
	assert_config_at(fx, &err, 3, "state_dir is set twice");
	assert_int_equal(load_text(fx, "log_level = info\nlog_level=info\n", &conf, &err), -1);
	assert_config_at(fx, &err, 2, "log_level is set twice");
}

/* A NUL byte used to end the text there: the lines after it went unchecked. */
static void test_nul_byte(void **state)
{
	static const char text[] = "state_dir = /run/x\nlog_level = info\0bogus_key = 1\n";
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	tu_write_n(fx->conf_path, text, sizeof(text) - 1);
	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load_dir(&conf, fx->dir, &err), -1);
	assert_config_at(fx, &err, 2, "NUL byte");
}

/* attach_timeout_ms 0 would be alarm(0): an attach worker without any bound. */
static void test_attach_timeout_zero(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(load_text(fx, "# x\nattach_timeout_ms = 0\n", &conf, &err), -1);
	assert_config_at(fx, &err, 2, "invalid value for attach_timeout_ms: '0'");
	assert_int_equal(load_text(fx, "attach_timeout_ms = 1\nlock_timeout_ms = 0\n", &conf, &err),
			 0);
	assert_int_equal(conf.attach_timeout_ms, 1);
	assert_int_equal(conf.lock_timeout_ms, 0);
}

/* A FIFO in place of esfm.conf is refused at once: opening it must not wait for a writer. */
static void test_conf_file_is_a_fifo(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(mkfifo(fx->conf_path, 0600), 0);
	esfm_err_clear(&err);
	alarm(10); /* a blocked open fails the test instead of hanging it */
	assert_int_equal(esfm_conf_load_dir(&conf, fx->dir, &err), -1);
	alarm(0);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_non_null(strstr(err.msg, fx->conf_path));
	assert_non_null(strstr(err.msg, "is a FIFO, not a regular file"));
}

static void test_unknown_key(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(
		load_text(fx, "# comment\n\nsysfs_root = /sys\nsysfs_rot = /sys\n", &conf, &err),
		-1);
	assert_config_at(fx, &err, 4, "sysfs_rot");
	assert_non_null(strstr(err.msg, "unknown"));
}

static void test_line_without_equals(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(load_text(fx, "\n\nstate_dir /run/x\n", &conf, &err), -1);
	assert_config_at(fx, &err, 3, NULL);
}

static void test_line_numbers_count_blank_lines(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(load_text(fx, "\n\n\n\n\n\n# seven\n\nbogus = 1\n", &conf, &err), -1);
	assert_config_at(fx, &err, 9, "bogus");
}

static void test_bad_values(void **state)
{
	static const char *const bad[] = {
		"sysfs_root = relative/sys",
		"sysfs_root =",
		"state_dir = run/esfm",
		"state_dir = ",
		"template_dir = ./templates",
		"log_file = esfm.log",
		"log_level = verbose",
		"log_level = INFO",
		"log_level = 6",
		"log_level =",
		"lock_timeout_ms = -1",
		"lock_timeout_ms = 10s",
		"lock_timeout_ms = 1.5",
		"lock_timeout_ms = ",
		"lock_timeout_ms = 0x10",
		"lock_timeout_ms = 3600001",
		"lock_timeout_ms = 99999999999999999999",
		"attach_timeout_ms = forever",
		"vf_timeout_ms = -5",
	};
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char key[64];

		snprintf(text, sizeof(text), "# line 1\n%s\n", bad[i]);
		if (load_text(fx, text, &conf, &err) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		snprintf(key, sizeof(key), "%.*s", (int)strcspn(bad[i], " ="), bad[i]);
		assert_config_at(fx, &err, 2, key);
	}
}

/* Fill @buf with "<key> = /" followed by 'a' up to @vlen value bytes, and a newline. */
static const char *long_line(char *buf, size_t cap, const char *key, size_t vlen)
{
	size_t n = (size_t)snprintf(buf, cap, "%s = /", key);

	assert_true(n + vlen + 2 < cap);
	memset(buf + n, 'a', vlen - 1);
	buf[n + vlen - 1] = '\n';
	buf[n + vlen] = '\0';
	return buf;
}

static void test_overlong_values(void **state)
{
	static char text[PATH_MAX + ESFM_FLASH_CMD_MAX + 64];
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	/* Values that do not fit their field are refused, never truncated. */
	assert_int_equal(load_text(fx, long_line(text, sizeof(text), "sysfs_root", PATH_MAX + 10),
				   &conf, &err),
			 -1);
	assert_config_at(fx, &err, 1, NULL);
	assert_int_equal(
		load_text(fx, long_line(text, sizeof(text), "log_file", PATH_MAX), &conf, &err),
		-1);
	assert_config_at(fx, &err, 1, NULL);
	assert_int_equal(
		load_text(fx, long_line(text, sizeof(text), "libvirt_uri", 256), &conf, &err), -1);
	assert_config_at(fx, &err, 1, "libvirt_uri");
	assert_int_equal(
		load_text(fx, long_line(text, sizeof(text), "flash_command", ESFM_FLASH_CMD_MAX),
			  &conf, &err),
		-1);
	assert_config_at(fx, &err, 1, NULL);

	/* The longest values that fit are kept whole. */
	assert_int_equal(
		load_text(fx, long_line(text, sizeof(text), "libvirt_uri", 255), &conf, &err), 0);
	assert_int_equal(strlen(conf.libvirt_uri), 255);
	assert_int_equal(load_text(fx, long_line(text, sizeof(text), "state_dir", PATH_MAX - 1),
				   &conf, &err),
			 0);
	assert_int_equal(strlen(conf.state_dir), PATH_MAX - 1);
}

static void test_conf_file_is_a_directory(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	tu_mkdirs(fx->conf_path);
	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load_dir(&conf, fx->dir, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_non_null(strstr(err.msg, fx->conf_path));
}

static void test_env_overrides_file(void **state)
{
	struct esfm_conf conf;
	struct esfm_err err;

	setenv("ESFM_SYSFS_ROOT", "/env/sys", 1);
	setenv("ESFM_STATE_DIR", "/env/run", 1);
	setenv("ESFM_LIBVIRT_URI", "test:///default", 1);
	setenv("ESFM_TEMPLATE_DIR", "/env/templates", 1);
	assert_int_equal(load_text(*state,
				   "sysfs_root = /file/sys\n"
				   "state_dir = /file/run\n"
				   "libvirt_uri = qemu:///session\n"
				   "template_dir = /file/templates\n"
				   "lock_timeout_ms = 7\n",
				   &conf, &err),
			 0);
	assert_string_equal(conf.sysfs_root, "/env/sys");
	assert_string_equal(conf.state_dir, "/env/run");
	assert_string_equal(conf.libvirt_uri, "test:///default");
	assert_string_equal(conf.template_dir, "/env/templates");
	/* Keys without an environment variable keep the file's value. */
	assert_int_equal(conf.lock_timeout_ms, 7);
}

static void test_env_overrides_defaults(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	setenv("ESFM_STATE_DIR", "/env/run", 1);
	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load_dir(&conf, fx->dir, &err), 0);
	assert_string_equal(conf.state_dir, "/env/run");
	assert_string_equal(conf.sysfs_root, "/sys");
}

static void test_empty_env_is_ignored(void **state)
{
	struct esfm_conf conf;
	struct esfm_err err;

	setenv("ESFM_SYSFS_ROOT", "", 1);
	setenv("ESFM_STATE_DIR", "", 1);
	assert_int_equal(load_text(*state, "sysfs_root = /file/sys\n", &conf, &err), 0);
	assert_string_equal(conf.sysfs_root, "/file/sys");
	assert_string_equal(conf.state_dir, "/run/esfm");
}

static void test_bad_env_value(void **state)
{
	static const char *const vars[] = {"ESFM_SYSFS_ROOT", "ESFM_STATE_DIR",
					   "ESFM_TEMPLATE_DIR"};
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		clear_env();
		setenv(vars[i], "relative/dir", 1);
		esfm_err_clear(&err);
		assert_int_equal(esfm_conf_load_dir(&conf, fx->dir, &err), -1);
		assert_int_equal(err.cls, ESFM_ERR_CONFIG);
		assert_non_null(strstr(err.msg, vars[i]));
		assert_non_null(strstr(err.msg, "relative/dir"));
	}
}

static void test_file_error_beats_env(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	/* The environment does not hide a broken file. */
	setenv("ESFM_SYSFS_ROOT", "/env/sys", 1);
	assert_int_equal(load_text(fx, "sysfs_root = nope\n", &conf, &err), -1);
	assert_config_at(fx, &err, 1, "sysfs_root");
}

static void test_conf_dir_from_env(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	tu_write(fx->conf_path, "state_dir = /from/env/dir\n");
	setenv("ESFM_CONF_DIR", fx->dir, 1);
	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load(&conf, &err), 0);
	assert_string_equal(conf.conf_dir, fx->dir);
	assert_string_equal(conf.state_dir, "/from/env/dir");

	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load_dir(&conf, NULL, &err), 0);
	assert_string_equal(conf.state_dir, "/from/env/dir");
}

static void test_explicit_dir_beats_conf_dir_env(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;
	char other[PATH_MAX], other_conf[PATH_MAX];

	tu_path(other, "%s/other", fx->dir);
	tu_path(other_conf, "%s/esfm.conf", other);
	tu_write(fx->conf_path, "state_dir = /env/dir\n");
	tu_write(other_conf, "state_dir = /explicit/dir\n");
	setenv("ESFM_CONF_DIR", fx->dir, 1);
	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load_dir(&conf, other, &err), 0);
	assert_string_equal(conf.conf_dir, other);
	assert_string_equal(conf.state_dir, "/explicit/dir");
}

static void test_reload_resets_to_defaults(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;

	assert_int_equal(load_text(fx, "state_dir = /x\nlog_level = err\n", &conf, &err), 0);
	assert_string_equal(conf.state_dir, "/x");
	/* A second load into the same struct starts from the defaults again. */
	assert_int_equal(load_text(fx, "# nothing\n", &conf, &err), 0);
	assert_defaults(&conf);
}

static void test_pools_dir(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;
	char buf[PATH_MAX], want[PATH_MAX];

	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load_dir(&conf, fx->dir, &err), 0);
	assert_int_equal(esfm_conf_pools_dir(&conf, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, tu_path(want, "%s/pools.d", fx->dir));
}

static void test_pools_dir_too_long(void **state)
{
	struct fx *fx = *state;
	struct esfm_conf conf;
	struct esfm_err err;
	char small[16];

	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load_dir(&conf, fx->dir, &err), 0);
	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_pools_dir(&conf, small, sizeof(small), &err), -1);
	assert_int_equal(err.errnum, ENAMETOOLONG);
}

static void test_conf_dir_too_long(void **state)
{
	static char dir[PATH_MAX + 1];
	struct esfm_conf conf;
	struct esfm_err err;

	(void)state;
	memset(dir, 'd', PATH_MAX);
	dir[0] = '/';
	dir[PATH_MAX] = '\0';
	esfm_err_clear(&err);
	assert_int_equal(esfm_conf_load_dir(&conf, dir, &err), -1);
	assert_int_equal(err.errnum, ENAMETOOLONG);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_missing_file_gives_defaults),
		T(test_missing_conf_dir_gives_defaults),
		T(test_empty_file_gives_defaults),
		T(test_comments_and_blank_lines),
		T(test_every_key),
		T(test_log_levels),
		T(test_whitespace_is_trimmed),
		T(test_value_may_contain_equals),
		T(test_key_set_twice),
		T(test_nul_byte),
		T(test_attach_timeout_zero),
		T(test_conf_file_is_a_fifo),
		T(test_unknown_key),
		T(test_line_without_equals),
		T(test_line_numbers_count_blank_lines),
		T(test_bad_values),
		T(test_overlong_values),
		T(test_conf_file_is_a_directory),
		T(test_env_overrides_file),
		T(test_env_overrides_defaults),
		T(test_empty_env_is_ignored),
		T(test_bad_env_value),
		T(test_file_error_beats_env),
		T(test_conf_dir_from_env),
		T(test_explicit_dir_beats_conf_dir_env),
		T(test_reload_resets_to_defaults),
		T(test_pools_dir),
		T(test_pools_dir_too_long),
		T(test_conf_dir_too_long),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
