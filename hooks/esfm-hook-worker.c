// SPDX-License-Identifier: MIT
/*
 * esfm-hook-worker: started detached by esfm-hook at `started` for a domain
 * in hotplug mode; hot-plugs the VFs reserved at `prepare`. Bounded by
 * attach_timeout_ms from esfm.conf (SIGALRM ends it; `release` frees
 * whatever is still reserved when the domain stops).
 *
 *   esfm-hook-worker [--conf-dir DIR] <domain-uuid>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hookworker.h"
#include "log.h"
#include "logsink.h"
#include "vfpool.h"

int main(int argc, char **argv)
{
	struct esfm_err err = {0};
	struct esfm_ctx ctx = {0};
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];
	const char *uuid;
	int r;

	if (argc == 4 && !strcmp(argv[1], "--conf-dir")) {
		setenv("ESFM_CONF_DIR", argv[2], 1);
		uuid = argv[3];
	} else if (argc == 2 && argv[1][0] != '-') {
		uuid = argv[1];
	} else {
		fprintf(stderr, "Usage: esfm-hook-worker [--conf-dir DIR] <domain-uuid>\n");
		return 2;
	}
	if (esfm_ctx_init(&ctx, &err) < 0) {
		esfm_logsink_syslog("esfm-hook", ESFM_LOG_INFO);
		esfm_log_error("attach worker for %s: %s", uuid,
			       esfm_err_format(&err, msg, sizeof(msg)));
		return 1;
	}
	if (ctx.conf.log_file[0]) {
		/* On failure syslog is installed: the attach (or its undo) must still happen. */
		if (esfm_logsink_file(ctx.conf.log_file, "esfm-hook", ctx.conf.log_level, &err) < 0)
			esfm_log_error("attach worker for %s: %s", uuid,
				       esfm_err_format(&err, msg, sizeof(msg)));
		esfm_err_clear(&err);
	} else
		esfm_logsink_syslog("esfm-hook", ctx.conf.log_level);
	alarm((unsigned)((ctx.conf.attach_timeout_ms + 999) / 1000));
	r = esfm_hook_worker_attach(&ctx, uuid, &err);
	if (r < 0)
		esfm_log_error("attach worker for %s: %s", uuid,
			       esfm_err_format(&err, msg, sizeof(msg)));
	esfm_ctx_fini(&ctx);
	return r < 0 ? 1 : 0;
}
