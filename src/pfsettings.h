/* SPDX-License-Identifier: MIT */
/*
 * The settings a PF command runs with, as a pure function of the command
 * line and the PF's pool file: each comes from the option when it was given,
 * else from the pool file, else from the built-in default.
 *
 *   qmax       -qn > <qdma qmax> (init writes it; reconf keeps the value so
 *              that a reconf -b writes it after flashing) > 32 at init;
 *              whether and what is written is esfm_pf_qmax below
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

/*
 * The QDMA queue count written to a PF right before its VFs are created, for
 * command @cmd run with the settings @s (esfm_pf_settings's result; NULL for
 * the hook, which creates the VFs of a PF that has none and has no options),
 * on a PF that has a qdma directory or not (@has_qdma) and whose qmax was
 * @before the change (0 if unknown). Returns true with *qmax set, false when
 * qmax is left as it is:
 *
 *   -qn, or the pool's <qdma qmax> at init   that value (a PF without qdma fails)
 *   a PF without qdma                         left alone
 *   init, and the hook                        the pool's qmax, else 32
 *   reconf -b (flashing resets the queues)    the pool's qmax, else @before
 *   reconf otherwise                          left alone
 */
bool esfm_pf_qmax(enum esfm_cmd cmd, const struct esfm_op_opts *s, const struct esfm_pool *pool,
		  bool has_qdma, unsigned before, unsigned *qmax);

#endif
