// SPDX-License-Identifier: MIT
#include "hookworker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestdev.h"
#include "hostdev.h"
#include "log.h"
#include "nova.h"
#include "pool.h"
#include "util.h"
#include "vfpool.h"
#include "virt.h"

struct worker {
	struct esfm_ctx *ctx;
	struct esfm_virt_dom *dom;
	struct esfm_domain info;
	struct esfm_allocation done[ESFM_MAX_VFS_PER_VM];
	size_t ndone;
	char error_pool[ESFM_NAME_MAX];
	char error[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];
};

static void record_failure(struct worker *w, const char *pool, struct esfm_err *e)
{
	if (w->error[0])
		return;
	snprintf(w->error_pool, sizeof(w->error_pool), "%s", pool);
	esfm_err_format(e, w->error, sizeof(w->error));
}

struct flashed {
	char bitstream[sizeof(((struct esfm_pool_state *)0)->bitstream)];
	char kind[sizeof(((struct esfm_pool_state *)0)->bitstream_kind)];
};

static int read_flashed(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	struct flashed *f = data;

	(void)err;
	snprintf(f->bitstream, sizeof(f->bitstream), "%s", st->bitstream);
	snprintf(f->kind, sizeof(f->kind), "%s", st->bitstream_kind);
	return 1; /* nothing to save */
}

/* What the guest is told about VF @a: the pool's PF and the kind of its bitstream. */
static int identity_of(struct worker *w, const struct esfm_allocation *a, struct esfm_pool *pool,
		       struct flashed *f, struct esfm_vf_identity *id, struct esfm_err *err)
{
	if (esfm_pool_load(&w->ctx->conf, a->pool, pool, err) < 0 ||
	    esfm_vfpool_update(w->ctx, a->pool, "esfm-hook-worker", read_flashed, f, err) < 0)
		return -1;
	*id = esfm_identity_of(pool, a->index, f->bitstream, f->kind);
	return 0;
}

static int attach_one(struct worker *w, const struct esfm_allocation *a, struct esfm_err *err)
{
	_cleanup_free_ char *xml = NULL;
	_cleanup_free_ struct esfm_pool *pool = calloc(1, sizeof(*pool));
	_cleanup_free_ struct flashed *f = calloc(1, sizeof(*f));
	struct esfm_vf_identity id;
	struct esfm_err warn = {0};
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];
	bool warned;
	size_t n;

	if (!pool || !f)
		return esfm_err_sys(err, ENOMEM, "cannot attach VF %u", a->index);
	if (esfm_hostdev_xml(w->ctx->conf.template_dir, &a->addr, a->alias, &xml, err) < 0)
		return -1;
	if (identity_of(w, a, pool, f, &id, &warn) < 0) {
		/* The VF is what the guest was promised; its identity is a courtesy. */
		esfm_err_prefix(&warn,
				"VM '%s': VF %u of pool '%s' is attached without its "
				"identity channel",
				w->info.name, a->index, a->pool);
		esfm_warn("%s", esfm_err_format(&warn, msg, sizeof(msg)));
		if (esfm_virt_attach(w->dom, xml, ESFM_VIRT_LIVE, err) < 0)
			return -1;
	} else if (esfm_guestdev_attach(w->dom, w->ctx->conf.template_dir, xml, &id, ESFM_VIRT_LIVE,
					&warned, &warn, err) < 0) {
		return -1;
	} else if (warned) {
		esfm_warn("%s", esfm_err_format(&warn, msg, sizeof(msg)));
	}
	if (esfm_vfpool_mark(w->ctx, a->pool, w->info.uuid, (int)a->index, ESFM_VF_RESERVED,
			     ESFM_VF_ATTACHED, &n, err) < 0)
		return -1;
	if (n == 0)
		esfm_warn("pool '%s': VF %u was released while being attached to '%s'", a->pool,
			  a->index, w->info.name);
	return 0;
}

static void attach_pool(struct worker *w, const char *pool)
{
	struct esfm_allocation held[ESFM_MAX_VFS_PER_VM];
	struct esfm_err err = {0};
	size_t n;

	if (esfm_vfpool_held(w->ctx, pool, w->info.uuid, ESFM_VF_RESERVED, held, &n, &err) < 0) {
		record_failure(w, pool, &err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8], a[ESFM_PCI_ADDR_STRLEN];
		size_t freed;

		esfm_err_clear(&err);
		if (attach_one(w, &held[i], &err) == 0) {
			esfm_info("pool '%s': VF %u (%s) attached to domain '%s' (%s) as %s", pool,
				  held[i].index, esfm_pci_addr_str(&held[i].addr, a), w->info.name,
				  w->info.uuid, held[i].alias);
			if (w->ndone < ESFM_MAX_VFS_PER_VM)
				w->done[w->ndone++] = held[i];
			continue;
		}
		esfm_err_prefix(&err, "pool '%s': VF %u (%s)", pool, held[i].index,
				esfm_pci_addr_str(&held[i].addr, a));
		esfm_log_error("attach to domain '%s' (%s) failed: %s", w->info.name, w->info.uuid,
			       esfm_err_format(&err, msg, sizeof(msg)));
		record_failure(w, pool, &err);
		esfm_err_clear(&err);
		if (esfm_vfpool_release(w->ctx, pool, w->info.uuid, (int)held[i].index,
					ESFM_ORIGIN_MASK(ESFM_ORIGIN_HOOK), &freed, &err) < 0)
			esfm_log_error("pool '%s': cannot free VF %u after the failed attach: %s",
				       pool, held[i].index,
				       esfm_err_format(&err, msg, sizeof(msg)));
	}
}

static void publish(struct worker *w)
{
	_cleanup_free_ char *xml = NULL;
	struct esfm_err err = {0};
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];

	if (esfm_domxml_annotation_xml(&w->info, w->done, w->ndone,
				       w->error[0] ? w->error_pool : NULL,
				       w->error[0] ? w->error : NULL, &xml, &err) < 0 ||
	    esfm_virt_set_metadata(w->dom, xml, ESFM_VIRT_LIVE, &err) < 0)
		esfm_log_error("domain '%s': cannot record allocations in live metadata: %s",
			       w->info.name, esfm_err_format(&err, msg, sizeof(msg)));
}

int esfm_hook_worker_attach(struct esfm_ctx *ctx, const char *uuid, struct esfm_err *err)
{
	struct esfm_virt *v = NULL;
	struct worker *w = calloc(1, sizeof(*w));
	int r = -1;

	if (!w)
		return esfm_err_sys(err, ENOMEM, "cannot allocate worker");
	w->ctx = ctx;
	if (esfm_virt_open(ctx->conf.libvirt_uri, &v, err) < 0 ||
	    esfm_virt_lookup(v, uuid, &w->dom, err) < 0 ||
	    esfm_virt_domain_info(w->dom, false, &w->info, err) < 0 ||
	    esfm_nova_resolve(&ctx->conf, &w->info, err) < 0)
		goto out;
	if (!w->info.annotated) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "domain '%s' has no esfm annotation any more",
			     w->info.name);
		goto out;
	}
	for (size_t i = 0; i < w->info.nreq; i++)
		attach_pool(w, w->info.req[i].pool);
	publish(w);
	if (w->error[0]) {
		esfm_err_set(err, ESFM_ERR_FAILED, 0, "%s", w->error);
		goto out;
	}
	r = 0;
out:
	if (w->dom)
		esfm_virt_release(w->dom);
	esfm_virt_close(v);
	free(w);
	return r;
}
