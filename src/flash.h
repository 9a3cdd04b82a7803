/* SPDX-License-Identifier: MIT */
/*
 * Programming a bitstream: the PF's functions leave the bus, the programmer
 * configured in esfm.conf (flash_command, an argv template with {bitstream},
 * {pf} and {kind} placeholders) runs with execve, never a shell, the bus is
 * rescanned and the PF must come back with its IDs within vf_timeout_ms.
 */
#ifndef ESFM_FLASH_H
#define ESFM_FLASH_H

#include "err.h"
#include "ops.h"
#include "state.h"
#include "vfpool.h"

#define ESFM_FLASH_ARGV_MAX 64

/*
 * Split @tmpl on blanks and substitute the placeholders in each word.
 * *argv and its strings are malloc'ed (free with esfm_flash_argv_free).
 */
int esfm_flash_argv(const char *tmpl, const char *bitstream, const char *pf, const char *kind,
		    char ***argv, struct esfm_err *err);
void esfm_flash_argv_free(char **argv);

/*
 * Everything esfm_flash will need, checked before anything is touched:
 * flash_command set and parsable, the bitstream readable.
 */
int esfm_flash_check(struct esfm_ctx *ctx, const struct esfm_pool *pool, const char *bitstream,
		     const char *kind, struct esfm_err *err);

/* Flash @bitstream on @pool's PF (which must have no VFs); record it in @st. */
int esfm_flash(struct esfm_ctx *ctx, const struct esfm_pool *pool, const char *bitstream,
	       const char *kind, const struct esfm_ui *ui, struct esfm_pool_state *st,
	       struct esfm_err *err);

#endif
