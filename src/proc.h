/* SPDX-License-Identifier: MIT */
/*
 * Running other programs: always execve-style argv, never a shell.
 */
#ifndef ESFM_PROC_H
#define ESFM_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * Start @argv fully detached (double fork, setsid, fds 0-2 on /dev/null,
 * every other fd closed) so nothing holds the caller's stdout/stderr, and
 * return once it has exec'ed, its pid in *pid (it is not our child: it may
 * have ended already). Exec failure is reported as an error.
 */
int esfm_spawn_detached(char *const argv[], long *pid, struct esfm_err *err);

/*
 * Run @argv in its own process group and wait at most @timeout_ms (then
 * SIGKILL to the whole group: whatever it started dies with it). A terminal's
 * Ctrl-C does not reach it. stdout/stderr are inherited. FAILED error with
 * the exit status or signal on failure (errnum ETIMEDOUT on timeout); a
 * program that cannot be executed is "cannot execute <path>" with the errno
 * of execve (reported through a CLOEXEC pipe), not an exit status.
 */
int esfm_run(char *const argv[], long timeout_ms, struct esfm_err *err);

/*
 * As esfm_run, but the program's stdout and stderr go to the log at info
 * level, one message per line, each as "@tag: <line>" (stdin is /dev/null).
 * On failure the error also carries the program's own reason: its last line
 * starting with "ERROR" or holding "esfm-program:" (what the shipped
 * programming scripts print), else its last line. The run ends when the program exits: a daemon it started that keeps
 * the output open (Vivado's hw_server) is not waited for.
 */
int esfm_run_logged(char *const argv[], long timeout_ms, const char *tag, struct esfm_err *err);

/*
 * Start time of process @pid (clock ticks since boot, field 22 of
 * /proc/<pid>/stat) into *start: with the pid it names one process for good.
 * -1 (no error filled) if there is no such process.
 */
int esfm_proc_start_time(long pid, unsigned long long *start);

/* True if process @pid runs and started at @start (not a reused pid, not a zombie). */
bool esfm_proc_alive(long pid, unsigned long long start);

/*
 * Defer SIGINT, SIGTERM and SIGHUP while a change must not stop half way:
 * they are only remembered (esfm_proc_deferred_signal) until
 * esfm_proc_restore_signals puts the previous dispositions back.
 */
struct esfm_sigdefer {
	struct sigaction old[3];
};

void esfm_proc_defer_signals(struct esfm_sigdefer *d);
void esfm_proc_restore_signals(struct esfm_sigdefer *d);

/* The first deferred signal received since esfm_proc_defer_signals, 0 if none. */
int esfm_proc_deferred_signal(void);

/* Directory of the running executable into @buf (via /proc/self/exe). */
int esfm_self_dir(char *buf, size_t len, struct esfm_err *err);

#endif
