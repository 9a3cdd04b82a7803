// SPDX-License-Identifier: MIT
/*
 * esfm-pcictl: drives the pci layer one call at a time, for the simulator
 * tests and the nested test bed. Test tool, not installed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostdev.h"
#include "pci.h"
#include "util.h"

static const char *template_dir(void)
{
	const char *d = getenv("ESFM_TEMPLATE_DIR");

	return d && *d ? d : ESFM_DATADIR;
}

static int addr_arg(const char *s, struct esfm_pci_addr *a, struct esfm_err *err)
{
	return esfm_pci_addr_parse(s, a, err);
}

static int cmd_info(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr pf;
	struct esfm_pf_info i;

	if (addr_arg(argv[0], &pf, err) < 0 || esfm_pci_pf_info(sys, &pf, &i, err) < 0)
		return -1;
	printf("vendor=%04x\ndevice=%04x\ndriver=%s\ntotalvfs=%u\nnumvfs=%u\noffset=%u\nstride=%u\n"
	       "vf_device=%04x\nautoprobe=%d\nqdma=%d\n",
	       i.vendor, i.device, i.driver[0] ? i.driver : "-", i.totalvfs, i.numvfs, i.offset,
	       i.stride, i.vf_device, i.autoprobe, i.has_qdma);
	return 0;
}

static int cmd_list_vfs(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pci_addr *vfs = NULL;
	struct esfm_pci_addr pf;
	size_t n;

	if (addr_arg(argv[0], &pf, err) < 0 || esfm_pci_list_vfs(sys, &pf, &vfs, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char a[ESFM_PCI_ADDR_STRLEN], drv[64];

		if (esfm_pci_get_driver(sys, &vfs[i], drv, sizeof(drv), err) < 0)
			return -1;
		printf("%zu %s %s\n", i, esfm_pci_addr_str(&vfs[i], a), drv[0] ? drv : "-");
	}
	return 0;
}

static int cmd_vf_addr(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr pf, vf;
	char a[ESFM_PCI_ADDR_STRLEN];
	unsigned idx;

	if (addr_arg(argv[0], &pf, err) < 0)
		return -1;
	if (!esfm_parse_uint(argv[1], 65535, false, &idx))
		return esfm_err_set(err, ESFM_ERR_USAGE, 0, "invalid VF index '%s'", argv[1]);
	if (esfm_pci_vf_addr(sys, &pf, idx, &vf, err) < 0)
		return -1;
	printf("%s\n", esfm_pci_addr_str(&vf, a));
	return 0;
}

static int parse_count(const char *s, unsigned *n, struct esfm_err *err)
{
	if (!esfm_parse_uint(s, 65535, false, n))
		return esfm_err_set(err, ESFM_ERR_USAGE, 0, "invalid VF count '%s'", s);
	return 0;
}

static int cmd_set_numvfs(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr pf;
	unsigned n, flags = 0;

	if (addr_arg(argv[0], &pf, err) < 0 || parse_count(argv[1], &n, err) < 0)
		return -1;
	if (argv[2] && !strcmp(argv[2], "--no-autoprobe"))
		flags |= ESFM_PCI_NUMVFS_NO_AUTOPROBE;
	else if (argv[2])
		return esfm_err_set(err, ESFM_ERR_USAGE, 0, "unknown option '%s'", argv[2]);
	return esfm_pci_set_numvfs(sys, &pf, n, flags, err);
}

static int cmd_write_numvfs(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr pf;
	char path[PATH_MAX];
	unsigned n;

	if (addr_arg(argv[0], &pf, err) < 0 || parse_count(argv[1], &n, err) < 0 ||
	    esfm_pci_dev_path(sys, &pf, "sriov_numvfs", path, sizeof(path), err) < 0)
		return -1;
	if (esfm_write_attr(path, argv[1], err) < 0) {
		if (err->errnum == 16 /* EBUSY */)
			err->cls = ESFM_ERR_BUSY;
		return -1;
	}
	return 0;
}

static int cmd_bind(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr a;

	if (addr_arg(argv[0], &a, err) < 0)
		return -1;
	return esfm_pci_bind_driver(sys, &a, argv[1], err);
}

static int cmd_unbind(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr a;

	if (addr_arg(argv[0], &a, err) < 0)
		return -1;
	return esfm_pci_unbind(sys, &a, err);
}

static int cmd_driver(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr a;
	char drv[64];

	if (addr_arg(argv[0], &a, err) < 0 ||
	    esfm_pci_get_driver(sys, &a, drv, sizeof(drv), err) < 0)
		return -1;
	printf("%s\n", drv[0] ? drv : "-");
	return 0;
}

static int cmd_iommu_group(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr a;
	int g;

	if (addr_arg(argv[0], &a, err) < 0 || esfm_pci_iommu_group(sys, &a, &g, err) < 0)
		return -1;
	if (g < 0)
		printf("-\n");
	else
		printf("%d\n", g);
	return 0;
}

static int cmd_qmax(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr pf;
	unsigned q;

	if (addr_arg(argv[0], &pf, err) < 0)
		return -1;
	if (argv[1]) {
		if (!esfm_parse_uint(argv[1], 65535, false, &q))
			return esfm_err_set(err, ESFM_ERR_USAGE, 0, "invalid queue count '%s'",
					    argv[1]);
		return esfm_pci_qmax_set(sys, &pf, q, err);
	}
	if (esfm_pci_qmax_get(sys, &pf, &q, err) < 0)
		return -1;
	printf("%u\n", q);
	return 0;
}

static int cmd_remove(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr a;

	if (addr_arg(argv[0], &a, err) < 0)
		return -1;
	return esfm_pci_remove(sys, &a, err);
}

static int cmd_rescan(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	(void)argv;
	return esfm_pci_rescan(sys, err);
}

static int cmd_wait(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	struct esfm_pci_addr a;
	unsigned ms;

	if (addr_arg(argv[0], &a, err) < 0)
		return -1;
	if (!esfm_parse_uint(argv[1], 600000, false, &ms))
		return esfm_err_set(err, ESFM_ERR_USAGE, 0, "invalid timeout '%s'", argv[1]);
	return esfm_pci_wait_device(sys, &a, ms, err);
}

static int cmd_list_pfs(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pci_addr *pfs = NULL;
	size_t n;

	(void)argv;
	if (esfm_pci_list_sriov_pfs(sys, &pfs, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char a[ESFM_PCI_ADDR_STRLEN];

		printf("%s\n", esfm_pci_addr_str(&pfs[i], a));
	}
	return 0;
}

static int cmd_hostdev_xml(struct esfm_sysfs *sys, char **argv, struct esfm_err *err)
{
	_cleanup_free_ char *xml = NULL;
	struct esfm_pci_addr a;

	(void)sys;
	if (addr_arg(argv[0], &a, err) < 0 ||
	    esfm_hostdev_xml(template_dir(), &a, argv[1], &xml, err) < 0)
		return -1;
	printf("%s\n", xml);
	return 0;
}

static const struct command {
	const char *name;
	int nargs;     /* required */
	int max_extra; /* optional */
	int (*run)(struct esfm_sysfs *, char **, struct esfm_err *);
	const char *usage;
} commands[] = {
	{"info", 1, 0, cmd_info, "info <pf>"},
	{"list-vfs", 1, 0, cmd_list_vfs, "list-vfs <pf>"},
	{"list-pfs", 0, 0, cmd_list_pfs, "list-pfs"},
	{"vf-addr", 2, 0, cmd_vf_addr, "vf-addr <pf> <index>"},
	{"set-numvfs", 2, 1, cmd_set_numvfs, "set-numvfs <pf> <n> [--no-autoprobe]"},
	{"write-numvfs", 2, 0, cmd_write_numvfs, "write-numvfs <pf> <n>"},
	{"bind", 2, 0, cmd_bind, "bind <bdf> <driver>"},
	{"unbind", 1, 0, cmd_unbind, "unbind <bdf>"},
	{"driver", 1, 0, cmd_driver, "driver <bdf>"},
	{"iommu-group", 1, 0, cmd_iommu_group, "iommu-group <bdf>"},
	{"qmax", 1, 1, cmd_qmax, "qmax <pf> [<n>]"},
	{"remove", 1, 0, cmd_remove, "remove <bdf>"},
	{"rescan", 0, 0, cmd_rescan, "rescan"},
	{"wait", 2, 0, cmd_wait, "wait <bdf> <timeout_ms>"},
	{"hostdev-xml", 2, 0, cmd_hostdev_xml, "hostdev-xml <bdf> <alias>"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: esfm-pcictl <command> [args]\n");
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(commands); i++)
		fprintf(f, "  esfm-pcictl %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
	struct esfm_err err = {0};
	struct esfm_sysfs *sys;
	char msg[2048];
	int r;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(commands); i++) {
		const struct command *c = &commands[i];
		int extra = argc - 2 - c->nargs;

		if (strcmp(argv[1], c->name))
			continue;
		if (extra < 0 || extra > c->max_extra) {
			fprintf(stderr, "esfm-pcictl: usage: esfm-pcictl %s\n", c->usage);
			return 2;
		}
		sys = esfm_sysfs_new(NULL, &err);
		if (!sys)
			goto fail;
		r = c->run(sys, argv + 2, &err);
		esfm_sysfs_free(sys);
		if (r < 0)
			goto fail;
		return 0;
	}
	fprintf(stderr, "esfm-pcictl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
fail:
	fprintf(stderr, "esfm-pcictl: %s\n", esfm_err_format(&err, msg, sizeof(msg)));
	return esfm_err_exit_code(&err);
}
