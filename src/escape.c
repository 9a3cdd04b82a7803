// SPDX-License-Identifier: MIT
#include "escape.h"

char *esfm_escape_ctl(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!len)
		return out;
	for (; *in; in++) {
		unsigned char c = (unsigned char)*in;
		char esc[5] = {c, 0};
		size_t n = 1;

		if (c == '\n' || c == '\r' || c == '\t') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			n = 2;
		} else if (c < 0x20 || c == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			n = 4;
		}
		if (o + n >= len)
			break;
		for (size_t i = 0; i < n; i++)
			out[o++] = esc[i];
	}
	out[o] = '\0';
	return out;
}
