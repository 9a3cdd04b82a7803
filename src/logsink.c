// SPDX-License-Identifier: MIT
#include "logsink.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static const char *sink_ident;
static int sink_fd = -1;

static void to_stderr(void *data, int level, const char *msg)
{
	(void)level;
	fprintf(stderr, "%s: %s\n", (const char *)data, msg);
}

static void to_syslog(void *data, int level, const char *msg)
{
	(void)data;
	syslog(level, "%s", msg);
}

static void to_file(void *data, int level, const char *msg)
{
	char line[2300], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	(void)data;
	(void)level;
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
	n = snprintf(line, sizeof(line), "%s %s[%ld]: %s\n", stamp, sink_ident, (long)getpid(),
		     msg);
	if (n > 0)
		(void)!write(sink_fd, line,
			     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void esfm_logsink_stderr(const char *prog, int max_level)
{
	esfm_log_set_sink(to_stderr, (void *)prog, max_level);
}

void esfm_logsink_syslog(const char *ident, int max_level)
{
	openlog(ident, LOG_PID, LOG_DAEMON);
	esfm_log_set_sink(to_syslog, NULL, max_level);
}

int esfm_logsink_file(const char *path, const char *ident, int max_level, struct esfm_err *err)
{
	sink_ident = ident;
	sink_fd = esfm_open_regular_at(AT_FDCWD, path, path, O_WRONLY | O_APPEND | O_CREAT, err);
	if (sink_fd < 0) {
		esfm_logsink_syslog(ident, max_level);
		return esfm_err_prefix(err, "log_file");
	}
	esfm_log_set_sink(to_file, NULL, max_level);
	return 0;
}
