// SPDX-License-Identifier: MIT
/*
 * nova-export: the provider file that tells Placement what each pool holds.
 * The ledger of each pool is read in one short locked cycle; which holders
 * are Nova instances is asked of libvirt afterwards, with no lock held.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nova.h"
#include "ops_internal.h"
#include "util.h"

/* A VF of the pool that someone holds, as the ledger says. */
struct holder {
	char uuid[ESFM_UUID_STRLEN];
	char name[ESFM_DOM_NAME_MAX];
	enum esfm_vf_origin origin;
};

struct pool_holders {
	unsigned total; /* VFs the pool has: min(its count, the PF's VFs) */
	size_t n;
	struct holder *h;
};

static int copy_holders(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	struct pool_holders *ph = data;

	if (esfm_vfpool_check_busy(st, err) < 0)
		return -1;
	ph->h = calloc(st->nvfs ? st->nvfs : 1, sizeof(*ph->h));
	if (!ph->h)
		return esfm_err_sys(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < st->nvfs && i < ph->total; i++) {
		const struct esfm_vf_slot *s = &st->vfs[i];

		if (s->state == ESFM_VF_FREE)
			continue;
		snprintf(ph->h[ph->n].uuid, sizeof(ph->h[ph->n].uuid), "%s", s->uuid);
		snprintf(ph->h[ph->n].name, sizeof(ph->h[ph->n].name), "%s", s->name);
		ph->h[ph->n++].origin = s->origin;
	}
	return 1; /* read only */
}

/*
 * Whether the holder @h of a VF of @pool is a Nova instance whose flavor asks
 * for @pool: Placement then counts its VF among its allocations, so it must
 * not be reserved as well. A domain libvirt does not know is not Nova's.
 */
static int held_for_nova(struct esfm_virt *v, const struct holder *h, const char *pool,
			 const struct esfm_pool *pools, size_t npools, bool *nova,
			 struct esfm_err *err)
{
	struct esfm_pool_request req[ESFM_ANNOT_MAX_POOLS];
	struct esfm_domain *d = NULL;
	struct esfm_err e = {0};
	struct esfm_virt_dom *dom = NULL;
	size_t nreq = 0;
	int r = -1;

	*nova = false;
	if (h->origin != ESFM_ORIGIN_HOOK) /* an operator's assignment: Placement never saw it */
		return 0;
	if (esfm_virt_lookup(v, h->uuid, &dom, &e) < 0) {
		if (e.cls == ESFM_ERR_NOTFOUND)
			return 0;
		*err = e;
		return esfm_err_prefix(err,
				       "pool '%s': cannot tell whether '%s' (%s) is a Nova "
				       "instance",
				       pool, h->name, h->uuid);
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		esfm_err_sys(err, ENOMEM, "out of memory");
		goto out;
	}
	if (esfm_virt_domain_info(dom, false, d, err) < 0) {
		esfm_err_prefix(err, "pool '%s': cannot tell whether '%s' (%s) is a Nova instance",
				pool, h->name, h->uuid);
		goto out;
	}
	/* A flavor esfm cannot read asks for nothing it can count: reserved (the safe side). */
	if (esfm_nova_requests(&d->nova, d->name, pools, npools, req, ESFM_ANNOT_MAX_POOLS, &nreq,
			       &e) < 0)
		nreq = 0;
	for (size_t i = 0; i < nreq; i++)
		if (!strcmp(req[i].pool, pool))
			*nova = true;
	r = 0;
out:
	free(d);
	esfm_virt_release(dom);
	return r;
}

static bool drained(const char *pool, const char *const *drain, size_t ndrain)
{
	for (size_t i = 0; i < ndrain; i++)
		if (!strcmp(drain[i], pool))
			return true;
	return false;
}

/* The pool's inventory; 0 with inv->total 0 when it has no VF to offer. */
static int pool_inventory(struct esfm_ctx *ctx, struct esfm_virt **v, const struct esfm_pool *p,
			  const struct esfm_pool *pools, size_t npools, bool drain,
			  const struct esfm_ui *ui, struct esfm_nova_inventory *inv,
			  struct esfm_err *err)
{
	struct pool_holders ph = {0};
	struct esfm_pf_info info;
	struct esfm_err e = {0};
	char a[ESFM_PCI_ADDR_STRLEN], why[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];
	char msg[sizeof(why) + ESFM_NAME_MAX + 96];
	int r = -1;

	memset(inv, 0, sizeof(*inv));
	snprintf(inv->pool, sizeof(inv->pool), "%s", p->name);
	esfm_nova_class(p->name, inv->cls);
	if (esfm_pci_pf_info(ctx->sysfs, &p->pf, &info, &e) < 0 || info.numvfs == 0) {
		snprintf(msg, sizeof(msg),
			 "pool '%s': PF %s has no VFs (%s): left out of the provider file", p->name,
			 esfm_pci_addr_str(&p->pf, a),
			 e.cls ? esfm_err_format(&e, why, sizeof(why)) : "sriov_numvfs is 0");
		if (ui && ui->warn)
			ui->warn(ui->data, msg);
		return 0;
	}
	inv->vendor = info.vendor;
	inv->device = info.device;
	ph.total = info.numvfs < p->count ? info.numvfs : p->count;
	if (esfm_vfpool_update(ctx, p->name, "esfm nova-export", copy_holders, &ph, err) < 0)
		goto out;
	for (size_t i = 0; i < ph.n && !drain; i++) {
		bool nova = false;

		if (ph.h[i].origin == ESFM_ORIGIN_HOOK && !*v &&
		    esfm_virt_open(ctx->conf.libvirt_uri, v, err) < 0) {
			esfm_err_prefix(err, "pool '%s': cannot tell which VFs Nova instances hold",
					p->name);
			goto out;
		}
		if (held_for_nova(*v, &ph.h[i], p->name, pools, npools, &nova, err) < 0)
			goto out;
		if (!nova)
			inv->reserved++;
	}
	inv->total = ph.total;
	if (drain)
		inv->reserved = inv->total;
	inv->max_unit = inv->total < ESFM_MAX_VFS_PER_VM ? inv->total : ESFM_MAX_VFS_PER_VM;
	r = 0;
out:
	free(ph.h);
	return r;
}

/* Whether @path holds @text already (a file that cannot be read does not). */
static bool unchanged(const char *path, const char *text)
{
	_cleanup_free_ char *old = NULL;
	struct esfm_err e = {0};
	size_t len;

	return esfm_read_file(path, 1 << 20, &old, &len, &e) == 0 && len == strlen(text) &&
	       !memcmp(old, text, len);
}

int esfm_op_nova_export(struct esfm_ctx *ctx, const char *output, const char *const *drain,
			size_t ndrain, const struct esfm_ui *ui, struct esfm_nova_export *out,
			struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pool *pools = NULL;
	_cleanup_free_ char *text = NULL;
	struct esfm_virt *v = NULL;
	size_t npools = 0;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (esfm_pool_list(&ctx->conf, &pools, &npools, err) < 0 ||
	    esfm_nova_check_classes(pools, npools, err) < 0)
		return -1;
	for (size_t i = 0; i < ndrain; i++) {
		bool known = false;

		for (size_t j = 0; j < npools; j++)
			known = known || !strcmp(pools[j].name, drain[i]);
		if (!known) {
			esfm_err_set(err, ESFM_ERR_NOTFOUND, 0, "--drain: pool '%s' is not defined",
				     drain[i]);
			return esfm_err_hint(err, "esfm pool-list shows the pools");
		}
	}
	out->inv = calloc(npools ? npools : 1, sizeof(*out->inv));
	if (!out->inv)
		return esfm_err_sys(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < npools; i++) {
		struct esfm_nova_inventory *inv = &out->inv[out->ninv];

		if (pool_inventory(ctx, &v, &pools[i], pools, npools,
				   drained(pools[i].name, drain, ndrain), ui, inv, err) < 0)
			goto out;
		if (inv->total) /* Placement refuses a total of 0 */
			out->ninv++;
	}
	if (esfm_nova_provider_file(out->inv, out->ninv, &text, err) < 0)
		goto out;
	out->unchanged = unchanged(output, text);
	if (!out->unchanged &&
	    esfm_write_file_atomic_mode(output, text, strlen(text), 0644, err) < 0) {
		if (err->errnum == ENOENT)
			esfm_err_hint(err, "create the directory (nova-compute's "
					   "[compute] provider_config_location) or give --output");
		esfm_err_prefix(err, "provider file %s", output);
		goto out;
	}
	if (!out->unchanged)
		esfm_info("provider file %s written (%zu resource class%s)", output, out->ninv,
			  out->ninv == 1 ? "" : "es");
	r = 0;
out:
	esfm_virt_close(v);
	if (r < 0) {
		free(out->inv);
		out->inv = NULL;
		out->ninv = 0;
	}
	return r;
}
