/* SPDX-License-Identifier: MIT */
/*
 * What the kernel does when an attribute is written. Each store mirrors the
 * checks of the kernel function named above it, in the kernel's order, so the
 * errno a test sees is the one the real /sys would give (Linux 6.1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct sim_dev *sim_topology_dev(struct sim *sim, const char *bdf)
{
	for (size_t i = 0; i < sim->ndevs; i++)
		if (!strcmp(sim->devs[i].bdf, bdf))
			return &sim->devs[i];
	return NULL;
}

/* bus_find_device_by_name(): exact, case-sensitive match on present devices. */
struct sim_dev *sim_dev_find(struct sim *sim, const char *name)
{
	for (size_t i = 0; i < sim->ndevs; i++) {
		struct sim_dev *dev = &sim->devs[i];

		if (dev->present && !strcmp(dev->bdf, name))
			return dev;
		for (unsigned v = 0; v < dev->sriov.num; v++)
			if (dev->sriov.vfs[v].present && !strcmp(dev->sriov.vfs[v].bdf, name))
				return &dev->sriov.vfs[v];
	}
	return NULL;
}

/* Groups are numbered like the kernel's IDA: the lowest free number. */
static void group_attach(struct sim *sim, struct sim_dev *dev)
{
	for (size_t n = 0; n < sim->ngroups; n++)
		if (!sim->groups[n]) {
			sim->groups[n] = dev;
			dev->iommu_group = (int)n;
			return;
		}
	dev->iommu_group = SIM_NO_GROUP;
}

static void group_detach(struct sim *sim, struct sim_dev *dev)
{
	if (dev->iommu_group != SIM_NO_GROUP)
		sim->groups[dev->iommu_group] = NULL;
	dev->iommu_group = SIM_NO_GROUP;
}

/* pci_match_device(): a driver_override decides alone; vfio-pci has no ID table of its own. */
bool sim_driver_matches(const struct sim *sim, const struct sim_dev *dev, int driver)
{
	if (driver < 0 || (size_t)driver >= sim->ndrivers)
		return false;
	if (dev->override)
		return !strcmp(dev->override, sim->drivers[driver]);
	return driver == dev->default_driver;
}

/* pci_device_can_probe(): with autoprobe off a VF only probes for its driver_override. */
static bool can_probe(const struct sim_dev *dev)
{
	return dev->kind != SIM_DEV_VF || dev->pf->sriov.autoprobe || dev->override;
}

/* device_attach(): bind the first matching driver, if any. */
static void dev_probe(struct sim *sim, struct sim_dev *dev)
{
	int driver;

	if (dev->driver != SIM_NO_DRIVER || !can_probe(dev))
		return;
	driver = dev->override ? sim_driver_find(sim, dev->override) : dev->default_driver;
	if (driver != SIM_NO_DRIVER && sim_driver_matches(sim, dev, driver))
		dev->driver = driver;
}

static void vf_remove(struct sim *sim, struct sim_dev *vf)
{
	if (!vf->present)
		return;
	vf->driver = SIM_NO_DRIVER;
	free(vf->override);
	vf->override = NULL;
	group_detach(sim, vf);
	vf->present = false;
}

static void sriov_resize(struct sim *sim, struct sim_dev *pf, unsigned num)
{
	for (unsigned i = num; i < pf->sriov.num; i++)
		vf_remove(sim, &pf->sriov.vfs[i]);
	for (unsigned i = pf->sriov.num; i < num; i++) {
		struct sim_dev *vf = &pf->sriov.vfs[i];

		vf->vendor = pf->vendor;
		vf->device = pf->sriov.vf_device;
		vf->class_code = pf->class_code;
		sim_dev_add(sim, vf);
	}
	pf->sriov.num = num;
}

/* The PF drivers modelled here disable SR-IOV in their remove callback, as well-behaved ones do. */
static void dev_unbind(struct sim *sim, struct sim_dev *dev)
{
	if (dev->kind == SIM_DEV_PF)
		sriov_resize(sim, dev, 0);
	dev->driver = SIM_NO_DRIVER;
}

/* pci_stop_and_remove_bus_device(): VFs go with their PF. */
static void dev_remove(struct sim *sim, struct sim_dev *dev)
{
	if (dev->kind == SIM_DEV_VF) {
		vf_remove(sim, dev);
		return;
	}
	dev_unbind(sim, dev);
	free(dev->override);
	dev->override = NULL;
	group_detach(sim, dev);
	dev->present = false;
}

void sim_dev_add(struct sim *sim, struct sim_dev *dev)
{
	if (dev->kind != SIM_DEV_VF) {
		dev->vendor = dev->rescan_vendor;
		dev->device = dev->rescan_device;
		dev->sriov.num = 0;
		dev->sriov.autoprobe = true;
		dev->qmax = 0;
		dev->queues_active = false;
	}
	free(dev->override);
	dev->override = NULL;
	dev->driver = SIM_NO_DRIVER;
	dev->present = true;
	group_attach(sim, dev);
	dev_probe(sim, dev);
}

/* drivers/pci/iov.c: sriov_numvfs_store(). */
int sim_store_numvfs(struct sim *sim, struct sim_dev *pf, const char *buf)
{
	unsigned long num;

	if (sim_kstrtoul(buf, &num) < 0 || num > 0xffff)
		return -EINVAL;
	if (num > pf->sriov.total)
		return -ERANGE;
	if (num == pf->sriov.num)
		return 0;
	/* Only the PF's own driver has sriov_configure (vfio-pci's needs enable_sriov=1). */
	if (pf->driver == SIM_NO_DRIVER || pf->driver != pf->default_driver)
		return -ENOENT;
	if (num != 0 && pf->sriov.num != 0 && sim->numvfs_ebusy_rule)
		return -EBUSY;
	sriov_resize(sim, pf, (unsigned)num);
	return 0;
}

/* drivers/pci/iov.c: sriov_drivers_autoprobe_store(). */
int sim_store_autoprobe(struct sim *sim, struct sim_dev *pf, const char *buf)
{
	bool on;

	(void)sim;
	if (sim_kstrtobool(buf, &on) < 0)
		return -EINVAL;
	pf->sriov.autoprobe = on;
	return 0;
}

/* drivers/base/driver.c: driver_set_override(); the name ends at the first newline. */
int sim_store_override(struct sim *sim, struct sim_dev *dev, const char *buf)
{
	size_t len = strcspn(buf, "\n");

	(void)sim;
	if (strlen(buf) >= SIM_STORE_MAX - 1)
		return -EINVAL;
	free(dev->override);
	dev->override = NULL;
	if (len) {
		dev->override = sim_xstrdup(buf);
		dev->override[len] = '\0';
	}
	return 0;
}

/* drivers/pci/pci-sysfs.c: remove_store(); writing 0 does nothing. */
int sim_store_remove(struct sim *sim, struct sim_dev *dev, const char *buf)
{
	unsigned long val;

	if (sim_kstrtoul(buf, &val) < 0)
		return -EINVAL;
	if (val)
		dev_remove(sim, dev);
	return 0;
}

/* The QDMA PF driver's qmax: decimal, refused while queues run. */
int sim_store_qmax(struct sim *sim, struct sim_dev *pf, const char *buf)
{
	unsigned long qmax;

	(void)sim;
	if (sim_kstrtoul(buf, &qmax) < 0 || qmax > SIM_QMAX_LIMIT)
		return -EINVAL;
	if (pf->queues_active)
		return -EBUSY;
	pf->qmax = (unsigned)qmax;
	return 0;
}

/* drivers/pci/pci-sysfs.c: rescan_store(); only functions that config space answers for return. */
int sim_store_rescan(struct sim *sim, const char *buf)
{
	unsigned long val;

	if (sim_kstrtoul(buf, &val) < 0)
		return -EINVAL;
	if (!val)
		return 0;
	for (size_t i = 0; i < sim->ndevs; i++)
		if (!sim->devs[i].present)
			sim_dev_add(sim, &sim->devs[i]);
	return 0;
}

static struct sim_dev *find_written_dev(struct sim *sim, const char *buf)
{
	char name[SIM_BDF_LEN];

	if (sim_strip_newline(buf, name, sizeof(name)) < 0)
		return NULL;
	return sim_dev_find(sim, name);
}

/* drivers/base/bus.c: drivers_probe_store(); no matching driver is not an error. */
int sim_store_drivers_probe(struct sim *sim, const char *buf)
{
	struct sim_dev *dev = find_written_dev(sim, buf);

	if (!dev)
		return -ENODEV;
	dev_probe(sim, dev);
	return 0;
}

/* drivers/base/bus.c: bind_store() and dd.c: __driver_probe_device(). */
int sim_store_bind(struct sim *sim, int driver, const char *buf)
{
	struct sim_dev *dev = find_written_dev(sim, buf);

	if (!dev || !sim_driver_matches(sim, dev, driver))
		return -ENODEV;
	if (dev->driver != SIM_NO_DRIVER)
		return -EBUSY;
	if (!can_probe(dev))
		return -ENODEV;
	dev->driver = driver;
	return 0;
}

/* drivers/base/bus.c: unbind_store(). */
int sim_store_unbind(struct sim *sim, int driver, const char *buf)
{
	struct sim_dev *dev = find_written_dev(sim, buf);

	if (!dev || dev->driver != driver)
		return -ENODEV;
	dev_unbind(sim, dev);
	return 0;
}
