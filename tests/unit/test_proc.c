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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_timeout_kills_the_whole_group),
		cmocka_unit_test(test_start_time_names_a_process),
		cmocka_unit_test(test_zombie_is_not_alive),
		cmocka_unit_test(test_deferred_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
