/* SPDX-License-Identifier: MIT */
/*
 * The settings a PF command runs with, as a pure function of the command
 * line and the PF's pool file: each comes from the option when it was given,
 * else from the pool file, else from the built-in default.
 *
 *   qmax       -qn > <qdma qmax> (init writes it; reconf keeps the value so
 *              that a reconf -b writes it after flashing) > 32 at init
 *   bitstream  -b > <bitstream> (init only) > none
 *   VM base    -vm > <vms base> > everestg
 *   pause      -p > <reconf pause='yes'> (reconf only) > hot-unplug
 */
#ifndef ESFM_PFSETTINGS_H
#define ESFM_PFSETTINGS_H

#include "cli.h"
#include "ops.h"
#include "pool.h"

/* @given as parsed (the *_set flags say what was given) merged with @pool into @out. */
void esfm_pf_settings(enum esfm_cmd cmd, const struct esfm_op_opts *given,
		      const struct esfm_pool *pool, struct esfm_op_opts *out);

#endif
