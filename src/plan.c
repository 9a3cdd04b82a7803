// SPDX-License-Identifier: MIT
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct builder {
	struct esfm_plan *plan;
	size_t cap;
	int failed;
};

static struct esfm_step *add(struct builder *b, enum esfm_step_kind kind, unsigned index)
{
	struct esfm_step *s;

	if (b->failed)
		return NULL;
	if (b->plan->nsteps == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 16;
		struct esfm_step *ns = realloc(b->plan->steps, ncap * sizeof(*ns));

		if (!ns) {
			b->failed = 1;
			return NULL;
		}
		b->plan->steps = ns;
		b->cap = ncap;
	}
	s = &b->plan->steps[b->plan->nsteps++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->index = index;
	return s;
}

static void add_vm(struct builder *b, enum esfm_step_kind kind, const struct esfm_plan_holder *h,
		   bool live, bool config)
{
	struct esfm_step *s = add(b, kind, h->index);

	if (!s)
		return;
	s->live = live;
	s->config = config;
	snprintf(s->vm, sizeof(s->vm), "%s", h->vm);
	snprintf(s->alias, sizeof(s->alias), "%s", h->alias);
}

static bool pausing(const struct esfm_plan_input *in, const struct esfm_plan_holder *h)
{
	return in->pause && !in->reset && h->held && h->running && h->live && h->can_pause;
}

static bool keeps_config(const struct esfm_plan_input *in, unsigned i)
{
	return !in->reset && i < in->new_count;
}

int esfm_plan_build(const struct esfm_plan_input *in, struct esfm_plan *plan, struct esfm_err *err)
{
	struct builder b = {plan, 0, 0};
	bool through_zero = in->old_count != in->new_count || in->recreate;
	struct esfm_step *s;

	memset(plan, 0, sizeof(*plan));
	if (in->nholders < in->old_count || in->ntargets < in->new_count)
		return esfm_err_set(err, ESFM_ERR_FAILED, EINVAL,
				    "reconf plan: inconsistent input");
	/* Persistent configs first: nothing live is touched if libvirt refuses one. */
	for (size_t i = 0; i < in->nholders; i++)
		if (in->holders[i].held && in->holders[i].config && !keeps_config(in, (unsigned)i))
			add_vm(&b, ESFM_STEP_DROP_CONFIG, &in->holders[i], false, true);
	for (unsigned i = 0; i < in->old_count && through_zero; i++) {
		const struct esfm_plan_holder *h = &in->holders[i];

		if (!h->held || !h->running || !h->live)
			continue;
		if (pausing(in, h)) {
			add_vm(&b, ESFM_STEP_PAUSE, h, true, false);
			plan->paused++;
		} else {
			add_vm(&b, ESFM_STEP_UNPLUG, h, true, false);
			plan->unplugged++;
			plan->fallbacks += in->pause;
		}
	}
	for (unsigned i = 0; i < in->old_count && through_zero; i++)
		if (pausing(in, &in->holders[i]))
			add(&b, ESFM_STEP_UNBIND, i);
	if (through_zero && in->old_count && (s = add(&b, ESFM_STEP_NUMVFS, 0)))
		s->value = 0;
	if (through_zero && in->new_count && (s = add(&b, ESFM_STEP_NUMVFS, 0)))
		s->value = in->new_count;
	for (unsigned i = 0; i < in->new_count; i++)
		add(&b, ESFM_STEP_BIND, i);
	for (unsigned i = 0; i < in->old_count && through_zero; i++) {
		const struct esfm_plan_holder *h = &in->holders[i];

		if (pausing(in, h))
			add_vm(&b, i < in->new_count ? ESFM_STEP_RESUME : ESFM_STEP_DETACH_PAUSED,
			       h, true, false);
	}
	for (unsigned i = 0; i < in->old_count && i < in->new_count && through_zero; i++) {
		const struct esfm_plan_holder *h = &in->holders[i];

		if (h->held && h->running && h->live && !pausing(in, h) && !in->reset)
			add_vm(&b, ESFM_STEP_REATTACH, h, true, false);
	}
	for (unsigned i = 0; i < in->new_count && in->attach_new; i++) {
		const struct esfm_plan_target *t = &in->targets[i];

		if ((!in->reset && i < in->nholders && in->holders[i].held) || !t->exists)
			continue;
		if ((s = add(&b, ESFM_STEP_ATTACH, i))) {
			s->live = t->running;
			s->config = true;
			snprintf(s->vm, sizeof(s->vm), "%s", t->vm);
		}
	}
	if (b.failed) {
		esfm_plan_free(plan);
		return esfm_err_sys(err, ENOMEM, "cannot build the reconf plan");
	}
	return 0;
}

void esfm_plan_free(struct esfm_plan *plan)
{
	free(plan->steps);
	memset(plan, 0, sizeof(*plan));
}

static const char *where(const struct esfm_step *s)
{
	if (s->live && s->config)
		return "live and persistent";
	return s->live ? "live" : "persistent";
}

const char *esfm_step_describe(const struct esfm_step *s, char *buf, size_t len)
{
	switch (s->kind) {
	case ESFM_STEP_PAUSE:
		snprintf(buf, len, "pause VF %u in '%s' (%s)", s->index, s->vm, s->alias);
		break;
	case ESFM_STEP_UNPLUG:
		snprintf(buf, len, "hot-unplug VF %u from '%s' (%s)", s->index, s->vm, s->alias);
		break;
	case ESFM_STEP_DROP_CONFIG:
		snprintf(buf, len, "remove VF %u from the persistent config of '%s'", s->index,
			 s->vm);
		break;
	case ESFM_STEP_UNBIND:
		snprintf(buf, len, "unbind VF %u", s->index);
		break;
	case ESFM_STEP_NUMVFS:
		snprintf(buf, len, "set sriov_numvfs to %u", s->value);
		break;
	case ESFM_STEP_BIND:
		snprintf(buf, len, "bind VF %u", s->index);
		break;
	case ESFM_STEP_RESUME:
		snprintf(buf, len, "resume VF %u in '%s' (%s)", s->index, s->vm, s->alias);
		break;
	case ESFM_STEP_DETACH_PAUSED:
		snprintf(buf, len, "detach paused VF %u from '%s' (%s)", s->index, s->vm, s->alias);
		break;
	case ESFM_STEP_REATTACH:
		snprintf(buf, len, "re-attach VF %u to '%s' (%s)", s->index, s->vm, where(s));
		break;
	case ESFM_STEP_ATTACH:
		snprintf(buf, len, "attach VF %u to '%s' (%s)", s->index, s->vm, where(s));
		break;
	}
	return buf;
}
