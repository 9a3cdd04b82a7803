/* SPDX-License-Identifier: MIT */
/*
 * PCI and SR-IOV through the kernel's sysfs interface.
 *
 * Every path is built below one sysfs root (default /sys, ESFM_SYSFS_ROOT or
 * an explicit root overrides it), so tests run against a simulated tree. All
 * writes are logged at info level. Every failure fills the error with the
 * device address, the sysfs path and the errno text, and returns -1.
 */
#ifndef ESFM_PCI_H
#define ESFM_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct esfm_pci_addr {
	uint16_t domain;
	uint8_t bus;
	uint8_t dev; /* 0..31 */
	uint8_t fn;  /* 0..7 */
};

/* Canonical form, e.g. 0000:83:00.1; use with ESFM_PCI_ADDR_ARGS. */
#define ESFM_PCI_ADDR_FMT     "%04x:%02x:%02x.%x"
#define ESFM_PCI_ADDR_ARGS(a) (unsigned)(a).domain, (unsigned)(a).bus, (a).dev & 0x1fu, (a).fn & 7u
#define ESFM_PCI_ADDR_STRLEN  13 /* including the NUL */

/*
 * Parse "DDDD:BB:DD.F" strictly: exactly that shape, hex digits (either
 * case), device <= 0x1f, function <= 7, nothing else. Returns 0, or -1 with a
 * CONFIG error quoting the text.
 */
int esfm_pci_addr_parse(const char *s, struct esfm_pci_addr *out, struct esfm_err *err);

/* Canonical lowercase text into @buf (ESFM_PCI_ADDR_STRLEN bytes). Returns @buf. */
const char *esfm_pci_addr_str(const struct esfm_pci_addr *a, char buf[ESFM_PCI_ADDR_STRLEN]);

int esfm_pci_addr_cmp(const struct esfm_pci_addr *a, const struct esfm_pci_addr *b);

/*
 * Address of VF @index of a PF at @pf with the given sriov_offset/stride:
 * devfn = pf devfn + offset + stride * index, carrying into the bus number.
 * Returns 0, or -1 (ERANGE) if it runs past bus 255.
 */
int esfm_pci_vf_addr_compute(const struct esfm_pci_addr *pf, unsigned offset, unsigned stride,
			     unsigned index, struct esfm_pci_addr *out, struct esfm_err *err);

/*
 * Inverse of esfm_pci_vf_addr_compute: the index of @vf among the VFs of @pf,
 * or -1 if @vf cannot be one of its first @totalvfs VFs.
 */
int esfm_pci_vf_index_compute(const struct esfm_pci_addr *pf, unsigned offset, unsigned stride,
			      unsigned totalvfs, const struct esfm_pci_addr *vf);

/* A sysfs root. Opaque; create with esfm_sysfs_new, free with esfm_sysfs_free (NULL-safe). */
struct esfm_sysfs;

/*
 * @root NULL means $ESFM_SYSFS_ROOT, else "/sys". Returns NULL only on
 * allocation failure or an over-long root (err filled).
 */
struct esfm_sysfs *esfm_sysfs_new(const char *root, struct esfm_err *err);
void esfm_sysfs_free(struct esfm_sysfs *sysfs);
const char *esfm_sysfs_root(const struct esfm_sysfs *sysfs);

/*
 * "<root>/bus/pci/devices/<addr>/<attr>" (attr may be NULL or "") into @buf
 * of PATH_MAX bytes. Returns 0, or -1 (ENAMETOOLONG).
 */
int esfm_pci_dev_path(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
		      const char *attr, char *buf, size_t len, struct esfm_err *err);

/* True if the device directory exists. */
bool esfm_pci_dev_exists(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr);

/* Vendor and device IDs. NOTFOUND if the device does not exist. */
int esfm_pci_read_ids(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
		      unsigned *vendor, unsigned *device, struct esfm_err *err);

/* Name of the bound driver into @buf, "" if none. */
int esfm_pci_get_driver(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr, char *buf,
			size_t len, struct esfm_err *err);

/* IOMMU group number, or -1 in *group when the device has none. */
int esfm_pci_iommu_group(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			 int *group, struct esfm_err *err);

/* Everything esfm needs to know about an SR-IOV physical function. */
struct esfm_pf_info {
	struct esfm_pci_addr addr;
	unsigned vendor, device;
	char driver[64]; /* "" when unbound */
	unsigned totalvfs, numvfs, offset, stride, vf_device;
	bool autoprobe;
	bool has_qdma; /* qdma/qmax present */
};

/*
 * Read the PF's facts. NOTFOUND if the device does not exist; CONFIG if it
 * exists but is not SR-IOV capable (no sriov_totalvfs).
 */
int esfm_pci_pf_info(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf,
		     struct esfm_pf_info *info, struct esfm_err *err);

/*
 * The PF's existing VFs from its virtfnN links, in numeric N order; (*vfs)[i]
 * is VF i. *vfs is malloc'ed (caller frees), NULL when *n is 0.
 */
int esfm_pci_list_vfs(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf,
		      struct esfm_pci_addr **vfs, size_t *n, struct esfm_err *err);

/*
 * The VF that the PF's virtfn<@index> link names now, into *out. BUSY when
 * the link is missing (the VF count is changing, or @index is past it).
 */
int esfm_pci_vf_link(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf, unsigned index,
		     struct esfm_pci_addr *out, struct esfm_err *err);

/* Address VF @index will have (from sriov_offset/stride), whether or not it exists. */
int esfm_pci_vf_addr(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf, unsigned index,
		     struct esfm_pci_addr *out, struct esfm_err *err);

/* Write sriov_drivers_autoprobe. */
int esfm_pci_set_autoprobe(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf, bool on,
			   struct esfm_err *err);

enum {
	ESFM_PCI_NUMVFS_NO_AUTOPROBE = 1 << 0, /* write sriov_drivers_autoprobe=0 first */
};

/*
 * Set the number of VFs following the kernel's rules: nothing if already
 * @numvfs, through 0 when changing a non-zero count. Errors name the PF and
 * what to do: ERANGE (above totalvfs) is CONFIG, EBUSY is BUSY, ENOENT (no PF
 * driver) is FAILED with a hint to bind the PF driver.
 */
int esfm_pci_set_numvfs(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf,
			unsigned numvfs, unsigned flags, struct esfm_err *err);

/*
 * Bind @addr to @driver: nothing if already bound to it; else write
 * driver_override, unbind the current driver, write the address to
 * bus/pci/drivers_probe and verify the driver link.
 */
int esfm_pci_bind_driver(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			 const char *driver, struct esfm_err *err);

/* Unbind from the current driver (nothing if unbound). */
int esfm_pci_unbind(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
		    struct esfm_err *err);

/* Clear driver_override (an empty write, "\n"). */
int esfm_pci_clear_override(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			    struct esfm_err *err);

/* Poll until the device directory exists, at most @timeout_ms. NOTFOUND on timeout. */
int esfm_pci_wait_device(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			 long timeout_ms, struct esfm_err *err);

/* QDMA queue count of a PF (qdma/qmax). CONFIG if the PF has no qdma directory. */
int esfm_pci_qmax_get(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf,
		      unsigned *qmax, struct esfm_err *err);

/* Write qdma/qmax and read it back; a mismatch is an error. BUSY if queues are active. */
int esfm_pci_qmax_set(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf, unsigned qmax,
		      struct esfm_err *err);

/* Remove a function from the bus (write 1 to its remove attribute). */
int esfm_pci_remove(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
		    struct esfm_err *err);

/* Rescan the PCI bus (write 1 to bus/pci/rescan). */
int esfm_pci_rescan(const struct esfm_sysfs *sysfs, struct esfm_err *err);

/*
 * SR-IOV capable PFs under bus/pci/devices, sorted. *pfs is malloc'ed
 * (caller frees). Used by listings and shell completion.
 */
int esfm_pci_list_sriov_pfs(const struct esfm_sysfs *sysfs, struct esfm_pci_addr **pfs, size_t *n,
			    struct esfm_err *err);

#endif
