// SPDX-License-Identifier: MIT
/*
 * recover: a reconf or init that died half way (kill -9, power to the
 * terminal) left its journal in the ledger and a busy mark whose process is
 * gone. The next command that talks to libvirt finishes what it can: the PF
 * back on the bus, the VF count it was going to, the VFs bound, and every
 * device it took from a guest given back (resumed, or hot-plugged again),
 * saying each thing it did. Then the journal goes and reconcile follows.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guestdev.h"
#include "hostdev.h"
#include "log.h"
#include "ops.h"
#include "ops_internal.h"
#include "proc.h"
#include "util.h"
#include "vfsetup.h"
#include "virt.h"

struct takeover {
	struct esfm_journal j; /* a copy of the dead change's journal */
	bool found;
	char bitstream[sizeof(((struct esfm_pool_state *)0)->bitstream)]; /* last flashed */
	char bitstream_kind[sizeof(((struct esfm_pool_state *)0)->bitstream_kind)];
};

/* Locked: a journal whose change is dead becomes ours (busy mark "esfm recover"). */
static int take_over(struct esfm_pool_state *st, void *data, struct esfm_err *err)
{
	struct takeover *t = data;

	if (!st->journal.active)
		return 1;
	if (st->busy.pid && st->busy.pid != (long)getpid() &&
	    esfm_proc_alive(st->busy.pid, st->busy.start))
		return 1; /* the change is alive and at work */
	memset(&st->busy, 0, sizeof(st->busy));
	if (esfm_vfpool_mark_busy(st, "esfm recover", err) < 0)
		return -1;
	snprintf(t->bitstream, sizeof(t->bitstream), "%s", st->bitstream);
	snprintf(t->bitstream_kind, sizeof(t->bitstream_kind), "%s", st->bitstream_kind);
	t->j = st->journal;
	t->j.taken = NULL;
	t->j.ntaken = 0;
	for (size_t i = 0; i < st->journal.ntaken; i++)
		if (esfm_journal_add(&t->j, &st->journal.taken[i], err) < 0)
			return -1;
	t->found = true;
	return 0;
}

static void said(const struct esfm_ui *ui, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void said(const struct esfm_ui *ui, bool ok, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ok)
		esfm_info("%s", msg);
	if (ok && ui && ui->step)
		esfm_ui_report(ui, msg, esfm_now_ms(), true);
	else if (ui && ui->warn)
		ui->warn(ui->data, msg);
	else
		esfm_warn("%s", msg);
}

/* The PF on the bus and at the VF count the change was going to, its VFs bound. */
static int restore_pf(struct esfm_ctx *ctx, const struct esfm_pool *pool,
		      const struct esfm_journal *j, const struct esfm_ui *ui, unsigned *numvfs,
		      struct esfm_err *err)
{
	struct esfm_pf_info info;

	if (j->pf_removed && !esfm_pci_dev_exists(ctx->sysfs, &pool->pf)) {
		if (esfm_pci_rescan(ctx->sysfs, err) < 0)
			return -1;
		said(ui, true,
		     "pool '%s': recover: PF rescanned onto the bus (it was removed for flashing)",
		     pool->name);
	}
	if (esfm_pci_pf_info(ctx->sysfs, &pool->pf, &info, err) < 0)
		return -1;
	*numvfs = info.numvfs;
	if (!j->numvfs || info.numvfs == j->new_count)
		return 0;
	if ((info.numvfs && esfm_pci_set_numvfs(ctx->sysfs, &pool->pf, 0,
						ESFM_PCI_NUMVFS_NO_AUTOPROBE, err) < 0) ||
	    esfm_pci_set_numvfs(ctx->sysfs, &pool->pf, j->new_count, ESFM_PCI_NUMVFS_NO_AUTOPROBE,
				err) < 0)
		return -1;
	for (unsigned i = 0; i < j->new_count; i++) {
		struct esfm_pci_addr a;

		if (esfm_pci_vf_addr(ctx->sysfs, &pool->pf, i, &a, err) < 0 ||
		    esfm_pci_wait_device(ctx->sysfs, &a, ctx->conf.vf_timeout_ms, err) < 0 ||
		    esfm_vfsetup_run(&ctx->conf, &pool->pf, i, &a, err) < 0 ||
		    esfm_pci_bind_driver(ctx->sysfs, &a, pool->driver, err) < 0)
			return -1;
	}
	*numvfs = j->new_count;
	said(ui, true,
	     "pool '%s': recover: %u VFs created and bound (the change to %u VFs was cut off half "
	     "way)",
	     pool->name, j->new_count, j->new_count);
	return 0;
}

/* Give one taken device back to its guest. */
static int give_back(struct esfm_ctx *ctx, struct esfm_virt *v, const struct esfm_pool *pool,
		     const struct takeover *to, const struct esfm_journal_taken *t,
		     const struct esfm_ui *ui, struct esfm_err *err)
{
	_cleanup_free_ char *xml = NULL;
	struct esfm_vf_identity id =
		esfm_identity_of(pool, t->index, to->bitstream, to->bitstream_kind);
	struct esfm_err w = {0};
	struct esfm_pci_addr a;
	struct esfm_virt_dom *dom = NULL;
	bool running, has = false, warned = false;
	int r = -1;

	if (esfm_pci_vf_addr(ctx->sysfs, &pool->pf, t->index, &a, err) < 0 ||
	    esfm_pci_bind_driver(ctx->sysfs, &a, pool->driver, err) < 0 ||
	    esfm_virt_lookup(v, t->uuid[0] ? t->uuid : t->vm, &dom, err) < 0 ||
	    esfm_virt_active(dom, &running, err) < 0)
		goto out;
	if (!running) {
		r = 1; /* nothing to give back to */
		goto out;
	}
	if (t->paused) {
		r = esfm_virt_device_pause(dom, t->alias, false, err);
		goto out;
	}
	if (esfm_virt_has_device(dom, t->alias, false, &has, err) < 0)
		goto out;
	if (has) {
		r = 1; /* never unplugged */
		goto out;
	}
	if (esfm_hostdev_xml(ctx->conf.template_dir, &a, t->alias, &xml, err) == 0)
		r = esfm_guestdev_attach(dom, ctx->conf.template_dir, xml, &id, ESFM_VIRT_LIVE,
					 &warned, &w, err);
	if (warned)
		esfm_ui_warn_err(ui, &w);
out:
	if (dom)
		esfm_virt_release(dom);
	return r;
}

int esfm_ops_recover(struct esfm_ctx *ctx, struct esfm_virt *v, const struct esfm_pool *pool,
		     const struct esfm_ui *ui, struct esfm_err *err)
{
	char why[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];
	struct takeover t = {0};
	unsigned numvfs = 0;
	int r;

	if (esfm_vfpool_update(ctx, pool->name, "esfm recover", take_over, &t, err) < 0)
		goto fail;
	if (!t.found)
		return 0;
	said(ui, false, "pool '%s': a change to %u VFs was cut off half way; recovering",
	     pool->name, t.j.new_count);
	if (restore_pf(ctx, pool, &t.j, ui, &numvfs, err) < 0)
		goto fail;
	for (size_t i = 0; v && i < t.j.ntaken; i++) {
		const struct esfm_journal_taken *x = &t.j.taken[i];
		struct esfm_err e = {0};

		if (x->index >= numvfs) {
			said(ui, false,
			     "pool '%s': recover: VF %u no longer exists: '%s' keeps no device for "
			     "it",
			     pool->name, x->index, x->vm);
			continue;
		}
		r = give_back(ctx, v, pool, &t, x, ui, &e);
		if (r == 0)
			said(ui, true, "pool '%s': recover: VF %u %s '%s'", pool->name, x->index,
			     x->paused ? "resumed in" : "re-attached to", x->vm);
		else if (r < 0)
			said(ui, false, "pool '%s': recover: VF %u not given back to '%s': %s",
			     pool->name, x->index, x->vm, esfm_err_format(&e, why, sizeof(why)));
	}
	if (esfm_vfpool_update(ctx, pool->name, "esfm recover", esfm_vfpool_end_change, NULL, err) <
	    0)
		goto fail;
	esfm_journal_clear(&t.j);
	return 0;
fail:
	esfm_journal_clear(&t.j);
	return esfm_err_prefix(err, "pool '%s': recover", pool->name);
}
