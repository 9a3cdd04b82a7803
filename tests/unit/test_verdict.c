// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/verdict.h through src/pool.h: a pool file the schema
 * accepted is recorded in the state directory and its record stands for
 * exactly those bytes, that schema and that path; any other file or schema
 * is validated again; a state directory that is not private (or a symlink,
 * or missing) is neither read nor written.
 */
#include "testutil.h"

#include "conf.h"
#include "pool.h"
#include "verdict.h"

#define VALID                                                                                      \
	"<pool type='sriov'><name>fpga0</name><source><pf address='0000:83:00.0'/></source>"       \
	"<vfs count='4' driver='vfio-pci'/></pool>"
/* What only the schema refuses: a type other than sriov. */
#define INVALID                                                                                    \
	"<pool type='other'><name>fpga0</name><source><pf address='0000:83:00.0'/></source>"       \
	"<vfs count='4' driver='vfio-pci'/></pool>"

struct fx {
	char *dir;
	char pool[PATH_MAX], record[PATH_MAX], schema[PATH_MAX];
	struct esfm_conf conf;
	struct esfm_pool p;
	struct esfm_err err;
	char *rng;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *top = getenv("ESFM_TOP");
	char src[PATH_MAX];

	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	tu_path(src, "%s/xml-templates/pool.rng", top && *top ? top : ".");
	fx->rng = tu_slurp(src);
	tu_path(fx->conf.conf_dir, "%s", fx->dir);
	tu_path(fx->conf.template_dir, "%s/templates", fx->dir);
	tu_path(fx->schema, "%s/pool.rng", fx->conf.template_dir);
	tu_write(fx->schema, fx->rng);
	tu_path(fx->conf.state_dir, "%s/run", fx->dir);
	assert_int_equal(mkdir(fx->conf.state_dir, 0700), 0);
	tu_path(fx->record, "%s/fpga0.pool-ok", fx->conf.state_dir);
	tu_path(fx->pool, "%s/pools.d/fpga0.xml", fx->dir);
	tu_write(fx->pool, VALID);
	esfm_err_clear(&fx->err);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tu_rmtree(fx->dir);
	free(fx->rng);
	free(fx);
	return 0;
}

static int load(struct fx *fx)
{
	esfm_err_clear(&fx->err);
	return esfm_pool_load_file(&fx->conf, fx->pool, &fx->p, &fx->err);
}

static void assert_refused_by_schema(struct fx *fx)
{
	assert_int_equal(load(fx), -1);
	if (!strstr(fx->err.msg, fx->pool) || !strstr(fx->err.hint, "esfm-pool(5)"))
		fail_msg("not the schema's refusal: %s; %s", fx->err.msg, fx->err.hint);
}

/* What esfm_verdict_remember records for @text as the pool file. */
static void remember(struct fx *fx, const char *text)
{
	struct esfm_verdict_of v = {
		.state_dir = fx->conf.state_dir,
		.pool = "fpga0",
		.path = fx->pool,
		.schema = fx->rng,
		.schema_len = strlen(fx->rng),
		.text = text,
		.text_len = strlen(text),
	};

	esfm_verdict_remember(&v);
}

/* A file the schema accepts leaves a record, 0600, and loads again on it. */
static void test_valid_file_recorded(void **state)
{
	struct fx *fx = *state;
	struct stat st;

	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->p.name, "fpga0");
	assert_int_equal(lstat(fx->record, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(load(fx), 0);
	assert_int_equal(tu_count_entries(fx->conf.state_dir), 1);
}

/* The file refused is recorded nowhere. */
static void test_invalid_file_not_recorded(void **state)
{
	struct fx *fx = *state;

	tu_write(fx->pool, INVALID);
	assert_refused_by_schema(fx);
	assert_false(tu_exists(fx->record));
}

/* Once the file changes, the record of its former text does not stand for it. */
static void test_changed_file_validated_again(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx), 0);
	assert_true(tu_exists(fx->record));
	tu_write(fx->pool, INVALID);
	assert_refused_by_schema(fx);
}

/* Once the schema changes, a record made with the former one does not stand either. */
static void test_changed_schema_validated_again(void **state)
{
	struct fx *fx = *state;
	char *stricter = strdup(fx->rng), *at = strstr(stricter, "<value>sriov</value>");

	assert_non_null(at);
	memcpy(at, "<value>sriox</value>", 20);
	assert_int_equal(load(fx), 0);
	tu_write(fx->schema, stricter);
	free(stricter);
	assert_refused_by_schema(fx);
}

/*
 * A record stands for the bytes it holds: the schema is not asked again
 * (which a record for a refused text, as only someone who can write the
 * state directory, and so the ledgers, could make, shows).
 */
static void test_record_stands_for_its_bytes(void **state)
{
	struct fx *fx = *state;

	tu_write(fx->pool, INVALID);
	remember(fx, INVALID);
	assert_int_equal(load(fx), 0);
	/* ...for its path only. */
	tu_path(fx->pool, "%s/pools.d/other/fpga0.xml", fx->dir);
	tu_write(fx->pool, INVALID);
	assert_refused_by_schema(fx);
}

/* A state directory others can write is not trusted: no record read there, none written. */
static void test_unsafe_state_dir_not_used(void **state)
{
	struct fx *fx = *state;

	tu_write(fx->pool, INVALID);
	remember(fx, INVALID);
	assert_true(tu_exists(fx->record));
	assert_int_equal(chmod(fx->conf.state_dir, 0777), 0);
	assert_refused_by_schema(fx);
	assert_int_equal(unlink(fx->record), 0);
	tu_write(fx->pool, VALID);
	assert_int_equal(load(fx), 0);
	assert_false(tu_exists(fx->record));
}

/* Nor is one reached through a symlink, nor is a missing one created. */
static void test_symlinked_or_missing_state_dir_not_used(void **state)
{
	struct fx *fx = *state;
	char link[PATH_MAX];

	tu_path(link, "%s/run-link", fx->dir);
	tu_symlink(fx->conf.state_dir, link);
	tu_path(fx->conf.state_dir, "%s", link);
	assert_int_equal(load(fx), 0);
	assert_false(tu_exists(fx->record));
	tu_path(fx->conf.state_dir, "%s/missing", fx->dir);
	assert_int_equal(load(fx), 0);
	assert_false(tu_exists(fx->conf.state_dir));
}

/* A record that is not a regular file is ignored and the file validated. */
static void test_record_not_a_file_ignored(void **state)
{
	struct fx *fx = *state;

	tu_write(fx->pool, INVALID);
	assert_int_equal(mkdir(fx->record, 0700), 0);
	assert_refused_by_schema(fx);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid_file_recorded),
		T(test_invalid_file_not_recorded),
		T(test_changed_file_validated_again),
		T(test_changed_schema_validated_again),
		T(test_record_stands_for_its_bytes),
		T(test_unsafe_state_dir_not_used),
		T(test_symlinked_or_missing_state_dir_not_used),
		T(test_record_not_a_file_ignored),
	};

	return cmocka_run_group_tests_name("verdict", tests, NULL, NULL);
}
