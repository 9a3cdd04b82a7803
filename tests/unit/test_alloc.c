// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/alloc.h: the allocation policy as a pure function of a
 * pool state. Preference order (held by the uuid, last held by it, lowest
 * free index), the pool_count bound, and the BUSY messages for an exhausted
 * or partly available pool, checked through esfm_err_format.
 */
#include "testutil.h"

#include "alloc.h"
#include "domxml.h"
#include "state.h"

#define UUID_A "aaaaaaaa-0000-0000-0000-000000000000"
#define UUID_B "bbbbbbbb-0000-0000-0000-000000000000"
#define UUID_C "cccccccc-0000-0000-0000-000000000000"
#define UUID_D "dddddddd-0000-0000-0000-000000000000"
#define UUID_E "eeeeeeee-0000-0000-0000-000000000000"
#define UUID_X "99999999-0000-0000-0000-000000000000"

#define SENTINEL 0xdeadbeefu

struct fx {
	struct esfm_pool_state st;
	struct esfm_err err;
	unsigned out[ESFM_MAX_VFS_PER_VM + 4];
	char buf[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 64];
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	for (size_t i = 0; i < sizeof(fx->out) / sizeof(fx->out[0]); i++)
		fx->out[i] = SENTINEL;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	esfm_state_clear(&fx->st);
	free(fx);
	return 0;
}

/* A free pool "fpga0" of @n slots. */
static void make_pool(struct fx *fx, size_t n)
{
	esfm_state_clear(&fx->st);
	snprintf(fx->st.pool, sizeof(fx->st.pool), "fpga0");
	fx->st.pf = (struct esfm_pci_addr){0, 0x83, 0, 0};
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_state_resize(&fx->st, n, &fx->err), 0);
}

static void hold(struct fx *fx, size_t i, enum esfm_vf_state s, const char *uuid, const char *name)
{
	esfm_state_set_owner(&fx->st.vfs[i], s, ESFM_ORIGIN_HOOK, uuid, name, "");
}

static void was(struct fx *fx, size_t i, const char *uuid)
{
	snprintf(fx->st.vfs[i].last_uuid, sizeof(fx->st.vfs[i].last_uuid), "%s", uuid);
}

static int pick(struct fx *fx, size_t pool_count, const char *uuid, unsigned want)
{
	for (size_t i = 0; i < sizeof(fx->out) / sizeof(fx->out[0]); i++)
		fx->out[i] = SENTINEL;
	esfm_err_clear(&fx->err);
	return esfm_alloc_pick(&fx->st, pool_count, uuid, want, fx->out, &fx->err);
}

static void assert_out(const struct fx *fx, const unsigned *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fx->out[i] != want[i])
			fail_msg("out[%zu] = %u, expected %u", i, fx->out[i], want[i]);
	/* Nothing written past @want entries. */
	assert_int_equal(fx->out[n], SENTINEL);
}

static const char *formatted(struct fx *fx)
{
	return esfm_err_format(&fx->err, fx->buf, sizeof(fx->buf));
}

static void test_lowest_free_first(void **state)
{
	struct fx *fx = *state;

	make_pool(fx, 4);
	assert_int_equal(pick(fx, 4, UUID_A, 1), 0);
	assert_out(fx, (const unsigned[]){0}, 1);
	assert_int_equal(pick(fx, 4, UUID_A, 4), 0);
	assert_out(fx, (const unsigned[]){0, 1, 2, 3}, 4);
}

static void test_skips_held_slots(void **state)
{
	struct fx *fx = *state;

	make_pool(fx, 6);
	hold(fx, 0, ESFM_VF_ATTACHED, UUID_B, "b");
	hold(fx, 1, ESFM_VF_RESERVED, UUID_C, "c");
	hold(fx, 3, ESFM_VF_PAUSED, UUID_D, "d");
	assert_int_equal(pick(fx, 6, UUID_A, 2), 0);
	assert_out(fx, (const unsigned[]){2, 4}, 2);
	assert_int_equal(pick(fx, 6, UUID_A, 3), 0);
	assert_out(fx, (const unsigned[]){2, 4, 5}, 3);
}

static void test_want_zero(void **state)
{
	struct fx *fx = *state;

	make_pool(fx, 2);
	hold(fx, 0, ESFM_VF_ATTACHED, UUID_B, "b");
	hold(fx, 1, ESFM_VF_ATTACHED, UUID_C, "c");
	assert_int_equal(pick(fx, 2, UUID_A, 0), 0);
	assert_int_equal(fx->out[0], SENTINEL);
}

static void test_idempotent_reprepare(void **state)
{
	struct fx *fx = *state;

	/* A holds 2 and 3 (any non-free state): a repeated prepare gets the same VFs. */
	make_pool(fx, 4);
	hold(fx, 2, ESFM_VF_RESERVED, UUID_A, "a");
	hold(fx, 3, ESFM_VF_ATTACHED, UUID_A, "a");
	assert_int_equal(pick(fx, 4, UUID_A, 2), 0);
	assert_out(fx, (const unsigned[]){2, 3}, 2);

	/* Held first, then the lowest free. */
	assert_int_equal(pick(fx, 4, UUID_A, 3), 0);
	assert_out(fx, (const unsigned[]){2, 3, 0}, 3);

	/* Wanting fewer than held: the first held ones. */
	assert_int_equal(pick(fx, 4, UUID_A, 1), 0);
	assert_out(fx, (const unsigned[]){2}, 1);
}

static void test_idempotent_when_pool_is_full(void **state)
{
	struct fx *fx = *state;

	/* The pool is full, but A's own VFs are A's: no BUSY for a repeated prepare. */
	make_pool(fx, 3);
	hold(fx, 0, ESFM_VF_ATTACHED, UUID_B, "b");
	hold(fx, 1, ESFM_VF_PAUSED, UUID_A, "a");
	hold(fx, 2, ESFM_VF_ATTACHED, UUID_C, "c");
	assert_int_equal(pick(fx, 3, UUID_A, 1), 0);
	assert_out(fx, (const unsigned[]){1}, 1);
}

static void test_last_uuid_preferred(void **state)
{
	struct fx *fx = *state;

	make_pool(fx, 4);
	was(fx, 2, UUID_A);
	was(fx, 0, UUID_B);
	assert_int_equal(pick(fx, 4, UUID_A, 1), 0);
	assert_out(fx, (const unsigned[]){2}, 1);
	/* Another domain takes the lowest free index, its own last slot first. */
	assert_int_equal(pick(fx, 4, UUID_B, 1), 0);
	assert_out(fx, (const unsigned[]){0}, 1);
	assert_int_equal(pick(fx, 4, UUID_C, 1), 0);
	assert_out(fx, (const unsigned[]){0}, 1);
	/* More than it had: its old slot, then the lowest free. */
	assert_int_equal(pick(fx, 4, UUID_A, 3), 0);
	assert_out(fx, (const unsigned[]){2, 0, 1}, 3);
}

static void test_last_uuid_of_held_slot_ignored(void **state)
{
	struct fx *fx = *state;

	/* Slot 1 was A's but is now B's: A cannot have it. */
	make_pool(fx, 3);
	was(fx, 1, UUID_A);
	hold(fx, 1, ESFM_VF_ATTACHED, UUID_B, "b");
	assert_int_equal(pick(fx, 3, UUID_A, 2), 0);
	assert_out(fx, (const unsigned[]){0, 2}, 2);
}

static void test_preference_order(void **state)
{
	struct fx *fx = *state;

	/* Held (3), then last held (1, 4), then lowest free (0, 2). */
	make_pool(fx, 6);
	hold(fx, 3, ESFM_VF_ATTACHED, UUID_A, "a");
	was(fx, 4, UUID_A);
	was(fx, 1, UUID_A);
	hold(fx, 5, ESFM_VF_ATTACHED, UUID_B, "b");
	assert_int_equal(pick(fx, 6, UUID_A, 5), 0);
	assert_out(fx, (const unsigned[]){3, 1, 4, 0, 2}, 5);
}

static void test_no_duplicates(void **state)
{
	struct fx *fx = *state;

	/* A slot both held by A and with last_uuid A is picked once. */
	make_pool(fx, 3);
	was(fx, 1, UUID_A);
	hold(fx, 1, ESFM_VF_RESERVED, UUID_A, "a");
	was(fx, 2, UUID_A);
	assert_int_equal(pick(fx, 3, UUID_A, 3), 0);
	assert_out(fx, (const unsigned[]){1, 2, 0}, 3);
}

static void test_pool_count_below_nvfs(void **state)
{
	struct fx *fx = *state;

	/* The state has 8 slots but the pool now lends only 2. */
	make_pool(fx, 8);
	hold(fx, 5, ESFM_VF_ATTACHED, UUID_A, "a");
	was(fx, 6, UUID_A);
	assert_int_equal(pick(fx, 2, UUID_A, 2), 0);
	assert_out(fx, (const unsigned[]){0, 1}, 2);

	hold(fx, 0, ESFM_VF_ATTACHED, UUID_B, "vm-b");
	hold(fx, 1, ESFM_VF_ATTACHED, UUID_C, "vm-c");
	assert_int_equal(pick(fx, 2, UUID_A, 1), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
	/* Slots 2.. are outside the pool: 2 of 2 in use, and vm "a" beyond it is not counted. */
	assert_string_equal(formatted(fx), "pool 'fpga0' has no free VF (2 of 2 in use: vm-b, "
					   "vm-c); stop one of them or grow the pool");
}

static void test_pool_count_above_nvfs(void **state)
{
	struct fx *fx = *state;

	/* Slots that do not exist in the state are never handed out. */
	make_pool(fx, 2);
	assert_int_equal(pick(fx, 4, UUID_A, 2), 0);
	assert_out(fx, (const unsigned[]){0, 1}, 2);
	assert_int_equal(pick(fx, 4, UUID_A, 3), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
}

static void test_empty_state(void **state)
{
	struct fx *fx = *state;

	make_pool(fx, 0);
	assert_int_equal(pick(fx, 0, UUID_A, 1), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
	assert_int_equal(fx->out[0], SENTINEL);
}

static void test_exhausted_message(void **state)
{
	struct fx *fx = *state;

	make_pool(fx, 4);
	hold(fx, 0, ESFM_VF_ATTACHED, UUID_A, "everestg0");
	hold(fx, 1, ESFM_VF_RESERVED, UUID_B, "everestg1");
	hold(fx, 2, ESFM_VF_PAUSED, UUID_C, "everestg2");
	hold(fx, 3, ESFM_VF_ATTACHED, UUID_E, "everestg4");
	was(fx, 0, UUID_X);
	assert_int_equal(pick(fx, 4, UUID_X, 1), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
	assert_int_equal(esfm_err_exit_code(&fx->err), 3);
	assert_string_equal(fx->err.msg, "pool 'fpga0' has no free VF (4 of 4 in use: everestg0, "
					 "everestg1, everestg2, everestg4)");
	assert_string_equal(fx->err.hint, "stop one of them or grow the pool");
	assert_string_equal(formatted(fx),
			    "pool 'fpga0' has no free VF (4 of 4 in use: everestg0, everestg1, "
			    "everestg2, everestg4); stop one of them or grow the pool");
}

static void test_partial_message(void **state)
{
	struct fx *fx = *state;

	make_pool(fx, 4);
	hold(fx, 0, ESFM_VF_ATTACHED, UUID_A, "everestg0");
	hold(fx, 2, ESFM_VF_ATTACHED, UUID_B, "everestg2");
	hold(fx, 3, ESFM_VF_ATTACHED, UUID_C, "everestg3");
	assert_int_equal(pick(fx, 4, UUID_X, 2), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
	assert_string_equal(formatted(fx),
			    "pool 'fpga0' has only 1 free VF, 2 requested (3 of 4 in use: "
			    "everestg0, everestg2, everestg3); stop one of them or grow the pool");

	esfm_state_set_free(&fx->st.vfs[3]);
	assert_int_equal(pick(fx, 4, UUID_X, 3), -1);
	assert_string_equal(formatted(fx),
			    "pool 'fpga0' has only 2 free VFs, 3 requested (2 of 4 in use: "
			    "everestg0, everestg2); stop one of them or grow the pool");
}

static void test_long_holder_list_is_bounded(void **state)
{
	struct fx *fx = *state;
	char name[ESFM_DOM_NAME_MAX];

	make_pool(fx, ESFM_MAX_VFS_PER_VM);
	for (size_t i = 0; i < ESFM_MAX_VFS_PER_VM; i++) {
		memset(name, 'a' + (char)(i % 26), sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		hold(fx, i, ESFM_VF_ATTACHED, UUID_A, name);
	}
	assert_int_equal(pick(fx, ESFM_MAX_VFS_PER_VM, UUID_X, 1), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_BUSY);
	assert_int_equal(strncmp(fx->err.msg, "pool 'fpga0' has no free VF (64 of 64 in use: aaa",
				 strlen("pool 'fpga0' has no free VF (64 of 64 in use: aaa")),
			 0);
	assert_true(strlen(fx->err.msg) < ESFM_ERR_MSG_MAX);
	/* The list is cut visibly, and the hint survives. */
	assert_non_null(strstr(fx->err.msg, "..."));
	assert_string_equal(fx->err.hint, "stop one of them or grow the pool");
}

static void test_input_state_untouched(void **state)
{
	struct fx *fx = *state;
	struct esfm_vf_slot copy[4];

	make_pool(fx, 4);
	hold(fx, 1, ESFM_VF_ATTACHED, UUID_B, "b");
	was(fx, 3, UUID_A);
	memcpy(copy, fx->st.vfs, sizeof(copy));
	assert_int_equal(pick(fx, 4, UUID_A, 2), 0);
	assert_memory_equal(copy, fx->st.vfs, sizeof(copy));
	assert_int_equal(pick(fx, 4, UUID_A, 9), -1);
	assert_memory_equal(copy, fx->st.vfs, sizeof(copy));
	assert_int_equal(fx->st.nvfs, 4);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lowest_free_first),
		T(test_skips_held_slots),
		T(test_want_zero),
		T(test_idempotent_reprepare),
		T(test_idempotent_when_pool_is_full),
		T(test_last_uuid_preferred),
		T(test_last_uuid_of_held_slot_ignored),
		T(test_preference_order),
		T(test_no_duplicates),
		T(test_pool_count_below_nvfs),
		T(test_pool_count_above_nvfs),
		T(test_empty_state),
		T(test_exhausted_message),
		T(test_partial_message),
		T(test_long_holder_list_is_bounded),
		T(test_input_state_untouched),
	};

	return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
