// SPDX-License-Identifier: MIT
#include "flash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "util.h"

#define FLASH_TIMEOUT_MS (30L * 60 * 1000)

void esfm_flash_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static char *substitute(const char *word, const char *bitstream, const char *pf, const char *kind)
{
	const struct {
		const char *key, *val;
	} subs[] = {{"{bitstream}", bitstream}, {"{pf}", pf}, {"{kind}", kind}};
	size_t cap = strlen(word) + 1;
	char *out, *o;

	for (size_t i = 0; i < ESFM_ARRAY_SIZE(subs); i++)
		for (const char *p = strstr(word, subs[i].key); p; p = strstr(p + 1, subs[i].key))
			cap += strlen(subs[i].val);
	out = malloc(cap);
	if (!out)
		return NULL;
	o = out;
	while (*word) {
		size_t i;

		for (i = 0; i < ESFM_ARRAY_SIZE(subs); i++)
			if (!strncmp(word, subs[i].key, strlen(subs[i].key)))
				break;
		if (i < ESFM_ARRAY_SIZE(subs)) {
			o = stpcpy(o, subs[i].val);
			word += strlen(subs[i].key);
		} else {
			*o++ = *word++;
		}
	}
	*o = '\0';
	return out;
}

int esfm_flash_argv(const char *tmpl, const char *bitstream, const char *pf, const char *kind,
		    char ***argv, struct esfm_err *err)
{
	_cleanup_free_ char *copy = strdup(tmpl);
	char **v = calloc(ESFM_FLASH_ARGV_MAX + 1, sizeof(*v));
	char *save = NULL, *w;
	size_t n = 0;

	if (!copy || !v) {
		free(v);
		return esfm_err_sys(err, ENOMEM, "cannot build the programmer command");
	}
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == ESFM_FLASH_ARGV_MAX) {
			esfm_flash_argv_free(v);
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "flash_command has more than %d words",
					    ESFM_FLASH_ARGV_MAX);
		}
		if (!(v[n++] = substitute(w, bitstream, pf, kind ? kind : ""))) {
			esfm_flash_argv_free(v);
			return esfm_err_sys(err, ENOMEM, "cannot build the programmer command");
		}
	}
	if (n == 0 || v[0][0] != '/') {
		esfm_flash_argv_free(v);
		esfm_err_set(err, ESFM_ERR_CONFIG, 0,
			     "flash_command must start with an absolute program path");
		return esfm_err_hint(
			err, "e.g. flash_command = /opt/Xilinx/Vivado/bin/vivado -mode batch "
			     "-source /etc/esfm/program.tcl -tclargs {bitstream} {pf}");
	}
	*argv = v;
	return 0;
}

static int flash_steps(struct esfm_ctx *ctx, const struct esfm_pool *pool, char **argv,
		       const struct esfm_ui *ui, struct esfm_err *err)
{
	unsigned vendor, device, nv, nd;
	char what[4200], a[ESFM_PCI_ADDR_STRLEN];
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
	if (esfm_run(argv, FLASH_TIMEOUT_MS, err) < 0) {
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
	char a[ESFM_PCI_ADDR_STRLEN];
	char **argv = NULL;

	esfm_pci_addr_str(&pool->pf, a);
	if (!ctx->conf.flash_command[0]) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "no flash_command set in %s/esfm.conf",
			     ctx->conf.conf_dir);
		return esfm_err_hint(err, "set flash_command to the programmer's command line, "
					  "with {bitstream} and {pf} placeholders");
	}
	if (bitstream[0] != '/' || access(bitstream, R_OK) < 0) {
		esfm_err_set(err, ESFM_ERR_NOTFOUND, bitstream[0] == '/' ? errno : 0,
			     "bitstream '%s' cannot be read", bitstream);
		return esfm_err_hint(err, "give the absolute path of a readable bitstream file");
	}
	if (esfm_flash_argv(ctx->conf.flash_command, bitstream, a, kind, &argv, err) < 0)
		return -1;
	esfm_flash_argv_free(argv);
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
	    esfm_flash_argv(ctx->conf.flash_command, bitstream, a, kind, &argv, err) < 0)
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
