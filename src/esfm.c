// SPDX-License-Identifier: MIT
/*
 * esfm: the operator's command line. Parses, calls the library, prints;
 * decides the exit code. See esfm(1).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "escape.h"
#include "kmsg.h"
#include "log.h"
#include "logsink.h"
#include "ops.h"
#include "paths.h"
#include "pfsettings.h"
#include "pool.h"
#include "util.h"
#include "vfpool.h"

struct ui_state {
	bool quiet;
	long long t0;
	unsigned steps;
};

static void ui_step(void *data, const char *what, long ms, bool ok)
{
	struct ui_state *u = data;

	u->steps++;
	if (!u->quiet || !ok)
		printf("%s %7ld ms  %s\n", ok ? "  ok" : "FAIL", ms, what);
	fflush(stdout);
}

/* Warnings and questions name VMs and paths: printed escaped, one line each. */
static void ui_warn(void *data, const char *msg)
{
	char line[2048];

	(void)data;
	fprintf(stderr, "esfm: warning: %s\n", esfm_escape_ctl(msg, line, sizeof(line)));
}

static bool ui_confirm(void *data, const char *question)
{
	char answer[16], line[2048];

	(void)data;
	fprintf(stderr, "esfm: %s. Continue? [y/N] ",
		esfm_escape_ctl(question, line, sizeof(line)));
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin))
		return false;
	return answer[0] == 'y' || answer[0] == 'Y';
}

static const char *state_cell(const struct esfm_vf_view *vf)
{
	return vf->exists ? esfm_vf_state_name(vf->state) : "gone";
}

static void print_vfs(const struct esfm_pf_view *v, bool origin)
{
	printf("%-4s %-13s %-10s %-9s %s%s\n", "VF", "ADDRESS", "DRIVER", "STATE",
	       origin ? "ORIGIN  " : "", "VM");
	for (size_t i = 0; i < v->nvfs; i++) {
		const struct esfm_vf_view *vf = &v->vfs[i];
		char a[ESFM_PCI_ADDR_STRLEN];

		printf("%-4u %-13s %-10s %-9s ", vf->index, esfm_pci_addr_str(&vf->addr, a),
		       vf->driver[0] ? vf->driver : "-", state_cell(vf));
		if (origin)
			printf("%-7s ", vf->origin ? esfm_vf_origin_name(vf->origin) : "-");
		printf("%s\n", vf->vm[0] ? vf->vm : "-");
	}
}

static void print_pool_header(const struct esfm_pf_view *v)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	printf("pool %s%s  PF %s", v->pool.name, v->pool.path[0] ? "" : " (implicit)",
	       esfm_pci_addr_str(&v->pool.pf, a));
	if (!v->info.vendor) {
		printf("  (PF not present)\n");
		return;
	}
	printf(" %04x:%04x %s  VFs %u/%u", v->info.vendor, v->info.device,
	       v->info.driver[0] ? v->info.driver : "(no driver)", v->info.numvfs,
	       v->info.totalvfs);
	if (v->pool.count)
		printf("  pool size %u", v->pool.count);
	printf("  VF driver %s\n", v->pool.driver);
}

static int cmd_status(struct esfm_ctx *ctx, const struct esfm_cli *cli, struct esfm_err *err)
{
	struct esfm_pf_view *views = NULL;
	size_t n = 0;

	if (cli->json) {
		_cleanup_free_ char *json = NULL;

		if (esfm_op_status_json(ctx, &json, err) < 0)
			return -1;
		printf("%s\n", json);
		return 0;
	}
	if (esfm_op_status(ctx, &views, &n, err) < 0)
		return -1;
	if (!n)
		printf("no pools (define one in %s/pools.d, see esfm-pool(5))\n",
		       ctx->conf.conf_dir);
	for (size_t i = 0; i < n; i++) {
		if (i)
			printf("\n");
		print_pool_header(&views[i]);
		if (views[i].nvfs)
			print_vfs(&views[i], true);
		esfm_pf_view_free(&views[i]);
	}
	free(views);
	return 0;
}

static int cmd_pool_list(struct esfm_ctx *ctx, struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pool *pools = NULL;
	size_t n;

	if (esfm_pool_list(&ctx->conf, &pools, &n, err) < 0)
		return -1;
	printf("%-20s %-13s %-5s %-9s %s\n", "NAME", "PF", "VFS", "DRIVER", "FILE");
	for (size_t i = 0; i < n; i++) {
		char a[ESFM_PCI_ADDR_STRLEN];

		printf("%-20s %-13s %-5u %-9s %s\n", pools[i].name,
		       esfm_pci_addr_str(&pools[i].pf, a), pools[i].count, pools[i].driver,
		       pools[i].path);
	}
	return 0;
}

static int cmd_pool_show(struct esfm_ctx *ctx, const struct esfm_cli *cli, struct esfm_err *err)
{
	struct esfm_pf_view view;
	struct esfm_pool pool;

	if (esfm_pool_load(&ctx->conf, cli->pool, &pool, err) < 0)
		return -1;
	printf("file      %s\n", pool.path);
	if (pool.has_qmax)
		printf("qmax      %u\n", pool.qmax);
	if (pool.bitstream[0])
		printf("bitstream %s%s%s\n", pool.bitstream, pool.bitstream_kind[0] ? " " : "",
		       pool.bitstream_kind);
	printf("vm base   %s\nreconf    %s\n", pool.vm_base, pool.pause ? "pause" : "unplug");
	for (size_t i = 0; i < pool.nflavor; i++)
		printf("nova      flavor '%s' asks for %u VF%s\n", pool.flavor[i].name,
		       pool.flavor[i].count, pool.flavor[i].count == 1 ? "" : "s");
	if (esfm_op_view(ctx, &pool.pf, false, &view, err) < 0)
		return -1;
	print_pool_header(&view);
	print_vfs(&view, true);
	esfm_pf_view_free(&view);
	return 0;
}

static int cmd_pool_check(struct esfm_ctx *ctx, struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pool *pools = NULL;
	size_t n;

	if (esfm_pool_list(&ctx->conf, &pools, &n, err) < 0)
		return -1;
	printf("configuration OK (%zu pool%s)\n", n, n == 1 ? "" : "s");
	return 0;
}

static int cmd_pool_gc(struct esfm_ctx *ctx, const struct esfm_cli *cli, struct esfm_err *err)
{
	struct ui_state u = {.quiet = cli->quiet};
	struct esfm_ui ui = {ui_step, ui_warn, NULL, &u};
	size_t freed;

	if (esfm_op_gc(ctx, cli->pool[0] ? cli->pool : NULL, &ui, &freed, err) < 0)
		return -1;
	if (!cli->quiet)
		printf("esfm: %s: %zu VF%s freed\n",
		       cli->cmd == ESFM_CMD_RECONCILE ? "reconcile"
		       : cli->cmd == ESFM_CMD_RECOVER ? "recover"
						      : "pool-gc",
		       freed, freed == 1 ? "" : "s");
	return 0;
}

static int cmd_nova_export(struct esfm_ctx *ctx, const struct esfm_cli *cli, struct esfm_err *err)
{
	struct esfm_ui ui = {NULL, ui_warn, NULL, NULL};
	const char *drain[ESFM_ARRAY_SIZE(cli->drain)];
	const char *path = cli->output;
	struct esfm_nova_export x;

	for (size_t i = 0; i < cli->ndrain; i++)
		drain[i] = cli->drain[i];
	if (esfm_op_nova_export(ctx, path, drain, cli->ndrain, &ui, &x, err) < 0)
		return -1;
	for (size_t i = 0; i < x.ninv && !cli->quiet; i++)
		printf("pool %-20s %-30s total %u reserved %u max_unit %u\n", x.inv[i].pool,
		       x.inv[i].cls, x.inv[i].total, x.inv[i].reserved, x.inv[i].max_unit);
	if (x.unchanged)
		printf("esfm: nova-export: %s is up to date; nothing to restart\n", path);
	else
		printf("esfm: nova-export: wrote %s (%zu resource class%s); restart nova-compute "
		       "for Placement to see it (it reads provider files at start only)\n",
		       path, x.ninv, x.ninv == 1 ? "" : "es");
	free(x.inv);
	return 0;
}

static int cmd_list(struct esfm_ctx *ctx, const struct esfm_cli *cli, struct esfm_err *err)
{
	struct esfm_pf_view v;
	bool libvirt = cli->cmd == ESFM_CMD_LIST_VF_VM;

	if (esfm_op_view(ctx, &cli->pf, libvirt, &v, err) < 0)
		return -1;
	if (!libvirt) {
		print_vfs(&v, false);
	} else {
		printf("%-4s %-13s %-20s %-5s %-10s %s\n", "VF", "ADDRESS", "VM", "LIVE",
		       "PERSISTENT", "ALIAS");
		for (size_t i = 0; i < v.nvfs; i++) {
			const struct esfm_vf_view *vf = &v.vfs[i];
			char a[ESFM_PCI_ADDR_STRLEN];

			printf("%-4u %-13s %-20s %-5s %-10s %s\n", vf->index,
			       esfm_pci_addr_str(&vf->addr, a), vf->vm[0] ? vf->vm : "-",
			       vf->live ? "yes" : "no", vf->config ? "yes" : "no",
			       vf->alias[0] ? vf->alias : "-");
		}
	}
	esfm_pf_view_free(&v);
	return 0;
}

static int cmd_print_kernel(struct esfm_ctx *ctx, const struct esfm_cli *cli, struct esfm_err *err)
{
	struct esfm_pf_view v;
	char a[ESFM_PCI_ADDR_STRLEN], when[64];
	struct tm tm;
	time_t t;
	int r = 0;

	if (esfm_op_view(ctx, &cli->pf, false, &v, err) < 0)
		return -1;
	if (!v.bitstream[0]) {
		esfm_err_set(err, ESFM_ERR_NOTFOUND, 0, "no bitstream flashed on PF %s by esfm",
			     esfm_pci_addr_str(&cli->pf, a));
		esfm_err_hint(err, "flash one with: esfm %s init <VF_NUM> -b <file>", a);
		r = -1;
	} else {
		t = (time_t)v.flashed_at;
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", localtime_r(&t, &tm));
		printf("%s%s%s%s (flashed %s)\n", v.bitstream, v.bitstream_kind[0] ? " [" : "",
		       v.bitstream_kind, v.bitstream_kind[0] ? "]" : "", when);
	}
	esfm_pf_view_free(&v);
	return r;
}

static void print_driver_line(void *data, const char *line)
{
	(void)data;
	printf("  kernel: %s\n", line);
}

static int run_pf_command(struct esfm_ctx *ctx, struct esfm_cli *cli, struct esfm_err *err)
{
	struct ui_state u = {.quiet = cli->quiet, .t0 = esfm_now_ms()};
	struct esfm_ui ui = {ui_step, ui_warn, NULL, &u};
	struct esfm_op_opts given;
	struct esfm_pool pool;
	char a[ESFM_PCI_ADDR_STRLEN];
	int r = -1;

	/* Ask only when someone can answer; otherwise the library refuses unless -y. */
	if (isatty(STDIN_FILENO) && isatty(STDERR_FILENO))
		ui.confirm = ui_confirm;
	if (esfm_pool_for_pf(&ctx->conf, &cli->pf, &pool, err) < 0)
		return -1;
	given = cli->opts;
	esfm_pf_settings(cli->cmd, &given, &pool, &cli->opts);
	esfm_pci_addr_str(&cli->pf, a);
	switch (cli->cmd) {
	case ESFM_CMD_INIT:
		r = esfm_op_init(ctx, &cli->pf, cli->count, &cli->opts, &ui, err);
		if (r == 0 && !cli->quiet)
			printf("esfm: %s: init with %u VF%s done in %lld ms\n", a, cli->count,
			       cli->count == 1 ? "" : "s", esfm_now_ms() - u.t0);
		break;
	case ESFM_CMD_RECONF:
		r = esfm_op_reconf(ctx, &cli->pf, cli->count, &cli->opts, &ui, err);
		if (r == 0 && !cli->quiet)
			printf("esfm: %s: reconf to %u VF%s done in %lld ms (%u steps)\n", a,
			       cli->count, cli->count == 1 ? "" : "s", esfm_now_ms() - u.t0,
			       u.steps);
		break;
	case ESFM_CMD_ATTACH:
		r = esfm_op_attach(ctx, &cli->pf, cli->index, cli->vm, &cli->opts, &ui, err);
		break;
	case ESFM_CMD_DETACH:
		r = esfm_op_detach(ctx, &cli->pf, cli->index, &cli->opts, &ui, err);
		break;
	case ESFM_CMD_LIST_VFS:
	case ESFM_CMD_LIST_VF_VM:
		r = cmd_list(ctx, cli, err);
		break;
	case ESFM_CMD_PRINT_KERNEL:
		r = cmd_print_kernel(ctx, cli, err);
		break;
	default:
		break;
	}
	return r;
}

static int run(struct esfm_cli *cli, struct esfm_err *err)
{
	struct esfm_ctx ctx = {0};
	struct esfm_kmsg kmsg = {.fd = -1};
	int r = -1;

	if (esfm_ctx_init(&ctx, err) < 0)
		return -1;
	if (cli->driver_log && esfm_kmsg_begin(&kmsg, err) < 0)
		goto out;
	switch (cli->cmd) {
	case ESFM_CMD_STATUS:
		r = cmd_status(&ctx, cli, err);
		break;
	case ESFM_CMD_POOL_LIST:
		r = cmd_pool_list(&ctx, err);
		break;
	case ESFM_CMD_POOL_SHOW:
		r = cmd_pool_show(&ctx, cli, err);
		break;
	case ESFM_CMD_POOL_CHECK:
		r = cmd_pool_check(&ctx, err);
		break;
	case ESFM_CMD_NOVA_EXPORT:
		r = cmd_nova_export(&ctx, cli, err);
		break;
	case ESFM_CMD_POOL_GC:
	case ESFM_CMD_RECONCILE:
	case ESFM_CMD_RECOVER:
		r = cmd_pool_gc(&ctx, cli, err);
		break;
	default:
		r = run_pf_command(&ctx, cli, err);
		break;
	}
	if (cli->driver_log) {
		char bus[16];
		const char *filters[] = {bus, "vfio", "qdma", "pci_iov", NULL};

		snprintf(bus, sizeof(bus), "%04x:%02x:", (unsigned)cli->pf.domain,
			 (unsigned)cli->pf.bus);
		esfm_kmsg_collect(&kmsg, filters, print_driver_line, NULL, NULL);
		esfm_kmsg_end(&kmsg);
	}
out:
	esfm_ctx_fini(&ctx);
	return r;
}

int main(int argc, char **argv)
{
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];
	struct esfm_err err = {0};
	struct esfm_cli cli;

	if (esfm_cli_parse(argc, argv, &cli, &err) < 0) {
		fprintf(stderr, "esfm: %s\n", esfm_err_format(&err, msg, sizeof(msg)));
		return esfm_err_exit_code(&err);
	}
	if (cli.cmd == ESFM_CMD_HELP) {
		esfm_cli_usage(stdout);
		return 0;
	}
	if (cli.cmd == ESFM_CMD_VERSION) {
		printf("esfm %s\n", ESFM_VERSION);
		return 0;
	}
	if (cli.cmd == ESFM_CMD_PRINT_PATHS) {
		esfm_paths_print(stdout);
		return 0;
	}
	esfm_logsink_stderr("esfm", cli.verbose ? ESFM_LOG_DEBUG
						: (cli.quiet ? ESFM_LOG_ERR : ESFM_LOG_WARNING));
	if (cli.opts.bitstream[0] && cli.opts.bitstream[0] != '/') {
		char *abs = realpath(cli.opts.bitstream, NULL);

		if (!abs) {
			char name[2048];

			fprintf(stderr, "esfm: bitstream '%s' not found; give a readable file\n",
				esfm_escape_ctl(cli.opts.bitstream, name, sizeof(name)));
			return 1;
		}
		snprintf(cli.opts.bitstream, sizeof(cli.opts.bitstream), "%s", abs);
		free(abs);
	}
	if (run(&cli, &err) < 0) {
		fprintf(stderr, "esfm: %s\n", esfm_err_format(&err, msg, sizeof(msg)));
		return esfm_err_exit_code(&err);
	}
	return 0;
}
