// SPDX-License-Identifier: MIT
#include "ctx.h"

#include <stddef.h>

int esfm_ctx_init(struct esfm_ctx *ctx, struct esfm_err *err)
{
	ctx->sysfs = NULL;
	if (esfm_conf_load(&ctx->conf, err) < 0)
		return -1;
	ctx->sysfs = esfm_sysfs_new(ctx->conf.sysfs_root, err);
	return ctx->sysfs ? 0 : -1;
}

void esfm_ctx_fini(struct esfm_ctx *ctx)
{
	esfm_sysfs_free(ctx->sysfs);
	ctx->sysfs = NULL;
}
