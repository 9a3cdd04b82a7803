// SPDX-License-Identifier: MIT
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "paths.h"
#include "util.h"

#define MAX_COUNT 2048
/* nova-compute's default [compute] provider_config_location, and our file there. */
#define NOVA_OUTPUT_DEFAULT "/etc/nova/provider_config/esfm.yaml"
#define HELP_COL	    32

enum arg_kind { ARG_COUNT, ARG_INDEX, ARG_VM, ARG_POOL };

/* One row per command and option reads better than one field per line. */
/* clang-format off */
static const struct command {
	const char *name;
	enum esfm_cmd cmd;
	bool needs_pf;
	int nargs;
	enum arg_kind args[2];
	const char *synopsis;
	const char *help;
	int optional; /* arguments after the required ones that may be left out */
} commands[] = {
	{"init", ESFM_CMD_INIT, true, 1, {ARG_COUNT}, "init <VF_NUM>",
	 "Create VF_NUM VFs; VF i goes to VM <base><i>\n"
	 "(flash the bitstream first if one is given)", 0},
	{"reconf", ESFM_CMD_RECONF, true, 1, {ARG_COUNT}, "reconf <VF_NUM>",
	 "Change the number of VFs, re-attach them to\ntheir VMs; 0 removes all", 0},
	{"attach", ESFM_CMD_ATTACH, true, 2, {ARG_INDEX, ARG_VM}, "attach <VF_IDX> <VM_NAME>",
	 "Attach one VF to a VM (live and persistent\nif it runs, else persistent)", 0},
	{"detach", ESFM_CMD_DETACH, true, 1, {ARG_INDEX}, "detach <VF_IDX>",
	 "Detach one VF from the VM that holds it", 0},
	{"list_vfs", ESFM_CMD_LIST_VFS, true, 0, {0}, "list_vfs",
	 "List the VFs: index, address, driver, state, VM", 0},
	{"list_vf_vm", ESFM_CMD_LIST_VF_VM, true, 0, {0}, "list_vf_vm",
	 "List which VM holds each VF, live and persistent", 0},
	{"print_kernel", ESFM_CMD_PRINT_KERNEL, true, 0, {0}, "print_kernel",
	 "Print the last bitstream flashed on the PF", 0},
	{"status", ESFM_CMD_STATUS, false, 0, {0}, "status [--json]",
	 "Show every pool and PF: VFs, drivers, states,\nowners", 0},
	{"pool-list", ESFM_CMD_POOL_LIST, false, 0, {0}, "pool-list",
	 "List the pools defined in pools.d", 0},
	{"pool-show", ESFM_CMD_POOL_SHOW, false, 1, {ARG_POOL}, "pool-show <POOL>",
	 "Show one pool's definition and VFs", 0},
	{"pool-gc", ESFM_CMD_POOL_GC, false, 0, {ARG_POOL}, "pool-gc [POOL]",
	 "Reconcile the state with sysfs and libvirt:\nfree VFs nobody holds, record those held", 1},
	{"reconcile", ESFM_CMD_RECONCILE, false, 0, {ARG_POOL}, "reconcile [POOL]",
	 "The same as pool-gc", 1},
	{"recover", ESFM_CMD_RECOVER, false, 0, {ARG_POOL}, "recover [POOL]",
	 "The same as pool-gc (which also finishes a\nchange that was cut off half way)", 1},
	{"pool-check", ESFM_CMD_POOL_CHECK, false, 0, {0}, "pool-check",
	 "Validate esfm.conf and every pool file", 0},
	{"nova-export", ESFM_CMD_NOVA_EXPORT, false, 0, {0}, "nova-export",
	 "Write the OpenStack Placement provider file:\n"
	 "one CUSTOM_ESFM_<POOL> class per pool", 0},
};

static const struct option {
	const char *shrt, *lng, *arg, *help;
} options[] = {
	{"-b", "--bitstream", "<file> [kind]", "Also flash the provided bitstream file"},
	{"-qn", "--queues_num", "<num>", "QDMA queues (qmax) for the PF, default 32"},
	{"-vm", "--vm_names", "<name>", "VM base name (the VF index is appended),\ndefault everestg"},
	{"-p", "--pause", NULL, "Pause the VFs in their VMs (QEMU device_pause)\n"
				"instead of unplugging them during reconf"},
	{"-y", "--yes", NULL, "Automatic yes to prompts (needed without a tty)"},
	{NULL, "--force", NULL, "init, reconf: take VFs from running OpenStack\n"
				"Nova instances too"},
	{"-q", "--quiet", NULL, "Do not print the steps that succeed nor the\n"
				"summary line"},
	{"-v", "--verbose", NULL, "Print every sysfs write and state change"},
	{"-d", "--driver_log", NULL, "Print the kernel log lines of the drivers"},
	{NULL, "--json", NULL, "status: machine-readable output (esfm-pool(5))"},
	{NULL, "--output", "<file>", "nova-export: the provider file, default\n"
				     NOVA_OUTPUT_DEFAULT},
	{NULL, "--drain", "<pool>", "nova-export: reserve all of the pool's VFs\n"
				    "(Nova places nothing more there); repeatable"},
	{"-h", "--help", NULL, "Print this help and exit"},
	{NULL, "--version", NULL, "Print the version and exit"},
	{NULL, "--print-paths", NULL, "Print the directories esfm was built for\n"
				       "(name=value lines) and exit"},
};
/* clang-format on */

static void print_wrapped(FILE *f, int col, const char *text)
{
	for (const char *p = text; *p; p++) {
		fputc(*p, f);
		if (*p == '\n')
			fprintf(f, "%*s", col, "");
	}
	fputc('\n', f);
}

void esfm_cli_usage(FILE *f)
{
	fputs("esfm: SR-IOV Virtual Function manager for KVM hosts\n\n"
	      "Usage: esfm <pf_bdf> <command> [options]\n"
	      "       esfm <pool-command> [options]\n\n"
	      "  <pf_bdf>                      the PF's PCI address, DDDD:BB:DD.F\n\n"
	      "Commands on a PF:\n",
	      f);
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(commands); i++) {
		if (i > 0 && commands[i].needs_pf != commands[i - 1].needs_pf)
			fputs("\nPool commands:\n", f);
		fprintf(f, "  %-*s  ", HELP_COL - 4, commands[i].synopsis);
		print_wrapped(f, HELP_COL, commands[i].help);
	}
	fputs("\nOptions:\n", f);
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(options); i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s%s%s%s%s", options[i].shrt ? options[i].shrt : "",
			 options[i].shrt ? ", " : "    ", options[i].lng, options[i].arg ? " " : "",
			 options[i].arg ? options[i].arg : "");
		fprintf(f, "  %-*s  ", HELP_COL - 4, left);
		print_wrapped(f, HELP_COL, options[i].help);
	}
	fputs("\nExit status: 0 success, 1 failure, 2 usage or configuration error,\n"
	      "3 busy (pool exhausted or locked, device busy): try again later.\n"
	      "Files: " ESFM_SYSCONFDIR "/esfm.conf, " ESFM_SYSCONFDIR "/pools.d/*.xml,\n"
	      "       /run/esfm/<pool>.state (state_dir in esfm.conf)\n"
	      "See esfm(1), esfm-pool(5), esfm-hook(8).\n",
	      f);
}

static int usage_error(struct esfm_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(struct esfm_err *err, const char *fmt, ...)
{
	char msg[ESFM_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	esfm_err_set(err, ESFM_ERR_USAGE, 0, "%s", msg);
	return esfm_err_hint(err, "Try 'esfm --help' for more information.");
}

static const struct option *find_option(const char *w)
{
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(options); i++)
		if ((options[i].shrt && !strcmp(w, options[i].shrt)) || !strcmp(w, options[i].lng))
			return &options[i];
	return NULL;
}

static int take_value(int argc, int *i, const char *opt, struct esfm_err *err)
{
	if (*i + 1 >= argc)
		return usage_error(err, "option '%s' needs a value", opt);
	(*i)++;
	return 0;
}

static int apply_option(const struct option *o, int argc, char *const argv[], int *i,
			struct esfm_cli *cli, struct esfm_err *err)
{
	const char *l = o->lng;

	if (!strcmp(l, "--pause"))
		cli->opts.pause = true;
	else if (!strcmp(l, "--yes"))
		cli->opts.yes = true;
	else if (!strcmp(l, "--force"))
		cli->opts.force = true;
	else if (!strcmp(l, "--quiet"))
		cli->quiet = true;
	else if (!strcmp(l, "--verbose"))
		cli->verbose = true;
	else if (!strcmp(l, "--driver_log"))
		cli->driver_log = true;
	else if (!strcmp(l, "--json"))
		cli->json = true;
	else if (!strcmp(l, "--output")) {
		if (take_value(argc, i, argv[*i], err) < 0)
			return -1;
		if (!argv[*i][0] || strlen(argv[*i]) >= sizeof(cli->output))
			return usage_error(err, "invalid output file '%s'", argv[*i]);
		snprintf(cli->output, sizeof(cli->output), "%s", argv[*i]);
	} else if (!strcmp(l, "--drain")) {
		if (take_value(argc, i, argv[*i], err) < 0)
			return -1;
		if (!esfm_name_valid(argv[*i]))
			return usage_error(err, "invalid pool name '%s'", argv[*i]);
		if (cli->ndrain == ESFM_ARRAY_SIZE(cli->drain))
			return usage_error(err, "too many --drain options (at most 16)");
		snprintf(cli->drain[cli->ndrain++], sizeof(cli->drain[0]), "%s", argv[*i]);
	} else if (!strcmp(l, "--queues_num")) {
		if (take_value(argc, i, argv[*i], err) < 0)
			return -1;
		if (!esfm_parse_uint(argv[*i], 2048, false, &cli->opts.qmax))
			return usage_error(err, "invalid queue count '%s' (0 to 2048)", argv[*i]);
		cli->opts.qmax_set = true;
	} else if (!strcmp(l, "--vm_names")) {
		if (take_value(argc, i, argv[*i], err) < 0)
			return -1;
		if (!esfm_name_valid(argv[*i]))
			return usage_error(
				err, "invalid VM base name '%s' (letters, digits, '_', '.', '-')",
				argv[*i]);
		snprintf(cli->opts.vm_base, sizeof(cli->opts.vm_base), "%s", argv[*i]);
		cli->opts.vm_base_set = true;
	} else if (!strcmp(l, "--bitstream")) {
		if (take_value(argc, i, argv[*i], err) < 0)
			return -1;
		if (!argv[*i][0] || strlen(argv[*i]) >= sizeof(cli->opts.bitstream))
			return usage_error(err, "invalid bitstream path '%s'", argv[*i]);
		snprintf(cli->opts.bitstream, sizeof(cli->opts.bitstream), "%s", argv[*i]);
	}
	return 0;
}

static int parse_positional(const struct command *c, int k, const char *w, struct esfm_cli *cli,
			    struct esfm_err *err)
{
	switch (c->args[k]) {
	case ARG_COUNT:
		if (!esfm_parse_uint(w, MAX_COUNT, false, &cli->count))
			return usage_error(err, "invalid VF count '%s'", w);
		break;
	case ARG_INDEX:
		if (!esfm_parse_uint(w, MAX_COUNT, false, &cli->index))
			return usage_error(err, "invalid VF index '%s'", w);
		break;
	case ARG_VM:
		if (!w[0] || strlen(w) >= sizeof(cli->vm) || strchr(w, '/'))
			return usage_error(err, "invalid VM name '%s'", w);
		snprintf(cli->vm, sizeof(cli->vm), "%s", w);
		break;
	case ARG_POOL:
		if (!esfm_name_valid(w))
			return usage_error(err, "invalid pool name '%s'", w);
		snprintf(cli->pool, sizeof(cli->pool), "%s", w);
		break;
	}
	return 0;
}

static bool is_command(const char *w)
{
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, w))
			return true;
	return false;
}

static bool looks_like_option(const char *w)
{
	return w[0] == '-' && w[1] != '\0';
}

static int resolve_command(const char *w, bool has_pf, const struct command **out,
			   struct esfm_err *err)
{
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, w))
			continue;
		if (commands[i].needs_pf && !has_pf) {
			esfm_err_set(err, ESFM_ERR_USAGE, 0,
				     "command '%s' needs a PF: esfm <pf_bdf> %s", w,
				     commands[i].synopsis);
			return esfm_err_hint(err, "Try 'esfm --help' for more information.");
		}
		if (!commands[i].needs_pf && has_pf)
			return usage_error(err, "command '%s' does not take a PF", w);
		*out = &commands[i];
		return 0;
	}
	return usage_error(err, "unknown command '%s'", w);
}

int esfm_cli_parse(int argc, char *const argv[], struct esfm_cli *cli, struct esfm_err *err)
{
	const struct command *c = NULL;
	int npos = 0;
	bool bitstream_last = false;

	memset(cli, 0, sizeof(*cli));
	snprintf(cli->opts.vm_base, sizeof(cli->opts.vm_base), ESFM_DEFAULT_VM_BASE);
	cli->opts.detach_timeout_ms = 15000;
	for (int i = 1; i < argc; i++) {
		const char *w = argv[i];
		const struct option *o;

		if (!strcmp(w, "-h") || !strcmp(w, "--help")) {
			cli->cmd = ESFM_CMD_HELP;
			return 0;
		}
		if (!strcmp(w, "--version")) {
			cli->cmd = ESFM_CMD_VERSION;
			return 0;
		}
		if (!strcmp(w, "--print-paths")) {
			cli->cmd = ESFM_CMD_PRINT_PATHS;
			return 0;
		}
		if (looks_like_option(w)) {
			if (!(o = find_option(w)))
				return usage_error(err, "unknown option '%s'", w);
			if (apply_option(o, argc, argv, &i, cli, err) < 0)
				return -1;
			bitstream_last = !strcmp(o->lng, "--bitstream");
			continue;
		}
		/*
		 * "-b <file> [kind]": the word after the file is its kind when it cannot be
		 * anything else: the command has its arguments, or there is no command yet
		 * and the word is neither a command nor a PCI address.
		 */
		if (bitstream_last &&
		    ((c && npos >= c->nargs) || (!c && !strchr(w, ':') && !is_command(w)))) {
			if (!esfm_name_valid(w) || strlen(w) >= sizeof(cli->opts.bitstream_kind))
				return usage_error(err, "invalid bitstream kind '%s'", w);
			snprintf(cli->opts.bitstream_kind, sizeof(cli->opts.bitstream_kind), "%s",
				 w);
			bitstream_last = false;
			continue;
		}
		bitstream_last = false;
		if (!c && !cli->has_pf && strchr(w, ':')) {
			if (esfm_pci_addr_parse(w, &cli->pf, err) < 0)
				return esfm_err_set(err, ESFM_ERR_USAGE, 0,
						    "invalid PCI address '%.64s' (use "
						    "DDDD:BB:DD.F, e.g. 0000:83:00.0)",
						    w);
			cli->has_pf = true;
			continue;
		}
		if (!c) {
			if (resolve_command(w, cli->has_pf, &c, err) < 0)
				return -1;
			cli->cmd = c->cmd;
			continue;
		}
		if (npos >= c->nargs + c->optional)
			return usage_error(err, "unexpected argument '%s'", w);
		if (parse_positional(c, npos++, w, cli, err) < 0)
			return -1;
	}
	if (!c) {
		if (cli->has_pf)
			return usage_error(err, "missing command after the PF");
		return usage_error(err, "missing command");
	}
	if (npos < c->nargs) {
		esfm_err_set(err, ESFM_ERR_USAGE, 0, "missing argument: esfm %s%s",
			     c->needs_pf ? "<pf_bdf> " : "", c->synopsis);
		return esfm_err_hint(err, "Try 'esfm --help' for more information.");
	}
	if (cli->json && c->cmd != ESFM_CMD_STATUS)
		return usage_error(err, "--json goes with the status command");
	if ((cli->output[0] || cli->ndrain) && c->cmd != ESFM_CMD_NOVA_EXPORT)
		return usage_error(err, "--output and --drain go with the nova-export command%s",
				   "");
	if (c->cmd == ESFM_CMD_NOVA_EXPORT && !cli->output[0])
		snprintf(cli->output, sizeof(cli->output), NOVA_OUTPUT_DEFAULT);
	if (cli->opts.bitstream_kind[0] && !cli->opts.bitstream[0])
		return usage_error(err, "a bitstream kind needs -b <file>");
	return 0;
}
