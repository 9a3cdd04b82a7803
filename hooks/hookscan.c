// SPDX-License-Identifier: MIT
#include "hookscan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAIL_MAX ESFM_HOOKSCAN_TAIL_MAX

void esfm_hookscan_init(struct esfm_hookscan *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

/* A match of @ns that starts in the kept tail and ends in @data. */
static int found_across(const struct esfm_hookscan *s, const char *data, size_t n, const char *ns,
			size_t ns_len)
{
	char window[2 * TAIL_MAX];
	size_t keep = s->tail_len < ns_len - 1 ? s->tail_len : ns_len - 1;
	size_t head = n < ns_len - 1 ? n : ns_len - 1;

	memcpy(window, s->tail + s->tail_len - keep, keep);
	memcpy(window + keep, data, head);
	return memmem(window, keep + head, ns, ns_len) != NULL;
}

static int found_in(const struct esfm_hookscan *s, const char *data, size_t n, const char *ns,
		    size_t ns_len)
{
	return found_across(s, data, n, ns, ns_len) || memmem(data, n, ns, ns_len);
}

static void keep_tail(struct esfm_hookscan *s, const char *data, size_t n)
{
	if (n >= TAIL_MAX) {
		memcpy(s->tail, data + n - TAIL_MAX, TAIL_MAX);
		s->tail_len = TAIL_MAX;
		return;
	}
	if (s->tail_len + n > TAIL_MAX) {
		size_t drop = s->tail_len + n - TAIL_MAX;

		memmove(s->tail, s->tail + drop, s->tail_len - drop);
		s->tail_len -= drop;
	}
	memcpy(s->tail + s->tail_len, data, n);
	s->tail_len += n;
}

static int keep_text(struct esfm_hookscan *s, const char *data, size_t n)
{
	if (s->oversized)
		return 0;
	if (n > s->max - s->len) {
		free(s->buf);
		s->buf = NULL;
		s->cap = 0;
		s->oversized = 1;
		return 0;
	}
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap : 65536;
		char *b;

		while (cap < s->len + n)
			cap *= 2;
		if (cap > s->max)
			cap = s->max;
		b = realloc(s->buf, cap ? cap : 1);
		if (!b)
			return -1;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	return 0;
}

int esfm_hookscan_feed(struct esfm_hookscan *s, const char *data, size_t n)
{
	if (!n)
		return 0;
	if (keep_text(s, data, n) < 0) {
		errno = ENOMEM;
		return -1;
	}
	if (!s->found && found_in(s, data, n, ESFM_HOOKSCAN_NS, ESFM_HOOKSCAN_NS_LEN))
		s->found = 1;
	if (!s->found_nova &&
	    found_in(s, data, n, ESFM_HOOKSCAN_NOVA_NS, ESFM_HOOKSCAN_NOVA_NS_LEN))
		s->found_nova = 1;
	keep_tail(s, data, n);
	s->len += n;
	return 0;
}

int esfm_hookscan_read_fd(struct esfm_hookscan *s, int fd)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (esfm_hookscan_feed(s, chunk, (size_t)n) < 0)
			return -1;
	}
}

static int outcome(const struct esfm_hookscan *s, int found)
{
	if (!found)
		return 0;
	if (s->oversized) {
		errno = EFBIG;
		return -1;
	}
	return 1;
}

int esfm_hookscan_result(const struct esfm_hookscan *s)
{
	return outcome(s, s->found);
}

int esfm_hookscan_nova_result(const struct esfm_hookscan *s)
{
	return outcome(s, s->found_nova);
}

void esfm_hookscan_fini(struct esfm_hookscan *s)
{
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
}
