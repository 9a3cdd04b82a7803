/* SPDX-License-Identifier: MIT */
/*
 * sim-control: the tests' side door. Writes are commands (tests/sim/README.md);
 * reads return the log of every attribute write,
 * one "<path> <value>" line each, so tests can assert the order of writes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define MAX_ARGS      5
#define MAX_DELAY_MS  600000
#define MAX_INJECTION 1024

static const char *inject_bdf(const struct sim_node *node)
{
	return node->dev ? node->dev->bdf : "-";
}

static bool inject_matches(const struct sim_inject *inj, const struct sim_node *node)
{
	return !strcmp(inj->bdf, inject_bdf(node)) && !strcmp(inj->attr, sim_node_attr_name(node));
}

unsigned sim_delay_for(const struct sim *sim, const struct sim_node *node)
{
	for (size_t i = 0; i < sim->ndelays; i++)
		if (inject_matches(&sim->delays[i], node))
			return (unsigned)sim->delays[i].value;
	return 0;
}

int sim_take_fail(struct sim *sim, const struct sim_node *node)
{
	for (size_t i = 0; i < sim->nfails; i++) {
		int err = sim->fails[i].value;

		if (!inject_matches(&sim->fails[i], node))
			continue;
		memmove(&sim->fails[i], &sim->fails[i + 1],
			(sim->nfails - i - 1) * sizeof(sim->fails[0]));
		sim->nfails--;
		return err;
	}
	return 0;
}

void sim_log_write(struct sim *sim, const struct sim_node *node, const char *buf)
{
	size_t len = strlen(buf);

	if (len && buf[len - 1] == '\n')
		len--;
	sim_buf_printf(&sim->log, "%s ", node->path);
	/* One line per write, whatever the writer sent. */
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			sim_buf_append(&sim->log, "\\n", 2);
		else
			sim_buf_append(&sim->log, &buf[i], 1);
	}
	sim_buf_append(&sim->log, "\n", 1);
}

static int control_error(const char *line, const char *why, int err)
{
	fprintf(stderr, "%s: %s: '%s': %s\n", SIM_PROG, SIM_CONTROL_NAME, line, why);
	return -err;
}

/* "-" or a PCI address, canonicalised so "0000:83:00.A" and "0000:83:00.a" are one key. */
static bool parse_target(const char *text, char out[SIM_BDF_LEN])
{
	unsigned domain, bus, devfn;

	if (!strcmp(text, "-")) {
		snprintf(out, SIM_BDF_LEN, "-");
		return true;
	}
	if (sim_parse_bdf(text, &domain, &bus, &devfn) < 0)
		return false;
	sim_format_bdf(out, domain, bus, devfn);
	return true;
}

static bool parse_u16_hex(const char *s, uint16_t *out)
{
	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	if (!*s || strlen(s) > 4 || strspn(s, "0123456789abcdefABCDEF") != strlen(s))
		return false;
	*out = (uint16_t)strtoul(s, NULL, 16);
	return true;
}

static int add_injection(struct sim_inject **list, size_t *n, const struct sim_inject *inj)
{
	struct sim_inject *grown;

	if (*n == MAX_INJECTION)
		return -ENOMEM;
	grown = realloc(*list, (*n + 1) * sizeof(**list));
	if (!grown)
		return -ENOMEM;
	*list = grown;
	(*list)[(*n)++] = *inj;
	return 0;
}

static int cmd_fail_or_delay(struct sim *sim, const char *line, char **arg, size_t nargs)
{
	bool is_fail = !strcmp(arg[0], "fail");
	struct sim_inject inj = {0};
	unsigned long ms;
	char *end;

	if (nargs != 4)
		return control_error(line,
				     is_fail ? "usage: fail <bdf|-> <attr> <ERRNO>"
					     : "usage: delay <bdf|-> <attr> <ms>",
				     EINVAL);
	if (!parse_target(arg[1], inj.bdf))
		return control_error(line, "expected a PCI address or '-'", EINVAL);
	if (strlen(arg[2]) >= sizeof(inj.attr))
		return control_error(line, "attribute name too long", EINVAL);
	snprintf(inj.attr, sizeof(inj.attr), "%s", arg[2]);
	if (is_fail) {
		inj.value = sim_errno_by_name(arg[3]);
		if (!inj.value)
			return control_error(line, "unknown errno name", EINVAL);
		return add_injection(&sim->fails, &sim->nfails, &inj);
	}
	ms = strtoul(arg[3], &end, 10);
	if (!*arg[3] || *end || ms > MAX_DELAY_MS)
		return control_error(line, "expected milliseconds 0..600000", EINVAL);
	inj.value = (int)ms;
	for (size_t i = 0; i < sim->ndelays; i++) {
		if (strcmp(sim->delays[i].bdf, inj.bdf) || strcmp(sim->delays[i].attr, inj.attr))
			continue;
		if (ms) {
			sim->delays[i].value = inj.value;
		} else {
			sim->delays[i] = sim->delays[sim->ndelays - 1];
			sim->ndelays--;
		}
		return 0;
	}
	return ms ? add_injection(&sim->delays, &sim->ndelays, &inj) : 0;
}

static struct sim_dev *control_dev(struct sim *sim, const char *text)
{
	char bdf[SIM_BDF_LEN];

	if (!parse_target(text, bdf) || !strcmp(bdf, "-"))
		return NULL;
	return sim_topology_dev(sim, bdf);
}

static int cmd_queues_active(struct sim *sim, const char *line, char **arg, size_t nargs)
{
	struct sim_dev *dev;

	if (nargs != 3 || (strcmp(arg[2], "0") && strcmp(arg[2], "1")))
		return control_error(line, "usage: queues_active <bdf> 0|1", EINVAL);
	dev = control_dev(sim, arg[1]);
	if (!dev || !dev->qdma)
		return control_error(line, "no QDMA device with that address in the topology",
				     ENODEV);
	dev->queues_active = arg[2][0] == '1';
	return 0;
}

static int cmd_rule(struct sim *sim, const char *line, char **arg, size_t nargs)
{
	if (nargs != 3 || strcmp(arg[1], "numvfs_ebusy") ||
	    (strcmp(arg[2], "on") && strcmp(arg[2], "off")))
		return control_error(line, "usage: rule numvfs_ebusy on|off", EINVAL);
	sim->numvfs_ebusy_rule = !strcmp(arg[2], "on");
	return 0;
}

static int cmd_ids(struct sim *sim, const char *line, char **arg, size_t nargs)
{
	struct sim_dev *dev;
	uint16_t vendor, device;

	if (nargs != 4 || !parse_u16_hex(arg[2], &vendor) || !parse_u16_hex(arg[3], &device))
		return control_error(line, "usage: ids <bdf> <vendor-hex> <device-hex>", EINVAL);
	dev = control_dev(sim, arg[1]);
	if (!dev)
		return control_error(line, "no device with that address in the topology", ENODEV);
	dev->rescan_vendor = vendor;
	dev->rescan_device = device;
	return 0;
}

static int cmd_log(struct sim *sim, const char *line, char **arg, size_t nargs)
{
	if (nargs != 2 || strcmp(arg[1], "clear"))
		return control_error(line, "usage: log clear", EINVAL);
	sim_buf_reset(&sim->log);
	return 0;
}

static int control_line(struct sim *sim, char *line)
{
	char copy[SIM_PATH_MAX];
	char *arg[MAX_ARGS + 1];
	char *save = NULL;
	size_t nargs = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
		if (nargs == MAX_ARGS + 1)
			return control_error(copy, "too many words", EINVAL);
		arg[nargs++] = t;
	}
	if (nargs == 0)
		return 0;
	if (!strcmp(arg[0], "fail") || !strcmp(arg[0], "delay"))
		return cmd_fail_or_delay(sim, copy, arg, nargs);
	if (!strcmp(arg[0], "queues_active"))
		return cmd_queues_active(sim, copy, arg, nargs);
	if (!strcmp(arg[0], "rule"))
		return cmd_rule(sim, copy, arg, nargs);
	if (!strcmp(arg[0], "ids"))
		return cmd_ids(sim, copy, arg, nargs);
	if (!strcmp(arg[0], "log"))
		return cmd_log(sim, copy, arg, nargs);
	return control_error(copy, "unknown command (fail, delay, queues_active, rule, ids, log)",
			     EINVAL);
}

int sim_control(struct sim *sim, const char *buf)
{
	char *text = sim_xstrdup(buf);
	char *save = NULL;
	int rc = 0;

	for (char *line = strtok_r(text, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save))
		rc = control_line(sim, line);
	free(text);
	return rc;
}
