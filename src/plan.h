/* SPDX-License-Identifier: MIT */
/*
 * The plan for changing a PF's VF count, as a pure function of what is
 * attached where. The kernel only changes a non-zero VF count through 0, so
 * every VF disappears for a moment; the plan says, in order, what happens to
 * each guest's device around that:
 *
 *   1. drop persistent hostdevs of VFs that will no longer exist
 *   2. for each VF held by a running VM: pause it (QMP device_pause, when
 *      requested and the VM's QEMU has it) or hot-unplug it
 *   3. unbind the paused VFs from their driver
 *   4. sriov_numvfs 0, then N (autoprobe off)
 *   5. bind VFs 0..N-1 to the pool driver
 *   6. resume paused VFs that still exist, detach paused ones that do not
 *   7. re-attach unplugged VFs that still exist to the same VM
 *   8. attach every other VF i < N to VM <base><i> if that VM exists
 *
 * With reset (init), every VF leaves every VM, live and persistent, and VF i
 * then goes to <base><i>.
 */
#ifndef ESFM_PLAN_H
#define ESFM_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "domxml.h"
#include "err.h"
#include "state.h"

/* Who holds VF @index before the change (held == false: nobody). */
struct esfm_plan_holder {
	unsigned index;
	bool held;
	char vm[ESFM_DOM_NAME_MAX];
	char uuid[ESFM_UUID_STRLEN];
	char alias[ESFM_ALIAS_MAX]; /* the device's alias in the guest */
	bool running;		    /* VM is running */
	bool live;		    /* device present in the live XML */
	bool config;		    /* device present in the persistent XML */
	bool can_pause;		    /* the VM's QEMU offers device_pause */
	enum esfm_vf_origin origin;
};

/* A VM named <base><i> for a VF that has no holder after the change. */
struct esfm_plan_target {
	unsigned index;
	bool exists;
	bool running;
	char vm[ESFM_DOM_NAME_MAX];
};

struct esfm_plan_input {
	unsigned old_count, new_count;
	bool pause;	 /* -p: prefer device_pause over hot-unplug */
	bool recreate;	 /* go through 0 even if old_count == new_count (init) */
	bool reset;	 /* init: take every VF from every VM (live and persistent), no pause */
	bool attach_new; /* step 8 */
	/* index i at [i]; at least old_count entries, more when VM configs name VFs that do not exist */
	const struct esfm_plan_holder *holders;
	size_t nholders;
	const struct esfm_plan_target *targets; /* new_count entries, index i at [i] */
	size_t ntargets;
};

enum esfm_step_kind {
	ESFM_STEP_PAUSE,
	ESFM_STEP_UNPLUG,      /* live detach */
	ESFM_STEP_DROP_CONFIG, /* persistent detach */
	ESFM_STEP_UNBIND,
	ESFM_STEP_NUMVFS, /* value = count */
	ESFM_STEP_BIND,
	ESFM_STEP_RESUME,
	ESFM_STEP_DETACH_PAUSED, /* live detach of a paused device whose VF is gone */
	ESFM_STEP_REATTACH,	 /* to its previous holder; flags live/config */
	ESFM_STEP_ATTACH,	 /* to <base><i>; flags live/config */
};

struct esfm_step {
	enum esfm_step_kind kind;
	unsigned index;
	unsigned value;
	bool live, config;
	char vm[ESFM_DOM_NAME_MAX];
	char alias[ESFM_ALIAS_MAX];
};

struct esfm_plan {
	struct esfm_step *steps;
	size_t nsteps;
	unsigned paused, unplugged, fallbacks; /* fallbacks: pause wanted but unsupported */
};

/* Build the plan. *plan's steps are malloc'ed: free with esfm_plan_free. */
int esfm_plan_build(const struct esfm_plan_input *in, struct esfm_plan *plan, struct esfm_err *err);
void esfm_plan_free(struct esfm_plan *plan);

/* One line describing @s, e.g. "pause VF 1 in 'everestg1' (ua-esfm-fpga0-1)". */
const char *esfm_step_describe(const struct esfm_step *s, char *buf, size_t len);

#endif
