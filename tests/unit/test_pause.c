// SPDX-License-Identifier: MIT
/*
 * The pause orchestration of esfm_op_reconf (reconf -p), end to end:
 *
 *   - sysfs is the FUSE simulator (tests/sim), started once for the group
 *     and stopped by pid; its write log gives the order of sysfs writes;
 *   - libvirt is the test driver, test:///<node.xml>, holding RUNNING
 *     domains everestg0/everestg1 whose live XML has a <hostdev
 *     managed='no'> with alias ua-esfm-fpga0-<i> for the sim's VF addresses;
 *   - QEMU is virDomainQemuMonitorCommand, wrapped (ld --wrap, see
 *     test_pause.ldflags): it answers like a QEMU with device_pause (or
 *     without it, or refusing it) and records every command.
 *
 * QMP commands and sysfs writes are merged into one timeline (the sim's log
 * is read each time a QMP command arrives) so the tests assert their order:
 * pause(0,true), pause(1,true) -> unbind -> sriov_numvfs 0 -> N -> bind ->
 * pause(i,false) for the VFs that still exist.
 *
 * The test driver has no device attach/detach: steps that need one fail, and
 * the tests assert the failure and its message (the detach of a paused device
 * whose VF is gone, and the hot-unplug fallback).
 *
 * Needs root and /dev/fuse (skipped otherwise).
 */
#include "simenv.h"

#include <signal.h>
#include <sys/wait.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>

#include "ops.h"
#include "pci.h"
#include "state.h"
#include "util.h"
#include "vfpool.h"

#define QCMDS	  "{\"execute\":\"query-commands\"}"
#define PAUSE_FMT "{\"execute\":\"device_pause\",\"arguments\":{\"id\":\"%s\",\"pause\":%s}}"

/* ---- what happened: timeline of QMP commands and sysfs writes, UI steps, warnings ---- */

#define MAX_EVENTS 256

struct list {
	char *item[MAX_EVENTS];
	size_t n;
};

static struct list g_timeline, g_steps, g_warnings;
static size_t g_sim_lines_seen;

static void list_add(struct list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void list_add(struct list *l, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s && l->n < MAX_EVENTS)
		l->item[l->n++] = s;
	else
		free(s);
}

static void list_clear(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->item[i]);
	l->n = 0;
}

/* The list as text, one item per line (malloc'ed); items containing @skip are left out. */
static char *list_text(const struct list *l, const char *skip)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	for (size_t i = 0; i < l->n; i++)
		if (!skip || !strstr(l->item[i], skip))
			fprintf(f, "%s\n", l->item[i]);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Append the sysfs writes the simulator logged since the last call to the timeline. */
static void sync_sysfs(void)
{
	char path[PATH_MAX];
	char *log, *save = NULL;
	size_t line = 0;

	sim_path(path, "sim-control");
	log = tu_slurp(path);
	for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save), line++)
		if (line >= g_sim_lines_seen)
			list_add(&g_timeline, "sysfs %s", l);
	if (line > g_sim_lines_seen)
		g_sim_lines_seen = line;
	free(log);
}

/* ---- the fake QEMU behind virDomainQemuMonitorCommand ---- */

enum qemu_kind {
	QEMU_PAUSE = 0,	  /* lists device_pause, device_pause returns {} */
	QEMU_STOCK,	  /* query-commands without device_pause; device_pause CommandNotFound */
	QEMU_ANCIENT,	  /* CommandNotFound for everything, query-commands included */
	QEMU_REFUSES,	  /* lists device_pause, but device_pause answers GenericError */
	QEMU_UNREACHABLE, /* libvirt cannot pass anything on (the test driver's error) */
	QEMU_NO_RESUME,	  /* pauses, but refuses to resume like esfm's QEMU when it cannot open
			     the re-created VF's group */
};

static enum qemu_kind g_qemu[4]; /* by the digit at the end of the domain name */
static int g_qmp_bad_flags;
/* Raise this signal when a QMP command containing g_raise_on arrives (0: never). */
static int g_raise_sig;
static const char *g_raise_on;
/* When a QMP command containing this arrives, VF0 leaves vfio-pci and cannot be bound again. */
static const char *g_break_vf0_on;

int __wrap_virDomainQemuMonitorCommand(virDomainPtr domain, const char *cmd, char **result,
				       unsigned int flags);
int __real_virDomainQemuMonitorCommand(virDomainPtr domain, const char *cmd, char **result,
				       unsigned int flags);

int __wrap_virDomainQemuMonitorCommand(virDomainPtr domain, const char *cmd, char **result,
				       unsigned int flags)
{
	const char *name = virDomainGetName(domain);
	size_t len = name ? strlen(name) : 0;
	enum qemu_kind kind = QEMU_PAUSE;
	const char *reply;

	if (len && name[len - 1] >= '0' && name[len - 1] <= '3')
		kind = g_qemu[name[len - 1] - '0'];
	if (flags != 0)
		g_qmp_bad_flags++;
	sync_sysfs();
	list_add(&g_timeline, "qmp %s %s", name ? name : "?", cmd);
	if (g_break_vf0_on && strstr(cmd, g_break_vf0_on)) {
		sim_write("sim-control", "fail " VF0 " driver_override EIO");
		sim_write("bus/pci/drivers/vfio-pci/unbind", VF0);
		g_break_vf0_on = NULL;
	}
	if (kind == QEMU_UNREACHABLE) /* the test driver's own answer: a libvirt error */
		return __real_virDomainQemuMonitorCommand(domain, cmd, result, flags);
	if (strstr(cmd, "\"query-commands\"")) {
		if (kind == QEMU_ANCIENT)
			reply = "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"The command "
				"query-commands has not been found\"},\"id\":\"libvirt-9\"}";
		else if (kind == QEMU_STOCK)
			reply = "{\"return\":[{\"name\":\"device_del\"},{\"name\":\"query-"
				"commands\"},"
				"{\"name\":\"device_add\"}],\"id\":\"libvirt-9\"}";
		else
			reply = "{\"return\":[{\"name\":\"device_del\"},{\"name\":\"device_pause\"}"
				","
				"{\"name\":\"query-commands\"}],\"id\":\"libvirt-9\"}";
	} else if (strstr(cmd, "\"device_pause\"")) {
		if (kind == QEMU_STOCK || kind == QEMU_ANCIENT)
			reply = "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"The command "
				"device_pause has not been found\"}}";
		else if (kind == QEMU_REFUSES)
			reply = "{\"error\":{\"class\":\"GenericError\",\"desc\":\"Device is "
				"busy\"}}";
		else if (kind == QEMU_NO_RESUME && strstr(cmd, "\"pause\":false"))
			reply = "{\"error\":{\"class\":\"GenericError\",\"desc\":\"cannot "
				"resume, the device stays paused: failed to open /dev/vfio/12: No "
				"such file or directory\"}}";
		else
			reply = "{\"return\":{},\"id\":\"libvirt-10\"}";
	} else {
		reply = "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"unexpected\"}}";
	}
	*result = strdup(reply);
	if (g_raise_sig && g_raise_on && strstr(cmd, g_raise_on)) {
		raise(g_raise_sig);
		g_raise_sig = 0;
	}
	return *result ? 0 : -1;
}

/* How many warnings are exactly @msg (or contain it, with @substring). */
static size_t warned(const char *msg, bool substring)
{
	size_t n = 0;

	for (size_t i = 0; i < g_warnings.n; i++)
		n += substring ? strstr(g_warnings.item[i], msg) != NULL
			       : !strcmp(g_warnings.item[i], msg);
	return n;
}

static void expect_no_sysfs_writes(void)
{
	for (size_t i = 0; i < g_timeline.n; i++)
		if (!strncmp(g_timeline.item[i], "sysfs ", 6))
			fail_msg("unexpected sysfs write: %s", g_timeline.item[i]);
}

/* ---- running reconf ---- */

static void ui_step(void *data, const char *what, long ms, bool ok)
{
	(void)data;
	(void)ms;
	list_add(&g_steps, "%s %s", ok ? "ok" : "FAIL", what);
}

static void ui_warn(void *data, const char *msg)
{
	(void)data;
	list_add(&g_warnings, "%s", msg);
}

static int reconf(unsigned n, bool pause, struct esfm_err *err)
{
	struct esfm_ui ui = {ui_step, ui_warn, NULL, NULL};
	struct esfm_op_opts opts = {0};
	struct esfm_pci_addr pf;
	struct esfm_ctx ctx;
	int r;

	opts.yes = true;
	opts.pause = pause;
	opts.detach_timeout_ms = 1000;
	snprintf(opts.vm_base, sizeof(opts.vm_base), "everestg");
	assert_int_equal(esfm_pci_addr_parse(PF_BDF, &pf, err), 0);
	if (esfm_ctx_init(&ctx, err) < 0)
		fail_msg("esfm_ctx_init: %s", err->msg);
	r = esfm_op_reconf(&ctx, &pf, n, &opts, &ui, err);
	esfm_ctx_fini(&ctx);
	sync_sysfs();
	return r;
}

static void expect_timeline(const char *skip, const char *want)
{
	char *got = list_text(&g_timeline, skip);

	if (strcmp(got, want)) {
		char *steps = list_text(&g_steps, NULL);

		print_error("timeline:\n%s\nexpected:\n%s\nsteps:\n%s\n", got, want, steps);
		free(steps);
		free(got);
		fail_msg("unexpected order of QMP commands and sysfs writes");
	}
	free(got);
	assert_int_equal(g_qmp_bad_flags, 0);
}

static void expect_error(int r, const struct esfm_err *err, enum esfm_err_class cls,
			 const char *msg)
{
	if (r == 0)
		fail_msg("reconf succeeded, expected: %s", msg);
	if (err->cls != cls || strcmp(err->msg, msg))
		fail_msg("error (class %d): '%s'\nexpected (class %d): '%s'", err->cls, err->msg,
			 cls, msg);
}

static void expect_success(int r, const struct esfm_err *err)
{
	if (r != 0) {
		char *t = list_text(&g_timeline, NULL);

		print_error("timeline:\n%s\n", t);
		free(t);
		fail_msg("reconf failed: %s (hint: %s)", err->msg, err->hint);
	}
}

/* The timeline line of a device_pause command. */
static char *pause_line(const char *vm, const char *alias, bool on)
{
	char *s = NULL;

	if (asprintf(&s, "qmp %s " PAUSE_FMT, vm, alias, on ? "true" : "false") < 0)
		fail_msg("asprintf");
	return s;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	char path[PATH_MAX];

	(void)state;
	if (g_skip[0])
		return 0;
	list_clear(&g_timeline);
	list_clear(&g_steps);
	list_clear(&g_warnings);
	memset(g_qemu, 0, sizeof(g_qemu));
	g_qmp_bad_flags = 0;
	g_raise_sig = 0;
	g_raise_on = NULL;
	g_break_vf0_on = NULL;
	tu_path(path, "%s/fpga0.state", g_state);
	unlink(path);
	sim_reset(2);
	g_sim_lines_seen = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	list_clear(&g_timeline);
	list_clear(&g_steps);
	list_clear(&g_warnings);
	return 0;
}

/* ---- tests ---- */

/* 2 -> 3: both guests' devices are paused, the VFs re-created and rebound, both resumed. */
static void test_pause_grow(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	write_two_guests(false);
	r = reconf(3, true, &err);
	expect_success(r, &err);
	expect_timeline(
		NULL, "qmp everestg0 " QCMDS "\n"
		      "qmp everestg1 " QCMDS "\n"
		      "qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		      "fpga0-0\",\"pause\":true}}\n"
		      "qmp everestg1 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		      "fpga0-1\",\"pause\":true}}\n"
		      "sysfs bus/pci/drivers/vfio-pci/unbind " VF0 "\n"
		      "sysfs bus/pci/drivers/vfio-pci/unbind " VF1 "\n"
		      "sysfs " PF_DIR "/sriov_numvfs 0\n"
		      "sysfs " PF_DIR "/sriov_numvfs 3\n"
		      "sysfs devices/pci0000:83/" VF0 "/driver_override vfio-pci\n"
		      "sysfs bus/pci/drivers_probe " VF0 "\n"
		      "sysfs devices/pci0000:83/" VF1 "/driver_override vfio-pci\n"
		      "sysfs bus/pci/drivers_probe " VF1 "\n"
		      "sysfs devices/pci0000:83/" VF2 "/driver_override vfio-pci\n"
		      "sysfs bus/pci/drivers_probe " VF2 "\n"
		      "qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		      "fpga0-0\",\"pause\":false}}\n"
		      "qmp everestg1 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		      "fpga0-1\",\"pause\":false}}\n");
	expect_attr(PF_DIR "/sriov_numvfs", "3");
	expect_attr(PF_DIR "/sriov_drivers_autoprobe", "0");
	expect_driver(VF0, "vfio-pci");
	expect_driver(VF1, "vfio-pci");
	expect_driver(VF2, "vfio-pci");
	/* everestg2 does not exist: -y leaves VF 2 unattached, with a warning naming it */
	assert_int_equal(g_warnings.n, 1);
	assert_non_null(strstr(g_warnings.item[0], "everestg2"));
	for (size_t i = 0; i < g_steps.n; i++)
		assert_true(!strncmp(g_steps.item[i], "ok ", 3));
}

/*
 * 2 -> 1: VF 1 is gone, so everestg1's paused device must be detached
 * (everestg1 is transient here: no persistent hostdev to drop first). The
 * test driver cannot detach: the reconf fails at exactly that step, after
 * VF 0 was resumed, and says why.
 */
static void test_pause_shrink_detaches_the_gone_vf(void **state)
{
	struct esfm_err err = {0};
	char path[PATH_MAX];
	struct esfm_pool_state st = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	write_two_guests(true);
	r = reconf(1, true, &err);
	expect_timeline(
		NULL, "qmp everestg0 " QCMDS "\n"
		      "qmp everestg1 " QCMDS "\n"
		      "qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		      "fpga0-0\",\"pause\":true}}\n"
		      "qmp everestg1 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		      "fpga0-1\",\"pause\":true}}\n"
		      "sysfs bus/pci/drivers/vfio-pci/unbind " VF0 "\n"
		      "sysfs bus/pci/drivers/vfio-pci/unbind " VF1 "\n"
		      "sysfs " PF_DIR "/sriov_numvfs 0\n"
		      "sysfs " PF_DIR "/sriov_numvfs 1\n"
		      "sysfs devices/pci0000:83/" VF0 "/driver_override vfio-pci\n"
		      "sysfs bus/pci/drivers_probe " VF0 "\n"
		      "qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		      "fpga0-0\",\"pause\":false}}\n");
	expect_error(r, &err, ESFM_ERR_FAILED,
		     "detach paused VF 1 from 'everestg1' (ua-esfm-fpga0-1): cannot detach the "
		     "device: this function is not supported by the connection driver: "
		     "virDomainDetachDeviceAlias");
	assert_true(g_steps.n > 0);
	assert_string_equal(g_steps.item[g_steps.n - 1],
			    "FAIL detach paused VF 1 from 'everestg1' (ua-esfm-fpga0-1)");
	expect_attr(PF_DIR "/sriov_numvfs", "1");
	expect_driver(VF0, "vfio-pci");
	/*
	 * The ledger says what libvirt shows: VF 0 is everestg0's (resumed), and
	 * VF 1, gone from sysfs, is still everestg1's (its paused device is in the
	 * live XML): nobody else may be given either.
	 */
	tu_path(path, "%s/fpga0.state", g_state);
	assert_true(tu_exists(path));
	assert_int_equal(esfm_state_load(g_state, "fpga0", &st, &err), 0);
	assert_int_equal(st.nvfs, 2);
	assert_int_equal(st.vfs[0].state, ESFM_VF_ATTACHED);
	assert_string_equal(st.vfs[0].name, "everestg0");
	assert_int_equal(st.vfs[1].state, ESFM_VF_ATTACHED);
	assert_string_equal(st.vfs[1].name, "everestg1");
	esfm_state_clear(&st);
}

/*
 * 2 -> 1 with everestg1 persistent: its persistent hostdev of VF 1 must go.
 * The test driver cannot detach: the step fails, before any sysfs write.
 */
static void test_pause_shrink_drop_config_fails_clearly(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	write_two_guests(false);
	r = reconf(1, true, &err);
	expect_error(r, &err, ESFM_ERR_FAILED,
		     "remove VF 1 from the persistent config of 'everestg1': cannot detach the "
		     "device: this function is not supported by the connection driver: "
		     "virDomainDetachDeviceFlags");
	expect_no_sysfs_writes();
	expect_attr(PF_DIR "/sriov_numvfs", "2");
	expect_driver(VF0, "vfio-pci");
	expect_driver(VF1, "vfio-pci");
}

/* Count the device_pause commands for @alias with @on in the timeline. */
static size_t count_pause(const char *vm, const char *alias, bool on)
{
	char *want = pause_line(vm, alias, on);
	size_t n = 0;

	for (size_t i = 0; i < g_timeline.n; i++)
		n += !strcmp(g_timeline.item[i], want);
	free(want);
	return n;
}

/*
 * A reconf that fails after pausing guests' devices, while their VFs still
 * exist, must resume them: a device left paused is a guest frozen forever.
 * Three ways to fail after the first pause: the persistent hostdev of a VF
 * beyond the new count cannot be dropped; the next guest's QEMU has no
 * device_pause and its hot-unplug fails; the next guest's QEMU refuses
 * device_pause.
 */
static void test_failed_reconf_leaves_no_device_paused(void **state)
{
	static const struct {
		const char *what;
		unsigned n;
		bool vm1_transient;
		enum qemu_kind vm1;
	} cases[] = {
		{"persistent hostdev of VF 1 cannot be dropped", 1, false, QEMU_PAUSE},
		{"everestg1 has no device_pause, its hot-unplug fails", 3, false, QEMU_STOCK},
		{"everestg1's QEMU refuses device_pause", 3, false, QEMU_REFUSES},
	};
	int failures = 0;

	(void)state;
	SKIP_IF_NEEDED();
	for (size_t c = 0; c < ESFM_ARRAY_SIZE(cases); c++) {
		struct esfm_err err = {0};
		int r;

		if (c > 0) {
			setup(NULL);
		}
		g_qemu[1] = cases[c].vm1;
		write_two_guests(cases[c].vm1_transient);
		r = reconf(cases[c].n, true, &err);
		if (r == 0) {
			print_error("%s: reconf succeeded\n", cases[c].what);
			failures++;
			continue;
		}
		for (unsigned vm = 0; vm < 2; vm++) {
			char name[16], alias[32];
			size_t on, off;

			snprintf(name, sizeof(name), "everestg%u", vm);
			snprintf(alias, sizeof(alias), "ua-esfm-fpga0-%u", vm);
			on = count_pause(name, alias, true);
			off = count_pause(name, alias, false);
			if (cases[c].vm1 == QEMU_REFUSES && vm == 1)
				continue; /* its pause failed: nothing to undo */
			if (on != off) {
				char *t = list_text(&g_timeline, NULL);

				print_error(
					"%s (%s): %s's device %s paused %zu time(s), resumed %zu "
					"time(s); timeline:\n%s\n",
					cases[c].what, err.msg, name, alias, on, off, t);
				free(t);
				failures++;
			}
		}
	}
	if (failures)
		fail_msg("%d device(s) left paused by a failed reconf", failures);
}

/* A QEMU without query-commands (CommandNotFound): one warning per VM, the unplug path. */
static void test_no_query_commands_falls_back_to_unplug(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	g_qemu[0] = g_qemu[1] = QEMU_ANCIENT;
	write_two_guests(false);
	r = reconf(3, true, &err);
	expect_timeline(NULL, "qmp everestg0 " QCMDS "\n"
			      "qmp everestg1 " QCMDS "\n");
	/* one one-line warning per VM, plus the one about the missing everestg2 */
	assert_int_equal(g_warnings.n, 3);
	assert_int_equal(
		warned("VM 'everestg0': QEMU has no device_pause; hot-unplugging VF 0 instead",
		       false),
		1);
	assert_int_equal(
		warned("VM 'everestg1': QEMU has no device_pause; hot-unplugging VF 1 instead",
		       false),
		1);
	assert_int_equal(warned("everestg2", true), 1);
	assert_int_equal(warned("\n", true), 0);
	/* the unplug path: hot-unplug first, which the test driver cannot do */
	expect_error(r, &err, ESFM_ERR_FAILED,
		     "hot-unplug VF 0 from 'everestg0' (ua-esfm-fpga0-0): cannot detach the "
		     "device: this function is not supported by the connection driver: "
		     "virDomainDetachDeviceAlias");
	assert_int_equal(g_steps.n, 1);
	assert_string_equal(g_steps.item[0],
			    "FAIL hot-unplug VF 0 from 'everestg0' (ua-esfm-fpga0-0)");
	expect_attr(PF_DIR "/sriov_numvfs", "2");
}

/* A stock QEMU: query-commands works but has no device_pause. */
static void test_stock_qemu_falls_back_to_unplug(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	g_qemu[0] = g_qemu[1] = QEMU_STOCK;
	write_two_guests(false);
	r = reconf(3, true, &err);
	expect_timeline(NULL, "qmp everestg0 " QCMDS "\n"
			      "qmp everestg1 " QCMDS "\n");
	/* one one-line warning per VM, plus the one about the missing everestg2 */
	assert_int_equal(g_warnings.n, 3);
	assert_int_equal(
		warned("VM 'everestg0': QEMU has no device_pause; hot-unplugging VF 0 instead",
		       false),
		1);
	assert_int_equal(
		warned("VM 'everestg1': QEMU has no device_pause; hot-unplugging VF 1 instead",
		       false),
		1);
	expect_error(r, &err, ESFM_ERR_FAILED,
		     "hot-unplug VF 0 from 'everestg0' (ua-esfm-fpga0-0): cannot detach the "
		     "device: this function is not supported by the connection driver: "
		     "virDomainDetachDeviceAlias");
}

/* everestg0 pauses, everestg1 (stock QEMU) is hot-unplugged: only everestg1 is warned about. */
static void test_mixed_qemus(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	g_qemu[1] = QEMU_STOCK;
	write_two_guests(false);
	r = reconf(3, true, &err);
	assert_true(g_timeline.n >= 3);
	assert_string_equal(g_timeline.item[0], "qmp everestg0 " QCMDS);
	assert_string_equal(g_timeline.item[1], "qmp everestg1 " QCMDS);
	assert_string_equal(g_timeline.item[2],
			    "qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":"
			    "\"ua-esfm-fpga0-0\",\"pause\":true}}");
	assert_int_equal(count_pause("everestg1", "ua-esfm-fpga0-1", true), 0);
	assert_int_equal(
		warned("VM 'everestg1': QEMU has no device_pause; hot-unplugging VF 1 instead",
		       false),
		1);
	/* The unplug of VF 1 fails: everestg0's device, paused already, is given back. */
	assert_int_equal(warned("VF 0 resumed in 'everestg0' after the failure", false), 1);
	assert_int_equal(count_pause("everestg0", "ua-esfm-fpga0-0", false), 1);
	assert_int_equal(warned("device_pause", true), 1);
	expect_error(r, &err, ESFM_ERR_FAILED,
		     "hot-unplug VF 1 from 'everestg1' (ua-esfm-fpga0-1): cannot detach the "
		     "device: this function is not supported by the connection driver: "
		     "virDomainDetachDeviceAlias");
	expect_no_sysfs_writes();
}

/* QEMU lists device_pause but refuses it: the error names the VM, the alias and QEMU's reason. */
static void test_device_pause_refused(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	g_qemu[1] = QEMU_REFUSES;
	write_two_guests(false);
	r = reconf(3, true, &err);
	expect_error(r, &err, ESFM_ERR_FAILED,
		     "pause VF 1 in 'everestg1' (ua-esfm-fpga0-1): device_pause ua-esfm-fpga0-1 "
		     "on: QEMU refused the command: GenericError: Device is busy");
	expect_no_sysfs_writes();
	expect_attr(PF_DIR "/sriov_numvfs", "2");
}

/*
 * A QEMU that libvirt cannot reach is not one without device_pause: the
 * warning names the reason, and its VF is hot-unplugged instead.
 */
static void test_unreachable_qemu_is_named_with_the_reason(void **state)
{
	struct esfm_err err = {0};

	(void)state;
	SKIP_IF_NEEDED();
	g_qemu[0] = QEMU_UNREACHABLE;
	write_two_guests(false);
	(void)reconf(3, true, &err);
	assert_int_equal(
		warned("VM 'everestg0': cannot query device_pause: cannot ask QEMU for its "
		       "commands (query-commands): this function is not supported by the "
		       "connection driver: virDomainQemuMonitorCommand; hot-unplugging VF 0",
		       false),
		1);
	assert_int_equal(warned("VM 'everestg0': QEMU has no device_pause", true), 0);
	assert_int_equal(warned("VM 'everestg1'", true), 0);
}

/*
 * A failed reconf gives back the devices it paused; one it cannot give back
 * is named with the real reason (here: its VF cannot be bound to vfio-pci
 * again), not "its VF is gone" while the VF exists.
 */
static void test_resume_after_failure_names_the_real_cause(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	g_qemu[1] = QEMU_REFUSES;
	g_break_vf0_on = "\"ua-esfm-fpga0-1\",\"pause\":true";
	write_two_guests(false);
	r = reconf(3, true, &err);
	assert_int_equal(r, -1);
	assert_int_equal(warned("its VF is gone", true), 0);
	assert_int_equal(warned("VF 0 stays paused in 'everestg0': ", true), 1);
	assert_int_equal(warned("Input/output error; run reconf again to give it back", true), 1);
}

/*
 * A device QEMU cannot resume (its re-created VF landed in an IOMMU group that
 * libvirt never gave this QEMU, say) is replaced through libvirt: hot-unplugged
 * and attached again. The test driver cannot detach, so here the replacement
 * fails and says so; the other guest's device is still resumed.
 */
static void test_refused_resume_is_replaced_by_unplug_and_attach(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	g_qemu[0] = QEMU_NO_RESUME;
	write_two_guests(false);
	r = reconf(3, true, &err);
	assert_int_equal(r, -1);
	assert_int_equal(
		warned("VM 'everestg0': VF 0 cannot be resumed (device_pause ua-esfm-fpga0-0 off: "
		       "QEMU refused the command: GenericError: cannot resume, the device stays "
		       "paused: failed to open /dev/vfio/12: No such file or directory); "
		       "hot-unplugging and re-attaching it instead",
		       false),
		1);
	if (!strstr(err.msg, "resume VF 0 in 'everestg0' (ua-esfm-fpga0-0): cannot replace the "
			     "paused device by hot-unplug: "))
		fail_msg("error: '%s'", err.msg);
	assert_int_equal(warned("VF 1 resumed in 'everestg1' after the failure", false), 1);
}

/*
 * Several VFs in one guest, with the aliases the guest has (an esfm one and
 * somebody else's): each is paused and resumed by its own alias, never a
 * fixed hostdev0.
 */
static void test_several_vfs_in_one_vm(void **state)
{
	const struct dom doms[] = {
		{"everestg0",
		 true,
		 false,
		 {{VF0, "ua-esfm-fpga0-0"}, {VF1, "ua-nic-7"}, {NULL, NULL}},
		 NULL},
	};
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	write_node(doms, ESFM_ARRAY_SIZE(doms));
	r = reconf(3, true, &err);
	expect_success(r, &err);
	expect_timeline(
		"query-commands",
		"qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		"fpga0-0\",\"pause\":true}}\n"
		"qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-nic-7\","
		"\"pause\":true}}\n"
		"sysfs bus/pci/drivers/vfio-pci/unbind " VF0 "\n"
		"sysfs bus/pci/drivers/vfio-pci/unbind " VF1 "\n"
		"sysfs " PF_DIR "/sriov_numvfs 0\n"
		"sysfs " PF_DIR "/sriov_numvfs 3\n"
		"sysfs devices/pci0000:83/" VF0 "/driver_override vfio-pci\n"
		"sysfs bus/pci/drivers_probe " VF0 "\n"
		"sysfs devices/pci0000:83/" VF1 "/driver_override vfio-pci\n"
		"sysfs bus/pci/drivers_probe " VF1 "\n"
		"sysfs devices/pci0000:83/" VF2 "/driver_override vfio-pci\n"
		"sysfs bus/pci/drivers_probe " VF2 "\n"
		"qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		"fpga0-0\",\"pause\":false}}\n"
		"qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-nic-7\","
		"\"pause\":false}}\n");
	/* support was detected before the first pause */
	assert_string_equal(g_timeline.item[0], "qmp everestg0 " QCMDS);
	for (size_t i = 0; i < g_timeline.n; i++)
		assert_null(strstr(g_timeline.item[i], "hostdev0"));
}

/* A stopped guest holding a VF persistently is not paused (no QMP to it at all). */
static void test_stopped_vm_is_left_alone(void **state)
{
	const struct dom doms[] = {
		{"everestg0", true, false, {{VF0, "ua-esfm-fpga0-0"}, {NULL, NULL}}, NULL},
		{"everestg1", false, false, {{VF1, "ua-esfm-fpga0-1"}, {NULL, NULL}}, NULL},
	};
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	write_node(doms, ESFM_ARRAY_SIZE(doms));
	r = reconf(3, true, &err);
	expect_success(r, &err);
	expect_timeline(
		NULL, "qmp everestg0 " QCMDS "\n"
		      "qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		      "fpga0-0\",\"pause\":true}}\n"
		      "sysfs bus/pci/drivers/vfio-pci/unbind " VF0 "\n"
		      "sysfs " PF_DIR "/sriov_numvfs 0\n"
		      "sysfs " PF_DIR "/sriov_numvfs 3\n"
		      "sysfs devices/pci0000:83/" VF0 "/driver_override vfio-pci\n"
		      "sysfs bus/pci/drivers_probe " VF0 "\n"
		      "sysfs devices/pci0000:83/" VF1 "/driver_override vfio-pci\n"
		      "sysfs bus/pci/drivers_probe " VF1 "\n"
		      "sysfs devices/pci0000:83/" VF2 "/driver_override vfio-pci\n"
		      "sysfs bus/pci/drivers_probe " VF2 "\n"
		      "qmp everestg0 {\"execute\":\"device_pause\",\"arguments\":{\"id\":\"ua-esfm-"
		      "fpga0-0\",\"pause\":false}}\n");
}

/* Without -p nothing is paused: running guests' VFs are hot-unplugged (unsupported here). */
static void test_without_pause_no_qmp(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	write_two_guests(false);
	r = reconf(3, false, &err);
	expect_timeline(NULL, "");
	assert_int_equal(g_warnings.n, 1); /* everestg2 missing */
	expect_error(r, &err, ESFM_ERR_FAILED,
		     "hot-unplug VF 0 from 'everestg0' (ua-esfm-fpga0-0): cannot detach the "
		     "device: this function is not supported by the connection driver: "
		     "virDomainDetachDeviceAlias");
}

/* The same count: nothing to pause, nothing written. */
static void test_same_count_pauses_nothing(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	write_two_guests(false);
	r = reconf(2, true, &err);
	expect_success(r, &err);
	expect_timeline("query-commands", "");
	expect_attr(PF_DIR "/sriov_numvfs", "2");
}

/*
 * Ctrl-C (SIGINT), SIGTERM or a dropped session (SIGHUP) while guests'
 * devices are being paused: the current step finishes, what was done is
 * undone (everestg0's device resumed), nothing reaches sysfs, and the error
 * says so. The process is not killed by the signal.
 */
static void test_signal_before_the_vfs_go_undoes_the_pauses(void **state)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	static const char *const names[] = {"SIGINT", "SIGTERM", "SIGHUP"};

	(void)state;
	SKIP_IF_NEEDED();
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(sigs); i++) {
		struct esfm_err err = {0};
		char want[256];
		int r;

		if (i > 0)
			setup(NULL);
		write_two_guests(false);
		g_raise_sig = sigs[i];
		g_raise_on = "\"ua-esfm-fpga0-0\",\"pause\":true";
		r = reconf(3, true, &err);
		snprintf(want, sizeof(want),
			 "interrupted by %s before: pause VF 1 in 'everestg1' (ua-esfm-fpga0-1)",
			 names[i]);
		expect_error(r, &err, ESFM_ERR_FAILED, want);
		expect_no_sysfs_writes();
		assert_int_equal(count_pause("everestg0", "ua-esfm-fpga0-0", true), 1);
		assert_int_equal(count_pause("everestg0", "ua-esfm-fpga0-0", false), 1);
		assert_int_equal(count_pause("everestg1", "ua-esfm-fpga0-1", true), 0);
		assert_int_equal(warned("VF 0 resumed in 'everestg0' after the failure", false), 1);
		expect_attr(PF_DIR "/sriov_numvfs", "2");
	}
	/* the dispositions are back: the next SIGTERM would end the process */
	{
		struct sigaction sa;

		assert_int_equal(sigaction(SIGTERM, NULL, &sa), 0);
		assert_true(sa.sa_handler == SIG_DFL);
	}
}

/* A signal once the VFs are gone: the change is finished (the guests get their devices back). */
static void test_signal_after_the_vfs_went_finishes_the_change(void **state)
{
	struct esfm_err err = {0};
	int r;

	(void)state;
	SKIP_IF_NEEDED();
	write_two_guests(false);
	g_raise_sig = SIGTERM;
	g_raise_on = "\"ua-esfm-fpga0-0\",\"pause\":false";
	r = reconf(3, true, &err);
	expect_success(r, &err);
	assert_int_equal(count_pause("everestg1", "ua-esfm-fpga0-1", false), 1);
	expect_attr(PF_DIR "/sriov_numvfs", "3");
	assert_int_equal(warned("SIGTERM received while the VFs were re-created: the change was "
				"finished first",
				false),
			 1);
}

/*
 * kill -9 of a reconf -p while the VFs are gone (its sriov_numvfs write is
 * slowed down): both guests' devices are paused, the VF count half changed.
 * The next command (pool-gc here) finds the journal and the dead busy mark,
 * creates the VFs the reconf was going to, gives both devices back, says so,
 * and leaves no journal and no busy mark.
 */
static void test_killed_reconf_is_recovered_by_the_next_command(void **state)
{
	struct esfm_ui ui = {ui_step, ui_warn, NULL, NULL};
	struct esfm_pool_state st = {0};
	struct esfm_err err = {0};
	struct esfm_ctx ctx;
	size_t freed = 0;
	char path[PATH_MAX];
	pid_t child;
	int status, journaled = 0;

	(void)state;
	SKIP_IF_NEEDED();
	write_two_guests(false);
	sim_write("sim-control", "delay " PF_BDF " sriov_numvfs 1500\n");
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct esfm_err e = {0};

		_exit(reconf(3, true, &e) == 0 ? 0 : 1);
	}
	tu_path(path, "%s/fpga0.state", g_state);
	for (int i = 0; i < 500 && !journaled; i++) {
		char *text = tu_exists(path) ? tu_slurp(path) : NULL;

		journaled = text && strstr(text, "numvfs=\"changing\"") != NULL;
		free(text);
		if (!journaled)
			esfm_sleep_ms(10);
	}
	esfm_sleep_ms(300);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &status, 0), child);
	sim_write("sim-control", "delay " PF_BDF " sriov_numvfs 0\n");
	esfm_sleep_ms(1600); /* the write in flight at the kill settles */
	if (!journaled || !WIFSIGNALED(status))
		fail_msg("the reconf never reached the VF count change (journaled %d, status %d)",
			 journaled, status);
	list_clear(&g_timeline);
	if (esfm_ctx_init(&ctx, &err) < 0)
		fail_msg("esfm_ctx_init: %s", err.msg);
	if (esfm_op_gc(&ctx, NULL, &ui, &freed, &err) < 0)
		fail_msg("pool-gc after the kill: %s", err.msg);
	esfm_ctx_fini(&ctx);
	expect_attr(PF_DIR "/sriov_numvfs", "3");
	expect_driver(VF0, "vfio-pci");
	expect_driver(VF2, "vfio-pci");
	assert_int_equal(count_pause("everestg0", "ua-esfm-fpga0-0", false), 1);
	assert_int_equal(count_pause("everestg1", "ua-esfm-fpga0-1", false), 1);
	{
		bool said_vfs = false, said_vf0 = false, said_vf1 = false;

		for (size_t i = 0; i < g_steps.n; i++) {
			said_vfs |=
				strstr(g_steps.item[i], "recover: 3 VFs created and bound") != NULL;
			said_vf0 |= strstr(g_steps.item[i],
					   "recover: VF 0 resumed in 'everestg0'") != NULL;
			said_vf1 |= strstr(g_steps.item[i],
					   "recover: VF 1 resumed in 'everestg1'") != NULL;
		}
		if (!said_vfs || !said_vf0 || !said_vf1) {
			char *t = list_text(&g_steps, NULL);

			print_error("steps:\n%s\n", t);
			free(t);
			fail_msg("pool-gc did not say what it recovered");
		}
	}
	assert_int_equal(esfm_state_load(g_state, "fpga0", &st, &err), 0);
	assert_false(st.journal.active);
	assert_int_equal(st.busy.pid, 0);
	esfm_state_clear(&st);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_pause_grow),
		T(test_pause_shrink_detaches_the_gone_vf),
		T(test_pause_shrink_drop_config_fails_clearly),
		T(test_failed_reconf_leaves_no_device_paused),
		T(test_no_query_commands_falls_back_to_unplug),
		T(test_stock_qemu_falls_back_to_unplug),
		T(test_mixed_qemus),
		T(test_device_pause_refused),
		T(test_unreachable_qemu_is_named_with_the_reason),
		T(test_resume_after_failure_names_the_real_cause),
		T(test_refused_resume_is_replaced_by_unplug_and_attach),
		T(test_several_vfs_in_one_vm),
		T(test_stopped_vm_is_left_alone),
		T(test_without_pause_no_qmp),
		T(test_same_count_pauses_nothing),
		T(test_signal_before_the_vfs_go_undoes_the_pauses),
		T(test_signal_after_the_vfs_went_finishes_the_change),
		T(test_killed_reconf_is_recovered_by_the_next_command),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
