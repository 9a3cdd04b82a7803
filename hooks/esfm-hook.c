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
 * exits 0 without touching a file. Only for an annotated domain does it exec
 * esfm-hook-handler, found next to its own real path, with the same argv and
 * the XML on stdin (through a memfd).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ANNOTATION_NS "urn:esfm:vf:1"
#define INPUT_MAX     (16u << 20)

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

/*
 * Past INPUT_MAX, keep draining stdin (libvirt's writer must not get EPIPE)
 * and keep looking for the namespace across chunk boundaries. Returns 1 if
 * the oversized input mentions it, 0 if not, -1 on a read error.
 */
static int drain_and_scan(const char *tail, size_t tail_len)
{
	char buf[65536 + sizeof(ANNOTATION_NS)];
	size_t keep = sizeof(ANNOTATION_NS) - 2, have;
	int found = 0;

	have = tail_len < keep ? tail_len : keep;
	memcpy(buf, tail + tail_len - have, have);
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + have, sizeof(buf) - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return found;
		have += (size_t)n;
		if (!found && memmem(buf, have, ANNOTATION_NS, sizeof(ANNOTATION_NS) - 1))
			found = 1;
		if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			have = keep;
		}
	}
}

/*
 * Read all of stdin; returns the length, or -1 (errno set; EFBIG when an
 * oversized input carries the annotation). *buf is malloc'ed. An oversized
 * input without it returns 0 bytes: nothing for esfm to do.
 */
static ssize_t slurp(char **buf)
{
	size_t cap = 65536, len = 0;
	char *b = malloc(cap);

	if (!b)
		return -1;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= INPUT_MAX) {
				int r = drain_and_scan(b, len);

				free(b);
				if (r == 0) {
					*buf = NULL;
					return 0;
				}
				errno = r > 0 ? EFBIG : errno;
				return -1;
			}
			nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return -1;
			}
			b = nb;
			cap *= 2;
		}
		n = read(STDIN_FILENO, b + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(b);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*buf = b;
	return (ssize_t)len;
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
	char path[PATH_MAX];
	char *xml = NULL;
	ssize_t len;

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
	len = slurp(&xml);
	if (len < 0) {
		if (!may_fail_start(argv[2]) || !wanted_op(argv[2], argv[3]))
			return 0;
		fprintf(stderr, "esfm: domain '%s': cannot read the domain XML: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	if (!xml || !wanted_op(argv[2], argv[3]) ||
	    !memmem(xml, (size_t)len, ANNOTATION_NS, sizeof(ANNOTATION_NS) - 1)) {
		free(xml);
		return 0;
	}
	if (handler_path(path, sizeof(path)) == 0 && xml_to_stdin(xml, (size_t)len) == 0) {
		free(xml);
		execv(path, argv);
	}
	free(xml);
	if (!may_fail_start(argv[2]))
		return 0;
	fprintf(stderr, "esfm: domain '%s': cannot run %s: %s; reinstall esfm\n", argv[1], path,
		strerror(errno));
	return 1;
}
