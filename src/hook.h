/* SPDX-License-Identifier: MIT */
/*
 * The libvirt qemu hook's operations for an annotated domain. Nothing here
 * calls libvirt: the hook runs inside libvirtd's start path, and a call back
 * about the same domain would deadlock. Live attach happens in a detached
 * worker (esfm-hook-worker) after the hook has returned.
 */
#ifndef ESFM_HOOK_H
#define ESFM_HOOK_H

#include "ctx.h"
#include "domxml.h"
#include "err.h"

/*
 * A failure is logged once, by whoever decides what it means: the error these
 * functions return is not logged here (the handler logs it, and for prepare
 * and started refuses the start); a failure they do not return (the undo of
 * a partial prepare, a second pool's failure at release or reconnect) is.
 */

/*
 * prepare begin: reserve the domain's VFs in every pool it names, all or
 * nothing (pools reserved before a failure are released again).
 */
int esfm_hook_prepare(struct esfm_ctx *ctx, const struct esfm_domain *dom, struct esfm_err *err);

/*
 * started begin: static mode marks the reservations attached; hotplug mode
 * starts @worker (path of esfm-hook-worker) detached for this domain.
 */
int esfm_hook_started(struct esfm_ctx *ctx, const struct esfm_domain *dom, const char *worker,
		      struct esfm_err *err);

/*
 * release end: free every VF the hook lent the domain, in every pool it
 * names. Best effort: returns -1 with the first error, after trying all.
 */
int esfm_hook_release(struct esfm_ctx *ctx, const struct esfm_domain *dom, struct esfm_err *err);

/* reconnect begin: adopt the esfm hostdevs in the live XML. Best effort like release. */
int esfm_hook_reconnect(struct esfm_ctx *ctx, const struct esfm_domain *dom, struct esfm_err *err);

#endif
