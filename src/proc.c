// SPDX-License-Identifier: MIT
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static void close_from(int lowfd)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	for (int fd = lowfd; fd < 65536; fd++)
		close(fd);
}

static void devnull_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		_exit(127);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/*
 * Child: exec @argv with fds 0-2 as they are and every other fd closed but
 * @report_fd (CLOEXEC, moved to 3), through which an exec failure's errno
 * reaches the parent; a successful exec closes it.
 */
static void exec_or_report(char *const argv[], int report_fd)
{
	int e;

	if (report_fd != 3) {
		dup3(report_fd, 3, O_CLOEXEC);
		report_fd = 3;
	}
	close_from(4);
	execv(argv[0], argv);
	e = errno;
	(void)!write(report_fd, &e, sizeof(e));
	_exit(127);
}

/* Parent: the errno exec_or_report sent, 0 if the exec succeeded. Closes @fd. */
static int exec_report_read(int fd)
{
	int child_errno = 0;
	ssize_t n;

	do
		n = read(fd, &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(fd);
	return n == (ssize_t)sizeof(child_errno) ? child_errno : 0;
}

/*
 * Grandchild of esfm_spawn_detached: reports its pid first, then (through
 * exec_or_report) an exec failure's errno. One writer, so they arrive in order.
 */
static void exec_detached(char *const argv[], int report_fd)
{
	pid_t me = getpid();

	devnull_stdio();
	signal(SIGPIPE, SIG_DFL);
	if (write(report_fd, &me, sizeof(me)) != (ssize_t)sizeof(me))
		_exit(127);
	exec_or_report(argv, report_fd);
}

int esfm_spawn_detached(char *const argv[], long *spawned, struct esfm_err *err)
{
	int pipefd[2], status, child_errno;
	pid_t pid, grandchild = 0;
	ssize_t np;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return esfm_err_sys(err, errno, "cannot create pipe to start %s", argv[0]);
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return esfm_err_sys(err, e, "cannot fork to start %s", argv[0]);
	}
	if (pid == 0) {
		close(pipefd[0]);
		if (setsid() < 0)
			_exit(126);
		pid = fork();
		if (pid < 0)
			_exit(125);
		if (pid > 0)
			_exit(0);
		exec_detached(argv, pipefd[1]);
	}
	close(pipefd[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	do
		np = read(pipefd[0], &grandchild, sizeof(grandchild));
	while (np < 0 && errno == EINTR);
	child_errno = exec_report_read(pipefd[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || np != (ssize_t)sizeof(grandchild))
		return esfm_err_sys(err, EAGAIN, "cannot detach to start %s", argv[0]);
	*spawned = (long)grandchild;
	if (child_errno)
		return esfm_err_sys(err, child_errno, "cannot execute %s", argv[0]);
	return 0;
}

/* Splits a program's output into lines for the log; keeps the last one. */
struct out_lines {
	const char *tag;
	char cur[1024];
	size_t len;
	char last[256];
	bool marked; /* last holds a line marked as a reason */
};

static void out_flush(struct out_lines *o)
{
	if (!o->len)
		return;
	o->cur[o->len] = '\0';
	esfm_info("%s: %s", o->tag, o->cur);
	/*
	 * The reason kept for the error: the last line our programming scripts
	 * or the tool marked as one ("esfm-program: ...", "ERROR: ..."), since
	 * Vivado still prints its exit banner after a failure; else the last
	 * line. Of a long line, its end says what went wrong.
	 */
	if (strstr(o->cur, "esfm-program:") || !strncmp(o->cur, "ERROR", 5) || !o->marked) {
		memcpy(o->last,
		       o->cur + (o->len >= sizeof(o->last) ? o->len - sizeof(o->last) + 1 : 0),
		       o->len >= sizeof(o->last) ? sizeof(o->last) : o->len + 1);
		o->marked = strstr(o->cur, "esfm-program:") || !strncmp(o->cur, "ERROR", 5);
	}
	o->len = 0;
}

static void out_feed(struct out_lines *o, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') {
			out_flush(o);
			continue;
		}
		/* A very long line goes out in pieces rather than being lost. */
		if (o->len == sizeof(o->cur) - 1)
			out_flush(o);
		o->cur[o->len++] = buf[i];
	}
}

/* Reads what is there now; -1 once the pipe is at its end (or broken). */
static int out_read(int fd, struct out_lines *o)
{
	char buf[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			out_feed(o, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN ? 0 : -1;
	}
}

static int run_failed(struct out_lines *o, struct esfm_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int run_failed(struct out_lines *o, struct esfm_err *err, int errnum, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (o && o->last[0])
		return esfm_err_set(err, ESFM_ERR_FAILED, errnum, "%s: %s", what, o->last);
	return esfm_err_set(err, ESFM_ERR_FAILED, errnum, "%s", what);
}

/*
 * The end of esfm_run and esfm_run_logged (@o, else NULL): 0, or why the
 * program did not succeed. Closes @report_fd.
 */
static int run_result(int status, char *const argv[], int report_fd, struct out_lines *o,
		      struct esfm_err *err)
{
	int child_errno = exec_report_read(report_fd);

	if (child_errno)
		return esfm_err_sys(err, child_errno, "cannot execute %s", argv[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return run_failed(o, err, 0, "%s exited with status %d", argv[0],
				  WEXITSTATUS(status));
	return run_failed(o, err, 0, "%s was killed by signal %d", argv[0], WTERMSIG(status));
}

/*
 * esfm_run (@tag NULL: the program's stdout and stderr are ours) and
 * esfm_run_logged (@tag: they go to the log through a pipe, stdin is
 * /dev/null).
 */
static int run(char *const argv[], long timeout_ms, const char *tag, struct esfm_err *err)
{
	long long deadline = esfm_now_ms() + timeout_ms;
	struct out_lines out = {.tag = tag};
	struct out_lines *o = tag ? &out : NULL;
	int pipefd[2] = {-1, -1}, report[2], status, open_end = tag != NULL;
	pid_t pid, r;

	if (pipe2(report, O_CLOEXEC) < 0)
		return esfm_err_sys(err, errno, "cannot create a pipe for %s", argv[0]);
	if (tag && pipe2(pipefd, O_CLOEXEC) < 0) {
		int e = errno;

		close(report[0]);
		close(report[1]);
		return esfm_err_sys(err, e, "cannot create a pipe for %s", argv[0]);
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(report[0]);
		close(report[1]);
		if (tag) {
			close(pipefd[0]);
			close(pipefd[1]);
		}
		return esfm_err_sys(err, e, "cannot fork to run %s", argv[0]);
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (tag) {
			int null = open("/dev/null", O_RDONLY);

			if (null < 0 || dup2(null, 0) < 0 || dup2(pipefd[1], 1) < 0 ||
			    dup2(pipefd[1], 2) < 0)
				_exit(126);
		}
		exec_or_report(argv, report[1]);
	}
	/* Both sides set the group: whichever runs first, it exists before any kill. */
	setpgid(pid, pid);
	close(report[1]);
	if (tag) {
		close(pipefd[1]);
		fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	}
	for (;;) {
		struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};

		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			int e = errno;

			if (tag)
				close(pipefd[0]);
			close(report[0]);
			return esfm_err_sys(err, e, "cannot wait for %s", argv[0]);
		}
		if (esfm_now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			if (tag) {
				out_read(pipefd[0], &out);
				out_flush(&out);
				close(pipefd[0]);
			}
			close(report[0]);
			return run_failed(o, err, ETIMEDOUT, "%s did not finish within %ld s",
					  argv[0], timeout_ms / 1000);
		}
		/* Once the pipe is at its end (or without one) only the exit is left to wait for. */
		if (open_end && poll(&pfd, 1, 20) > 0 && out_read(pipefd[0], &out) < 0)
			open_end = 0;
		else if (!open_end)
			esfm_sleep_ms(20);
	}
	if (tag) {
		/* What it wrote before exiting; a daemon still holding the pipe is not waited for. */
		out_read(pipefd[0], &out);
		out_flush(&out);
		close(pipefd[0]);
	}
	return run_result(status, argv, report[0], o, err);
}

int esfm_run(char *const argv[], long timeout_ms, struct esfm_err *err)
{
	return run(argv, timeout_ms, NULL, err);
}

int esfm_run_logged(char *const argv[], long timeout_ms, const char *tag, struct esfm_err *err)
{
	return run(argv, timeout_ms, tag, err);
}

int esfm_self_dir(char *buf, size_t len, struct esfm_err *err)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0)
		return esfm_err_sys(err, errno, "cannot read /proc/self/exe");
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	return esfm_snprintf(buf, len, err, "%s", exe);
}

int esfm_proc_start_time(long pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	int fd, field;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields count from the last ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -1;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return -1;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return -1;
	*start = strtoull(p, NULL, 10);
	return 0;
}

bool esfm_proc_alive(long pid, unsigned long long start)
{
	unsigned long long now;

	return pid > 0 && esfm_proc_start_time(pid, &now) == 0 && now == start;
}

static const int deferred_signals[] = {SIGINT, SIGTERM, SIGHUP};
static volatile sig_atomic_t deferred;

static void remember_signal(int signo)
{
	if (!deferred)
		deferred = signo;
}

void esfm_proc_defer_signals(struct esfm_sigdefer *d)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = remember_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	deferred = 0;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(deferred_signals); i++)
		sigaction(deferred_signals[i], &sa, &d->old[i]);
}

void esfm_proc_restore_signals(struct esfm_sigdefer *d)
{
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(deferred_signals); i++)
		sigaction(deferred_signals[i], &d->old[i], NULL);
	deferred = 0;
}

int esfm_proc_deferred_signal(void)
{
	return deferred;
}
