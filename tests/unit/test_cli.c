// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/cli.h: esfm_cli_parse for every command and option,
 * options anywhere on the line, "-b <file> [kind]" against "-b <file>"
 * followed by the command's count, every kind of bad input (each a USAGE
 * error whose message names the offending word), and esfm_cli_usage.
 *
 * Every parse runs in a forked child that sends the result back through a
 * pipe: a parser that crashes on some input fails that one test (with the
 * sanitizer report on stderr) instead of taking the whole suite down.
 */
#include "testutil.h"

#include <signal.h>
#include <sys/wait.h>

#include "cli.h"
#include "util.h"

#define PF "0000:83:00.0"

struct result {
	int rc;
	struct esfm_cli cli;
	struct esfm_err err;
};

static void describe(char *buf, size_t len, const char *const *words)
{
	size_t n = 0;

	buf[0] = '\0';
	n += (size_t)snprintf(buf, len, "esfm");
	for (size_t i = 0; words[i] && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " '%s'", words[i]);
}

/* Parse "esfm <words...>" in a child process; fails the test if the child dies. */
static void parse_words(const char *const *words, struct result *res)
{
	char line[2048];
	char *argv[64];
	int argc = 0, fds[2], status;
	ssize_t got = 0;
	pid_t pid;

	argv[argc++] = "esfm";
	for (size_t i = 0; words[i]; i++) {
		assert_true(argc < 63);
		argv[argc++] = (char *)words[i];
	}
	argv[argc] = NULL;
	describe(line, sizeof(line), words);
	memset(res, 0, sizeof(*res));
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct result r;
		const char *p = (const char *)&r;
		size_t left = sizeof(r);

		close(fds[0]);
		/* die of a crash here, not in cmocka's handler (which would go on with the next tests) */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		memset(&r, 0, sizeof(r));
		r.rc = esfm_cli_parse(argc, argv, &r.cli, &r.err);
		while (left > 0) {
			ssize_t w = write(fds[1], p, left);

			if (w <= 0)
				_exit(3);
			p += w;
			left -= (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], (char *)res + got, sizeof(*res) - (size_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != (ssize_t)sizeof(*res))
		fail_msg("esfm_cli_parse crashed on: %s (%s %d)", line,
			 WIFSIGNALED(status) ? "signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

#define W(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Parse and require success. */
static void ok(const char *const *words, struct result *res)
{
	char line[2048];

	parse_words(words, res);
	if (res->rc != 0) {
		describe(line, sizeof(line), words);
		fail_msg("%s: expected success, got error class %d: %s", line, res->err.cls,
			 res->err.msg);
	}
}

/*
 * Parse and require a USAGE error whose message contains @needle (and, if
 * given, @needle2), e.g. the offending word.
 */
static void bad2(const char *const *words, const char *needle, const char *needle2)
{
	char line[2048];
	struct result res;

	parse_words(words, &res);
	describe(line, sizeof(line), words);
	if (res.rc != -1)
		fail_msg("%s: expected a usage error, parse succeeded (cmd %d)", line, res.cli.cmd);
	if (res.err.cls != ESFM_ERR_USAGE)
		fail_msg("%s: error class %d, expected USAGE (%d): %s", line, res.err.cls,
			 ESFM_ERR_USAGE, res.err.msg);
	if (esfm_err_exit_code(&res.err) != 2)
		fail_msg("%s: exit code %d, expected 2", line, esfm_err_exit_code(&res.err));
	if (needle && !strstr(res.err.msg, needle))
		fail_msg("%s: message '%s' does not name '%s'", line, res.err.msg, needle);
	if (needle2 && !strstr(res.err.msg, needle2))
		fail_msg("%s: message '%s' does not mention '%s'", line, res.err.msg, needle2);
}

static void bad(const char *const *words, const char *needle)
{
	bad2(words, needle, NULL);
}

static void assert_defaults(const struct esfm_cli *c)
{
	assert_string_equal(c->opts.vm_base, "everestg");
	assert_false(c->opts.qmax_set);
	assert_false(c->opts.pause);
	assert_false(c->opts.yes);
	assert_string_equal(c->opts.bitstream, "");
	assert_string_equal(c->opts.bitstream_kind, "");
	assert_false(c->json);
	assert_false(c->quiet);
	assert_false(c->verbose);
	assert_false(c->driver_log);
	assert_true(c->opts.detach_timeout_ms > 0);
}

/* ---- commands ---- */

static void test_init(void **state)
{
	struct result r;

	(void)state;
	ok(W(PF, "init", "4"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_INIT);
	assert_true(r.cli.has_pf);
	assert_int_equal(r.cli.pf.domain, 0);
	assert_int_equal(r.cli.pf.bus, 0x83);
	assert_int_equal(r.cli.pf.dev, 0);
	assert_int_equal(r.cli.pf.fn, 0);
	assert_int_equal(r.cli.count, 4);
	assert_defaults(&r.cli);

	ok(W("abcd:ff:1f.7", "init", "0"), &r);
	assert_int_equal(r.cli.pf.domain, 0xabcd);
	assert_int_equal(r.cli.pf.bus, 0xff);
	assert_int_equal(r.cli.pf.dev, 0x1f);
	assert_int_equal(r.cli.pf.fn, 7);
	assert_int_equal(r.cli.count, 0);

	ok(W("ABCD:FF:1F.7", "init", "2048"), &r);
	assert_int_equal(r.cli.pf.domain, 0xabcd);
	assert_int_equal(r.cli.count, 2048);
}

static void test_reconf(void **state)
{
	struct result r;

	(void)state;
	ok(W(PF, "reconf", "0"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_RECONF);
	assert_int_equal(r.cli.count, 0);
	assert_defaults(&r.cli);
	ok(W(PF, "reconf", "16"), &r);
	assert_int_equal(r.cli.count, 16);
	ok(W(PF, "reconf", "007"), &r);
	assert_int_equal(r.cli.count, 7);
}

static void test_attach_detach(void **state)
{
	struct result r;

	(void)state;
	ok(W(PF, "attach", "3", "everestg3"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_ATTACH);
	assert_int_equal(r.cli.index, 3);
	assert_string_equal(r.cli.vm, "everestg3");
	assert_defaults(&r.cli);

	/* libvirt allows almost any name: dots, spaces, long names */
	ok(W(PF, "attach", "0", "my vm.test-1"), &r);
	assert_string_equal(r.cli.vm, "my vm.test-1");

	ok(W(PF, "detach", "11"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_DETACH);
	assert_int_equal(r.cli.index, 11);
	ok(W(PF, "detach", "0"), &r);
	assert_int_equal(r.cli.index, 0);
}

static void test_long_vm_name(void **state)
{
	char *name = tu_repeat('v', ESFM_DOM_NAME_MAX - 1);
	char *toolong = tu_repeat('v', ESFM_DOM_NAME_MAX);
	struct result r;

	(void)state;
	ok(W(PF, "attach", "1", name), &r);
	assert_string_equal(r.cli.vm, name);
	bad(W(PF, "attach", "1", toolong), "invalid VM name");
	free(name);
	free(toolong);
}

static void test_listings(void **state)
{
	struct result r;

	(void)state;
	ok(W(PF, "list_vfs"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_LIST_VFS);
	assert_true(r.cli.has_pf);
	ok(W(PF, "list_vf_vm"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_LIST_VF_VM);
	ok(W(PF, "print_kernel"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_PRINT_KERNEL);
	assert_defaults(&r.cli);
}

static void test_pool_commands(void **state)
{
	struct result r;

	(void)state;
	ok(W("status"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_STATUS);
	assert_false(r.cli.has_pf);
	assert_false(r.cli.json);
	ok(W("status", "--json"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_STATUS);
	assert_true(r.cli.json);
	ok(W("--json", "status"), &r);
	assert_true(r.cli.json);
	ok(W("pool-list"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_POOL_LIST);
	ok(W("pool-show", "fpga0"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_POOL_SHOW);
	assert_string_equal(r.cli.pool, "fpga0");
	ok(W("pool-show", "pci_0000_83_00_0"), &r);
	assert_string_equal(r.cli.pool, "pci_0000_83_00_0");
	ok(W("pool-check"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_POOL_CHECK);
	assert_false(r.cli.has_pf);
	ok(W("reconcile", "fpga0"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_RECONCILE);
	assert_string_equal(r.cli.pool, "fpga0");
	ok(W("recover"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_RECOVER);
}

static void test_help_and_version(void **state)
{
	struct result r;

	(void)state;
	ok(W("-h"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_HELP);
	ok(W("--help"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_HELP);
	ok(W(PF, "init", "4", "-h"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_HELP);
	/* --help stops parsing: what follows is not looked at */
	ok(W(PF, "--help", "bogus", "words"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_HELP);
	ok(W("--version"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_VERSION);
	ok(W("pool-list", "--version", "-x"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_VERSION);
}

/* ---- options ---- */

static void test_short_and_long_options(void **state)
{
	static const char *const forms[][10] = {
		{"-b", "/fw/a.bit", "-qn", "64", "-vm", "fpgavm", "-p", "-y", "-q", "-d"},
		{"--bitstream", "/fw/a.bit", "--queues_num", "64", "--vm_names", "fpgavm",
		 "--pause", "--yes", "--quiet", "--driver_log"},
	};
	struct result r;

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		const char *const *o = forms[f];

		ok(W(PF, "reconf", "3", o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], o[9]),
		   &r);
		assert_int_equal(r.cli.cmd, ESFM_CMD_RECONF);
		assert_int_equal(r.cli.count, 3);
		assert_string_equal(r.cli.opts.bitstream, "/fw/a.bit");
		assert_string_equal(r.cli.opts.bitstream_kind, "");
		assert_true(r.cli.opts.qmax_set);
		assert_int_equal(r.cli.opts.qmax, 64);
		assert_string_equal(r.cli.opts.vm_base, "fpgavm");
		assert_true(r.cli.opts.pause);
		assert_true(r.cli.opts.yes);
		assert_true(r.cli.quiet);
		assert_true(r.cli.driver_log);
		assert_false(r.cli.verbose);
	}
	ok(W(PF, "init", "1", "-v"), &r);
	assert_true(r.cli.verbose);
	assert_false(r.cli.quiet);
	ok(W(PF, "init", "1", "--verbose"), &r);
	assert_true(r.cli.verbose);
}

static void test_queues_num_bounds(void **state)
{
	struct result r;

	(void)state;
	ok(W(PF, "init", "4", "-qn", "0"), &r);
	assert_true(r.cli.opts.qmax_set);
	assert_int_equal(r.cli.opts.qmax, 0);
	ok(W(PF, "init", "4", "-qn", "2048"), &r);
	assert_int_equal(r.cli.opts.qmax, 2048);
	ok(W(PF, "init", "4", "--queues_num", "32"), &r);
	assert_int_equal(r.cli.opts.qmax, 32);
}

static void expect_same(const struct esfm_cli *a, const struct esfm_cli *b)
{
	assert_int_equal(a->cmd, b->cmd);
	assert_int_equal(a->has_pf, b->has_pf);
	assert_memory_equal(&a->pf, &b->pf, sizeof(a->pf));
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->index, b->index);
	assert_string_equal(a->vm, b->vm);
	assert_string_equal(a->opts.bitstream, b->opts.bitstream);
	assert_string_equal(a->opts.bitstream_kind, b->opts.bitstream_kind);
	assert_string_equal(a->opts.vm_base, b->opts.vm_base);
	assert_int_equal(a->opts.qmax_set, b->opts.qmax_set);
	assert_int_equal(a->opts.qmax, b->opts.qmax);
	assert_int_equal(a->opts.pause, b->opts.pause);
	assert_int_equal(a->opts.yes, b->opts.yes);
	assert_int_equal(a->quiet, b->quiet);
	assert_int_equal(a->verbose, b->verbose);
	assert_int_equal(a->driver_log, b->driver_log);
	assert_int_equal(a->json, b->json);
}

static void test_option_placement(void **state)
{
	struct result ref, r;

	(void)state;
	ok(W(PF, "init", "4", "-qn", "16", "-vm", "vmx", "-y", "-p"), &ref);
	assert_int_equal(ref.cli.count, 4);
	assert_int_equal(ref.cli.opts.qmax, 16);
	assert_string_equal(ref.cli.opts.vm_base, "vmx");
	assert_true(ref.cli.opts.yes);
	assert_true(ref.cli.opts.pause);

	ok(W("-qn", "16", "-vm", "vmx", "-y", "-p", PF, "init", "4"), &r);
	expect_same(&ref.cli, &r.cli);
	ok(W(PF, "-qn", "16", "-vm", "vmx", "init", "-y", "4", "-p"), &r);
	expect_same(&ref.cli, &r.cli);
	ok(W("-y", PF, "-p", "init", "-qn", "16", "4", "-vm", "vmx"), &r);
	expect_same(&ref.cli, &r.cli);

	ok(W(PF, "attach", "2", "vm2", "-y"), &ref);
	ok(W(PF, "attach", "-y", "2", "vm2"), &r);
	expect_same(&ref.cli, &r.cli);
	ok(W("-y", PF, "attach", "2", "-q", "vm2"), &r);
	assert_true(r.cli.quiet);
	assert_int_equal(r.cli.index, 2);
	assert_string_equal(r.cli.vm, "vm2");

	ok(W("-q", "status", "-v", "--json"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_STATUS);
	assert_true(r.cli.json && r.cli.quiet && r.cli.verbose);
	ok(W("-d", "pool-show", "-q", "fpga0"), &r);
	assert_string_equal(r.cli.pool, "fpga0");
	assert_true(r.cli.driver_log && r.cli.quiet);
}

/* "-b <file> [kind]": once the command has its arguments, the next word is the kind. */
static void test_bitstream_kind_after_arguments(void **state)
{
	struct result r;

	(void)state;
	ok(W(PF, "init", "4", "-b", "/fw/a.bit", "partial"), &r);
	assert_int_equal(r.cli.count, 4);
	assert_string_equal(r.cli.opts.bitstream, "/fw/a.bit");
	assert_string_equal(r.cli.opts.bitstream_kind, "partial");

	ok(W(PF, "init", "4", "--bitstream", "a.bit", "bit", "-y"), &r);
	assert_string_equal(r.cli.opts.bitstream, "a.bit");
	assert_string_equal(r.cli.opts.bitstream_kind, "bit");
	assert_true(r.cli.opts.yes);

	ok(W(PF, "reconf", "2", "-b", "a.bit"), &r);
	assert_int_equal(r.cli.count, 2);
	assert_string_equal(r.cli.opts.bitstream, "a.bit");
	assert_string_equal(r.cli.opts.bitstream_kind, "");

	ok(W(PF, "init", "4", "-b", "a.bit", "-y"), &r);
	assert_string_equal(r.cli.opts.bitstream_kind, "");
	assert_true(r.cli.opts.yes);
}

/* "-b <file>" before the count: the word after the file is the count, not a kind. */
static void test_bitstream_then_count(void **state)
{
	struct result r;

	(void)state;
	ok(W(PF, "init", "-b", "/fw/a.bit", "4"), &r);
	assert_int_equal(r.cli.count, 4);
	assert_string_equal(r.cli.opts.bitstream, "/fw/a.bit");
	assert_string_equal(r.cli.opts.bitstream_kind, "");

	/* the kind goes right after the file: after the count it is one word too many */
	bad2(W(PF, "init", "-b", "/fw/a.bit", "4", "bit"), "'bit'", "unexpected argument");

	ok(W(PF, "-b", "/fw/a.bit", "init", "4"), &r);
	assert_int_equal(r.cli.count, 4);
	assert_string_equal(r.cli.opts.bitstream, "/fw/a.bit");
	assert_string_equal(r.cli.opts.bitstream_kind, "");

	ok(W("-b", "/fw/a.bit", PF, "reconf", "1"), &r);
	assert_true(r.cli.has_pf);
	assert_int_equal(r.cli.count, 1);
	assert_string_equal(r.cli.opts.bitstream_kind, "");
}

/*
 * Options go anywhere, "-b <file> [kind]" too: before the PF or the command
 * the word after the file can only be the kind (it is neither a PCI address
 * nor a command).
 */
static void test_bitstream_kind_before_command(void **state)
{
	struct result r;

	(void)state;
	ok(W(PF, "-b", "/fw/a.bit", "partial", "init", "4"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_INIT);
	assert_int_equal(r.cli.count, 4);
	assert_string_equal(r.cli.opts.bitstream_kind, "partial");

	ok(W("-b", "/fw/a.bit", "bit", PF, "init", "4"), &r);
	assert_int_equal(r.cli.cmd, ESFM_CMD_INIT);
	assert_string_equal(r.cli.opts.bitstream_kind, "bit");
}

static void test_bad_bitstream(void **state)
{
	char *longkind = tu_repeat('k', 33);
	char *longpath = tu_repeat('p', 4096);

	(void)state;
	bad(W(PF, "init", "4", "-b", "a.bit", "../x"), "'../x'");
	bad(W(PF, "init", "4", "-b", "a.bit", "a/b"), "'a/b'");
	bad(W(PF, "init", "4", "-b", "a.bit", longkind), "invalid bitstream kind");
	bad(W(PF, "init", "4", "-b", ""), "invalid bitstream path");
	bad(W(PF, "init", "4", "-b", longpath), "invalid bitstream path");
	bad(W(PF, "init", "4", "-b"), "'-b'");
	bad(W(PF, "init", "4", "--bitstream"), "'--bitstream'");
	free(longkind);
	free(longpath);
}

/* ---- bad input ---- */

static void test_bad_pci_address(void **state)
{
	static const char *const addrs[] = {
		"83:00.0",	 "0000:83:00",	   "0000:83:00.8",  "0000:83:20.0",
		"0000:8g:00.0",	 "00000:83:00.0",  "0000:083:00.0", "0000:83:00.0x",
		"0000:83:00.00", "0000:83:00.0:1", "000g:83:00.0",  "0000:83.00.0",
		" 0000:83:00.0", "0000:83:00.-1",  ":83:00.0",	    "0000::00.0",
	};

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(addrs); i++)
		bad2(W(addrs[i], "init", "4"), addrs[i], "invalid PCI address");
	bad(W("0000-83-00.0", "init", "4"), "'0000-83-00.0'");
	bad(W("pf0", "list_vfs"), "'pf0'");
}

static void test_unknown_command(void **state)
{
	(void)state;
	bad2(W(PF, "frobnicate"), "'frobnicate'", "unknown command");
	bad2(W("frobnicate"), "'frobnicate'", "unknown command");
	bad(W(PF, "INIT", "4"), "'INIT'");
	bad(W(PF, "list-vfs"), "'list-vfs'");
	bad(W("pool_list"), "'pool_list'");
	/* a second PF is not a command */
	bad(W(PF, "0000:84:00.0", "init", "4"), "'0000:84:00.0'");
}

static void test_unknown_option(void **state)
{
	(void)state;
	bad2(W(PF, "init", "4", "-x"), "'-x'", "unknown option");
	bad(W(PF, "init", "4", "--paws"), "'--paws'");
	bad(W(PF, "init", "4", "--pause=1"), "'--pause=1'");
	bad(W(PF, "init", "4", "-py"), "'-py'");
	bad(W(PF, "init", "4", "-Y"), "'-Y'");
	bad(W(PF, "init", "4", "--"), "'--'");
	bad(W("-z", PF, "init", "4"), "'-z'");
	bad(W("status", "--jason"), "'--jason'");
	bad(W(PF, "init", "-1"), "'-1'");
}

static void test_missing_arguments(void **state)
{
	const char *const nothing[] = {NULL};

	(void)state;
	bad2(W(PF, "init"), "init <VF_NUM>", "missing");
	bad2(W(PF, "reconf"), "reconf <VF_NUM>", "missing");
	bad2(W(PF, "attach"), "attach <VF_IDX> <VM_NAME>", "missing");
	bad2(W(PF, "attach", "1"), "attach <VF_IDX> <VM_NAME>", "missing");
	bad2(W(PF, "detach"), "detach <VF_IDX>", "missing");
	bad2(W("pool-show"), "pool-show <POOL>", "missing");
	bad2(W(PF), "missing command", NULL);
	bad2(W(PF, "-y"), "missing command", NULL);
	bad(nothing, "missing command"); /* no words at all */
	bad(W(PF, "init", "-qn"), "'-qn'");
	bad(W(PF, "init", "4", "--queues_num"), "'--queues_num'");
	bad(W(PF, "init", "4", "-vm"), "'-vm'");
	bad(W(PF, "init", "4", "--vm_names"), "'--vm_names'");
}

static void test_extra_arguments(void **state)
{
	(void)state;
	bad2(W(PF, "init", "4", "5"), "'5'", "unexpected argument");
	bad(W(PF, "reconf", "1", "x"), "'x'");
	bad(W(PF, "attach", "1", "vm", "extra"), "'extra'");
	bad(W(PF, "detach", "1", "2"), "'2'");
	bad(W(PF, "list_vfs", "all"), "'all'");
	bad(W(PF, "list_vf_vm", "0"), "'0'");
	bad(W(PF, "print_kernel", "now"), "'now'");
	bad(W("status", "fpga0"), "'fpga0'");
	bad(W("pool-list", "x"), "'x'");
	bad(W("pool-show", "a", "b"), "'b'");
	bad(W("pool-check", "fpga0"), "'fpga0'");
	bad(W(PF, "init", "4", "-"), "'-'");
}

static void test_bad_counts(void **state)
{
	static const char *const counts[] = {
		"abc", "4.5", "0x4", "",    "2049", "99999999999999999999",
		"+4",  " 4",  "4 ",  "1e3", "４",
	};

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(counts); i++) {
		char quoted[64];

		snprintf(quoted, sizeof(quoted), "'%s'", counts[i]);
		bad2(W(PF, "init", counts[i]), quoted, "VF count");
		bad2(W(PF, "reconf", counts[i]), quoted, "VF count");
	}
}

static void test_bad_indexes(void **state)
{
	static const char *const idx[] = {"x", "2049", "", "1.0", "0x1", "-0"};

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(idx); i++) {
		char quoted[64];

		snprintf(quoted, sizeof(quoted), "'%s'", idx[i]);
		bad(W(PF, "attach", idx[i], "vm0"), quoted);
		bad(W(PF, "detach", idx[i]), quoted);
	}
}

static void test_bad_queues_num(void **state)
{
	static const char *const v[] = {"abc", "2049", "-1",  "",   "0x20",
					"32k", "+32",  " 32", "1e2"};

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(v); i++) {
		char quoted[64];

		snprintf(quoted, sizeof(quoted), "'%s'", v[i]);
		bad2(W(PF, "init", "4", "-qn", v[i]), quoted, "queue");
		bad2(W(PF, "init", "4", "--queues_num", v[i]), quoted, "queue");
	}
}

static void test_bad_vm_base_names(void **state)
{
	char *toolong = tu_repeat('a', 65);
	char *longest = tu_repeat('a', 64);
	const char *const names[] = {"../x", "a/b",   ".",    "..",    "",    "/etc/passwd", "a b",
				     "x;y",  "~root", "vm\n", "$(id)", "vm*", toolong};
	struct result r;

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(names); i++) {
		char quoted[128];

		snprintf(quoted, sizeof(quoted), "'%s'", names[i]);
		bad2(W(PF, "init", "4", "-vm", names[i]), quoted, "VM base name");
		bad2(W(PF, "reconf", "4", "--vm_names", names[i]), quoted, "VM base name");
	}
	ok(W(PF, "init", "4", "-vm", longest), &r);
	assert_string_equal(r.cli.opts.vm_base, longest);
	ok(W(PF, "init", "4", "-vm", "vm.test-1_A"), &r);
	assert_string_equal(r.cli.opts.vm_base, "vm.test-1_A");
	ok(W(PF, "init", "4", "-vm", "..vm"), &r);
	assert_string_equal(r.cli.opts.vm_base, "..vm");
	free(toolong);
	free(longest);
}

static void test_bad_vm_and_pool_names(void **state)
{
	(void)state;
	bad2(W(PF, "attach", "0", "a/b"), "'a/b'", "VM name");
	bad(W(PF, "attach", "0", "../../etc/passwd"), "'../../etc/passwd'");
	bad(W(PF, "attach", "0", ""), "''");
	bad2(W("pool-show", "../x"), "'../x'", "pool name");
	bad(W("pool-show", ".."), "'..'");
	bad(W("pool-show", "a/b"), "'a/b'");
	bad(W("pool-show", ""), "''");
}

static void test_json_without_status(void **state)
{
	(void)state;
	bad2(W("pool-list", "--json"), "--json", "status");
	bad2(W("pool-check", "--json"), "--json", "status");
	bad2(W("--json", "pool-show", "fpga0"), "--json", "status");
	bad2(W(PF, "list_vfs", "--json"), "--json", "status");
	bad2(W(PF, "init", "4", "--json"), "--json", "status");
}

static void test_pf_given_to_pool_command(void **state)
{
	(void)state;
	bad2(W(PF, "status"), "'status'", "PF");
	bad2(W(PF, "pool-list"), "'pool-list'", "PF");
	bad2(W(PF, "pool-show", "fpga0"), "'pool-show'", "PF");
	bad2(W(PF, "pool-check"), "'pool-check'", "PF");
	bad2(W(PF, "status", "--json"), "'status'", "PF");
}

static void test_pf_missing_for_pf_command(void **state)
{
	(void)state;
	bad2(W("init", "4"), "'init'", "PF");
	bad2(W("reconf", "0"), "'reconf'", "PF");
	bad2(W("attach", "0", "vm0"), "'attach'", "PF");
	bad2(W("detach", "0"), "'detach'", "PF");
	bad2(W("list_vfs"), "'list_vfs'", "PF");
	bad2(W("list_vf_vm"), "'list_vf_vm'", "PF");
	bad2(W("print_kernel"), "'print_kernel'", "PF");
	bad2(W("-y", "init", "4", "-p"), "'init'", "PF");
}

static void test_usage_errors_carry_a_hint(void **state)
{
	struct result r;

	(void)state;
	parse_words(W(PF, "frobnicate"), &r);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.err.hint, "--help"));
	parse_words(W(PF, "init"), &r);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.err.hint, "--help"));
	parse_words(W(PF, "init", "4", "-qn", "x"), &r);
	assert_int_equal(r.rc, -1);
	assert_non_null(strstr(r.err.hint, "--help"));
}

/* A second parse into the same struct starts from scratch. */
static void test_parse_resets(void **state)
{
	struct esfm_cli cli;
	struct esfm_err err = {0};
	char *a1[] = {"esfm", PF, "reconf", "3", "-p", "-y", "-vm", "x", "-b", "f", "k", NULL};
	char *a2[] = {"esfm", "status", NULL};

	(void)state;
	assert_int_equal(esfm_cli_parse(11, a1, &cli, &err), 0);
	assert_true(cli.opts.pause);
	assert_int_equal(esfm_cli_parse(2, a2, &cli, &err), 0);
	assert_int_equal(cli.cmd, ESFM_CMD_STATUS);
	assert_false(cli.has_pf);
	assert_int_equal(cli.count, 0);
	assert_defaults(&cli);
}

/* ---- usage ---- */

static void test_usage_mentions_everything(void **state)
{
	static const char *const words[] = {
		"<pf_bdf>",	"init",	     "<VF_NUM>",     "reconf",	  "attach",
		"<VF_IDX>",	"<VM_NAME>", "detach",	     "list_vfs",  "list_vf_vm",
		"print_kernel", "status",    "pool-list",    "pool-show", "<POOL>",
		"pool-check",	"-b,",	     "--bitstream",  "[kind]",	  "-qn,",
		"--queues_num", "-vm,",	     "--vm_names",   "-p,",	  "--pause",
		"-y,",		"--yes",     "-q,",	     "--quiet",	  "-v,",
		"--verbose",	"-d,",	     "--driver_log", "--json",	  "-h,",
		"--help",	"--version", "everestg",     "32",	  "Exit status",
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	esfm_cli_usage(f);
	assert_int_equal(fclose(f), 0);
	assert_true(len > 500);
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(words); i++)
		if (!strstr(buf, words[i])) {
			char w[64];

			snprintf(w, sizeof(w), "%s", words[i]);
			free(buf);
			fail_msg("usage text does not mention '%s'", w);
		}
	/* exit codes 0..3 are documented */
	for (int c = 0; c <= 3; c++) {
		char code[16];

		snprintf(code, sizeof(code), "%d ", c);
		if (!strstr(buf, code)) {
			free(buf);
			fail_msg("usage text does not document exit code %d", c);
		}
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_reconf),
		cmocka_unit_test(test_attach_detach),
		cmocka_unit_test(test_long_vm_name),
		cmocka_unit_test(test_listings),
		cmocka_unit_test(test_pool_commands),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_short_and_long_options),
		cmocka_unit_test(test_queues_num_bounds),
		cmocka_unit_test(test_option_placement),
		cmocka_unit_test(test_bitstream_kind_after_arguments),
		cmocka_unit_test(test_bitstream_then_count),
		cmocka_unit_test(test_bitstream_kind_before_command),
		cmocka_unit_test(test_bad_bitstream),
		cmocka_unit_test(test_bad_pci_address),
		cmocka_unit_test(test_unknown_command),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_missing_arguments),
		cmocka_unit_test(test_extra_arguments),
		cmocka_unit_test(test_bad_counts),
		cmocka_unit_test(test_bad_indexes),
		cmocka_unit_test(test_bad_queues_num),
		cmocka_unit_test(test_bad_vm_base_names),
		cmocka_unit_test(test_bad_vm_and_pool_names),
		cmocka_unit_test(test_json_without_status),
		cmocka_unit_test(test_pf_given_to_pool_command),
		cmocka_unit_test(test_pf_missing_for_pf_command),
		cmocka_unit_test(test_usage_errors_carry_a_hint),
		cmocka_unit_test(test_parse_resets),
		cmocka_unit_test(test_usage_mentions_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
