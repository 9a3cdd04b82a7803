// SPDX-License-Identifier: MIT
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

static esfm_log_fn sink;
static void *sink_data;
static int sink_max = ESFM_LOG_NOTICE;

void esfm_log_set_sink(esfm_log_fn fn, void *data, int max_level)
{
	sink = fn;
	sink_data = data;
	sink_max = max_level;
}

int esfm_log_enabled(int level)
{
	return sink && level <= sink_max;
}

void esfm_log(int level, const char *fmt, ...)
{
	char buf[2048], line[2048];
	va_list ap;

	if (!esfm_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One message, one line: a name with a newline must not forge another. */
	sink(sink_data, level, esfm_escape_ctl(buf, line, sizeof(line)));
}

int esfm_log_level_parse(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
		{"err", ESFM_LOG_ERR},	     {"error", ESFM_LOG_ERR}, {"warning", ESFM_LOG_WARNING},
		{"notice", ESFM_LOG_NOTICE}, {"info", ESFM_LOG_INFO}, {"debug", ESFM_LOG_DEBUG},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].level;
	return -1;
}
