// SPDX-License-Identifier: MIT
#include "reconcile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostdev.h"

struct rc {
	struct esfm_pool_state *st;
	const struct esfm_rc_facts *f;
	struct esfm_rc_findings *out;
	int failed;
};

static void note(struct rc *c, enum esfm_rc_kind kind, unsigned index, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void note(struct rc *c, enum esfm_rc_kind kind, unsigned index, const char *fmt, ...)
{
	struct esfm_rc_finding *nf, *x;
	va_list ap;
	int n;

	nf = realloc(c->out->item, (c->out->n + 1) * sizeof(*nf));
	if (!nf) {
		c->failed = 1;
		return;
	}
	c->out->item = nf;
	x = &nf[c->out->n++];
	x->kind = kind;
	x->index = index;
	n = snprintf(x->text, sizeof(x->text), "pool '%s': ", c->st->pool);
	va_start(ap, fmt);
	vsnprintf(x->text + n, sizeof(x->text) - (size_t)n, fmt, ap);
	va_end(ap);
	if (kind == ESFM_RC_FREED || kind == ESFM_RC_ADOPTED || kind == ESFM_RC_RECOVERED)
		c->out->changed = true;
}

static const struct esfm_rc_domain *find_dom(const struct esfm_rc_facts *f, const char *uuid)
{
	for (size_t i = 0; i < f->ndoms; i++)
		if (!strcmp(f->doms[i].uuid, uuid))
			return &f->doms[i];
	return NULL;
}

static const struct esfm_rc_hold *hold_of(const struct esfm_rc_domain *d, unsigned index)
{
	for (size_t i = 0; d && i < d->nhold; i++)
		if (d->hold[i].index == index)
			return &d->hold[i];
	return NULL;
}

static bool holds_live(const struct esfm_rc_domain *d, unsigned index)
{
	const struct esfm_rc_hold *h = hold_of(d, index);

	return d->readable && d->running && h && h->live;
}

/* The readable running domains holding VF @index live: the first into *first, how many. */
static size_t live_holders(const struct esfm_rc_facts *f, unsigned index,
			   const struct esfm_rc_domain **first,
			   const struct esfm_rc_domain **second)
{
	size_t n = 0;

	*first = *second = NULL;
	for (size_t i = 0; i < f->ndoms; i++) {
		if (!holds_live(&f->doms[i], index))
			continue;
		if (f->only_uuid && strcmp(f->doms[i].uuid, f->only_uuid))
			continue;
		if (n == 0)
			*first = &f->doms[i];
		else if (n == 1)
			*second = &f->doms[i];
		n++;
	}
	return n;
}

static size_t highest_index(const struct esfm_rc_facts *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->ndoms; i++)
		for (size_t h = 0; h < f->doms[i].nhold; h++)
			if (f->doms[i].hold[h].live && f->doms[i].hold[h].index + 1u > n)
				n = f->doms[i].hold[h].index + 1u;
	return n;
}

static void adopt(struct esfm_vf_slot *s, const struct esfm_rc_domain *d)
{
	const struct esfm_rc_hold *h = hold_of(d, s->index);
	enum esfm_vf_origin origin = h->config ? ESFM_ORIGIN_CLI : ESFM_ORIGIN_HOOK;

	if (s->state != ESFM_VF_FREE && !strcmp(s->uuid, d->uuid) && s->origin != ESFM_ORIGIN_NONE)
		origin = s->origin;
	esfm_state_set_owner(s, ESFM_VF_ATTACHED, origin, d->uuid, d->name, h->alias);
}

/* Two domains hold @s live (real hardware cannot): say so, keep what is recorded. */
static void conflict(struct rc *c, const struct esfm_vf_slot *s, const struct esfm_rc_domain *d,
		     const struct esfm_rc_domain *d2)
{
	note(c, ESFM_RC_CONFLICT, s->index,
	     "VF %u is in the live XML of both '%s' and '%s': recorded for '%s'; detach it from "
	     "one of them",
	     s->index, d->name, d2->name, s->name);
}

/* A VF nobody is recorded for: adopt it if a domain holds it live. */
static void judge_free(struct rc *c, struct esfm_vf_slot *s)
{
	const struct esfm_rc_domain *d, *d2;
	size_t n = live_holders(c->f, s->index, &d, &d2);

	if (n == 0)
		return;
	adopt(s, d);
	note(c, ESFM_RC_ADOPTED, s->index,
	     "VF %u is in running domain '%s' but was recorded as free: recorded as attached to it",
	     s->index, d->name);
	if (n > 1)
		conflict(c, s, d, d2);
}

static bool worker_gone(const struct esfm_rc_facts *f, const struct esfm_vf_slot *s)
{
	return s->worker_pid && f->worker_gone && s->index < f->nworker && f->worker_gone[s->index];
}

/*
 * Why the recorded holder @o (readable, not holding @s live) no longer holds
 * it, in @buf; NULL: keep.
 */
static const char *stale_reason(const struct esfm_rc_facts *f, const struct esfm_vf_slot *s,
				const struct esfm_rc_domain *o, char *buf, size_t len)
{
	const struct esfm_rc_hold *h = hold_of(o, s->index);
	bool config = h && h->config;

	if (s->state == ESFM_VF_RESERVED) {
		/*
		 * Reserved at prepare: kept while its domain starts, and once it runs
		 * while the attach worker started for it lives; a dead worker attaches
		 * nothing (the domain runs on without the VF).
		 */
		if (!o->running)
			return "its VM is not running";
		if (!worker_gone(f, s))
			return NULL;
		snprintf(buf, len, "its attach worker (pid %ld) died before attaching it",
			 s->worker_pid);
		return buf;
	}
	if (s->origin == ESFM_ORIGIN_HOOK)
		return o->running ? "its VM does not hold it" : "its VM is not running";
	/* An operator's assignment persists in the VM's configuration. */
	if (config)
		return NULL;
	return o->running ? "its VM does not hold it" : "its VM's configuration does not name it";
}

static void judge_held(struct rc *c, struct esfm_vf_slot *s)
{
	const struct esfm_rc_domain *o = find_dom(c->f, s->uuid), *d, *d2;
	bool mine = !c->f->only_uuid || !strcmp(s->uuid, c->f->only_uuid);
	size_t n = live_holders(c->f, s->index, &d, &d2);
	char a[ESFM_PCI_ADDR_STRLEN], buf[96];
	const char *why;

	if (!mine && n == 0)
		return;
	if (mine && !c->f->libvirt_known && !o) {
		note(c, ESFM_RC_UNKNOWN, s->index,
		     "VF %u is %s by '%s', which libvirt cannot tell about now: left alone",
		     s->index, esfm_vf_state_name(s->state), s->name);
		return;
	}
	if (o && !o->readable) {
		note(c, ESFM_RC_UNKNOWN, s->index,
		     "VF %u is %s by '%s', whose state libvirt could not give: left alone",
		     s->index, esfm_vf_state_name(s->state), s->name);
		return;
	}
	if (o && holds_live(o, s->index)) {
		if (s->state == ESFM_VF_RESERVED) {
			s->state = ESFM_VF_ATTACHED;
			s->worker_pid = 0;
			s->worker_start = 0;
			note(c, ESFM_RC_ADOPTED, s->index,
			     "VF %u reserved for '%s' is in its live XML: recorded as attached",
			     s->index, s->name);
		}
		if (n > 1)
			conflict(c, s, d, d2);
		return;
	}
	if (n > 0 && !mine) {
		/* Limited to one domain: the recorded holder's XML is not at hand. */
		note(c, ESFM_RC_CONFLICT, s->index,
		     "VF %u is in domain '%s' but recorded for '%s'; left alone (esfm reconcile "
		     "decides from both domains' XML)",
		     s->index, d->name, s->name);
		return;
	}
	if (n > 0) {
		/* Another domain has it live: reality wins, whatever was recorded. */
		char was[ESFM_DOM_NAME_MAX];

		snprintf(was, sizeof(was), "%s", s->name);
		adopt(s, d);
		note(c, ESFM_RC_ADOPTED, s->index,
		     "VF %u is in running domain '%s' but was recorded for '%s': recorded for '%s'",
		     s->index, d->name, was, d->name);
		return;
	}
	if (!o)
		why = "its VM no longer exists";
	else
		why = stale_reason(c->f, s, o, buf, sizeof(buf));
	if (!why)
		return;
	note(c, ESFM_RC_FREED, s->index, "free VF %u (%s), %s by '%s': %s", s->index,
	     esfm_pci_addr_str(&s->addr, a), esfm_vf_state_name(s->state), s->name, why);
	esfm_state_set_free(s);
}

/* Grow the ledger to cover @n slots (new ones free). */
static int cover(struct rc *c, size_t n, struct esfm_err *err)
{
	if (n <= c->st->nvfs)
		return 0;
	c->out->changed = true;
	return esfm_state_resize(c->st, n, err);
}

int esfm_reconcile(struct esfm_pool_state *st, const struct esfm_rc_facts *f,
		   struct esfm_rc_findings *out, struct esfm_err *err)
{
	struct rc c = {st, f, out, 0};
	size_t want;

	if (st->busy.pid) {
		if (f->busy_live) {
			note(&c, ESFM_RC_BUSY, 0, "busy: %s (pid %ld): nothing changed",
			     st->busy.what, st->busy.pid);
			return c.failed ? esfm_err_sys(err, ENOMEM, "cannot reconcile") : 0;
		}
		note(&c, ESFM_RC_RECOVERED, 0, "%s (pid %ld) died: its busy mark is cleared",
		     st->busy.what, st->busy.pid);
		memset(&st->busy, 0, sizeof(st->busy));
	}
	want = highest_index(f);
	if (f->sysfs_known && f->nexist > want)
		want = f->nexist;
	if (f->libvirt_known && !f->only_uuid && cover(&c, want, err) < 0)
		return -1;
	if (f->only_uuid && cover(&c, highest_index(f), err) < 0)
		return -1;
	for (size_t i = 0; f->sysfs_known && i < st->nvfs && i < f->nexist; i++) {
		if (esfm_pci_addr_cmp(&st->vfs[i].addr, &f->addr[i]))
			out->changed = true;
		st->vfs[i].addr = f->addr[i];
	}
	for (size_t i = 0; i < st->nvfs; i++) {
		if (st->vfs[i].state == ESFM_VF_FREE)
			judge_free(&c, &st->vfs[i]);
		else
			judge_held(&c, &st->vfs[i]);
	}
	/* Free slots past the VFs that exist are history: drop them. */
	if (f->sysfs_known && f->libvirt_known && !f->only_uuid) {
		size_t n = st->nvfs;

		while (n > f->nexist && st->vfs[n - 1].state == ESFM_VF_FREE)
			n--;
		if (n < st->nvfs) {
			out->changed = true;
			if (esfm_state_resize(st, n, err) < 0)
				return -1;
		}
	}
	if (c.failed)
		return esfm_err_sys(err, ENOMEM, "cannot reconcile pool '%s'", st->pool);
	return 0;
}

void esfm_rc_findings_free(struct esfm_rc_findings *f)
{
	free(f->item);
	memset(f, 0, sizeof(*f));
}

size_t esfm_rc_count(const struct esfm_rc_findings *f, enum esfm_rc_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += f->item[i].kind == kind;
	return n;
}

static bool holds_vf(const struct esfm_domain *x, const char *pool, unsigned index)
{
	unsigned i;

	for (size_t h = 0; h < x->nhostdev; h++)
		if (esfm_hostdev_alias_match(x->hostdev[h].alias, pool, &i) && i == index)
			return true;
	return false;
}

static bool has_identity(const struct esfm_domain *x, const char *pool, unsigned index)
{
	unsigned i;

	for (size_t c = 0; c < x->nidentity; c++)
		if (esfm_identity_alias_match(x->identity[c], pool, &i) && i == index)
			return true;
	return false;
}

size_t esfm_reconcile_identities(const struct esfm_domain *x, const char *pool, bool add_missing,
				 struct esfm_identity_fix *out, size_t max)
{
	size_t n = 0;
	unsigned i;

	for (size_t c = 0; c < x->nidentity && n < max; c++)
		if (esfm_identity_alias_match(x->identity[c], pool, &i) && !holds_vf(x, pool, i))
			out[n++] = (struct esfm_identity_fix){.index = i, .add = false};
	for (size_t h = 0; add_missing && x->vserial && h < x->nhostdev && n < max; h++)
		if (esfm_hostdev_alias_match(x->hostdev[h].alias, pool, &i) &&
		    !has_identity(x, pool, i))
			out[n++] = (struct esfm_identity_fix){.index = i, .add = true};
	return n;
}
