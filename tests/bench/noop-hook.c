// SPDX-License-Identifier: MIT
/*
 * The floor of any qemu hook: a program libvirtd execs that drains the domain
 * XML from stdin and exits 0. Built like esfm-hook's front (libc only, static
 * where the toolchain allows); make bench prints the annotated prepare next
 * to it.
 */
#include <errno.h>
#include <unistd.h>

int main(void)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0)
		if (n < 0 && errno != EINTR)
			return 0;
	return 0;
}
