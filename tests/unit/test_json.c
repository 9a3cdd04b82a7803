// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/json.h: the exact device_pause command text, QMP error
 * detection (class and desc), replies that are not errors, unparsable
 * replies, and the query-commands name lookup. Replies come from a QEMU the
 * host does not control, so malformed and oddly typed ones are included;
 * those that could crash run in a child process.
 */
#include "testutil.h"

#include <json-c/json.h>
#include <signal.h>
#include <sys/wait.h>

#include "json.h"

struct fx {
	char *cmd; /* freed by teardown */
	struct esfm_err err;
	char desc[256];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	free(fx->cmd);
	free(fx);
	return 0;
}

static int pause_cmd(struct fx *fx, const char *alias, bool pause)
{
	free(fx->cmd);
	fx->cmd = NULL;
	esfm_err_clear(&fx->err);
	return esfm_json_device_pause_cmd(alias, pause, &fx->cmd, &fx->err);
}

/* ---- device_pause ---- */

static void test_device_pause_true(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(pause_cmd(fx, "ua-esfm-fpga0-0", true), 0);
	assert_string_equal(fx->cmd,
			    "{\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
			    "fpga0-0\",\"pause\":true}}");
}

static void test_device_pause_false(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(pause_cmd(fx, "ua-esfm-fpga0-0", false), 0);
	assert_string_equal(fx->cmd,
			    "{\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
			    "fpga0-0\",\"pause\":false}}");
}

static void test_device_pause_other_alias(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(pause_cmd(fx, "ua-esfm-nic_0-12", true), 0);
	assert_string_equal(fx->cmd,
			    "{\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
			    "nic_0-12\",\"pause\":true}}");
}

static void test_device_pause_escapes_alias(void **state)
{
	struct fx *fx = *state;
	static const char alias[] = "we\"ird\\ali\nas";
	json_object *root, *args, *id, *pause;

	/* Whatever the alias holds, the command stays one valid JSON object. */
	assert_int_equal(pause_cmd(fx, alias, true), 0);
	assert_null(strchr(fx->cmd, '\n'));
	root = json_tokener_parse(fx->cmd);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "arguments", &args));
	assert_true(json_object_object_get_ex(args, "id", &id));
	assert_true(json_object_object_get_ex(args, "pause", &pause));
	if (strcmp(json_object_get_string(id), alias) || !json_object_get_boolean(pause)) {
		json_object_put(root);
		fail_msg("round trip of '%s' gave '%s'", alias, fx->cmd);
	}
	json_object_put(root);
}

/* ---- QMP errors ---- */

static void test_qmp_error_class_and_desc(void **state)
{
	struct fx *fx = *state;

	assert_true(esfm_json_qmp_error("{\"error\": {\"class\": \"GenericError\", \"desc\": "
					"\"Device 'ua-esfm-fpga0-0' not found\"}}",
					fx->desc, sizeof(fx->desc)));
	assert_string_equal(fx->desc, "GenericError: Device 'ua-esfm-fpga0-0' not found");

	assert_true(
		esfm_json_qmp_error("{\"error\":{\"class\":\"CommandNotFound\",\"desc\":"
				    "\"The command device_pause has not been found\"},\"id\":7}",
				    fx->desc, sizeof(fx->desc)));
	assert_string_equal(fx->desc,
			    "CommandNotFound: The command device_pause has not been found");
}

static void test_qmp_error_partial(void **state)
{
	struct fx *fx = *state;

	/* Still errors, described as well as the reply allows. */
	assert_true(esfm_json_qmp_error("{\"error\":{\"class\":\"GenericError\"}}", fx->desc,
					sizeof(fx->desc)));
	assert_non_null(strstr(fx->desc, "GenericError"));
	assert_true(esfm_json_qmp_error("{\"error\":{\"desc\":\"it broke\"}}", fx->desc,
					sizeof(fx->desc)));
	assert_non_null(strstr(fx->desc, "it broke"));
	assert_true(esfm_json_qmp_error("{\"error\":{}}", fx->desc, sizeof(fx->desc)));
	assert_string_not_equal(fx->desc, "");
	assert_true(esfm_json_qmp_error("{\"error\":\"flat\"}", fx->desc, sizeof(fx->desc)));
	assert_string_not_equal(fx->desc, "");
	assert_true(esfm_json_qmp_error("{\"error\":null}", fx->desc, sizeof(fx->desc)));
	assert_string_not_equal(fx->desc, "");
	assert_true(esfm_json_qmp_error("{\"error\":{\"class\":null,\"desc\":null}}", fx->desc,
					sizeof(fx->desc)));
	assert_string_not_equal(fx->desc, "");
}

static void test_qmp_error_desc_truncated(void **state)
{
	char small[12];

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_true(esfm_json_qmp_error("{\"error\":{\"class\":\"GenericError\",\"desc\":\"a long "
					"description\"}}",
					small, sizeof(small)));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_string_equal(small, "GenericErro");
}

static void test_qmp_non_errors(void **state)
{
	static const char *const replies[] = {
		"{\"return\": {}}",
		"{\"return\":{},\"id\":\"esfm-1\"}",
		"{\"return\":[{\"name\":\"device_pause\"}]}",
		"{\"QMP\":{\"version\":{\"qemu\":{\"micro\":0,\"minor\":2,\"major\":7}},"
		"\"capabilities\":[]}}",
		"{\"timestamp\":{\"seconds\":1,\"microseconds\":2},\"event\":\"DEVICE_DELETED\","
		"\"data\":{\"device\":\"ua-esfm-fpga0-0\"}}",
		"{\"return\":{\"error\":\"not at top level\"}}",
		"  {\"return\": {}}  \n",
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		memset(fx->desc, 'x', sizeof(fx->desc));
		if (esfm_json_qmp_error(replies[i], fx->desc, sizeof(fx->desc)))
			fail_msg("'%s' taken for an error: %s", replies[i], fx->desc);
		assert_string_equal(fx->desc, "");
	}
}

static void test_qmp_unparsable_is_error(void **state)
{
	static const char *const replies[] = {
		"",  "not json",       "{", "{\"return\":", "{\"error\":{\"class\":\"X\"",
		"}", "\"unterminated",
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		fx->desc[0] = '\0';
		if (!esfm_json_qmp_error(replies[i], fx->desc, sizeof(fx->desc)))
			fail_msg("unparsable reply '%s' not counted as an error", replies[i]);
		assert_string_not_equal(fx->desc, "");
	}
}

/* ---- query-commands ---- */

#define COMMANDS                                                                                   \
	"{\"return\": [{\"name\": \"qmp_capabilities\"}, {\"name\": \"device_del\"}, "             \
	"{\"name\": \"device_pause\"}, {\"name\": \"query-commands\"}]}"

static void test_has_name(void **state)
{
	(void)state;
	assert_true(esfm_json_has_name(COMMANDS, "device_pause"));
	assert_true(esfm_json_has_name(COMMANDS, "qmp_capabilities"));
	assert_true(esfm_json_has_name(COMMANDS, "query-commands"));
	assert_false(esfm_json_has_name(COMMANDS, "device_add"));
	/* Whole names only. */
	assert_false(esfm_json_has_name(COMMANDS, "device"));
	assert_false(esfm_json_has_name(COMMANDS, "device_pause2"));
	assert_false(esfm_json_has_name(COMMANDS, "DEVICE_PAUSE"));
	assert_false(esfm_json_has_name(COMMANDS, ""));
}

static void test_has_name_other_shapes(void **state)
{
	(void)state;
	assert_false(esfm_json_has_name("{\"return\":[]}", "device_pause"));
	assert_false(esfm_json_has_name("{\"return\":{}}", "device_pause"));
	assert_false(
		esfm_json_has_name("{\"return\":{\"name\":\"device_pause\"}}", "device_pause"));
	assert_false(esfm_json_has_name("[{\"name\":\"device_pause\"}]", "device_pause"));
	assert_false(esfm_json_has_name("{\"error\":{\"class\":\"GenericError\",\"desc\":\"x\"}}",
					"device_pause"));
	assert_false(esfm_json_has_name("", "device_pause"));
	assert_false(
		esfm_json_has_name("{\"return\":[{\"name\":\"device_pause\"}", "device_pause"));
	/* Items without a name, or not objects, are skipped. */
	assert_true(esfm_json_has_name("{\"return\":[1,\"device_pause\",{},{\"nom\":\"x\"},"
				       "{\"name\":\"device_pause\"}]}",
				       "device_pause"));
	assert_false(esfm_json_has_name("{\"return\":[\"device_pause\"]}", "device_pause"));
}

/* Run @fn in a child; fail unless it exits 0 (a crash is reported, not fatal here). */
static void run_isolated(const char *what, int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/*
		 * cmocka catches crashes to fail a test and go on with the next;
		 * in the child a crash must end the child instead.
		 */
		static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("%s: killed by signal %d", what, WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: exit status %d", what, WEXITSTATUS(status));
}

static int has_name_null_name(void)
{
	int r = 0;

	/* A QEMU reply with a null or non-string name must not crash the caller. */
	r |= esfm_json_has_name("{\"return\":[{\"name\":null},{\"name\":\"device_pause\"}]}",
				"device_pause")
		     ? 0
		     : 1;
	r |= esfm_json_has_name("{\"return\":[{\"name\":null}]}", "device_pause") ? 2 : 0;
	return r;
}

static void test_has_name_null_name(void **state)
{
	(void)state;
	run_isolated("esfm_json_has_name with {\"name\":null}", has_name_null_name);
}

static int has_name_odd_types(void)
{
	int r = 0;

	r |= esfm_json_has_name("{\"return\":[{\"name\":42},{\"name\":{}},{\"name\":[]}]}",
				"device_pause")
		     ? 1
		     : 0;
	r |= esfm_json_has_name("{\"return\":null}", "device_pause") ? 2 : 0;
	r |= esfm_json_has_name("{\"return\":[null]}", "device_pause") ? 4 : 0;
	r |= esfm_json_has_name("null", "device_pause") ? 8 : 0;
	r |= esfm_json_has_name("42", "device_pause") ? 16 : 0;
	return r;
}

static void test_has_name_odd_types(void **state)
{
	(void)state;
	run_isolated("esfm_json_has_name with odd types", has_name_odd_types);
}

static int qmp_error_odd_types(void)
{
	char desc[128];
	int r = 0;

	/* Valid JSON that is not an object: not a QMP error object, and no crash. */
	r |= esfm_json_qmp_error("42", desc, sizeof(desc)) ? 1 : 0;
	r |= esfm_json_qmp_error("[]", desc, sizeof(desc)) ? 2 : 0;
	r |= esfm_json_qmp_error("{\"error\":{\"class\":5,\"desc\":[1]}}", desc, sizeof(desc)) ? 0
											       : 4;
	return r;
}

static void test_qmp_error_odd_types(void **state)
{
	(void)state;
	run_isolated("esfm_json_qmp_error with odd types", qmp_error_odd_types);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_device_pause_true),	  T(test_device_pause_false),
		T(test_device_pause_other_alias), T(test_device_pause_escapes_alias),
		T(test_qmp_error_class_and_desc), T(test_qmp_error_partial),
		T(test_qmp_error_desc_truncated), T(test_qmp_non_errors),
		T(test_qmp_unparsable_is_error),  T(test_has_name),
		T(test_has_name_other_shapes),	  T(test_has_name_null_name),
		T(test_has_name_odd_types),	  T(test_qmp_error_odd_types),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
