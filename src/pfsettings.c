// SPDX-License-Identifier: MIT
#include "pfsettings.h"

#include <stdio.h>

void esfm_pf_settings(enum esfm_cmd cmd, const struct esfm_op_opts *given,
		      const struct esfm_pool *pool, struct esfm_op_opts *out)
{
	*out = *given;
	if (!given->qmax_set && pool->has_qmax) {
		out->qmax = pool->qmax;
		out->qmax_set = cmd == ESFM_CMD_INIT;
	}
	if (!given->bitstream[0] && pool->bitstream[0] && cmd == ESFM_CMD_INIT) {
		snprintf(out->bitstream, sizeof(out->bitstream), "%s", pool->bitstream);
		snprintf(out->bitstream_kind, sizeof(out->bitstream_kind), "%s",
			 pool->bitstream_kind);
	}
	if (!given->vm_base_set)
		snprintf(out->vm_base, sizeof(out->vm_base), "%s", pool->vm_base);
	if (pool->pause && cmd == ESFM_CMD_RECONF)
		out->pause = true;
}

bool esfm_pf_qmax(enum esfm_cmd cmd, const struct esfm_op_opts *s, const struct esfm_pool *pool,
		  bool has_qdma, unsigned before, unsigned *qmax)
{
	if (s && s->qmax_set) {
		*qmax = s->qmax;
		return true;
	}
	if (!has_qdma)
		return false;
	if (cmd == ESFM_CMD_INIT || !s) {
		*qmax = pool->has_qmax ? pool->qmax : ESFM_DEFAULT_QMAX;
		return true;
	}
	if (cmd == ESFM_CMD_RECONF && s->bitstream[0]) {
		*qmax = pool->has_qmax ? pool->qmax : before;
		return true;
	}
	return false;
}
