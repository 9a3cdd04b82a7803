// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/pci.h.
 *
 * The pure parts (address parsing, formatting, ordering, VF address
 * arithmetic) are tested directly. The sysfs parts run against a small
 * fixture tree built in a private temp dir with plain directories, files
 * and symlinks, laid out like the kernel's:
 *
 *   <root>/devices/pci0000:00/<addr>/{vendor,device,sriov_*,driver,...}
 *   <root>/bus/pci/devices/<addr> -> ../../../devices/pci0000:00/<addr>
 *   <root>/bus/pci/drivers/<name>/{bind,unbind}
 *   <root>/kernel/iommu_groups/<n>
 *
 * Plain files do not behave like sysfs attributes on write (a write lands at
 * offset 0 without truncating), so write tests use values of the same
 * length as the old content, or say so where that is the point.
 */
#include "testutil.h"

#include "pci.h"
#include "util.h"

#define PF_ADDR "0000:83:00.0"

struct fx {
	char *root;
	struct esfm_sysfs *sysfs;
};

static int fx_setup(void **state)
{
	struct esfm_err err;
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->root = tu_mkdtemp();
	fx->sysfs = esfm_sysfs_new(fx->root, &err);
	if (!fx->sysfs)
		return -1;
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	esfm_sysfs_free(fx->sysfs);
	tu_rmtree(fx->root);
	free(fx);
	return 0;
}

static struct esfm_pci_addr pa(const char *s)
{
	struct esfm_pci_addr a;
	struct esfm_err err;

	if (esfm_pci_addr_parse(s, &a, &err) < 0)
		fail_msg("fixture address %s: %s", s, err.msg);
	return a;
}

static bool addr_eq(const struct esfm_pci_addr *a, const struct esfm_pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev && a->fn == b->fn;
}

static void assert_addr(const struct esfm_pci_addr *got, const char *want)
{
	char s[ESFM_PCI_ADDR_STRLEN];

	esfm_pci_addr_str(got, s);
	assert_string_equal(s, want);
}

static char *fx_devdir(struct fx *fx, const char *addr, char buf[PATH_MAX])
{
	return tu_path(buf, "%s/devices/pci0000:00/%s", fx->root, addr);
}

/* A device directory plus its bus/pci/devices link. */
static void fx_device(struct fx *fx, const char *addr, const char *vendor, const char *device)
{
	char dir[PATH_MAX], p[PATH_MAX], target[PATH_MAX];

	tu_mkdirs(fx_devdir(fx, addr, dir));
	tu_write(tu_path(p, "%s/vendor", dir), vendor);
	tu_write(tu_path(p, "%s/device", dir), device);
	tu_symlink(tu_path(target, "../../../devices/pci0000:00/%s", addr),
		   tu_path(p, "%s/bus/pci/devices/%s", fx->root, addr));
}

static void fx_attr(struct fx *fx, const char *addr, const char *attr, const char *content)
{
	char dir[PATH_MAX], p[PATH_MAX];

	tu_write(tu_path(p, "%s/%s", fx_devdir(fx, addr, dir), attr), content);
}

static void fx_link(struct fx *fx, const char *addr, const char *name, const char *target)
{
	char dir[PATH_MAX], p[PATH_MAX];

	tu_symlink(target, tu_path(p, "%s/%s", fx_devdir(fx, addr, dir), name));
}

static char *fx_attr_path(struct fx *fx, const char *addr, const char *attr, char buf[PATH_MAX])
{
	char dir[PATH_MAX];

	return tu_path(buf, "%s/%s", fx_devdir(fx, addr, dir), attr);
}

static void fx_driver(struct fx *fx, const char *addr, const char *driver)
{
	char p[PATH_MAX];

	tu_write(tu_path(p, "%s/bus/pci/drivers/%s/unbind", fx->root, driver), "");
	tu_write(tu_path(p, "%s/bus/pci/drivers/%s/bind", fx->root, driver), "");
	fx_link(fx, addr, "driver", tu_path(p, "../../../bus/pci/drivers/%s", driver));
}

/* An SR-IOV PF as the Xilinx QDMA PF driver presents it. */
static void fx_pf(struct fx *fx, const char *addr, const char *numvfs, const char *offset,
		  const char *stride)
{
	fx_device(fx, addr, "0x10ee\n", "0x9038\n");
	fx_attr(fx, addr, "sriov_totalvfs", "252\n");
	fx_attr(fx, addr, "sriov_numvfs", numvfs);
	fx_attr(fx, addr, "sriov_offset", offset);
	fx_attr(fx, addr, "sriov_stride", stride);
	fx_attr(fx, addr, "sriov_vf_device", "a038\n");
	fx_attr(fx, addr, "sriov_drivers_autoprobe", "1\n");
	fx_driver(fx, addr, "qdma-pf");
}

/* VF @index of PF_ADDR (offset 4, stride 1) as a device and a virtfn link. */
static void fx_vf(struct fx *fx, unsigned index, struct esfm_pci_addr *addr_out)
{
	struct esfm_pci_addr pf = pa(PF_ADDR), vf;
	struct esfm_err err;
	char a[ESFM_PCI_ADDR_STRLEN], name[32], target[PATH_MAX];

	assert_int_equal(esfm_pci_vf_addr_compute(&pf, 4, 1, index, &vf, &err), 0);
	esfm_pci_addr_str(&vf, a);
	fx_device(fx, a, "0x10ee\n", "0xa038\n");
	fx_link(fx, a, "physfn", "../" PF_ADDR);
	snprintf(name, sizeof(name), "virtfn%u", index);
	fx_link(fx, PF_ADDR, name, tu_path(target, "../%s", a));
	if (addr_out)
		*addr_out = vf;
}

/* ---------------------------------------------------------------- parsing */

static void test_parse_valid(void **state)
{
	static const struct {
		const char *in, *canon;
		unsigned domain, bus, dev, fn;
	} cases[] = {
		{"0000:83:00.1", "0000:83:00.1", 0, 0x83, 0, 1},
		{"0000:00:00.0", "0000:00:00.0", 0, 0, 0, 0},
		{"ffff:ff:1f.7", "ffff:ff:1f.7", 0xffff, 0xff, 0x1f, 7},
		{"FFFF:FF:1F.7", "ffff:ff:1f.7", 0xffff, 0xff, 0x1f, 7},
		{"AbCd:eF:1a.3", "abcd:ef:1a.3", 0xabcd, 0xef, 0x1a, 3},
		{"0001:3b:10.6", "0001:3b:10.6", 1, 0x3b, 0x10, 6},
		{"0000:0A:0B.0", "0000:0a:0b.0", 0, 0x0a, 0x0b, 0},
	};
	struct esfm_err err;

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(cases); i++) {
		struct esfm_pci_addr a;
		char s[ESFM_PCI_ADDR_STRLEN];

		if (esfm_pci_addr_parse(cases[i].in, &a, &err) < 0)
			fail_msg("rejected '%s': %s", cases[i].in, err.msg);
		assert_int_equal(a.domain, cases[i].domain);
		assert_int_equal(a.bus, cases[i].bus);
		assert_int_equal(a.dev, cases[i].dev);
		assert_int_equal(a.fn, cases[i].fn);
		assert_ptr_equal(esfm_pci_addr_str(&a, s), s);
		assert_string_equal(s, cases[i].canon);
	}
}

static void test_parse_malformed(void **state)
{
	static const char *const bad[] = {
		/* empty, short, long */
		"",
		"0",
		"83:00.1", /* lspci's short form without domain */
		"0000:83:00",
		"0000:83:00.",
		"000:83:00.1",
		"0000:83:0.1",
		"0000:8:00.1",
		"00000:83:00.1",
		"0000:083:00.1",
		"0000:83:000.1",
		"0000:83:00.10",
		"0000:83:00.1.2",
		"0000:0000:83:00.1",
		/* wrong separators */
		"0000.83:00.1",
		"0000:83.00.1",
		"0000:83:00:1",
		"0000-83-00.1",
		"0000:83:00,1",
		"0000_83_00_1",
		"0000/83/00.1",
		"000083000001",
		/* non-hex digits */
		"000g:83:00.1",
		"0000:8g:00.1",
		"0000:83:0x.1",
		"0000:83:00.g",
		"0x00:83:00.1",
		"0000:0x:00.1",
		"ⅰ000:83:00.1",
		/* device > 0x1f, function > 7 */
		"0000:83:20.0",
		"0000:83:ff.0",
		"0000:83:3f.7",
		"0000:83:00.8",
		"0000:83:00.f",
		"0000:83:00.F",
		/* trailing or leading text, spaces, signs */
		"0000:83:00.1x",
		"0000:83:00.1\n",
		"0000:83:00.1 ",
		" 0000:83:00.1",
		"0000: 83:00.1",
		"00 0:83:00.1",
		"0000:83: 0.1",
		"0000:83:00. ",
		"\t000:83:00.1",
		"+000:83:00.1",
		"-000:83:00.1",
		"0000:+3:00.1",
		"0000:83:+0.1",
		"0000:83:00.+",
		"0000:-1:00.1",
		"pci_0000_83_00_1",
	};

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(bad); i++) {
		struct esfm_pci_addr a = {.domain = 0x1234, .bus = 0x56, .dev = 7, .fn = 1};
		struct esfm_err err;

		esfm_err_clear(&err);
		if (esfm_pci_addr_parse(bad[i], &a, &err) != -1)
			fail_msg("accepted malformed address '%s'", bad[i]);
		assert_int_equal(err.cls, ESFM_ERR_CONFIG);
		assert_int_equal(esfm_err_exit_code(&err), 2);
		if (!strstr(err.msg, bad[i]))
			fail_msg("error for '%s' does not quote it: %s", bad[i], err.msg);
	}
}

static void test_parse_null_err(void **state)
{
	struct esfm_pci_addr a;

	(void)state;
	assert_int_equal(esfm_pci_addr_parse("0000:83:20.0", &a, NULL), -1);
	assert_int_equal(esfm_pci_addr_parse("0000:83:1f.0", &a, NULL), 0);
	assert_int_equal(a.dev, 0x1f);
}

static void test_str_roundtrip(void **state)
{
	static const unsigned domains[] = {0, 1, 0x10, 0xabcd, 0xffff};

	(void)state;
	for (size_t d = 0; d < ESFM_ARRAY_SIZE(domains); d++)
		for (unsigned bus = 0; bus < 256; bus++)
			for (unsigned dev = 0; dev < 32; dev++)
				for (unsigned fn = 0; fn < 8; fn++) {
					struct esfm_pci_addr a = {(uint16_t)domains[d],
								  (uint8_t)bus, (uint8_t)dev,
								  (uint8_t)fn},
							     b;
					struct esfm_err err;
					char s[ESFM_PCI_ADDR_STRLEN];

					esfm_pci_addr_str(&a, s);
					if (strlen(s) != ESFM_PCI_ADDR_STRLEN - 1)
						fail_msg("'%s' is not canonical length", s);
					for (const char *p = s; *p; p++)
						if (*p >= 'A' && *p <= 'F')
							fail_msg("'%s' is not lowercase", s);
					if (esfm_pci_addr_parse(s, &b, &err) < 0)
						fail_msg("own output '%s' rejected: %s", s,
							 err.msg);
					if (!addr_eq(&a, &b) || esfm_pci_addr_cmp(&a, &b))
						fail_msg("'%s' did not round-trip", s);
				}
}

static void test_str_format_macro(void **state)
{
	struct esfm_pci_addr a = pa("0001:0a:1b.5");
	char s[64];

	(void)state;
	snprintf(s, sizeof(s), ESFM_PCI_ADDR_FMT, ESFM_PCI_ADDR_ARGS(a));
	assert_string_equal(s, "0001:0a:1b.5");
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static int qsort_cmp(const void *a, const void *b)
{
	return esfm_pci_addr_cmp(a, b);
}

static void test_cmp_ordering(void **state)
{
	/* Strictly ascending: domain, then bus, then device, then function. */
	static const char *const sorted[] = {
		"0000:00:00.0", "0000:00:00.1", "0000:00:00.7", "0000:00:01.0", "0000:00:1f.7",
		"0000:01:00.0", "0000:0f:1f.7", "0000:10:00.0", "0000:83:00.0", "0000:83:00.1",
		"0000:ff:1f.7", "0001:00:00.0", "0001:00:00.1", "00ff:ff:1f.7", "0100:00:00.0",
		"ffff:00:00.0", "ffff:ff:1f.7",
	};
	enum { N = ESFM_ARRAY_SIZE(sorted) };
	struct esfm_pci_addr a[N], shuffled[N];

	(void)state;
	for (size_t i = 0; i < N; i++)
		a[i] = pa(sorted[i]);
	for (size_t i = 0; i < N; i++)
		for (size_t j = 0; j < N; j++) {
			int c = esfm_pci_addr_cmp(&a[i], &a[j]);
			int want = i < j ? -1 : i > j;

			if (sign(c) != want)
				fail_msg("cmp(%s, %s) = %d, want sign %d", sorted[i], sorted[j], c,
					 want);
		}
	/* Sorting with it gives the order back. */
	for (size_t i = 0; i < N; i++)
		shuffled[i] = a[(i * 7 + 3) % N];
	qsort(shuffled, N, sizeof(shuffled[0]), qsort_cmp);
	for (size_t i = 0; i < N; i++)
		assert_addr(&shuffled[i], sorted[i]);
}

/* ------------------------------------------------------- VF address math */

static void check_vf(const char *pf, unsigned offset, unsigned stride, unsigned index,
		     const char *want)
{
	struct esfm_pci_addr p = pa(pf), out;
	struct esfm_err err;

	if (esfm_pci_vf_addr_compute(&p, offset, stride, index, &out, &err) < 0)
		fail_msg("PF %s offset %u stride %u VF %u: %s", pf, offset, stride, index, err.msg);
	assert_addr(&out, want);
}

static void check_vf_erange(const char *pf, unsigned offset, unsigned stride, unsigned index)
{
	struct esfm_pci_addr p = pa(pf), out;
	struct esfm_err err;

	esfm_err_clear(&err);
	if (esfm_pci_vf_addr_compute(&p, offset, stride, index, &out, &err) != -1)
		fail_msg("PF %s offset %u stride %u VF %u: no ERANGE", pf, offset, stride, index);
	assert_int_equal(err.errnum, ERANGE);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_non_null(strstr(err.msg, pf));
}

static void test_vf_compute_stride1(void **state)
{
	(void)state;
	check_vf("0000:83:00.0", 4, 1, 0, "0000:83:00.4");
	check_vf("0000:83:00.0", 4, 1, 3, "0000:83:00.7");
	check_vf("0000:83:00.0", 4, 1, 4, "0000:83:01.0");
	check_vf("0000:83:00.0", 4, 1, 19, "0000:83:02.7");
	check_vf("0000:83:00.0", 1, 1, 0, "0000:83:00.1");
	check_vf("0000:83:00.0", 0, 0, 9, "0000:83:00.0");
}

static void test_vf_compute_stride_gt1(void **state)
{
	(void)state;
	/* devfn = pf devfn + offset + stride * index */
	check_vf("0000:3b:00.0", 2, 2, 0, "0000:3b:00.2");
	check_vf("0000:3b:00.0", 2, 2, 1, "0000:3b:00.4");
	check_vf("0000:3b:00.0", 2, 2, 3, "0000:3b:01.0");
	check_vf("0000:3b:00.0", 8, 4, 5, "0000:3b:03.4");
	check_vf("0000:3b:00.0", 16, 8, 3, "0000:3b:05.0");
	/* A PF that is not function 0. */
	check_vf("0000:3b:00.1", 0x7f, 2, 0, "0000:3b:10.0");
	check_vf("0000:3b:00.1", 0x7f, 2, 1, "0000:3b:10.2");
	check_vf("0000:3b:00.2", 3, 3, 2, "0000:3b:01.3");
}

static void test_vf_compute_carry_into_bus(void **state)
{
	(void)state;
	check_vf("0000:83:00.0", 4, 1, 251, "0000:83:1f.7");
	check_vf("0000:83:00.0", 4, 1, 252, "0000:84:00.0");
	check_vf("0000:83:00.0", 4, 1, 253, "0000:84:00.1");
	check_vf("0000:83:1f.0", 0x80, 1, 0x7f, "0000:84:1e.7"); /* 0xf8 + 0xff */
	check_vf("0000:83:00.0", 0x80, 2, 0x40, "0000:84:00.0");
	check_vf("0000:83:00.0", 0x80, 2, 0x41, "0000:84:00.2");
	check_vf("0000:10:00.0", 0x100, 0x100, 3, "0000:14:00.0");
	/* Several buses ahead. */
	check_vf("0000:00:00.0", 1, 1, 0x2fff, "0000:30:00.0");
}

static void test_vf_compute_keeps_domain(void **state)
{
	(void)state;
	check_vf("abcd:83:00.0", 4, 1, 252, "abcd:84:00.0");
	check_vf("ffff:fe:1f.7", 1, 1, 0, "ffff:ff:00.0");
}

static void test_vf_compute_last_bus_and_overflow(void **state)
{
	(void)state;
	check_vf("0000:ff:00.0", 1, 1, 254, "0000:ff:1f.7");
	check_vf_erange("0000:ff:00.0", 1, 1, 255);
	check_vf_erange("0000:ff:1f.7", 1, 1, 0);
	check_vf_erange("0000:fe:00.0", 0x100, 1, 0x100);
	check_vf_erange("0000:83:00.0", 4, 8, 0x1000);
	check_vf("0000:fe:00.0", 0x100, 1, 0xff, "0000:ff:1f.7");
}

/* Large values must not wrap around into a plausible address. */
static void test_vf_compute_no_wraparound(void **state)
{
	(void)state;
	check_vf_erange("0000:00:00.0", UINT_MAX, 1, 0);
	check_vf_erange("0000:00:00.0", 0, UINT_MAX, 1);
	check_vf_erange("0000:00:00.0", 0, 1, UINT_MAX);
	check_vf_erange("0000:00:00.0", 0, 0x10000, 0x10000);
	check_vf_erange("0000:00:00.0", UINT_MAX, UINT_MAX, UINT_MAX);
	check_vf_erange("0000:00:00.0", 0x10000, 0, 0);
	check_vf_erange("0000:00:00.1", 0xffff, 0, 0);
}

/* -------------------------------------------------------------- sysfs root */

static void test_sysfs_new_explicit_root(void **state)
{
	struct esfm_err err;
	struct esfm_sysfs *s;

	(void)state;
	s = esfm_sysfs_new("/tmp/esfm-root", &err);
	assert_non_null(s);
	assert_string_equal(esfm_sysfs_root(s), "/tmp/esfm-root");
	esfm_sysfs_free(s);
}

static void test_sysfs_new_trailing_slashes(void **state)
{
	static const char *const in[] = {"/tmp/esfm-root/", "/tmp/esfm-root//",
					 "/tmp/esfm-root///////"};
	struct esfm_pci_addr a = pa("0000:83:00.0");
	struct esfm_err err;
	char path[PATH_MAX];

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(in); i++) {
		struct esfm_sysfs *s = esfm_sysfs_new(in[i], &err);

		assert_non_null(s);
		assert_string_equal(esfm_sysfs_root(s), "/tmp/esfm-root");
		assert_int_equal(esfm_pci_dev_path(s, &a, "vendor", path, sizeof(path), &err), 0);
		assert_string_equal(path, "/tmp/esfm-root/bus/pci/devices/0000:83:00.0/vendor");
		esfm_sysfs_free(s);
	}
}

static void test_sysfs_new_slash_root(void **state)
{
	struct esfm_err err;
	struct esfm_sysfs *s;

	(void)state;
	s = esfm_sysfs_new("/", &err);
	assert_non_null(s);
	assert_string_equal(esfm_sysfs_root(s), "/");
	esfm_sysfs_free(s);
}

/* Run @fn with ESFM_SYSFS_ROOT set to @value (NULL: unset), restoring the caller's value. */
static void with_env_root(const char *value, const char *explicit_root, const char *want)
{
	const char *old = getenv("ESFM_SYSFS_ROOT");
	char *saved = old ? strdup(old) : NULL;
	struct esfm_err err;
	struct esfm_sysfs *s;
	char got[PATH_MAX];

	if (value)
		setenv("ESFM_SYSFS_ROOT", value, 1);
	else
		unsetenv("ESFM_SYSFS_ROOT");
	s = esfm_sysfs_new(explicit_root, &err);
	if (saved) {
		setenv("ESFM_SYSFS_ROOT", saved, 1);
		free(saved);
	} else {
		unsetenv("ESFM_SYSFS_ROOT");
	}
	assert_non_null(s);
	snprintf(got, sizeof(got), "%s", esfm_sysfs_root(s));
	esfm_sysfs_free(s);
	assert_string_equal(got, want);
}

static void test_sysfs_new_env(void **state)
{
	(void)state;
	with_env_root("/run/esfm-sim", NULL, "/run/esfm-sim");
	with_env_root("/run/esfm-sim/", NULL, "/run/esfm-sim");
	with_env_root(NULL, NULL, "/sys");
	with_env_root("", NULL, "/sys");
	/* An explicit root overrides the environment. */
	with_env_root("/run/esfm-sim", "/other", "/other");
}

static void test_sysfs_new_overlong_root(void **state)
{
	struct esfm_err err;
	char *root = tu_repeat('r', PATH_MAX + 16);
	struct esfm_sysfs *s;

	(void)state;
	root[0] = '/';
	esfm_err_clear(&err);
	s = esfm_sysfs_new(root, &err);
	free(root);
	assert_null(s);
	assert_int_equal(err.errnum, ENAMETOOLONG);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	esfm_sysfs_free(NULL);
}

static void test_dev_path(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:83:00.1");
	struct esfm_err err;
	char path[PATH_MAX], want[PATH_MAX];

	assert_int_equal(esfm_pci_dev_path(fx->sysfs, &a, NULL, path, sizeof(path), &err), 0);
	assert_string_equal(path, tu_path(want, "%s/bus/pci/devices/0000:83:00.1", fx->root));
	assert_int_equal(esfm_pci_dev_path(fx->sysfs, &a, "", path, sizeof(path), &err), 0);
	assert_string_equal(path, want);
	assert_int_equal(esfm_pci_dev_path(fx->sysfs, &a, "qdma/qmax", path, sizeof(path), &err),
			 0);
	assert_string_equal(path,
			    tu_path(want, "%s/bus/pci/devices/0000:83:00.1/qdma/qmax", fx->root));
}

static void test_dev_path_too_long(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:83:00.1");
	struct esfm_err err;
	size_t need = strlen(fx->root) + strlen("/bus/pci/devices/0000:83:00.1/vendor") + 1;
	char *buf = malloc(need);

	assert_non_null(buf);
	assert_int_equal(esfm_pci_dev_path(fx->sysfs, &a, "vendor", buf, need, &err), 0);
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_dev_path(fx->sysfs, &a, "vendor", buf, need - 1, &err), -1);
	assert_int_equal(err.errnum, ENAMETOOLONG);
	assert_true(strnlen(buf, need - 1) < need - 1);
	free(buf);
}

/* ----------------------------------------------------------- sysfs reads */

static void test_dev_exists(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), other = pa("0000:84:00.0"),
			     file = pa("0000:85:00.0");
	char p[PATH_MAX];

	fx_pf(fx, PF_ADDR, "0\n", "4\n", "1\n");
	tu_write(tu_path(p, "%s/bus/pci/devices/0000:85:00.0", fx->root), "not a dir");
	assert_true(esfm_pci_dev_exists(fx->sysfs, &pf));
	assert_false(esfm_pci_dev_exists(fx->sysfs, &other));
	assert_false(esfm_pci_dev_exists(fx->sysfs, &file));
}

static void test_read_ids(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;
	unsigned vendor = 0, device = 0;

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0x9038\n");
	assert_int_equal(esfm_pci_read_ids(fx->sysfs, &a, &vendor, &device, &err), 0);
	assert_int_equal(vendor, 0x10ee);
	assert_int_equal(device, 0x9038);
	/* Upper-case hex digits read the same. */
	fx_attr(fx, "0000:03:00.0", "device", "0xA03F\n");
	assert_int_equal(esfm_pci_read_ids(fx->sysfs, &a, &vendor, &device, &err), 0);
	assert_int_equal(device, 0xa03f);
}

static void test_read_ids_missing_device(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;
	unsigned vendor, device;

	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_read_ids(fx->sysfs, &a, &vendor, &device, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);
	assert_int_equal(esfm_err_exit_code(&err), 1);
	assert_non_null(strstr(err.msg, "0000:03:00.0"));
	assert_non_null(strstr(err.msg, fx->root));
}

static void test_read_ids_bad_content(void **state)
{
	static const char *const bad[] = {"", "\n", "0x\n", "zz\n", "0x1ffff\n", "0x10ee junk\n"};
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	unsigned vendor, device;

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0x9038\n");
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(bad); i++) {
		struct esfm_err err;

		esfm_err_clear(&err);
		fx_attr(fx, "0000:03:00.0", "vendor", bad[i]);
		if (esfm_pci_read_ids(fx->sysfs, &a, &vendor, &device, &err) != -1)
			fail_msg("vendor '%s' accepted as %#x", bad[i], vendor);
		assert_int_not_equal(err.cls, ESFM_ERR_NONE);
		assert_non_null(strstr(err.msg, "0000:03:00.0"));
	}
	/* A missing attribute of an existing device is an error too. */
	{
		char p[PATH_MAX];
		struct esfm_err err;

		fx_attr(fx, "0000:03:00.0", "vendor", "0x10ee\n");
		assert_int_equal(unlink(fx_attr_path(fx, "0000:03:00.0", "device", p)), 0);
		esfm_err_clear(&err);
		assert_int_equal(esfm_pci_read_ids(fx->sysfs, &a, &vendor, &device, &err), -1);
		assert_int_equal(err.errnum, ENOENT);
		assert_non_null(strstr(err.msg, "0000:03:00.0/device"));
	}
}

static void test_get_driver(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;
	char drv[64] = "junk";

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0x9038\n");
	assert_int_equal(esfm_pci_get_driver(fx->sysfs, &a, drv, sizeof(drv), &err), 0);
	assert_string_equal(drv, "");
	fx_driver(fx, "0000:03:00.0", "vfio-pci");
	assert_int_equal(esfm_pci_get_driver(fx->sysfs, &a, drv, sizeof(drv), &err), 0);
	assert_string_equal(drv, "vfio-pci");
}

static void test_get_driver_small_buffer(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;
	char *drv = malloc(8);

	assert_non_null(drv);
	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0x9038\n");
	fx_driver(fx, "0000:03:00.0", "vfio-pci");
	esfm_err_clear(&err);
	/* "vfio-pci" needs 9 bytes. */
	assert_int_equal(esfm_pci_get_driver(fx->sysfs, &a, drv, 8, &err), -1);
	assert_int_equal(err.errnum, ENAMETOOLONG);
	assert_true(strnlen(drv, 8) < 8);
	free(drv);
}

static void test_iommu_group(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;
	char p[PATH_MAX];
	int group = 1234;

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0x9038\n");
	assert_int_equal(esfm_pci_iommu_group(fx->sysfs, &a, &group, &err), 0);
	assert_int_equal(group, -1);
	tu_mkdirs(tu_path(p, "%s/kernel/iommu_groups/42", fx->root));
	fx_link(fx, "0000:03:00.0", "iommu_group", "../../../kernel/iommu_groups/42");
	assert_int_equal(esfm_pci_iommu_group(fx->sysfs, &a, &group, &err), 0);
	assert_int_equal(group, 42);
}

static void test_iommu_group_zero_and_bad(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0"), b = pa("0000:04:00.0");
	struct esfm_err err;
	int group = 1234;

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0x9038\n");
	fx_link(fx, "0000:03:00.0", "iommu_group", "../../../kernel/iommu_groups/0");
	assert_int_equal(esfm_pci_iommu_group(fx->sysfs, &a, &group, &err), 0);
	assert_int_equal(group, 0);
	fx_device(fx, "0000:04:00.0", "0x10ee\n", "0x9038\n");
	fx_link(fx, "0000:04:00.0", "iommu_group", "../../../kernel/iommu_groups/abc");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_iommu_group(fx->sysfs, &b, &group, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_non_null(strstr(err.msg, "0000:04:00.0"));
}

/* --------------------------------------------------------------- PF info */

static void test_pf_info_full(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR);
	struct esfm_pf_info info;
	struct esfm_err err;

	fx_pf(fx, PF_ADDR, "4\n", "4\n", "1\n");
	fx_attr(fx, PF_ADDR, "qdma/qmax", "2048\n");
	if (esfm_pci_pf_info(fx->sysfs, &pf, &info, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(addr_eq(&info.addr, &pf));
	assert_int_equal(info.vendor, 0x10ee);
	assert_int_equal(info.device, 0x9038);
	assert_string_equal(info.driver, "qdma-pf");
	assert_int_equal(info.totalvfs, 252);
	assert_int_equal(info.numvfs, 4);
	assert_int_equal(info.offset, 4);
	assert_int_equal(info.stride, 1);
	assert_int_equal(info.vf_device, 0xa038);
	assert_true(info.autoprobe);
	assert_true(info.has_qdma);
}

static void test_pf_info_unbound_no_qdma(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa("0000:3b:00.1");
	struct esfm_pf_info info;
	struct esfm_err err;

	fx_device(fx, "0000:3b:00.1", "0x8086\n", "0x1572\n");
	fx_attr(fx, "0000:3b:00.1", "sriov_totalvfs", "64\n");
	fx_attr(fx, "0000:3b:00.1", "sriov_numvfs", "0\n");
	fx_attr(fx, "0000:3b:00.1", "sriov_offset", "127\n");
	fx_attr(fx, "0000:3b:00.1", "sriov_stride", "2\n");
	fx_attr(fx, "0000:3b:00.1", "sriov_vf_device", "154c\n");
	fx_attr(fx, "0000:3b:00.1", "sriov_drivers_autoprobe", "0\n");
	if (esfm_pci_pf_info(fx->sysfs, &pf, &info, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(info.vendor, 0x8086);
	assert_int_equal(info.device, 0x1572);
	assert_string_equal(info.driver, "");
	assert_int_equal(info.totalvfs, 64);
	assert_int_equal(info.numvfs, 0);
	assert_int_equal(info.offset, 127);
	assert_int_equal(info.stride, 2);
	assert_int_equal(info.vf_device, 0x154c);
	assert_false(info.autoprobe);
	assert_false(info.has_qdma);
}

static void test_pf_info_not_sriov_is_config(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr vf;
	struct esfm_pf_info info;
	struct esfm_err err;
	char a[ESFM_PCI_ADDR_STRLEN];

	fx_pf(fx, PF_ADDR, "1\n", "4\n", "1\n");
	fx_vf(fx, 0, &vf);
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_pf_info(fx->sysfs, &vf, &info, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_int_equal(esfm_err_exit_code(&err), 2);
	assert_non_null(strstr(err.msg, esfm_pci_addr_str(&vf, a)));
}

static void test_pf_info_missing_device_is_notfound(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR);
	struct esfm_pf_info info;
	struct esfm_err err;

	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_pf_info(fx->sysfs, &pf, &info, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);
	assert_int_equal(esfm_err_exit_code(&err), 1);
	assert_non_null(strstr(err.msg, PF_ADDR));
}

static void test_pf_info_bad_number(void **state)
{
	static const char *const attrs[] = {"sriov_totalvfs", "sriov_numvfs", "sriov_offset",
					    "sriov_stride", "sriov_vf_device"};
	struct esfm_pci_addr pf = pa(PF_ADDR);
	struct fx *fx = *state;

	fx_pf(fx, PF_ADDR, "4\n", "4\n", "1\n");
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(attrs); i++) {
		struct esfm_pf_info info;
		struct esfm_err err;

		fx_attr(fx, PF_ADDR, attrs[i], "garbage\n");
		esfm_err_clear(&err);
		if (esfm_pci_pf_info(fx->sysfs, &pf, &info, &err) != -1)
			fail_msg("garbage in %s accepted", attrs[i]);
		assert_int_not_equal(err.cls, ESFM_ERR_NONE);
		assert_non_null(strstr(err.msg, PF_ADDR));
		assert_non_null(strstr(err.msg, attrs[i]));
		fx_attr(fx, PF_ADDR, attrs[i], "1\n"); /* valid again for the next round */
	}
}

/* ---------------------------------------------------------------- VF list */

static void test_list_vfs_numeric_order(void **state)
{
	enum { NVF = 20 };
	/* Created in an order that is neither numeric nor lexical. */
	static const unsigned order[NVF] = {10, 3, 19, 1, 11, 0, 18, 2, 12, 9,
					    17, 4, 13, 8, 16, 5, 14, 7, 15, 6};
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), want[NVF], *vfs = NULL;
	struct esfm_err err;
	size_t n = 0;

	fx_pf(fx, PF_ADDR, "20\n", "4\n", "1\n");
	for (size_t i = 0; i < NVF; i++)
		fx_vf(fx, order[i], &want[order[i]]);
	if (esfm_pci_list_vfs(fx->sysfs, &pf, &vfs, &n, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(n, NVF);
	for (size_t i = 0; i < NVF; i++) {
		char got[ESFM_PCI_ADDR_STRLEN], exp[ESFM_PCI_ADDR_STRLEN];

		esfm_pci_addr_str(&vfs[i], got);
		esfm_pci_addr_str(&want[i], exp);
		if (strcmp(got, exp)) {
			free(vfs);
			fail_msg("VF %zu is %s, expected %s (virtfn%zu)", i, got, exp, i);
		}
	}
	/* virtfn10 comes after virtfn9, not after virtfn1. */
	assert_addr(&vfs[9], "0000:83:01.5");
	assert_addr(&vfs[10], "0000:83:01.6");
	assert_addr(&vfs[19], "0000:83:02.7");
	free(vfs);
}

static void test_list_vfs_matches_vf_addr(void **state)
{
	enum { NVF = 17 };
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), *vfs = NULL;
	struct esfm_err err;
	size_t n = 0;

	fx_pf(fx, PF_ADDR, "17\n", "4\n", "1\n");
	for (unsigned i = NVF; i-- > 0;)
		fx_vf(fx, i, NULL);
	assert_int_equal(esfm_pci_list_vfs(fx->sysfs, &pf, &vfs, &n, &err), 0);
	assert_int_equal(n, NVF);
	for (unsigned i = 0; i < NVF; i++) {
		struct esfm_pci_addr predicted;
		bool same;

		assert_int_equal(esfm_pci_vf_addr(fx->sysfs, &pf, i, &predicted, &err), 0);
		same = addr_eq(&predicted, &vfs[i]);
		if (!same) {
			free(vfs);
			fail_msg("VF %u: listed and predicted addresses differ", i);
		}
	}
	free(vfs);
}

/* One VF's link: its address as sysfs names it; a missing link is BUSY, not a guess. */
static void test_vf_link(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), vf, want;
	struct esfm_err err = {0};

	fx_pf(fx, PF_ADDR, "3\n", "4\n", "1\n");
	fx_vf(fx, 0, NULL);
	fx_vf(fx, 2, &want);
	assert_int_equal(esfm_pci_vf_link(fx->sysfs, &pf, 2, &vf, &err), 0);
	assert_true(addr_eq(&vf, &want));
	assert_int_equal(esfm_pci_vf_link(fx->sysfs, &pf, 1, &vf, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_BUSY);
	assert_string_equal(err.msg, "PF " PF_ADDR ": virtfn1 is missing");
	assert_string_equal(err.hint, "the VF count is changing; try again");
}

static void test_list_vfs_none(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), *vfs = (struct esfm_pci_addr *)&pf;
	struct esfm_err err;
	size_t n = 99;

	fx_pf(fx, PF_ADDR, "0\n", "4\n", "1\n");
	assert_int_equal(esfm_pci_list_vfs(fx->sysfs, &pf, &vfs, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(vfs);
}

static void test_list_vfs_ignores_other_entries(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), vf0, vf1, *vfs = NULL;
	struct esfm_err err;
	size_t n = 0;
	char p[PATH_MAX];

	fx_pf(fx, PF_ADDR, "2\n", "4\n", "1\n");
	fx_vf(fx, 1, &vf1);
	fx_vf(fx, 0, &vf0);
	/* Real PF directories hold many other entries, some of them links. */
	tu_mkdirs(tu_path(p, "%s/kernel/iommu_groups/7", fx->root));
	fx_link(fx, PF_ADDR, "iommu_group", "../../../kernel/iommu_groups/7");
	fx_link(fx, PF_ADDR, "subsystem", "../../../bus/pci");
	fx_attr(fx, PF_ADDR, "power/control", "auto\n");
	fx_attr(fx, PF_ADDR, "config", "");
	assert_int_equal(esfm_pci_list_vfs(fx->sysfs, &pf, &vfs, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_true(addr_eq(&vfs[0], &vf0));
	assert_true(addr_eq(&vfs[1], &vf1));
	free(vfs);
}

static void test_list_vfs_missing_pf(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), *vfs = NULL;
	struct esfm_err err;
	size_t n = 0;

	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_list_vfs(fx->sysfs, &pf, &vfs, &n, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);
	assert_non_null(strstr(err.msg, PF_ADDR));
	assert_null(vfs);
	assert_int_equal(n, 0);
}

static void test_list_vfs_bad_link_target(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), *vfs = NULL;
	struct esfm_err err;
	size_t n = 0;

	fx_pf(fx, PF_ADDR, "2\n", "4\n", "1\n");
	fx_vf(fx, 0, NULL);
	fx_link(fx, PF_ADDR, "virtfn1", "../not-a-pci-address");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_list_vfs(fx->sysfs, &pf, &vfs, &n, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "virtfn1"));
	assert_non_null(strstr(err.msg, PF_ADDR));
	assert_null(vfs);
}

static void test_list_vfs_virtfn_not_a_link(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), *vfs = NULL;
	struct esfm_err err;
	size_t n = 0;

	fx_pf(fx, PF_ADDR, "1\n", "4\n", "1\n");
	fx_attr(fx, PF_ADDR, "virtfn0", "0000:83:00.4\n");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_list_vfs(fx->sysfs, &pf, &vfs, &n, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_non_null(strstr(err.msg, "virtfn0"));
	assert_null(vfs);
}

/*
 * "(*vfs)[i] is VF i": with virtfn1 missing, the list cannot honour that,
 * so the call must either fail or return only entries that are VF i.
 */
static void test_list_vfs_index_is_vf_number(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), vf0, vf2, *vfs = NULL;
	struct esfm_err err;
	size_t n = 0;
	int r;
	bool ok = true;

	fx_pf(fx, PF_ADDR, "3\n", "4\n", "1\n");
	fx_vf(fx, 0, &vf0);
	fx_vf(fx, 2, &vf2);
	r = esfm_pci_list_vfs(fx->sysfs, &pf, &vfs, &n, &err);
	if (r == 0) {
		/* Only a prefix of VF numbers that all exist can be listed. */
		if (n > 1)
			ok = false;
		if (n >= 1 && !addr_eq(&vfs[0], &vf0))
			ok = false;
		free(vfs);
	}
	if (!ok)
		fail_msg("virtfn0, virtfn2 (no virtfn1) listed as %zu VFs with (*vfs)[1] = VF 2",
			 n);
}

static void test_vf_addr(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa("0000:3b:00.0"), vf;
	struct esfm_err err;

	fx_device(fx, "0000:3b:00.0", "0x8086\n", "0x1572\n");
	fx_attr(fx, "0000:3b:00.0", "sriov_offset", "16\n");
	fx_attr(fx, "0000:3b:00.0", "sriov_stride", "2\n");
	assert_int_equal(esfm_pci_vf_addr(fx->sysfs, &pf, 0, &vf, &err), 0);
	assert_addr(&vf, "0000:3b:02.0");
	assert_int_equal(esfm_pci_vf_addr(fx->sysfs, &pf, 5, &vf, &err), 0);
	assert_addr(&vf, "0000:3b:03.2");
	assert_int_equal(esfm_pci_vf_addr(fx->sysfs, &pf, 120, &vf, &err), 0);
	assert_addr(&vf, "0000:3c:00.0");
	/* Past bus ff. */
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_vf_addr(fx->sysfs, &pf, 40000, &vf, &err), -1);
	assert_int_equal(err.errnum, ERANGE);
}

static void test_vf_addr_errors(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa("0000:3b:00.0"), vf;
	struct esfm_err err;

	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_vf_addr(fx->sysfs, &pf, 0, &vf, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);
	/* A device without SR-IOV attributes. */
	fx_device(fx, "0000:3b:00.0", "0x8086\n", "0x1572\n");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_vf_addr(fx->sysfs, &pf, 0, &vf, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_non_null(strstr(err.msg, "0000:3b:00.0"));
}

/* ------------------------------------------------- writes (plain files) */

static void test_set_autoprobe(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR), nodev = pa("0000:99:00.0");
	struct esfm_err err;
	char p[PATH_MAX];

	fx_pf(fx, PF_ADDR, "0\n", "4\n", "1\n");
	fx_attr_path(fx, PF_ADDR, "sriov_drivers_autoprobe", p);
	assert_int_equal(esfm_pci_set_autoprobe(fx->sysfs, &pf, false, &err), 0);
	tu_assert_file(p, "0\n");
	assert_int_equal(esfm_pci_set_autoprobe(fx->sysfs, &pf, true, &err), 0);
	tu_assert_file(p, "1\n");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_set_autoprobe(fx->sysfs, &nodev, true, &err), -1);
	assert_non_null(strstr(err.msg, "0000:99:00.0"));
}

static void test_set_numvfs_above_total(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR);
	struct esfm_err err;
	char p[PATH_MAX];

	fx_pf(fx, PF_ADDR, "4\n", "4\n", "1\n");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_set_numvfs(fx->sysfs, &pf, 253, 0, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_int_equal(err.errnum, ERANGE);
	assert_int_equal(esfm_err_exit_code(&err), 2);
	assert_non_null(strstr(err.msg, PF_ADDR));
	assert_string_not_equal(err.hint, "");
	tu_assert_file(fx_attr_path(fx, PF_ADDR, "sriov_numvfs", p), "4\n");
}

static void test_set_numvfs(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR);
	struct esfm_pf_info info;
	struct esfm_err err;
	char numvfs[PATH_MAX], autoprobe[PATH_MAX];

	fx_pf(fx, PF_ADDR, "4\n", "4\n", "1\n");
	fx_attr_path(fx, PF_ADDR, "sriov_numvfs", numvfs);
	fx_attr_path(fx, PF_ADDR, "sriov_drivers_autoprobe", autoprobe);
	/* Already 4: nothing to do. */
	assert_int_equal(esfm_pci_set_numvfs(fx->sysfs, &pf, 4, 0, &err), 0);
	tu_assert_file(numvfs, "4\n");
	/* 4 -> 8 (through 0; a plain file only shows the end), autoprobe off first. */
	assert_int_equal(esfm_pci_set_numvfs(fx->sysfs, &pf, 8, ESFM_PCI_NUMVFS_NO_AUTOPROBE, &err),
			 0);
	tu_assert_file(numvfs, "8\n");
	tu_assert_file(autoprobe, "0\n");
	assert_int_equal(esfm_pci_pf_info(fx->sysfs, &pf, &info, &err), 0);
	assert_int_equal(info.numvfs, 8);
	assert_false(info.autoprobe);
	assert_int_equal(esfm_pci_set_numvfs(fx->sysfs, &pf, 0, 0, &err), 0);
	tu_assert_file(numvfs, "0\n");
}

static void test_set_numvfs_missing_pf(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR);
	struct esfm_err err;

	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_set_numvfs(fx->sysfs, &pf, 1, 0, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);
}

/* Already bound: nothing is written (no driver_override exists to write). */
static void test_bind_already_bound(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;
	char p[PATH_MAX];

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0xa038\n");
	fx_driver(fx, "0000:03:00.0", "vfio-pci");
	if (esfm_pci_bind_driver(fx->sysfs, &a, "vfio-pci", &err) < 0)
		fail_msg("%s", err.msg);
	tu_assert_file(tu_path(p, "%s/bus/pci/drivers/vfio-pci/unbind", fx->root), "");
}

static void test_bind_probe_does_not_bind(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;
	char p[PATH_MAX];

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0xa038\n");
	fx_attr(fx, "0000:03:00.0", "driver_override", "");
	tu_write(tu_path(p, "%s/bus/pci/drivers_probe", fx->root), "");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_bind_driver(fx->sysfs, &a, "vfio-pci", &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_FAILED);
	assert_non_null(strstr(err.msg, "0000:03:00.0"));
	assert_non_null(strstr(err.msg, "vfio-pci"));
	tu_assert_file(fx_attr_path(fx, "0000:03:00.0", "driver_override", p), "vfio-pci");
	tu_assert_file(tu_path(p, "%s/bus/pci/drivers_probe", fx->root), "0000:03:00.0");
}

static void test_bind_missing_device(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;

	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_bind_driver(fx->sysfs, &a, "vfio-pci", &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);
}

/* driver_override cannot be written (absent here): the error names device, driver, errno. */
static void test_bind_override_write_fails(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0xa038\n");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_bind_driver(fx->sysfs, &a, "vfio-pci", &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_FAILED);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "0000:03:00.0"));
	assert_non_null(strstr(err.msg, "vfio-pci"));
	assert_non_null(strstr(err.msg, "driver_override"));
}

static void test_unbind_write_fails(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;
	char p[PATH_MAX];

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0xa038\n");
	tu_mkdirs(tu_path(p, "%s/bus/pci/drivers/qdma-vf", fx->root)); /* no unbind attribute */
	fx_link(fx, "0000:03:00.0", "driver", "../../../bus/pci/drivers/qdma-vf");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_unbind(fx->sysfs, &a, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "0000:03:00.0"));
	assert_non_null(strstr(err.msg, "qdma-vf"));
}

static void test_clear_override_fails(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;

	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_clear_override(fx->sysfs, &a, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_non_null(strstr(err.msg, "0000:03:00.0"));
}

static void test_unbind(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;
	char p[PATH_MAX];

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0xa038\n");
	/* Unbound: nothing to do. */
	assert_int_equal(esfm_pci_unbind(fx->sysfs, &a, &err), 0);
	fx_driver(fx, "0000:03:00.0", "qdma-vf");
	assert_int_equal(esfm_pci_unbind(fx->sysfs, &a, &err), 0);
	tu_assert_file(tu_path(p, "%s/bus/pci/drivers/qdma-vf/unbind", fx->root), "0000:03:00.0");
}

static void test_clear_override(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0");
	struct esfm_err err;
	char p[PATH_MAX];

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0xa038\n");
	fx_attr(fx, "0000:03:00.0", "driver_override", "");
	assert_int_equal(esfm_pci_clear_override(fx->sysfs, &a, &err), 0);
	tu_assert_file(fx_attr_path(fx, "0000:03:00.0", "driver_override", p), "\n");
}

static void test_wait_device(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0"), gone = pa("0000:04:00.0");
	struct esfm_err err;
	long long t0;

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0xa038\n");
	assert_int_equal(esfm_pci_wait_device(fx->sysfs, &a, 0, &err), 0);
	esfm_err_clear(&err);
	t0 = esfm_now_ms();
	assert_int_equal(esfm_pci_wait_device(fx->sysfs, &gone, 50, &err), -1);
	assert_true(esfm_now_ms() - t0 >= 50);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);
	assert_non_null(strstr(err.msg, "0000:04:00.0"));
}

static void test_qmax(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR);
	struct esfm_err err;
	unsigned q = 0;
	char p[PATH_MAX];

	fx_pf(fx, PF_ADDR, "0\n", "4\n", "1\n");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_qmax_get(fx->sysfs, &pf, &q, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_non_null(strstr(err.msg, PF_ADDR));
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_qmax_set(fx->sysfs, &pf, 16, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);

	fx_attr(fx, PF_ADDR, "qdma/qmax", "16\n");
	assert_int_equal(esfm_pci_qmax_get(fx->sysfs, &pf, &q, &err), 0);
	assert_int_equal(q, 16);
	assert_int_equal(esfm_pci_qmax_set(fx->sysfs, &pf, 16, &err), 0);
	assert_int_equal(esfm_pci_qmax_set(fx->sysfs, &pf, 32, &err), 0);
	tu_assert_file(fx_attr_path(fx, PF_ADDR, "qdma/qmax", p), "32\n");
	assert_int_equal(esfm_pci_qmax_get(fx->sysfs, &pf, &q, &err), 0);
	assert_int_equal(q, 32);
}

/* Writing "8" over "16\n" in a plain file reads back 86: a value the device did not take. */
static void test_qmax_readback_mismatch(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR);
	struct esfm_err err;

	fx_pf(fx, PF_ADDR, "0\n", "4\n", "1\n");
	fx_attr(fx, PF_ADDR, "qdma/qmax", "16\n");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_qmax_set(fx->sysfs, &pf, 8, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_non_null(strstr(err.msg, PF_ADDR));
}

static void test_qmax_missing_device(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr pf = pa(PF_ADDR);
	struct esfm_err err;
	unsigned q;

	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_qmax_get(fx->sysfs, &pf, &q, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);
}

static void test_remove_and_rescan(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr a = pa("0000:03:00.0"), gone = pa("0000:04:00.0");
	struct esfm_err err;
	char p[PATH_MAX];

	fx_device(fx, "0000:03:00.0", "0x10ee\n", "0xa038\n");
	fx_attr(fx, "0000:03:00.0", "remove", "");
	assert_int_equal(esfm_pci_remove(fx->sysfs, &a, &err), 0);
	tu_assert_file(fx_attr_path(fx, "0000:03:00.0", "remove", p), "1");
	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_remove(fx->sysfs, &gone, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_NOTFOUND);

	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_rescan(fx->sysfs, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "rescan"));
	tu_write(tu_path(p, "%s/bus/pci/rescan", fx->root), "");
	assert_int_equal(esfm_pci_rescan(fx->sysfs, &err), 0);
	tu_assert_file(p, "1");
}

static void test_list_sriov_pfs(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr *pfs = NULL;
	struct esfm_err err;
	size_t n = 0;
	char p[PATH_MAX];

	fx_pf(fx, "0001:00:00.0", "0\n", "4\n", "1\n");
	fx_pf(fx, PF_ADDR, "1\n", "4\n", "1\n");
	fx_vf(fx, 0, NULL);
	fx_pf(fx, "0000:83:00.1", "0\n", "4\n", "1\n");
	fx_device(fx, "0000:00:1f.0", "0x8086\n", "0x1234\n"); /* not SR-IOV */
	fx_pf(fx, "0000:03:00.0", "0\n", "4\n", "1\n");
	tu_mkdirs(tu_path(p, "%s/bus/pci/devices/not-an-address", fx->root));
	tu_write(tu_path(p, "%s/bus/pci/devices/not-an-address/sriov_totalvfs", fx->root), "8\n");
	assert_int_equal(esfm_pci_list_sriov_pfs(fx->sysfs, &pfs, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_addr(&pfs[0], "0000:03:00.0");
	assert_addr(&pfs[1], "0000:83:00.0");
	assert_addr(&pfs[2], "0000:83:00.1");
	assert_addr(&pfs[3], "0001:00:00.0");
	free(pfs);
}

static void test_list_sriov_pfs_empty_and_missing(void **state)
{
	struct fx *fx = *state;
	struct esfm_pci_addr *pfs = NULL;
	struct esfm_err err;
	size_t n = 99;
	char p[PATH_MAX];

	esfm_err_clear(&err);
	assert_int_equal(esfm_pci_list_sriov_pfs(fx->sysfs, &pfs, &n, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_non_null(strstr(err.msg, fx->root));
	tu_mkdirs(tu_path(p, "%s/bus/pci/devices", fx->root));
	fx_device(fx, "0000:00:1f.0", "0x8086\n", "0x1234\n");
	assert_int_equal(esfm_pci_list_sriov_pfs(fx->sysfs, &pfs, &n, &err), 0);
	assert_int_equal(n, 0);
	free(pfs);
}

#define T(f) cmocka_unit_test(f)
#define F(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_parse_valid),
		T(test_parse_malformed),
		T(test_parse_null_err),
		T(test_str_roundtrip),
		T(test_str_format_macro),
		T(test_cmp_ordering),
		T(test_vf_compute_stride1),
		T(test_vf_compute_stride_gt1),
		T(test_vf_compute_carry_into_bus),
		T(test_vf_compute_keeps_domain),
		T(test_vf_compute_last_bus_and_overflow),
		T(test_vf_compute_no_wraparound),
		T(test_sysfs_new_explicit_root),
		T(test_sysfs_new_trailing_slashes),
		T(test_sysfs_new_slash_root),
		T(test_sysfs_new_env),
		T(test_sysfs_new_overlong_root),
		F(test_dev_path),
		F(test_dev_path_too_long),
		F(test_dev_exists),
		F(test_read_ids),
		F(test_read_ids_missing_device),
		F(test_read_ids_bad_content),
		F(test_get_driver),
		F(test_get_driver_small_buffer),
		F(test_iommu_group),
		F(test_iommu_group_zero_and_bad),
		F(test_pf_info_full),
		F(test_pf_info_unbound_no_qdma),
		F(test_pf_info_not_sriov_is_config),
		F(test_pf_info_missing_device_is_notfound),
		F(test_pf_info_bad_number),
		F(test_list_vfs_numeric_order),
		F(test_list_vfs_matches_vf_addr),
		F(test_vf_link),
		F(test_list_vfs_none),
		F(test_list_vfs_ignores_other_entries),
		F(test_list_vfs_missing_pf),
		F(test_list_vfs_bad_link_target),
		F(test_list_vfs_virtfn_not_a_link),
		F(test_list_vfs_index_is_vf_number),
		F(test_vf_addr),
		F(test_vf_addr_errors),
		F(test_set_autoprobe),
		F(test_set_numvfs_above_total),
		F(test_set_numvfs),
		F(test_set_numvfs_missing_pf),
		F(test_bind_already_bound),
		F(test_bind_probe_does_not_bind),
		F(test_bind_missing_device),
		F(test_bind_override_write_fails),
		F(test_unbind),
		F(test_unbind_write_fails),
		F(test_clear_override),
		F(test_clear_override_fails),
		F(test_wait_device),
		F(test_qmax),
		F(test_qmax_readback_mismatch),
		F(test_qmax_missing_device),
		F(test_remove_and_rescan),
		F(test_list_sriov_pfs),
		F(test_list_sriov_pfs_empty_and_missing),
	};

	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
