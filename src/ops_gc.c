// SPDX-License-Identifier: MIT
/*
 * Reconcile from reality (esfm pool-gc, alias esfm reconcile, and the first
 * step of every CLI operation): gather what sysfs and libvirt show without
 * holding any lock, then correct the ledger in one short locked cycle with
 * the pure esfm_reconcile. libvirt is never called with a pool lock held: a
 * hook waits for that lock while libvirtd holds the domain's job.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guestdev.h"
#include "hostdev.h"
#include "log.h"
#include "ops.h"
#include "ops_internal.h"
#include "proc.h"
#include "reconcile.h"
#include "util.h"
#include "virt.h"

static void ui_warn(const struct esfm_ui *ui, const char *msg)
{
	if (ui && ui->warn)
		ui->warn(ui->data, msg);
	else
		esfm_warn("%s", msg);
}

void esfm_lv_facts_free(struct esfm_lv_facts *lv)
{
	for (size_t i = 0; i < lv->n; i++) {
		free(lv->doms[i].live);
		free(lv->doms[i].config);
	}
	free(lv->doms);
	memset(lv, 0, sizeof(*lv));
}

/* The domain is gone (between the list and this call): true; else a warning. */
static bool vanished(const struct esfm_ui *ui, const char *name, const char *what,
		     const struct esfm_err *e)
{
	char msg[ESFM_ERR_MSG_MAX + ESFM_DOM_NAME_MAX + 128];

	if (e->cls == ESFM_ERR_NOTFOUND)
		return true;
	snprintf(msg, sizeof(msg), "domain '%s': %s: %s; its VFs are left as recorded", name, what,
		 e->msg);
	ui_warn(ui, msg);
	return false;
}

/* Read one domain; false if it vanished meanwhile (left out). */
static bool read_domain(struct esfm_virt_dom *dom, const struct esfm_ui *ui,
			struct esfm_dom_facts *d)
{
	struct esfm_err e = {0};
	bool persistent = false;

	snprintf(d->name, sizeof(d->name), "%s", esfm_virt_name(dom));
	snprintf(d->uuid, sizeof(d->uuid), "%s", esfm_virt_uuid(dom));
	d->readable = true;
	if (esfm_virt_active(dom, &d->running, &e) < 0 ||
	    esfm_virt_persistent(dom, &persistent, &e) < 0) {
		d->readable = false;
		return !vanished(ui, d->name, "libvirt cannot tell its state", &e);
	}
	if (d->running && (!(d->live = calloc(1, sizeof(*d->live))) ||
			   esfm_virt_domain_info(dom, false, d->live, &e) < 0)) {
		d->readable = false;
		return !vanished(ui, d->name, "cannot read its live XML", &e);
	}
	if (persistent && (!(d->config = calloc(1, sizeof(*d->config))) ||
			   esfm_virt_domain_info(dom, true, d->config, &e) < 0)) {
		d->readable = false;
		return !vanished(ui, d->name, "cannot read its persistent XML", &e);
	}
	return true;
}

int esfm_lv_facts_gather(struct esfm_virt *v, const struct esfm_ui *ui, struct esfm_lv_facts *lv,
			 struct esfm_err *err)
{
	struct esfm_virt_dom **doms = NULL;
	struct esfm_err e = {0};
	size_t n = 0;

	memset(lv, 0, sizeof(*lv));
	if (!v)
		return 0;
	if (esfm_virt_list_domains(v, &doms, &n, &e) < 0) {
		char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 128],
			why[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];

		snprintf(msg, sizeof(msg), "libvirt: %s; every VF recorded as held is left alone",
			 esfm_err_format(&e, why, sizeof(why)));
		ui_warn(ui, msg);
		return 0;
	}
	lv->doms = n ? calloc(n, sizeof(*lv->doms)) : NULL;
	if (n && !lv->doms) {
		esfm_virt_free_domains(doms, n);
		return esfm_err_sys(err, ENOMEM, "cannot read the domains");
	}
	for (size_t i = 0; i < n; i++) {
		struct esfm_dom_facts *d = &lv->doms[lv->n];

		if (read_domain(doms[i], ui, d)) {
			lv->n++;
		} else {
			free(d->live);
			free(d->config);
			memset(d, 0, sizeof(*d));
		}
	}
	esfm_virt_free_domains(doms, n);
	lv->known = true;
	return 0;
}

static void add_holds(struct esfm_rc_domain *rd, const struct esfm_domain *x, bool live,
		      const struct esfm_pci_addr *pf, const struct esfm_pf_info *info)
{
	for (size_t h = 0; x && h < x->nhostdev; h++) {
		int idx = esfm_pci_vf_index_compute(pf, info->offset, info->stride, info->totalvfs,
						    &x->hostdev[h].addr);
		struct esfm_rc_hold *hold = NULL;

		if (idx < 0)
			continue;
		for (size_t k = 0; k < rd->nhold; k++)
			if (rd->hold[k].index == (unsigned)idx)
				hold = &rd->hold[k];
		if (!hold) {
			if (rd->nhold == ESFM_MAX_VFS_PER_VM)
				continue;
			hold = &rd->hold[rd->nhold++];
			hold->index = (unsigned)idx;
		}
		if (live || !hold->alias[0])
			snprintf(hold->alias, sizeof(hold->alias), "%s", x->hostdev[h].alias);
		if (live)
			hold->live = true;
		else
			hold->config = true;
	}
}

/* The domains as reconcile sees them for one PF. *out malloc'ed. */
static int pool_domains(const struct esfm_lv_facts *lv, const struct esfm_pci_addr *pf,
			const struct esfm_pf_info *info, struct esfm_rc_domain **out,
			struct esfm_err *err)
{
	*out = lv->n ? calloc(lv->n, sizeof(**out)) : NULL;
	if (lv->n && !*out)
		return esfm_err_sys(err, ENOMEM, "cannot reconcile");
	for (size_t i = 0; i < lv->n; i++) {
		const struct esfm_dom_facts *d = &lv->doms[i];
		struct esfm_rc_domain *rd = &(*out)[i];

		snprintf(rd->uuid, sizeof(rd->uuid), "%s", d->uuid);
		snprintf(rd->name, sizeof(rd->name), "%s", d->name);
		rd->readable = d->readable;
		rd->running = d->running;
		if (!d->readable)
			continue;
		add_holds(rd, d->live, true, pf, info);
		add_holds(rd, d->config, false, pf, info);
	}
	return 0;
}

static void report(const struct esfm_ui *ui, const struct esfm_rc_findings *f, size_t *freed)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct esfm_rc_finding *x = &f->item[i];

		switch (x->kind) {
		case ESFM_RC_FREED:
		case ESFM_RC_ADOPTED:
		case ESFM_RC_RECOVERED:
			esfm_info("%s", x->text);
			if (ui && ui->step)
				esfm_ui_report(ui, x->text, esfm_now_ms(), true);
			else
				esfm_warn("%s", x->text);
			break;
		default:
			ui_warn(ui, x->text);
			break;
		}
	}
	if (freed)
		*freed += esfm_rc_count(f, ESFM_RC_FREED);
}

/* Which slots' attach workers have ended (*gone malloc'ed, one per slot; NULL if no slot). */
static int workers_gone(const struct esfm_pool_state *st, bool **gone, struct esfm_err *err)
{
	*gone = NULL;
	if (!st->nvfs)
		return 0;
	*gone = calloc(st->nvfs, sizeof(**gone));
	if (!*gone)
		return esfm_err_sys(err, ENOMEM, "cannot reconcile pool '%s'", st->pool);
	for (size_t i = 0; i < st->nvfs; i++)
		(*gone)[i] = st->vfs[i].worker_pid &&
			     !esfm_proc_alive(st->vfs[i].worker_pid, st->vfs[i].worker_start);
	return 0;
}

struct apply_args {
	struct esfm_ctx *ctx;
	const struct esfm_pool *pool;
	unsigned long gen;
	struct esfm_rc_facts *facts;
	struct esfm_rc_findings *out;
	bool *stale;
	bool *gone;
};

/* An esfm_state_fn: correct the ledger from the facts, unless it moved on since. */
static int apply_fn(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	struct apply_args *a = data;
	struct esfm_rc_facts *facts = a->facts;

	if (st->generation != a->gen) {
		*a->stale = true;
		return 1;
	}
	if (esfm_vfpool_claim_pf(a->ctx, a->pool, st, err) < 0)
		return -1;
	facts->busy_live = st->busy.pid && esfm_proc_alive(st->busy.pid, st->busy.start);
	if (workers_gone(st, &a->gone, err) < 0)
		return -1;
	facts->worker_gone = a->gone;
	facts->nworker = a->gone ? st->nvfs : 0;
	if (esfm_reconcile(st, facts, a->out, err) < 0)
		return -1;
	return a->out->changed ? 0 : 1;
}

/*
 * The short locked cycle: load, correct, save. Facts were gathered while the
 * ledger was at generation @gen: if it changed since (a hook reserved or
 * released meanwhile), the facts may be older than the ledger: *stale.
 */
static int apply(struct esfm_ctx *ctx, const struct esfm_pool *pool, unsigned long gen,
		 struct esfm_rc_facts *facts, struct esfm_rc_findings *out, bool *stale,
		 struct esfm_err *err)
{
	struct apply_args a = {ctx, pool, gen, facts, out, stale, NULL};
	int r;

	*stale = false;
	r = esfm_vfpool_update(ctx, pool->name, "esfm reconcile", apply_fn, &a, err);
	free(a.gone);
	return r;
}

/* The ledger's generation now (0 without a state file), read without the lock. */
static int generation(struct esfm_ctx *ctx, const char *pool, unsigned long *gen,
		      struct esfm_err *err)
{
	struct esfm_pool_state st = {0};

	if (esfm_state_load(ctx->conf.state_dir, pool, &st, err) < 0)
		return -1;
	*gen = st.generation;
	esfm_state_clear(&st);
	return 0;
}

/* One attempt: gather, then apply if the ledger did not move meanwhile. */
static int attempt(struct esfm_ctx *ctx, struct esfm_virt *v, const struct esfm_pool *pool,
		   const struct esfm_ui *ui, struct esfm_lv_facts *lv, struct esfm_rc_findings *out,
		   bool *stale, bool *busy, struct esfm_err *err)
{
	int r;

	_cleanup_free_ struct esfm_pci_addr *vfs = NULL;
	_cleanup_free_ struct esfm_rc_domain *doms = NULL;
	struct esfm_rc_facts f = {0};
	struct esfm_pf_info info;
	struct esfm_err e = {0};
	unsigned long gen;
	size_t n = 0;

	esfm_lv_facts_free(lv);
	if (generation(ctx, pool->name, &gen, err) < 0 || esfm_lv_facts_gather(v, ui, lv, err) < 0)
		return -1;
	f.libvirt_known = lv->known;
	if (esfm_pci_pf_info(ctx->sysfs, &pool->pf, &info, &e) == 0 &&
	    esfm_pci_list_vfs(ctx->sysfs, &pool->pf, &vfs, &n, &e) == 0) {
		f.sysfs_known = true;
		f.nexist = n;
		f.addr = vfs;
	} else {
		/* No PF: what domains hold cannot be mapped to VF indices. */
		f.libvirt_known = false;
	}
	if (f.libvirt_known && pool_domains(lv, &pool->pf, &info, &doms, err) < 0)
		return -1;
	f.doms = doms;
	f.ndoms = f.libvirt_known ? lv->n : 0;
	r = apply(ctx, pool, gen, &f, out, stale, err);
	*busy = f.busy_live;
	return r;
}

static void say_fixed(const struct esfm_ui *ui, const char *text)
{
	esfm_info("%s", text);
	if (ui && ui->step)
		esfm_ui_report(ui, text, esfm_now_ms(), true);
	else
		esfm_warn("%s", text);
}

/* Carry out one identity fix on the domain of @d (@flags: live or persistent XML). */
static void fix_identity(struct esfm_ctx *ctx, struct esfm_virt *v, const struct esfm_pool *pool,
			 const struct esfm_pool_state *st, const struct esfm_dom_facts *d,
			 const struct esfm_identity_fix *fix, unsigned flags,
			 const struct esfm_ui *ui)
{
	struct esfm_vf_identity id =
		esfm_identity_of(pool, fix->index, st->bitstream, st->bitstream_kind);
	char text[ESFM_NAME_MAX + ESFM_DOM_NAME_MAX + 128];
	struct esfm_err e = {0};
	struct esfm_virt_dom *dom;
	int r;

	if (esfm_virt_lookup(v, d->uuid, &dom, &e) < 0) {
		if (e.cls != ESFM_ERR_NOTFOUND)
			esfm_ui_warn_err(ui, &e);
		return;
	}
	r = fix->add ? esfm_guestdev_add_identity(dom, ctx->conf.template_dir, &id, flags, &e)
		     : esfm_guestdev_drop_identity(dom, &id, flags, &e);
	esfm_virt_release(dom);
	if (r < 0) {
		esfm_ui_warn_err(ui, &e);
		return;
	}
	if (fix->add)
		snprintf(text, sizeof(text),
			 "pool '%s': VF %u of '%s' had no identity channel: added again",
			 pool->name, fix->index, d->name);
	else if (flags == ESFM_VIRT_LIVE)
		snprintf(text, sizeof(text),
			 "pool '%s': identity channel of VF %u removed from '%s': it holds no "
			 "such VF",
			 pool->name, fix->index, d->name);
	else
		snprintf(text, sizeof(text),
			 "pool '%s': identity channel of VF %u removed from the persistent config "
			 "of '%s': it holds no such VF",
			 pool->name, fix->index, d->name);
	say_fixed(ui, text);
}

/*
 * The identity channels follow the VFs the domains hold (a VF whose channel
 * was lost to a crash between the two attaches gets it again; a channel left
 * without its VF goes). Only when no change has the pool marked busy: then
 * devices come and go on purpose.
 */
static void identity_upkeep(struct esfm_ctx *ctx, struct esfm_virt *v, const struct esfm_pool *pool,
			    const struct esfm_lv_facts *lv, const struct esfm_ui *ui)
{
	struct esfm_identity_fix fix[2 * ESFM_MAX_VFS_PER_VM];
	struct esfm_pool_state st = {0};
	struct esfm_err e = {0};

	if (esfm_state_load(ctx->conf.state_dir, pool->name, &st, &e) < 0) {
		esfm_ui_warn_err(ui, &e);
		return;
	}
	for (size_t i = 0; i < lv->n; i++) {
		const struct esfm_dom_facts *d = &lv->doms[i];
		size_t n;

		if (!d->readable)
			continue;
		n = d->live ? esfm_reconcile_identities(d->live, pool->name, true, fix,
							ESFM_ARRAY_SIZE(fix))
			    : 0;
		for (size_t k = 0; k < n; k++)
			fix_identity(ctx, v, pool, &st, d, &fix[k], ESFM_VIRT_LIVE, ui);
		n = d->config ? esfm_reconcile_identities(d->config, pool->name, false, fix,
							  ESFM_ARRAY_SIZE(fix))
			      : 0;
		for (size_t k = 0; k < n; k++)
			fix_identity(ctx, v, pool, &st, d, &fix[k], ESFM_VIRT_CONFIG, ui);
	}
	esfm_state_clear(&st);
}

#define RECONCILE_ATTEMPTS 3

int esfm_ops_reconcile(struct esfm_ctx *ctx, struct esfm_virt *v, const struct esfm_pool *pool,
		       const struct esfm_ui *ui, size_t *freed, struct esfm_lv_facts *lv_out,
		       struct esfm_err *err)
{
	struct esfm_lv_facts lv = {0};
	bool stale = true, busy = false;
	int r = 0;

	if (v && esfm_ops_recover(ctx, v, pool, ui, err) < 0)
		return -1;

	for (int i = 0; i < RECONCILE_ATTEMPTS && stale && r == 0; i++) {
		struct esfm_rc_findings out = {0};

		r = attempt(ctx, v, pool, ui, &lv, &out, &stale, &busy, err);
		if (r == 0 && !stale)
			report(ui, &out, freed);
		esfm_rc_findings_free(&out);
	}
	if (r == 0 && !stale && !busy && v && lv.known)
		identity_upkeep(ctx, v, pool, &lv, ui);
	if (r == 0 && stale) {
		char msg[ESFM_NAME_MAX + 128];

		snprintf(
			msg, sizeof(msg),
			"pool '%s': the ledger kept changing while being reconciled; left as it is",
			pool->name);
		ui_warn(ui, msg);
	}
	if (r == 0 && lv_out)
		*lv_out = lv;
	else
		esfm_lv_facts_free(&lv);
	return r < 0 ? esfm_err_prefix(err, "reconcile") : 0;
}

/* A pool by name: declared in pools.d, or implicit with a state file naming its PF. */
static int pool_by_name(struct esfm_ctx *ctx, const char *name, struct esfm_pool *pool,
			struct esfm_err *err)
{
	struct esfm_pool_state st = {0};
	int r;

	if (!esfm_name_valid(name))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "invalid pool name '%.80s'", name);
	if (esfm_pool_load(&ctx->conf, name, pool, err) == 0)
		return 0;
	if (err->cls != ESFM_ERR_NOTFOUND)
		return -1;
	esfm_err_clear(err);
	if (esfm_state_load(ctx->conf.state_dir, name, &st, err) < 0)
		return -1;
	r = esfm_pool_for_pf(&ctx->conf, &st.pf, pool, err);
	esfm_state_clear(&st);
	return r;
}

int esfm_op_gc(struct esfm_ctx *ctx, const char *pool, const struct esfm_ui *ui, size_t *freed,
	       struct esfm_err *err)
{
	struct esfm_pf_view *views = NULL;
	struct esfm_virt *v = NULL;
	struct esfm_pool one;
	size_t n = 0;
	int r = 0;

	*freed = 0;
	if (pool && pool_by_name(ctx, pool, &one, err) < 0)
		return -1;
	if (esfm_virt_open(ctx->conf.libvirt_uri, &v, err) < 0)
		return -1;
	if (pool) {
		r = esfm_ops_reconcile(ctx, v, &one, ui, freed, NULL, err);
	} else if ((r = esfm_op_status(ctx, &views, &n, err)) == 0) {
		for (size_t i = 0; i < n && r == 0; i++)
			r = esfm_ops_reconcile(ctx, v, &views[i].pool, ui, freed, NULL, err);
	}
	for (size_t i = 0; i < n; i++)
		esfm_pf_view_free(&views[i]);
	free(views);
	esfm_virt_close(v);
	return r;
}
