// SPDX-License-Identifier: MIT
#include "pci.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "util.h"

struct esfm_sysfs {
	char root[PATH_MAX];
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool parse_hex_field(const char *s, size_t digits, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < digits; i++) {
		int d = hexval(s[i]);

		if (d < 0)
			return false;
		v = v * 16 + (unsigned)d;
	}
	*out = v;
	return true;
}

int esfm_pci_addr_parse(const char *s, struct esfm_pci_addr *out, struct esfm_err *err)
{
	unsigned domain, bus, dev, fn;

	/* Exactly "DDDD:BB:DD.F": 12 characters, separators at fixed places. */
	if (strlen(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.' ||
	    !parse_hex_field(s, 4, &domain) || !parse_hex_field(s + 5, 2, &bus) ||
	    !parse_hex_field(s + 8, 2, &dev) || !parse_hex_field(s + 11, 1, &fn))
		goto bad;
	if (dev > 0x1f || fn > 7)
		goto bad;
	out->domain = (uint16_t)domain;
	out->bus = (uint8_t)bus;
	out->dev = (uint8_t)dev;
	out->fn = (uint8_t)fn;
	return 0;
bad:
	esfm_err_set(err, ESFM_ERR_CONFIG, 0, "invalid PCI address '%.64s'", s);
	return esfm_err_hint(
		err, "use the form DDDD:BB:DD.F, e.g. 0000:83:00.0 (device <= 1f, function <= 7)");
}

const char *esfm_pci_addr_str(const struct esfm_pci_addr *a, char buf[ESFM_PCI_ADDR_STRLEN])
{
	snprintf(buf, ESFM_PCI_ADDR_STRLEN, ESFM_PCI_ADDR_FMT, ESFM_PCI_ADDR_ARGS(*a));
	return buf;
}

static unsigned long addr_key(const struct esfm_pci_addr *a)
{
	return ((unsigned long)a->domain << 16) | ((unsigned)a->bus << 8) |
	       ((unsigned)a->dev << 3) | a->fn;
}

int esfm_pci_addr_cmp(const struct esfm_pci_addr *a, const struct esfm_pci_addr *b)
{
	unsigned long ka = addr_key(a), kb = addr_key(b);

	return ka < kb ? -1 : ka > kb;
}

int esfm_pci_vf_addr_compute(const struct esfm_pci_addr *pf, unsigned offset, unsigned stride,
			     unsigned index, struct esfm_pci_addr *out, struct esfm_err *err)
{
	unsigned long routing = ((unsigned long)pf->bus << 8) | ((unsigned)pf->dev << 3) | pf->fn;
	char pfs[ESFM_PCI_ADDR_STRLEN];

	routing += offset + (unsigned long)stride * index;
	if (routing > 0xffff)
		return esfm_err_sys(err, ERANGE, "PF %s: VF %u would lie beyond bus ff",
				    esfm_pci_addr_str(pf, pfs), index);
	out->domain = pf->domain;
	out->bus = (uint8_t)(routing >> 8);
	out->dev = (uint8_t)((routing >> 3) & 0x1f);
	out->fn = (uint8_t)(routing & 7);
	return 0;
}

int esfm_pci_vf_index_compute(const struct esfm_pci_addr *pf, unsigned offset, unsigned stride,
			      unsigned totalvfs, const struct esfm_pci_addr *vf)
{
	unsigned long pf_rid = ((unsigned long)pf->bus << 8) | ((unsigned)pf->dev << 3) | pf->fn;
	unsigned long vf_rid = ((unsigned long)vf->bus << 8) | ((unsigned)vf->dev << 3) | vf->fn;
	unsigned long delta;

	if (vf->domain != pf->domain || !stride || vf_rid < pf_rid + offset)
		return -1;
	delta = vf_rid - pf_rid - offset;
	if (delta % stride || delta / stride >= totalvfs)
		return -1;
	return (int)(delta / stride);
}

struct esfm_sysfs *esfm_sysfs_new(const char *root, struct esfm_err *err)
{
	struct esfm_sysfs *s;

	if (!root)
		root = getenv("ESFM_SYSFS_ROOT");
	if (!root || !*root)
		root = "/sys";
	s = calloc(1, sizeof(*s));
	if (!s) {
		esfm_err_sys(err, ENOMEM, "cannot allocate sysfs context");
		return NULL;
	}
	if (esfm_snprintf(s->root, sizeof(s->root), err, "%s", root) < 0) {
		free(s);
		return NULL;
	}
	/* A trailing slash would double up in every joined path. */
	for (size_t n = strlen(s->root); n > 1 && s->root[n - 1] == '/'; n--)
		s->root[n - 1] = '\0';
	return s;
}

void esfm_sysfs_free(struct esfm_sysfs *sysfs)
{
	free(sysfs);
}

const char *esfm_sysfs_root(const struct esfm_sysfs *sysfs)
{
	return sysfs->root;
}

int esfm_pci_dev_path(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
		      const char *attr, char *buf, size_t len, struct esfm_err *err)
{
	return esfm_snprintf(buf, len, err, "%s/bus/pci/devices/" ESFM_PCI_ADDR_FMT "%s%s",
			     sysfs->root, ESFM_PCI_ADDR_ARGS(*addr), attr && *attr ? "/" : "",
			     attr ? attr : "");
}

static int bus_path(const struct esfm_sysfs *sysfs, const char *rel, char *buf, size_t len,
		    struct esfm_err *err)
{
	return esfm_snprintf(buf, len, err, "%s/bus/pci/%s", sysfs->root, rel);
}

bool esfm_pci_dev_exists(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr)
{
	char path[PATH_MAX];
	struct stat st;

	if (esfm_pci_dev_path(sysfs, addr, NULL, path, sizeof(path), NULL) < 0)
		return false;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int require_device(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			  struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	if (esfm_pci_dev_exists(sysfs, addr))
		return 0;
	esfm_err_set(err, ESFM_ERR_NOTFOUND, 0, "PCI device %s not found in %s/bus/pci/devices",
		     esfm_pci_addr_str(addr, a), sysfs->root);
	return esfm_err_hint(err, "check the address with lspci -D");
}

static int read_dev_uint(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			 const char *attr, unsigned *out, struct esfm_err *err)
{
	char path[PATH_MAX];

	if (esfm_pci_dev_path(sysfs, addr, attr, path, sizeof(path), err) < 0)
		return -1;
	return esfm_read_attr_uint(path, out, err);
}

static int read_dev_hex(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			const char *attr, unsigned *out, struct esfm_err *err)
{
	char path[PATH_MAX], buf[32];
	const char *s = buf;

	if (esfm_pci_dev_path(sysfs, addr, attr, path, sizeof(path), err) < 0 ||
	    esfm_read_attr(path, buf, sizeof(buf), err) < 0)
		return -1;
	if (!strncmp(s, "0x", 2))
		s += 2;
	if (!esfm_parse_uint(s, 0xffff, true, out))
		return esfm_err_sys(err, EINVAL, "unexpected content '%s' in %s", buf, path);
	return 0;
}

int esfm_pci_read_ids(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
		      unsigned *vendor, unsigned *device, struct esfm_err *err)
{
	if (require_device(sysfs, addr, err) < 0)
		return -1;
	if (read_dev_hex(sysfs, addr, "vendor", vendor, err) < 0 ||
	    read_dev_hex(sysfs, addr, "device", device, err) < 0)
		return -1;
	return 0;
}

/* Last path component of a symlink's target, "" if the link does not exist. */
static int read_link_name(const char *path, char *buf, size_t len, struct esfm_err *err)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno == ENOENT) {
			buf[0] = '\0';
			return 0;
		}
		return esfm_err_sys(err, errno, "cannot read link %s", path);
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	return esfm_snprintf(buf, len, err, "%s", base);
}

int esfm_pci_get_driver(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr, char *buf,
			size_t len, struct esfm_err *err)
{
	char path[PATH_MAX];

	if (esfm_pci_dev_path(sysfs, addr, "driver", path, sizeof(path), err) < 0)
		return -1;
	return read_link_name(path, buf, len, err);
}

int esfm_pci_iommu_group(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			 int *group, struct esfm_err *err)
{
	char path[PATH_MAX], name[64];
	unsigned g;

	if (esfm_pci_dev_path(sysfs, addr, "iommu_group", path, sizeof(path), err) < 0 ||
	    read_link_name(path, name, sizeof(name), err) < 0)
		return -1;
	if (!name[0]) {
		*group = -1;
		return 0;
	}
	if (!esfm_parse_uint(name, INT_MAX, false, &g))
		return esfm_err_sys(err, EINVAL, "unexpected iommu_group link %s -> %s", path,
				    name);
	*group = (int)g;
	return 0;
}

int esfm_pci_pf_info(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf,
		     struct esfm_pf_info *info, struct esfm_err *err)
{
	char path[PATH_MAX], a[ESFM_PCI_ADDR_STRLEN];
	unsigned autoprobe = 1;

	memset(info, 0, sizeof(*info));
	info->addr = *pf;
	if (esfm_pci_read_ids(sysfs, pf, &info->vendor, &info->device, err) < 0)
		return -1;
	if (esfm_pci_dev_path(sysfs, pf, "sriov_totalvfs", path, sizeof(path), err) < 0)
		return -1;
	if (access(path, F_OK) < 0) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0,
			     "PCI device %s is not an SR-IOV physical function",
			     esfm_pci_addr_str(pf, a));
		return esfm_err_hint(err, "%s is missing; name the PF, not a VF", path);
	}
	if (esfm_pci_get_driver(sysfs, pf, info->driver, sizeof(info->driver), err) < 0 ||
	    read_dev_uint(sysfs, pf, "sriov_totalvfs", &info->totalvfs, err) < 0 ||
	    read_dev_uint(sysfs, pf, "sriov_numvfs", &info->numvfs, err) < 0 ||
	    read_dev_uint(sysfs, pf, "sriov_offset", &info->offset, err) < 0 ||
	    read_dev_uint(sysfs, pf, "sriov_stride", &info->stride, err) < 0 ||
	    read_dev_hex(sysfs, pf, "sriov_vf_device", &info->vf_device, err) < 0)
		return -1;
	if (esfm_pci_dev_path(sysfs, pf, "sriov_drivers_autoprobe", path, sizeof(path), err) < 0)
		return -1;
	if (access(path, F_OK) == 0 && esfm_read_attr_uint(path, &autoprobe, err) < 0)
		return -1;
	info->autoprobe = autoprobe != 0;
	if (esfm_pci_dev_path(sysfs, pf, "qdma/qmax", path, sizeof(path), err) < 0)
		return -1;
	info->has_qdma = access(path, F_OK) == 0;
	return 0;
}

struct vf_link {
	unsigned index;
	struct esfm_pci_addr addr;
};

static int cmp_vf_link(const void *a, const void *b)
{
	const struct vf_link *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

static int collect_virtfn(const char *dirpath, DIR *dir, struct vf_link **links, size_t *n,
			  struct esfm_err *err)
{
	struct dirent *de;
	size_t cap = 0;

	while ((errno = 0, de = readdir(dir))) {
		char path[PATH_MAX], name[64];
		struct vf_link link;
		unsigned idx;

		if (strncmp(de->d_name, "virtfn", 6) ||
		    !esfm_parse_uint(de->d_name + 6, 65535, false, &idx))
			continue;
		if (esfm_snprintf(path, sizeof(path), err, "%s/%s", dirpath, de->d_name) < 0 ||
		    read_link_name(path, name, sizeof(name), err) < 0)
			return -1;
		if (esfm_pci_addr_parse(name, &link.addr, err) < 0)
			return esfm_err_prefix(err, "%s", path);
		link.index = idx;
		if (*n == cap) {
			struct vf_link *nl;

			cap = cap ? cap * 2 : 16;
			nl = realloc(*links, cap * sizeof(**links));
			if (!nl)
				return esfm_err_sys(err, ENOMEM, "cannot list VFs");
			*links = nl;
		}
		(*links)[(*n)++] = link;
	}
	if (errno)
		return esfm_err_sys(err, errno, "cannot read directory %s", dirpath);
	return 0;
}

int esfm_pci_list_vfs(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf,
		      struct esfm_pci_addr **vfs, size_t *n, struct esfm_err *err)
{
	_cleanup_free_ struct vf_link *links = NULL;
	char dirpath[PATH_MAX];
	size_t count = 0;
	DIR *dir;
	int r;

	*vfs = NULL;
	*n = 0;
	if (require_device(sysfs, pf, err) < 0 ||
	    esfm_pci_dev_path(sysfs, pf, NULL, dirpath, sizeof(dirpath), err) < 0)
		return -1;
	dir = opendir(dirpath);
	if (!dir)
		return esfm_err_sys(err, errno, "cannot open directory %s", dirpath);
	r = collect_virtfn(dirpath, dir, &links, &count, err);
	closedir(dir);
	if (r < 0)
		return -1;
	if (!count)
		return 0;
	qsort(links, count, sizeof(*links), cmp_vf_link);
	for (size_t i = 0; i < count; i++)
		if (links[i].index != i) {
			char a[ESFM_PCI_ADDR_STRLEN];

			esfm_err_set(err, ESFM_ERR_BUSY, 0,
				     "PF %s: virtfn%zu is missing among %zu VF links",
				     esfm_pci_addr_str(pf, a), i, count);
			return esfm_err_hint(err, "the VF count is changing; try again");
		}
	*vfs = calloc(count, sizeof(**vfs));
	if (!*vfs)
		return esfm_err_sys(err, ENOMEM, "cannot list VFs");
	for (size_t i = 0; i < count; i++)
		(*vfs)[i] = links[i].addr;
	*n = count;
	return 0;
}

int esfm_pci_vf_link(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf, unsigned index,
		     struct esfm_pci_addr *out, struct esfm_err *err)
{
	char path[PATH_MAX], attr[32], name[64];

	snprintf(attr, sizeof(attr), "virtfn%u", index);
	if (esfm_pci_dev_path(sysfs, pf, attr, path, sizeof(path), err) < 0 ||
	    read_link_name(path, name, sizeof(name), err) < 0)
		return -1;
	if (!name[0]) {
		char a[ESFM_PCI_ADDR_STRLEN];

		esfm_err_set(err, ESFM_ERR_BUSY, 0, "PF %s: virtfn%u is missing",
			     esfm_pci_addr_str(pf, a), index);
		return esfm_err_hint(err, "the VF count is changing; try again");
	}
	if (esfm_pci_addr_parse(name, out, err) < 0)
		return esfm_err_prefix(err, "%s", path);
	return 0;
}

int esfm_pci_vf_addr(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf, unsigned index,
		     struct esfm_pci_addr *out, struct esfm_err *err)
{
	unsigned offset, stride;

	if (require_device(sysfs, pf, err) < 0 ||
	    read_dev_uint(sysfs, pf, "sriov_offset", &offset, err) < 0 ||
	    read_dev_uint(sysfs, pf, "sriov_stride", &stride, err) < 0)
		return -1;
	return esfm_pci_vf_addr_compute(pf, offset, stride, index, out, err);
}

static int write_dev_attr(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			  const char *attr, const char *value, struct esfm_err *err)
{
	char path[PATH_MAX];

	if (esfm_pci_dev_path(sysfs, addr, attr, path, sizeof(path), err) < 0)
		return -1;
	return esfm_write_attr(path, value, err);
}

int esfm_pci_set_autoprobe(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf, bool on,
			   struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	if (write_dev_attr(sysfs, pf, "sriov_drivers_autoprobe", on ? "1" : "0", err) < 0)
		return esfm_err_prefix(err, "PF %s", esfm_pci_addr_str(pf, a));
	return 0;
}

static int write_numvfs(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf,
			const struct esfm_pf_info *info, unsigned numvfs, struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN], val[16];

	esfm_pci_addr_str(pf, a);
	snprintf(val, sizeof(val), "%u", numvfs);
	if (write_dev_attr(sysfs, pf, "sriov_numvfs", val, err) == 0)
		return 0;
	switch (err->errnum) {
	case ERANGE:
		err->cls = ESFM_ERR_CONFIG;
		esfm_err_hint(err, "the PF supports at most %u VFs (sriov_totalvfs)",
			      info->totalvfs);
		break;
	case EBUSY:
		err->cls = ESFM_ERR_BUSY;
		esfm_err_hint(
			err,
			"VFs are enabled or in use; set 0 VFs first and make sure no VM holds one");
		break;
	case ENOENT:
		esfm_err_hint(err, "the PF has no driver with SR-IOV support bound; load and bind "
				   "its driver (e.g. qdma-pf) first");
		break;
	default:
		break;
	}
	return esfm_err_prefix(err, "PF %s", a);
}

int esfm_pci_set_numvfs(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf,
			unsigned numvfs, unsigned flags, struct esfm_err *err)
{
	struct esfm_pf_info info;
	char a[ESFM_PCI_ADDR_STRLEN];

	if (esfm_pci_pf_info(sysfs, pf, &info, err) < 0)
		return -1;
	esfm_pci_addr_str(pf, a);
	if (numvfs > info.totalvfs) {
		esfm_err_set(err, ESFM_ERR_CONFIG, ERANGE, "PF %s: cannot create %u VFs", a,
			     numvfs);
		return esfm_err_hint(err, "the PF supports at most %u VFs (sriov_totalvfs)",
				     info.totalvfs);
	}
	if (info.numvfs == numvfs)
		return 0;
	if ((flags & ESFM_PCI_NUMVFS_NO_AUTOPROBE) && numvfs > 0 && info.autoprobe &&
	    esfm_pci_set_autoprobe(sysfs, pf, false, err) < 0)
		return -1;
	/* The kernel only goes from N to M through 0 (EBUSY otherwise). */
	if (info.numvfs != 0 && numvfs != 0 && write_numvfs(sysfs, pf, &info, 0, err) < 0)
		return -1;
	return write_numvfs(sysfs, pf, &info, numvfs, err);
}

/*
 * libvirt loads vfio-pci itself before binding; so does esfm, but only on the
 * real /sys: a simulated tree must never make us touch the machine's modules.
 */
static void load_driver_module(const struct esfm_sysfs *sysfs, const char *driver)
{
	char path[PATH_MAX];
	char *argv[] = {"/sbin/modprobe", "-q", (char *)driver, NULL};

	if (strcmp(sysfs->root, "/sys") || bus_path(sysfs, "drivers", path, sizeof(path), NULL) < 0)
		return;
	if (snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", driver) < 0 ||
	    access(path, F_OK) == 0 || access(argv[0], X_OK) < 0)
		return;
	esfm_info("loading kernel module %s", driver);
	if (esfm_run(argv, 30000, NULL) < 0)
		esfm_warn("modprobe %s failed", driver);
}

int esfm_pci_bind_driver(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			 const char *driver, struct esfm_err *err)
{
	char path[PATH_MAX], current[64], a[ESFM_PCI_ADDR_STRLEN];

	esfm_pci_addr_str(addr, a);
	if (require_device(sysfs, addr, err) < 0 ||
	    esfm_pci_get_driver(sysfs, addr, current, sizeof(current), err) < 0)
		return -1;
	if (!strcmp(current, driver))
		return 0;
	load_driver_module(sysfs, driver);
	if (write_dev_attr(sysfs, addr, "driver_override", driver, err) < 0)
		goto fail;
	if (current[0] && esfm_pci_unbind(sysfs, addr, err) < 0)
		return -1;
	if (bus_path(sysfs, "drivers_probe", path, sizeof(path), err) < 0 ||
	    esfm_write_attr(path, a, err) < 0)
		goto fail;
	if (esfm_pci_get_driver(sysfs, addr, current, sizeof(current), err) < 0)
		goto fail;
	if (strcmp(current, driver)) {
		if (current[0])
			esfm_err_set(err, ESFM_ERR_FAILED, 0, "probe left it bound to %s", current);
		else
			esfm_err_set(err, ESFM_ERR_FAILED, 0, "probe left it unbound");
		esfm_err_hint(err, "is the %s module loaded? (modprobe %s)", driver, driver);
		goto fail;
	}
	esfm_info("%s: bound to %s", a, driver);
	return 0;
fail:
	return esfm_err_prefix(err, "%s: cannot bind to %s", a, driver);
}

int esfm_pci_unbind(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
		    struct esfm_err *err)
{
	char path[PATH_MAX], current[64], a[ESFM_PCI_ADDR_STRLEN];

	esfm_pci_addr_str(addr, a);
	if (esfm_pci_get_driver(sysfs, addr, current, sizeof(current), err) < 0)
		return -1;
	if (!current[0])
		return 0;
	if (esfm_pci_dev_path(sysfs, addr, "driver/unbind", path, sizeof(path), err) < 0 ||
	    esfm_write_attr(path, a, err) < 0)
		return esfm_err_prefix(err, "%s: cannot unbind from %s", a, current);
	return 0;
}

int esfm_pci_clear_override(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			    struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	if (write_dev_attr(sysfs, addr, "driver_override", "\n", err) < 0)
		return esfm_err_prefix(err, "%s", esfm_pci_addr_str(addr, a));
	return 0;
}

int esfm_pci_wait_device(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
			 long timeout_ms, struct esfm_err *err)
{
	long long deadline = esfm_now_ms() + timeout_ms;
	char a[ESFM_PCI_ADDR_STRLEN];

	for (;;) {
		if (esfm_pci_dev_exists(sysfs, addr))
			return 0;
		if (esfm_now_ms() >= deadline)
			break;
		esfm_sleep_ms(10);
	}
	return esfm_err_set(err, ESFM_ERR_NOTFOUND, ETIMEDOUT,
			    "PCI device %s did not appear within %ld ms",
			    esfm_pci_addr_str(addr, a), timeout_ms);
}

int esfm_pci_qmax_get(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf,
		      unsigned *qmax, struct esfm_err *err)
{
	char path[PATH_MAX], a[ESFM_PCI_ADDR_STRLEN];

	esfm_pci_addr_str(pf, a);
	if (require_device(sysfs, pf, err) < 0 ||
	    esfm_pci_dev_path(sysfs, pf, "qdma/qmax", path, sizeof(path), err) < 0)
		return -1;
	if (access(path, F_OK) < 0) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "PF %s has no QDMA queue setting (%s)", a,
			     path);
		return esfm_err_hint(err, "is the qdma-pf driver bound to it?");
	}
	if (esfm_read_attr_uint(path, qmax, err) < 0)
		return esfm_err_prefix(err, "PF %s", a);
	return 0;
}

int esfm_pci_qmax_set(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *pf, unsigned qmax,
		      struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN], val[16];
	unsigned now;

	esfm_pci_addr_str(pf, a);
	if (esfm_pci_qmax_get(sysfs, pf, &now, err) < 0)
		return -1;
	if (now == qmax)
		return 0;
	snprintf(val, sizeof(val), "%u", qmax);
	if (write_dev_attr(sysfs, pf, "qdma/qmax", val, err) < 0) {
		if (err->errnum == EBUSY) {
			err->cls = ESFM_ERR_BUSY;
			esfm_err_hint(err, "QDMA queues are active; stop their users (and remove "
					   "the VFs) first");
		}
		return esfm_err_prefix(err, "PF %s", a);
	}
	if (esfm_pci_qmax_get(sysfs, pf, &now, err) < 0)
		return -1;
	if (now != qmax)
		return esfm_err_set(err, ESFM_ERR_FAILED, 0,
				    "PF %s: qdma/qmax reads %u after writing %u", a, now, qmax);
	return 0;
}

int esfm_pci_remove(const struct esfm_sysfs *sysfs, const struct esfm_pci_addr *addr,
		    struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	if (require_device(sysfs, addr, err) < 0)
		return -1;
	if (write_dev_attr(sysfs, addr, "remove", "1", err) < 0)
		return esfm_err_prefix(err, "%s: cannot remove from the bus",
				       esfm_pci_addr_str(addr, a));
	return 0;
}

int esfm_pci_rescan(const struct esfm_sysfs *sysfs, struct esfm_err *err)
{
	char path[PATH_MAX];

	if (bus_path(sysfs, "rescan", path, sizeof(path), err) < 0)
		return -1;
	if (esfm_write_attr(path, "1", err) < 0)
		return esfm_err_prefix(err, "cannot rescan the PCI bus");
	return 0;
}

int esfm_pci_list_sriov_pfs(const struct esfm_sysfs *sysfs, struct esfm_pci_addr **pfs, size_t *n,
			    struct esfm_err *err)
{
	char dirpath[PATH_MAX];
	struct esfm_pci_addr *list = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *dir;

	*pfs = NULL;
	*n = 0;
	if (bus_path(sysfs, "devices", dirpath, sizeof(dirpath), err) < 0)
		return -1;
	dir = opendir(dirpath);
	if (!dir)
		return esfm_err_sys(err, errno, "cannot open directory %s", dirpath);
	while ((de = readdir(dir))) {
		char path[PATH_MAX];
		struct esfm_pci_addr addr;

		if (esfm_pci_addr_parse(de->d_name, &addr, NULL) < 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/sriov_totalvfs", dirpath, de->d_name) >=
			    (int)sizeof(path) ||
		    access(path, F_OK) < 0)
			continue;
		if (count == cap) {
			struct esfm_pci_addr *nl;

			cap = cap ? cap * 2 : 8;
			nl = realloc(list, cap * sizeof(*list));
			if (!nl) {
				free(list);
				closedir(dir);
				return esfm_err_sys(err, ENOMEM, "cannot list PFs");
			}
			list = nl;
		}
		list[count++] = addr;
	}
	closedir(dir);
	if (count)
		qsort(list, count, sizeof(*list),
		      (int (*)(const void *, const void *))esfm_pci_addr_cmp);
	*pfs = list;
	*n = count;
	return 0;
}
