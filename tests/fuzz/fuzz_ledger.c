// SPDX-License-Identifier: MIT
/*
 * A ledger loaded from a file (esfm_state_load, which keeps the text so that a
 * save writes the slots left alone as they were read), one slot changed, then
 * saved: it must load again, slot for slot as saved, and read the same as a
 * save of the same state parsed without its text (every slot written anew).
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "state.h"

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void write_all(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
}

static bool same_slots(const struct esfm_pool_state *a, const struct esfm_pool_state *b)
{
	if (a->nvfs != b->nvfs)
		return false;
	for (size_t i = 0; i < a->nvfs; i++) {
		const struct esfm_vf_slot *x = &a->vfs[i], *y = &b->vfs[i];

		if (x->index != y->index || esfm_pci_addr_cmp(&x->addr, &y->addr) ||
		    x->state != y->state || x->origin != y->origin || strcmp(x->uuid, y->uuid) ||
		    strcmp(x->name, y->name) || strcmp(x->alias, y->alias) ||
		    strcmp(x->last_uuid, y->last_uuid) || x->since != y->since ||
		    x->worker_pid != y->worker_pid || x->worker_start != y->worker_start)
			return false;
	}
	return true;
}

static void change(struct esfm_pool_state *st)
{
	struct esfm_vf_slot *s = &st->vfs[st->nvfs / 2];

	esfm_state_set_owner(s, ESFM_VF_RESERVED, ESFM_ORIGIN_HOOK,
			     "00000000-0000-0000-0000-000000000999", "next & <co>", "ua-next");
	s->since = 1800000000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esfm_err err = {0};
	struct esfm_pool_state st = {0}, full = {0}, again = {0}, again2 = {0};
	char top[] = "/tmp/esfm-fuzz-ledger.XXXXXX", dir[64], dir2[64], path[80];

	FUZZ_CHECK(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/a", top);
	snprintf(dir2, sizeof(dir2), "%s/b", top);
	FUZZ_CHECK(esfm_state_dir_ensure(dir, &err) == 0);
	FUZZ_CHECK(esfm_state_dir_ensure(dir2, &err) == 0);
	snprintf(path, sizeof(path), "%s/fpga0.state", dir);
	write_all(path, data, size);
	if (esfm_state_load(dir, "fpga0", &st, &err) == 0 && st.nvfs) {
		FUZZ_CHECK(esfm_state_parse((const char *)data, size, path, "fpga0", &full, &err) ==
			   0);
		change(&st);
		change(&full);
		FUZZ_CHECK(esfm_state_save(dir, &st, &err) == 0);
		FUZZ_CHECK(esfm_state_save(dir2, &full, &err) == 0);
		FUZZ_CHECK(esfm_state_load(dir, "fpga0", &again, &err) == 0);
		FUZZ_CHECK(esfm_state_load(dir2, "fpga0", &again2, &err) == 0);
		FUZZ_CHECK(same_slots(&again, &st) && same_slots(&again2, &st));
	}
	esfm_state_clear(&st);
	esfm_state_clear(&full);
	esfm_state_clear(&again);
	esfm_state_clear(&again2);
	nftw(top, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}
