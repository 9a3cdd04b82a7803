// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/pfsettings.h: "option > pool file > built-in default"
 * for qmax, bitstream, VM base name and pause, as one table. Each row gives
 * the command, what the command line gave, what the pool file says, and the
 * settings the command must run with.
 */
#include "testutil.h"

#include "pfsettings.h"
#include "util.h"

struct row {
	const char *what;
	enum esfm_cmd cmd;
	/* the command line: qn < 0 and vm NULL when not given */
	int qn;
	const char *b, *vm;
	bool p;
	/* the pool file: qmax < 0, bitstream "" and vms NULL when absent */
	int pool_qmax;
	const char *pool_b, *pool_vms;
	bool pool_pause;
	/* expected */
	bool qmax_set;
	unsigned qmax;
	const char *bitstream, *vm_base;
	bool pause;
};

static const struct row rows[] = {
	{"init, nothing anywhere: built-in defaults", ESFM_CMD_INIT, -1, "", NULL, false, -1, "",
	 NULL, false, false, 0, "", "everestg", false},
	{"init, pool file: its qmax, bitstream, base", ESFM_CMD_INIT, -1, "", NULL, false, 64,
	 "/fw/a.bit", "gpu", false, true, 64, "/fw/a.bit", "gpu", false},
	{"init, options beat the pool file", ESFM_CMD_INIT, 16, "/fw/b.bit", "vmx", false, 64,
	 "/fw/a.bit", "gpu", false, true, 16, "/fw/b.bit", "vmx", false},
	{"reconf: the pool's qmax is known but not forced", ESFM_CMD_RECONF, -1, "", NULL, false,
	 64, "/fw/a.bit", NULL, false, false, 64, "", "everestg", false},
	{"reconf -qn: forced", ESFM_CMD_RECONF, 8, "", NULL, false, 64, "", NULL, false, true, 8,
	 "", "everestg", false},
	{"reconf: <reconf pause='yes'> pauses", ESFM_CMD_RECONF, -1, "", NULL, false, -1, "", NULL,
	 true, false, 0, "", "everestg", true},
	{"reconf -p without the pool's pause", ESFM_CMD_RECONF, -1, "", NULL, true, -1, "", NULL,
	 false, false, 0, "", "everestg", true},
	{"init: the pool's pause is for reconf only", ESFM_CMD_INIT, -1, "", NULL, false, -1, "",
	 NULL, true, false, 0, "", "everestg", false},
	/* esfm(1): --vm_names overrides the pool's <vms base>, also when it is the default */
	{"init -vm everestg beats the pool's base", ESFM_CMD_INIT, -1, "", "everestg", false, -1,
	 "", "gpu", false, false, 0, "", "everestg", false},
	{"attach: the pool's base names the VMs", ESFM_CMD_ATTACH, -1, "", NULL, false, -1, "",
	 "gpu", false, false, 0, "", "gpu", false},
};

static void test_table(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		struct esfm_op_opts given = {0}, out;
		struct esfm_pool pool = {0};

		/* as esfm_cli_parse and esfm_pool_load leave them */
		snprintf(given.vm_base, sizeof(given.vm_base), "%s", r->vm ? r->vm : "everestg");
		given.vm_base_set = r->vm != NULL;
		given.qmax_set = r->qn >= 0;
		given.qmax = r->qn >= 0 ? (unsigned)r->qn : 0;
		snprintf(given.bitstream, sizeof(given.bitstream), "%s", r->b);
		given.pause = r->p;
		snprintf(pool.vm_base, sizeof(pool.vm_base), "%s",
			 r->pool_vms ? r->pool_vms : "everestg");
		pool.has_qmax = r->pool_qmax >= 0;
		pool.qmax = r->pool_qmax >= 0 ? (unsigned)r->pool_qmax : 0;
		snprintf(pool.bitstream, sizeof(pool.bitstream), "%s", r->pool_b);
		pool.pause = r->pool_pause;

		esfm_pf_settings(r->cmd, &given, &pool, &out);
		if (out.qmax_set != r->qmax_set || out.qmax != r->qmax ||
		    strcmp(out.bitstream, r->bitstream) || strcmp(out.vm_base, r->vm_base) ||
		    out.pause != r->pause) {
			print_error("%s: got qmax_set=%d qmax=%u bitstream='%s' vm_base='%s' "
				    "pause=%d, expected %d %u '%s' '%s' %d\n",
				    r->what, out.qmax_set, out.qmax, out.bitstream, out.vm_base,
				    out.pause, r->qmax_set, r->qmax, r->bitstream, r->vm_base,
				    r->pause);
			failures++;
		}
	}
	if (failures)
		fail_msg("%d row(s) of the settings table failed", failures);
}

/* esfm_pf_qmax: whether and what qmax is written before VFs are created. */
struct qrow {
	const char *what;
	enum esfm_cmd cmd;
	bool hook;  /* no settings: the hook creating a PF's first VFs */
	int qmax;   /* settings' qmax, < 0 when not forced (qmax_set false) */
	bool flash; /* -b given */
	int pool;   /* the pool's <qdma qmax>, < 0 when absent */
	bool qdma;  /* the PF has qdma/qmax */
	unsigned before;
	/* expected */
	bool write;
	unsigned value;
};

static const struct qrow qrows[] = {
	{"init, QDMA PF, nothing given: 32", ESFM_CMD_INIT, false, -1, false, -1, true, 7, true,
	 32},
	{"init, forced (-qn or the pool's)", ESFM_CMD_INIT, false, 16, false, 64, true, 7, true,
	 16},
	{"init -qn on a PF without qdma: written (and refused)", ESFM_CMD_INIT, false, 16, false,
	 -1, false, 0, true, 16},
	{"init on a PF without qdma: left alone", ESFM_CMD_INIT, false, -1, false, -1, false, 0,
	 false, 0},
	{"reconf: left alone", ESFM_CMD_RECONF, false, -1, false, 64, true, 7, false, 0},
	{"reconf -qn: written", ESFM_CMD_RECONF, false, 8, false, 64, true, 7, true, 8},
	{"reconf -b: the pool's qmax", ESFM_CMD_RECONF, false, -1, true, 64, true, 7, true, 64},
	{"reconf -b, no pool qmax: what the PF had", ESFM_CMD_RECONF, false, -1, true, -1, true, 7,
	 true, 7},
	{"reconf -b on a PF without qdma: left alone", ESFM_CMD_RECONF, false, -1, true, 64, false,
	 0, false, 0},
	{"hook: the pool's qmax", ESFM_CMD_INIT, true, -1, false, 64, true, 0, true, 64},
	{"hook, no pool qmax: 32", ESFM_CMD_INIT, true, -1, false, -1, true, 0, true, 32},
	{"hook on a PF without qdma: the pool's qmax is ignored", ESFM_CMD_INIT, true, -1, false,
	 64, false, 0, false, 0},
};

static void test_qmax_table(void **state)
{
	int failures = 0;

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(qrows); i++) {
		const struct qrow *r = &qrows[i];
		struct esfm_op_opts s = {0};
		struct esfm_pool pool = {0};
		unsigned value = 0;
		bool write;

		s.qmax_set = r->qmax >= 0;
		s.qmax = r->qmax >= 0 ? (unsigned)r->qmax : 0;
		snprintf(s.bitstream, sizeof(s.bitstream), "%s", r->flash ? "/fw/a.bit" : "");
		pool.has_qmax = r->pool >= 0;
		pool.qmax = r->pool >= 0 ? (unsigned)r->pool : 0;
		write = esfm_pf_qmax(r->cmd, r->hook ? NULL : &s, &pool, r->qdma, r->before,
				     &value);
		if (write != r->write || (write && value != r->value)) {
			print_error("%s: got write=%d qmax=%u, expected %d %u\n", r->what, write,
				    value, r->write, r->value);
			failures++;
		}
	}
	if (failures)
		fail_msg("%d row(s) of the qmax table failed", failures);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_qmax_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
