/* SPDX-License-Identifier: MIT */
/*
 * The environment of the unit tests that run esfm's operations end to end:
 * the FUSE sysfs simulator (tests/sim, topology tests/unit/fixtures/cli/
 * pause.topo: PF 0000:83:00.0 with VFs at 83:00.4, .5, .6), started once for
 * the group and stopped by pid; libvirt's test driver on a node file the test
 * writes (write_node); esfm.conf and pool 'fpga0' (8 VFs, vfio-pci) in a
 * private directory. Needs root and /dev/fuse: without them every test skips
 * (SKIP_IF_NEEDED), saying why.
 */
#ifndef ESFM_SIMENV_H
#define ESFM_SIMENV_H

#include "testutil.h"

#include "util.h"

#define PF_BDF "0000:83:00.0"
#define VF0    "0000:83:00.4"
#define VF1    "0000:83:00.5"
#define VF2    "0000:83:00.6"
#define PF_DIR "devices/pci0000:83/0000:83:00.0"

/* ---- environment ---- */

static char g_top[PATH_MAX], g_build[PATH_MAX];
static char *g_dir;
static char g_mnt[PATH_MAX], g_conf[PATH_MAX], g_state[PATH_MAX], g_node[PATH_MAX];
static long g_sim_pid;
static char g_skip[512];

static inline void sim_path(char buf[PATH_MAX], const char *rel)
{
	tu_path(buf, "%s/%s", g_mnt, rel);
}

/* ---- simulator ---- */

static inline void sim_write(const char *rel, const char *value)
{
	char path[PATH_MAX];
	int fd;

	sim_path(path, rel);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	if (write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		fail_msg("write '%s' to %s: %s", value, path, strerror(errno));
	close(fd);
}

static char *sim_read(const char *rel)
{
	char path[PATH_MAX];
	char *s;

	sim_path(path, rel);
	s = tu_slurp(path);
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static inline void expect_attr(const char *rel, const char *want)
{
	tu_assert_text(rel, sim_read(rel), want);
}

/* The driver a device is bound to, "" if none. */
static inline void driver_of(const char *bdf, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;
	const char *slash;

	tu_path(path, "%s/bus/pci/devices/%s/driver", g_mnt, bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(buf, len, "%s", "");
		return;
	}
	target[n] = '\0';
	slash = strrchr(target, '/');
	slash = slash ? slash + 1 : target;
	if (strlen(slash) >= len)
		fail_msg("driver name '%s' longer than %zu", slash, len);
	memcpy(buf, slash, strlen(slash) + 1);
}

static inline void expect_driver(const char *bdf, const char *want)
{
	char drv[64];

	driver_of(bdf, drv, sizeof(drv));
	if (strcmp(drv, want))
		fail_msg("%s is bound to '%s', expected '%s'", bdf, drv, want);
}

/* numvfs VFs, each bound to vfio-pci, autoprobe off; then an empty write log. */
static inline void sim_reset(unsigned numvfs)
{
	static const char *const vfs[] = {VF0, VF1, VF2};
	char n[8], rel[128];

	sim_write(PF_DIR "/sriov_numvfs", "0");
	sim_write(PF_DIR "/sriov_drivers_autoprobe", "0");
	snprintf(n, sizeof(n), "%u", numvfs);
	if (numvfs)
		sim_write(PF_DIR "/sriov_numvfs", n);
	for (unsigned i = 0; i < numvfs && i < 3; i++) {
		snprintf(rel, sizeof(rel), "bus/pci/devices/%s/driver_override", vfs[i]);
		sim_write(rel, "vfio-pci");
		sim_write("bus/pci/drivers_probe", vfs[i]);
		expect_driver(vfs[i], "vfio-pci");
	}
	sim_write("sim-control", "log clear\n");
}

/* ---- libvirt test driver: the node file ---- */

struct hd {
	const char *bdf; /* NULL ends the list */
	const char *alias;
};

struct dom {
	const char *name;
	bool running;
	bool transient;
	struct hd hd[3];
	const char *metadata; /* verbatim inside <metadata>, NULL: none */
};

static inline void write_node(const struct dom *doms, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fputs("<node>\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct dom *d = &doms[i];

		fprintf(f,
			"  <domain type='test' "
			"xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
			"    <name>%s</name>\n"
			"    <uuid>6b3f0d5c-0000-4000-8000-%012zu</uuid>\n"
			"    <memory>65536</memory>\n    <vcpu>1</vcpu>\n"
			"    <os><type>hvm</type></os>\n",
			d->name, i);
		if (d->metadata)
			fprintf(f, "    <metadata>%s</metadata>\n", d->metadata);
		fputs("    <devices>\n", f);
		for (size_t h = 0; h < 3 && d->hd[h].bdf; h++) {
			const char *b = d->hd[h].bdf;

			fprintf(f,
				"      <hostdev mode='subsystem' type='pci' managed='no'>\n"
				"        <source><address domain='0x%.4s' bus='0x%.2s' "
				"slot='0x%.2s' function='0x%.1s'/></source>\n"
				"        <alias name='%s'/>\n      </hostdev>\n",
				b, b + 5, b + 8, b + 11, d->hd[h].alias);
		}
		fputs("    </devices>\n", f);
		if (!d->running)
			fputs("    <test:runstate>5</test:runstate>\n", f);
		if (d->transient)
			fputs("    <test:transient/>\n", f);
		fputs("  </domain>\n", f);
	}
	fputs("</node>\n", f);
	assert_int_equal(fclose(f), 0);
	tu_write(g_node, buf);
	free(buf);
}

/* The two running guests of the scenario, one VF each. */
static inline void write_two_guests(bool vm1_transient)
{
	const struct dom doms[] = {
		{"everestg0", true, false, {{VF0, "ua-esfm-fpga0-0"}, {NULL, NULL}}, NULL},
		{"everestg1", true, vm1_transient, {{VF1, "ua-esfm-fpga0-1"}, {NULL, NULL}}, NULL},
	};

	write_node(doms, ESFM_ARRAY_SIZE(doms));
}

static inline bool find_top_and_build(void)
{
	const char *t = getenv("ESFM_TOP"), *b = getenv("ESFM_BUILD");
	char exe[PATH_MAX];
	ssize_t n;

	if (b && *b) {
		snprintf(g_build, sizeof(g_build), "%s", b);
	} else {
		/* <build>/tests/unit/test_pause */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0)
			return false;
		exe[n] = '\0';
		for (int up = 0; up < 3; up++) {
			char *slash = strrchr(exe, '/');

			if (!slash)
				return false;
			*slash = '\0';
		}
		snprintf(g_build, sizeof(g_build), "%s", exe);
	}
	if (t && *t) {
		snprintf(g_top, sizeof(g_top), "%s", t);
	} else {
		/* <top>/build/check */
		char *slash;

		snprintf(g_top, sizeof(g_top), "%s", g_build);
		for (int up = 0; up < 2 && (slash = strrchr(g_top, '/')); up++)
			*slash = '\0';
	}
	return true;
}

static inline int group_setup(void **state)
{
	char path[PATH_MAX], topo[PATH_MAX];
	char *cmd = NULL, *conf = NULL;
	FILE *p;

	(void)state;
	if (geteuid() != 0) {
		snprintf(g_skip, sizeof(g_skip), "needs root (FUSE mount)");
		return 0;
	}
	if (access("/dev/fuse", R_OK | W_OK) < 0) {
		snprintf(g_skip, sizeof(g_skip), "no /dev/fuse");
		return 0;
	}
	if (!find_top_and_build()) {
		snprintf(g_skip, sizeof(g_skip),
			 "cannot find the build: set ESFM_TOP and ESFM_BUILD");
		return 0;
	}
	tu_path(topo, "%s/tests/unit/fixtures/cli/pause.topo", g_top);
	tu_path(path, "%s/tests/sim/esfm-sysfs-sim", g_build);
	if (access(topo, R_OK) < 0 || access(path, X_OK) < 0) {
		snprintf(g_skip, sizeof(g_skip),
			 "missing %.200s or %.200s (set ESFM_TOP, ESFM_BUILD)", topo, path);
		return 0;
	}
	g_dir = tu_mkdtemp();
	tu_path(g_mnt, "%s/sys", g_dir);
	tu_path(g_conf, "%s/conf", g_dir);
	tu_path(g_state, "%s/state", g_dir);
	tu_path(g_node, "%s/node.xml", g_dir);
	setenv("ESFM_BUILD", g_build, 1);
	if (asprintf(&cmd, "ESFM_SIM_LOG='%s/sim.log' '%s/tests/sim/sim-start' '%s' '%s'", g_dir,
		     g_top, topo, g_mnt) < 0)
		return -1;
	p = popen(cmd, "r");
	if (!p || fscanf(p, "%ld", &g_sim_pid) != 1)
		g_sim_pid = 0;
	if (p && pclose(p) != 0)
		g_sim_pid = 0;
	free(cmd);
	if (g_sim_pid <= 0) {
		snprintf(g_skip, sizeof(g_skip), "sim-start failed (see %s/sim.log)", g_dir);
		return 0;
	}

	/* esfm.conf and the pool; nothing else of the environment may leak in */
	tu_path(path, "%s/esfm.conf", g_conf);
	if (asprintf(&conf,
		     "# test_pause\n"
		     "sysfs_root = %s\nstate_dir = %s\ntemplate_dir = %s/xml-templates\n"
		     "libvirt_uri = test://%s\nlock_timeout_ms = 1000\nvf_timeout_ms = 2000\n",
		     g_mnt, g_state, g_top, g_node) < 0)
		return -1;
	tu_write(path, conf);
	free(conf);
	tu_path(path, "%s/pools.d/fpga0.xml", g_conf);
	tu_write(path, "<pool type='sriov'>\n  <name>fpga0</name>\n"
		       "  <source><pf address='" PF_BDF "'/></source>\n"
		       "  <vfs count='8' driver='vfio-pci'/>\n</pool>\n");
	setenv("ESFM_CONF_DIR", g_conf, 1);
	unsetenv("ESFM_SYSFS_ROOT");
	unsetenv("ESFM_STATE_DIR");
	unsetenv("ESFM_LIBVIRT_URI");
	unsetenv("ESFM_TEMPLATE_DIR");
	return 0;
}

static inline int group_teardown(void **state)
{
	char *cmd = NULL;

	(void)state;
	if (g_sim_pid > 0) {
		if (asprintf(&cmd, "'%s/tests/sim/sim-stop' '%s' %ld", g_top, g_mnt, g_sim_pid) <
			    0 ||
		    system(cmd) != 0)
			fprintf(stderr, "# sim-stop failed: %s kept\n", g_dir);
		else {
			tu_rmtree(g_dir);
			g_dir = NULL;
		}
		free(cmd);
	}
	free(g_dir);
	return 0;
}

#define SKIP_IF_NEEDED()                                                                           \
	do {                                                                                       \
		if (g_skip[0]) {                                                                   \
			print_message("skipped: %s\n", g_skip);                                    \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

#endif
