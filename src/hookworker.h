/* SPDX-License-Identifier: MIT */
/*
 * The hook's attach worker: runs detached after `started`, connects to
 * libvirt, hot-plugs the VFs reserved for the domain, marks them attached and
 * records them in the domain's live metadata. A VF that cannot be attached is
 * returned to its pool and the failure is recorded in the live metadata.
 */
#ifndef ESFM_HOOKWORKER_H
#define ESFM_HOOKWORKER_H

#include "ctx.h"
#include "err.h"

/* Returns 0 if every reserved VF was attached, -1 (err: the first failure) otherwise. */
int esfm_hook_worker_attach(struct esfm_ctx *ctx, const char *uuid, struct esfm_err *err);

#endif
