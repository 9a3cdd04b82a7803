/* SPDX-License-Identifier: MIT */
/*
 * What every esfm program works with: its settings (esfm.conf) and a handle
 * on the sysfs root they name. The CLI, the hook's handler and its worker
 * each make one at start and pass it down.
 */
#ifndef ESFM_CTX_H
#define ESFM_CTX_H

#include "conf.h"
#include "err.h"
#include "pci.h"

struct esfm_ctx {
	struct esfm_conf conf;
	struct esfm_sysfs *sysfs;
};

/* Load esfm.conf (ESFM_CONF_DIR or the default) and open the sysfs root. */
int esfm_ctx_init(struct esfm_ctx *ctx, struct esfm_err *err);
/* Release what esfm_ctx_init opened; safe after a failed init. */
void esfm_ctx_fini(struct esfm_ctx *ctx);

#endif
