// SPDX-License-Identifier: MIT
#include "alloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool taken(const unsigned *out, unsigned n, unsigned idx)
{
	for (unsigned i = 0; i < n; i++)
		if (out[i] == idx)
			return true;
	return false;
}

static int exhausted(const struct esfm_pool_state *st, size_t pool_count, unsigned want,
		     struct esfm_err *err)
{
	char holders[600] = "";
	size_t used = 0, len = 0, free_vfs;

	for (size_t i = 0; i < pool_count && i < st->nvfs; i++) {
		const struct esfm_vf_slot *s = &st->vfs[i];

		if (s->state == ESFM_VF_FREE)
			continue;
		used++;
		if (len < sizeof(holders) - 1)
			len += (size_t)snprintf(holders + len, sizeof(holders) - len, "%s%s",
						used > 1 ? ", " : "", s->name);
	}
	if (len >= sizeof(holders) - 1)
		snprintf(holders + sizeof(holders) - 5, 5, "...");
	if (pool_count > st->nvfs)
		pool_count = st->nvfs;
	free_vfs = pool_count - used;
	if (free_vfs == 0)
		esfm_err_set(err, ESFM_ERR_BUSY, 0,
			     "pool '%s' has no free VF (%zu of %zu in use: %s)", st->pool, used,
			     pool_count, holders);
	else
		esfm_err_set(
			err, ESFM_ERR_BUSY, 0,
			"pool '%s' has only %zu free VF%s, %u requested (%zu of %zu in use: %s)",
			st->pool, free_vfs, free_vfs == 1 ? "" : "s", want, used, pool_count,
			holders);
	return esfm_err_hint(err, "stop one of them or grow the pool");
}

int esfm_alloc_pick(const struct esfm_pool_state *st, size_t pool_count, const char *uuid,
		    unsigned want, unsigned *out, struct esfm_err *err)
{
	size_t n = pool_count < st->nvfs ? pool_count : st->nvfs;
	unsigned got = 0;

	for (size_t i = 0; i < n && got < want; i++)
		if (st->vfs[i].state != ESFM_VF_FREE && !strcmp(st->vfs[i].uuid, uuid))
			out[got++] = (unsigned)i;
	for (size_t i = 0; i < n && got < want; i++)
		if (st->vfs[i].state == ESFM_VF_FREE && !strcmp(st->vfs[i].last_uuid, uuid) &&
		    !taken(out, got, (unsigned)i))
			out[got++] = (unsigned)i;
	for (size_t i = 0; i < n && got < want; i++)
		if (st->vfs[i].state == ESFM_VF_FREE && !taken(out, got, (unsigned)i))
			out[got++] = (unsigned)i;
	if (got < want)
		return exhausted(st, pool_count, want, err);
	return 0;
}
