// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/plan.h: esfm_plan_build as a pure function of who holds
 * which VF, and esfm_step_describe.
 *
 * A plan is compared as text, one step per line:
 *   pause I VM ALIAS | unplug I VM ALIAS | drop I VM | unbind I | numvfs N |
 *   bind I | resume I VM ALIAS | detach-paused I VM ALIAS |
 *   reattach I VM ALIAS [L][C] | attach I VM [L][C]
 * (L: live, C: persistent config), so a failure shows the whole plan.
 */
#include "testutil.h"

#include "plan.h"
#include "util.h"

#define MAXV 16

struct fx {
	struct esfm_plan_holder holders[MAXV];
	struct esfm_plan_target targets[MAXV];
	struct esfm_plan_input in;
	struct esfm_plan plan;
};

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	for (unsigned i = 0; i < MAXV; i++) {
		fx->holders[i].index = i;
		fx->targets[i].index = i;
		snprintf(fx->targets[i].vm, sizeof(fx->targets[i].vm), "everestg%u", i);
	}
	fx->in.holders = fx->holders;
	fx->in.targets = fx->targets;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	esfm_plan_free(&fx->plan);
	free(fx);
	return 0;
}

/* VF @i is held by @vm (alias ua-esfm-fpga0-<i>). */
static void hold(struct fx *fx, unsigned i, const char *vm, bool running, bool live, bool config,
		 bool can_pause)
{
	struct esfm_plan_holder *h = &fx->holders[i];

	h->held = true;
	snprintf(h->vm, sizeof(h->vm), "%s", vm);
	snprintf(h->uuid, sizeof(h->uuid), "00000000-0000-4000-8000-%012u", i);
	snprintf(h->alias, sizeof(h->alias), "ua-esfm-fpga0-%u", i);
	h->running = running;
	h->live = live;
	h->config = config;
	h->can_pause = can_pause;
	h->origin = ESFM_ORIGIN_CLI;
}

/* VM <base><i> exists (running or not). */
static void target(struct fx *fx, unsigned i, bool running)
{
	fx->targets[i].exists = true;
	fx->targets[i].running = running;
}

static void counts(struct fx *fx, unsigned old_count, unsigned new_count)
{
	fx->in.old_count = old_count;
	fx->in.new_count = new_count;
	fx->in.nholders = old_count;
	fx->in.ntargets = new_count;
}

static const char *kind_name(enum esfm_step_kind k)
{
	switch (k) {
	case ESFM_STEP_PAUSE:
		return "pause";
	case ESFM_STEP_UNPLUG:
		return "unplug";
	case ESFM_STEP_DROP_CONFIG:
		return "drop";
	case ESFM_STEP_UNBIND:
		return "unbind";
	case ESFM_STEP_NUMVFS:
		return "numvfs";
	case ESFM_STEP_BIND:
		return "bind";
	case ESFM_STEP_RESUME:
		return "resume";
	case ESFM_STEP_DETACH_PAUSED:
		return "detach-paused";
	case ESFM_STEP_REATTACH:
		return "reattach";
	case ESFM_STEP_ATTACH:
		return "attach";
	}
	return "?";
}

/* The plan as text (malloc'ed). */
static char *render(const struct esfm_plan *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct esfm_step *s = &p->steps[i];

		switch (s->kind) {
		case ESFM_STEP_NUMVFS:
			fprintf(f, "numvfs %u\n", s->value);
			break;
		case ESFM_STEP_UNBIND:
		case ESFM_STEP_BIND:
			fprintf(f, "%s %u\n", kind_name(s->kind), s->index);
			break;
		case ESFM_STEP_DROP_CONFIG:
			fprintf(f, "drop %u %s\n", s->index, s->vm);
			break;
		case ESFM_STEP_PAUSE:
		case ESFM_STEP_UNPLUG:
		case ESFM_STEP_RESUME:
		case ESFM_STEP_DETACH_PAUSED:
			fprintf(f, "%s %u %s %s\n", kind_name(s->kind), s->index, s->vm, s->alias);
			break;
		case ESFM_STEP_REATTACH:
			fprintf(f, "reattach %u %s %s %s%s\n", s->index, s->vm, s->alias,
				s->live ? "L" : "", s->config ? "C" : "");
			break;
		case ESFM_STEP_ATTACH:
			fprintf(f, "attach %u %s %s%s\n", s->index, s->vm, s->live ? "L" : "",
				s->config ? "C" : "");
			break;
		}
	}
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Build the plan and compare it with @want (one step per line). */
static void expect_plan(struct fx *fx, const char *want)
{
	struct esfm_err err = {0};
	char *got;

	esfm_plan_free(&fx->plan);
	if (esfm_plan_build(&fx->in, &fx->plan, &err) < 0)
		fail_msg("esfm_plan_build failed: %s", err.msg);
	got = render(&fx->plan);
	if (strcmp(got, want)) {
		print_error("plan:\n%s\nexpected:\n%s\n", got, want);
		free(got);
		fail_msg("unexpected plan");
	}
	free(got);
}

static void expect_counters(struct fx *fx, unsigned paused, unsigned unplugged, unsigned fallbacks)
{
	assert_int_equal(fx->plan.paused, paused);
	assert_int_equal(fx->plan.unplugged, unplugged);
	assert_int_equal(fx->plan.fallbacks, fallbacks);
}

/* Lint the invariants every plan keeps, whatever the input. */
static void expect_well_formed(struct fx *fx)
{
	int last_numvfs = -1, first_bind = -1;

	for (size_t i = 0; i < fx->plan.nsteps; i++) {
		const struct esfm_step *s = &fx->plan.steps[i];

		if (s->kind == ESFM_STEP_NUMVFS)
			last_numvfs = (int)i;
		if (s->kind == ESFM_STEP_BIND && first_bind < 0)
			first_bind = (int)i;
		if (s->kind == ESFM_STEP_BIND || s->kind == ESFM_STEP_ATTACH ||
		    s->kind == ESFM_STEP_REATTACH || s->kind == ESFM_STEP_RESUME)
			assert_true(s->index < fx->in.new_count);
	}
	if (first_bind >= 0 && last_numvfs >= 0)
		assert_true(last_numvfs < first_bind);
}

/* ---- init (reset) ---- */

static void test_init_from_nothing(void **state)
{
	struct fx *fx = *state;

	counts(fx, 0, 3);
	fx->in.recreate = fx->in.reset = fx->in.attach_new = true;
	target(fx, 0, false);
	target(fx, 1, true);
	/* everestg2 does not exist: no attach for VF 2 */
	expect_plan(fx, "numvfs 3\n"
			"bind 0\nbind 1\nbind 2\n"
			"attach 0 everestg0 C\n"
			"attach 1 everestg1 LC\n");
	expect_counters(fx, 0, 0, 0);
	expect_well_formed(fx);
}

static void test_init_takes_every_vf_from_every_vm(void **state)
{
	struct fx *fx = *state;

	counts(fx, 3, 2);
	fx->in.recreate = fx->in.reset = fx->in.attach_new = true;
	fx->in.pause = true; /* init never pauses */
	hold(fx, 0, "everestg0", true, true, true, true);
	hold(fx, 1, "other", false, false, true, false);
	hold(fx, 2, "everestg2", true, true, false, true);
	target(fx, 0, true);
	target(fx, 1, false);
	expect_plan(fx, "drop 0 everestg0\n"
			"drop 1 other\n"
			"unplug 0 everestg0 ua-esfm-fpga0-0\n"
			"unplug 2 everestg2 ua-esfm-fpga0-2\n"
			"numvfs 0\n"
			"numvfs 2\n"
			"bind 0\n"
			"bind 1\n"
			"attach 0 everestg0 LC\n"
			"attach 1 everestg1 C\n");
	assert_int_equal(fx->plan.paused, 0);
	assert_int_equal(fx->plan.unplugged, 2);
	expect_well_formed(fx);
}

static void test_init_same_count_goes_through_zero(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 2);
	fx->in.recreate = fx->in.reset = fx->in.attach_new = true;
	hold(fx, 0, "everestg0", false, false, true, false);
	target(fx, 0, false);
	target(fx, 1, false);
	expect_plan(fx, "drop 0 everestg0\n"
			"numvfs 0\nnumvfs 2\n"
			"bind 0\nbind 1\n"
			"attach 0 everestg0 C\n"
			"attach 1 everestg1 C\n");
}

static void test_init_to_zero(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 0);
	fx->in.recreate = fx->in.reset = fx->in.attach_new = true;
	hold(fx, 1, "everestg1", true, true, true, false);
	expect_plan(fx, "drop 1 everestg1\n"
			"unplug 1 everestg1 ua-esfm-fpga0-1\n"
			"numvfs 0\n");
}

/* ---- reconf without pause ---- */

static void test_reconf_grow_unplug(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 4);
	fx->in.attach_new = true;
	hold(fx, 0, "everestg0", true, true, true, false);
	hold(fx, 1, "everestg1", false, false, true, false);
	target(fx, 2, true);
	target(fx, 3, false);
	/* VF 1's stopped VM keeps its persistent hostdev: the VF comes back at the same address */
	expect_plan(fx, "unplug 0 everestg0 ua-esfm-fpga0-0\n"
			"numvfs 0\nnumvfs 4\n"
			"bind 0\nbind 1\nbind 2\nbind 3\n"
			"reattach 0 everestg0 ua-esfm-fpga0-0 L\n"
			"attach 2 everestg2 LC\n"
			"attach 3 everestg3 C\n");
	expect_counters(fx, 0, 1, 0);
	expect_well_formed(fx);
}

static void test_reconf_shrink_unplug(void **state)
{
	struct fx *fx = *state;

	counts(fx, 4, 2);
	fx->in.attach_new = true;
	hold(fx, 0, "everestg0", true, true, true, false);
	hold(fx, 1, "everestg1", true, true, true, false);
	hold(fx, 2, "everestg2", false, false, true, false);
	hold(fx, 3, "everestg3", true, true, true, false);
	expect_plan(fx, "drop 2 everestg2\n"
			"drop 3 everestg3\n"
			"unplug 0 everestg0 ua-esfm-fpga0-0\n"
			"unplug 1 everestg1 ua-esfm-fpga0-1\n"
			"unplug 3 everestg3 ua-esfm-fpga0-3\n"
			"numvfs 0\n"
			"numvfs 2\n"
			"bind 0\n"
			"bind 1\n"
			"reattach 0 everestg0 ua-esfm-fpga0-0 L\n"
			"reattach 1 everestg1 ua-esfm-fpga0-1 L\n");
	expect_counters(fx, 0, 3, 0);
	expect_well_formed(fx);
}

static void test_reconf_to_zero(void **state)
{
	struct fx *fx = *state;

	counts(fx, 3, 0);
	fx->in.attach_new = true;
	hold(fx, 0, "everestg0", true, true, true, false);
	hold(fx, 2, "everestg2", false, false, true, false);
	expect_plan(fx, "drop 0 everestg0\n"
			"drop 2 everestg2\n"
			"unplug 0 everestg0 ua-esfm-fpga0-0\n"
			"numvfs 0\n");
	expect_counters(fx, 0, 1, 0);
}

static void test_reconf_zero_to_zero(void **state)
{
	struct fx *fx = *state;

	counts(fx, 0, 0);
	fx->in.attach_new = true;
	expect_plan(fx, "");
	assert_int_equal(fx->plan.nsteps, 0);
}

static void test_reconf_from_zero(void **state)
{
	struct fx *fx = *state;

	counts(fx, 0, 2);
	fx->in.attach_new = true;
	target(fx, 0, false);
	target(fx, 1, false);
	expect_plan(fx, "numvfs 2\nbind 0\nbind 1\n"
			"attach 0 everestg0 C\n"
			"attach 1 everestg1 C\n");
}

/* Same count: the kernel would make "N -> N" a no-op; nothing leaves any VM. */
static void test_reconf_same_count(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 2);
	fx->in.attach_new = true;
	fx->in.pause = true;
	hold(fx, 0, "everestg0", true, true, true, true);
	target(fx, 1, false);
	expect_plan(fx, "bind 0\nbind 1\n"
			"attach 1 everestg1 C\n");
	expect_counters(fx, 0, 0, 0);
}

/* ---- reconf with pause ---- */

static void test_reconf_pause_grow(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 3);
	fx->in.pause = fx->in.attach_new = true;
	hold(fx, 0, "everestg0", true, true, true, true);
	hold(fx, 1, "everestg1", true, true, true, true);
	target(fx, 2, false);
	expect_plan(fx, "pause 0 everestg0 ua-esfm-fpga0-0\n"
			"pause 1 everestg1 ua-esfm-fpga0-1\n"
			"unbind 0\nunbind 1\n"
			"numvfs 0\nnumvfs 3\n"
			"bind 0\nbind 1\nbind 2\n"
			"resume 0 everestg0 ua-esfm-fpga0-0\n"
			"resume 1 everestg1 ua-esfm-fpga0-1\n"
			"attach 2 everestg2 C\n");
	expect_counters(fx, 2, 0, 0);
	expect_well_formed(fx);
}

static void test_reconf_pause_shrink(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 1);
	fx->in.pause = fx->in.attach_new = true;
	hold(fx, 0, "everestg0", true, true, true, true);
	hold(fx, 1, "everestg1", true, true, true, true);
	expect_plan(fx, "drop 1 everestg1\n"
			"pause 0 everestg0 ua-esfm-fpga0-0\n"
			"pause 1 everestg1 ua-esfm-fpga0-1\n"
			"unbind 0\n"
			"unbind 1\n"
			"numvfs 0\n"
			"numvfs 1\n"
			"bind 0\n"
			"resume 0 everestg0 ua-esfm-fpga0-0\n"
			"detach-paused 1 everestg1 ua-esfm-fpga0-1\n");
	expect_counters(fx, 2, 0, 0);
	expect_well_formed(fx);
}

static void test_reconf_pause_to_zero(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 0);
	fx->in.pause = fx->in.attach_new = true;
	hold(fx, 0, "everestg0", true, true, true, true);
	hold(fx, 1, "everestg1", true, true, false, true);
	expect_plan(fx, "drop 0 everestg0\n"
			"pause 0 everestg0 ua-esfm-fpga0-0\n"
			"pause 1 everestg1 ua-esfm-fpga0-1\n"
			"unbind 0\n"
			"unbind 1\n"
			"numvfs 0\n"
			"detach-paused 0 everestg0 ua-esfm-fpga0-0\n"
			"detach-paused 1 everestg1 ua-esfm-fpga0-1\n");
}

static void test_reconf_pause_unsupported(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 2 + 1);
	fx->in.pause = fx->in.attach_new = true;
	hold(fx, 0, "everestg0", true, true, true, false);
	hold(fx, 1, "everestg1", true, true, true, false);
	expect_plan(fx, "unplug 0 everestg0 ua-esfm-fpga0-0\n"
			"unplug 1 everestg1 ua-esfm-fpga0-1\n"
			"numvfs 0\nnumvfs 3\n"
			"bind 0\nbind 1\nbind 2\n"
			"reattach 0 everestg0 ua-esfm-fpga0-0 L\n"
			"reattach 1 everestg1 ua-esfm-fpga0-1 L\n");
	expect_counters(fx, 0, 2, 2);
}

static void test_reconf_pause_mixed(void **state)
{
	struct fx *fx = *state;

	counts(fx, 3, 2);
	fx->in.pause = fx->in.attach_new = true;
	hold(fx, 0, "everestg0", true, true, true, true);  /* device_pause */
	hold(fx, 1, "everestg1", true, true, true, false); /* stock QEMU */
	hold(fx, 2, "everestg2", true, true, true, false); /* stock QEMU, VF goes away */
	expect_plan(fx, "drop 2 everestg2\n"
			"pause 0 everestg0 ua-esfm-fpga0-0\n"
			"unplug 1 everestg1 ua-esfm-fpga0-1\n"
			"unplug 2 everestg2 ua-esfm-fpga0-2\n"
			"unbind 0\n"
			"numvfs 0\n"
			"numvfs 2\n"
			"bind 0\n"
			"bind 1\n"
			"resume 0 everestg0 ua-esfm-fpga0-0\n"
			"reattach 1 everestg1 ua-esfm-fpga0-1 L\n");
	expect_counters(fx, 1, 2, 2);
	expect_well_formed(fx);
}

/* Stopped VMs: nothing live, the persistent hostdev stays while the VF will exist. */
static void test_reconf_stopped_vms(void **state)
{
	struct fx *fx = *state;

	counts(fx, 3, 2);
	fx->in.pause = fx->in.attach_new = true;
	hold(fx, 0, "everestg0", false, false, true, true);
	hold(fx, 1, "everestg1", false, false, true, false);
	hold(fx, 2, "everestg2", false, false, true, true);
	expect_plan(fx, "drop 2 everestg2\n"
			"numvfs 0\nnumvfs 2\n"
			"bind 0\nbind 1\n");
	expect_counters(fx, 0, 0, 0);
}

/* A running VM whose hostdev is only in its persistent config (attach live failed). */
static void test_reconf_running_config_only(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 1);
	fx->in.pause = fx->in.attach_new = true;
	hold(fx, 0, "everestg0", true, false, true, true);
	hold(fx, 1, "everestg1", true, false, true, true);
	expect_plan(fx, "drop 1 everestg1\n"
			"numvfs 0\nnumvfs 1\n"
			"bind 0\n");
	expect_counters(fx, 0, 0, 0);
}

/* A live-only hostdev (hot-plugged by the hook) of a VF that goes away: no config to drop. */
static void test_reconf_live_only_beyond_count(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 1);
	fx->in.attach_new = true;
	hold(fx, 1, "vm-hook", true, true, false, false);
	fx->holders[1].origin = ESFM_ORIGIN_HOOK;
	expect_plan(fx, "unplug 1 vm-hook ua-esfm-fpga0-1\n"
			"numvfs 0\nnumvfs 1\n"
			"bind 0\n");
}

static void test_several_vfs_per_vm(void **state)
{
	struct fx *fx = *state;

	counts(fx, 4, 3);
	fx->in.pause = fx->in.attach_new = true;
	hold(fx, 0, "big", true, true, true, true);
	hold(fx, 1, "big", true, true, true, true);
	hold(fx, 2, "small", true, true, true, false);
	hold(fx, 3, "big", true, true, true, true);
	expect_plan(fx, "drop 3 big\n"
			"pause 0 big ua-esfm-fpga0-0\n"
			"pause 1 big ua-esfm-fpga0-1\n"
			"unplug 2 small ua-esfm-fpga0-2\n"
			"pause 3 big ua-esfm-fpga0-3\n"
			"unbind 0\n"
			"unbind 1\n"
			"unbind 3\n"
			"numvfs 0\n"
			"numvfs 3\n"
			"bind 0\n"
			"bind 1\n"
			"bind 2\n"
			"resume 0 big ua-esfm-fpga0-0\n"
			"resume 1 big ua-esfm-fpga0-1\n"
			"detach-paused 3 big ua-esfm-fpga0-3\n"
			"reattach 2 small ua-esfm-fpga0-2 L\n");
	expect_counters(fx, 3, 1, 1);
}

/* The alias is whatever the guest has: never a fixed hostdev0. */
static void test_aliases_come_from_the_holder(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 2 + 1);
	fx->in.pause = fx->in.attach_new = true;
	hold(fx, 0, "vm", true, true, true, true);
	hold(fx, 1, "vm", true, true, true, true);
	snprintf(fx->holders[0].alias, sizeof(fx->holders[0].alias), "hostdev3");
	snprintf(fx->holders[1].alias, sizeof(fx->holders[1].alias), "ua-mine");
	expect_plan(fx, "pause 0 vm hostdev3\n"
			"pause 1 vm ua-mine\n"
			"unbind 0\nunbind 1\n"
			"numvfs 0\nnumvfs 3\n"
			"bind 0\nbind 1\nbind 2\n"
			"resume 0 vm hostdev3\n"
			"resume 1 vm ua-mine\n");
	for (size_t i = 0; i < fx->plan.nsteps; i++)
		assert_null(strstr(fx->plan.steps[i].alias, "hostdev0"));
}

/* New VFs go to <base><i> only when that VM exists and the VF has no holder. */
static void test_attach_new_only_to_existing_vms(void **state)
{
	struct fx *fx = *state;

	counts(fx, 2, 5);
	fx->in.attach_new = true;
	hold(fx, 0, "elsewhere", false, false, true, false);
	target(fx, 0, true); /* held: not attached to everestg0 */
	target(fx, 1, true); /* VF 1 free: attached live and persistent */
	target(fx, 3, false);
	/* everestg2, everestg4 missing */
	expect_plan(fx, "numvfs 0\nnumvfs 5\n"
			"bind 0\nbind 1\nbind 2\nbind 3\nbind 4\n"
			"attach 1 everestg1 LC\n"
			"attach 3 everestg3 C\n");

	fx->in.attach_new = false;
	expect_plan(fx, "numvfs 0\nnumvfs 5\n"
			"bind 0\nbind 1\nbind 2\nbind 3\nbind 4\n");
}

static void test_target_names_are_used(void **state)
{
	struct fx *fx = *state;

	counts(fx, 0, 2);
	fx->in.attach_new = true;
	snprintf(fx->targets[0].vm, sizeof(fx->targets[0].vm), "fpgavm0");
	snprintf(fx->targets[1].vm, sizeof(fx->targets[1].vm), "fpgavm1");
	target(fx, 0, true);
	target(fx, 1, true);
	expect_plan(fx, "numvfs 2\nbind 0\nbind 1\n"
			"attach 0 fpgavm0 LC\n"
			"attach 1 fpgavm1 LC\n");
}

static void test_many_vfs(void **state)
{
	struct fx *fx = *state;

	counts(fx, 12, 14);
	fx->in.pause = fx->in.attach_new = true;
	for (unsigned i = 0; i < 12; i++) {
		char vm[32];

		snprintf(vm, sizeof(vm), "everestg%u", i);
		hold(fx, i, vm, true, true, true, true);
	}
	assert_int_equal(esfm_plan_build(&fx->in, &fx->plan, &(struct esfm_err){0}), 0);
	expect_well_formed(fx);
	/* 12 pauses, 12 unbinds, 2 numvfs, 14 binds, 12 resumes */
	assert_int_equal(fx->plan.nsteps, 12 + 12 + 2 + 14 + 12);
	/* VF order is numeric: VF 10 after VF 9 */
	assert_int_equal(fx->plan.steps[9].index, 9);
	assert_int_equal(fx->plan.steps[10].index, 10);
	assert_string_equal(fx->plan.steps[10].alias, "ua-esfm-fpga0-10");
	expect_counters(fx, 12, 0, 0);
}

static void test_inconsistent_input(void **state)
{
	struct fx *fx = *state;
	struct esfm_err err = {0};

	counts(fx, 3, 2);
	fx->in.nholders = 2;
	assert_int_equal(esfm_plan_build(&fx->in, &fx->plan, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_non_null(strstr(err.msg, "plan"));
	assert_int_equal(fx->plan.nsteps, 0);
	assert_null(fx->plan.steps);

	counts(fx, 1, 3);
	fx->in.ntargets = 1;
	esfm_err_clear(&err);
	assert_int_equal(esfm_plan_build(&fx->in, &fx->plan, &err), -1);
	assert_int_equal(fx->plan.nsteps, 0);
}

static void test_plan_free_twice(void **state)
{
	struct fx *fx = *state;

	counts(fx, 0, 2);
	expect_plan(fx, "numvfs 2\nbind 0\nbind 1\n");
	esfm_plan_free(&fx->plan);
	assert_null(fx->plan.steps);
	assert_int_equal(fx->plan.nsteps, 0);
	esfm_plan_free(&fx->plan);
}

/* ---- esfm_step_describe ---- */

static void test_describe(void **state)
{
	struct {
		struct esfm_step s;
		const char *want;
	} cases[] = {
		{{ESFM_STEP_PAUSE, 1, 0, true, false, "everestg1", "ua-esfm-fpga0-1"},
		 "pause VF 1 in 'everestg1' (ua-esfm-fpga0-1)"},
		{{ESFM_STEP_UNPLUG, 0, 0, true, false, "everestg0", "ua-esfm-fpga0-0"},
		 "hot-unplug VF 0 from 'everestg0' (ua-esfm-fpga0-0)"},
		{{ESFM_STEP_DROP_CONFIG, 3, 0, false, true, "everestg3", "ua-esfm-fpga0-3"},
		 "remove VF 3 from the persistent config of 'everestg3'"},
		{{ESFM_STEP_UNBIND, 2, 0, false, false, "", ""}, "unbind VF 2"},
		{{ESFM_STEP_NUMVFS, 0, 0, false, false, "", ""}, "set sriov_numvfs to 0"},
		{{ESFM_STEP_NUMVFS, 0, 12, false, false, "", ""}, "set sriov_numvfs to 12"},
		{{ESFM_STEP_BIND, 10, 0, false, false, "", ""}, "bind VF 10"},
		{{ESFM_STEP_RESUME, 1, 0, true, false, "everestg1", "ua-esfm-fpga0-1"},
		 "resume VF 1 in 'everestg1' (ua-esfm-fpga0-1)"},
		{{ESFM_STEP_DETACH_PAUSED, 4, 0, true, false, "everestg4", "ua-esfm-fpga0-4"},
		 "detach paused VF 4 from 'everestg4' (ua-esfm-fpga0-4)"},
		{{ESFM_STEP_REATTACH, 0, 0, true, false, "everestg0", "ua-esfm-fpga0-0"},
		 "re-attach VF 0 to 'everestg0' (live)"},
		{{ESFM_STEP_REATTACH, 0, 0, true, true, "everestg0", "ua-esfm-fpga0-0"},
		 "re-attach VF 0 to 'everestg0' (live and persistent)"},
		{{ESFM_STEP_ATTACH, 2, 0, true, true, "everestg2", ""},
		 "attach VF 2 to 'everestg2' (live and persistent)"},
		{{ESFM_STEP_ATTACH, 3, 0, false, true, "everestg3", ""},
		 "attach VF 3 to 'everestg3' (persistent)"},
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(cases); i++) {
		assert_ptr_equal(esfm_step_describe(&cases[i].s, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_describe_truncates(void **state)
{
	struct esfm_step s = {ESFM_STEP_PAUSE, 1, 0, true, false, "everestg1", "ua-esfm-fpga0-1"};
	char buf[12];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	esfm_step_describe(&s, buf, sizeof(buf));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_string_equal(buf, "pause VF 1 ");
}

/* Every step of a real plan has a description naming its VF. */
static void test_describe_whole_plan(void **state)
{
	struct fx *fx = *state;
	char buf[512], vf[32];

	counts(fx, 2, 1);
	fx->in.pause = fx->in.attach_new = true;
	hold(fx, 0, "everestg0", true, true, true, true);
	hold(fx, 1, "everestg1", true, true, true, false);
	assert_int_equal(esfm_plan_build(&fx->in, &fx->plan, &(struct esfm_err){0}), 0);
	for (size_t i = 0; i < fx->plan.nsteps; i++) {
		const struct esfm_step *s = &fx->plan.steps[i];

		esfm_step_describe(s, buf, sizeof(buf));
		if (s->kind == ESFM_STEP_NUMVFS)
			continue;
		snprintf(vf, sizeof(vf), "VF %u", s->index);
		assert_non_null(strstr(buf, vf));
		if (s->vm[0])
			assert_non_null(strstr(buf, s->vm));
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_from_nothing),
		T(test_init_takes_every_vf_from_every_vm),
		T(test_init_same_count_goes_through_zero),
		T(test_init_to_zero),
		T(test_reconf_grow_unplug),
		T(test_reconf_shrink_unplug),
		T(test_reconf_to_zero),
		T(test_reconf_zero_to_zero),
		T(test_reconf_from_zero),
		T(test_reconf_same_count),
		T(test_reconf_pause_grow),
		T(test_reconf_pause_shrink),
		T(test_reconf_pause_to_zero),
		T(test_reconf_pause_unsupported),
		T(test_reconf_pause_mixed),
		T(test_reconf_stopped_vms),
		T(test_reconf_running_config_only),
		T(test_reconf_live_only_beyond_count),
		T(test_several_vfs_per_vm),
		T(test_aliases_come_from_the_holder),
		T(test_attach_new_only_to_existing_vms),
		T(test_target_names_are_used),
		T(test_many_vfs),
		T(test_inconsistent_input),
		T(test_plan_free_twice),
		T(test_describe),
		T(test_describe_truncates),
		T(test_describe_whole_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
