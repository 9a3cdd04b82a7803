/* SPDX-License-Identifier: MIT */
/*
 * Pools: one XML file per pool in <conf_dir>/pools.d/<name>.xml, shaped like
 * a libvirt storage pool and validated against pool.rng:
 *
 *   <pool type='sriov'>
 *     <name>fpga0</name>
 *     <source><pf address='0000:83:00.0'/></source>
 *     <vfs count='4' driver='vfio-pci'/>
 *     <qdma qmax='32'/>                                   optional
 *     <bitstream path='/lib/firmware/x.bit' kind='bit'/>  optional
 *     <jtag target='21770205K01L'/>                        optional: the card to program
 *     <vms base='everestg'/>                              optional
 *     <reconf pause='yes'/>                               optional
 *     <nova flavor='fpga.small' count='1'/>                zero or more: Nova flavors
 *   </pool>
 *
 * A pool owns VFs 0..count-1 of its PF. The name equals the file's stem.
 * A PF that no pool file names still has a pool for the CLI: the implicit
 * pool "pci_DDDD_BB_DD_F" (libvirt's node-device spelling).
 */
#ifndef ESFM_POOL_H
#define ESFM_POOL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "err.h"
#include "pci.h"
#include "sizes.h"

#define ESFM_NAME_MAX	     65 /* 64 characters and the NUL */
#define ESFM_DEFAULT_VM_BASE "everestg"
#define ESFM_DEFAULT_QMAX    32
#define ESFM_POOL_NOVA_MAX   16	 /* <nova> elements per pool */
#define ESFM_NOVA_FLAVOR_MAX 256 /* a Nova flavor name: 255 characters and the NUL */

/*
 * <nova flavor='NAME' count='N'/>: a Nova instance of flavor NAME asks for N
 * VFs of this pool (for Nova before 2025.2, whose domain metadata carries the
 * flavor's name but not its extra specs).
 */
struct esfm_pool_flavor {
	char name[ESFM_NOVA_FLAVOR_MAX];
	unsigned count;
};

struct esfm_pool {
	char name[ESFM_NAME_MAX];
	char path[PATH_MAX]; /* "" for an implicit pool */
	struct esfm_pci_addr pf;
	unsigned count;
	char driver[64]; /* default vfio-pci */
	bool has_qmax;
	unsigned qmax;
	char bitstream[PATH_MAX]; /* "" if none */
	char bitstream_kind[ESFM_BITSTREAM_KIND_MAX];
	char jtag_target[ESFM_JTAG_TARGET_MAX]; /* <jtag target>, "" if none */
	char vm_base[ESFM_NAME_MAX];		/* default everestg */
	bool pause;				/* default for reconf --pause */
	size_t nflavor;
	struct esfm_pool_flavor flavor[ESFM_POOL_NOVA_MAX];
};

/*
 * Load pool @name from <conf_dir>/pools.d/<name>.xml. The name is checked
 * first (CONFIG error for path tricks), NOTFOUND when there is no such file,
 * CONFIG with file:line for malformed XML or a schema violation.
 */
int esfm_pool_load(const struct esfm_conf *conf, const char *name, struct esfm_pool *pool,
		   struct esfm_err *err);

/* Load and validate one pool file; the name must equal the file's stem. */
int esfm_pool_load_file(const struct esfm_conf *conf, const char *path, struct esfm_pool *pool,
			struct esfm_err *err);

/* The same from the file's text (@path names it and gives the stem). */
int esfm_pool_parse(const struct esfm_conf *conf, const char *path, const char *text, size_t len,
		    struct esfm_pool *pool, struct esfm_err *err);

/*
 * CONFIG error (pool-check's message) when another file in pools.d that
 * loads names @pool's PF: two pools would hand out the same VFs.
 */
int esfm_pool_check_pf_unique(const struct esfm_conf *conf, const struct esfm_pool *pool,
			      struct esfm_err *err);

/*
 * Every pool in pools.d, sorted by name; *pools malloc'ed (caller frees).
 * Fails on the first invalid file, and when two pools name the same PF.
 */
int esfm_pool_list(const struct esfm_conf *conf, struct esfm_pool **pools, size_t *n,
		   struct esfm_err *err);

/*
 * The pool for a PF: the declared pool naming it, else the implicit pool
 * (count = 0, meaning "as many as the PF has"; driver vfio-pci).
 */
int esfm_pool_for_pf(const struct esfm_conf *conf, const struct esfm_pci_addr *pf,
		     struct esfm_pool *pool, struct esfm_err *err);

/* The implicit pool's name for a PF, e.g. pci_0000_83_00_0. */
void esfm_pool_implicit_name(const struct esfm_pci_addr *pf, char buf[ESFM_NAME_MAX]);

#endif
