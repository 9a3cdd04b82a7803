/* SPDX-License-Identifier: MIT */
/*
 * Topology files: which PCI functions, SR-IOV capabilities and drivers exist
 * when the simulator starts. Format (one device or driver per line):
 *
 *   pf  <bdf> vendor=HEX device=HEX totalvfs=N [vf_device=HEX] [offset=N] [stride=N]
 *           [driver=NAME|none] [vf_driver=NAME|none] [qdma=0|1] [class=HEX]
 *   dev <bdf> vendor=HEX device=HEX [driver=NAME|none] [qdma=0|1] [class=HEX]
 *   driver <name>
 *
 * Anything after '#' is a comment. Every mistake is reported once as
 * "file:line: what" so a broken fixture is found without reading this code.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define TOPO_MAX_DEVS	 1024
#define TOPO_MAX_DRIVERS 256
#define TOPO_MAX_TOKENS	 16

struct topo_ctx {
	struct sim *sim;
	const char *path;
	unsigned line;
	unsigned *dev_lines; /* line of each sim->devs entry, for collision messages */
	char *msg;
	size_t msglen;
};

static int topo_error(struct topo_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int topo_error(struct topo_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(ctx->msg, ctx->msglen, "%s:%u: ", ctx->path, ctx->line);

	if (n >= 0 && (size_t)n < ctx->msglen) {
		va_start(ap, fmt);
		vsnprintf(ctx->msg + n, ctx->msglen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int sim_driver_find(const struct sim *sim, const char *name)
{
	for (size_t i = 0; i < sim->ndrivers; i++)
		if (!strcmp(sim->drivers[i], name))
			return (int)i;
	return SIM_NO_DRIVER;
}

static bool valid_driver_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= SIM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_-.", name[i]))
			return false;
	return true;
}

/* Returns the driver's index, SIM_NO_DRIVER for "none", or -2 on a bad name (message set). */
static int topo_add_driver(struct topo_ctx *ctx, const char *name)
{
	struct sim *sim = ctx->sim;
	int found;

	if (!strcmp(name, "none"))
		return SIM_NO_DRIVER;
	if (!valid_driver_name(name)) {
		topo_error(ctx, "invalid driver name '%s'", name);
		return -2;
	}
	found = sim_driver_find(sim, name);
	if (found != SIM_NO_DRIVER)
		return found;
	if (sim->ndrivers == TOPO_MAX_DRIVERS) {
		topo_error(ctx, "too many drivers (at most %d)", TOPO_MAX_DRIVERS);
		return -2;
	}
	snprintf(sim->drivers[sim->ndrivers], SIM_NAME_MAX, "%s", name);
	return (int)sim->ndrivers++;
}

static bool parse_hex(const char *s, size_t max_digits, unsigned long *out)
{
	size_t n = strlen(s);
	char *end;

	if (n == 0 || n > max_digits)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	*out = strtoul(s, &end, 16);
	return *end == '\0';
}

static bool parse_dec(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
		return false;
	*out = strtoul(s, &end, 10);
	return *end == '\0' && *out <= max;
}

enum topo_key {
	KEY_VENDOR,
	KEY_DEVICE,
	KEY_VF_DEVICE,
	KEY_TOTALVFS,
	KEY_OFFSET,
	KEY_STRIDE,
	KEY_DRIVER,
	KEY_VF_DRIVER,
	KEY_QDMA,
	KEY_CLASS,
	KEY_COUNT,
};

static const struct {
	const char *name;
	bool pf_only;
} topo_keys[KEY_COUNT] = {
	[KEY_VENDOR] = {"vendor", false},      [KEY_DEVICE] = {"device", false},
	[KEY_VF_DEVICE] = {"vf_device", true}, [KEY_TOTALVFS] = {"totalvfs", true},
	[KEY_OFFSET] = {"offset", true},       [KEY_STRIDE] = {"stride", true},
	[KEY_DRIVER] = {"driver", false},      [KEY_VF_DRIVER] = {"vf_driver", true},
	[KEY_QDMA] = {"qdma", false},	       [KEY_CLASS] = {"class", false},
};

static int topo_set_key(struct topo_ctx *ctx, struct sim_dev *dev, enum topo_key key,
			const char *value)
{
	unsigned long v = 0;
	int drv;

	switch (key) {
	case KEY_VENDOR:
	case KEY_DEVICE:
	case KEY_VF_DEVICE:
		if (!parse_hex(value, 4, &v))
			return topo_error(ctx, "%s: expected 1-4 hex digits without 0x, got '%s'",
					  topo_keys[key].name, value);
		if (key == KEY_VENDOR)
			dev->vendor = (uint16_t)v;
		else if (key == KEY_DEVICE)
			dev->device = (uint16_t)v;
		else
			dev->sriov.vf_device = (uint16_t)v;
		return 0;
	case KEY_CLASS:
		if (!parse_hex(value, 6, &v))
			return topo_error(
				ctx, "class: expected 1-6 hex digits without 0x, got '%s'", value);
		dev->class_code = (uint32_t)v;
		return 0;
	case KEY_TOTALVFS:
	case KEY_OFFSET:
	case KEY_STRIDE:
		if (!parse_dec(value, 65535, &v) || (key == KEY_TOTALVFS && v == 0))
			return topo_error(ctx, "%s: expected a decimal number %s65535, got '%s'",
					  topo_keys[key].name, key == KEY_TOTALVFS ? "1.." : "0..",
					  value);
		if (key == KEY_TOTALVFS)
			dev->sriov.total = (unsigned)v;
		else if (key == KEY_OFFSET)
			dev->sriov.offset = (unsigned)v;
		else
			dev->sriov.stride = (unsigned)v;
		return 0;
	case KEY_DRIVER:
	case KEY_VF_DRIVER:
		drv = topo_add_driver(ctx, value);
		if (drv == -2)
			return -1;
		if (key == KEY_DRIVER)
			dev->default_driver = drv;
		else
			dev->sriov.vf_driver = drv;
		return 0;
	case KEY_QDMA:
		if (strcmp(value, "0") && strcmp(value, "1"))
			return topo_error(ctx, "qdma: expected 0 or 1, got '%s'", value);
		dev->qdma = value[0] == '1';
		return 0;
	case KEY_COUNT:
		break;
	}
	return topo_error(ctx, "internal error: unhandled key");
}

static int topo_parse_device(struct topo_ctx *ctx, char **tok, size_t ntok)
{
	struct sim *sim = ctx->sim;
	bool is_pf = !strcmp(tok[0], "pf");
	bool seen[KEY_COUNT] = {false};
	struct sim_dev *dev;

	if (ntok < 2)
		return topo_error(ctx, "'%s' needs a PCI address", tok[0]);
	if (sim->ndevs == TOPO_MAX_DEVS)
		return topo_error(ctx, "too many devices (at most %d)", TOPO_MAX_DEVS);
	dev = &sim->devs[sim->ndevs];
	memset(dev, 0, sizeof(*dev));
	if (sim_parse_bdf(tok[1], &dev->domain, &dev->bus, &dev->devfn) < 0)
		return topo_error(ctx, "invalid PCI address '%s' (expected dddd:bb:dd.f)", tok[1]);
	sim_format_bdf(dev->bdf, dev->domain, dev->bus, dev->devfn);
	if (sim_topology_dev(sim, dev->bdf))
		return topo_error(ctx, "duplicate device %s", dev->bdf);
	snprintf(dev->root, sizeof(dev->root), "pci%04x:%02x", dev->domain, dev->bus);
	dev->kind = is_pf ? SIM_DEV_PF : SIM_DEV_PLAIN;
	dev->default_driver = SIM_NO_DRIVER;
	dev->sriov.vf_driver = SIM_NO_DRIVER;
	dev->sriov.offset = 1;
	dev->sriov.stride = 1;
	dev->class_code = 0xff0000;

	for (size_t i = 2; i < ntok; i++) {
		char *eq = strchr(tok[i], '=');
		enum topo_key key;

		if (!eq || eq == tok[i])
			return topo_error(ctx, "expected key=value, got '%s'", tok[i]);
		*eq = '\0';
		for (key = 0; key < KEY_COUNT; key++)
			if (!strcmp(topo_keys[key].name, tok[i]))
				break;
		if (key == KEY_COUNT || (topo_keys[key].pf_only && !is_pf))
			return topo_error(ctx, "unknown key '%s' for '%s'", tok[i], tok[0]);
		if (seen[key])
			return topo_error(ctx, "key '%s' given twice", tok[i]);
		seen[key] = true;
		if (topo_set_key(ctx, dev, key, eq + 1) < 0)
			return -1;
	}
	if (!seen[KEY_VENDOR] || !seen[KEY_DEVICE] || (is_pf && !seen[KEY_TOTALVFS]))
		return topo_error(ctx, "'%s %s' needs vendor=, device=%s", tok[0], dev->bdf,
				  is_pf ? " and totalvfs=" : "");
	if (is_pf && !seen[KEY_VF_DEVICE])
		dev->sriov.vf_device = dev->device;
	dev->rescan_vendor = dev->vendor;
	dev->rescan_device = dev->device;
	ctx->dev_lines[sim->ndevs++] = ctx->line;
	return 0;
}

static int topo_parse_line(struct topo_ctx *ctx, char *text)
{
	char *tok[TOPO_MAX_TOKENS];
	size_t ntok = 0;
	char *save = NULL;
	char *hash = strchr(text, '#');

	if (hash)
		*hash = '\0';
	for (char *t = strtok_r(text, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (ntok == TOPO_MAX_TOKENS)
			return topo_error(ctx, "too many fields");
		tok[ntok++] = t;
	}
	if (ntok == 0)
		return 0;
	if (!strcmp(tok[0], "pf") || !strcmp(tok[0], "dev"))
		return topo_parse_device(ctx, tok, ntok);
	if (!strcmp(tok[0], "driver")) {
		if (ntok != 2)
			return topo_error(ctx, "'driver' takes exactly one name");
		if (!strcmp(tok[1], "none"))
			return topo_error(ctx, "'none' is not a driver name");
		return topo_add_driver(ctx, tok[1]) == -2 ? -1 : 0;
	}
	return topo_error(ctx, "unknown directive '%s' (expected pf, dev or driver)", tok[0]);
}

struct topo_rid {
	unsigned domain;
	unsigned rid;
	const struct sim_dev *owner; /* the topology device, or the PF of a VF */
	unsigned vf;		     /* VF index + 1, 0 for the device itself */
	unsigned line;
};

static int cmp_rid(const void *a, const void *b)
{
	const struct topo_rid *x = a, *y = b;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	if (x->rid != y->rid)
		return x->rid < y->rid ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Every VF a PF could ever create must have an address no other function uses. */
static int topo_check_addresses(struct topo_ctx *ctx)
{
	struct sim *sim = ctx->sim;
	size_t n = sim->ndevs, k = 0;
	struct topo_rid *rids;
	int rc = 0;

	for (size_t i = 0; i < sim->ndevs; i++)
		n += sim->devs[i].sriov.total;
	rids = sim_xcalloc(n, sizeof(*rids));
	for (size_t i = 0; i < sim->ndevs; i++) {
		const struct sim_dev *dev = &sim->devs[i];
		unsigned base = dev->bus << 8 | dev->devfn;

		rids[k++] = (struct topo_rid){dev->domain, base, dev, 0, ctx->dev_lines[i]};
		for (unsigned v = 0; v < dev->sriov.total; v++) {
			unsigned long rid =
				base + dev->sriov.offset + (unsigned long)dev->sriov.stride * v;

			if (rid > 0xffff) {
				ctx->line = ctx->dev_lines[i];
				free(rids);
				return topo_error(ctx, "VF %u of %s would lie beyond bus ff", v,
						  dev->bdf);
			}
			rids[k++] = (struct topo_rid){dev->domain, (unsigned)rid, dev, v + 1,
						      ctx->dev_lines[i]};
		}
	}
	qsort(rids, k, sizeof(*rids), cmp_rid);
	for (size_t i = 1; i < k && rc == 0; i++) {
		const struct topo_rid *a = &rids[i - 1], *b = &rids[i];
		char bdf[SIM_BDF_LEN];

		if (a->domain != b->domain || a->rid != b->rid)
			continue;
		sim_format_bdf(bdf, b->domain, b->rid >> 8, b->rid & 0xff);
		ctx->line = b->line;
		rc = topo_error(ctx, "address %s is used twice (%s%s%s and %s%s%s)", bdf,
				a->vf ? "a VF of " : "", a->owner->bdf, a->vf ? "" : " itself",
				b->vf ? "a VF of " : "", b->owner->bdf, b->vf ? "" : " itself");
	}
	free(rids);
	return rc;
}

static void topo_init_vfs(struct sim_dev *pf)
{
	unsigned base = pf->bus << 8 | pf->devfn;

	pf->sriov.autoprobe = true;
	pf->sriov.vfs = sim_xcalloc(pf->sriov.total, sizeof(*pf->sriov.vfs));
	for (unsigned i = 0; i < pf->sriov.total; i++) {
		struct sim_dev *vf = &pf->sriov.vfs[i];
		unsigned rid = base + pf->sriov.offset + pf->sriov.stride * i;

		vf->kind = SIM_DEV_VF;
		vf->domain = pf->domain;
		vf->bus = rid >> 8;
		vf->devfn = rid & 0xff;
		sim_format_bdf(vf->bdf, vf->domain, vf->bus, vf->devfn);
		memcpy(vf->root, pf->root, sizeof(vf->root));
		vf->pf = pf;
		vf->vf_index = i;
		vf->default_driver = pf->sriov.vf_driver;
		vf->driver = SIM_NO_DRIVER;
		vf->iommu_group = SIM_NO_GROUP;
	}
}

int sim_topology_load(struct sim *sim, const char *path, char *msg, size_t msglen)
{
	struct topo_ctx ctx = {sim, path, 0, NULL, msg, msglen};
	char *line = NULL;
	size_t cap = 0;
	size_t ngroups;
	FILE *f;
	int rc = 0;

	f = fopen(path, "re");
	if (!f) {
		snprintf(msg, msglen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	pthread_mutex_init(&sim->lock, NULL);
	sim->numvfs_ebusy_rule = true;
	sim->devs = sim_xcalloc(TOPO_MAX_DEVS, sizeof(*sim->devs));
	sim->drivers = sim_xcalloc(TOPO_MAX_DRIVERS, sizeof(*sim->drivers));
	ctx.dev_lines = sim_xcalloc(TOPO_MAX_DEVS, sizeof(*ctx.dev_lines));
	topo_add_driver(&ctx, "vfio-pci");
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		ctx.line++;
		rc = topo_parse_line(&ctx, line);
	}
	free(line);
	fclose(f);
	if (rc == 0 && sim->ndevs == 0) {
		ctx.line++;
		rc = topo_error(&ctx, "no devices (expected 'pf' or 'dev' lines)");
	}
	if (rc == 0)
		rc = topo_check_addresses(&ctx);
	free(ctx.dev_lines);
	if (rc < 0)
		return -1;

	ngroups = sim->ndevs;
	for (size_t i = 0; i < sim->ndevs; i++)
		if (sim->devs[i].kind == SIM_DEV_PF) {
			topo_init_vfs(&sim->devs[i]);
			ngroups += sim->devs[i].sriov.total;
		}
	sim->groups = sim_xcalloc(ngroups, sizeof(*sim->groups));
	sim->ngroups = ngroups;
	for (size_t i = 0; i < sim->ndevs; i++)
		sim_dev_add(sim, &sim->devs[i]);
	return 0;
}

void sim_free(struct sim *sim)
{
	for (size_t i = 0; i < sim->ndevs; i++) {
		struct sim_dev *dev = &sim->devs[i];

		for (unsigned v = 0; dev->sriov.vfs && v < dev->sriov.total; v++)
			free(dev->sriov.vfs[v].override);
		free(dev->sriov.vfs);
		free(dev->override);
	}
	free(sim->devs);
	free(sim->drivers);
	free(sim->groups);
	free(sim->fails);
	free(sim->delays);
	sim_buf_free(&sim->log);
	pthread_mutex_destroy(&sim->lock);
	memset(sim, 0, sizeof(*sim));
}
