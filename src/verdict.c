// SPDX-License-Identifier: MIT
#include "verdict.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "util.h"

#define RECORD_SUFFIX ".pool-ok"

/* The state directory, opened if it is one the ledgers could be in; else -1. */
static int open_trusted(const char *state_dir)
{
	struct stat st;
	int fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0 && (fstat(fd, &st) < 0 || !esfm_dir_is_private(&st))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The whole record for @v, malloc'ed, or NULL. */
static char *record(const struct esfm_verdict_of *v, size_t *len)
{
	char head[PATH_MAX + 256];
	int n = snprintf(
		head, sizeof(head),
		"esfm pool schema verdict 1\nesfm %s libxml2 %s\n%s\nschema %zu pool %zu\n",
		ESFM_VERSION, xmlParserVersion, v->path, v->schema_len, v->text_len);
	char *buf;

	if (n < 0 || (size_t)n >= sizeof(head) || strchr(v->path, '\n'))
		return NULL;
	*len = (size_t)n + v->schema_len + v->text_len;
	buf = malloc(*len + 1);
	if (!buf)
		return NULL;
	memcpy(buf, head, (size_t)n);
	memcpy(buf + n, v->schema, v->schema_len);
	memcpy(buf + n + v->schema_len, v->text, v->text_len);
	return buf;
}

static bool record_name(const struct esfm_verdict_of *v, char *buf, size_t len)
{
	return esfm_name_valid(v->pool) &&
	       (size_t)snprintf(buf, len, "%s" RECORD_SUFFIX, v->pool) < len;
}

bool esfm_verdict_known(const struct esfm_verdict_of *v)
{
	_cleanup_free_ char *want = NULL, *have = NULL;
	_cleanup_close_ int dfd = -1;
	struct esfm_err err = {0};
	char name[NAME_MAX + 1];
	size_t want_len, have_len;

	if (!record_name(v, name, sizeof(name)) || (dfd = open_trusted(v->state_dir)) < 0 ||
	    !(want = record(v, &want_len)) ||
	    esfm_read_file_at(dfd, name, name, want_len, &have, &have_len, &err) < 0)
		return false;
	return have_len == want_len && !memcmp(have, want, want_len);
}

void esfm_verdict_remember(const struct esfm_verdict_of *v)
{
	_cleanup_free_ char *data = NULL;
	_cleanup_close_ int dfd = -1;
	struct esfm_err err = {0};
	char name[NAME_MAX + 1];
	size_t len;

	if (!record_name(v, name, sizeof(name)) || (dfd = open_trusted(v->state_dir)) < 0 ||
	    !(data = record(v, &len)))
		return;
	esfm_remove_stale_temps_at(dfd, name, false); /* taken without a lock */
	(void)esfm_write_file_atomic_at(dfd, name, name, data, len, &err);
}
