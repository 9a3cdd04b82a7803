/* SPDX-License-Identifier: MIT */
/*
 * Programming a bitstream: the PF's functions leave the bus, the programmer
 * configured in esfm.conf runs with execve, never a shell (Vivado or xsct with
 * the JTAG scripts esfm ships, or flash_command, an argv template with
 * {bitstream}, {pf} and {kind} placeholders), the bus is rescanned and the PF
 * must come back with its IDs within vf_timeout_ms.
 */
#ifndef ESFM_FLASH_H
#define ESFM_FLASH_H

#include "cmdtmpl.h"
#include "err.h"
#include "ops.h"
#include "state.h"
#include "vfpool.h"

#define ESFM_FLASH_ARGV_MAX ESFM_CMDTMPL_ARGV_MAX

/*
 * flash_command @tmpl expanded (cmdtmpl.h) with {bitstream}, {pf} and {kind}.
 * *argv and its strings are malloc'ed (free with esfm_flash_argv_free).
 */
int esfm_flash_argv(const char *tmpl, const char *bitstream, const char *pf, const char *kind,
		    char ***argv, struct esfm_err *err);
void esfm_flash_argv_free(char **argv);

/*
 * The programmer's argv for @bitstream on @pool's PF, from esfm.conf:
 * flash_tool = vivado or xsct runs the shipped flash_script_dir/program-<tool>.tcl
 * with vivado_path or xsct_path, passing target=<the pool's <jtag target>, else
 * flash_target> and server=<hw_server> when set; flash_tool = command (or
 * unset, with flash_command set) expands flash_command (esfm_flash_argv).
 * CONFIG error naming the setting when nothing is configured, a path is not
 * absolute, the tool is not executable or the script is missing.
 * *argv as for esfm_flash_argv.
 */
int esfm_flash_programmer_argv(const struct esfm_conf *conf, const struct esfm_pool *pool,
			       const char *bitstream, const char *kind, char ***argv,
			       struct esfm_err *err);

/*
 * Everything esfm_flash will need, checked before anything is touched:
 * a programmer configured (esfm_flash_programmer_argv), the bitstream readable.
 */
int esfm_flash_check(struct esfm_ctx *ctx, const struct esfm_pool *pool, const char *bitstream,
		     const char *kind, struct esfm_err *err);

/* Flash @bitstream on @pool's PF (which must have no VFs); record it in @st. */
int esfm_flash(struct esfm_ctx *ctx, const struct esfm_pool *pool, const char *bitstream,
	       const char *kind, const struct esfm_ui *ui, struct esfm_pool_state *st,
	       struct esfm_err *err);

#endif
