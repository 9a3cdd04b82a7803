// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/proc.h: a timed-out program is killed with everything
 * it started (a programmer's helpers must not outlive it); a process is
 * named for good by pid and start time (the busy mark's liveness); signals
 * deferred during a change are remembered, not acted on.
 */
#include "testutil.h"

#include <signal.h>
#include <sys/wait.h>

#include "log.h"
#include "proc.h"
#include "util.h"

/* 'R', 'S', 'Z'...: the state of @pid, 0 if gone. */
static char proc_state(long pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * The programmer runs a helper in the background and hangs: at the timeout
 * both are killed (its process group), not only the direct child.
 */
static void test_run_timeout_kills_the_whole_group(void **state)
{
	char *dir = tu_mkdtemp(), pidfile[PATH_MAX], script[PATH_MAX], *text;
	struct esfm_err err = {0};
	long helper = 0;
	char st;

	(void)state;
	tu_path(pidfile, "%s/helper.pid", dir);
	tu_path(script, "%s/programmer", dir);
	text = NULL;
	assert_true(asprintf(&text, "#!/bin/sh\nsleep 30 &\necho $! >%s\nwait\n", pidfile) > 0);
	tu_write(script, text);
	free(text);
	assert_int_equal(chmod(script, 0755), 0);
	{
		char *argv[] = {script, NULL};

		assert_int_equal(esfm_run(argv, 500, &err), -1);
	}
	assert_int_equal(err.errnum, ETIMEDOUT);
	text = tu_slurp(pidfile);
	helper = strtol(text, NULL, 10);
	free(text);
	assert_true(helper > 1);
	for (int i = 0; i < 100 && (st = proc_state(helper)) && st != 'Z'; i++)
		esfm_sleep_ms(20);
	st = proc_state(helper);
	if (st && st != 'Z') {
		kill((pid_t)helper, SIGKILL);
		fail_msg("the programmer's helper (pid %ld) outlived the timeout (state %c)",
			 helper, st);
	}
	tu_rmtree(dir);
}

static void test_start_time_names_a_process(void **state)
{
	unsigned long long start = 0, again = 0;
	pid_t child;
	int status;

	(void)state;
	assert_int_equal(esfm_proc_start_time((long)getpid(), &start), 0);
	assert_true(start > 0);
	assert_int_equal(esfm_proc_start_time((long)getpid(), &again), 0);
	assert_true(start == again);
	assert_true(esfm_proc_alive((long)getpid(), start));
	/* same pid, another start time: a reused pid is not the marked process */
	assert_false(esfm_proc_alive((long)getpid(), start + 1));
	assert_false(esfm_proc_alive(0, start));
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, &status, 0), child);
	/* a reaped child is gone */
	assert_int_equal(esfm_proc_start_time((long)child, &start), -1);
	assert_false(esfm_proc_alive((long)child, start));
}

/* A zombie has exited: it is not alive. */
static void test_zombie_is_not_alive(void **state)
{
	unsigned long long start = 0;
	pid_t child;
	int status;

	(void)state;
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		esfm_sleep_ms(200);
		_exit(0);
	}
	assert_int_equal(esfm_proc_start_time((long)child, &start), 0);
	assert_true(esfm_proc_alive((long)child, start));
	for (int i = 0; i < 200 && proc_state(child) != 'Z'; i++)
		esfm_sleep_ms(10);
	assert_int_equal(proc_state(child), 'Z');
	assert_false(esfm_proc_alive((long)child, start));
	assert_int_equal(waitpid(child, &status, 0), child);
}

static void test_deferred_signals(void **state)
{
	struct esfm_sigdefer d;

	(void)state;
	esfm_proc_defer_signals(&d);
	assert_int_equal(esfm_proc_deferred_signal(), 0);
	raise(SIGTERM);
	raise(SIGHUP);
	/* still here: remembered, the first one reported */
	assert_int_equal(esfm_proc_deferred_signal(), SIGTERM);
	esfm_proc_restore_signals(&d);
	assert_int_equal(esfm_proc_deferred_signal(), 0);
	{
		struct sigaction sa;

		assert_int_equal(sigaction(SIGTERM, NULL, &sa), 0);
		assert_true(sa.sa_handler == SIG_DFL);
	}
}

/* Lines the log received, for the esfm_run_logged tests. */
static char logged[4096];

static void capture_sink(void *data, int level, const char *msg)
{
	(void)data;
	(void)level;
	strncat(logged, msg, sizeof(logged) - strlen(logged) - 2);
	strcat(logged, "\n");
}

static void write_script(const char *path, const char *body)
{
	tu_write(path, body);
	assert_int_equal(chmod(path, 0755), 0);
}

/*
 * The programmer's stdout and stderr reach the log line by line, tagged, and
 * its last line is the reason given when it fails.
 */
static void test_run_logged_sends_output_to_the_log(void **state)
{
	char *dir = tu_mkdtemp(), script[PATH_MAX];
	struct esfm_err err = {0};
	char *argv[] = {script, NULL};

	(void)state;
	tu_path(script, "%s/programmer", dir);
	write_script(script,
		     "#!/bin/sh\necho 'opening hw_server'\necho 'no device' >&2\n"
		     "printf 'ERROR: [Labtools 27-3165] End of startup status: LOW'\nexit 3\n");
	logged[0] = '\0';
	esfm_log_set_sink(capture_sink, NULL, ESFM_LOG_INFO);
	assert_int_equal(esfm_run_logged(argv, 5000, "PF 0000:83:00.0: programmer", &err), -1);
	esfm_log_set_sink(NULL, NULL, ESFM_LOG_NOTICE);
	assert_non_null(strstr(logged, "PF 0000:83:00.0: programmer: opening hw_server\n"));
	assert_non_null(strstr(logged, "PF 0000:83:00.0: programmer: no device\n"));
	/* an unterminated last line is logged too */
	assert_non_null(strstr(logged, "programmer: ERROR: [Labtools 27-3165] End of startup"));
	assert_non_null(strstr(err.msg, "exited with status 3"));
	assert_non_null(strstr(err.msg, "End of startup status: LOW"));

	/* Vivado's exit banner after the failure is not the reason */
	write_script(script, "#!/bin/sh\necho 'esfm-program: 2 JTAG targets found'\n"
			     "echo 'INFO: [Common 17-206] Exiting Vivado'\nexit 1\n");
	assert_int_equal(esfm_run_logged(argv, 5000, "tag", &err), -1);
	assert_non_null(strstr(err.msg, "status 1: esfm-program: 2 JTAG targets found"));
	assert_null(strstr(err.msg, "Exiting"));

	write_script(script, "#!/bin/sh\necho done\n");
	assert_int_equal(esfm_run_logged(argv, 5000, "tag", &err), 0);
	tu_rmtree(dir);
}

/*
 * Vivado starts hw_server, which outlives it holding the output pipe: the
 * run ends when the programmer exits, not when the pipe closes.
 */
static void test_run_logged_does_not_wait_for_a_daemon_holding_the_pipe(void **state)
{
	char *dir = tu_mkdtemp(), script[PATH_MAX], pidfile[PATH_MAX], *text = NULL;
	struct esfm_err err = {0};
	char *argv[] = {script, NULL};
	long long t0;
	long group;

	(void)state;
	tu_path(script, "%s/programmer", dir);
	tu_path(pidfile, "%s/daemon.pid", dir);
	/* $$ is the programmer's pid, hence its process group's id */
	assert_true(asprintf(&text,
			     "#!/bin/sh\n(sleep 30; echo late) &\necho $$ >%s\necho programmed\n",
			     pidfile) > 0);
	write_script(script, text);
	free(text);
	t0 = esfm_now_ms();
	assert_int_equal(esfm_run_logged(argv, 20000, "tag", &err), 0);
	assert_true(esfm_now_ms() - t0 < 15000);
	text = tu_slurp(pidfile);
	group = strtol(text, NULL, 10);
	free(text);
	assert_true(group > 1);
	kill((pid_t)-group, SIGKILL);
	tu_rmtree(dir);
}

/*
 * A program that cannot be started is reported as such, with the errno of
 * execve, by both runners: not as "exited with status 127", which a program
 * that runs can also return (and which is still reported as its status).
 */
static void test_run_reports_exec_failure_with_its_errno(void **state)
{
	char *dir = tu_mkdtemp(), script[PATH_MAX], missing[PATH_MAX];
	struct esfm_err err = {0};
	char *argv_missing[] = {missing, NULL}, *argv_script[] = {script, NULL};

	(void)state;
	tu_path(missing, "%s/no-such-programmer", dir);
	tu_path(script, "%s/programmer", dir);

	assert_int_equal(esfm_run(argv_missing, 5000, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "cannot execute "));
	assert_non_null(strstr(err.msg, "no-such-programmer"));
	assert_null(strstr(err.msg, "127"));

	esfm_err_clear(&err);
	assert_int_equal(esfm_run_logged(argv_missing, 5000, "tag", &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "cannot execute "));
	assert_null(strstr(err.msg, "127"));

	/* a file that is not executable: EACCES */
	write_script(script, "#!/bin/sh\nexit 0\n");
	assert_int_equal(chmod(script, 0644), 0);
	esfm_err_clear(&err);
	assert_int_equal(esfm_run_logged(argv_script, 5000, "tag", &err), -1);
	assert_int_equal(err.errnum, EACCES);
	assert_non_null(strstr(err.msg, "cannot execute "));

	/* a program that runs and exits 127 keeps its status */
	write_script(script, "#!/bin/sh\nexit 127\n");
	esfm_err_clear(&err);
	assert_int_equal(esfm_run(argv_script, 5000, &err), -1);
	assert_int_equal(err.errnum, 0);
	assert_non_null(strstr(err.msg, "exited with status 127"));
	esfm_err_clear(&err);
	assert_int_equal(esfm_run_logged(argv_script, 5000, "tag", &err), -1);
	assert_non_null(strstr(err.msg, "exited with status 127"));
	tu_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_timeout_kills_the_whole_group),
		cmocka_unit_test(test_start_time_names_a_process),
		cmocka_unit_test(test_zombie_is_not_alive),
		cmocka_unit_test(test_deferred_signals),
		cmocka_unit_test(test_run_logged_sends_output_to_the_log),
		cmocka_unit_test(test_run_logged_does_not_wait_for_a_daemon_holding_the_pipe),
		cmocka_unit_test(test_run_reports_exec_failure_with_its_errno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
