/* SPDX-License-Identifier: MIT */
/*
 * The tree below the mount point, computed from the device state on every
 * lookup: nothing is cached, so a VF that is gone is gone for the next
 * stat(2). Symlinks are relative, exactly as sysfs makes them, so they
 * resolve inside the mount.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MAX_DEPTH 8

enum attr_scope {
	ON_ALL,
	ON_PF,
	ON_QDMA,
};

struct sim_attr {
	const char *name;
	mode_t mode;
	enum attr_scope scope;
	void (*show)(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out);
	int (*store)(struct sim *sim, struct sim_dev *dev, const char *buf);
};

static void show_vendor(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "0x%04x\n", dev->vendor);
}

static void show_device(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "0x%04x\n", dev->device);
}

static void show_class(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "0x%06x\n", dev->class_code);
}

/* The kernel prints the override with "%s\n", so an unset one reads "(null)". */
static void show_override(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "%s\n", dev->override ? dev->override : "(null)");
}

static void show_totalvfs(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "%u\n", dev->sriov.total);
}

static void show_numvfs(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "%u\n", dev->sriov.num);
}

static void show_offset(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "%u\n", dev->sriov.offset);
}

static void show_stride(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "%u\n", dev->sriov.stride);
}

static void show_vf_device(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "%x\n", dev->sriov.vf_device);
}

static void show_autoprobe(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "%u\n", dev->sriov.autoprobe ? 1u : 0u);
}

static void show_qmax(const struct sim *sim, const struct sim_dev *dev, struct sim_buf *out)
{
	(void)sim;
	sim_buf_printf(out, "%u\n", dev->qmax);
}

static const struct sim_attr dev_attrs[] = {
	{"vendor", 0444, ON_ALL, show_vendor, NULL},
	{"device", 0444, ON_ALL, show_device, NULL},
	{"class", 0444, ON_ALL, show_class, NULL},
	{"driver_override", 0644, ON_ALL, show_override, sim_store_override},
	{"remove", 0200, ON_ALL, NULL, sim_store_remove},
	{"sriov_totalvfs", 0444, ON_PF, show_totalvfs, NULL},
	{"sriov_numvfs", 0644, ON_PF, show_numvfs, sim_store_numvfs},
	{"sriov_offset", 0444, ON_PF, show_offset, NULL},
	{"sriov_stride", 0444, ON_PF, show_stride, NULL},
	{"sriov_vf_device", 0444, ON_PF, show_vf_device, NULL},
	{"sriov_drivers_autoprobe", 0644, ON_PF, show_autoprobe, sim_store_autoprobe},
	{"qdma/qmax", 0644, ON_QDMA, show_qmax, sim_store_qmax},
};

#define N_DEV_ATTRS (sizeof(dev_attrs) / sizeof(dev_attrs[0]))

static bool attr_applies(const struct sim_attr *attr, const struct sim_dev *dev)
{
	switch (attr->scope) {
	case ON_PF:
		return dev->kind == SIM_DEV_PF;
	case ON_QDMA:
		return dev->qdma && dev->kind != SIM_DEV_VF;
	case ON_ALL:
		break;
	}
	return true;
}

static const struct sim_attr *attr_find(const struct sim_dev *dev, const char *name)
{
	for (size_t i = 0; i < N_DEV_ATTRS; i++)
		if (!strcmp(dev_attrs[i].name, name) && attr_applies(&dev_attrs[i], dev))
			return &dev_attrs[i];
	return NULL;
}

/* Present devices in topology order, each PF followed by its VFs. */
struct dev_iter {
	size_t dev;
	long vf; /* -1: the topology device itself */
};

static struct sim_dev *dev_next(struct sim *sim, struct dev_iter *it)
{
	while (it->dev < sim->ndevs) {
		struct sim_dev *top = &sim->devs[it->dev];
		struct sim_dev *cand;

		if (it->vf < 0) {
			cand = top;
		} else if ((unsigned long)it->vf < top->sriov.num) {
			cand = &top->sriov.vfs[it->vf];
		} else {
			it->dev++;
			it->vf = -1;
			continue;
		}
		it->vf++;
		if (cand->present)
			return cand;
	}
	return NULL;
}

static bool root_exists(const struct sim *sim, const char *root)
{
	for (size_t i = 0; i < sim->ndevs; i++)
		if (!strcmp(sim->devs[i].root, root))
			return true;
	return false;
}

static int set_dir(struct sim_node *node, enum sim_dir_id dir)
{
	node->kind = SIM_NODE_DIR;
	node->dir = dir;
	node->mode = 0755;
	return 0;
}

static int set_file(struct sim_node *node, enum sim_file_id file, mode_t mode)
{
	node->kind = SIM_NODE_FILE;
	node->file = file;
	node->mode = mode;
	return 0;
}

static int set_link(struct sim_node *node, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int set_link(struct sim_node *node, const char *fmt, ...)
{
	va_list ap;

	node->kind = SIM_NODE_LINK;
	node->mode = 0777;
	va_start(ap, fmt);
	vsnprintf(node->target, sizeof(node->target), fmt, ap);
	va_end(ap);
	return 0;
}

static int resolve_bus(struct sim *sim, char **c, size_t n, struct sim_node *node)
{
	struct sim_dev *dev;

	if (n == 0)
		return set_dir(node, SIM_DIR_BUS);
	if (strcmp(c[0], "pci"))
		return -ENOENT;
	if (n == 1)
		return set_dir(node, SIM_DIR_BUS_PCI);
	if (n == 2 && !strcmp(c[1], "drivers_probe"))
		return set_file(node, SIM_FILE_DRIVERS_PROBE, 0200);
	if (n == 2 && !strcmp(c[1], "rescan"))
		return set_file(node, SIM_FILE_RESCAN, 0200);
	if (!strcmp(c[1], "devices")) {
		if (n == 2)
			return set_dir(node, SIM_DIR_BUS_DEVICES);
		dev = sim_dev_find(sim, c[2]);
		if (n > 3 || !dev)
			return -ENOENT;
		return set_link(node, "../../../devices/%s/%s", dev->root, dev->bdf);
	}
	if (strcmp(c[1], "drivers"))
		return -ENOENT;
	if (n == 2)
		return set_dir(node, SIM_DIR_DRIVERS);
	node->driver = sim_driver_find(sim, c[2]);
	if (node->driver == SIM_NO_DRIVER || n > 4)
		return -ENOENT;
	if (n == 3)
		return set_dir(node, SIM_DIR_DRIVER);
	if (!strcmp(c[3], "bind"))
		return set_file(node, SIM_FILE_BIND, 0200);
	if (!strcmp(c[3], "unbind"))
		return set_file(node, SIM_FILE_UNBIND, 0200);
	dev = sim_dev_find(sim, c[3]);
	if (!dev || dev->driver != node->driver)
		return -ENOENT;
	return set_link(node, "../../../../devices/%s/%s", dev->root, dev->bdf);
}

static int resolve_virtfn(const struct sim_dev *pf, const char *suffix, struct sim_node *node)
{
	char *end;
	unsigned long i;

	if (pf->kind != SIM_DEV_PF || !*suffix || (suffix[0] == '0' && suffix[1]))
		return -ENOENT;
	i = strtoul(suffix, &end, 10);
	if (*end || i >= pf->sriov.num || !pf->sriov.vfs[i].present)
		return -ENOENT;
	return set_link(node, "../%s", pf->sriov.vfs[i].bdf);
}

static int resolve_dev_entry(struct sim *sim, struct sim_dev *dev, const char *name,
			     struct sim_node *node)
{
	node->attr = attr_find(dev, name);
	if (node->attr)
		return set_file(node, SIM_FILE_DEV_ATTR, node->attr->mode);
	if (!strcmp(name, "qdma") && attr_find(dev, "qdma/qmax"))
		return set_dir(node, SIM_DIR_DEV_QDMA);
	if (!strcmp(name, "driver") && dev->driver != SIM_NO_DRIVER)
		return set_link(node, "../../../bus/pci/drivers/%s", sim->drivers[dev->driver]);
	if (!strcmp(name, "iommu_group") && dev->iommu_group != SIM_NO_GROUP)
		return set_link(node, "../../../kernel/iommu_groups/%d", dev->iommu_group);
	if (!strcmp(name, "physfn") && dev->kind == SIM_DEV_VF)
		return set_link(node, "../%s", dev->pf->bdf);
	if (!strncmp(name, "virtfn", 6))
		return resolve_virtfn(dev, name + 6, node);
	return -ENOENT;
}

static int resolve_devices(struct sim *sim, char **c, size_t n, struct sim_node *node)
{
	char attr[SIM_ATTR_MAX];

	if (n == 0)
		return set_dir(node, SIM_DIR_DEVICES);
	if (!root_exists(sim, c[0]))
		return -ENOENT;
	snprintf(node->root, sizeof(node->root), "%s", c[0]);
	if (n == 1)
		return set_dir(node, SIM_DIR_PCI_ROOT);
	node->dev = sim_dev_find(sim, c[1]);
	if (!node->dev || strcmp(node->dev->root, c[0]) || n > 4)
		return -ENOENT;
	if (n == 2)
		return set_dir(node, SIM_DIR_DEV);
	if (n == 3)
		return resolve_dev_entry(sim, node->dev, c[2], node);
	if (strcmp(c[2], "qdma") ||
	    snprintf(attr, sizeof(attr), "qdma/%s", c[3]) >= (int)sizeof(attr))
		return -ENOENT;
	node->attr = attr_find(node->dev, attr);
	if (!node->attr)
		return -ENOENT;
	return set_file(node, SIM_FILE_DEV_ATTR, node->attr->mode);
}

static int resolve_kernel(struct sim *sim, char **c, size_t n, struct sim_node *node)
{
	struct sim_dev *dev;
	unsigned long group;
	char *end;

	if (n == 0)
		return set_dir(node, SIM_DIR_KERNEL);
	if (strcmp(c[0], "iommu_groups"))
		return -ENOENT;
	if (n == 1)
		return set_dir(node, SIM_DIR_GROUPS);
	group = strtoul(c[1], &end, 10);
	if (!*c[1] || *end || (c[1][0] == '0' && c[1][1]) || group >= sim->ngroups ||
	    !sim->groups[group] || n > 4)
		return -ENOENT;
	node->group = (int)group;
	dev = sim->groups[group];
	if (n == 2)
		return set_dir(node, SIM_DIR_GROUP);
	if (strcmp(c[2], "devices"))
		return -ENOENT;
	if (n == 3)
		return set_dir(node, SIM_DIR_GROUP_DEVICES);
	if (strcmp(c[3], dev->bdf))
		return -ENOENT;
	return set_link(node, "../../../../devices/%s/%s", dev->root, dev->bdf);
}

int sim_resolve(struct sim *sim, const char *path, struct sim_node *node)
{
	char copy[SIM_PATH_MAX];
	char *c[MAX_DEPTH];
	char *save = NULL;
	size_t n = 0;

	memset(node, 0, sizeof(*node));
	node->driver = SIM_NO_DRIVER;
	node->group = SIM_NO_GROUP;
	while (*path == '/')
		path++;
	if (snprintf(node->path, sizeof(node->path), "%s", path) >= (int)sizeof(node->path))
		return -ENOENT;
	memcpy(copy, node->path, sizeof(copy));
	for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (n == MAX_DEPTH)
			return -ENOENT;
		c[n++] = t;
	}
	if (n == 0)
		return set_dir(node, SIM_DIR_ROOT);
	if (!strcmp(c[0], SIM_CONTROL_NAME))
		return n == 1 ? set_file(node, SIM_FILE_CONTROL, 0600) : -ENOENT;
	if (!strcmp(c[0], "bus"))
		return resolve_bus(sim, c + 1, n - 1, node);
	if (!strcmp(c[0], "devices"))
		return resolve_devices(sim, c + 1, n - 1, node);
	if (!strcmp(c[0], "kernel"))
		return resolve_kernel(sim, c + 1, n - 1, node);
	return -ENOENT;
}

static void list_dev_dir(const struct sim_dev *dev, sim_dir_filler fill, void *ctx)
{
	char name[32];

	for (size_t i = 0; i < N_DEV_ATTRS; i++)
		if (!strchr(dev_attrs[i].name, '/') && attr_applies(&dev_attrs[i], dev))
			fill(ctx, dev_attrs[i].name);
	if (attr_find(dev, "qdma/qmax"))
		fill(ctx, "qdma");
	if (dev->driver != SIM_NO_DRIVER)
		fill(ctx, "driver");
	if (dev->iommu_group != SIM_NO_GROUP)
		fill(ctx, "iommu_group");
	if (dev->kind == SIM_DEV_VF)
		fill(ctx, "physfn");
	for (unsigned i = 0; dev->kind == SIM_DEV_PF && i < dev->sriov.num; i++)
		if (dev->sriov.vfs[i].present) {
			snprintf(name, sizeof(name), "virtfn%u", i);
			fill(ctx, name);
		}
}

static void list_devices(struct sim *sim, const char *root, int driver, sim_dir_filler fill,
			 void *ctx)
{
	struct dev_iter it = {0, -1};
	struct sim_dev *dev;

	while ((dev = dev_next(sim, &it)))
		if ((!root || !strcmp(dev->root, root)) &&
		    (driver == SIM_NO_DRIVER || dev->driver == driver))
			fill(ctx, dev->bdf);
}

static void list_roots(struct sim *sim, sim_dir_filler fill, void *ctx)
{
	for (size_t i = 0; i < sim->ndevs; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(sim->devs[j].root, sim->devs[i].root);
		if (!seen)
			fill(ctx, sim->devs[i].root);
	}
}

void sim_list_dir(struct sim *sim, const struct sim_node *dir, sim_dir_filler fill, void *ctx)
{
	char name[24];

	switch (dir->dir) {
	case SIM_DIR_ROOT:
		fill(ctx, "bus");
		fill(ctx, "devices");
		fill(ctx, "kernel");
		fill(ctx, SIM_CONTROL_NAME);
		break;
	case SIM_DIR_BUS:
		fill(ctx, "pci");
		break;
	case SIM_DIR_BUS_PCI:
		fill(ctx, "devices");
		fill(ctx, "drivers");
		fill(ctx, "drivers_probe");
		fill(ctx, "rescan");
		break;
	case SIM_DIR_BUS_DEVICES:
		list_devices(sim, NULL, SIM_NO_DRIVER, fill, ctx);
		break;
	case SIM_DIR_DRIVERS:
		for (size_t i = 0; i < sim->ndrivers; i++)
			fill(ctx, sim->drivers[i]);
		break;
	case SIM_DIR_DRIVER:
		fill(ctx, "bind");
		fill(ctx, "unbind");
		list_devices(sim, NULL, dir->driver, fill, ctx);
		break;
	case SIM_DIR_DEVICES:
		list_roots(sim, fill, ctx);
		break;
	case SIM_DIR_PCI_ROOT:
		list_devices(sim, dir->root, SIM_NO_DRIVER, fill, ctx);
		break;
	case SIM_DIR_DEV:
		list_dev_dir(dir->dev, fill, ctx);
		break;
	case SIM_DIR_DEV_QDMA:
		fill(ctx, "qmax");
		break;
	case SIM_DIR_KERNEL:
		fill(ctx, "iommu_groups");
		break;
	case SIM_DIR_GROUPS:
		for (size_t i = 0; i < sim->ngroups; i++)
			if (sim->groups[i]) {
				snprintf(name, sizeof(name), "%zu", i);
				fill(ctx, name);
			}
		break;
	case SIM_DIR_GROUP:
		fill(ctx, "devices");
		break;
	case SIM_DIR_GROUP_DEVICES:
		fill(ctx, sim->groups[dir->group]->bdf);
		break;
	}
}

int sim_read_file(struct sim *sim, const struct sim_node *file, struct sim_buf *out)
{
	if (file->file == SIM_FILE_CONTROL) {
		if (sim->log.len)
			sim_buf_append(out, sim->log.data, sim->log.len);
		return 0;
	}
	if (file->file != SIM_FILE_DEV_ATTR || !file->attr->show)
		return -EACCES;
	file->attr->show(sim, file->dev, out);
	return 0;
}

int sim_write_node(struct sim *sim, const struct sim_node *file, const char *buf)
{
	switch (file->file) {
	case SIM_FILE_DEV_ATTR:
		if (!file->attr->store)
			return -EACCES;
		return file->attr->store(sim, file->dev, buf);
	case SIM_FILE_DRIVERS_PROBE:
		return sim_store_drivers_probe(sim, buf);
	case SIM_FILE_RESCAN:
		return sim_store_rescan(sim, buf);
	case SIM_FILE_BIND:
		return sim_store_bind(sim, file->driver, buf);
	case SIM_FILE_UNBIND:
		return sim_store_unbind(sim, file->driver, buf);
	case SIM_FILE_CONTROL:
		break;
	}
	return -EACCES;
}

const char *sim_node_attr_name(const struct sim_node *node)
{
	return node->attr ? node->attr->name : node->path;
}
