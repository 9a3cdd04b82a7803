// SPDX-License-Identifier: MIT
#include "vfpool.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "hostdev.h"
#include "log.h"
#include "pfsettings.h"
#include "proc.h"
#include "reconcile.h"
#include "util.h"

int esfm_vfpool_claim_pf(const struct esfm_ctx *ctx, const struct esfm_pool *pool,
			 struct esfm_pool_state *st, struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN], was[ESFM_PCI_ADDR_STRLEN];

	/* The owners recorded for another PF are not this PF's: never reuse them. */
	if (st->nvfs && esfm_pci_addr_cmp(&st->pf, &pool->pf)) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0,
			     "pool '%s': its state records PF %s, the pool file names PF %s",
			     pool->name, esfm_pci_addr_str(&st->pf, was),
			     esfm_pci_addr_str(&pool->pf, a));
		return esfm_err_hint(err,
				     "the pool's PF was changed: stop the VMs of pool '%s', then "
				     "remove %s/%s.state (or restore the PF in %s)",
				     pool->name, ctx->conf.state_dir, pool->name,
				     pool->path[0] ? pool->path : "the pool file");
	}
	st->pf = pool->pf;
	return 0;
}

int esfm_vfpool_sync(struct esfm_ctx *ctx, const struct esfm_pool *pool, struct esfm_pool_state *st,
		     size_t *capacity, struct esfm_err *err)
{
	struct esfm_pf_info info;
	char a[ESFM_PCI_ADDR_STRLEN];
	size_t cap;
	unsigned qmax;

	esfm_pci_addr_str(&pool->pf, a);
	if (esfm_vfpool_claim_pf(ctx, pool, st, err) < 0)
		return -1;
	if (esfm_pci_pf_info(ctx->sysfs, &pool->pf, &info, err) < 0)
		return esfm_err_prefix(err, "pool '%s'", pool->name);
	if (info.numvfs == 0 && pool->count > 0) {
		esfm_info("pool '%s': PF %s has no VFs, creating %u", pool->name, a, pool->count);
		/* QDMA PFs start with 0 queues: VFs would get none. */
		if (esfm_pf_qmax(ESFM_CMD_INIT, NULL, pool, info.has_qdma, 0, &qmax) &&
		    esfm_pci_qmax_set(ctx->sysfs, &pool->pf, qmax, err) < 0)
			return esfm_err_prefix(err, "pool '%s'", pool->name);
		if (esfm_pci_set_numvfs(ctx->sysfs, &pool->pf, pool->count,
					ESFM_PCI_NUMVFS_NO_AUTOPROBE, err) < 0 ||
		    esfm_pci_pf_info(ctx->sysfs, &pool->pf, &info, err) < 0)
			return esfm_err_prefix(err, "pool '%s'", pool->name);
	}
	cap = pool->count && pool->count < info.numvfs ? pool->count : info.numvfs;
	if (st->nvfs < cap && esfm_state_resize(st, cap, err) < 0)
		return -1;
	st->pf = pool->pf;
	/*
	 * The kernel places VF i at sriov_offset + i * sriov_stride: reading
	 * every virtfn link (252 on a QDMA PF) at each prepare is not needed;
	 * esfm_vfpool_confirm_vf reads the link of each VF handed out.
	 */
	for (size_t i = 0; i < st->nvfs && i < info.numvfs; i++)
		if (esfm_pci_vf_addr_compute(&pool->pf, info.offset, info.stride, (unsigned)i,
					     &st->vfs[i].addr, err) < 0)
			return esfm_err_prefix(err, "pool '%s'", pool->name);
	*capacity = cap;
	return 0;
}

int esfm_vfpool_confirm_vf(struct esfm_ctx *ctx, const struct esfm_pool *pool,
			   struct esfm_pool_state *st, unsigned index, struct esfm_err *err)
{
	return esfm_pci_vf_link(ctx->sysfs, &pool->pf, index, &st->vfs[index].addr, err);
}

int esfm_vfpool_index_of(struct esfm_ctx *ctx, const struct esfm_pool *pool,
			 const struct esfm_pci_addr *vf, int *index, struct esfm_err *err)
{
	struct esfm_pf_info info;

	*index = -1;
	if (esfm_pci_pf_info(ctx->sysfs, &pool->pf, &info, err) < 0)
		return -1;
	*index = esfm_pci_vf_index_compute(&pool->pf, info.offset, info.stride, info.totalvfs, vf);
	return 0;
}

int esfm_vfpool_check_busy(struct esfm_pool_state *st, struct esfm_err *err)
{
	if (!st->busy.pid)
		return 0;
	if (!esfm_proc_alive(st->busy.pid, st->busy.start)) {
		esfm_info("pool '%s': %s (pid %ld) is gone; its busy mark is cleared", st->pool,
			  st->busy.what, st->busy.pid);
		memset(&st->busy, 0, sizeof(st->busy));
		return 0;
	}
	if (st->busy.pid == (long)getpid())
		return 0;
	esfm_err_set(err, ESFM_ERR_BUSY, 0, "pool '%s' is in use by %s (pid %ld)", st->pool,
		     st->busy.what, st->busy.pid);
	return esfm_err_hint(err, "try again when it is done");
}

int esfm_vfpool_update(struct esfm_ctx *ctx, const char *pool, const char *who, esfm_state_fn fn,
		       void *data, struct esfm_err *err)
{
	struct esfm_pool_state st = {0};
	struct esfm_state_lock lock;
	int r;

	if (esfm_state_lock(ctx->conf.state_dir, pool, who, ctx->conf.lock_timeout_ms, &lock, err) <
	    0)
		return -1;
	r = esfm_state_load(ctx->conf.state_dir, pool, &st, err);
	if (r == 0)
		r = fn(&st, data, err);
	if (r == 0)
		r = esfm_state_save(ctx->conf.state_dir, &st, err);
	else if (r > 0)
		r = 0; /* nothing changed: nothing written */
	esfm_state_unlock(&lock);
	esfm_state_clear(&st);
	return r;
}

int esfm_vfpool_mark_busy(struct esfm_pool_state *st, const char *what, struct esfm_err *err)
{
	if (esfm_vfpool_check_busy(st, err) < 0)
		return -1;
	st->busy.pid = (long)getpid();
	if (esfm_proc_start_time(st->busy.pid, &st->busy.start) < 0)
		return esfm_err_sys(err, errno, "cannot read the start time of this process");
	snprintf(st->busy.what, sizeof(st->busy.what), "%s", what);
	st->busy.since = time(NULL);
	return 0;
}

void esfm_vfpool_clear_busy(struct esfm_pool_state *st)
{
	if (st->busy.pid == (long)getpid())
		memset(&st->busy, 0, sizeof(st->busy));
}

int esfm_vfpool_end_change(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	(void)data;
	(void)err;
	esfm_vfpool_clear_busy(st);
	esfm_journal_clear(&st->journal);
	return 0;
}

/* Slot indices of @dom's hostdevs that are VFs of @pool (static mode). */
static int static_picks(struct esfm_ctx *ctx, const struct esfm_pool *pool,
			const struct esfm_domain *dom, size_t capacity, unsigned *picks,
			unsigned *npicks, struct esfm_err *err)
{
	*npicks = 0;
	for (size_t i = 0; i < dom->nhostdev; i++) {
		char a[ESFM_PCI_ADDR_STRLEN];
		int idx;

		if (esfm_vfpool_index_of(ctx, pool, &dom->hostdev[i].addr, &idx, err) < 0)
			return -1;
		if (idx < 0)
			continue;
		if ((size_t)idx >= capacity) {
			esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				     "hostdev %s is VF %d of PF, outside pool '%s' (VFs 0-%zu)",
				     esfm_pci_addr_str(&dom->hostdev[i].addr, a), idx, pool->name,
				     capacity ? capacity - 1 : 0);
			return esfm_err_hint(err, "use a VF of the pool or grow the pool");
		}
		picks[(*npicks)++] = (unsigned)idx;
	}
	if (*npicks == 0) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0,
			     "static mode, but no <hostdev> in the domain is a VF of pool '%s'",
			     pool->name);
		return esfm_err_hint(
			err,
			"add the VF's <hostdev managed='no'> to the domain or use mode='hotplug'");
	}
	return 0;
}

static int check_static_free(const struct esfm_pool_state *st, const unsigned *picks, unsigned n,
			     const char *uuid, struct esfm_err *err)
{
	for (unsigned i = 0; i < n; i++) {
		const struct esfm_vf_slot *s = &st->vfs[picks[i]];

		if (s->state != ESFM_VF_FREE && strcmp(s->uuid, uuid)) {
			esfm_err_set(err, ESFM_ERR_BUSY, 0, "pool '%s': VF %u is %s by '%s'",
				     st->pool, picks[i], esfm_vf_state_name(s->state), s->name);
			return esfm_err_hint(err, "stop '%s' first or give this VM another VF",
					     s->name);
		}
	}
	return 0;
}

struct reserve_args {
	struct esfm_ctx *ctx;
	const struct esfm_pool *pool;
	const struct esfm_domain *dom;
	unsigned want;
	struct esfm_allocation *out;
	size_t *nout;
};

/* An esfm_state_fn: pick, bind and record the VFs of a prepare. */
static int reserve_fn(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	const struct reserve_args *r = data;
	struct esfm_ctx *ctx = r->ctx;
	const struct esfm_pool *pool = r->pool;
	const struct esfm_domain *dom = r->dom;
	struct esfm_allocation *out = r->out;
	unsigned picks[ESFM_MAX_VFS_PER_VM], npicks = r->want;
	size_t capacity;

	if (esfm_vfpool_check_busy(st, err) < 0 ||
	    esfm_vfpool_sync(ctx, pool, st, &capacity, err) < 0)
		return -1;
	if (dom->mode == ESFM_MODE_STATIC) {
		if (static_picks(ctx, pool, dom, capacity, picks, &npicks, err) < 0 ||
		    check_static_free(st, picks, npicks, dom->uuid, err) < 0)
			return -1;
	} else if (esfm_alloc_pick(st, capacity, dom->uuid, r->want, picks, err) < 0) {
		return -1;
	}
	for (unsigned i = 0; i < npicks; i++)
		if (esfm_vfpool_confirm_vf(ctx, pool, st, picks[i], err) < 0 ||
		    esfm_pci_bind_driver(ctx->sysfs, &st->vfs[picks[i]].addr, pool->driver, err) <
			    0)
			return esfm_err_prefix(err, "pool '%s'", pool->name);
	for (unsigned i = 0; i < npicks; i++) {
		struct esfm_vf_slot *s = &st->vfs[picks[i]];
		struct esfm_allocation *a = &out[i];
		char addr[ESFM_PCI_ADDR_STRLEN];

		snprintf(a->pool, sizeof(a->pool), "%s", pool->name);
		a->index = picks[i];
		a->addr = s->addr;
		if (esfm_hostdev_alias(pool->name, picks[i], a->alias, sizeof(a->alias), err) < 0)
			return -1;
		if (s->state == ESFM_VF_FREE)
			esfm_state_set_owner(s, ESFM_VF_RESERVED, ESFM_ORIGIN_HOOK, dom->uuid,
					     dom->name, a->alias);
		else if (s->origin == ESFM_ORIGIN_HOOK && s->state != ESFM_VF_RESERVED)
			/* A loan whose release was missed: the worker attaches reserved VFs only. */
			s->state = ESFM_VF_RESERVED;
		/* A new start: the worker of an earlier one has nothing to do with it. */
		s->worker_pid = 0;
		s->worker_start = 0;
		esfm_info("pool '%s': VF %u (%s) reserved for domain '%s' (%s)", pool->name,
			  picks[i], esfm_pci_addr_str(&s->addr, addr), dom->name, dom->uuid);
	}
	*r->nout = npicks;
	return 0;
}

int esfm_vfpool_reserve(struct esfm_ctx *ctx, const struct esfm_domain *dom,
			const struct esfm_pool_request *req, struct esfm_allocation *out,
			size_t *nout, struct esfm_err *err)
{
	struct reserve_args a = {ctx, NULL, dom, req->count, out, nout};
	struct esfm_pool pool;
	char who[ESFM_DOM_NAME_MAX + 32];
	int r;

	*nout = 0;
	if (esfm_pool_load(&ctx->conf, req->pool, &pool, err) < 0 ||
	    esfm_pool_check_pf_unique(&ctx->conf, &pool, err) < 0)
		return -1;
	snprintf(who, sizeof(who), "esfm-hook prepare '%s'", dom->name);
	a.pool = &pool;
	r = esfm_vfpool_update(ctx, pool.name, who, reserve_fn, &a, err);
	if (r < 0)
		*nout = 0;
	return r;
}

typedef bool (*slot_fn)(struct esfm_vf_slot *s, void *data);

struct slots_args {
	slot_fn fn;
	void *data;
	size_t *changed;
};

/* An esfm_state_fn: apply @fn to every slot; nothing to save if none changed. */
static int slots_fn(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	const struct slots_args *a = data;

	(void)err;
	for (size_t i = 0; i < st->nvfs; i++)
		if (a->fn(&st->vfs[i], a->data))
			(*a->changed)++;
	return *a->changed ? 0 : 1;
}

/* Lock, load, apply @fn to every slot, save if anything changed. */
static int update_slots(struct esfm_ctx *ctx, const char *pool, const char *who, slot_fn fn,
			void *data, size_t *changed, struct esfm_err *err)
{
	struct slots_args a = {fn, data, changed};

	*changed = 0;
	return esfm_vfpool_update(ctx, pool, who, slots_fn, &a, err);
}

struct release_args {
	const char *pool;
	const char *uuid;
	int index;
	unsigned origin_mask;
};

static bool release_slot(struct esfm_vf_slot *s, void *data)
{
	struct release_args *a = data;
	char addr[ESFM_PCI_ADDR_STRLEN];

	if (s->state == ESFM_VF_FREE || strcmp(s->uuid, a->uuid) ||
	    !(a->origin_mask & ESFM_ORIGIN_MASK(s->origin)) ||
	    (a->index != ESFM_ALL_SLOTS && (unsigned)a->index != s->index))
		return false;
	esfm_info("pool '%s': VF %u (%s) released by domain '%s' (%s)", a->pool, s->index,
		  esfm_pci_addr_str(&s->addr, addr), s->name, s->uuid);
	esfm_state_set_free(s);
	return true;
}

/* No state file: the pool never lent anything; no lock file needs to exist either. */
static bool has_state(struct esfm_ctx *ctx, const char *pool)
{
	char path[PATH_MAX];

	if (!esfm_name_valid(pool) || snprintf(path, sizeof(path), "%s/%s.state",
					       ctx->conf.state_dir, pool) >= (int)sizeof(path))
		return true; /* let the locked path report the error */
	return access(path, F_OK) == 0;
}

int esfm_vfpool_release(struct esfm_ctx *ctx, const char *pool, const char *uuid, int index,
			unsigned origin_mask, size_t *freed, struct esfm_err *err)
{
	struct release_args a = {pool, uuid, index, origin_mask};

	*freed = 0;
	if (!has_state(ctx, pool))
		return 0;

	return update_slots(ctx, pool, "esfm release", release_slot, &a, freed, err);
}

struct mark_args {
	const char *pool;
	const char *uuid;
	int index;
	enum esfm_vf_state from, to;
};

static bool mark_slot(struct esfm_vf_slot *s, void *data)
{
	struct mark_args *a = data;

	if (s->state != a->from || strcmp(s->uuid, a->uuid) ||
	    (a->index != ESFM_ALL_SLOTS && (unsigned)a->index != s->index))
		return false;
	esfm_info("pool '%s': VF %u of domain '%s' %s -> %s", a->pool, s->index, s->name,
		  esfm_vf_state_name(a->from), esfm_vf_state_name(a->to));
	s->state = a->to;
	if (a->to != ESFM_VF_RESERVED) {
		s->worker_pid = 0;
		s->worker_start = 0;
	}
	return true;
}

int esfm_vfpool_mark(struct esfm_ctx *ctx, const char *pool, const char *uuid, int index,
		     enum esfm_vf_state from, enum esfm_vf_state to, size_t *changed,
		     struct esfm_err *err)
{
	struct mark_args a = {pool, uuid, index, from, to};

	return update_slots(ctx, pool, "esfm mark", mark_slot, &a, changed, err);
}

struct worker_args {
	const char *pool;
	const char *uuid;
	long pid;
	unsigned long long start;
};

static bool stamp_slot(struct esfm_vf_slot *s, void *data)
{
	struct worker_args *a = data;

	if (s->state != ESFM_VF_RESERVED || s->origin != ESFM_ORIGIN_HOOK ||
	    strcmp(s->uuid, a->uuid))
		return false;
	s->worker_pid = a->pid;
	s->worker_start = a->start;
	return true;
}

int esfm_vfpool_stamp_worker(struct esfm_ctx *ctx, const char *pool, const char *uuid, long pid,
			     size_t *stamped, struct esfm_err *err)
{
	struct worker_args a = {pool, uuid, pid, 0};

	/* Unreadable: it has ended already, and a start time of 0 matches no process. */
	if (esfm_proc_start_time(pid, &a.start) < 0)
		a.start = 0;
	return update_slots(ctx, pool, "esfm started", stamp_slot, &a, stamped, err);
}

struct reconnect_args {
	struct esfm_rc_facts facts;
	size_t adopted;
};

static int reconnect_fn(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	struct reconnect_args *a = data;
	struct esfm_rc_findings out = {0};
	int r = esfm_reconcile(st, &a->facts, &out, err);

	for (size_t i = 0; r == 0 && i < out.n; i++) {
		if (out.item[i].kind == ESFM_RC_ADOPTED || out.item[i].kind == ESFM_RC_FREED)
			esfm_info("%s", out.item[i].text);
		else
			esfm_warn("%s", out.item[i].text);
	}
	a->adopted = esfm_rc_count(&out, ESFM_RC_ADOPTED);
	if (r == 0 && !out.changed)
		r = 1;
	esfm_rc_findings_free(&out);
	return r;
}

/* What the domain's live XML holds of @pool, by source address (aliases prove nothing). */
static int reconnect_facts(struct esfm_ctx *ctx, const struct esfm_pool *pool,
			   const struct esfm_domain *dom, struct esfm_rc_domain *rd,
			   struct esfm_pci_addr **vfs, struct esfm_rc_facts *f,
			   struct esfm_err *err)
{
	struct esfm_pf_info info;
	size_t n;

	if (esfm_pci_pf_info(ctx->sysfs, &pool->pf, &info, err) < 0 ||
	    esfm_pci_list_vfs(ctx->sysfs, &pool->pf, vfs, &n, err) < 0)
		return esfm_err_prefix(err, "pool '%s'", pool->name);
	snprintf(rd->uuid, sizeof(rd->uuid), "%s", dom->uuid);
	snprintf(rd->name, sizeof(rd->name), "%s", dom->name);
	rd->readable = rd->running = true;
	for (size_t i = 0; i < dom->nhostdev && rd->nhold < ESFM_MAX_VFS_PER_VM; i++) {
		int idx = esfm_pci_vf_index_compute(&pool->pf, info.offset, info.stride,
						    info.totalvfs, &dom->hostdev[i].addr);

		if (idx < 0)
			continue;
		rd->hold[rd->nhold].index = (unsigned)idx;
		rd->hold[rd->nhold].live = true;
		snprintf(rd->hold[rd->nhold].alias, sizeof(rd->hold[0].alias), "%s",
			 dom->hostdev[i].alias);
		rd->nhold++;
	}
	memset(f, 0, sizeof(*f));
	f->sysfs_known = true;
	f->nexist = n;
	f->addr = *vfs;
	f->doms = rd;
	f->ndoms = 1;
	f->only_uuid = dom->uuid;
	return 0;
}

int esfm_vfpool_reconcile(struct esfm_ctx *ctx, const char *pool, const struct esfm_domain *dom,
			  size_t *adopted, struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pci_addr *vfs = NULL;
	_cleanup_free_ struct esfm_rc_domain *rd = calloc(1, sizeof(*rd));
	struct reconnect_args a = {0};
	struct esfm_pool p;

	*adopted = 0;
	if (!rd)
		return esfm_err_sys(err, ENOMEM, "cannot reconcile pool '%s'", pool);
	if (!has_state(ctx, pool) && !dom->nhostdev)
		return 0;
	if (esfm_pool_load(&ctx->conf, pool, &p, err) < 0 ||
	    reconnect_facts(ctx, &p, dom, rd, &vfs, &a.facts, err) < 0)
		return -1;
	if (esfm_vfpool_update(ctx, pool, "esfm-hook reconnect", reconnect_fn, &a, err) < 0)
		return -1;
	*adopted = a.adopted;
	return 0;
}

struct held_args {
	const char *uuid;
	int state;
	struct esfm_allocation *out;
	size_t *nout;
};

/* An esfm_state_fn that only reads: the slots @uuid holds. */
static int held_fn(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	const struct held_args *h = data;

	(void)err;
	for (size_t i = 0; i < st->nvfs && *h->nout < ESFM_MAX_VFS_PER_VM; i++) {
		struct esfm_vf_slot *s = &st->vfs[i];
		struct esfm_allocation *a;

		if (s->state == ESFM_VF_FREE || strcmp(s->uuid, h->uuid) ||
		    (h->state >= 0 && s->state != (enum esfm_vf_state)h->state))
			continue;
		a = &h->out[(*h->nout)++];
		snprintf(a->pool, sizeof(a->pool), "%s", st->pool);
		a->index = s->index;
		a->addr = s->addr;
		snprintf(a->alias, sizeof(a->alias), "%s", s->alias);
	}
	return 1;
}

int esfm_vfpool_held(struct esfm_ctx *ctx, const char *pool, const char *uuid, int state,
		     struct esfm_allocation *out, size_t *nout, struct esfm_err *err)
{
	struct held_args h = {uuid, state, out, nout};

	*nout = 0;
	return esfm_vfpool_update(ctx, pool, "esfm read", held_fn, &h, err);
}
