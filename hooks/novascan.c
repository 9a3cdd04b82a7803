// SPDX-License-Identifier: MIT
#include "novascan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLAVORS_MAX   8
#define POOL_FILE_MAX (1u << 20)

struct span {
	const char *p;
	size_t n;
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* At @p (just after an attribute's name): = and a quoted value, into @v. */
static int quoted_value(const char *p, const char *end, struct span *v)
{
	char q;
	const char *close;

	while (p < end && is_space(*p))
		p++;
	if (p >= end || *p++ != '=')
		return 0;
	while (p < end && is_space(*p))
		p++;
	if (p >= end || (*p != '"' && *p != '\''))
		return 0;
	q = *p++;
	close = memchr(p, q, (size_t)(end - p));
	if (!close)
		return 0;
	v->p = p;
	v->n = (size_t)(close - p);
	return 1;
}

/* The name attributes of <...flavor ...> start tags, at most FLAVORS_MAX. */
static size_t domain_flavors(const char *xml, size_t len, struct span *out)
{
	const char *end = xml + len, *p = xml;
	size_t n = 0;

	while (n < FLAVORS_MAX && (p = memmem(p, (size_t)(end - p), "flavor", 6))) {
		const char *tag_end, *a;

		if (p == xml || (p[-1] != ':' && p[-1] != '<') || p + 6 >= end || !is_space(p[6])) {
			p += 6;
			continue;
		}
		tag_end = memchr(p, '>', (size_t)(end - p));
		if (!tag_end)
			break;
		for (a = p + 6; (a = memmem(a, (size_t)(tag_end - a), "name", 4)); a += 4)
			if (is_space(a[-1]) && quoted_value(a + 4, tag_end, &out[n])) {
				n++;
				break;
			}
		p = tag_end;
	}
	return n;
}

static int same_flavor(struct span d, struct span f)
{
	if (memchr(d.p, '&', d.n) || memchr(f.p, '&', f.n))
		return 1;
	return d.n == f.n && !memcmp(d.p, f.p, d.n);
}

/* Whether the text of a pool file maps one of @flv (flavor='...' anywhere in it). */
static int maps_flavor(const char *text, size_t len, const struct span *flv, size_t nflv)
{
	const char *end = text + len, *p = text;

	while ((p = memmem(p, (size_t)(end - p), "flavor", 6))) {
		struct span v;

		p += 6;
		if (!quoted_value(p, end, &v))
			continue;
		for (size_t i = 0; i < nflv; i++)
			if (same_flavor(flv[i], v))
				return 1;
	}
	return 0;
}

/* 1 if the file maps one of @flv or cannot be read, else 0. */
static int pool_file_maps(int dfd, const char *name, const struct span *flv, size_t nflv)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), r = 1;
	char *buf;
	size_t len = 0;

	if (fd < 0) /* a symlink, a vanished file: the handler says what is wrong */
		return 1;
	buf = malloc(POOL_FILE_MAX);
	if (!buf) {
		close(fd);
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, POOL_FILE_MAX - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == POOL_FILE_MAX)
			goto out;
	}
	r = maps_flavor(buf, len, flv, nflv);
out:
	free(buf);
	close(fd);
	return r;
}

int esfm_novascan_may_ask(const char *xml, size_t len, const char *pools_dir)
{
	struct span flv[FLAVORS_MAX];
	size_t nflv;
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (memmem(xml, len, ESFM_NOVASCAN_SPEC, sizeof(ESFM_NOVASCAN_SPEC) - 1))
		return 1;
	nflv = domain_flavors(xml, len, flv);
	if (!nflv)
		return 0;
	d = opendir(pools_dir);
	if (!d)
		return errno == ENOENT ? 0 : 1;
	while (!r && (errno = 0, e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n > 4 && !strcmp(e->d_name + n - 4, ".xml") && e->d_name[0] != '.')
			r = pool_file_maps(dirfd(d), e->d_name, flv, nflv);
	}
	if (!e && errno)
		r = 1;
	closedir(d);
	return r;
}
