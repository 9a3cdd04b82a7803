// SPDX-License-Identifier: MIT
#include "flash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmdtmpl.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#define FLASH_TIMEOUT_MS (30L * 60 * 1000)

void esfm_flash_argv_free(char **argv)
{
	esfm_cmdtmpl_free(argv);
}

int esfm_flash_argv(const char *tmpl, const char *bitstream, const char *pf, const char *kind,
		    char ***argv, struct esfm_err *err)
{
	const struct esfm_cmdtmpl_sub subs[] = {
		{"{bitstream}", bitstream}, {"{pf}", pf}, {"{kind}", kind ? kind : ""}};

	return esfm_cmdtmpl_argv("flash_command", tmpl, subs, ESFM_ARRAY_SIZE(subs),
				 "e.g. flash_command = /usr/local/bin/program-card --pci {pf} "
				 "{bitstream}, or flash_tool = vivado with vivado_path",
				 argv, err);
}

/* argv from a fixed list of words; the NULL-terminated @words may hold NULLs to skip as "". */
static int argv_of(const char *const *words, size_t n, char ***argv, struct esfm_err *err)
{
	char **v = calloc(n + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return esfm_err_sys(err, ENOMEM, "cannot build the programmer command");
	for (size_t i = 0; i < n; i++) {
		if (!words[i] || !words[i][0])
			continue;
		if (!(v[k++] = strdup(words[i]))) {
			esfm_flash_argv_free(v);
			return esfm_err_sys(err, ENOMEM, "cannot build the programmer command");
		}
	}
	*argv = v;
	return 0;
}

static int jtag_tool_argv(const struct esfm_conf *conf, const struct esfm_pool *pool,
			  const char *bitstream, char ***argv, struct esfm_err *err)
{
	bool vivado = conf->flash_tool == ESFM_FLASH_TOOL_VIVADO;
	const char *tool = vivado ? conf->vivado_path : conf->xsct_path;
	const char *setting = vivado ? "vivado_path" : "xsct_path";
	const char *target = pool->jtag_target[0] ? pool->jtag_target : conf->flash_target;
	char script[PATH_MAX + 32], target_arg[ESFM_JTAG_TARGET_MAX + 8], server_arg[256 + 8];

	if (!tool[0]) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "flash_tool = %s needs %s in %s/esfm.conf",
			     vivado ? "vivado" : "xsct", setting, conf->conf_dir);
		return esfm_err_hint(
			err, vivado ? "e.g. vivado_path = /tools/Xilinx/Vivado/2023.2/bin/vivado"
				    : "e.g. xsct_path = /tools/Xilinx/Vitis/2023.2/bin/xsct");
	}
	if (access(tool, X_OK) < 0) {
		esfm_err_set(err, ESFM_ERR_CONFIG, errno, "%s '%s' cannot be run", setting, tool);
		return esfm_err_hint(err, "set %s in %s/esfm.conf to the tool's executable",
				     setting, conf->conf_dir);
	}
	if (esfm_snprintf(script, sizeof(script), err, "%s/program-%s.tcl", conf->flash_script_dir,
			  vivado ? "vivado" : "xsct") < 0)
		return -1;
	if (access(script, R_OK) < 0) {
		esfm_err_set(err, ESFM_ERR_CONFIG, errno, "programming script '%s' cannot be read",
			     script);
		return esfm_err_hint(err, "reinstall esfm, or set flash_script_dir in %s/esfm.conf",
				     conf->conf_dir);
	}
	target_arg[0] = server_arg[0] = '\0';
	if (target[0])
		snprintf(target_arg, sizeof(target_arg), "target=%s", target);
	if (conf->hw_server[0])
		snprintf(server_arg, sizeof(server_arg), "server=%s", conf->hw_server);
	if (vivado) {
		const char *const w[] = {tool,	     "-mode",	 "batch",    "-nojournal",
					 "-nolog",   "-notrace", "-source",  script,
					 "-tclargs", bitstream,	 target_arg, server_arg};
		return argv_of(w, ESFM_ARRAY_SIZE(w), argv, err);
	}
	const char *const w[] = {tool, script, bitstream, target_arg, server_arg};
	return argv_of(w, ESFM_ARRAY_SIZE(w), argv, err);
}

int esfm_flash_programmer_argv(const struct esfm_conf *conf, const struct esfm_pool *pool,
			       const char *bitstream, const char *kind, char ***argv,
			       struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	switch (conf->flash_tool) {
	case ESFM_FLASH_TOOL_VIVADO:
	case ESFM_FLASH_TOOL_XSCT:
		return jtag_tool_argv(conf, pool, bitstream, argv, err);
	case ESFM_FLASH_TOOL_COMMAND:
		if (!conf->flash_command[0])
			return esfm_err_set(
				err, ESFM_ERR_CONFIG, 0,
				"flash_tool = command needs flash_command in %s/esfm.conf",
				conf->conf_dir);
		break;
	default:
		if (!conf->flash_command[0]) {
			esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				     "no programmer configured in %s/esfm.conf", conf->conf_dir);
			return esfm_err_hint(err,
					     "set flash_tool = vivado and vivado_path (or xsct and "
					     "xsct_path), or flash_command");
		}
	}
	esfm_pci_addr_str(&pool->pf, a);
	return esfm_flash_argv(conf->flash_command, bitstream, a, kind, argv, err);
}

static int flash_steps(struct esfm_ctx *ctx, const struct esfm_pool *pool, char **argv,
		       const struct esfm_ui *ui, struct esfm_err *err)
{
	unsigned vendor, device, nv, nd;
	char what[4200], a[ESFM_PCI_ADDR_STRLEN], tag[64];
	long long t0;

	esfm_pci_addr_str(&pool->pf, a);
	if (esfm_pci_read_ids(ctx->sysfs, &pool->pf, &vendor, &device, err) < 0)
		return -1;
	t0 = esfm_now_ms();
	snprintf(what, sizeof(what), "remove PF %s from the bus", a);
	if (esfm_pci_remove(ctx->sysfs, &pool->pf, err) < 0) {
		esfm_ui_report(ui, what, t0, false);
		return -1;
	}
	esfm_ui_report(ui, what, t0, true);
	t0 = esfm_now_ms();
	snprintf(what, sizeof(what), "program %s", argv[0]);
	esfm_info("PF %s: running %s", a, argv[0]);
	snprintf(tag, sizeof(tag), "PF %s: programmer", a);
	if (esfm_run_logged(argv, FLASH_TIMEOUT_MS, tag, err) < 0) {
		esfm_ui_report(ui, what, t0, false);
		/* Bring the PF back even when programming failed. */
		esfm_pci_rescan(ctx->sysfs, NULL);
		return esfm_err_prefix(err, "PF %s: programming failed", a);
	}
	esfm_ui_report(ui, what, t0, true);
	t0 = esfm_now_ms();
	snprintf(what, sizeof(what), "rescan the PCI bus and wait for PF %s", a);
	if (esfm_pci_rescan(ctx->sysfs, err) < 0 ||
	    esfm_pci_wait_device(ctx->sysfs, &pool->pf, ctx->conf.vf_timeout_ms, err) < 0 ||
	    esfm_pci_read_ids(ctx->sysfs, &pool->pf, &nv, &nd, err) < 0) {
		esfm_ui_report(ui, what, t0, false);
		return esfm_err_hint(err, "check the programmer's output and the kernel log; the "
					  "PF must reappear after a rescan");
	}
	esfm_ui_report(ui, what, t0, true);
	if (nv != vendor || nd != device) {
		esfm_err_set(err, ESFM_ERR_FAILED, 0,
			     "PF %s came back as %04x:%04x, expected %04x:%04x", a, nv, nd, vendor,
			     device);
		return esfm_err_hint(err, "is the bitstream built for this card?");
	}
	return 0;
}

int esfm_flash_check(struct esfm_ctx *ctx, const struct esfm_pool *pool, const char *bitstream,
		     const char *kind, struct esfm_err *err)
{
	char **argv = NULL;

	if (esfm_flash_programmer_argv(&ctx->conf, pool, bitstream, kind, &argv, err) < 0)
		return -1;
	esfm_flash_argv_free(argv);
	if (bitstream[0] != '/' || access(bitstream, R_OK) < 0) {
		esfm_err_set(err, ESFM_ERR_NOTFOUND, bitstream[0] == '/' ? errno : 0,
			     "bitstream '%s' cannot be read", bitstream);
		return esfm_err_hint(err, "give the absolute path of a readable bitstream file");
	}
	return 0;
}

int esfm_flash(struct esfm_ctx *ctx, const struct esfm_pool *pool, const char *bitstream,
	       const char *kind, const struct esfm_ui *ui, struct esfm_pool_state *st,
	       struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN];
	char **argv = NULL;
	int r;

	esfm_pci_addr_str(&pool->pf, a);
	if (esfm_flash_check(ctx, pool, bitstream, kind, err) < 0 ||
	    esfm_flash_programmer_argv(&ctx->conf, pool, bitstream, kind, &argv, err) < 0)
		return -1;
	r = flash_steps(ctx, pool, argv, ui, err);
	esfm_flash_argv_free(argv);
	if (r < 0)
		return -1;
	snprintf(st->bitstream, sizeof(st->bitstream), "%s", bitstream);
	snprintf(st->bitstream_kind, sizeof(st->bitstream_kind), "%s", kind ? kind : "");
	st->flashed_at = time(NULL);
	esfm_info("PF %s: bitstream %s programmed", a, bitstream);
	return 0;
}
