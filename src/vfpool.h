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
#include "ctx.h"
#include "domxml.h"
#include "err.h"
#include "pci.h"
#include "pool.h"
#include "state.h"

/*
 * A ledger belongs to one PF: a new one (no slots) is stamped with @pool's PF;
 * one that records another PF is refused (CONFIG error, the pool's PF was
 * changed under it), so its owners are never reused for the new PF.
 */
int esfm_vfpool_claim_pf(const struct esfm_ctx *ctx, const struct esfm_pool *pool,
			 struct esfm_pool_state *st, struct esfm_err *err);

/*
 * With the lock held: make sure the PF has VFs (creating the pool's count
 * with autoprobe off when it has none), size the state to the pool's
 * capacity (min of the pool's count and the PF's VFs) and set the slots'
 * addresses from sriov_offset/stride, where the kernel places the VFs.
 * *capacity receives the usable slot count. Before a VF is handed out,
 * esfm_vfpool_confirm_vf reads its virtfn link.
 */
int esfm_vfpool_sync(struct esfm_ctx *ctx, const struct esfm_pool *pool, struct esfm_pool_state *st,
		     size_t *capacity, struct esfm_err *err);

/*
 * With the lock held: slot @index's address from the PF's virtfn<@index>
 * link, as sysfs shows it now; BUSY when the link is missing (the VF count
 * is changing). @err is not prefixed with the pool.
 */
int esfm_vfpool_confirm_vf(struct esfm_ctx *ctx, const struct esfm_pool *pool,
			   struct esfm_pool_state *st, unsigned index, struct esfm_err *err);

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
 * started: record @pid (the attach worker just started for @uuid, and its
 * process start time) on @uuid's hook reservations in @pool; *stamped counts
 * them. Reconcile frees a reservation whose worker is gone and whose domain
 * does not hold the VF.
 */
int esfm_vfpool_stamp_worker(struct esfm_ctx *ctx, const char *pool, const char *uuid, long pid,
			     size_t *stamped, struct esfm_err *err);

/*
 * reconnect: make the ledger agree with a running domain's live XML, by
 * reconcile limited to @dom (see reconcile.h): every VF of @pool's PF that
 * its live XML holds (matched on the source address, whatever the alias) is
 * recorded as attached to @dom, even past the ledger's end or when recorded
 * for another domain; a hook loan of @dom it no longer holds is freed. Other
 * domains' VFs are left alone. Works with the pool busy (never waits for an
 * operation, only for the short lock).
 */
int esfm_vfpool_reconcile(struct esfm_ctx *ctx, const char *pool, const struct esfm_domain *dom,
			  size_t *adopted, struct esfm_err *err);

/*
 * The pool's busy mark in @st: 0 if none or ours; a mark whose process is
 * gone is cleared (0); BUSY naming the operation and its pid otherwise:
 *   pool 'fpga0' is in use by esfm reconf (pid 42); try again when it is done
 */
int esfm_vfpool_check_busy(struct esfm_pool_state *st, struct esfm_err *err);

typedef int (*esfm_state_fn)(struct esfm_pool_state *st, void *data, struct esfm_err *err);

/*
 * One short locked cycle: lock @pool, load, @fn, unlock. @fn returns 0 to
 * save what it changed, 1 when it changed nothing (no write), -1 on error
 * (@err filled, nothing written).
 */
int esfm_vfpool_update(struct esfm_ctx *ctx, const char *pool, const char *who, esfm_state_fn fn,
		       void *data, struct esfm_err *err);

/*
 * In @st (lock held): esfm_vfpool_check_busy, then mark the pool busy for
 * this process doing @what (e.g. "esfm reconf"). Until the mark is cleared,
 * prepare refuses and reconcile changes nothing, while release and reconnect
 * keep recording; no lock is held in between.
 */
int esfm_vfpool_mark_busy(struct esfm_pool_state *st, const char *what, struct esfm_err *err);

/* In @st (lock held): clear the busy mark if it is this process's. */
void esfm_vfpool_clear_busy(struct esfm_pool_state *st);

/*
 * An esfm_state_fn: the change is over (done, undone or recovered as far as
 * it could be): clear this process's busy mark and the journal.
 */
int esfm_vfpool_end_change(struct esfm_pool_state *st, void *data, struct esfm_err *err);

/* The VFs of @pool that @uuid holds in state @state (all states if @state < 0). */
int esfm_vfpool_held(struct esfm_ctx *ctx, const char *pool, const char *uuid, int state,
		     struct esfm_allocation *out, size_t *nout, struct esfm_err *err);

#endif
