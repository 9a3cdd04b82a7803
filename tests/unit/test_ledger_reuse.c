// SPDX-License-Identifier: MIT
/*
 * Unit tests for the part of src/state.h's save that writes the slots a
 * change left alone as they were read from the file loaded: the result reads
 * back the same as a save that serialises every slot, and is the same text
 * when the file loaded is one esfm wrote; a slot whose element could mean
 * something else elsewhere (a namespace, another encoding, another format)
 * is serialised anew.
 */
#include "testutil.h"

#include "state.h"

#define UUID_A "c7a5fdbd-edaf-9455-926a-d65c16db1809"
#define UUID_B "6f1c2a3e-9b7d-4c1e-8f2a-0123456789ab"

struct fx {
	char *tmp;
	char dir[PATH_MAX], dir2[PATH_MAX];
	char path[PATH_MAX], path2[PATH_MAX];
	struct esfm_pool_state st, st2;
	struct esfm_err err;
	char *text, *text2;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->tmp = tu_mkdtemp();
	tu_path(fx->dir, "%s/a", fx->tmp);
	tu_path(fx->dir2, "%s/b", fx->tmp);
	tu_path(fx->path, "%s/fpga0.state", fx->dir);
	tu_path(fx->path2, "%s/fpga0.state", fx->dir2);
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_state_dir_ensure(fx->dir, &fx->err), 0);
	assert_int_equal(esfm_state_dir_ensure(fx->dir2, &fx->err), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	esfm_state_clear(&fx->st);
	esfm_state_clear(&fx->st2);
	free(fx->text);
	free(fx->text2);
	tu_rmtree(fx->tmp);
	free(fx);
	return 0;
}

/* @n slots, every third free, the others held with names that need escaping. */
static void fill(struct esfm_pool_state *st, size_t n, bool extras)
{
	struct esfm_err err;

	memset(st, 0, sizeof(*st));
	snprintf(st->pool, sizeof(st->pool), "fpga0");
	st->pf = (struct esfm_pci_addr){0, 0x83, 0, 0};
	esfm_err_clear(&err);
	assert_int_equal(esfm_state_resize(st, n, &err), 0);
	for (unsigned i = 0; i < n; i++) {
		char name[64], alias[32];

		st->vfs[i].addr =
			(struct esfm_pci_addr){0, 0x83, (uint8_t)(i / 8), (uint8_t)(i % 8)};
		snprintf(name, sizeof(name), "vm <%u> & 'x' \"é\"", i);
		snprintf(alias, sizeof(alias), "ua-esfm-fpga0-%u", i);
		if (i % 3)
			esfm_state_set_owner(&st->vfs[i],
					     i % 2 ? ESFM_VF_RESERVED : ESFM_VF_ATTACHED,
					     i % 2 ? ESFM_ORIGIN_HOOK : ESFM_ORIGIN_CLI,
					     i % 2 ? UUID_A : UUID_B, name, alias);
		else
			snprintf(st->vfs[i].last_uuid, sizeof(st->vfs[i].last_uuid), UUID_B);
		if (i % 5 == 1) {
			st->vfs[i].worker_pid = 4000 + i;
			st->vfs[i].worker_start = 123456789ULL;
		}
		st->vfs[i].since = 1700000000LL + i;
	}
	if (extras) {
		snprintf(st->bitstream, sizeof(st->bitstream), "/lib/firmware/a&b.bit");
		snprintf(st->bitstream_kind, sizeof(st->bitstream_kind), "bit");
		st->flashed_at = 1700000000;
		st->busy.pid = 4242;
		st->busy.start = 77;
		snprintf(st->busy.what, sizeof(st->busy.what), "esfm reconf 3");
	}
}

/* What a prepare does to a slot, and what a release does to another. */
static void change(struct esfm_pool_state *st)
{
	esfm_state_set_owner(&st->vfs[3], ESFM_VF_RESERVED, ESFM_ORIGIN_HOOK, UUID_A, "next",
			     "ua-esfm-fpga0-3");
	st->vfs[3].since = 1800000000;
	esfm_state_set_free(&st->vfs[5]);
	st->vfs[5].since = 1800000001;
}

/*
 * Loaded from a file esfm wrote, changed, saved: the same text as a save of
 * the same state that serialises every slot (one parsed from a copy of the
 * text, which keeps no source), with and without elements before the slots.
 */
static void same_text_as_full_save(struct fx *fx, bool extras)
{
	fill(&fx->st, 40, extras);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	esfm_state_clear(&fx->st);
	fx->text = tu_slurp(fx->path);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), 0);
	assert_non_null(fx->st.source);
	assert_int_equal(
		esfm_state_parse(fx->text, strlen(fx->text), fx->path, "fpga0", &fx->st2, &fx->err),
		0);
	assert_null(fx->st2.source);
	change(&fx->st);
	change(&fx->st2);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	assert_int_equal(esfm_state_save(fx->dir2, &fx->st2, &fx->err), 0);
	free(fx->text);
	fx->text = tu_slurp(fx->path);
	fx->text2 = tu_slurp(fx->path2);
	assert_string_equal(fx->text, fx->text2);
	assert_non_null(strstr(fx->text, "name=\"next\""));
}

static void test_same_text_as_full_save(void **state)
{
	same_text_as_full_save(*state, false);
}

static void test_same_text_as_full_save_with_busy_and_bitstream(void **state)
{
	same_text_as_full_save(*state, true);
}

/* Every slot of @a as in @b. */
static void assert_slots_equal(const struct esfm_pool_state *a, const struct esfm_pool_state *b)
{
	assert_int_equal(a->nvfs, b->nvfs);
	for (size_t i = 0; i < a->nvfs; i++) {
		assert_int_equal(a->vfs[i].index, b->vfs[i].index);
		assert_int_equal(esfm_pci_addr_cmp(&a->vfs[i].addr, &b->vfs[i].addr), 0);
		assert_int_equal(a->vfs[i].state, b->vfs[i].state);
		assert_int_equal(a->vfs[i].origin, b->vfs[i].origin);
		assert_string_equal(a->vfs[i].uuid, b->vfs[i].uuid);
		assert_string_equal(a->vfs[i].name, b->vfs[i].name);
		assert_string_equal(a->vfs[i].alias, b->vfs[i].alias);
		assert_string_equal(a->vfs[i].last_uuid, b->vfs[i].last_uuid);
		assert_int_equal(a->vfs[i].since, b->vfs[i].since);
		assert_int_equal(a->vfs[i].worker_pid, b->vfs[i].worker_pid);
		assert_int_equal(a->vfs[i].worker_start, b->vfs[i].worker_start);
	}
}

/* Save @fx->st (loaded from @text, then changed by change()) and read it back as @fx->st2. */
static void save_and_reload(struct fx *fx)
{
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	free(fx->text);
	fx->text = tu_slurp(fx->path);
	esfm_state_clear(&fx->st2);
	if (esfm_state_load(fx->dir, "fpga0", &fx->st2, &fx->err) < 0)
		fail_msg("the saved ledger does not load: %s\n%s", fx->err.msg, fx->text);
	assert_slots_equal(&fx->st2, &fx->st);
}

/* Write @text as the ledger, load it, change slot @changed's time, save it and read it back. */
static void change_one(struct fx *fx, const char *text, unsigned changed)
{
	tu_write(fx->path, text);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), 0);
	fx->st.vfs[changed].since = 1800000000;
	save_and_reload(fx);
}

#define HEAD	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define ROOT	    "<esfm-state version=\"1\" pool=\"fpga0\" pf=\"0000:83:00.0\" generation=\"7\">\n"
#define VF(i, rest) "  <vf index=\"" #i "\" address=\"0000:83:00." #i "\" " rest "/>\n"
#define FREE_VF(i)  VF(i, "state=\"free\" since=\"1700000000\"")

/*
 * A slot the change left alone keeps the bytes it was read from, however
 * they were written (spacing, character references, the other quote):
 * before, every save wrote every slot anew.
 */
static void test_unchanged_slot_keeps_its_bytes(void **state)
{
	struct fx *fx = *state;
	const char *odd = "<vf   index='4' address=\"0000:83:00.4\"\n    state=\"reserved\" "
			  "origin=\"hook\" uuid=\"" UUID_A "\" name=\"a&#38;b &lt;c&gt;\" "
			  "since=\"1700000000\" />";
	char *text;

	if (asprintf(&text,
		     HEAD ROOT FREE_VF(0) FREE_VF(1) FREE_VF(2)
			     FREE_VF(3) "  %s\n" FREE_VF(5) "</esfm-state>\n",
		     odd) < 0)
		fail();
	tu_write(fx->path, text);
	free(text);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), 0);
	assert_string_equal(fx->st.vfs[4].name, "a&b <c>");
	esfm_state_set_owner(&fx->st.vfs[3], ESFM_VF_RESERVED, ESFM_ORIGIN_HOOK, UUID_B, "next",
			     "ua-esfm-fpga0-3");
	save_and_reload(fx);
	if (!strstr(fx->text, odd))
		fail_msg("slot 4 was written anew:\n%s", fx->text);
	assert_non_null(strstr(fx->text, "generation=\"8\""));
	assert_string_equal(fx->st2.vfs[3].name, "next");
	assert_string_equal(fx->st2.vfs[4].name, "a&b <c>");
	/* The slot changed is written anew, from its new content. */
	assert_null(strstr(fx->text, VF(3, "state=\"free\" since=\"1700000000\"")));
}

/*
 * Elements whose bytes would mean something else outside their file are
 * written anew: a slot in a namespace the root declares, with a prefixed
 * attribute, or declaring a namespace itself.
 */
static void test_namespaced_slots_written_anew(void **state)
{
	struct fx *fx = *state;

	tu_write(fx->path, HEAD "<esfm-state xmlns:x=\"urn:x\" version=\"1\" pool=\"fpga0\" "
				"pf=\"0000:83:00.0\" generation=\"7\">\n" FREE_VF(0)
					VF(1, "state=\"free\" x:note=\"n\" "
					      "since=\"1700000000\"") "  <vf xmlns:y=\"urn:y\" "
								      "index=\"2\" "
								      "address=\"0000:83:00."
								      "2\" "
								      "state=\"free\" "
								      "since=\"1700000000\"/"
								      ">\n" FREE_VF(3) "</"
										       "esfm-state>"
										       "\n");
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), 0);
	esfm_state_set_owner(&fx->st.vfs[3], ESFM_VF_RESERVED, ESFM_ORIGIN_HOOK, UUID_B, "next",
			     "ua-esfm-fpga0-3");
	save_and_reload(fx);
	assert_null(strstr(fx->text, "x:note"));
	assert_null(strstr(fx->text, "urn:y"));
}

/* A slot written with an end tag (and content) is written anew, as an empty element. */
static void test_slot_with_end_tag_written_anew(void **state)
{
	struct fx *fx = *state;

	change_one(fx,
		   HEAD ROOT FREE_VF(0) "  <vf index=\"1\" address=\"0000:83:00.1\" state=\"free\" "
					"since=\"1\"> </vf>\n" FREE_VF(2) "</esfm-state>\n",
		   2);
	assert_null(strstr(fx->text, "</vf>"));
}

/* In a default namespace every slot is written anew, outside any namespace. */
static void test_default_namespace_written_anew(void **state)
{
	struct fx *fx = *state;

	change_one(fx,
		   HEAD "<esfm-state xmlns=\"urn:x\" version=\"1\" pool=\"fpga0\" "
			"pf=\"0000:83:00.0\" generation=\"7\">\n" FREE_VF(0) FREE_VF(1)
				FREE_VF(2) "</esfm-state>\n",
		   2);
	assert_null(strstr(fx->text, "urn:x"));
}

/* A ledger in another encoding: its bytes are not UTF-8, so none is copied. */
static void test_other_encoding_written_anew(void **state)
{
	struct fx *fx = *state;

	change_one(fx,
		   "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n" ROOT FREE_VF(
			   0) "  <vf index=\"1\" address=\"0000:83:00.1\" state=\"attached\" "
			      "origin=\"cli\" uuid=\"" UUID_A
			      "\" name=\"caf\xe9\" since=\"1\"/>\n" FREE_VF(2) "</esfm-state>\n",
		   2);
	assert_string_equal(fx->st.vfs[1].name, "caf\xc3\xa9");
	assert_string_equal(fx->st2.vfs[1].name, "caf\xc3\xa9");
	assert_null(strstr(fx->text, "ISO-8859-1"));
}

/* A ledger of another format version: every slot is written anew. */
static void test_other_version_written_anew(void **state)
{
	struct fx *fx = *state;
	const char *odd = "<vf  index=\"1\" address=\"0000:83:00.1\" state=\"free\" since=\"1\"/>";
	char *text;

	if (asprintf(&text,
		     HEAD "<esfm-state version=\"2\" pool=\"fpga0\" pf=\"0000:83:00.0\">\n" FREE_VF(
			     0) "  %s\n</esfm-state>\n",
		     odd) < 0)
		fail();
	change_one(fx, text, 0);
	free(text);
	assert_null(strstr(fx->text, odd));
	assert_non_null(strstr(fx->text, "version=\"1\""));
}

/* Slots added or dropped since the load: the new ones are written, the dropped ones are not. */
static void test_resized_after_load(void **state)
{
	struct fx *fx = *state;

	fill(&fx->st, 6, false);
	assert_int_equal(esfm_state_save(fx->dir, &fx->st, &fx->err), 0);
	esfm_state_clear(&fx->st);
	assert_int_equal(esfm_state_load(fx->dir, "fpga0", &fx->st, &fx->err), 0);
	esfm_state_set_free(&fx->st.vfs[4]);
	esfm_state_set_free(&fx->st.vfs[5]);
	assert_int_equal(esfm_state_resize(&fx->st, 4, &fx->err), 0);
	save_and_reload(fx);
	assert_int_equal(fx->st2.nvfs, 4);
	assert_int_equal(esfm_state_resize(&fx->st, 9, &fx->err), 0);
	save_and_reload(fx);
	assert_int_equal(fx->st2.nvfs, 9);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_same_text_as_full_save),
		T(test_same_text_as_full_save_with_busy_and_bitstream),
		T(test_unchanged_slot_keeps_its_bytes),
		T(test_namespaced_slots_written_anew),
		T(test_slot_with_end_tag_written_anew),
		T(test_default_namespace_written_anew),
		T(test_other_encoding_written_anew),
		T(test_other_version_written_anew),
		T(test_resized_after_load),
	};

	return cmocka_run_group_tests_name("ledger_reuse", tests, NULL, NULL);
}
