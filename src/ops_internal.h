/* SPDX-License-Identifier: MIT */
/* Shared between the ops_*.c files; not for the binaries. */
#ifndef ESFM_OPS_INTERNAL_H
#define ESFM_OPS_INTERNAL_H

#include "ops.h"
#include "virt.h"

/* What libvirt shows: every domain, its state and its live and persistent XML. */
struct esfm_dom_facts {
	char uuid[ESFM_UUID_STRLEN];
	char name[ESFM_DOM_NAME_MAX];
	bool readable; /* false: libvirt failed to give its state or XML (not "no such domain") */
	bool running;
	struct esfm_domain *live;   /* NULL unless running and readable */
	struct esfm_domain *config; /* NULL unless persistent and readable */
};

struct esfm_lv_facts {
	bool known; /* the domain list was read */
	size_t n;
	struct esfm_dom_facts *doms;
};

/*
 * Read every domain (@v NULL: libvirt unknown). A domain libvirt cannot
 * read is kept as unreadable with a warning through @ui; one that vanished
 * meanwhile is left out; a failed list leaves known false (with a warning).
 * Error only when out of memory. Free with esfm_lv_facts_free.
 */
int esfm_lv_facts_gather(struct esfm_virt *v, const struct esfm_ui *ui, struct esfm_lv_facts *lv,
			 struct esfm_err *err);
void esfm_lv_facts_free(struct esfm_lv_facts *lv);

/*
 * Reconcile @pool's ledger from sysfs and libvirt (@v; NULL: libvirt
 * unknown): the facts are gathered with no lock held, then applied in one
 * short locked cycle, again (at most 3 times) if the ledger moved meanwhile.
 * Each finding is reported through @ui (changes as steps, the rest as
 * warnings; without @ui, warnings in the log). *freed (if not NULL) grows by
 * the VFs freed; *lv (if not NULL) receives the libvirt facts used (free with
 * esfm_lv_facts_free).
 */
int esfm_ops_reconcile(struct esfm_ctx *ctx, struct esfm_virt *v, const struct esfm_pool *pool,
		       const struct esfm_ui *ui, size_t *freed, struct esfm_lv_facts *lv,
		       struct esfm_err *err);

/*
 * If a reconf or init of @pool died half way (its journal is in the ledger,
 * its busy mark names a dead process), finish it: PF back on the bus, the VF
 * count it was going to, VFs bound, every device it took from a guest given
 * back. Each thing done is reported through @ui. Never calls libvirt with
 * the lock held. 0 when there was nothing to do.
 */
int esfm_ops_recover(struct esfm_ctx *ctx, struct esfm_virt *v, const struct esfm_pool *pool,
		     const struct esfm_ui *ui, struct esfm_err *err);

/*
 * Build the view of @pool; @v NULL skips libvirt. With libvirt, the ledger is
 * reconciled first (esfm_ops_reconcile), without any lock held during the
 * libvirt calls.
 */
int esfm_ops_view_of_pool(struct esfm_ctx *ctx, const struct esfm_pool *pool, struct esfm_virt *v,
			  struct esfm_pf_view *view, struct esfm_err *err);

#endif
