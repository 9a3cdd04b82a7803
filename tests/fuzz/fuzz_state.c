// SPDX-License-Identifier: MIT
/* A state file through the loader (esfm_state_parse). */
#include "fuzz.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esfm_err err = {0};
	struct esfm_pool_state st;

	if (esfm_state_parse((const char *)data, size, "fpga0.state", "fpga0", &st, &err) == 0) {
		for (size_t i = 0; i < st.nvfs; i++) {
			FUZZ_CHECK(st.vfs[i].index == i);
			FUZZ_CHECK(st.vfs[i].state == ESFM_VF_FREE || st.vfs[i].uuid[0]);
		}
		FUZZ_CHECK(esfm_state_count_used(&st) <= st.nvfs);
	} else {
		/* A failed load leaves an empty state, never a half one. */
		FUZZ_CHECK(err.msg[0] && st.nvfs == 0 && !st.vfs);
	}
	esfm_state_clear(&st);
	return 0;
}
