// SPDX-License-Identifier: MIT
#include "hook.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "proc.h"
#include "vfpool.h"

static void log_failure(const char *what, const struct esfm_domain *dom, struct esfm_err *e)
{
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 64];

	esfm_log_error("%s for domain '%s' (%s) failed: %s", what, dom->name, dom->uuid,
		       esfm_err_format(e, msg, sizeof(msg)));
}

int esfm_hook_prepare(struct esfm_ctx *ctx, const struct esfm_domain *dom, struct esfm_err *err)
{
	struct esfm_allocation alloc[ESFM_MAX_VFS_PER_VM];
	size_t n;

	for (size_t i = 0; i < dom->nreq; i++) {
		if (esfm_vfpool_reserve(ctx, dom, &dom->req[i], alloc, &n, err) == 0)
			continue;
		/* All or nothing: give back what earlier pools reserved. */
		for (size_t j = 0; j < i; j++) {
			struct esfm_err e2 = {0};
			size_t freed;

			if (esfm_vfpool_release(ctx, dom->req[j].pool, dom->uuid, ESFM_ALL_SLOTS,
						ESFM_ORIGIN_MASK(ESFM_ORIGIN_HOOK), &freed,
						&e2) < 0)
				log_failure("rollback", dom, &e2);
		}
		return -1;
	}
	return 0;
}

int esfm_hook_started(struct esfm_ctx *ctx, const struct esfm_domain *dom, const char *worker,
		      struct esfm_err *err)
{
	char *argv[] = {(char *)worker, "--conf-dir", ctx->conf.conf_dir, (char *)dom->uuid, NULL};
	long pid;

	if (dom->mode == ESFM_MODE_STATIC) {
		for (size_t i = 0; i < dom->nreq; i++) {
			size_t n;

			if (esfm_vfpool_mark(ctx, dom->req[i].pool, dom->uuid, ESFM_ALL_SLOTS,
					     ESFM_VF_RESERVED, ESFM_VF_ATTACHED, &n, err) < 0)
				return -1;
		}
		return 0;
	}
	if (esfm_spawn_detached(argv, &pid, err) < 0)
		return esfm_err_prefix(err, "domain '%s': cannot start the attach worker",
				       dom->name);
	esfm_info("domain '%s' (%s): attach worker started (pid %ld)", dom->name, dom->uuid, pid);
	/*
	 * The reservations now wait for that worker only: if it dies before it
	 * attaches them, reconcile frees them (the domain runs on without).
	 */
	for (size_t i = 0; i < dom->nreq; i++) {
		struct esfm_err e = {0};
		size_t n;

		/* Not a reason to fail a guest that runs: the worker is at work. */
		if (esfm_vfpool_stamp_worker(ctx, dom->req[i].pool, dom->uuid, pid, &n, &e) < 0)
			log_failure("record the attach worker", dom, &e);
	}
	return 0;
}

int esfm_hook_release(struct esfm_ctx *ctx, const struct esfm_domain *dom, struct esfm_err *err)
{
	int r = 0;

	for (size_t i = 0; i < dom->nreq; i++) {
		struct esfm_err e = {0};
		size_t freed;

		if (esfm_vfpool_release(ctx, dom->req[i].pool, dom->uuid, ESFM_ALL_SLOTS,
					ESFM_ORIGIN_MASK(ESFM_ORIGIN_HOOK), &freed, &e) < 0) {
			/* The first is returned, for the caller to report; the others only here. */
			if (r == 0)
				*err = e;
			else
				log_failure("release", dom, &e);
			r = -1;
		}
	}
	return r;
}

int esfm_hook_reconnect(struct esfm_ctx *ctx, const struct esfm_domain *dom, struct esfm_err *err)
{
	int r = 0;

	for (size_t i = 0; i < dom->nreq; i++) {
		struct esfm_err e = {0};
		size_t adopted;

		if (esfm_vfpool_reconcile(ctx, dom->req[i].pool, dom, &adopted, &e) < 0) {
			/* The first is returned, for the caller to report; the others only here. */
			if (r == 0)
				*err = e;
			else
				log_failure("reconnect", dom, &e);
			r = -1;
		}
	}
	return r;
}
