// SPDX-License-Identifier: MIT
#include "kmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kmsg_path(void)
{
	const char *p = getenv("ESFM_KMSG");

	return p && *p ? p : "/dev/kmsg";
}

int esfm_kmsg_begin(struct esfm_kmsg *k, struct esfm_err *err)
{
	const char *path = kmsg_path();
	struct stat st;

	k->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		return esfm_err_sys(err, errno, "cannot open %s for the driver log", path);
	/* /dev/kmsg: SEEK_END skips to the newest record; a file: remember its size. */
	if (fstat(k->fd, &st) == 0 && S_ISREG(st.st_mode))
		k->start = st.st_size;
	else
		k->start = -1;
	if (lseek(k->fd, 0, SEEK_END) < 0 && k->start >= 0) {
		int e = errno;
		close(k->fd);
		k->fd = -1;
		return esfm_err_sys(err, e, "cannot seek %s", path);
	}
	return 0;
}

static bool wanted(const char *line, const char *const *filters)
{
	for (const char *const *f = filters; *f; f++)
		if (strstr(line, *f))
			return true;
	return false;
}

/* A /dev/kmsg record is "prio,seq,time,flags;message": keep the message. */
static const char *message_of(const char *rec)
{
	const char *semi = strchr(rec, ';');
	const char *comma = strchr(rec, ',');

	return semi && comma && comma < semi ? semi + 1 : rec;
}

int esfm_kmsg_collect(struct esfm_kmsg *k, const char *const *filters,
		      void (*fn)(void *data, const char *line), void *data, struct esfm_err *err)
{
	char buf[8192];

	if (k->fd < 0)
		return 0;
	if (k->start >= 0 && lseek(k->fd, k->start, SEEK_SET) < 0)
		return esfm_err_sys(err, errno, "cannot read the driver log");
	for (;;) {
		ssize_t n = read(k->fd, buf, sizeof(buf) - 1);
		char *line, *save = NULL;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EPIPE) /* a record was overwritten: go on */
			continue;
		if (n <= 0)
			break;
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			const char *msg = k->start >= 0 ? line : message_of(line);

			if (line[0] != ' ' && wanted(msg, filters))
				fn(data, msg);
		}
	}
	return 0;
}

void esfm_kmsg_end(struct esfm_kmsg *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}
