// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/reconcile.h as a table: a ledger, what sysfs and libvirt
 * show, the ledger expected afterwards and the findings. Slots are written
 * "<state> <origin> <owner letter>" ("free" for a free one), a reservation
 * with " worker" or " dead-worker" when an attach worker is recorded on it
 * (alive, or ended); a domain's holds "<index><L|C|LC>" (L: live XML, C:
 * persistent XML).
 */
#include "testutil.h"

#include "reconcile.h"
#include "state.h"
#include "util.h"

#define MAXS 8
#define MAXD 4

struct dspec {
	char id; /* owner letter: uuid and name derive from it */
	bool unreadable;
	bool stopped;
	const char *holds; /* "0L 2LC" */
};

struct rcase {
	const char *what;
	const char *ledger[MAXS]; /* NULL ends */
	size_t nexist;		  /* VFs that exist in sysfs */
	bool no_libvirt;	  /* the domain list could not be read */
	bool busy, busy_live;
	char only; /* reconnect of this domain, 0: all */
	struct dspec doms[MAXD];
	const char *want[MAXS]; /* NULL ends: the ledger's size */
	size_t freed, adopted, unknown, conflict;
};

static void uuid_of(char id, char *buf)
{
	snprintf(buf, ESFM_UUID_STRLEN, "%c%c%c%c%c%c%c%c-0000-4000-8000-000000000000", id, id, id,
		 id, id, id, id, id);
}

static void name_of(char id, char *buf)
{
	snprintf(buf, ESFM_DOM_NAME_MAX, "vm-%c", id);
}

/* Returns whether the slot's recorded attach worker has ended. */
static bool set_slot(struct esfm_vf_slot *s, const char *spec)
{
	char st[16], origin[8], id = 0, uuid[ESFM_UUID_STRLEN], name[ESFM_DOM_NAME_MAX];
	char worker[16] = "";

	if (!strcmp(spec, "free"))
		return false;
	assert_true(sscanf(spec, "%15s %7s %c %15s", st, origin, &id, worker) >= 3);
	uuid_of(id, uuid);
	name_of(id, name);
	esfm_state_set_owner(s,
			     !strcmp(st, "reserved")   ? ESFM_VF_RESERVED
			     : !strcmp(st, "attached") ? ESFM_VF_ATTACHED
						       : ESFM_VF_PAUSED,
			     !strcmp(origin, "cli") ? ESFM_ORIGIN_CLI : ESFM_ORIGIN_HOOK, uuid,
			     name, "ua-esfm-fpga0-x");
	if (worker[0]) {
		s->worker_pid = 4343;
		s->worker_start = 77;
	}
	return !strcmp(worker, "dead-worker");
}

static void slot_text(const struct esfm_vf_slot *s, char *buf, size_t len)
{
	if (s->state == ESFM_VF_FREE) {
		snprintf(buf, len, "free");
		return;
	}
	snprintf(buf, len, "%s %s %c", esfm_vf_state_name(s->state), esfm_vf_origin_name(s->origin),
		 s->name[3]);
}

static void build_dom(const struct dspec *d, struct esfm_rc_domain *out)
{
	const char *p = d->holds ? d->holds : "";

	memset(out, 0, sizeof(*out));
	uuid_of(d->id, out->uuid);
	name_of(d->id, out->name);
	out->readable = !d->unreadable;
	out->running = !d->stopped;
	while (*p) {
		struct esfm_rc_hold *h = &out->hold[out->nhold++];
		char *end;

		h->index = (unsigned)strtoul(p, &end, 10);
		for (p = end; *p && *p != ' '; p++) {
			h->live |= *p == 'L';
			h->config |= *p == 'C';
		}
		snprintf(h->alias, sizeof(h->alias), "ua-esfm-fpga0-%u", h->index);
		while (*p == ' ')
			p++;
	}
}

static int run_case(const struct rcase *c)
{
	struct esfm_pool_state st = {0};
	struct esfm_rc_domain doms[MAXD];
	struct esfm_pci_addr addr[MAXS];
	struct esfm_rc_findings out = {0};
	struct esfm_rc_facts f = {0};
	struct esfm_err err = {0};
	char only[ESFM_UUID_STRLEN];
	bool gone[MAXS] = {0};
	size_t n = 0, nd = 0, nwant = 0;
	int bad = 0;

	snprintf(st.pool, sizeof(st.pool), "fpga0");
	while (n < MAXS && c->ledger[n])
		n++;
	assert_int_equal(esfm_state_resize(&st, n, &err), 0);
	for (size_t i = 0; i < n; i++)
		gone[i] = set_slot(&st.vfs[i], c->ledger[i]);
	if (c->busy) {
		st.busy.pid = 4242;
		snprintf(st.busy.what, sizeof(st.busy.what), "esfm reconf 2");
	}
	for (size_t i = 0; i < MAXS; i++)
		addr[i] = (struct esfm_pci_addr){0, 0x83, 1, (unsigned)i};
	while (nd < MAXD && c->doms[nd].id) {
		build_dom(&c->doms[nd], &doms[nd]);
		nd++;
	}
	f.sysfs_known = true;
	f.nexist = c->nexist;
	f.addr = addr;
	f.libvirt_known = !c->no_libvirt;
	f.doms = doms;
	f.ndoms = nd;
	f.busy_live = c->busy_live;
	f.worker_gone = gone;
	f.nworker = n;
	if (c->only) {
		uuid_of(c->only, only);
		f.only_uuid = only;
	}
	assert_int_equal(esfm_reconcile(&st, &f, &out, &err), 0);
	while (nwant < MAXS && c->want[nwant])
		nwant++;
	if (st.nvfs != nwant) {
		print_error("%s: ledger has %zu slots, expected %zu\n", c->what, st.nvfs, nwant);
		bad++;
	}
	for (size_t i = 0; i < st.nvfs && i < nwant; i++) {
		char got[64];

		slot_text(&st.vfs[i], got, sizeof(got));
		if (strcmp(got, c->want[i])) {
			print_error("%s: VF %zu is '%s', expected '%s'\n", c->what, i, got,
				    c->want[i]);
			bad++;
		}
	}
	for (size_t i = 0; !c->busy_live && i < nwant && i < c->nexist && i < st.nvfs; i++)
		if (esfm_pci_addr_cmp(&st.vfs[i].addr, &addr[i])) {
			print_error("%s: VF %zu has not the address sysfs gives\n", c->what, i);
			bad++;
		}
	if (esfm_rc_count(&out, ESFM_RC_FREED) != c->freed ||
	    esfm_rc_count(&out, ESFM_RC_ADOPTED) != c->adopted ||
	    esfm_rc_count(&out, ESFM_RC_UNKNOWN) != c->unknown ||
	    esfm_rc_count(&out, ESFM_RC_CONFLICT) != c->conflict) {
		print_error("%s: findings:\n", c->what);
		for (size_t i = 0; i < out.n; i++)
			print_error("  %d %s\n", out.item[i].kind, out.item[i].text);
		bad++;
	}
	if (c->busy && !c->busy_live && st.busy.pid) {
		print_error("%s: the dead busy mark is still there\n", c->what);
		bad++;
	}
	if (c->busy && c->busy_live && esfm_rc_count(&out, ESFM_RC_BUSY) != 1) {
		print_error("%s: no busy finding\n", c->what);
		bad++;
	}
	esfm_rc_findings_free(&out);
	esfm_state_clear(&st);
	return bad;
}

static const struct rcase cases[] = {
	{"a running domain holds a VF the ledger calls free: adopted",
	 {"free", "free", NULL},
	 2,
	 .doms = {{'a', .holds = "1L"}},
	 .want = {"free", "attached hook a", NULL},
	 .adopted = 1},
	{"... the ledger has no slot for it: grown and adopted",
	 {NULL},
	 3,
	 .doms = {{'a', .holds = "2LC"}},
	 .want = {"free", "free", "attached cli a", NULL},
	 .adopted = 1},
	{"a hook loan whose running domain does not hold it: freed",
	 {"attached hook a", NULL},
	 1,
	 .doms = {{'a'}},
	 .want = {"free", NULL},
	 .freed = 1},
	{"a hook loan of a stopped domain: freed",
	 {"attached hook a", NULL},
	 1,
	 .doms = {{'a', .stopped = true, .holds = "0C"}},
	 .want = {"free", NULL},
	 .freed = 1},
	{"a recorded holder that no longer exists: freed",
	 {"attached cli a", "reserved hook b", NULL},
	 2,
	 .doms = {{'c'}},
	 .want = {"free", "free", NULL},
	 .freed = 2},
	{"no domain list (libvirt error): nothing freed, each reported",
	 {"attached hook a", "reserved hook b", "free", NULL},
	 3,
	 .no_libvirt = true,
	 .want = {"attached hook a", "reserved hook b", "free", NULL},
	 .unknown = 2},
	{"a holder libvirt could not read: left alone, reported",
	 {"attached hook a", "attached hook b", NULL},
	 2,
	 .doms = {{'a', .unreadable = true}, {'b'}},
	 .want = {"attached hook a", "free", NULL},
	 .freed = 1,
	 .unknown = 1},
	{"a reservation of a running (starting) domain: kept",
	 {"reserved hook a", NULL},
	 1,
	 .doms = {{'a'}},
	 .want = {"reserved hook a", NULL}},
	{"a running domain's reservation whose attach worker lives: kept",
	 {"reserved hook a worker", NULL},
	 1,
	 .doms = {{'a'}},
	 .want = {"reserved hook a", NULL}},
	{"a running domain's reservation whose attach worker died: freed",
	 {"reserved hook a dead-worker", "reserved hook b", NULL},
	 2,
	 .doms = {{'a'}, {'b'}},
	 .want = {"free", "reserved hook b", NULL},
	 .freed = 1},
	{"... unless the worker attached it before it died: attached",
	 {"reserved hook a dead-worker", NULL},
	 1,
	 .doms = {{'a', .holds = "0L"}},
	 .want = {"attached hook a", NULL},
	 .adopted = 1},
	{"a reservation of a stopped domain: freed",
	 {"reserved hook a", NULL},
	 1,
	 .doms = {{'a', .stopped = true}},
	 .want = {"free", NULL},
	 .freed = 1},
	{"a reservation already in the live XML (worker died before recording): attached",
	 {"reserved hook a", NULL},
	 1,
	 .doms = {{'a', .holds = "0L"}},
	 .want = {"attached hook a", NULL},
	 .adopted = 1},
	{"an operator's VF in a stopped domain's configuration: kept",
	 {"attached cli a", NULL},
	 1,
	 .doms = {{'a', .stopped = true, .holds = "0C"}},
	 .want = {"attached cli a", NULL}},
	{"an operator's VF no longer in the configuration: freed",
	 {"attached cli a", NULL},
	 1,
	 .doms = {{'a', .stopped = true}},
	 .want = {"free", NULL},
	 .freed = 1},
	{"recorded for one domain, live in another: recorded for the one that has it",
	 {"attached hook a", NULL},
	 1,
	 .doms = {{'a'}, {'b', .holds = "0L"}},
	 .want = {"attached hook b", NULL},
	 .adopted = 1},
	{"live in two domains: recorded for the first, reported",
	 {"free", NULL},
	 1,
	 .doms = {{'a', .holds = "0L"}, {'b', .holds = "0L"}},
	 .want = {"attached hook a", NULL},
	 .adopted = 1,
	 .conflict = 1},
	{"held VFs beyond those that exist stay; free ones beyond are dropped",
	 {"free", "attached cli a", "free", "free", NULL},
	 1,
	 .doms = {{'a', .stopped = true, .holds = "1C"}},
	 .want = {"free", "attached cli a", NULL}},
	{"a live busy mark: nothing changes",
	 {"attached hook a", "free", NULL},
	 2,
	 .busy = true,
	 .busy_live = true,
	 .doms = {{'b', .holds = "1L"}},
	 .want = {"attached hook a", "free", NULL}},
	{"a dead busy mark: cleared, then reconciled",
	 {"attached hook a", "free", NULL},
	 2,
	 .busy = true,
	 .doms = {{'b', .holds = "1L"}},
	 .want = {"free", "attached hook b", NULL},
	 .freed = 1,
	 .adopted = 1},
	{"reconnect of one domain: adopts its own, leaves others' alone",
	 {"free", "attached hook b", "free", NULL},
	 3,
	 .no_libvirt = true,
	 .only = 'a',
	 .doms = {{'a', .holds = "0L 4L"}},
	 .want = {"attached hook a", "attached hook b", "free", "free", "attached hook a", NULL},
	 .adopted = 2},
	{"reconnect: a VF this domain holds is recorded for another: left alone, reported",
	 {"attached hook b", NULL},
	 1,
	 .no_libvirt = true,
	 .only = 'a',
	 .doms = {{'a', .holds = "0L"}},
	 .want = {"attached hook b", NULL},
	 .conflict = 1},
};

static void test_table(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad += run_case(&cases[i]);
	if (bad)
		fail_msg("%d mismatch(es) in the reconcile table", bad);
}

/* A finding is one whole line naming the pool, the VF and the domain. */
static void test_finding_text(void **state)
{
	struct esfm_pool_state st = {0};
	struct esfm_rc_findings out = {0};
	struct esfm_rc_facts f = {.sysfs_known = false, .libvirt_known = true};
	struct esfm_err err = {0};

	(void)state;
	snprintf(st.pool, sizeof(st.pool), "fpga0");
	assert_int_equal(esfm_state_resize(&st, 1, &err), 0);
	set_slot(&st.vfs[0], "reserved hook a");
	st.vfs[0].addr = (struct esfm_pci_addr){0, 0x83, 1, 0};
	assert_int_equal(esfm_reconcile(&st, &f, &out, &err), 0);
	assert_int_equal(out.n, 1);
	assert_true(out.changed);
	assert_string_equal(out.item[0].text,
			    "pool 'fpga0': free VF 0 (0000:83:01.0), reserved by 'vm-a': its VM no "
			    "longer exists");
	assert_null(strchr(out.item[0].text, '\n'));
	esfm_rc_findings_free(&out);
	esfm_state_clear(&st);
}

/* A domain XML as parsed: esfm hostdev aliases and identity channel aliases. */
static void add_hostdev(struct esfm_domain *x, const char *alias)
{
	snprintf(x->hostdev[x->nhostdev++].alias, sizeof(x->hostdev[0].alias), "%s", alias);
}

static void add_identity(struct esfm_domain *x, const char *alias)
{
	snprintf(x->identity[x->nidentity++], sizeof(x->identity[0]), "%s", alias);
}

/* "+N" for an identity to add for VF N, "-N" for one to remove, in order, space separated. */
static const char *fixes_of(const struct esfm_domain *x, const char *pool, bool add_missing)
{
	static char buf[512];
	struct esfm_identity_fix fix[2 * ESFM_MAX_VFS_PER_VM];
	size_t n = esfm_reconcile_identities(x, pool, add_missing, fix, ESFM_ARRAY_SIZE(fix));
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%c%u", i ? " " : "",
					fix[i].add ? '+' : '-', fix[i].index);
	return buf;
}

static void test_identities(void **state)
{
	struct esfm_domain *x = calloc(1, sizeof(*x));
	struct esfm_identity_fix one[1];

	(void)state;
	assert_non_null(x);
	/* Each VF with its channel: nothing to do. */
	x->vserial = true;
	add_hostdev(x, "ua-esfm-fpga0-0");
	add_identity(x, "ua-esfmid-fpga0-0");
	assert_string_equal(fixes_of(x, "fpga0", true), "");
	/* A VF without its channel gets one; a channel without its VF goes. */
	add_hostdev(x, "ua-esfm-fpga0-3");
	add_identity(x, "ua-esfmid-fpga0-5");
	assert_string_equal(fixes_of(x, "fpga0", true), "-5 +3");
	/* The persistent XML: only strays go (nothing is added behind the operator's back). */
	assert_string_equal(fixes_of(x, "fpga0", false), "-5");
	/* Without a virtio-serial controller nothing can be added: only strays go. */
	x->vserial = false;
	assert_string_equal(fixes_of(x, "fpga0", true), "-5");
	x->vserial = true;
	/* Other pools' devices, other devices and look-alike aliases are not ours. */
	add_hostdev(x, "ua-esfm-fpga1-4");
	add_identity(x, "ua-esfmid-fpga1-6");
	add_hostdev(x, "hostdev0");
	add_identity(x, "ua-esfmid-fpga0");
	add_identity(x, "ua-esfmid-fpga0-x");
	assert_string_equal(fixes_of(x, "fpga0", true), "-5 +3");
	assert_string_equal(fixes_of(x, "fpga1", true), "-6 +4");
	/* A pool whose name has a '.' matches its '_' spelling only. */
	memset(x, 0, sizeof(*x));
	x->vserial = true;
	add_hostdev(x, "ua-esfm-v1_2-0");
	add_identity(x, "ua-esfmid-v1_2-1");
	assert_string_equal(fixes_of(x, "v1.2", true), "-1 +0");
	assert_string_equal(fixes_of(x, "v1-2", true), "");
	/* @max bounds what is written. */
	assert_int_equal(esfm_reconcile_identities(x, "v1.2", true, one, 1), 1);
	assert_false(one[0].add);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_finding_text),
		cmocka_unit_test(test_identities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
