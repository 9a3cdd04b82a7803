/* SPDX-License-Identifier: MIT */
/*
 * The allocation policy, a pure function of the pool state: which VFs a
 * domain gets. In order of preference: VFs the domain already holds (a
 * repeated prepare is idempotent), free VFs it held last time (so a guest
 * keeps its device address across restarts), then the lowest free index.
 */
#ifndef ESFM_ALLOC_H
#define ESFM_ALLOC_H

#include <stddef.h>

#include "err.h"
#include "state.h"

/*
 * Pick @want slot indices for @uuid among slots 0..pool_count-1 of @st into
 * @out (@want entries, ascending preference order). Returns 0, or -1 with a
 * BUSY error listing the holders when the pool cannot serve the request:
 *   pool 'fpga0' has no free VF (4 of 4 in use: a, b, c, d); stop one of them or grow the pool
 */
int esfm_alloc_pick(const struct esfm_pool_state *st, size_t pool_count, const char *uuid,
		    unsigned want, unsigned *out, struct esfm_err *err);

#endif
