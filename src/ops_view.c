// SPDX-License-Identifier: MIT
/* Who holds which VF: sysfs, the state file and libvirt's live and persistent XML. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "ops.h"
#include "ops_internal.h"
#include "util.h"
#include "virt.h"

void esfm_pf_view_free(struct esfm_pf_view *v)
{
	free(v->vfs);
	v->vfs = NULL;
	v->nvfs = 0;
}

/* VM configs may name VFs that do not exist now: the view grows to show them. */
static int grow_view(struct esfm_pf_view *view, size_t n)
{
	struct esfm_vf_view *nv;

	if (n <= view->nvfs)
		return 0;
	nv = realloc(view->vfs, n * sizeof(*nv));
	if (!nv)
		return -1;
	for (size_t i = view->nvfs; i < n; i++) {
		memset(&nv[i], 0, sizeof(nv[i]));
		nv[i].index = (unsigned)i;
		esfm_pci_vf_addr_compute(&view->pool.pf, view->info.offset, view->info.stride,
					 (unsigned)i, &nv[i].addr, NULL);
	}
	view->vfs = nv;
	view->nvfs = n;
	return 0;
}

static void note_hostdevs(struct esfm_pf_view *view, const struct esfm_domain *d, bool running,
			  bool live)
{
	for (size_t h = 0; h < d->nhostdev; h++) {
		struct esfm_vf_view *vf;
		int idx = esfm_pci_vf_index_compute(&view->pool.pf, view->info.offset,
						    view->info.stride, view->info.totalvfs,
						    &d->hostdev[h].addr);

		if (idx < 0 || grow_view(view, (size_t)idx + 1) < 0)
			continue;
		vf = &view->vfs[idx];
		if (!vf->vm[0] || !strcmp(vf->uuid, d->uuid)) {
			snprintf(vf->vm, sizeof(vf->vm), "%s", d->name);
			snprintf(vf->uuid, sizeof(vf->uuid), "%s", d->uuid);
			if (live || !vf->alias[0])
				snprintf(vf->alias, sizeof(vf->alias), "%s", d->hostdev[h].alias);
		}
		vf->running |= running;
		if (live)
			vf->live = true;
		else
			vf->config = true;
	}
}

/* Add libvirt's view (who has which VF in live and persistent XML) to @view. */
static void scan_libvirt(const struct esfm_lv_facts *lv, struct esfm_pf_view *view)
{
	for (size_t i = 0; i < lv->n; i++) {
		const struct esfm_dom_facts *d = &lv->doms[i];

		if (d->live)
			note_hostdevs(view, d->live, true, true);
		if (d->config)
			note_hostdevs(view, d->config, d->running, false);
	}
}

static int fill_view(struct esfm_ctx *ctx, const struct esfm_pool_state *st,
		     struct esfm_pf_view *view, struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pci_addr *vfs = NULL;
	size_t n;

	if (esfm_pci_pf_info(ctx->sysfs, &view->pool.pf, &view->info, err) < 0 ||
	    esfm_pci_list_vfs(ctx->sysfs, &view->pool.pf, &vfs, &n, err) < 0)
		return -1;
	view->nvfs = n > st->nvfs ? n : st->nvfs;
	view->vfs = view->nvfs ? calloc(view->nvfs, sizeof(*view->vfs)) : NULL;
	if (view->nvfs && !view->vfs)
		return esfm_err_sys(err, ENOMEM, "cannot build the VF list");
	for (size_t i = 0; i < view->nvfs; i++) {
		struct esfm_vf_view *vf = &view->vfs[i];

		vf->index = (unsigned)i;
		vf->exists = i < n;
		if (i < n)
			vf->addr = vfs[i];
		else if (esfm_pci_vf_addr_compute(&view->pool.pf, view->info.offset,
						  view->info.stride, (unsigned)i, &vf->addr,
						  err) < 0)
			return -1;
		if (vf->exists && esfm_pci_get_driver(ctx->sysfs, &vf->addr, vf->driver,
						      sizeof(vf->driver), err) < 0)
			return -1;
		if (i < st->nvfs && st->vfs[i].state != ESFM_VF_FREE) {
			const struct esfm_vf_slot *s = &st->vfs[i];

			vf->state = s->state;
			vf->origin = s->origin;
			snprintf(vf->vm, sizeof(vf->vm), "%s", s->name);
			snprintf(vf->uuid, sizeof(vf->uuid), "%s", s->uuid);
			snprintf(vf->alias, sizeof(vf->alias), "%s", s->alias);
		}
	}
	snprintf(view->bitstream, sizeof(view->bitstream), "%s", st->bitstream);
	snprintf(view->bitstream_kind, sizeof(view->bitstream_kind), "%s", st->bitstream_kind);
	view->flashed_at = st->flashed_at;
	return 0;
}

int esfm_ops_view_of_pool(struct esfm_ctx *ctx, const struct esfm_pool *pool, struct esfm_virt *v,
			  struct esfm_pf_view *view, struct esfm_err *err)
{
	struct esfm_pool_state st = {0};
	struct esfm_lv_facts lv = {0};
	int r;

	memset(view, 0, sizeof(*view));
	view->pool = *pool;
	/* With libvirt at hand, the ledger is first corrected from reality. */
	if (v && esfm_ops_reconcile(ctx, v, pool, NULL, NULL, &lv, err) < 0)
		return -1;
	r = esfm_state_load(ctx->conf.state_dir, pool->name, &st, err);
	if (r == 0)
		r = fill_view(ctx, &st, view, err);
	esfm_state_clear(&st);
	if (r == 0 && v)
		scan_libvirt(&lv, view);
	esfm_lv_facts_free(&lv);
	if (r < 0)
		esfm_pf_view_free(view);
	return r;
}

int esfm_op_view(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, bool with_libvirt,
		 struct esfm_pf_view *view, struct esfm_err *err)
{
	struct esfm_virt *v = NULL;
	struct esfm_pool pool;
	int r;

	memset(view, 0, sizeof(*view));
	if (esfm_pool_for_pf(&ctx->conf, pf, &pool, err) < 0)
		return -1;
	if (with_libvirt && esfm_virt_open(ctx->conf.libvirt_uri, &v, err) < 0)
		return -1;
	r = esfm_ops_view_of_pool(ctx, &pool, v, view, err);
	esfm_virt_close(v);
	return r;
}

/* Pools declared in pools.d plus implicit pools that have a state file. */
static int collect_pools(struct esfm_ctx *ctx, struct esfm_pool **pools, size_t *n,
			 struct esfm_err *err)
{
	struct dirent *de;
	DIR *d;

	if (esfm_pool_list(&ctx->conf, pools, n, err) < 0)
		return -1;
	d = opendir(ctx->conf.state_dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		struct esfm_pool_state st = {0};
		struct esfm_err e = {0};
		char name[ESFM_NAME_MAX];
		size_t len = strlen(de->d_name);
		bool known = false;
		struct esfm_pool *np;

		if (len <= 6 || len - 6 >= sizeof(name) || strcmp(de->d_name + len - 6, ".state"))
			continue;
		memcpy(name, de->d_name, len - 6);
		name[len - 6] = '\0';
		for (size_t i = 0; i < *n; i++)
			known |= !strcmp((*pools)[i].name, name);
		if (known || strncmp(name, "pci_", 4) ||
		    esfm_state_load(ctx->conf.state_dir, name, &st, &e) < 0)
			continue;
		np = realloc(*pools, (*n + 1) * sizeof(**pools));
		if (!np) {
			esfm_state_clear(&st);
			closedir(d);
			return esfm_err_sys(err, ENOMEM, "cannot list pools");
		}
		*pools = np;
		if (esfm_pool_for_pf(&ctx->conf, &st.pf, &np[*n], &e) == 0)
			(*n)++;
		esfm_state_clear(&st);
	}
	closedir(d);
	return 0;
}

int esfm_op_status(struct esfm_ctx *ctx, struct esfm_pf_view **views, size_t *n,
		   struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pool *pools = NULL;
	size_t np = 0;
	int r = 0;

	*views = NULL;
	*n = 0;
	if (collect_pools(ctx, &pools, &np, err) < 0)
		return -1;
	if (np && !(*views = calloc(np, sizeof(**views))))
		return esfm_err_sys(err, ENOMEM, "cannot build the status");
	for (size_t i = 0; i < np; i++) {
		struct esfm_pf_view *view = &(*views)[*n];

		if (esfm_ops_view_of_pool(ctx, &pools[i], NULL, view, err) < 0) {
			if (err->cls != ESFM_ERR_NOTFOUND) {
				r = -1;
				break;
			}
			/* A pool whose PF is absent is still listed, with no VFs. */
			memset(view, 0, sizeof(*view));
			view->pool = pools[i];
			esfm_err_clear(err);
		}
		(*n)++;
	}
	return r;
}

static json_object *vf_json(const struct esfm_vf_view *vf)
{
	json_object *o = json_object_new_object();
	char a[ESFM_PCI_ADDR_STRLEN];

	json_object_object_add(o, "index", json_object_new_int((int)vf->index));
	json_object_object_add(o, "address",
			       json_object_new_string(esfm_pci_addr_str(&vf->addr, a)));
	json_object_object_add(o, "exists", json_object_new_boolean(vf->exists));
	json_object_object_add(o, "driver",
			       vf->driver[0] ? json_object_new_string(vf->driver) : NULL);
	json_object_object_add(o, "state", json_object_new_string(esfm_vf_state_name(vf->state)));
	json_object_object_add(o, "origin",
			       vf->origin ? json_object_new_string(esfm_vf_origin_name(vf->origin))
					  : NULL);
	json_object_object_add(o, "vm", vf->vm[0] ? json_object_new_string(vf->vm) : NULL);
	json_object_object_add(o, "uuid", vf->uuid[0] ? json_object_new_string(vf->uuid) : NULL);
	json_object_object_add(o, "alias", vf->alias[0] ? json_object_new_string(vf->alias) : NULL);
	return o;
}

static json_object *pool_json(const struct esfm_pf_view *v)
{
	json_object *o = json_object_new_object(), *vfs = json_object_new_array();
	char a[ESFM_PCI_ADDR_STRLEN];

	json_object_object_add(o, "pool", json_object_new_string(v->pool.name));
	json_object_object_add(o, "declared", json_object_new_boolean(v->pool.path[0] != '\0'));
	json_object_object_add(o, "pf", json_object_new_string(esfm_pci_addr_str(&v->pool.pf, a)));
	json_object_object_add(o, "present", json_object_new_boolean(v->info.vendor != 0));
	json_object_object_add(o, "pf_driver",
			       v->info.driver[0] ? json_object_new_string(v->info.driver) : NULL);
	json_object_object_add(o, "totalvfs", json_object_new_int((int)v->info.totalvfs));
	json_object_object_add(o, "numvfs", json_object_new_int((int)v->info.numvfs));
	json_object_object_add(o, "pool_size", json_object_new_int((int)v->pool.count));
	json_object_object_add(o, "vf_driver", json_object_new_string(v->pool.driver));
	for (size_t i = 0; i < v->nvfs; i++)
		json_object_array_add(vfs, vf_json(&v->vfs[i]));
	json_object_object_add(o, "vfs", vfs);
	return o;
}

int esfm_op_status_json(struct esfm_ctx *ctx, char **out, struct esfm_err *err)
{
	struct esfm_pf_view *views = NULL;
	json_object *root, *arr;
	size_t n = 0;
	int r = -1;

	if (esfm_op_status(ctx, &views, &n, err) < 0)
		goto done;
	root = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(root, "version", json_object_new_int(1));
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, pool_json(&views[i]));
	json_object_object_add(root, "pools", arr);
	*out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_SPACED));
	json_object_put(root);
	if (!*out) {
		esfm_err_sys(err, ENOMEM, "cannot build the status");
		goto done;
	}
	r = 0;
done:
	for (size_t i = 0; i < n; i++)
		esfm_pf_view_free(&views[i]);
	free(views);
	return r;
}
