// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/pool.h: loading pool files validated against
 * xml-templates/pool.rng, defaults, every rejection (malformed XML, schema
 * violations, name/stem mismatch, invalid names), listing, one pool per PF
 * and the implicit pool of an undeclared PF. Each test has its own
 * configuration directory; the schema comes from $ESFM_TOP/xml-templates.
 */
#include "testutil.h"

#include "conf.h"
#include "pci.h"
#include "pool.h"

#define EXAMPLE                                                                                    \
	"<pool type='sriov'><name>fpga0</name><source><pf address='0000:83:00.0'/></source>"       \
	"<vfs count='4' driver='vfio-pci'/></pool>"

struct fx {
	char *dir;
	char top[PATH_MAX];
	struct esfm_conf conf;
	struct esfm_err err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	const char *top = getenv("ESFM_TOP");

	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	tu_path(fx->top, "%s", top && *top ? top : ".");
	/* A conf as esfm_conf_load_dir builds it, with the repository's schema. */
	tu_path(fx->conf.conf_dir, "%s", fx->dir);
	tu_path(fx->conf.template_dir, "%s/xml-templates", fx->top);
	tu_path(fx->conf.state_dir, "%s/run", fx->dir);
	tu_path(fx->conf.sysfs_root, "%s/sys", fx->dir);
	{
		char rng[PATH_MAX];

		if (!tu_exists(tu_path(rng, "%s/pool.rng", fx->conf.template_dir)))
			fail_msg("%s not found: run from the repository root or set ESFM_TOP", rng);
	}
	esfm_err_clear(&fx->err);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tu_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* Write pools.d/@file with @xml; returns the path in @path. */
static const char *put_pool(struct fx *fx, const char *file, const char *xml, char path[PATH_MAX])
{
	tu_path(path, "%s/pools.d/%s", fx->dir, file);
	tu_write(path, xml);
	return path;
}

/* Copy a fixture from tests/unit/fixtures/pool/ into pools.d/@file. */
static void put_fixture(struct fx *fx, const char *fixture, const char *file)
{
	char src[PATH_MAX], dst[PATH_MAX];
	char *text;

	tu_path(src, "%s/tests/unit/fixtures/pool/%s", fx->top, fixture);
	text = tu_slurp(src);
	tu_path(dst, "%s/pools.d/%s", fx->dir, file);
	tu_write(dst, text);
	free(text);
}

static void assert_msg_contains(const struct esfm_err *err, const char *needle)
{
	if (!strstr(err->msg, needle))
		fail_msg("message '%s' does not mention '%s'", err->msg, needle);
}

/* CONFIG error whose message starts with "<path>:<digits>:" */
static void assert_config_file_line(const struct esfm_err *err, const char *path)
{
	size_t n = strlen(path);
	const char *p;

	assert_int_equal(err->cls, ESFM_ERR_CONFIG);
	if (strncmp(err->msg, path, n) || err->msg[n] != ':')
		fail_msg("message '%s' does not start with '%s:'", err->msg, path);
	p = err->msg + n + 1;
	if (!(*p >= '1' && *p <= '9'))
		fail_msg("message '%s' has no line number after the path", err->msg);
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p != ':')
		fail_msg("message '%s' has no ':' after the line number", err->msg);
}

/* Load pool text written as pools.d/<name>.xml through esfm_pool_load; returns its result. */
static int load_text(struct fx *fx, const char *name, const char *xml, struct esfm_pool *pool)
{
	char file[PATH_MAX], path[PATH_MAX];

	put_pool(fx, tu_path(file, "%s.xml", name), xml, path);
	esfm_err_clear(&fx->err);
	return esfm_pool_load(&fx->conf, name, pool, &fx->err);
}

static void test_example_loads(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX];

	put_pool(fx, "fpga0.xml", EXAMPLE, path);
	assert_int_equal(esfm_pool_load(&fx->conf, "fpga0", &pool, &fx->err), 0);
	assert_string_equal(pool.name, "fpga0");
	assert_string_equal(pool.path, path);
	assert_int_equal(pool.pf.domain, 0);
	assert_int_equal(pool.pf.bus, 0x83);
	assert_int_equal(pool.pf.dev, 0);
	assert_int_equal(pool.pf.fn, 0);
	assert_int_equal(pool.count, 4);
	assert_string_equal(pool.driver, "vfio-pci");
	assert_false(pool.has_qmax);
	assert_string_equal(pool.bitstream, "");
	assert_string_equal(pool.bitstream_kind, "");
	assert_string_equal(pool.vm_base, "everestg");
	assert_false(pool.pause);
}

static void test_example_fixture_loads(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;

	put_fixture(fx, "fpga0.xml", "fpga0.xml");
	assert_int_equal(esfm_pool_load(&fx->conf, "fpga0", &pool, &fx->err), 0);
	assert_string_equal(pool.name, "fpga0");
	assert_int_equal(pool.count, 4);
}

static void test_defaults(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;

	assert_int_equal(load_text(fx, "nic0",
				   "<pool type='sriov'><vfs count='1'/><name>nic0</name>"
				   "<source><pf address='0000:3b:00.1'/></source></pool>",
				   &pool),
			 0);
	assert_string_equal(pool.driver, "vfio-pci");
	assert_string_equal(pool.vm_base, ESFM_DEFAULT_VM_BASE);
	assert_string_equal(pool.vm_base, "everestg");
	assert_int_equal(pool.count, 1);
	assert_false(pool.has_qmax);
	assert_false(pool.pause);
	assert_int_equal(pool.pf.bus, 0x3b);
	assert_int_equal(pool.pf.fn, 1);
}

static void test_all_optional_elements(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;

	put_fixture(fx, "full.xml", "full.xml");
	assert_int_equal(esfm_pool_load(&fx->conf, "full", &pool, &fx->err), 0);
	assert_string_equal(pool.name, "full");
	assert_int_equal(pool.pf.domain, 0xabcd);
	assert_int_equal(pool.pf.bus, 0xef);
	assert_int_equal(pool.pf.dev, 0x1f);
	assert_int_equal(pool.pf.fn, 7);
	assert_int_equal(pool.count, 2048);
	assert_string_equal(pool.driver, "qdma-vf");
	assert_true(pool.has_qmax);
	assert_int_equal(pool.qmax, 512);
	assert_string_equal(pool.bitstream, "/lib/firmware/everest/shell v2.bit");
	assert_string_equal(pool.bitstream_kind, "partial.bit");
	assert_string_equal(pool.vm_base, "vm-fpga.x");
	assert_true(pool.pause);
}

static void test_optional_variants(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;

	/* qmax 0 is a valid queue count; pause='no'; a bitstream without kind. */
	assert_int_equal(load_text(fx, "p",
				   "<pool type='sriov'><name>p</name><source><pf "
				   "address='0000:01:00.0'/></source><vfs count='2'/>"
				   "<qdma qmax='0'/><bitstream path='/x.bin'/><reconf pause='no'/>"
				   "</pool>",
				   &pool),
			 0);
	assert_true(pool.has_qmax);
	assert_int_equal(pool.qmax, 0);
	assert_string_equal(pool.bitstream, "/x.bin");
	assert_string_equal(pool.bitstream_kind, "");
	assert_false(pool.pause);
}

static void test_nova_flavors(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;

	assert_int_equal(load_text(fx, "p",
				   "<pool type='sriov'><name>p</name><source><pf "
				   "address='0000:01:00.0'/></source><vfs count='2'/>"
				   "<nova flavor='fpga.small'/><nova flavor='big one' count='64'/>"
				   "</pool>",
				   &pool),
			 0);
	assert_int_equal(pool.nflavor, 2);
	assert_string_equal(pool.flavor[0].name, "fpga.small");
	assert_int_equal(pool.flavor[0].count, 1);
	assert_string_equal(pool.flavor[1].name, "big one");
	assert_int_equal(pool.flavor[1].count, 64);
	/* a flavor mapped twice in one pool is refused with its line */
	assert_int_equal(load_text(fx, "p",
				   "<pool type='sriov'><name>p</name><source><pf "
				   "address='0000:01:00.0'/></source><vfs count='2'/>\n"
				   "<nova flavor='f'/>\n<nova flavor='f' count='2'/></pool>",
				   &pool),
			 -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, ":3: flavor 'f' is mapped twice");
}

static void test_load_file_directly(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX];

	/* Any directory: only the stem matters. */
	tu_path(path, "%s/elsewhere/fpga0.xml", fx->dir);
	tu_write(path, EXAMPLE);
	assert_int_equal(esfm_pool_load_file(&fx->conf, path, &pool, &fx->err), 0);
	assert_string_equal(pool.name, "fpga0");
	assert_string_equal(pool.path, path);
}

static void test_malformed_xml(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX];

	put_pool(fx, "bad.xml",
		 "<pool type='sriov'>\n  <name>bad</name>\n  <source><pf address='0000:83:00.0'>"
		 "</source>\n</pool>\n",
		 path);
	assert_int_equal(esfm_pool_load(&fx->conf, "bad", &pool, &fx->err), -1);
	assert_config_file_line(&fx->err, path);
	assert_msg_contains(&fx->err, "malformed");

	/* Same through esfm_pool_load_file. */
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_pool_load_file(&fx->conf, path, &pool, &fx->err), -1);
	assert_config_file_line(&fx->err, path);
}

static void test_malformed_line_number(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX], want[PATH_MAX + 8];

	put_pool(fx, "bad.xml", "<pool type='sriov'>\n\n\n\n<name>bad</name\n</pool>\n", path);
	assert_int_equal(esfm_pool_load(&fx->conf, "bad", &pool, &fx->err), -1);
	assert_config_file_line(&fx->err, path);
	/* The error is on or right after line 5, never line 1. */
	snprintf(want, sizeof(want), "%s:1:", path);
	assert_null(strstr(fx->err.msg, want));
}

static void test_empty_file(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;

	assert_int_equal(load_text(fx, "empty", "", &pool), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "empty.xml");
}

struct bad_pool {
	const char *why;
	const char *xml;
};

/* Each is saved as pools.d/p.xml and must be a CONFIG error at file:line. */
static const struct bad_pool schema_violations[] = {
	{"nova flavor with a quote",
	 "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/></source>"
	 "<vfs count='4'/><nova flavor=\"it's\"/></pool>"},
	{"nova count 0",
	 "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/></source>"
	 "<vfs count='4'/><nova flavor='f' count='0'/></pool>"},
	{"nova without flavor",
	 "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/></source>"
	 "<vfs count='4'/><nova count='1'/></pool>"},
	{"unknown element",
	 "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/></source>"
	 "<vfs count='4'/><colour>red</colour></pool>"},
	{"unknown attribute",
	 "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/></source>"
	 "<vfs count='4' speed='fast'/></pool>"},
	{"wrong type", "<pool type='dir'><name>p</name><source><pf address='0000:83:00.0'/>"
		       "</source><vfs count='4'/></pool>"},
	{"no type", "<pool><name>p</name><source><pf address='0000:83:00.0'/>"
		    "</source><vfs count='4'/></pool>"},
	{"wrong root", "<network><name>p</name></network>"},
	{"count 0", "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/>"
		    "</source><vfs count='0'/></pool>"},
	{"count 2049", "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/>"
		       "</source><vfs count='2049'/></pool>"},
	{"count negative", "<pool type='sriov'><name>p</name><source><pf "
			   "address='0000:83:00.0'/></source><vfs count='-1'/></pool>"},
	{"count word", "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/>"
		       "</source><vfs count='four'/></pool>"},
	{"no count", "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/>"
		     "</source><vfs/></pool>"},
	{"no vfs", "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/>"
		   "</source></pool>"},
	{"no source", "<pool type='sriov'><name>p</name><vfs count='4'/></pool>"},
	{"no name", "<pool type='sriov'><source><pf address='0000:83:00.0'/></source>"
		    "<vfs count='4'/></pool>"},
	{"two names", "<pool type='sriov'><name>p</name><name>p</name><source><pf "
		      "address='0000:83:00.0'/></source><vfs count='4'/></pool>"},
	{"address without domain", "<pool type='sriov'><name>p</name><source><pf "
				   "address='83:00.0'/></source><vfs count='4'/></pool>"},
	{"address device 0x20", "<pool type='sriov'><name>p</name><source><pf "
				"address='0000:83:20.0'/></source><vfs count='4'/></pool>"},
	{"address function 8", "<pool type='sriov'><name>p</name><source><pf "
			       "address='0000:83:00.8'/></source><vfs count='4'/></pool>"},
	{"address not hex", "<pool type='sriov'><name>p</name><source><pf "
			    "address='0000:8g:00.0'/></source><vfs count='4'/></pool>"},
	{"address trailing", "<pool type='sriov'><name>p</name><source><pf "
			     "address='0000:83:00.0 '/></source><vfs count='4'/></pool>"},
	{"address empty", "<pool type='sriov'><name>p</name><source><pf address=''/></source>"
			  "<vfs count='4'/></pool>"},
	{"name with slash", "<pool type='sriov'><name>a/p</name><source><pf "
			    "address='0000:83:00.0'/></source><vfs count='4'/></pool>"},
	{"name with space", "<pool type='sriov'><name>my p</name><source><pf "
			    "address='0000:83:00.0'/></source><vfs count='4'/></pool>"},
	{"empty name", "<pool type='sriov'><name></name><source><pf address='0000:83:00.0'/>"
		       "</source><vfs count='4'/></pool>"},
	{"bad driver", "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/>"
		       "</source><vfs count='4' driver='../../evil'/></pool>"},
	{"qmax 2049", "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/>"
		      "</source><vfs count='4'/><qdma qmax='2049'/></pool>"},
	{"relative bitstream", "<pool type='sriov'><name>p</name><source><pf "
			       "address='0000:83:00.0'/></source><vfs count='4'/>"
			       "<bitstream path='x.bit'/></pool>"},
	{"bad vm base", "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/>"
			"</source><vfs count='4'/><vms base='a b'/></pool>"},
	{"pause maybe", "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/>"
			"</source><vfs count='4'/><reconf pause='maybe'/></pool>"},
	{"two pfs", "<pool type='sriov'><name>p</name><source><pf address='0000:83:00.0'/>"
		    "<pf address='0000:84:00.0'/></source><vfs count='4'/></pool>"},
};

static void test_schema_violations(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX], prefix[PATH_MAX + 1];

	for (size_t i = 0; i < sizeof(schema_violations) / sizeof(schema_violations[0]); i++) {
		put_pool(fx, "p.xml", schema_violations[i].xml, path);
		esfm_err_clear(&fx->err);
		if (esfm_pool_load(&fx->conf, "p", &pool, &fx->err) != -1)
			fail_msg("%s: accepted", schema_violations[i].why);
		if (fx->err.cls != ESFM_ERR_CONFIG)
			fail_msg("%s: class %d, message '%s'", schema_violations[i].why,
				 fx->err.cls, fx->err.msg);
		snprintf(prefix, sizeof(prefix), "%s:", path);
		if (strncmp(fx->err.msg, prefix, strlen(prefix)))
			fail_msg("%s: message '%s' does not start with the file name",
				 schema_violations[i].why, fx->err.msg);
		assert_string_not_equal(fx->err.hint, "");
	}
}

/*
 * The header promises file:line for schema violations. Every case is
 * checked, then the ones without a real line number (>= 1) are listed.
 */
static void test_schema_violation_line_numbers(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX], bad[4096] = "";
	size_t len = 0;

	for (size_t i = 0; i < sizeof(schema_violations) / sizeof(schema_violations[0]); i++) {
		const char *p;
		size_t n;
		bool ok;

		put_pool(fx, "p.xml", schema_violations[i].xml, path);
		esfm_err_clear(&fx->err);
		assert_int_equal(esfm_pool_load(&fx->conf, "p", &pool, &fx->err), -1);
		n = strlen(path);
		p = fx->err.msg + n + 1;
		ok = !strncmp(fx->err.msg, path, n) && fx->err.msg[n] == ':' && *p >= '1' &&
		     *p <= '9';
		while (ok && *p >= '0' && *p <= '9')
			p++;
		ok = ok && *p == ':';
		if (!ok && len < sizeof(bad))
			len += (size_t)snprintf(bad + len, sizeof(bad) - len, "\n  %s: '%s'",
						schema_violations[i].why, fx->err.msg + n);
	}
	if (bad[0])
		fail_msg("schema errors without a line number:%s", bad);
}

static void test_name_differs_from_stem(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX];

	put_pool(fx, "fpga1.xml", EXAMPLE, path);
	assert_int_equal(esfm_pool_load(&fx->conf, "fpga1", &pool, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, path);
	assert_msg_contains(&fx->err, "fpga0");
	assert_non_null(strstr(fx->err.hint, "fpga0.xml"));

	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_pool_load_file(&fx->conf, path, &pool, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
}

static void test_stem_needs_xml_suffix(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX];

	/* "fpga0.xml.bak" has stem "fpga0.xml.bak", not "fpga0". */
	put_pool(fx, "fpga0.xml.bak", EXAMPLE, path);
	assert_int_equal(esfm_pool_load_file(&fx->conf, path, &pool, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
}

static void test_invalid_names_refused_before_file_access(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX];
	static char n65[66];
	const char *names[] = {"../x", "a/b", "", n65, ".", "..", "x y", "x\n", "/etc/passwd"};

	/*
	 * Valid pool files sit exactly where a path trick would reach, so a
	 * name that got through to the file system would load successfully.
	 */
	memset(n65, 'a', 65);
	tu_path(path, "%s/x.xml", fx->dir);
	tu_write(path, "<pool type='sriov'><name>x</name><source><pf address='0000:83:00.0'/>"
		       "</source><vfs count='4'/></pool>");
	tu_path(path, "%s/pools.d/a/b.xml", fx->dir);
	tu_write(path, "<pool type='sriov'><name>b</name><source><pf address='0000:83:00.0'/>"
		       "</source><vfs count='4'/></pool>");
	tu_path(path, "%s/pools.d/..xml", fx->dir);
	tu_write(path, "<pool type='sriov'><name>.</name><source><pf address='0000:83:00.0'/>"
		       "</source><vfs count='4'/></pool>");
	tu_path(path, "%s/pools.d/...xml", fx->dir);
	tu_write(path, "<pool type='sriov'><name>..</name><source><pf address='0000:83:00.0'/>"
		       "</source><vfs count='4'/></pool>");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		esfm_err_clear(&fx->err);
		memset(&pool, 0x5a, sizeof(pool));
		if (esfm_pool_load(&fx->conf, names[i], &pool, &fx->err) != -1)
			fail_msg("pool name '%s' accepted", names[i]);
		if (fx->err.cls != ESFM_ERR_CONFIG || !strstr(fx->err.msg, "invalid pool name"))
			fail_msg("pool name '%s': class %d, '%s'", names[i], fx->err.cls,
				 fx->err.msg);
		assert_string_not_equal(fx->err.hint, "");
	}
}

static void test_64_char_name_is_valid(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char name[65], xml[512];

	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(xml, sizeof(xml),
		 "<pool type='sriov'><name>%s</name><source><pf address='0000:83:00.0'/></source>"
		 "<vfs count='4'/></pool>",
		 name);
	assert_int_equal(load_text(fx, name, xml, &pool), 0);
	assert_string_equal(pool.name, name);
}

static void test_unknown_pool(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX];

	assert_int_equal(esfm_pool_load(&fx->conf, "nosuch", &pool, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_NOTFOUND);
	assert_msg_contains(&fx->err, "'nosuch'");
	/* The hint says where the file would be. */
	tu_path(path, "%s/pools.d/nosuch.xml", fx->dir);
	if (!strstr(fx->err.hint, path))
		fail_msg("hint '%s' does not name %s", fx->err.hint, path);

	/* Other pools existing changes nothing. */
	put_pool(fx, "fpga0.xml", EXAMPLE, path);
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_pool_load(&fx->conf, "fpga", &pool, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_NOTFOUND);
}

static void test_load_file_missing_is_notfound(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX];

	tu_path(path, "%s/pools.d/none.xml", fx->dir);
	assert_int_equal(esfm_pool_load_file(&fx->conf, path, &pool, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_NOTFOUND);
}

static void test_schema_missing(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX];

	put_pool(fx, "fpga0.xml", EXAMPLE, path);
	tu_path(fx->conf.template_dir, "%s/no-templates", fx->dir);
	assert_int_equal(esfm_pool_load(&fx->conf, "fpga0", &pool, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "schema");
	assert_string_not_equal(fx->err.hint, "");
}

static void test_list_sorted(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool *pools = (struct esfm_pool *)1;
	size_t n = 99;
	char path[PATH_MAX];
	const char *names[] = {"zeta", "alpha", "Mid", "beta.2", "beta-1"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char file[PATH_MAX], xml[512];

		snprintf(xml, sizeof(xml),
			 "<pool type='sriov'><name>%s</name><source><pf address='0000:%02zx:00.0'/>"
			 "</source><vfs count='%zu'/></pool>",
			 names[i], i + 1, i + 1);
		put_pool(fx, tu_path(file, "%s.xml", names[i]), xml, path);
	}
	/* Not pool files: ignored. */
	put_pool(fx, "README", "not xml", path);
	put_pool(fx, "old.xml.rpmsave", "<junk", path);
	put_pool(fx, ".hidden.xml", "<junk", path);
	put_pool(fx, ".xml", "<junk", path);

	assert_int_equal(esfm_pool_list(&fx->conf, &pools, &n, &fx->err), 0);
	assert_int_equal(n, 5);
	assert_non_null(pools);
	/* strcmp order (byte order: uppercase first). */
	assert_string_equal(pools[0].name, "Mid");
	assert_string_equal(pools[1].name, "alpha");
	assert_string_equal(pools[2].name, "beta-1");
	assert_string_equal(pools[3].name, "beta.2");
	assert_string_equal(pools[4].name, "zeta");
	assert_int_equal(pools[4].count, 1);
	assert_int_equal(pools[4].pf.bus, 1);
	assert_int_equal(pools[1].count, 2);
	free(pools);
}

static void test_list_missing_or_empty_dir(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool *pools = (struct esfm_pool *)1;
	size_t n = 99;
	char dir[PATH_MAX];

	assert_int_equal(esfm_pool_list(&fx->conf, &pools, &n, &fx->err), 0);
	assert_int_equal(n, 0);
	assert_null(pools);

	tu_mkdirs(tu_path(dir, "%s/pools.d", fx->dir));
	n = 99;
	pools = (struct esfm_pool *)1;
	assert_int_equal(esfm_pool_list(&fx->conf, &pools, &n, &fx->err), 0);
	assert_int_equal(n, 0);
	assert_null(pools);
}

static void test_list_fails_on_invalid_file(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool *pools = (struct esfm_pool *)1;
	size_t n = 99;
	char path[PATH_MAX], bad[PATH_MAX];

	put_pool(fx, "fpga0.xml", EXAMPLE, path);
	put_pool(fx, "broken.xml", "<pool type='sriov'>\n<name>broken</name>\n", bad);
	assert_int_equal(esfm_pool_list(&fx->conf, &pools, &n, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, bad);
	assert_null(pools);
	assert_int_equal(n, 0);
}

static void test_list_fails_on_stem_mismatch(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool *pools = NULL;
	size_t n = 0;
	char path[PATH_MAX];

	put_pool(fx, "copy-of-fpga0.xml", EXAMPLE, path);
	assert_int_equal(esfm_pool_list(&fx->conf, &pools, &n, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_null(pools);
}

static void test_list_refuses_two_pools_on_one_pf(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool *pools = (struct esfm_pool *)1;
	size_t n = 99;
	char path[PATH_MAX];

	put_pool(fx, "fpga0.xml", EXAMPLE, path);
	put_pool(fx, "nic0.xml",
		 "<pool type='sriov'><name>nic0</name><source><pf address='0000:3b:00.0'/>"
		 "</source><vfs count='2'/></pool>",
		 path);
	/* Same PF as fpga0. */
	put_pool(fx, "fpga0b.xml",
		 "<pool type='sriov'><name>fpga0b</name><source><pf address='0000:83:00.0'/>"
		 "</source><vfs count='2'/></pool>",
		 path);
	assert_int_equal(esfm_pool_list(&fx->conf, &pools, &n, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "'fpga0'");
	assert_msg_contains(&fx->err, "'fpga0b'");
	assert_msg_contains(&fx->err, "0000:83:00.0");
	assert_string_not_equal(fx->err.hint, "");
	assert_null(pools);
	assert_int_equal(n, 0);
}

/* The hook loads one pool: the other files must still not name its PF (pool-check's message). */
static void test_check_pf_unique_names_the_other_pool(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	struct esfm_pool *pools = NULL;
	struct esfm_err list_err;
	size_t n;
	char path[PATH_MAX];

	put_pool(fx, "fpga0.xml", EXAMPLE, path);
	put_pool(fx, "broken.xml", "<pool", path); /* reported by pool-check, not here */
	assert_int_equal(esfm_pool_load(&fx->conf, "fpga0", &pool, &fx->err), 0);
	assert_int_equal(esfm_pool_check_pf_unique(&fx->conf, &pool, &fx->err), 0);
	unlink(path);
	put_pool(fx, "b.xml",
		 "<pool type='sriov'><name>b</name><source><pf address='0000:83:00.0'/>"
		 "</source><vfs count='2'/></pool>",
		 path);
	assert_int_equal(esfm_pool_check_pf_unique(&fx->conf, &pool, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	esfm_err_clear(&list_err);
	assert_int_equal(esfm_pool_list(&fx->conf, &pools, &n, &list_err), -1);
	assert_string_equal(fx->err.msg, list_err.msg);
	assert_string_equal(fx->err.msg, "pools 'b' and 'fpga0' both use PF 0000:83:00.0");
	assert_string_equal(fx->err.hint, list_err.hint);
}

/* A FIFO named like a pool file is refused without blocking the loader. */
static void test_pool_file_fifo_refused(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	char path[PATH_MAX];

	put_pool(fx, "fpga0.xml", EXAMPLE, path);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10); /* a blocked open fails the test instead of hanging it */
	assert_int_equal(esfm_pool_load(&fx->conf, "fpga0", &pool, &fx->err), -1);
	alarm(0);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, path);
	assert_msg_contains(&fx->err, "is a FIFO, not a regular file");
}

static void test_list_same_pf_different_case(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool *pools = NULL;
	size_t n = 0;
	char path[PATH_MAX];

	put_pool(fx, "a.xml",
		 "<pool type='sriov'><name>a</name><source><pf address='0000:af:0c.0'/>"
		 "</source><vfs count='2'/></pool>",
		 path);
	put_pool(fx, "b.xml",
		 "<pool type='sriov'><name>b</name><source><pf address='0000:AF:0C.0'/>"
		 "</source><vfs count='2'/></pool>",
		 path);
	assert_int_equal(esfm_pool_list(&fx->conf, &pools, &n, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "0000:af:0c.0");
	assert_null(pools);
}

static void test_list_many_pools(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool *pools = NULL;
	size_t n = 0;
	char path[PATH_MAX];

	/* More than one growth step of the list. */
	for (unsigned i = 0; i < 20; i++) {
		char file[64], xml[512];

		snprintf(file, sizeof(file), "p%02u.xml", 19 - i);
		snprintf(xml, sizeof(xml),
			 "<pool type='sriov'><name>p%02u</name><source><pf "
			 "address='0000:%02x:00.0'/>"
			 "</source><vfs count='1'/></pool>",
			 19 - i, i + 1);
		put_pool(fx, file, xml, path);
	}
	assert_int_equal(esfm_pool_list(&fx->conf, &pools, &n, &fx->err), 0);
	assert_int_equal(n, 20);
	for (unsigned i = 0; i < 20; i++) {
		char want[16];

		snprintf(want, sizeof(want), "p%02u", i);
		assert_string_equal(pools[i].name, want);
	}
	free(pools);
}

static void test_for_pf_declared(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	struct esfm_pci_addr pf = {0, 0x83, 0, 0};
	char path[PATH_MAX];

	put_pool(fx, "fpga0.xml", EXAMPLE, path);
	put_pool(fx, "nic0.xml",
		 "<pool type='sriov'><name>nic0</name><source><pf address='0000:3b:00.0'/>"
		 "</source><vfs count='2' driver='ixgbevf'/><vms base='net'/></pool>",
		 path);
	assert_int_equal(esfm_pool_for_pf(&fx->conf, &pf, &pool, &fx->err), 0);
	assert_string_equal(pool.name, "fpga0");
	assert_int_equal(pool.count, 4);
	assert_string_not_equal(pool.path, "");

	pf.bus = 0x3b;
	assert_int_equal(esfm_pool_for_pf(&fx->conf, &pf, &pool, &fx->err), 0);
	assert_string_equal(pool.name, "nic0");
	assert_string_equal(pool.driver, "ixgbevf");
	assert_string_equal(pool.vm_base, "net");
	assert_string_equal(pool.path, path);
}

static void test_for_pf_implicit(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	struct esfm_pci_addr pf = {0, 0x83, 0, 0};
	char path[PATH_MAX];

	/* No pools.d at all. */
	memset(&pool, 0x5a, sizeof(pool));
	assert_int_equal(esfm_pool_for_pf(&fx->conf, &pf, &pool, &fx->err), 0);
	assert_string_equal(pool.name, "pci_0000_83_00_0");
	assert_string_equal(pool.path, "");
	assert_int_equal(pool.count, 0);
	assert_string_equal(pool.driver, "vfio-pci");
	assert_string_equal(pool.vm_base, "everestg");
	assert_false(pool.has_qmax);
	assert_string_equal(pool.bitstream, "");
	assert_int_equal(esfm_pci_addr_cmp(&pool.pf, &pf), 0);

	/* A pool on another PF does not claim this one. */
	put_pool(fx, "nic0.xml",
		 "<pool type='sriov'><name>nic0</name><source><pf address='0000:83:00.1'/>"
		 "</source><vfs count='2'/></pool>",
		 path);
	assert_int_equal(esfm_pool_for_pf(&fx->conf, &pf, &pool, &fx->err), 0);
	assert_string_equal(pool.name, "pci_0000_83_00_0");
	assert_int_equal(pool.count, 0);
}

static void test_for_pf_fails_on_invalid_pool(void **state)
{
	struct fx *fx = *state;
	struct esfm_pool pool;
	struct esfm_pci_addr pf = {0, 0x83, 0, 0};
	char path[PATH_MAX];

	put_pool(fx, "bad.xml", "<pool", path);
	assert_int_equal(esfm_pool_for_pf(&fx->conf, &pf, &pool, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
}

static void test_implicit_name(void **state)
{
	struct esfm_pci_addr a = {0, 0x83, 0, 0}, b = {0xabcd, 0xef, 0x1f, 7}, c = {1, 2, 3, 4};
	char buf[ESFM_NAME_MAX];

	(void)state;
	esfm_pool_implicit_name(&a, buf);
	assert_string_equal(buf, "pci_0000_83_00_0");
	esfm_pool_implicit_name(&b, buf);
	assert_string_equal(buf, "pci_abcd_ef_1f_7");
	esfm_pool_implicit_name(&c, buf);
	assert_string_equal(buf, "pci_0001_02_03_4");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_example_loads),
		T(test_example_fixture_loads),
		T(test_defaults),
		T(test_all_optional_elements),
		T(test_optional_variants),
		T(test_load_file_directly),
		T(test_malformed_xml),
		T(test_malformed_line_number),
		T(test_empty_file),
		T(test_schema_violations),
		T(test_schema_violation_line_numbers),
		T(test_name_differs_from_stem),
		T(test_stem_needs_xml_suffix),
		T(test_invalid_names_refused_before_file_access),
		T(test_64_char_name_is_valid),
		T(test_unknown_pool),
		T(test_load_file_missing_is_notfound),
		T(test_schema_missing),
		T(test_list_sorted),
		T(test_list_missing_or_empty_dir),
		T(test_list_fails_on_invalid_file),
		T(test_list_fails_on_stem_mismatch),
		T(test_list_refuses_two_pools_on_one_pf),
		T(test_check_pf_unique_names_the_other_pool),
		T(test_pool_file_fifo_refused),
		T(test_list_same_pf_different_case),
		T(test_list_many_pools),
		T(test_for_pf_declared),
		T(test_for_pf_implicit),
		T(test_nova_flavors),
		T(test_for_pf_fails_on_invalid_pool),
		T(test_implicit_name),
	};

	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
