// SPDX-License-Identifier: MIT
/*
 * esfm-hook: the libvirt qemu hook (a hooks/qemu.d/ drop-in, or hooks/qemu).
 *
 *   esfm-hook <domain> <op> <subop> <extra>   domain XML on stdin
 *
 * libvirtd runs this for every VM on the host, inside its start path. For a
 * domain without an esfm annotation it must cost close to nothing, so this
 * front links nothing but libc (statically where possible): it drains stdin
 * (libvirt writes the whole XML there), looks for the esfm namespace, and
 * exits 0 without touching a file. A domain with Nova's metadata costs one
 * more look (novascan.h: an esfm extra spec, or its flavor in a pool file).
 * Only for an annotated domain, or a Nova one that may ask for VFs, does it
 * exec esfm-hook-handler, found next to its own real path, with the same argv
 * and the XML on stdin (through a memfd).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hookscan.h"
#include "novascan.h"
#include "paths.h" /* macros only: the front links nothing of src/ */

#define INPUT_MAX (16u << 20)

static int wanted_op(const char *op, const char *subop)
{
	return (!strcmp(op, "prepare") && !strcmp(subop, "begin")) ||
	       (!strcmp(op, "started") && !strcmp(subop, "begin")) ||
	       (!strcmp(op, "release") && !strcmp(subop, "end")) ||
	       (!strcmp(op, "reconnect") && !strcmp(subop, "begin"));
}

static int may_fail_start(const char *op)
{
	return !strcmp(op, "prepare") || !strcmp(op, "started");
}

/* A name or path as it may appear in one line of stderr: control characters escaped. */
static const char *printable(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* Put @len bytes of @xml on a fresh stdin for the handler. */
static int xml_to_stdin(const char *xml, size_t len)
{
	int fd = memfd_create("esfm-domain-xml", 0);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, xml + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		done += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, STDIN_FILENO) < 0)
		goto fail;
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

/*
 * A domain without the esfm namespace but with Nova's: 1 when it may ask for
 * VFs (the handler decides), 0 when it cannot, -1 (errno EFBIG) when it is too
 * large to tell.
 */
static int nova_may_ask(const struct esfm_hookscan *scan)
{
	char pools[PATH_MAX];
	const char *dir = getenv("ESFM_CONF_DIR");
	int r = esfm_hookscan_nova_result(scan);

	if (r <= 0)
		return r;
	if (!dir || !dir[0])
		dir = ESFM_SYSCONFDIR;
	if ((size_t)snprintf(pools, sizeof(pools), "%s/pools.d", dir) >= sizeof(pools))
		return 1; /* the handler reports the over-long path */
	return esfm_novascan_may_ask(scan->buf, scan->len, pools);
}

static int handler_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n < 0)
		return -1;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) + sizeof("/esfm-hook-handler") > len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(slash, "/esfm-hook-handler");
	return 0;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX] = "esfm-hook-handler", name[1024], shown[PATH_MAX];
	struct esfm_hookscan scan;
	int r;

	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "--help"))) {
		if (!strcmp(argv[1], "--version"))
			printf("esfm-hook %s\n", ESFM_VERSION);
		else
			printf("Usage: esfm-hook <domain> <op> <subop> <extra> < domain.xml\n"
			       "libvirt runs this as a qemu hook; see esfm-hook(8).\n");
		return 0;
	}
	if (argc < 4) {
		fprintf(stderr,
			"esfm-hook: usage: esfm-hook <domain> <op> <subop> <extra> < domain.xml\n");
		return 2;
	}
	/* Always drain stdin: libvirt writes the whole domain XML there. */
	esfm_hookscan_init(&scan, INPUT_MAX);
	r = esfm_hookscan_read_fd(&scan, STDIN_FILENO);
	if (r == 0)
		r = esfm_hookscan_result(&scan);
	if (r == 0 && wanted_op(argv[2], argv[3]))
		r = nova_may_ask(&scan);
	if (r < 0) {
		int e = errno;

		esfm_hookscan_fini(&scan);
		if (!may_fail_start(argv[2]) || !wanted_op(argv[2], argv[3]))
			return 0;
		fprintf(stderr, "esfm: domain '%s': cannot read the domain XML: %s\n",
			printable(argv[1], name, sizeof(name)), strerror(e));
		return 1;
	}
	if (r == 0 || !wanted_op(argv[2], argv[3])) {
		esfm_hookscan_fini(&scan);
		return 0;
	}
	r = handler_path(path, sizeof(path)) == 0 && xml_to_stdin(scan.buf, scan.len) == 0;
	esfm_hookscan_fini(&scan);
	if (r)
		execv(path, argv);
	/* Stopping or reconnecting must never fail: libvirt would kill a running guest. */
	if (!may_fail_start(argv[2]))
		return 0;
	r = errno;
	fprintf(stderr, "esfm: domain '%s': cannot run %s: %s; reinstall esfm\n",
		printable(argv[1], name, sizeof(name)), printable(path, shown, sizeof(shown)),
		strerror(r));
	return 1;
}
