// SPDX-License-Identifier: MIT
/* init and reconf: plan the change of VF count, then carry it out step by step. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flash.h"
#include "guestdev.h"
#include "hostdev.h"
#include "log.h"
#include "ops.h"
#include "ops_internal.h"
#include "pfsettings.h"
#include "proc.h"
#include "util.h"
#include "vfsetup.h"
#include "virt.h"

struct change {
	struct esfm_ctx *ctx;
	const struct esfm_op_opts *opts;
	const struct esfm_ui *ui;
	struct esfm_virt *virt;
	struct esfm_pool pool;
	struct esfm_pf_view view;
	struct esfm_pool_state st;
	bool init;
	unsigned n;
	struct esfm_plan_holder *holders; /* nholders entries */
	size_t nholders;
	struct esfm_plan_target *targets;
	char (*target_uuids)[ESFM_UUID_STRLEN]; /* n entries: UUID of targets[i].vm */
	struct esfm_plan plan;
	size_t ndone;	   /* steps carried out, in plan order */
	bool prepared_pf;  /* flash and qmax done before creating VFs */
	unsigned old_qmax; /* before the change, 0 if unknown: a reconf -b restores it */
};

static void report_warning(const struct esfm_ui *ui, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report_warning(const struct esfm_ui *ui, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ui && ui->warn)
		ui->warn(ui->data, msg);
	else
		esfm_warn("%s", msg);
}

static int lookup_targets(struct change *c, struct esfm_err *err)
{
	char missing[1024] = "";
	size_t nmissing = 0, len = 0;

	c->targets = c->n ? calloc(c->n, sizeof(*c->targets)) : NULL;
	c->target_uuids = c->n ? calloc(c->n, sizeof(*c->target_uuids)) : NULL;
	if (c->n && (!c->targets || !c->target_uuids))
		return esfm_err_sys(err, ENOMEM, "cannot plan");
	for (unsigned i = 0; i < c->n; i++) {
		struct esfm_plan_target *t = &c->targets[i];
		struct esfm_virt_dom *dom;
		struct esfm_err e = {0};

		t->index = i;
		snprintf(t->vm, sizeof(t->vm), "%s%u", c->opts->vm_base, i);
		if (!c->init && i < c->nholders && c->holders[i].held)
			continue;
		if (esfm_virt_lookup(c->virt, t->vm, &dom, &e) < 0) {
			if (e.cls != ESFM_ERR_NOTFOUND) {
				*err = e;
				return -1;
			}
			nmissing++;
			if (len < sizeof(missing) - 70)
				len += (size_t)snprintf(missing + len, sizeof(missing) - len,
							"%s%s", nmissing > 1 ? ", " : "", t->vm);
			continue;
		}
		t->exists = true;
		snprintf(c->target_uuids[i], sizeof(c->target_uuids[i]), "%s", esfm_virt_uuid(dom));
		if (esfm_virt_active(dom, &t->running, err) < 0) {
			esfm_virt_release(dom);
			return esfm_err_prefix(err, "VM '%s'", t->vm);
		}
		esfm_virt_release(dom);
	}
	if (!nmissing)
		return 0;
	if (c->opts->yes) {
		if (nmissing == 1)
			report_warning(c->ui, "VM '%s' not found; its VF stays unattached",
				       missing);
		else
			report_warning(c->ui, "VMs %s not found; their VFs stay unattached",
				       missing);
		return 0;
	}
	if (nmissing == 1) {
		esfm_err_set(err, ESFM_ERR_NOTFOUND, 0, "VM '%s' not found", missing);
		return esfm_err_hint(err,
				     "define it, use -vm to name another base, or rerun with -y "
				     "to leave its VF unattached");
	}
	esfm_err_set(err, ESFM_ERR_NOTFOUND, 0, "VMs %s not found", missing);
	return esfm_err_hint(err, "define them, use -vm to name another base, or rerun with -y to "
				  "leave their VFs unattached");
}

static int build_holders(struct change *c, struct esfm_err *err)
{
	size_t n = c->view.nvfs > c->view.info.numvfs ? c->view.nvfs : c->view.info.numvfs;

	c->holders = calloc(n ? n : 1, sizeof(*c->holders));
	if (!c->holders)
		return esfm_err_sys(err, ENOMEM, "cannot plan");
	c->nholders = n;
	for (size_t i = 0; i < n; i++)
		c->holders[i].index = (unsigned)i;
	for (size_t i = 0; i < c->view.nvfs; i++) {
		const struct esfm_vf_view *vf = &c->view.vfs[i];
		struct esfm_plan_holder *h = &c->holders[i];

		h->index = (unsigned)i;
		h->held = vf->vm[0] != '\0';
		snprintf(h->vm, sizeof(h->vm), "%s", vf->vm);
		snprintf(h->uuid, sizeof(h->uuid), "%s", vf->uuid);
		snprintf(h->alias, sizeof(h->alias), "%s", vf->alias);
		h->running = vf->running;
		h->live = vf->live;
		h->config = vf->config;
		h->origin = vf->origin;
	}
	return 0;
}

/*
 * Ask each running holder's QEMU whether it has device_pause. A QEMU that
 * cannot be asked is named with the reason, not taken for one without it.
 */
static void probe_pause(struct change *c)
{
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];

	for (size_t i = 0; i < c->view.info.numvfs && i < c->nholders; i++) {
		struct esfm_plan_holder *h = &c->holders[i];
		struct esfm_err e = {0};
		struct esfm_virt_dom *dom;

		if (!h->held || !h->running || !h->live)
			continue;
		h->can_pause = false;
		if (esfm_virt_lookup(c->virt, h->uuid[0] ? h->uuid : h->vm, &dom, &e) == 0) {
			if (esfm_virt_qmp_has_command(dom, "device_pause", &h->can_pause, &e) < 0)
				h->can_pause = false;
			esfm_virt_release(dom);
		}
		if (h->can_pause)
			continue;
		if (e.cls != ESFM_ERR_NONE)
			report_warning(
				c->ui,
				"VM '%s': cannot query device_pause: %s; hot-unplugging VF %zu",
				h->vm, esfm_err_format(&e, msg, sizeof(msg)), i);
		else
			report_warning(
				c->ui,
				"VM '%s': QEMU has no device_pause; hot-unplugging VF %zu instead",
				h->vm, i);
	}
}

/*
 * Whether the running holder @h is an OpenStack Nova instance (its live XML
 * carries Nova's metadata). An error when libvirt cannot tell.
 */
static int is_nova_instance(struct change *c, const struct esfm_plan_holder *h, bool *nova,
			    struct esfm_err *err)
{
	_cleanup_free_ struct esfm_domain *d = calloc(1, sizeof(*d));
	struct esfm_err e = {0};
	struct esfm_virt_dom *dom;
	int r;

	*nova = false;
	if (!d)
		return esfm_err_sys(err, ENOMEM, "out of memory");
	if (esfm_virt_lookup(c->virt, h->uuid[0] ? h->uuid : h->vm, &dom, &e) < 0) {
		if (e.cls == ESFM_ERR_NOTFOUND) /* gone meanwhile: it holds nothing now */
			return 0;
		*err = e;
		return -1;
	}
	r = esfm_virt_domain_info(dom, false, d, err);
	esfm_virt_release(dom);
	*nova = r == 0 && d->nova.present;
	return r;
}

/*
 * Nova placed its running instances here counting on their VFs: a change
 * that takes them away (every change of the VF count does, for a moment) is
 * refused unless forced. Nothing is touched yet.
 */
static int refuse_nova(struct change *c, struct esfm_err *err)
{
	for (size_t i = 0; i < c->nholders && !c->opts->force; i++) {
		const struct esfm_plan_holder *h = &c->holders[i];
		bool nova;

		if (!h->held || !h->running || !h->live)
			continue;
		if (is_nova_instance(c, h, &nova, err) < 0)
			return esfm_err_prefix(err,
					       "VM '%s': cannot tell whether it is a Nova "
					       "instance",
					       h->vm);
		if (!nova)
			continue;
		esfm_err_set(err, ESFM_ERR_BUSY, 0,
			     "VM '%s' is a running Nova instance holding VF %u of pool '%s'", h->vm,
			     h->index, c->pool.name);
		return esfm_err_hint(
			err,
			"drain the pool for Nova (esfm nova-export --drain %s, restart "
			"nova-compute), wait until its Nova instances have stopped, "
			"or give --force",
			c->pool.name);
	}
	return 0;
}

static int confirm(struct change *c, struct esfm_err *err)
{
	char names[512] = "", question[768];
	size_t n = 0, len = 0;

	for (size_t i = 0; i < c->nholders; i++) {
		const struct esfm_plan_holder *h = &c->holders[i];

		if (!h->held || !h->running || !h->live)
			continue;
		n++;
		if (len < sizeof(names) - 70)
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						n > 1 ? ", " : "", h->vm);
	}
	if (!n || c->opts->yes)
		return 0;
	if (n == 1)
		snprintf(question, sizeof(question),
			 "this removes the VFs of the running VM %s for a moment", names);
	else
		snprintf(question, sizeof(question),
			 "this removes the VFs of %zu running VMs for a moment (%s)", n, names);
	if (c->ui && c->ui->confirm) {
		if (c->ui->confirm(c->ui->data, question))
			return 0;
		return esfm_err_set(err, ESFM_ERR_USAGE, 0, "cancelled");
	}
	esfm_err_set(err, ESFM_ERR_USAGE, 0, "refusing without a terminal: %s", question);
	return esfm_err_hint(err, "rerun with -y to confirm");
}

static int vf_addr(struct change *c, unsigned i, struct esfm_pci_addr *a, struct esfm_err *err)
{
	return esfm_pci_vf_addr(c->ctx->sysfs, &c->pool.pf, i, a, err);
}

static int with_domain(struct change *c, const char *vm, struct esfm_virt_dom **dom,
		       struct esfm_err *err)
{
	return esfm_virt_lookup(c->virt, vm, dom, err);
}

static int hostdev_for(struct change *c, unsigned i, const char *alias_in, char *alias,
		       size_t alias_len, char **xml, struct esfm_err *err)
{
	struct esfm_pci_addr a;

	if (alias_in && !strncmp(alias_in, "ua-", 3))
		snprintf(alias, alias_len, "%s", alias_in);
	else if (esfm_hostdev_alias(c->pool.name, i, alias, alias_len, err) < 0)
		return -1;
	if (vf_addr(c, i, &a, err) < 0)
		return -1;
	return esfm_hostdev_xml(c->ctx->conf.template_dir, &a, alias, xml, err);
}

struct jnote {
	struct change *c;
	const struct esfm_step *step; /* a device taken from a guest, or NULL */
	bool numvfs, pf_removed, start;
};

static int journal_fn(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	struct jnote *n = data;
	struct esfm_journal *j = &st->journal;

	if (n->start) {
		if (esfm_vfpool_mark_busy(st, n->c->init ? "esfm init" : "esfm reconf", err) < 0)
			return -1;
		esfm_journal_clear(j);
		j->active = true;
		j->old_count = n->c->view.info.numvfs;
		j->new_count = n->c->n;
	}
	j->numvfs |= n->numvfs;
	j->pf_removed |= n->pf_removed;
	if (n->step) {
		const struct esfm_step *s = n->step;
		struct esfm_journal_taken t = {.index = s->index,
					       .paused = s->kind == ESFM_STEP_PAUSE};

		snprintf(t.uuid, sizeof(t.uuid), "%s",
			 s->index < n->c->nholders ? n->c->holders[s->index].uuid : "");
		snprintf(t.vm, sizeof(t.vm), "%s", s->vm);
		snprintf(t.alias, sizeof(t.alias), "%s", s->alias);
		return esfm_journal_add(j, &t, err);
	}
	return 0;
}

/* Record the intent in the ledger before the step; no record, no step. */
static int journal(struct change *c, const struct esfm_step *step, bool numvfs, bool pf_removed,
		   struct esfm_err *err)
{
	struct jnote n = {c, step, numvfs, pf_removed, false};

	if (esfm_vfpool_update(c->ctx, c->pool.name, "esfm journal", journal_fn, &n, err) < 0)
		return esfm_err_prefix(err, "cannot journal the next step");
	return 0;
}

/* Flash and qmax happen with no VFs, right before creating them. */
static int prepare_pf(struct change *c, struct esfm_err *err)
{
	const struct esfm_op_opts *o = c->opts;
	long long t0;
	char what[128];
	unsigned qmax;

	if (c->prepared_pf)
		return 0;
	c->prepared_pf = true;
	if (o->bitstream[0] &&
	    (journal(c, NULL, false, true, err) < 0 ||
	     esfm_flash(c->ctx, &c->pool, o->bitstream, o->bitstream_kind, c->ui, &c->st, err) < 0))
		return -1;
	if (!esfm_pf_qmax(c->init ? ESFM_CMD_INIT : ESFM_CMD_RECONF, o, &c->pool,
			  c->view.info.has_qdma, c->old_qmax, &qmax))
		return 0;
	t0 = esfm_now_ms();
	snprintf(what, sizeof(what), "set QDMA qmax to %u", qmax);
	if (esfm_pci_qmax_set(c->ctx->sysfs, &c->pool.pf, qmax, err) < 0) {
		esfm_ui_report(c->ui, what, t0, false);
		return -1;
	}
	esfm_ui_report(c->ui, what, t0, true);
	return 0;
}

/* What the guest holding VF @i is told: after a flash, the new bitstream's kind. */
static struct esfm_vf_identity identity_of(const struct change *c, unsigned i)
{
	return esfm_identity_of(&c->pool, i, c->st.bitstream, c->st.bitstream_kind);
}

/* The identity goes before its VF (a guest never reads the name of a VF it lacks). */
static void drop_identity(struct change *c, struct esfm_virt_dom *dom, unsigned i, unsigned flags)
{
	struct esfm_vf_identity id = identity_of(c, i);
	struct esfm_err e = {0};

	if (esfm_guestdev_drop_identity(dom, &id, flags, &e) < 0)
		esfm_ui_warn_err(c->ui, &e);
}

static int give_vf(struct change *c, struct esfm_virt_dom *dom, unsigned i, const char *xml,
		   unsigned flags, struct esfm_err *err)
{
	struct esfm_vf_identity id = identity_of(c, i);
	struct esfm_err w = {0};
	bool warned;

	if (esfm_guestdev_attach(dom, c->ctx->conf.template_dir, xml, &id, flags, &warned, &w,
				 err) < 0)
		return -1;
	if (warned)
		esfm_ui_warn_err(c->ui, &w);
	return 0;
}

/* vf_setup_command for a VF just created, reported as a step of its own. */
static int setup_vf(struct change *c, unsigned i, const struct esfm_pci_addr *a,
		    struct esfm_err *err)
{
	long long t0 = esfm_now_ms();
	char what[64];
	int r;

	if (!esfm_vfsetup_configured(&c->ctx->conf))
		return 0;
	snprintf(what, sizeof(what), "set up VF %u (vf_setup_command)", i);
	r = esfm_vfsetup_run(&c->ctx->conf, &c->pool.pf, i, a, err);
	esfm_ui_report(c->ui, what, t0, r == 0);
	return r;
}

/*
 * QEMU refused to take the re-created VF back (@err says why: e.g. its IOMMU
 * group number changed and libvirt never gave QEMU the new /dev/vfio node).
 * Replace the paused device through libvirt instead, which sets up the new
 * group for QEMU: hot-unplug it and attach the VF again under the same alias.
 */
static int replace_paused(struct change *c, const struct esfm_step *s, struct esfm_virt_dom *dom,
			  struct esfm_err *err)
{
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8], alias[ESFM_ALIAS_MAX];
	_cleanup_free_ char *xml = NULL;

	report_warning(
		c->ui,
		"VM '%s': VF %u cannot be resumed (%s); hot-unplugging and re-attaching it instead",
		s->vm, s->index, esfm_err_format(err, msg, sizeof(msg)));
	*err = (struct esfm_err){0};
	drop_identity(c, dom, s->index, ESFM_VIRT_LIVE);
	if (esfm_virt_detach_alias(dom, s->alias, ESFM_VIRT_LIVE, c->opts->detach_timeout_ms, err) <
	    0)
		return esfm_err_prefix(err, "cannot replace the paused device by hot-unplug");
	if (hostdev_for(c, s->index, s->alias, alias, sizeof(alias), &xml, err) < 0 ||
	    give_vf(c, dom, s->index, xml, ESFM_VIRT_LIVE, err) < 0)
		return esfm_err_prefix(err, "paused device hot-unplugged, cannot attach it again");
	return 0;
}

static int do_step(struct change *c, const struct esfm_step *s, struct esfm_err *err)
{
	_cleanup_free_ char *xml = NULL;
	struct esfm_pci_addr a;
	struct esfm_virt_dom *dom = NULL;
	char alias[ESFM_ALIAS_MAX];
	int r = -1;

	switch (s->kind) {
	case ESFM_STEP_NUMVFS:
		if (s->value && prepare_pf(c, err) < 0)
			return -1;
		return esfm_pci_set_numvfs(c->ctx->sysfs, &c->pool.pf, s->value,
					   ESFM_PCI_NUMVFS_NO_AUTOPROBE, err);
	case ESFM_STEP_BIND:
		if (vf_addr(c, s->index, &a, err) < 0 ||
		    esfm_pci_wait_device(c->ctx->sysfs, &a, c->ctx->conf.vf_timeout_ms, err) < 0 ||
		    setup_vf(c, s->index, &a, err) < 0)
			return -1;
		return esfm_pci_bind_driver(c->ctx->sysfs, &a, c->pool.driver, err);
	case ESFM_STEP_UNBIND:
		if (vf_addr(c, s->index, &a, err) < 0)
			return -1;
		return esfm_pci_unbind(c->ctx->sysfs, &a, err);
	default:
		break;
	}
	if (with_domain(c, s->vm, &dom, err) < 0)
		return -1;
	switch (s->kind) {
	case ESFM_STEP_PAUSE:
		r = esfm_virt_device_pause(dom, s->alias, true, err);
		break;
	case ESFM_STEP_RESUME:
		r = esfm_virt_device_pause(dom, s->alias, false, err);
		if (r < 0)
			r = replace_paused(c, s, dom, err);
		break;
	case ESFM_STEP_UNPLUG:
	case ESFM_STEP_DETACH_PAUSED:
		drop_identity(c, dom, s->index, ESFM_VIRT_LIVE);
		r = esfm_virt_detach_alias(dom, s->alias, ESFM_VIRT_LIVE,
					   c->opts->detach_timeout_ms, err);
		break;
	case ESFM_STEP_DROP_CONFIG:
		r = hostdev_for(c, s->index, s->alias, alias, sizeof(alias), &xml, err);
		if (r == 0) {
			drop_identity(c, dom, s->index, ESFM_VIRT_CONFIG);
			r = esfm_virt_detach_xml(dom, xml, ESFM_VIRT_CONFIG, err);
		}
		break;
	case ESFM_STEP_REATTACH:
	case ESFM_STEP_ATTACH:
		r = hostdev_for(c, s->index, s->kind == ESFM_STEP_REATTACH ? s->alias : NULL, alias,
				sizeof(alias), &xml, err);
		if (r == 0)
			r = give_vf(c, dom, s->index, xml,
				    (s->live ? ESFM_VIRT_LIVE : 0) |
					    (s->config ? ESFM_VIRT_CONFIG : 0),
				    err);
		break;
	default:
		break;
	}
	esfm_virt_release(dom);
	return r;
}

/* Step @i (a pause or a hot-unplug) was undone by a later step already carried out. */
static bool undone_later(const struct change *c, size_t i)
{
	const struct esfm_step *s = &c->plan.steps[i];

	for (size_t j = i + 1; j < c->ndone; j++) {
		const struct esfm_step *t = &c->plan.steps[j];

		if (t->index != s->index)
			continue;
		if (s->kind == ESFM_STEP_PAUSE &&
		    (t->kind == ESFM_STEP_RESUME || t->kind == ESFM_STEP_DETACH_PAUSED))
			return true;
		if (s->kind == ESFM_STEP_UNPLUG && t->kind == ESFM_STEP_REATTACH)
			return true;
	}
	return false;
}

/* Resume a paused device, or hot-plug an unplugged one again, in its guest. */
static int give_back(struct change *c, const struct esfm_step *s, struct esfm_virt_dom *dom,
		     struct esfm_err *err)
{
	_cleanup_free_ char *xml = NULL;
	char alias[ESFM_ALIAS_MAX];

	if (s->kind == ESFM_STEP_PAUSE)
		return esfm_virt_device_pause(dom, s->alias, false, err);
	if (hostdev_for(c, s->index, s->alias, alias, sizeof(alias), &xml, err) < 0)
		return -1;
	return give_vf(c, dom, s->index, xml, ESFM_VIRT_LIVE, err);
}

/*
 * A step failed (or the change was interrupted) after some guests' devices
 * were paused or hot-unplugged: give back every one whose VF still exists,
 * and name the ones that cannot be.
 */
static void resume_after_failure(struct change *c)
{
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];

	for (size_t i = 0; i < c->ndone; i++) {
		const struct esfm_step *s = &c->plan.steps[i];
		bool paused = s->kind == ESFM_STEP_PAUSE;
		struct esfm_pci_addr a;
		struct esfm_err e = {0};
		struct esfm_virt_dom *dom;

		if ((!paused && s->kind != ESFM_STEP_UNPLUG) || undone_later(c, i))
			continue;
		if (vf_addr(c, s->index, &a, &e) == 0 && !esfm_pci_dev_exists(c->ctx->sysfs, &a)) {
			report_warning(
				c->ui,
				"VF %u stays %s '%s': its VF is gone; run reconf again to give it "
				"back",
				s->index, paused ? "paused in" : "unplugged from", s->vm);
			continue;
		}
		if (e.cls != ESFM_ERR_NONE ||
		    esfm_pci_bind_driver(c->ctx->sysfs, &a, c->pool.driver, &e) < 0 ||
		    with_domain(c, s->vm, &dom, &e) < 0) {
			report_warning(c->ui,
				       "VF %u stays %s '%s': %s; run reconf again to give it back",
				       s->index, paused ? "paused in" : "unplugged from", s->vm,
				       esfm_err_format(&e, msg, sizeof(msg)));
			continue;
		}
		if (give_back(c, s, dom, &e) < 0)
			report_warning(c->ui, "VF %u stays %s '%s': %s", s->index,
				       paused ? "paused in" : "unplugged from", s->vm,
				       esfm_err_format(&e, msg, sizeof(msg)));
		else
			report_warning(c->ui, "VF %u %s '%s' after the failure", s->index,
				       paused ? "resumed in" : "re-attached to", s->vm);
		esfm_virt_release(dom);
	}
}

static const char *signal_name(int sig)
{
	return sig == SIGINT	? "SIGINT"
	       : sig == SIGTERM ? "SIGTERM"
	       : sig == SIGHUP	? "SIGHUP"
				: "a signal";
}

/*
 * Carry out the plan. SIGINT, SIGTERM and SIGHUP (deferred by the caller)
 * stop it between steps and undo what was done, until the VF count changes:
 * from then on the only way back to working guests is forward, so the plan
 * is finished.
 */
static int run_plan(struct change *c, struct esfm_err *err)
{
	bool committed = false; /* the VFs went away: only going on gives them back */

	for (size_t i = 0; i < c->plan.nsteps; i++) {
		const struct esfm_step *s = &c->plan.steps[i];
		char what[512];
		long long t0 = esfm_now_ms();
		int sig = esfm_proc_deferred_signal();

		esfm_step_describe(s, what, sizeof(what));
		if (sig && !committed) {
			resume_after_failure(c);
			esfm_err_set(err, ESFM_ERR_FAILED, EINTR, "interrupted by %s before: %s",
				     signal_name(sig), what);
			return esfm_err_hint(err, "the steps done were undone; run it again");
		}
		if ((s->kind == ESFM_STEP_PAUSE || s->kind == ESFM_STEP_UNPLUG) &&
		    journal(c, s, false, false, err) < 0) {
			resume_after_failure(c);
			return -1;
		}
		if (s->kind == ESFM_STEP_NUMVFS && !committed &&
		    journal(c, NULL, true, false, err) < 0) {
			resume_after_failure(c);
			return -1;
		}
		committed |= s->kind == ESFM_STEP_NUMVFS;
		if (do_step(c, s, err) < 0) {
			esfm_ui_report(c->ui, what, t0, false);
			resume_after_failure(c);
			return esfm_err_prefix(err, "%s", what);
		}
		esfm_ui_report(c->ui, what, t0, true);
		c->ndone = i + 1;
	}
	if (!c->prepared_pf && (c->opts->bitstream[0] || (c->n && (c->init || c->opts->qmax_set))))
		return prepare_pf(c, err);
	return 0;
}

/*
 * Locked, on the ledger as it is now (hooks may have released or adopted
 * meanwhile): record what the plan did, and clear the busy mark.
 */
static int record(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	struct change *c = data;
	struct esfm_pci_addr a;

	esfm_vfpool_clear_busy(st);
	esfm_journal_clear(&st->journal);
	for (size_t i = 0; i < st->nvfs; i++)
		if (i >= c->n || c->init)
			esfm_state_set_free(&st->vfs[i]);
	if (esfm_state_resize(st, c->n, err) < 0)
		return -1;
	st->pf = c->pool.pf;
	for (unsigned i = 0; i < c->n; i++) {
		if (vf_addr(c, i, &a, err) < 0)
			return -1;
		st->vfs[i].addr = a;
	}
	if (c->st.bitstream[0]) {
		snprintf(st->bitstream, sizeof(st->bitstream), "%s", c->st.bitstream);
		snprintf(st->bitstream_kind, sizeof(st->bitstream_kind), "%s",
			 c->st.bitstream_kind);
		st->flashed_at = c->st.flashed_at;
	}
	for (size_t i = 0; i < c->ndone; i++) {
		const struct esfm_step *s = &c->plan.steps[i];
		char alias[ESFM_ALIAS_MAX];

		if (s->kind != ESFM_STEP_ATTACH)
			continue;
		if (esfm_hostdev_alias(c->pool.name, s->index, alias, sizeof(alias), err) < 0)
			return -1;
		esfm_state_set_owner(&st->vfs[s->index], ESFM_VF_ATTACHED, ESFM_ORIGIN_CLI,
				     c->target_uuids[s->index], s->vm, alias);
	}
	return 0;
}

/* The VFs @uuid holds in @st, as allocations of @pool. */
static size_t slots_of(const struct esfm_pool_state *st, const char *pool, const char *uuid,
		       struct esfm_allocation *out)
{
	size_t n = 0;

	for (size_t k = 0; k < st->nvfs && n < ESFM_MAX_VFS_PER_VM; k++) {
		const struct esfm_vf_slot *s = &st->vfs[k];

		if (s->state == ESFM_VF_FREE || strcmp(s->uuid, uuid))
			continue;
		snprintf(out[n].pool, sizeof(out[n].pool), "%s", pool);
		out[n].index = s->index;
		out[n].addr = s->addr;
		snprintf(out[n].alias, sizeof(out[n].alias), "%s", s->alias);
		n++;
	}
	return n;
}

/*
 * Everything @uuid holds in the pools @d names (at most ESFM_MAX_VFS_PER_VM)
 * into @out and *n. -1 if a pool's state cannot be read: a list without its
 * VFs would be wrong.
 */
static int allocations_of(struct change *c, const struct esfm_domain *d, const char *uuid,
			  struct esfm_allocation *out, size_t *n, struct esfm_err *err)
{
	*n = 0;
	for (size_t p = 0; p < d->nreq; p++) {
		struct esfm_allocation held[ESFM_MAX_VFS_PER_VM];
		size_t got = 0;

		/* This pool's lock is ours already: read its state directly. */
		if (!strcmp(d->req[p].pool, c->pool.name))
			got = slots_of(&c->st, c->pool.name, uuid, held);
		else if (esfm_vfpool_held(c->ctx, d->req[p].pool, uuid, -1, held, &got, err) < 0)
			return esfm_err_prefix(err, "pool '%s'", d->req[p].pool);
		for (size_t k = 0; k < got && *n < ESFM_MAX_VFS_PER_VM; k++)
			out[(*n)++] = held[k];
	}
	return 0;
}

/* Rewrite the live metadata of the hook-managed VM @h from the state. */
static int refresh_one(struct change *c, const struct esfm_plan_holder *h, struct esfm_err *err)
{
	struct esfm_allocation alloc[ESFM_MAX_VFS_PER_VM];
	_cleanup_free_ struct esfm_domain *d = NULL;
	_cleanup_free_ char *xml = NULL;
	struct esfm_virt_dom *dom;
	size_t n;
	int r = -1;

	if (esfm_virt_lookup(c->virt, h->uuid, &dom, err) < 0)
		return -1;
	d = calloc(1, sizeof(*d));
	if (!d)
		esfm_err_sys(err, ENOMEM, "out of memory");
	else if (esfm_virt_domain_info(dom, false, d, err) == 0 &&
		 (!d->annotated ||
		  (allocations_of(c, d, h->uuid, alloc, &n, err) == 0 &&
		   esfm_domxml_annotation_xml(d, alloc, n, NULL, NULL, &xml, err) == 0 &&
		   esfm_virt_set_metadata(dom, xml, ESFM_VIRT_LIVE, err) == 0)))
		r = 0;
	esfm_virt_release(dom);
	return r;
}

/*
 * Hook-managed VMs that lost or kept VFs: rewrite their live metadata from
 * the state. The change is done by now: a VM whose metadata cannot be
 * rewritten is named with the reason, and the change still succeeds.
 */
static void refresh_metadata(struct change *c)
{
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];

	for (size_t i = 0; i < c->nholders; i++) {
		const struct esfm_plan_holder *h = &c->holders[i];
		struct esfm_err e = {0};

		if (!h->held || h->origin != ESFM_ORIGIN_HOOK || !h->running)
			continue;
		if (refresh_one(c, h, &e) < 0)
			report_warning(c->ui, "VM '%s': its live esfm metadata is not updated: %s",
				       h->vm, esfm_err_format(&e, msg, sizeof(msg)));
	}
}

/*
 * After a flash, the guests that kept their VF across the change (paused, or
 * in a persistent config) are told the new kind of bitstream; those whose VF
 * was hot-plugged again were told by the attach.
 */
static void renew_identities(struct change *c)
{
	for (size_t i = 0; c->opts->bitstream[0] && i < c->nholders; i++) {
		const struct esfm_plan_holder *h = &c->holders[i];
		struct esfm_vf_identity id = identity_of(c, h->index);
		struct esfm_err e = {0};
		struct esfm_virt_dom *dom;

		if (!h->held || h->index >= c->n)
			continue;
		if (esfm_virt_lookup(c->virt, h->uuid[0] ? h->uuid : h->vm, &dom, &e) < 0) {
			esfm_ui_warn_err(c->ui, &e);
			continue;
		}
		if (esfm_guestdev_renew_identity(dom, c->ctx->conf.template_dir, &id,
						 (h->running ? ESFM_VIRT_LIVE : 0) |
							 (h->config ? ESFM_VIRT_CONFIG : 0),
						 &e) < 0)
			esfm_ui_warn_err(c->ui, &e);
		esfm_virt_release(dom);
	}
}

/* Look, decide and ask, with no lock held: nothing is touched yet. */
static int plan_change(struct change *c, struct esfm_err *err)
{
	struct esfm_plan_input in = {0};

	if (esfm_virt_open(c->ctx->conf.libvirt_uri, &c->virt, err) < 0 ||
	    esfm_ops_view_of_pool(c->ctx, &c->pool, c->virt, &c->view, err) < 0)
		return -1;
	if (c->n > c->view.info.totalvfs) {
		char a[ESFM_PCI_ADDR_STRLEN];

		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "PF %s: cannot create %u VFs",
			     esfm_pci_addr_str(&c->pool.pf, a), c->n);
		return esfm_err_hint(err, "the PF supports at most %u VFs (sriov_totalvfs)",
				     c->view.info.totalvfs);
	}
	if (c->view.info.has_qdma &&
	    esfm_pci_qmax_get(c->ctx->sysfs, &c->pool.pf, &c->old_qmax, NULL) < 0)
		c->old_qmax = 0;
	/* Everything that can refuse does so before any device is touched. */
	if (c->opts->bitstream[0] && esfm_flash_check(c->ctx, &c->pool, c->opts->bitstream,
						      c->opts->bitstream_kind, err) < 0)
		return -1;
	if (build_holders(c, err) < 0 || refuse_nova(c, err) < 0 || lookup_targets(c, err) < 0 ||
	    confirm(c, err) < 0)
		return -1;
	if (c->opts->pause && !c->init)
		probe_pause(c);
	in.old_count = c->view.info.numvfs;
	in.new_count = c->n;
	in.pause = c->opts->pause && !c->init;
	/* Flashing and qmax need the PF without VFs, even at the same count. */
	in.recreate = c->init || c->opts->bitstream[0] || c->opts->qmax_set;
	in.reset = c->init;
	in.attach_new = true;
	in.holders = c->holders;
	in.nholders = c->nholders;
	in.targets = c->targets;
	in.ntargets = c->n;
	return esfm_plan_build(&in, &c->plan, err);
}

/*
 * Carry the plan out with the pool marked busy and unlocked (hooks of other
 * VMs release and reconnect meanwhile; a prepare is refused at once), then
 * record it. After a failure the ledger is reconciled from what sysfs and
 * libvirt show now: a step that never ran takes no VF from its holder.
 */
static int run_change(struct change *c, const char *what, struct esfm_err *err)
{
	struct esfm_sigdefer sigs;
	struct esfm_err e = {0};
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];
	int r;

	struct jnote start = {c, NULL, false, false, true};

	if (esfm_vfpool_update(c->ctx, c->pool.name, what, journal_fn, &start, err) < 0)
		return -1;
	esfm_proc_defer_signals(&sigs);
	r = run_plan(c, err);
	if (r == 0 && esfm_proc_deferred_signal())
		report_warning(
			c->ui,
			"%s received while the VFs were re-created: the change was finished first",
			signal_name(esfm_proc_deferred_signal()));
	esfm_proc_restore_signals(&sigs);
	if (r == 0) {
		r = esfm_vfpool_update(c->ctx, c->pool.name, what, record, c, err);
		if (r == 0)
			r = esfm_state_load(c->ctx->conf.state_dir, c->pool.name, &c->st, err);
		if (r == 0) {
			refresh_metadata(c);
			renew_identities(c);
		}
		return r;
	}
	if (esfm_vfpool_update(c->ctx, c->pool.name, what, esfm_vfpool_end_change, NULL, &e) < 0 ||
	    esfm_ops_reconcile(c->ctx, c->virt, &c->pool, c->ui, NULL, NULL, &e) < 0)
		esfm_warn("cannot record the partial change: %s",
			  esfm_err_format(&e, msg, sizeof(msg)));
	return -1;
}

static int change(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, unsigned n, bool init,
		  const struct esfm_op_opts *opts, const struct esfm_ui *ui, struct esfm_err *err)
{
	struct change c = {.ctx = ctx, .opts = opts, .ui = ui, .init = init, .n = n};
	const char *what = init ? "esfm init" : "esfm reconf";
	int r;

	if (esfm_pool_for_pf(&ctx->conf, pf, &c.pool, err) < 0)
		return -1;
	snprintf(c.st.pool, sizeof(c.st.pool), "%s", c.pool.name);
	r = plan_change(&c, err);
	if (r == 0)
		r = run_change(&c, what, err);
	esfm_plan_free(&c.plan);
	esfm_state_clear(&c.st);
	esfm_pf_view_free(&c.view);
	esfm_virt_close(c.virt);
	free(c.holders);
	free(c.targets);
	free(c.target_uuids);
	return r;
}

int esfm_op_init(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, unsigned n,
		 const struct esfm_op_opts *opts, const struct esfm_ui *ui, struct esfm_err *err)
{
	return change(ctx, pf, n, true, opts, ui, err);
}

int esfm_op_reconf(struct esfm_ctx *ctx, const struct esfm_pci_addr *pf, unsigned n,
		   const struct esfm_op_opts *opts, const struct esfm_ui *ui, struct esfm_err *err)
{
	return change(ctx, pf, n, false, opts, ui, err);
}
