// SPDX-License-Identifier: MIT
/* attach and detach of one VF, by the operator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	struct esfm_pool_state st;
	struct esfm_state_lock lock;
	unsigned idx;
};

static int begin(struct one *o, const struct esfm_pci_addr *pf, const char *who,
		 struct esfm_err *err)
{
	char a[ESFM_PCI_ADDR_STRLEN];

	o->lock.fd = -1;
	if (esfm_pool_for_pf(&o->ctx->conf, pf, &o->pool, err) < 0 ||
	    esfm_state_lock(o->ctx->conf.state_dir, o->pool.name, who, o->ctx->conf.lock_timeout_ms,
			    &o->lock, err) < 0 ||
	    esfm_virt_open(o->ctx->conf.libvirt_uri, &o->virt, err) < 0 ||
	    esfm_ops_view_of_pool(o->ctx, &o->pool, o->virt, &o->view, err) < 0 ||
	    esfm_state_load(o->ctx->conf.state_dir, o->pool.name, &o->st, err) < 0)
		return -1;
	if (o->idx >= o->view.info.numvfs) {
		esfm_err_set(err, ESFM_ERR_NOTFOUND, 0, "PF %s has no VF %u (%u VFs)",
			     esfm_pci_addr_str(pf, a), o->idx, o->view.info.numvfs);
		return esfm_err_hint(err, "create VFs first with: esfm %s init <VF_NUM>", a);
	}
	if (o->st.nvfs < o->view.info.numvfs &&
	    esfm_state_resize(&o->st, o->view.info.numvfs, err) < 0)
		return -1;
	o->st.pf = o->pool.pf;
	for (size_t i = 0; i < o->st.nvfs && i < o->view.nvfs; i++)
		o->st.vfs[i].addr = o->view.vfs[i].addr;
	return 0;
}

static void end(struct one *o)
{
	esfm_state_unlock(&o->lock);
	esfm_state_clear(&o->st);
	esfm_pf_view_free(&o->view);
	esfm_virt_close(o->virt);
}

static int attach_locked(struct one *o, const char *vm, struct esfm_err *err)
{
	const struct esfm_vf_view *vf = &o->view.vfs[o->idx];
	_cleanup_free_ char *xml = NULL;
	char alias[96], uuid[VIR_UUID_STRING_BUFLEN], what[512], a[ESFM_PCI_ADDR_STRLEN];
	virDomainPtr dom = NULL;
	bool running;
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
	if (esfm_virt_lookup(o->virt, vm, &dom, err) < 0)
		return -1;
	running = esfm_virt_is_active(dom);
	virDomainGetUUIDString(dom, uuid);
	t0 = esfm_now_ms();
	snprintf(what, sizeof(what), "bind VF %u to %s", o->idx, o->pool.driver);
	if (esfm_pci_bind_driver(o->ctx->sysfs, &vf->addr, o->pool.driver, err) < 0) {
		esfm_ui_report(o->ui, what, t0, false);
		goto out;
	}
	esfm_ui_report(o->ui, what, t0, true);
	t0 = esfm_now_ms();
	snprintf(what, sizeof(what), "attach VF %u to '%s' (%s)", o->idx, vm,
		 running ? "live and persistent" : "persistent");
	if (esfm_hostdev_alias(o->pool.name, o->idx, alias, sizeof(alias), err) < 0 ||
	    esfm_hostdev_xml(o->ctx->conf.template_dir, &vf->addr, alias, &xml, err) < 0 ||
	    esfm_virt_attach(dom, xml, (running ? ESFM_VIRT_LIVE : 0) | ESFM_VIRT_CONFIG, err) <
		    0) {
		esfm_ui_report(o->ui, what, t0, false);
		esfm_err_prefix(err, "VF %u -> '%s'", o->idx, vm);
		goto out;
	}
	esfm_ui_report(o->ui, what, t0, true);
	esfm_state_set_owner(&o->st.vfs[o->idx], ESFM_VF_ATTACHED, ESFM_ORIGIN_CLI, uuid, vm,
			     alias);
	esfm_info("pool '%s': VF %u (%s) attached to '%s' (%s) by the operator", o->pool.name,
		  o->idx, esfm_pci_addr_str(&vf->addr, a), vm, uuid);
	r = esfm_state_save(o->ctx->conf.state_dir, &o->st, err);
out:
	virDomainFree(dom);
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
		r = attach_locked(&o, vm, err);
	end(&o);
	return r;
}

static int detach_locked(struct one *o, struct esfm_err *err)
{
	const struct esfm_vf_view *vf = &o->view.vfs[o->idx];
	_cleanup_free_ char *xml = NULL;
	char what[512], a[ESFM_PCI_ADDR_STRLEN], alias[96];
	virDomainPtr dom = NULL;
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
	if (esfm_virt_lookup(o->virt, vf->uuid[0] ? vf->uuid : vf->vm, &dom, err) < 0)
		return -1;
	if (vf->live) {
		t0 = esfm_now_ms();
		snprintf(what, sizeof(what), "hot-unplug VF %u from '%s' (%s)", o->idx, vf->vm,
			 vf->alias);
		if (esfm_virt_detach_alias(dom, vf->alias, ESFM_VIRT_LIVE,
					   o->opts->detach_timeout_ms, err) < 0) {
			esfm_ui_report(o->ui, what, t0, false);
			goto out;
		}
		esfm_ui_report(o->ui, what, t0, true);
	}
	if (vf->config) {
		t0 = esfm_now_ms();
		snprintf(what, sizeof(what), "remove VF %u from the persistent config of '%s'",
			 o->idx, vf->vm);
		if (esfm_hostdev_alias(o->pool.name, o->idx, alias, sizeof(alias), err) < 0 ||
		    esfm_hostdev_xml(o->ctx->conf.template_dir, &vf->addr, alias, &xml, err) < 0 ||
		    esfm_virt_detach_xml(dom, xml, ESFM_VIRT_CONFIG, err) < 0) {
			esfm_ui_report(o->ui, what, t0, false);
			goto out;
		}
		esfm_ui_report(o->ui, what, t0, true);
	}
	esfm_info("pool '%s': VF %u (%s) detached from '%s' by the operator", o->pool.name, o->idx,
		  esfm_pci_addr_str(&vf->addr, a), vf->vm);
	esfm_state_set_free(&o->st.vfs[o->idx]);
	r = esfm_state_save(o->ctx->conf.state_dir, &o->st, err);
out:
	virDomainFree(dom);
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
		r = detach_locked(&o, err);
	end(&o);
	return r;
}
