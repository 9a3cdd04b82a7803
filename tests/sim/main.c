/* SPDX-License-Identifier: MIT */
/*
 * esfm-sysfs-sim: FUSE glue. Every request resolves its path afresh under the
 * state lock, so 64 clients racing binds, reads and VF changes only ever see
 * a consistent tree; the only thing done outside the lock is an injected
 * delay, so a slow write (VF disable) does not freeze readers.
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sim.h"

/* Enough workers that writers sleeping in an injected delay never starve readers. */
#define SIM_FUSE_OPTIONS                                                                           \
	"fsname=esfm-sysfs-sim,subtype=esfm-sysfs-sim,max_threads=96,max_idle_threads=16"

/* Per open(2): sysfs renders a file on the read at offset 0 and serves later offsets from it. */
struct open_file {
	struct sim_buf content;
	bool loaded;
};

static time_t sim_started;

static struct sim *sim_get(void)
{
	return fuse_get_context()->private_data;
}

static int resolve_locked(struct sim *sim, const char *path, struct sim_node *node)
{
	int rc;

	pthread_mutex_lock(&sim->lock);
	rc = sim_resolve(sim, path, node);
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	/* sysfs changes behind the kernel's back: no dentry, attribute or page caching. */
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->direct_io = 1;
	cfg->kernel_cache = 0;
	return fuse_get_context()->private_data;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct sim_node node;
	int rc = resolve_locked(sim_get(), path, &node);

	(void)fi;
	if (rc < 0)
		return rc;
	memset(st, 0, sizeof(*st));
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_atime = st->st_mtime = st->st_ctime = sim_started;
	switch (node.kind) {
	case SIM_NODE_DIR:
		st->st_mode = S_IFDIR | node.mode;
		st->st_nlink = 2;
		break;
	case SIM_NODE_FILE:
		st->st_mode = S_IFREG | node.mode;
		st->st_nlink = 1;
		st->st_size = SIM_FILE_SIZE;
		break;
	case SIM_NODE_LINK:
		st->st_mode = S_IFLNK | node.mode;
		st->st_nlink = 1;
		st->st_size = (off_t)strlen(node.target);
		break;
	}
	return 0;
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	struct sim_node node;
	int rc = resolve_locked(sim_get(), path, &node);

	if (rc < 0)
		return rc;
	if (node.kind != SIM_NODE_LINK)
		return -EINVAL;
	if (size == 0)
		return -EINVAL;
	snprintf(buf, size, "%s", node.target);
	return 0;
}

struct fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
};

static int fill_one(void *ctx, const char *name)
{
	struct fill_ctx *fc = ctx;

	return fc->filler(fc->buf, name, NULL, 0, 0);
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct sim *sim = sim_get();
	struct fill_ctx fc = {buf, filler};
	struct sim_node node;
	int rc;

	(void)offset;
	(void)fi;
	(void)flags;
	pthread_mutex_lock(&sim->lock);
	rc = sim_resolve(sim, path, &node);
	if (rc == 0 && node.kind != SIM_NODE_DIR)
		rc = -ENOTDIR;
	if (rc == 0) {
		filler(buf, ".", NULL, 0, 0);
		filler(buf, "..", NULL, 0, 0);
		sim_list_dir(sim, &node, fill_one, &fc);
	}
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

/* kernfs_fop_open(): even root cannot read a write-only attribute or write a read-only one. */
static int op_open(const char *path, struct fuse_file_info *fi)
{
	int access = fi->flags & O_ACCMODE;
	struct open_file *of;
	struct sim_node node;
	int rc = resolve_locked(sim_get(), path, &node);

	if (rc < 0)
		return rc;
	if (node.kind != SIM_NODE_FILE)
		return -EISDIR;
	if ((access == O_RDONLY || access == O_RDWR) && !(node.mode & 0444))
		return -EACCES;
	if ((access == O_WRONLY || access == O_RDWR) && !(node.mode & 0222))
		return -EACCES;
	of = sim_xcalloc(1, sizeof(*of));
	fi->fh = (uintptr_t)of;
	fi->direct_io = 1;
	return 0;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;

	(void)path;
	if (of) {
		sim_buf_free(&of->content);
		free(of);
	}
	return 0;
}

static int op_read(const char *path, char *buf, size_t size, off_t offset,
		   struct fuse_file_info *fi)
{
	struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;
	struct sim *sim = sim_get();
	struct sim_node node;
	size_t n;
	int rc = 0;

	if (offset < 0)
		return -EINVAL;
	if (offset == 0 || !of->loaded) {
		pthread_mutex_lock(&sim->lock);
		/* The device went away under an open file: kernfs says ENODEV. */
		rc = sim_resolve(sim, path, &node) < 0 ? -ENODEV : 0;
		sim_buf_reset(&of->content);
		if (rc == 0)
			rc = sim_read_file(sim, &node, &of->content);
		pthread_mutex_unlock(&sim->lock);
		if (rc < 0)
			return rc;
		of->loaded = true;
	}
	if ((size_t)offset >= of->content.len)
		return 0;
	n = of->content.len - (size_t)offset;
	if (n > size)
		n = size;
	memcpy(buf, of->content.data + offset, n);
	return (int)n;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int sim_write(struct sim *sim, const char *path, const char *buf)
{
	struct sim_node node;
	unsigned delay_ms = 0;
	int rc;

	pthread_mutex_lock(&sim->lock);
	rc = sim_resolve(sim, path, &node);
	if (rc == 0 && node.file == SIM_FILE_CONTROL) {
		rc = sim_control(sim, buf);
		pthread_mutex_unlock(&sim->lock);
		return rc;
	}
	if (rc == 0)
		delay_ms = sim_delay_for(sim, &node);
	pthread_mutex_unlock(&sim->lock);
	if (rc < 0)
		return -ENODEV;
	if (delay_ms)
		sleep_ms(delay_ms);

	pthread_mutex_lock(&sim->lock);
	rc = sim_resolve(sim, path, &node) < 0 ? -ENODEV : 0;
	if (rc == 0) {
		sim_log_write(sim, &node, buf);
		rc = -sim_take_fail(sim, &node);
	}
	if (rc == 0)
		rc = sim_write_node(sim, &node, buf);
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

/* Every write(2) is one store, as in sysfs; the offset does not matter. */
static int op_write(const char *path, const char *data, size_t size, off_t offset,
		    struct fuse_file_info *fi)
{
	char buf[SIM_STORE_MAX + 1];
	size_t len = size < SIM_STORE_MAX ? size : SIM_STORE_MAX;
	int rc;

	(void)offset;
	(void)fi;
	memcpy(buf, data, len);
	buf[len] = '\0';
	rc = sim_write(sim_get(), path, buf);
	return rc < 0 ? rc : (int)len;
}

/* `echo 1 > attr` truncates first; sysfs ignores that, so do we. */
static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct sim_node node;
	int rc = resolve_locked(sim_get(), path, &node);

	(void)size;
	(void)fi;
	if (rc < 0)
		return rc;
	if (node.kind != SIM_NODE_FILE)
		return -EISDIR;
	return node.mode & 0222 ? 0 : -EACCES;
}

static const struct fuse_operations sim_ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.readdir = op_readdir,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.truncate = op_truncate,
	.release = op_release,
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [--check] TOPOLOGY [MOUNTPOINT [FUSE-OPTION...]]\n"
		"Serve a simulated /sys (PCI, SR-IOV, QDMA) below MOUNTPOINT; --check only "
		"validates TOPOLOGY.\n",
		SIM_PROG);
}

int main(int argc, char **argv)
{
	static struct sim sim;
	char msg[512];
	char **fargv;
	int argi = 1, fargc = 0, rc;
	bool check = false;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--check")) {
		check = true;
		argi++;
	}
	if (argi >= argc || (!check && argi + 1 >= argc)) {
		usage(stderr);
		return 2;
	}
	if (sim_topology_load(&sim, argv[argi], msg, sizeof(msg)) < 0) {
		fprintf(stderr, "%s: %s\n", SIM_PROG, msg);
		sim_free(&sim);
		return 2;
	}
	if (check) {
		printf("topology OK\n");
		sim_free(&sim);
		return 0;
	}
	sim_started = time(NULL);
	fargv = sim_xcalloc((size_t)argc + 4, sizeof(*fargv));
	fargv[fargc++] = argv[0];
	fargv[fargc++] = argv[argi + 1];
	fargv[fargc++] = "-o";
	fargv[fargc++] = SIM_FUSE_OPTIONS;
	for (int i = argi + 2; i < argc; i++)
		fargv[fargc++] = argv[i];
	rc = fuse_main(fargc, fargv, &sim_ops, &sim);
	free(fargv);
	sim_free(&sim);
	return rc ? 1 : 0;
}
