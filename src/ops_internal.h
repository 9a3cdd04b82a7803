/* SPDX-License-Identifier: MIT */
/* Shared between the ops_*.c files; not for the binaries. */
#ifndef ESFM_OPS_INTERNAL_H
#define ESFM_OPS_INTERNAL_H

#include "ops.h"
#include "virt.h"

/* Add libvirt's view (who has which VF in live/persistent XML) to @view. */
int esfm_ops_scan_libvirt(struct esfm_virt *v, struct esfm_pf_view *view, struct esfm_err *err);

/* Build the view of @pool; @v NULL skips libvirt. */
int esfm_ops_view_of_pool(struct esfm_ctx *ctx, const struct esfm_pool *pool, struct esfm_virt *v,
			  struct esfm_pf_view *view, struct esfm_err *err);

#endif
