/* SPDX-License-Identifier: MIT */
/*
 * Pool runtime: the locked read-modify-write cycles on a pool's VFs that the
 * hook and the CLI share. Each function takes the pool lock, loads the
 * state, changes sysfs and state, saves atomically and unlocks; on failure
 * nothing is left reserved.
 */
#ifndef ESFM_VFPOOL_H
#define ESFM_VFPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "domxml.h"
#include "err.h"
#include "pci.h"
#include "pool.h"
#include "state.h"

struct esfm_ctx {
	struct esfm_conf conf;
	struct esfm_sysfs *sysfs;
};

/* Load esfm.conf (ESFM_CONF_DIR or the default) and open the sysfs root. */
int esfm_ctx_init(struct esfm_ctx *ctx, struct esfm_err *err);
void esfm_ctx_fini(struct esfm_ctx *ctx);

/*
 * With the lock held: make sure the PF has VFs (creating the pool's count
 * with autoprobe off when it has none), size the state to the pool's
 * capacity (min of the pool's count and the PF's VFs) and refresh the slots'
 * addresses from the virtfn links. *capacity receives the usable slot count.
 */
int esfm_vfpool_sync(struct esfm_ctx *ctx, const struct esfm_pool *pool, struct esfm_pool_state *st,
		     size_t *capacity, struct esfm_err *err);

/*
 * VF index of @vf on @pool's PF into *index, -1 if @vf is not one of its VFs
 * (from sriov_offset/stride, so it works before the VF exists).
 */
int esfm_vfpool_index_of(struct esfm_ctx *ctx, const struct esfm_pool *pool,
			 const struct esfm_pci_addr *vf, int *index, struct esfm_err *err);

/*
 * The hook's prepare for one pool: reserve the VFs @dom gets from @req
 * (hotplug: by the allocation policy; static: those of @dom's hostdevs that
 * belong to the pool's PF), bound to the pool's driver. On success @out
 * (ESFM_MAX_VFS_PER_VM entries) lists them.
 */
int esfm_vfpool_reserve(struct esfm_ctx *ctx, const struct esfm_domain *dom,
			const struct esfm_pool_request *req, struct esfm_allocation *out,
			size_t *nout, struct esfm_err *err);

#define ESFM_ALL_SLOTS	    (-1)
#define ESFM_ORIGIN_MASK(o) (1u << (o))

/*
 * Free the VFs of @pool held by @uuid (slot @index, or every slot with
 * ESFM_ALL_SLOTS) whose origin is in @origin_mask (ESFM_ORIGIN_MASK(...)).
 * *freed counts them. Idempotent.
 */
int esfm_vfpool_release(struct esfm_ctx *ctx, const char *pool, const char *uuid, int index,
			unsigned origin_mask, size_t *freed, struct esfm_err *err);

/* Move @uuid's VFs (slot @index or ESFM_ALL_SLOTS) from state @from to @to. */
int esfm_vfpool_mark(struct esfm_ctx *ctx, const char *pool, const char *uuid, int index,
		     enum esfm_vf_state from, enum esfm_vf_state to, size_t *changed,
		     struct esfm_err *err);

/*
 * Make the state agree with a running domain's live XML: every hostdev with
 * an esfm alias of @pool is recorded as attached to @dom (unless another
 * domain holds that VF, which is logged and left alone).
 */
int esfm_vfpool_reconcile(struct esfm_ctx *ctx, const char *pool, const struct esfm_domain *dom,
			  size_t *adopted, struct esfm_err *err);

/* The VFs of @pool that @uuid holds in state @state (all states if @state < 0). */
int esfm_vfpool_held(struct esfm_ctx *ctx, const char *pool, const char *uuid, int state,
		     struct esfm_allocation *out, size_t *nout, struct esfm_err *err);

#endif
