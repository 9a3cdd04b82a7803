// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/cmdtmpl.h (a command line of esfm.conf as an argv) and
 * the argv of vf_setup_command (src/vfsetup.h).
 */
#include "testutil.h"

#include "cmdtmpl.h"
#include "conf.h"
#include "util.h"
#include "vfsetup.h"

static const struct esfm_cmdtmpl_sub subs[] = {{"{pf}", "0000:83:00.0"}, {"{index}", "7"}};

static void test_words_and_placeholders(void **state)
{
	struct esfm_err err = {0};
	char **argv = NULL;

	(void)state;
	assert_int_equal(esfm_cmdtmpl_argv("x_command",
					   "/bin/prog  --pci={pf}\t{index}/{index} {other}", subs,
					   ESFM_ARRAY_SIZE(subs), NULL, &argv, &err),
			 0);
	assert_string_equal(argv[0], "/bin/prog");
	assert_string_equal(argv[1], "--pci=0000:83:00.0");
	assert_string_equal(argv[2], "7/7");
	assert_string_equal(argv[3], "{other}"); /* unknown: as written */
	assert_null(argv[4]);
	esfm_cmdtmpl_free(argv);
}

static void test_relative_program_is_refused_with_the_hint(void **state)
{
	struct esfm_err err = {0};
	char **argv = NULL;

	(void)state;
	assert_int_equal(esfm_cmdtmpl_argv("x_command", "prog {pf}", subs, ESFM_ARRAY_SIZE(subs),
					   "give a full path", &argv, &err),
			 -1);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_string_equal(err.msg, "x_command must start with an absolute program path");
	assert_string_equal(err.hint, "give a full path");
	assert_null(argv);
	err = (struct esfm_err){0};
	assert_int_equal(esfm_cmdtmpl_argv("x_command", " \t", subs, 0, NULL, &argv, &err), -1);
	assert_string_equal(err.msg, "x_command must start with an absolute program path");
}

static void test_too_many_words(void **state)
{
	char tmpl[1024] = "/bin/prog";
	struct esfm_err err = {0};
	char **argv = NULL;

	(void)state;
	for (int i = 1; i < ESFM_CMDTMPL_ARGV_MAX; i++)
		strcat(tmpl, " w");
	assert_int_equal(esfm_cmdtmpl_argv("x_command", tmpl, subs, 0, NULL, &argv, &err), 0);
	esfm_cmdtmpl_free(argv);
	strcat(tmpl, " w");
	assert_int_equal(esfm_cmdtmpl_argv("x_command", tmpl, subs, 0, NULL, &argv, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_string_equal(err.msg, "x_command has more than 64 words");
}

static void test_vf_setup_argv(void **state)
{
	struct esfm_conf conf;
	struct esfm_pci_addr pf, vf;
	struct esfm_err err = {0};
	char **argv = NULL;

	(void)state;
	esfm_conf_defaults(&conf);
	assert_false(esfm_vfsetup_configured(&conf));
	assert_int_equal(esfm_vfsetup_run(&conf, &pf, 0, &vf, &err), 0); /* unset: nothing */
	snprintf(conf.vf_setup_command, sizeof(conf.vf_setup_command),
		 "/usr/local/sbin/vf-online {pf} {vf} {index}");
	assert_true(esfm_vfsetup_configured(&conf));
	assert_int_equal(esfm_pci_addr_parse("0000:83:00.0", &pf, &err), 0);
	assert_int_equal(esfm_pci_addr_parse("0000:83:01.2", &vf, &err), 0);
	assert_int_equal(esfm_vfsetup_argv(&conf, &pf, 10, &vf, &argv, &err), 0);
	assert_string_equal(argv[0], "/usr/local/sbin/vf-online");
	assert_string_equal(argv[1], "0000:83:00.0");
	assert_string_equal(argv[2], "0000:83:01.2");
	assert_string_equal(argv[3], "10");
	assert_null(argv[4]);
	esfm_cmdtmpl_free(argv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_and_placeholders),
		cmocka_unit_test(test_relative_program_is_refused_with_the_hint),
		cmocka_unit_test(test_too_many_words),
		cmocka_unit_test(test_vf_setup_argv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
