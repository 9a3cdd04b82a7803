// SPDX-License-Identifier: MIT
/*
 * pool-gc: give back VFs whose recorded holder no longer holds them. The
 * state can only drift from libvirt when something bypassed esfm: an
 * annotation removed from a running domain (release then has nothing to
 * read), a domain undefined while esfm was not asked, a hostdev removed by
 * hand. Runs under the pool lock like every other change.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ops.h"
#include "ops_internal.h"
#include "util.h"
#include "virt.h"

/* A reservation this young may belong to a domain that is still starting. */
#define GC_GRACE_S 120

static bool holds_vf(const struct esfm_domain *d, const struct esfm_vf_slot *s)
{
	for (size_t i = 0; i < d->nhostdev; i++)
		if (!esfm_pci_addr_cmp(&d->hostdev[i].addr, &s->addr))
			return true;
	return false;
}

/* Why @s should be freed, or NULL to keep it. */
static const char *stale_reason(struct esfm_virt *v, const struct esfm_vf_slot *s,
				struct esfm_domain *d)
{
	struct esfm_err e = {0};
	virDomainPtr dom;
	const char *why = NULL;
	bool active;

	if (s->state == ESFM_VF_RESERVED && time(NULL) - s->since < GC_GRACE_S)
		return NULL;
	if (esfm_virt_lookup(v, s->uuid, &dom, &e) < 0)
		return e.cls == ESFM_ERR_NOTFOUND ? "its VM no longer exists" : NULL;
	active = esfm_virt_is_active(dom);
	if (s->origin == ESFM_ORIGIN_HOOK && !active)
		why = "its VM is not running";
	else if (esfm_virt_domain_info(dom, !active, d, &e) == 0 && !holds_vf(d, s))
		why = active ? "its VM does not hold it" : "its VM's configuration does not name it";
	virDomainFree(dom);
	return why;
}

static int gc_pool(struct esfm_ctx *ctx, struct esfm_virt *v, const char *pool, size_t *freed,
		   const struct esfm_ui *ui, struct esfm_err *err)
{
	struct esfm_pool_state st = {0};
	struct esfm_state_lock lock;
	struct esfm_domain *d = malloc(sizeof(*d));
	size_t n = 0;
	int r = 0;

	if (!d)
		return esfm_err_sys(err, ENOMEM, "cannot check pool '%s'", pool);
	if (esfm_state_lock(ctx->conf.state_dir, pool, "esfm pool-gc", ctx->conf.lock_timeout_ms,
			    &lock, err) < 0) {
		free(d);
		return -1;
	}
	if (esfm_state_load(ctx->conf.state_dir, pool, &st, err) < 0) {
		r = -1;
		goto out;
	}
	for (size_t i = 0; i < st.nvfs; i++) {
		struct esfm_vf_slot *s = &st.vfs[i];
		char what[512], a[ESFM_PCI_ADDR_STRLEN];
		const char *why;

		if (s->state == ESFM_VF_FREE || !(why = stale_reason(v, s, d)))
			continue;
		snprintf(what, sizeof(what), "pool '%s': free VF %zu (%s), %s by '%s': %s", pool, i,
			 esfm_pci_addr_str(&s->addr, a), esfm_vf_state_name(s->state), s->name, why);
		esfm_info("%s", what);
		esfm_ui_report(ui, what, esfm_now_ms(), true);
		esfm_state_set_free(s);
		n++;
	}
	if (n)
		r = esfm_state_save(ctx->conf.state_dir, &st, err);
out:
	esfm_state_unlock(&lock);
	esfm_state_clear(&st);
	free(d);
	*freed += r == 0 ? n : 0;
	return r;
}

int esfm_op_gc(struct esfm_ctx *ctx, const char *pool, const struct esfm_ui *ui, size_t *freed,
	       struct esfm_err *err)
{
	struct esfm_pf_view *views = NULL;
	struct esfm_virt *v = NULL;
	size_t n = 0;
	int r = 0;

	*freed = 0;
	if (esfm_virt_open(ctx->conf.libvirt_uri, &v, err) < 0)
		return -1;
	if (pool) {
		r = gc_pool(ctx, v, pool, freed, ui, err);
	} else if ((r = esfm_op_status(ctx, false, &views, &n, err)) == 0) {
		for (size_t i = 0; i < n && r == 0; i++)
			r = gc_pool(ctx, v, views[i].pool.name, freed, ui, err);
	}
	for (size_t i = 0; i < n; i++)
		esfm_pf_view_free(&views[i]);
	free(views);
	esfm_virt_close(v);
	return r;
}
