/* SPDX-License-Identifier: MIT */
/*
 * esfm-sysfs-sim: a FUSE stand-in for the PCI part of /sys that reacts to
 * writes the way drivers/pci/iov.c, drivers/pci/pci-sysfs.c and
 * drivers/base/{bus,dd}.c do, plus a control file for fault injection.
 *
 * All state lives in one struct sim guarded by sim->lock; every function
 * below except sim_topology_load, sim_free and the sim_buf/parse helpers
 * expects the caller to hold it. Kernel-side operations return 0 or -errno,
 * exactly the errno a write(2) on the real attribute would fail with.
 */
#ifndef ESFM_SIM_H
#define ESFM_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SIM_PROG	 "esfm-sysfs-sim"
#define SIM_BDF_LEN	 13 /* "dddd:bb:dd.f" plus NUL */
#define SIM_ROOT_LEN	 16 /* "pcidddd:bb" plus NUL */
#define SIM_NAME_MAX	 64 /* driver names */
#define SIM_PATH_MAX	 512
#define SIM_ATTR_MAX	 128
#define SIM_STORE_MAX	 4095 /* sysfs hands a store at most PAGE_SIZE - 1 bytes */
#define SIM_FILE_SIZE	 4096 /* what stat(2) says about every sysfs attribute */
#define SIM_QMAX_LIMIT	 2048 /* QDMA queues per card */
#define SIM_NO_DRIVER	 (-1)
#define SIM_NO_GROUP	 (-1)
#define SIM_CONTROL_NAME "sim-control"

/* Growing text buffer; zero-initialised is empty. */
struct sim_buf {
	char *data;
	size_t len;
	size_t cap;
};

enum sim_dev_kind {
	SIM_DEV_PLAIN,
	SIM_DEV_PF,
	SIM_DEV_VF,
};

struct sim_dev;

struct sim_sriov {
	unsigned total;
	unsigned num;
	unsigned offset;
	unsigned stride;
	uint16_t vf_device;
	int vf_driver;
	bool autoprobe;
	/* All possible VFs, allocated once so their addresses and pointers never move. */
	struct sim_dev *vfs;
};

struct sim_dev {
	enum sim_dev_kind kind;
	unsigned domain;
	unsigned bus;
	unsigned devfn;
	char bdf[SIM_BDF_LEN];
	/* The devices/ directory holding it; VFs share their PF's. */
	char root[SIM_ROOT_LEN];
	bool present;
	uint16_t vendor;
	uint16_t device;
	/* What the config space will say after the next rescan (a new bitstream). */
	uint16_t rescan_vendor;
	uint16_t rescan_device;
	uint32_t class_code;
	int driver;
	/* The driver whose ID table matches this device. */
	int default_driver;
	char *override;
	int iommu_group;
	struct sim_sriov sriov;
	struct sim_dev *pf;
	unsigned vf_index;
	bool qdma;
	unsigned qmax;
	bool queues_active;
};

/* A fault or delay armed from sim-control; bdf "-" means a bus-level file. */
struct sim_inject {
	char bdf[SIM_BDF_LEN];
	char attr[SIM_ATTR_MAX];
	int value;
};

struct sim {
	pthread_mutex_t lock;
	struct sim_dev *devs; /* from the topology, in file order */
	size_t ndevs;
	char (*drivers)[SIM_NAME_MAX];
	size_t ndrivers;
	struct sim_dev **groups; /* iommu group number -> device, NULL when free */
	size_t ngroups;
	struct sim_inject *fails;
	size_t nfails;
	struct sim_inject *delays;
	size_t ndelays;
	bool numvfs_ebusy_rule;
	struct sim_buf log;
};

/* util.c: buffers and the kernel's number parsers. */
void sim_buf_reset(struct sim_buf *buf);
void sim_buf_free(struct sim_buf *buf);
/* Aborts on allocation failure: a simulator that silently drops text would lie to tests. */
void sim_buf_printf(struct sim_buf *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sim_buf_append(struct sim_buf *buf, const char *text, size_t len);
void *sim_xcalloc(size_t n, size_t size);
char *sim_xstrdup(const char *s);
/* kstrtoul(s, 0, ...): optional '+', 0x/0 prefixes, one trailing newline. 0, -EINVAL or -ERANGE. */
int sim_kstrtoul(const char *s, unsigned long *out);
/* kstrtobool: y/Y/1/on true, n/N/0/off false. 0 or -EINVAL. */
int sim_kstrtobool(const char *s, bool *out);
/* Copy @s without one trailing newline into @out (size @len). -EINVAL if it does not fit. */
int sim_strip_newline(const char *s, char *out, size_t len);
/* Strict "dddd:bb:dd.f" (hex, either case). Returns 0 or -EINVAL. */
int sim_parse_bdf(const char *s, unsigned *domain, unsigned *bus, unsigned *devfn);
void sim_format_bdf(char out[SIM_BDF_LEN], unsigned domain, unsigned bus, unsigned devfn);
/* Errno by its symbolic name ("EBUSY"); 0 when unknown. */
int sim_errno_by_name(const char *name);

/* topology.c */
/* Load @path into a zeroed @sim. Returns 0, or -1 with "file:line: what" in @msg. */
int sim_topology_load(struct sim *sim, const char *path, char *msg, size_t msglen);
void sim_free(struct sim *sim);
int sim_driver_find(const struct sim *sim, const char *name);

/* model.c: what the kernel does on each write. */
/* The present device named exactly @name, or NULL. */
struct sim_dev *sim_dev_find(struct sim *sim, const char *name);
/* Any device the topology knows by @bdf, present or removed (never a VF). */
struct sim_dev *sim_topology_dev(struct sim *sim, const char *bdf);
bool sim_driver_matches(const struct sim *sim, const struct sim_dev *dev, int driver);
int sim_store_numvfs(struct sim *sim, struct sim_dev *pf, const char *buf);
int sim_store_autoprobe(struct sim *sim, struct sim_dev *pf, const char *buf);
int sim_store_override(struct sim *sim, struct sim_dev *dev, const char *buf);
int sim_store_remove(struct sim *sim, struct sim_dev *dev, const char *buf);
int sim_store_qmax(struct sim *sim, struct sim_dev *pf, const char *buf);
int sim_store_rescan(struct sim *sim, const char *buf);
int sim_store_drivers_probe(struct sim *sim, const char *buf);
int sim_store_bind(struct sim *sim, int driver, const char *buf);
int sim_store_unbind(struct sim *sim, int driver, const char *buf);
/* Bring a device onto the bus: fresh pci_dev state, IOMMU group, driver probe. */
void sim_dev_add(struct sim *sim, struct sim_dev *dev);

/* tree.c: the directory tree below the mount point. */
enum sim_node_kind {
	SIM_NODE_DIR,
	SIM_NODE_FILE,
	SIM_NODE_LINK,
};

enum sim_dir_id {
	SIM_DIR_ROOT,
	SIM_DIR_BUS,
	SIM_DIR_BUS_PCI,
	SIM_DIR_BUS_DEVICES,
	SIM_DIR_DRIVERS,
	SIM_DIR_DRIVER,
	SIM_DIR_DEVICES,
	SIM_DIR_PCI_ROOT,
	SIM_DIR_DEV,
	SIM_DIR_DEV_QDMA,
	SIM_DIR_KERNEL,
	SIM_DIR_GROUPS,
	SIM_DIR_GROUP,
	SIM_DIR_GROUP_DEVICES,
};

enum sim_file_id {
	SIM_FILE_DEV_ATTR,
	SIM_FILE_DRIVERS_PROBE,
	SIM_FILE_RESCAN,
	SIM_FILE_BIND,
	SIM_FILE_UNBIND,
	SIM_FILE_CONTROL,
};

struct sim_attr;

struct sim_node {
	enum sim_node_kind kind;
	enum sim_dir_id dir;
	enum sim_file_id file;
	mode_t mode;
	struct sim_dev *dev;
	int driver;
	int group;
	const struct sim_attr *attr;
	char root[SIM_ROOT_LEN];
	char target[SIM_PATH_MAX];
	/* Canonical path below the mount root, for the write log. */
	char path[SIM_PATH_MAX];
};

/* Resolve @path ("/bus/pci/..."). Returns 0 or -ENOENT. */
int sim_resolve(struct sim *sim, const char *path, struct sim_node *node);
typedef int (*sim_dir_filler)(void *ctx, const char *name);
/* List a directory node's entries (without "." and ".."). */
void sim_list_dir(struct sim *sim, const struct sim_node *dir, sim_dir_filler fill, void *ctx);
/* Render a readable file. Returns 0 or -errno. */
int sim_read_file(struct sim *sim, const struct sim_node *file, struct sim_buf *out);
/* Apply a store to a writable attribute or bus file (not sim-control). */
int sim_write_node(struct sim *sim, const struct sim_node *file, const char *buf);
/* How sim-control names the file: the attribute below its device ("qdma/qmax"), else the path. */
const char *sim_node_attr_name(const struct sim_node *node);

/* control.c: sim-control, injected faults and the write log. */
/* Run one or more command lines. Returns 0 or -EINVAL/-ENODEV. */
int sim_control(struct sim *sim, const char *buf);
/* Milliseconds to sleep before writing @node (0 for none). */
unsigned sim_delay_for(const struct sim *sim, const struct sim_node *node);
/* Consume an armed failure for @node: its errno, or 0. */
int sim_take_fail(struct sim *sim, const struct sim_node *node);
void sim_log_write(struct sim *sim, const struct sim_node *node, const char *buf);

#endif
