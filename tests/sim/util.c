/* SPDX-License-Identifier: MIT */
/* Buffers, allocation and the kernel's string parsers, mirrored for the simulator. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void sim_oom(void)
{
	fprintf(stderr, "%s: out of memory\n", SIM_PROG);
	abort();
}

void *sim_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		sim_oom();
	return p;
}

char *sim_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		sim_oom();
	return p;
}

static void sim_buf_reserve(struct sim_buf *buf, size_t extra)
{
	size_t need = buf->len + extra + 1;
	size_t cap = buf->cap ? buf->cap : 256;
	char *data;

	if (need <= buf->cap)
		return;
	while (cap < need)
		cap *= 2;
	data = realloc(buf->data, cap);
	if (!data)
		sim_oom();
	buf->data = data;
	buf->cap = cap;
}

void sim_buf_reset(struct sim_buf *buf)
{
	buf->len = 0;
	if (buf->data)
		buf->data[0] = '\0';
}

void sim_buf_free(struct sim_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

void sim_buf_append(struct sim_buf *buf, const char *text, size_t len)
{
	sim_buf_reserve(buf, len);
	memcpy(buf->data + buf->len, text, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

void sim_buf_printf(struct sim_buf *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		sim_oom();
	sim_buf_reserve(buf, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t)n;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Same acceptance as lib/kstrtox.c: digits, then at most one newline, then the end. */
int sim_kstrtoul(const char *s, unsigned long *out)
{
	unsigned base = 10;
	unsigned long val = 0;
	bool overflow = false;
	size_t ndigits = 0;

	if (*s == '+')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2])) {
		base = 16;
		s += 2;
	} else if (s[0] == '0') {
		base = 8;
	}
	for (; digit_value(*s) < (int)base; s++, ndigits++) {
		unsigned d = (unsigned)digit_value(*s);

		if (val > (ULONG_MAX - d) / base)
			overflow = true;
		val = val * base + d;
	}
	if (ndigits == 0)
		return -EINVAL;
	if (overflow)
		return -ERANGE;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*out = val;
	return 0;
}

int sim_kstrtobool(const char *s, bool *out)
{
	switch (s[0]) {
	case 'y':
	case 'Y':
	case '1':
		*out = true;
		return 0;
	case 'n':
	case 'N':
	case '0':
		*out = false;
		return 0;
	case 'o':
	case 'O':
		if (s[1] == 'n' || s[1] == 'N') {
			*out = true;
			return 0;
		}
		if (s[1] == 'f' || s[1] == 'F') {
			*out = false;
			return 0;
		}
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

int sim_strip_newline(const char *s, char *out, size_t len)
{
	size_t n = strlen(s);

	if (n && s[n - 1] == '\n')
		n--;
	if (n >= len)
		return -EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static bool parse_hex_field(const char *s, size_t width, unsigned max, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < width; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return false;
		v = v * 16 + (unsigned)digit_value(s[i]);
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

int sim_parse_bdf(const char *s, unsigned *domain, unsigned *bus, unsigned *devfn)
{
	unsigned slot, fn;

	if (strlen(s) != SIM_BDF_LEN - 1 || s[4] != ':' || s[7] != ':' || s[10] != '.')
		return -EINVAL;
	if (!parse_hex_field(s, 4, 0xffff, domain) || !parse_hex_field(s + 5, 2, 0xff, bus) ||
	    !parse_hex_field(s + 8, 2, 0x1f, &slot) || !parse_hex_field(s + 11, 1, 7, &fn))
		return -EINVAL;
	*devfn = slot << 3 | fn;
	return 0;
}

void sim_format_bdf(char out[SIM_BDF_LEN], unsigned domain, unsigned bus, unsigned devfn)
{
	snprintf(out, SIM_BDF_LEN, "%04x:%02x:%02x.%x", domain & 0xffff, bus & 0xff,
		 (devfn >> 3) & 0x1f, devfn & 7);
}

int sim_errno_by_name(const char *name)
{
	static const struct {
		const char *name;
		int value;
	} names[] = {
		{"EPERM", EPERM},	  {"ENOENT", ENOENT},
		{"EINTR", EINTR},	  {"EIO", EIO},
		{"ENXIO", ENXIO},	  {"E2BIG", E2BIG},
		{"EAGAIN", EAGAIN},	  {"ENOMEM", ENOMEM},
		{"EACCES", EACCES},	  {"EFAULT", EFAULT},
		{"EBUSY", EBUSY},	  {"EEXIST", EEXIST},
		{"ENODEV", ENODEV},	  {"EINVAL", EINVAL},
		{"ENOSPC", ENOSPC},	  {"ERANGE", ERANGE},
		{"ENOSYS", ENOSYS},	  {"ENOTSUP", ENOTSUP},
		{"ETIMEDOUT", ETIMEDOUT}, {"EOPNOTSUPP", EOPNOTSUPP},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i].name, name))
			return names[i].value;
	return 0;
}
