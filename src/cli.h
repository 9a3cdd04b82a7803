/* SPDX-License-Identifier: MIT */
/*
 * The esfm command line, parsed as a pure function so every option and every
 * bad input can be tested without running anything. The usage text is
 * generated from the same command and option tables.
 *
 *   esfm <pf_bdf> <command> [args] [options]
 *   esfm <pool-command> [args] [options]
 */
#ifndef ESFM_CLI_H
#define ESFM_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "domxml.h"
#include "err.h"
#include "ops.h"
#include "pci.h"

enum esfm_cmd {
	ESFM_CMD_NONE = 0,
	ESFM_CMD_INIT,
	ESFM_CMD_RECONF,
	ESFM_CMD_ATTACH,
	ESFM_CMD_DETACH,
	ESFM_CMD_LIST_VFS,
	ESFM_CMD_LIST_VF_VM,
	ESFM_CMD_PRINT_KERNEL,
	ESFM_CMD_STATUS,
	ESFM_CMD_POOL_LIST,
	ESFM_CMD_POOL_SHOW,
	ESFM_CMD_POOL_CHECK,
	ESFM_CMD_POOL_GC,
	ESFM_CMD_RECONCILE, /* pool-gc under its other names */
	ESFM_CMD_RECOVER,
	ESFM_CMD_NOVA_EXPORT,
	ESFM_CMD_HELP,
	ESFM_CMD_VERSION,
	ESFM_CMD_PRINT_PATHS,
};

struct esfm_cli {
	enum esfm_cmd cmd;
	bool has_pf;
	struct esfm_pci_addr pf;
	unsigned count;		    /* init, reconf */
	unsigned index;		    /* attach, detach */
	char vm[ESFM_DOM_NAME_MAX]; /* attach */
	char pool[ESFM_NAME_MAX];   /* pool-show */
	char output[PATH_MAX];	    /* nova-export --output, or the default */
	size_t ndrain;		    /* nova-export --drain, repeatable */
	char drain[16][ESFM_NAME_MAX];
	bool json, quiet, verbose, driver_log;
	struct esfm_op_opts opts;
};

/*
 * Parse argv. USAGE error (exit 2) for anything malformed, naming the
 * offending word. --help and --version set cmd and stop parsing.
 */
int esfm_cli_parse(int argc, char *const argv[], struct esfm_cli *cli, struct esfm_err *err);

/* The full --help text. */
void esfm_cli_usage(FILE *f);

#endif
