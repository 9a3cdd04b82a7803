// SPDX-License-Identifier: MIT
/*
 * Ordinary faults must not share a VF, lose one, or fail a guest: each test
 * is one case where esfm once did, run end to end against the sysfs
 * simulator and libvirt's test driver (see simenv.h). libvirt calls go
 * through wrappers (ld --wrap, test_faults.ldflags) that can
 *   - fail like a libvirt hiccup (an internal error, not "no such domain"),
 *   - make one domain vanish between the list and the read of its XML,
 *   - check that no pool lock is held while libvirt is called (a hook waits
 *     for that lock while libvirtd holds the domain's job: a deadlock).
 */
#include "simenv.h"

#include <sys/file.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "ops.h"
#include "state.h"
#include "vfpool.h"

#define UUID(i) "6b3f0d5c-0000-4000-8000-00000000000" #i

/* ---- libvirt wrappers ---- */

enum hiccup {
	HICCUP_NONE,
	HICCUP_DOMAIN, /* every call about one domain fails */
	HICCUP_ALL,    /* the domain list fails too */
};

static enum hiccup g_hiccup;
static const char *g_vanish; /* this domain's XML read says "no such domain" */
static bool g_check_lock;
static int g_violations;
static char g_violation[256];

virDomainPtr __real_virDomainLookupByUUIDString(virConnectPtr c, const char *u);
virDomainPtr __real_virDomainLookupByName(virConnectPtr c, const char *n);

/*
 * Leave a real libvirt error behind: an invalid argument (like any error
 * but "no such domain"), or with @gone, libvirt's own "no such domain".
 */
static void fail_like_libvirt(virConnectPtr c, bool gone)
{
	virDomainPtr d = gone ? __real_virDomainLookupByName(c, "esfm-test-no-such-domain")
			      : __real_virDomainLookupByUUIDString(c, "not-a-uuid");

	if (d)
		virDomainFree(d);
}

static void check_lock(const char *fn)
{
	char path[PATH_MAX];
	int fd;

	if (!g_check_lock)
		return;
	tu_path(path, "%s/fpga0.lock", g_state);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (!g_violations++)
			snprintf(g_violation, sizeof(g_violation), "%s", fn);
	} else {
		flock(fd, LOCK_UN);
	}
	close(fd);
}

static bool hiccup(virConnectPtr c)
{
	if (g_hiccup == HICCUP_NONE)
		return false;
	fail_like_libvirt(c, false);
	return true;
}

#define WRAP(ret, name, params, args, fails, failval)                                              \
	ret __real_##name params;                                                                  \
	ret __wrap_##name params;                                                                  \
	ret __wrap_##name params                                                                   \
	{                                                                                          \
		check_lock(#name);                                                                 \
		if (fails)                                                                         \
			return failval;                                                            \
		return __real_##name args;                                                         \
	}

WRAP(virConnectPtr, virConnectOpen, (const char *uri), (uri), false, NULL)
WRAP(int, virConnectListAllDomains, (virConnectPtr c, virDomainPtr **d, unsigned int f), (c, d, f),
     g_hiccup == HICCUP_ALL && hiccup(c), -1)
WRAP(virDomainPtr, virDomainLookupByUUIDString, (virConnectPtr c, const char *u), (c, u), hiccup(c),
     NULL)
WRAP(virDomainPtr, virDomainLookupByName, (virConnectPtr c, const char *n), (c, n), hiccup(c), NULL)
WRAP(int, virDomainIsActive, (virDomainPtr d), (d), hiccup(virDomainGetConnect(d)), -1)
WRAP(int, virDomainIsPersistent, (virDomainPtr d), (d), hiccup(virDomainGetConnect(d)), -1)
WRAP(int, virDomainAttachDeviceFlags, (virDomainPtr d, const char *x, unsigned int f), (d, x, f),
     false, -1)
WRAP(int, virDomainDetachDeviceFlags, (virDomainPtr d, const char *x, unsigned int f), (d, x, f),
     false, -1)
WRAP(int, virDomainDetachDeviceAlias, (virDomainPtr d, const char *a, unsigned int f), (d, a, f),
     false, -1)
WRAP(int, virDomainSetMetadata,
     (virDomainPtr d, int t, const char *m, const char *k, const char *u, unsigned int f),
     (d, t, m, k, u, f), false, -1)

char *__real_virDomainGetXMLDesc(virDomainPtr d, unsigned int flags);
char *__wrap_virDomainGetXMLDesc(virDomainPtr d, unsigned int flags);
char *__wrap_virDomainGetXMLDesc(virDomainPtr d, unsigned int flags)
{
	const char *name = virDomainGetName(d);

	check_lock("virDomainGetXMLDesc");
	if (hiccup(virDomainGetConnect(d)))
		return NULL;
	if (g_vanish && name && !strcmp(name, g_vanish)) {
		fail_like_libvirt(virDomainGetConnect(d), true);
		return NULL;
	}
	return __real_virDomainGetXMLDesc(d, flags);
}

/* ---- helpers ---- */

static struct esfm_ui g_ui;

/* The ledger: VF i recorded for everestg<i> (origin @origin) for each i < @n, of 2 slots. */
static void ledger(size_t n, enum esfm_vf_origin origin)
{
	struct esfm_pool_state st = {0};
	struct esfm_err err = {0};
	static const char *const addr[] = {VF0, VF1};

	snprintf(st.pool, sizeof(st.pool), "fpga0");
	assert_int_equal(esfm_pci_addr_parse(PF_BDF, &st.pf, &err), 0);
	assert_int_equal(esfm_state_resize(&st, 2, &err), 0);
	for (size_t i = 0; i < 2; i++) {
		char name[32], uuid[64], alias[32];

		assert_int_equal(esfm_pci_addr_parse(addr[i], &st.vfs[i].addr, &err), 0);
		if (i >= n)
			continue;
		snprintf(name, sizeof(name), "everestg%zu", i);
		snprintf(uuid, sizeof(uuid), "6b3f0d5c-0000-4000-8000-%012zu", i);
		snprintf(alias, sizeof(alias), "ua-esfm-fpga0-%zu", i);
		esfm_state_set_owner(&st.vfs[i], ESFM_VF_ATTACHED, origin, uuid, name, alias);
	}
	assert_int_equal(esfm_state_dir_ensure(g_state, &err), 0);
	assert_int_equal(esfm_state_save(g_state, &st, &err), 0);
	esfm_state_clear(&st);
}

/* "<state> <name>" of VF @i in the ledger on disk ("free", "none" if no slot). */
static void slot_is(size_t i, const char *want)
{
	struct esfm_pool_state st = {0};
	struct esfm_err err = {0};
	char got[300];

	assert_int_equal(esfm_state_load(g_state, "fpga0", &st, &err), 0);
	if (i >= st.nvfs)
		snprintf(got, sizeof(got), "none");
	else if (st.vfs[i].state == ESFM_VF_FREE)
		snprintf(got, sizeof(got), "free");
	else
		snprintf(got, sizeof(got), "%s %s", esfm_vf_state_name(st.vfs[i].state),
			 st.vfs[i].name);
	esfm_state_clear(&st);
	if (strcmp(got, want))
		fail_msg("VF %zu is '%s' in the ledger, expected '%s'", i, got, want);
}

static int with_ctx(int (*fn)(struct esfm_ctx *, void *, struct esfm_err *), void *arg,
		    struct esfm_err *err)
{
	struct esfm_ctx ctx;
	int r;

	if (esfm_ctx_init(&ctx, err) < 0)
		fail_msg("esfm_ctx_init: %s", err->msg);
	r = fn(&ctx, arg, err);
	esfm_ctx_fini(&ctx);
	return r;
}

static int do_gc(struct esfm_ctx *ctx, void *arg, struct esfm_err *err)
{
	size_t *freed = arg;

	return esfm_op_gc(ctx, NULL, &g_ui, freed, err);
}

/* Reserve one VF of fpga0 for a new annotated domain everestg7 (the hook's prepare). */
static int do_prepare(struct esfm_ctx *ctx, void *arg, struct esfm_err *err)
{
	struct esfm_allocation out[ESFM_MAX_VFS_PER_VM];
	struct esfm_domain *d = calloc(1, sizeof(*d));
	const char *uuid = arg;
	size_t n;
	int r;

	assert_non_null(d);
	snprintf(d->name, sizeof(d->name), "%s", !strcmp(uuid, UUID(7)) ? "everestg7" : "vm");
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	d->annotated = true;
	d->nreq = 1;
	snprintf(d->req[0].pool, sizeof(d->req[0].pool), "fpga0");
	d->req[0].count = 1;
	r = esfm_vfpool_reserve(ctx, d, &d->req[0], out, &n, err);
	free(d);
	return r;
}

struct pf_op {
	enum { OP_RECONF, OP_ATTACH, OP_DETACH, OP_VIEW } kind;
	unsigned n;
	const char *vm;
};

static int do_pf_op(struct esfm_ctx *ctx, void *arg, struct esfm_err *err)
{
	const struct pf_op *op = arg;
	struct esfm_op_opts opts = {0};
	struct esfm_pci_addr pf;
	struct esfm_pf_view view;
	int r = -1;

	opts.yes = true;
	opts.detach_timeout_ms = 500;
	snprintf(opts.vm_base, sizeof(opts.vm_base), "everestg");
	assert_int_equal(esfm_pci_addr_parse(PF_BDF, &pf, err), 0);
	switch (op->kind) {
	case OP_RECONF:
		r = esfm_op_reconf(ctx, &pf, op->n, &opts, &g_ui, err);
		break;
	case OP_ATTACH:
		r = esfm_op_attach(ctx, &pf, op->n, op->vm, &opts, &g_ui, err);
		break;
	case OP_DETACH:
		r = esfm_op_detach(ctx, &pf, op->n, &opts, &g_ui, err);
		break;
	case OP_VIEW:
		r = esfm_op_view(ctx, &pf, true, &view, err);
		if (r == 0)
			esfm_pf_view_free(&view);
		break;
	}
	return r;
}

static int setup(void **state)
{
	char path[PATH_MAX];

	(void)state;
	if (g_skip[0])
		return 0;
	g_hiccup = HICCUP_NONE;
	g_vanish = NULL;
	g_check_lock = false;
	g_violations = 0;
	g_violation[0] = '\0';
	tu_path(path, "%s/fpga0.state", g_state);
	unlink(path);
	sim_reset(2);
	return 0;
}

/* ---- the cases ---- */

/*
 * A reconf that fails at its first step (the test driver cannot drop
 * everestg1's persistent hostdev) changed nothing in sysfs: everestg1 still
 * holds VF 1 live, so the ledger must still say so, and the next annotated
 * VM must not be given VF 1.
 */
static void test_failed_reconf_keeps_holders(void **state)
{
	struct pf_op op = {OP_RECONF, 1, NULL};
	struct esfm_err err = {0};

	(void)state;
	SKIP_IF_NEEDED();
	write_two_guests(false);
	ledger(2, ESFM_ORIGIN_HOOK);
	assert_int_equal(with_ctx(do_pf_op, &op, &err), -1);
	assert_non_null(strstr(err.msg, "remove VF 1 from the persistent config of 'everestg1'"));
	slot_is(0, "attached everestg0");
	slot_is(1, "attached everestg1");
	esfm_err_clear(&err);
	assert_int_equal(with_ctx(do_prepare, (void *)UUID(7), &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_BUSY);
	assert_non_null(strstr(err.msg, "pool 'fpga0' has no free VF (2 of 2 in use"));
}

/* libvirt fails every call about a domain (or the list itself): nothing is freed. */
static void test_gc_frees_nothing_when_libvirt_hiccups(void **state)
{
	static const enum hiccup kinds[] = {HICCUP_DOMAIN, HICCUP_ALL};

	(void)state;
	SKIP_IF_NEEDED();
	for (size_t k = 0; k < ESFM_ARRAY_SIZE(kinds); k++) {
		struct esfm_err err = {0};
		size_t freed = 99;

		write_two_guests(false);
		ledger(2, ESFM_ORIGIN_HOOK);
		g_hiccup = kinds[k];
		with_ctx(do_gc, &freed, &err);
		g_hiccup = HICCUP_NONE;
		if (freed != 0 && freed != 99)
			fail_msg("hiccup kind %zu: pool-gc freed %zu VFs of running VMs", k, freed);
		slot_is(0, "attached everestg0");
		slot_is(1, "attached everestg1");
	}
}

/* No libvirt call while a pool lock is held, in any CLI operation. */
static void test_no_libvirt_call_under_the_pool_lock(void **state)
{
	static const struct pf_op ops[] = {
		{OP_DETACH, 1, NULL}, {OP_ATTACH, 1, "everestg1"}, {OP_RECONF, 1, NULL},
		{OP_RECONF, 2, NULL}, {OP_VIEW, 0, NULL},
	};
	struct esfm_err err = {0};
	size_t freed;

	(void)state;
	SKIP_IF_NEEDED();
	write_two_guests(false);
	ledger(2, ESFM_ORIGIN_CLI);
	g_check_lock = true;
	with_ctx(do_gc, &freed, &err);
	if (g_violations)
		fail_msg("pool-gc called %s under the pool lock", g_violation);
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(ops); i++) {
		esfm_err_clear(&err);
		with_ctx(do_pf_op, (void *)&ops[i], &err);
		if (g_violations)
			fail_msg("operation %zu called %s under the pool lock", i, g_violation);
	}
}

/*
 * everestg1 holds VF 1 live but the ledger forgot it (free, or no slot at
 * all): the next CLI command records it, and the next annotated VM is not
 * given VF 1.
 */
static void test_forgotten_vf_is_adopted(void **state)
{
	(void)state;
	SKIP_IF_NEEDED();
	for (int variant = 0; variant < 2; variant++) {
		struct pf_op view = {OP_VIEW, 0, NULL};
		struct esfm_err err = {0};
		char path[PATH_MAX];

		write_two_guests(false);
		if (variant == 0) {
			ledger(1, ESFM_ORIGIN_HOOK);
		} else {
			tu_path(path, "%s/fpga0.state", g_state);
			unlink(path);
		}
		assert_int_equal(with_ctx(do_pf_op, &view, &err), 0);
		slot_is(1, "attached everestg1");
		assert_int_equal(with_ctx(do_prepare, (void *)UUID(7), &err), -1);
		assert_int_equal(err.cls, ESFM_ERR_BUSY);
	}
}

/*
 * A domain with a bad annotation for another pool, or one vanishing between
 * the list and the read of its XML, is none of fpga0's business: listings,
 * detach and gc on fpga0 still work.
 */
static void test_one_bad_domain_does_not_break_the_cli(void **state)
{
	const struct dom doms[] = {
		{"everestg0", true, false, {{VF0, "ua-esfm-fpga0-0"}, {NULL, NULL}}, NULL},
		{"everestg1", true, false, {{VF1, "ua-esfm-fpga0-1"}, {NULL, NULL}}, NULL},
		{"broken",
		 true,
		 false,
		 {{NULL, NULL}},
		 "<esfm:vf xmlns:esfm='urn:esfm:vf:1' pool='nic0' count='99'/>"},
		{"ghost", true, false, {{NULL, NULL}}, NULL},
	};
	struct pf_op view = {OP_VIEW, 0, NULL};
	struct esfm_err err = {0};
	size_t freed = 0;

	(void)state;
	SKIP_IF_NEEDED();
	write_node(doms, ESFM_ARRAY_SIZE(doms));
	ledger(2, ESFM_ORIGIN_HOOK);
	g_vanish = "ghost";
	if (with_ctx(do_pf_op, &view, &err) < 0)
		fail_msg("list_vf_vm failed: %s", err.msg);
	if (with_ctx(do_gc, &freed, &err) < 0)
		fail_msg("pool-gc failed: %s", err.msg);
	assert_int_equal(freed, 0);
	slot_is(0, "attached everestg0");
	slot_is(1, "attached everestg1");
}

/*
 * A release that never happened (killed, lock timeout) leaves VF 0
 * "attached" to everestg0's hook loan. At its next start, prepare gives it
 * VF 0 again: the ledger must say "reserved", since only reserved VFs are
 * hot-plugged by the worker.
 */
static void test_prepare_after_a_missed_release_reserves_again(void **state)
{
	struct esfm_err err = {0};

	(void)state;
	SKIP_IF_NEEDED();
	ledger(1, ESFM_ORIGIN_HOOK);
	assert_int_equal(with_ctx(do_prepare, (void *)UUID(0), &err), 0);
	slot_is(0, "reserved everestg0");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, NULL)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_failed_reconf_keeps_holders),
		T(test_gc_frees_nothing_when_libvirt_hiccups),
		T(test_no_libvirt_call_under_the_pool_lock),
		T(test_forgotten_vf_is_adopted),
		T(test_one_bad_domain_does_not_break_the_cli),
		T(test_prepare_after_a_missed_release_reserves_again),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
