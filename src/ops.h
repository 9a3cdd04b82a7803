/* SPDX-License-Identifier: MIT */
/*
 * The operator's operations on one PF (init, reconf, attach, detach,
 * listings) and on all pools (status, gc). Those that talk to libvirt first
 * reconcile the pool's ledger from sysfs and libvirt. None calls libvirt
 * while holding a pool lock: the lock guards short read-modify-write cycles
 * of the ledger only; init, reconf, attach and detach mark the pool busy for
 * their run instead, so a hook prepare arriving meanwhile refuses at once
 * with "pool ... is in use by ...". Progress and confirmation go
 * through callbacks the CLI installs; nothing here prints.
 */
#ifndef ESFM_OPS_H
#define ESFM_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "nova.h"
#include "pci.h"
#include "plan.h"
#include "pool.h"
#include "state.h"
#include "ui.h"
#include "vfpool.h"

struct esfm_op_opts {
	bool yes;	  /* -y: no questions, go on despite missing VMs */
	bool pause;	  /* -p: device_pause instead of hot-unplug */
	bool force;	  /* --force: take VFs from running Nova instances too */
	bool qmax_set;	  /* -qn given */
	bool vm_base_set; /* -vm given */
	unsigned qmax;	  /* default ESFM_DEFAULT_QMAX at init */
	char vm_base[ESFM_NAME_MAX];
	char bitstream[PATH_MAX]; /* -b file, "" if none */
	char bitstream_kind[ESFM_BITSTREAM_KIND_MAX];
	long detach_timeout_ms; /* wait for a guest to release a hot-unplugged VF */
};

/* Who holds which VF of a PF, according to libvirt (live and persistent XML) and the state. */
struct esfm_vf_view {
	unsigned index;
	struct esfm_pci_addr addr;
	bool exists;
	char driver[64];
	enum esfm_vf_state state;
	enum esfm_vf_origin origin;
	char vm[ESFM_DOM_NAME_MAX]; /* "" if free */
	char uuid[ESFM_UUID_STRLEN];
	char alias[ESFM_ALIAS_MAX];
	bool running, live, config;
};

struct esfm_pf_view {
	struct esfm_pool pool;
	struct esfm_pf_info info;
	size_t nvfs; /* max(numvfs, state slots) */
	struct esfm_vf_view *vfs;
	char bitstream[PATH_MAX];
	char bitstream_kind[ESFM_BITSTREAM_KIND_MAX];
	long long flashed_at;
};

void esfm_pf_view_free(struct esfm_pf_view *v);

/* init <n>: reset the PF to n VFs bound to the pool driver, VF i attached to <base><i>. */
int esfm_op_init(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, unsigned n,
		 const struct esfm_op_opts *opts, const struct esfm_ui *ui, struct esfm_err *err);

/*
 * reconf <n>: change the VF count, keeping guests' devices (pause or
 * unplug/re-attach). Like init, refused (BUSY) while a running OpenStack
 * Nova instance holds a VF of the pool, unless opts->force.
 */
int esfm_op_reconf(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, unsigned n,
		   const struct esfm_op_opts *opts, const struct esfm_ui *ui, struct esfm_err *err);

/* attach <idx> <vm>: live and persistent for a running VM, persistent for a stopped one. */
int esfm_op_attach(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, unsigned idx,
		   const char *vm, const struct esfm_op_opts *opts, const struct esfm_ui *ui,
		   struct esfm_err *err);

/* detach <idx>: from whichever VM holds it, live and persistent. */
int esfm_op_detach(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, unsigned idx,
		   const struct esfm_op_opts *opts, const struct esfm_ui *ui, struct esfm_err *err);

/*
 * The PF's VFs and who holds them. @with_libvirt false reads only sysfs and
 * the state (no libvirt connection needed).
 */
int esfm_op_view(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, bool with_libvirt,
		 struct esfm_pf_view *view, struct esfm_err *err);

/*
 * Reconcile @pool's ledger (NULL: every pool's) with sysfs and libvirt (see
 * reconcile.h): free VFs recorded for holders that do not hold them, record
 * VFs that running domains hold, leave alone and report what libvirt cannot
 * tell. Each change is reported through @ui; *freed counts the VFs freed.
 */
int esfm_op_gc(struct esfm_ctx *ctx, const char *pool, const struct esfm_ui *ui, size_t *freed,
	       struct esfm_err *err);

/* Every declared pool and every PF with a state file, as JSON (stable, see esfm-pool(5)). */
int esfm_op_status_json(struct esfm_ctx *ctx, char **out, struct esfm_err *err);

struct esfm_nova_export {
	size_t ninv;			 /* pools with VFs: the classes written */
	struct esfm_nova_inventory *inv; /* malloc'ed (caller frees) */
	bool unchanged;			 /* the file already said so: not written */
};

/*
 * nova-export: write the provider file @output (atomically, mode 0644): per
 * pool with VFs, the class CUSTOM_ESFM_<POOL> with total = its VFs, reserved
 * = those held by anything but a Nova instance whose flavor asks for the
 * pool (all of them for a pool in @drain), max_unit = what one domain may
 * take, and its traits. A pool without VFs is left out (a warning through
 * @ui). Libvirt is asked only about hook-held VFs, with no lock held; if it
 * cannot answer, nothing is written. NOTFOUND for an unknown pool in @drain,
 * CONFIG for two pools with one class name, BUSY for a pool being changed.
 */
int esfm_op_nova_export(struct esfm_ctx *ctx, const char *output, const char *const *drain,
			size_t ndrain, const struct esfm_ui *ui, struct esfm_nova_export *out,
			struct esfm_err *err);

/*
 * Views of every declared pool's PF and of PFs with a state file, from sysfs
 * and the ledgers only: status never connects to libvirt.
 */
int esfm_op_status(struct esfm_ctx *ctx, struct esfm_pf_view **views, size_t *n,
		   struct esfm_err *err);

#endif
