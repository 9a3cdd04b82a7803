// SPDX-License-Identifier: MIT
/* attach and detach of one VF, by the operator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestdev.h"
#include "hostdev.h"
#include "log.h"
#include "ops.h"
#include "ops_internal.h"
#include "util.h"
#include "virt.h"

struct one {
	struct esfm_ctx *ctx;
	const struct esfm_op_opts *opts;
	const struct esfm_ui *ui;
	struct esfm_pool pool;
	struct esfm_virt *virt;
	struct esfm_pf_view view;
	unsigned idx;
	/* for the short locked cycles */
	const char *what; /* "esfm attach", "esfm detach" */
	struct esfm_pci_addr addr;
	char uuid[ESFM_UUID_STRLEN];
	char vm[ESFM_DOM_NAME_MAX];
	char alias[ESFM_ALIAS_MAX];
	bool done;
};

/* Reconcile and look (no lock held), then check the VF exists. */
static int begin(struct one *o, const struct esfm_pci_addr *pf, const char *who,
		 struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	o->what = who;
	if (esfm_pool_for_pf(&o->ctx->conf, pf, &o->pool, err) < 0 ||
	    esfm_virt_open(o->ctx->conf.libvirt_uri, &o->virt, err) < 0 ||
	    esfm_ops_view_of_pool(o->ctx, &o->pool, o->virt, &o->view, err) < 0)
		return -1;
	if (o->idx >= o->view.info.numvfs) {
		esfm_err_set(err, ESFM_ERR_NOTFOUND, 0, "PF %s has no VF %u (%u VFs)",
			     esfm_pci_addr_str(pf, a), o->idx, o->view.info.numvfs);
		return esfm_err_hint(err, "create VFs first with: esfm %s init <VF_NUM>", a);
	}
	o->addr = o->view.vfs[o->idx].addr;
	return 0;
}

/* What the guest is told about VF o->idx. */
static struct esfm_vf_identity identity_of(const struct one *o)
{
	return esfm_identity_of(&o->pool, o->idx, o->view.bitstream, o->view.bitstream_kind);
}

static void end(struct one *o)
{
	esfm_pf_view_free(&o->view);
	esfm_virt_close(o->virt);
}

/* The slot of VF o->idx in @st, created (free) if the ledger is shorter. */
static struct esfm_vf_slot *slot_of(struct one *o, struct esfm_pool_state *st, struct esfm_err *err)
{
	if (st->nvfs <= o->idx && esfm_state_resize(st, o->idx + 1, err) < 0)
		return NULL;
	st->pf = o->pool.pf;
	st->vfs[o->idx].addr = o->addr;
	return &st->vfs[o->idx];
}

/*
 * Locked: mark the pool busy and, for attach, claim the VF for the VM (so no
 * hook takes it while libvirt attaches it, with no lock held).
 */
static int claim(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	struct one *o = data;
	char a[ESFM_PCI_ADDR_STRLEN];
	struct esfm_vf_slot *s;

	if (esfm_vfpool_mark_busy(st, o->what, err) < 0 || !(s = slot_of(o, st, err)))
		return -1;
	if (strcmp(o->what, "esfm attach"))
		return 0;
	if (s->state != ESFM_VF_FREE && strcmp(s->uuid, o->uuid)) {
		esfm_err_set(err, ESFM_ERR_BUSY, 0, "VF %u is %s '%s' meanwhile", o->idx,
			     s->state == ESFM_VF_RESERVED ? "reserved for" : "attached to",
			     s->name);
		return esfm_err_hint(err, "detach it first: esfm %s detach %u",
				     esfm_pci_addr_str(&o->pool.pf, a), o->idx);
	}
	esfm_state_set_owner(s, ESFM_VF_RESERVED, ESFM_ORIGIN_CLI, o->uuid, o->vm, o->alias);
	return 0;
}

/* Locked: record the outcome (o->done) and clear the busy mark. */
static int settle(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	struct one *o = data;
	struct esfm_vf_slot *s = slot_of(o, st, err);
	bool ours;

	esfm_vfpool_clear_busy(st);
	if (!s)
		return -1;
	ours = s->state != ESFM_VF_FREE && !strcmp(s->uuid, o->uuid);
	if (!strcmp(o->what, "esfm attach") && ours && o->done)
		esfm_state_set_owner(s, ESFM_VF_ATTACHED, ESFM_ORIGIN_CLI, o->uuid, o->vm,
				     o->alias);
	else if (ours && (o->done || !strcmp(o->what, "esfm attach")))
		esfm_state_set_free(s); /* detached, or the attach failed */
	return 0;
}

/* Record the outcome; an error here does not hide the operation's own. */
static int finish(struct one *o, int r, struct esfm_err *err)
{
	struct esfm_err e = {0};
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];

	o->done = r == 0;
	if (esfm_vfpool_update(o->ctx, o->pool.name, o->what, settle, o, &e) == 0)
		return r;
	if (r == 0) {
		*err = e;
		return -1;
	}
	esfm_warn("pool '%s': cannot record the outcome: %s", o->pool.name,
		  esfm_err_format(&e, msg, sizeof(msg)));
	return r;
}

static int do_attach(struct one *o, const char *vm, struct esfm_err *err)
{
	const struct esfm_vf_view *vf = &o->view.vfs[o->idx];
	_cleanup_free_ char *xml = NULL;
	char what[512], a[ESFM_PCI_ADDR_STRLEN];
	struct esfm_vf_identity id;
	struct esfm_err w = {0};
	struct esfm_virt_dom *dom = NULL;
	bool running, warned = false;
	long long t0;
	int r = -1;

	if (vf->vm[0]) {
		esfm_err_set(err, ESFM_ERR_BUSY, 0, "VF %u (%s) is already %s '%s'", o->idx,
			     esfm_pci_addr_str(&vf->addr, a),
			     vf->state == ESFM_VF_RESERVED ? "reserved for" : "attached to",
			     vf->vm);
		return esfm_err_hint(err, "detach it first: esfm %s detach %u",
				     esfm_pci_addr_str(&o->pool.pf, a), o->idx);
	}
	if (esfm_virt_lookup(o->virt, vm, &dom, err) < 0 ||
	    esfm_virt_active(dom, &running, err) < 0 ||
	    esfm_hostdev_alias(o->pool.name, o->idx, o->alias, sizeof(o->alias), err) < 0 ||
	    esfm_hostdev_xml(o->ctx->conf.template_dir, &vf->addr, o->alias, &xml, err) < 0)
		goto out;
	snprintf(o->uuid, sizeof(o->uuid), "%s", esfm_virt_uuid(dom));
	snprintf(o->vm, sizeof(o->vm), "%s", vm);
	if (esfm_vfpool_update(o->ctx, o->pool.name, o->what, claim, o, err) < 0)
		goto out;
	t0 = esfm_now_ms();
	snprintf(what, sizeof(what), "bind VF %u to %s", o->idx, o->pool.driver);
	r = esfm_pci_bind_driver(o->ctx->sysfs, &vf->addr, o->pool.driver, err);
	esfm_ui_report(o->ui, what, t0, r == 0);
	if (r == 0) {
		t0 = esfm_now_ms();
		snprintf(what, sizeof(what), "attach VF %u to '%s' (%s)", o->idx, vm,
			 running ? "live and persistent" : "persistent");
		id = identity_of(o);
		r = esfm_guestdev_attach(dom, o->ctx->conf.template_dir, xml, &id,
					 (running ? ESFM_VIRT_LIVE : 0) | ESFM_VIRT_CONFIG, &warned,
					 &w, err);
		esfm_ui_report(o->ui, what, t0, r == 0);
		if (warned)
			esfm_ui_warn_err(o->ui, &w);
		if (r < 0)
			esfm_err_prefix(err, "VF %u -> '%s'", o->idx, vm);
	}
	r = finish(o, r, err);
	if (r == 0)
		esfm_info("pool '%s': VF %u (%s) attached to '%s' (%s) by the operator",
			  o->pool.name, o->idx, esfm_pci_addr_str(&vf->addr, a), vm, o->uuid);
out:
	if (dom)
		esfm_virt_release(dom);
	return r;
}

int esfm_op_attach(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, unsigned idx,
		   const char *vm, const struct esfm_op_opts *opts, const struct esfm_ui *ui,
		   struct esfm_err *err)
{
	struct one o = {.ctx = ctx, .opts = opts, .ui = ui, .idx = idx};
	int r;

	r = begin(&o, pf, "esfm attach", err);
	if (r == 0)
		r = do_attach(&o, vm, err);
	end(&o);
	return r;
}

static int do_detach(struct one *o, struct esfm_err *err)
{
	const struct esfm_vf_view *vf = &o->view.vfs[o->idx];
	_cleanup_free_ char *xml = NULL;
	char what[512], a[ESFM_PCI_ADDR_STRLEN], alias[ESFM_ALIAS_MAX];
	struct esfm_vf_identity id;
	struct esfm_err w = {0};
	struct esfm_virt_dom *dom = NULL;
	long long t0;
	int r = -1;

	if (!vf->vm[0]) {
		esfm_err_set(err, ESFM_ERR_NOTFOUND, 0, "VF %u (%s) is not attached to any VM",
			     o->idx, esfm_pci_addr_str(&vf->addr, a));
		return esfm_err_hint(err, "see esfm %s list_vf_vm",
				     esfm_pci_addr_str(&o->pool.pf, a));
	}
	if (vf->live && !o->opts->yes && !(o->ui && o->ui->confirm)) {
		esfm_err_set(
			err, ESFM_ERR_USAGE, 0,
			"refusing without a terminal: this hot-unplugs VF %u from running VM '%s'",
			o->idx, vf->vm);
		return esfm_err_hint(err, "rerun with -y to confirm");
	}
	if (vf->live && !o->opts->yes) {
		char q[512];

		snprintf(q, sizeof(q), "this hot-unplugs VF %u from running VM '%s'", o->idx,
			 vf->vm);
		if (!o->ui->confirm(o->ui->data, q))
			return esfm_err_set(err, ESFM_ERR_USAGE, 0, "cancelled");
	}
	if (esfm_virt_lookup(o->virt, vf->uuid[0] ? vf->uuid : vf->vm, &dom, err) < 0 ||
	    esfm_hostdev_alias(o->pool.name, o->idx, alias, sizeof(alias), err) < 0 ||
	    esfm_hostdev_xml(o->ctx->conf.template_dir, &vf->addr, alias, &xml, err) < 0)
		goto out;
	snprintf(o->uuid, sizeof(o->uuid), "%s", esfm_virt_uuid(dom));
	snprintf(o->vm, sizeof(o->vm), "%s", vf->vm);
	if (esfm_vfpool_update(o->ctx, o->pool.name, o->what, claim, o, err) < 0)
		goto out;
	id = identity_of(o);
	if (esfm_guestdev_drop_identity(
		    dom, &id, (vf->live ? ESFM_VIRT_LIVE : 0) | (vf->config ? ESFM_VIRT_CONFIG : 0),
		    &w) < 0)
		esfm_ui_warn_err(o->ui, &w);
	r = 0;
	if (vf->live) {
		t0 = esfm_now_ms();
		snprintf(what, sizeof(what), "hot-unplug VF %u from '%s' (%s)", o->idx, vf->vm,
			 vf->alias);
		r = esfm_virt_detach_alias(dom, vf->alias, ESFM_VIRT_LIVE,
					   o->opts->detach_timeout_ms, err);
		esfm_ui_report(o->ui, what, t0, r == 0);
	}
	if (r == 0 && vf->config) {
		t0 = esfm_now_ms();
		snprintf(what, sizeof(what), "remove VF %u from the persistent config of '%s'",
			 o->idx, vf->vm);
		r = esfm_virt_detach_xml(dom, xml, ESFM_VIRT_CONFIG, err);
		esfm_ui_report(o->ui, what, t0, r == 0);
	}
	r = finish(o, r, err);
	if (r == 0)
		esfm_info("pool '%s': VF %u (%s) detached from '%s' by the operator", o->pool.name,
			  o->idx, esfm_pci_addr_str(&vf->addr, a), vf->vm);
out:
	if (dom)
		esfm_virt_release(dom);
	if (r < 0)
		esfm_err_prefix(err, "VF %u of '%s'", o->idx, vf->vm);
	return r;
}

int esfm_op_detach(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, unsigned idx,
		   const struct esfm_op_opts *opts, const struct esfm_ui *ui, struct esfm_err *err)
{
	struct one o = {.ctx = ctx, .opts = opts, .ui = ui, .idx = idx};
	int r;

	r = begin(&o, pf, "esfm detach", err);
	if (r == 0)
		r = do_detach(&o, err);
	end(&o);
	return r;
}
