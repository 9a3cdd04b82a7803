// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/hostdev.h: user aliases (build and parse back) and the
 * hostdev XML rendered from the repo's xml-templates/hostdev.xml (found
 * through $ESFM_TOP, which tests/run-tests.sh exports) and from broken
 * templates written to a temp dir. The output is parsed back with libxml2.
 */
#include "testutil.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hostdev.h"
#include "util.h"

/* ------------------------------------------------------------------ alias */

static void test_alias_build(void **state)
{
	struct esfm_err err;
	char buf[ESFM_ALIAS_MAX];

	(void)state;
	assert_int_equal(esfm_hostdev_alias("pool", 3, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "ua-esfm-pool-3");
	assert_int_equal(esfm_hostdev_alias("fpga-a-2", 10, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "ua-esfm-fpga-a-2-10");
	assert_int_equal(esfm_hostdev_alias("x", 0, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "ua-esfm-x-0");
	assert_int_equal(esfm_hostdev_alias("P.q_r", 65535, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "ua-esfm-P_q_r-65535"); /* '.' is written as '_' */
	assert_int_equal(strncmp(buf, ESFM_ALIAS_PREFIX, strlen(ESFM_ALIAS_PREFIX)), 0);
}

/* The longest valid pool name with the largest VF index fits ESFM_ALIAS_MAX. */
static void test_alias_longest_fits(void **state)
{
	char *pool = tu_repeat('p', 64);
	struct esfm_err err;
	char buf[ESFM_ALIAS_MAX];
	unsigned index = 0;
	char back[65];
	int r;

	(void)state;
	r = esfm_hostdev_alias(pool, 65535, buf, sizeof(buf), &err);
	if (r == 0) {
		assert_true(esfm_hostdev_alias_parse(buf, back, sizeof(back), &index));
		assert_string_equal(back, pool);
		assert_int_equal(index, 65535);
	}
	free(pool);
	assert_int_equal(r, 0);
}

static void test_alias_buffer_too_small(void **state)
{
	struct esfm_err err;
	char *buf = malloc(15); /* "ua-esfm-pool-3" + NUL */

	(void)state;
	assert_non_null(buf);
	assert_int_equal(esfm_hostdev_alias("pool", 3, buf, 15, &err), 0);
	assert_string_equal(buf, "ua-esfm-pool-3");
	esfm_err_clear(&err);
	assert_int_equal(esfm_hostdev_alias("pool", 3, buf, 14, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_true(strnlen(buf, 14) < 14);
	esfm_err_clear(&err);
	assert_int_equal(esfm_hostdev_alias("pool", 10, buf, 15, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	free(buf);
}

static void test_alias_parse_roundtrip(void **state)
{
	static const char *const pools[] = {
		"a",  "pool",  "my-pool",    "a-b-c", "p-",   "-p",
		"--", "x.y_z", "fpga-1-2-3", "...",   "v1.2",
	};
	static const unsigned indexes[] = {0, 1, 9, 10, 99, 252, 4095, 65535};

	(void)state;
	for (size_t p = 0; p < ESFM_ARRAY_SIZE(pools); p++)
		for (size_t i = 0; i < ESFM_ARRAY_SIZE(indexes); i++) {
			struct esfm_err err;
			char alias[ESFM_ALIAS_MAX], pool[65];
			unsigned index = 12345;

			assert_int_equal(esfm_hostdev_alias(pools[p], indexes[i], alias,
							    sizeof(alias), &err),
					 0);
			char spelled[65];

			/* The pool part comes back in its alias spelling: '.' as '_'. */
			snprintf(spelled, sizeof(spelled), "%s", pools[p]);
			for (char *c = spelled; *c; c++)
				if (*c == '.')
					*c = '_';
			if (!esfm_hostdev_alias_parse(alias, pool, sizeof(pool), &index))
				fail_msg("own alias '%s' not parsed", alias);
			assert_string_equal(pool, spelled);
			assert_int_equal(index, indexes[i]);
		}
}

/* libvirt accepts only [A-Za-z0-9_-] in user aliases ("ua-" + that). */
static void test_alias_charset(void **state)
{
	static const char *const pools[] = {"a.b", "...", ".x", "x.", "A-Z_0.9", "v1.2.3-rc.1"};

	(void)state;
	for (size_t p = 0; p < ESFM_ARRAY_SIZE(pools); p++) {
		struct esfm_err err;
		char alias[ESFM_ALIAS_MAX];

		assert_true(esfm_name_valid(pools[p]));
		assert_int_equal(esfm_hostdev_alias(pools[p], 7, alias, sizeof(alias), &err), 0);
		for (const char *c = alias; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
				fail_msg("alias '%s' of pool '%s' has '%c'", alias, pools[p], *c);
	}
}

static void test_alias_match(void **state)
{
	char alias[ESFM_ALIAS_MAX];
	struct esfm_err err;
	unsigned index = 777;

	(void)state;
	assert_true(esfm_hostdev_alias_match("ua-esfm-pool-3", "pool", &index));
	assert_int_equal(index, 3);
	assert_true(esfm_hostdev_alias_match("ua-esfm-a-b-12", "a-b", &index));
	assert_int_equal(index, 12);
	/* A pool name that is a prefix of another does not match the other's aliases. */
	index = 777;
	assert_false(esfm_hostdev_alias_match("ua-esfm-a-b-12", "a", &index));
	assert_false(esfm_hostdev_alias_match("ua-esfm-a-12", "a-b", &index));
	assert_false(esfm_hostdev_alias_match("ua-esfm-pool-3", "poo", &index));
	assert_false(esfm_hostdev_alias_match("ua-esfm-pool-3", "pool2", &index));
	assert_false(esfm_hostdev_alias_match("ua-esfm-pool-3", "POOL", &index));
	assert_false(esfm_hostdev_alias_match("ua-esfm-pool-x", "pool", &index));
	assert_false(esfm_hostdev_alias_match("ua-other-pool-3", "pool", &index));
	assert_false(esfm_hostdev_alias_match("hostdev0", "pool", &index));
	assert_false(esfm_hostdev_alias_match("", "pool", &index));
	assert_int_equal(index, 777);
	/* A pool with '.' matches its own (underscored) aliases. */
	assert_int_equal(esfm_hostdev_alias("v1.2", 5, alias, sizeof(alias), &err), 0);
	assert_true(esfm_hostdev_alias_match(alias, "v1.2", &index));
	assert_int_equal(index, 5);
	/* Index 0 and the largest index. */
	assert_true(esfm_hostdev_alias_match("ua-esfm-p-0", "p", &index));
	assert_int_equal(index, 0);
	assert_true(esfm_hostdev_alias_match("ua-esfm-p-65535", "p", &index));
	assert_int_equal(index, 65535);
}

static void test_alias_match_roundtrip(void **state)
{
	static const char *const pools[] = {"a", "a-b", "a-b-c", "p-", "--", "x.y_z", "..."};

	(void)state;
	for (size_t p = 0; p < ESFM_ARRAY_SIZE(pools); p++)
		for (unsigned i = 0; i < 300; i += 37) {
			struct esfm_err err;
			char alias[ESFM_ALIAS_MAX];
			unsigned index = 99999;

			assert_int_equal(
				esfm_hostdev_alias(pools[p], i, alias, sizeof(alias), &err), 0);
			if (!esfm_hostdev_alias_match(alias, pools[p], &index))
				fail_msg("'%s' does not match its pool '%s'", alias, pools[p]);
			assert_int_equal(index, i);
			/* ... and no other pool of the list (all differ after '.' -> '_'). */
			for (size_t q = 0; q < ESFM_ARRAY_SIZE(pools); q++)
				if (q != p && esfm_hostdev_alias_match(alias, pools[q], &index))
					fail_msg("'%s' matches pool '%s' too", alias, pools[q]);
		}
}

static void test_alias_parse_pool_with_dashes(void **state)
{
	char pool[65];
	unsigned index;

	(void)state;
	assert_true(esfm_hostdev_alias_parse("ua-esfm-a-b-c-7", pool, sizeof(pool), &index));
	assert_string_equal(pool, "a-b-c");
	assert_int_equal(index, 7);
	assert_true(esfm_hostdev_alias_parse("ua-esfm-fpga-01-12", pool, sizeof(pool), &index));
	assert_string_equal(pool, "fpga-01");
	assert_int_equal(index, 12);
}

static void test_alias_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"hostdev0",
		"ua-esfm",
		"ua-esfm-",
		"ua-esfm-pool",	  /* no index */
		"ua-esfm-pool-",  /* empty index */
		"ua-esfm--3",	  /* empty pool */
		"ua-esfm-7",	  /* no pool */
		"ua-esfm-pool-x", /* non-numeric index */
		"ua-esfm-pool-1x",
		"ua-esfm-pool-x1",
		"ua-esfm-pool-+1",
		"ua-esfm-pool--1x",
		"ua-esfm-pool- 1",
		"ua-esfm-pool-1 ",
		"ua-esfm-pool-0x1",
		"ua-esfm-pool-1.0",
		"ua-esfm-pool-99999999999999999999",
		/* wrong prefix */
		"ua-esfx-pool-1",
		"UA-ESFM-pool-1",
		"ua_esfm-pool-1",
		"ua-esfmpool-1",
		"xua-esfm-pool-1",
		" ua-esfm-pool-1",
		"esfm-pool-1",
		"ua-pool-1",
		/* pool names that are not valid names */
		"ua-esfm-..-1",
		"ua-esfm-.-1",
		"ua-esfm-../x-1",
		"ua-esfm-a/b-1",
		"ua-esfm-a b-1",
		"ua-esfm-a:b-1",
		"ua-esfm-pool\n-1",
	};

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(bad); i++) {
		char pool[128] = "untouched";
		unsigned index = 0;

		if (esfm_hostdev_alias_parse(bad[i], pool, sizeof(pool), &index))
			fail_msg("accepted '%s' as pool '%s' VF %u", bad[i], pool, index);
	}
}

static void test_alias_parse_overlong_pool(void **state)
{
	char *pool65 = tu_repeat('p', 65);
	char alias[128], pool[128];
	unsigned index;
	bool r;

	(void)state;
	snprintf(alias, sizeof(alias), "ua-esfm-%s-1", pool65);
	free(pool65);
	r = esfm_hostdev_alias_parse(alias, pool, sizeof(pool), &index);
	assert_false(r);
}

static void test_alias_parse_pool_buffer(void **state)
{
	char *pool = malloc(5);
	unsigned index = 0;

	(void)state;
	assert_non_null(pool);
	/* "abcd" needs 5 bytes. */
	assert_true(esfm_hostdev_alias_parse("ua-esfm-abcd-2", pool, 5, &index));
	assert_string_equal(pool, "abcd");
	assert_int_equal(index, 2);
	assert_false(esfm_hostdev_alias_parse("ua-esfm-abcde-2", pool, 5, &index));
	assert_false(esfm_hostdev_alias_parse("ua-esfm-abcd-2", pool, 4, &index));
	assert_false(esfm_hostdev_alias_parse("ua-esfm-abcd-2", pool, 0, &index));
	free(pool);
}

/* ---------------------------------------------------------------- XML */

struct fx {
	char *dir;
	char top_templates[PATH_MAX];
};

/*
 * The repository's xml-templates: $ESFM_TOP (set by tests/run-tests.sh), else
 * four levels up from this binary (build/<variant>/tests/unit/test_hostdev).
 */
static void find_repo_templates(char buf[PATH_MAX])
{
	const char *top = getenv("ESFM_TOP");
	char exe[PATH_MAX];
	ssize_t n;

	if (top && *top) {
		snprintf(buf, PATH_MAX, "%.4000s/xml-templates", top);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		n = 0;
	exe[n] = '\0';
	for (int up = 0; up < 5; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			break;
		*slash = '\0';
	}
	snprintf(buf, PATH_MAX, "%.4000s/xml-templates", exe[0] ? exe : ".");
}

static int fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->dir = tu_mkdtemp();
	find_repo_templates(fx->top_templates);
	*state = fx;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	tu_rmtree(fx->dir);
	free(fx);
	return 0;
}

static const char *repo_templates(struct fx *fx)
{
	char p[PATH_MAX];

	if (!tu_exists(tu_path(p, "%s/hostdev.xml", fx->top_templates)))
		fail_msg("%s missing: set ESFM_TOP to the repository", p);
	return fx->top_templates;
}

static void write_template(struct fx *fx, const char *content)
{
	char p[PATH_MAX];

	tu_write(tu_path(p, "%s/hostdev.xml", fx->dir), content);
}

/* Parsed-back output. */
struct hd {
	xmlDocPtr doc;
	xmlNodePtr root, source, address, alias;
	int n_address, n_alias;
};

static xmlNodePtr only_child(xmlNodePtr parent, const char *name, int *count)
{
	xmlNodePtr found = NULL;

	*count = 0;
	for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, BAD_CAST name)) {
			if (!found)
				found = c;
			(*count)++;
		}
	return found;
}

/* Parse @xml (freed here) into @hd; the test fails if it is not well-formed. */
static void hd_parse(char *xml, struct hd *hd)
{
	int n;

	memset(hd, 0, sizeof(*hd));
	hd->doc = xmlReadMemory(xml, (int)strlen(xml), "hostdev.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(xml);
	assert_non_null(hd->doc);
	hd->root = xmlDocGetRootElement(hd->doc);
	assert_non_null(hd->root);
	hd->source = only_child(hd->root, "source", &n);
	hd->address = only_child(hd->source, "address", &hd->n_address);
	hd->alias = only_child(hd->root, "alias", &hd->n_alias);
}

static void hd_free(struct hd *hd)
{
	xmlFreeDoc(hd->doc);
}

static bool prop_is(xmlNodePtr node, const char *name, const char *want)
{
	xmlChar *v = node ? xmlGetProp(node, BAD_CAST name) : NULL;
	bool ok = v && !strcmp((const char *)v, want);

	xmlFree(v);
	return ok;
}

/* Numeric value as libvirt reads it (base 0: "0x83" is hex), -1 if absent or not a number. */
static long prop_num(xmlNodePtr node, const char *name)
{
	xmlChar *v = node ? xmlGetProp(node, BAD_CAST name) : NULL;
	char *end;
	long n;

	if (!v)
		return -1;
	errno = 0;
	n = strtol((const char *)v, &end, 0);
	if (errno || end == (char *)v || *end)
		n = -1;
	xmlFree(v);
	return n;
}

static void render(const char *dir, const char *addr, const char *alias, struct hd *hd)
{
	struct esfm_pci_addr a;
	struct esfm_err err;
	char *xml = NULL;

	assert_int_equal(esfm_pci_addr_parse(addr, &a, &err), 0);
	if (esfm_hostdev_xml(dir, &a, alias, &xml, &err) < 0)
		fail_msg("hostdev XML for %s: %s", addr, err.msg);
	assert_non_null(xml);
	hd_parse(xml, hd);
}

static void check_address(struct hd *hd, long domain, long bus, long slot, long function)
{
	assert_int_equal(hd->n_address, 1);
	assert_int_equal(prop_num(hd->address, "domain"), domain);
	assert_int_equal(prop_num(hd->address, "bus"), bus);
	assert_int_equal(prop_num(hd->address, "slot"), slot);
	assert_int_equal(prop_num(hd->address, "function"), function);
}

static void test_xml_from_repo_template(void **state)
{
	struct fx *fx = *state;
	const char *dir = repo_templates(fx);
	struct hd hd;

	render(dir, "0000:83:00.4", "ua-esfm-fpga-a-0", &hd);
	assert_string_equal((const char *)hd.root->name, "hostdev");
	/* Everything else in the template is kept. */
	assert_true(prop_is(hd.root, "mode", "subsystem"));
	assert_true(prop_is(hd.root, "type", "pci"));
	assert_true(prop_is(hd.root, "managed", "no"));
	check_address(&hd, 0, 0x83, 0, 4);
	assert_int_equal(hd.n_alias, 1);
	assert_true(prop_is(hd.alias, "name", "ua-esfm-fpga-a-0"));
	hd_free(&hd);
}

static void test_xml_address_extremes(void **state)
{
	struct fx *fx = *state;
	const char *dir = repo_templates(fx);
	struct hd hd;

	render(dir, "ffff:ff:1f.7", "ua-esfm-p-65535", &hd);
	check_address(&hd, 0xffff, 0xff, 0x1f, 7);
	hd_free(&hd);
	render(dir, "0000:00:00.0", "ua-esfm-p-0", &hd);
	check_address(&hd, 0, 0, 0, 0);
	hd_free(&hd);
	render(dir, "abcd:3b:1a.5", "ua-esfm-p-1", &hd);
	check_address(&hd, 0xabcd, 0x3b, 0x1a, 5);
	hd_free(&hd);
}

/* Rendering twice from one template gives independent results. */
static void test_xml_repeatable(void **state)
{
	struct fx *fx = *state;
	const char *dir = repo_templates(fx);
	struct hd a, b;

	render(dir, "0000:83:00.4", "ua-esfm-p-0", &a);
	render(dir, "0000:84:01.2", "ua-esfm-p-1", &b);
	check_address(&a, 0, 0x83, 0, 4);
	check_address(&b, 0, 0x84, 1, 2);
	assert_true(prop_is(a.alias, "name", "ua-esfm-p-0"));
	assert_true(prop_is(b.alias, "name", "ua-esfm-p-1"));
	hd_free(&a);
	hd_free(&b);
}

static void test_xml_alias_is_escaped(void **state)
{
	struct fx *fx = *state;
	const char *dir = repo_templates(fx);
	struct hd hd;

	render(dir, "0000:83:00.4", "a&b<c>\"d'", &hd);
	assert_int_equal(hd.n_alias, 1);
	assert_true(prop_is(hd.alias, "name", "a&b<c>\"d'"));
	hd_free(&hd);
}

static void test_xml_template_without_alias(void **state)
{
	struct fx *fx = *state;
	struct hd hd;

	write_template(fx, "<hostdev mode='subsystem' type='pci' managed='no'>\n"
			   "  <driver name='vfio'/>\n"
			   "  <source><address domain='0x9999' bus='0x99' slot='0x09' "
			   "function='0x1'/></source>\n"
			   "  <rom bar='off'/>\n"
			   "</hostdev>\n");
	render(fx->dir, "0000:83:00.4", "ua-esfm-pool-0", &hd);
	check_address(&hd, 0, 0x83, 0, 4);
	assert_int_equal(hd.n_alias, 1);
	assert_true(prop_is(hd.alias, "name", "ua-esfm-pool-0"));
	{
		int n;
		xmlNodePtr rom = only_child(hd.root, "rom", &n);
		xmlNodePtr drv = only_child(hd.root, "driver", &n);

		assert_true(prop_is(rom, "bar", "off"));
		assert_true(prop_is(drv, "name", "vfio"));
	}
	hd_free(&hd);
}

static void test_xml_alias_replaced_not_added(void **state)
{
	struct fx *fx = *state;
	struct hd hd;

	write_template(fx, "<hostdev mode='subsystem' type='pci' managed='yes'>"
			   "<alias name='ua-something-else'/>"
			   "<source><address domain='0x0' bus='0x0' slot='0x0' function='0x0'/>"
			   "</source></hostdev>");
	render(fx->dir, "0001:02:03.4", "ua-esfm-pool-9", &hd);
	assert_int_equal(hd.n_alias, 1);
	assert_true(prop_is(hd.alias, "name", "ua-esfm-pool-9"));
	assert_true(prop_is(hd.root, "managed", "yes"));
	check_address(&hd, 1, 2, 3, 4);
	hd_free(&hd);
}

static void expect_config_error(struct fx *fx, const char *dir, const char *what)
{
	struct esfm_pci_addr a = {0, 0x83, 0, 4};
	struct esfm_err err;
	char *xml = NULL;
	int r;

	(void)fx;
	esfm_err_clear(&err);
	r = esfm_hostdev_xml(dir, &a, "ua-esfm-p-0", &xml, &err);
	if (r == 0) {
		free(xml);
		fail_msg("%s: accepted", what);
	}
	assert_int_equal(r, -1);
	assert_null(xml);
	if (err.cls != ESFM_ERR_CONFIG)
		fail_msg("%s: error class %d, expected CONFIG (%d): %s", what, err.cls,
			 ESFM_ERR_CONFIG, err.msg);
	assert_int_equal(esfm_err_exit_code(&err), 2);
	if (!strstr(err.msg, "hostdev.xml"))
		fail_msg("%s: error does not name the template: %s", what, err.msg);
}

static void test_xml_template_missing(void **state)
{
	struct fx *fx = *state;

	expect_config_error(fx, fx->dir, "missing template");
}

static void test_xml_template_dir_missing(void **state)
{
	struct fx *fx = *state;
	char p[PATH_MAX];

	expect_config_error(fx, tu_path(p, "%s/no-such-dir", fx->dir), "missing template dir");
}

static void test_xml_template_malformed(void **state)
{
	struct fx *fx = *state;

	write_template(fx, "<hostdev mode='subsystem'>\n<source>\n<address/>\n</hostdev>\n");
	expect_config_error(fx, fx->dir, "malformed template");
}

static void test_xml_template_empty(void **state)
{
	struct fx *fx = *state;

	write_template(fx, "");
	expect_config_error(fx, fx->dir, "empty template");
}

static void test_xml_template_not_hostdev(void **state)
{
	struct fx *fx = *state;

	write_template(fx, "<interface type='hostdev'><source><address type='pci' domain='0x0' "
			   "bus='0x0' slot='0x0' function='0x0'/></source></interface>");
	expect_config_error(fx, fx->dir, "root <interface>");
}

static void test_xml_template_no_source(void **state)
{
	struct fx *fx = *state;

	write_template(fx, "<hostdev mode='subsystem' type='pci'><address domain='0x0' bus='0x0' "
			   "slot='0x0' function='0x0'/></hostdev>");
	expect_config_error(fx, fx->dir, "no <source>");
}

static void test_xml_template_source_without_address(void **state)
{
	struct fx *fx = *state;

	write_template(fx, "<hostdev mode='subsystem' type='pci'><source><adress/></source>"
			   "</hostdev>");
	expect_config_error(fx, fx->dir, "<source> without <address>");
}

static void test_xml_template_dir_too_long(void **state)
{
	struct esfm_pci_addr a = {0, 0x83, 0, 4};
	struct esfm_err err;
	char *dir = tu_repeat('d', PATH_MAX);
	char *xml = NULL;
	int r;

	(void)state;
	dir[0] = '/';
	esfm_err_clear(&err);
	r = esfm_hostdev_xml(dir, &a, "ua-esfm-p-0", &xml, &err);
	free(dir);
	assert_int_equal(r, -1);
	assert_null(xml);
	assert_int_equal(err.errnum, ENAMETOOLONG);
}

/* ----------------------------------------------------------- identity */

static const struct esfm_vf_identity id_fpga = {
	.pool = "fpga0",
	.index = 3,
	.pf = {.domain = 0, .bus = 0x83, .dev = 0, .fn = 0},
	.kind = "qdma_demo",
};

static void test_identity_name(void **state)
{
	struct esfm_vf_identity id = id_fpga;
	char buf[ESFM_IDENTITY_NAME_MAX];
	struct esfm_err err = {0};

	(void)state;
	assert_int_equal(esfm_identity_name(&id, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "esfm-vf,pool=fpga0,index=3,pf=0000:83:00.0,kind=qdma_demo");
	/* No kind known: the field is left out, not written empty. */
	id.kind = "";
	assert_int_equal(esfm_identity_name(&id, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "esfm-vf,pool=fpga0,index=3,pf=0000:83:00.0");
	id.kind = NULL;
	assert_int_equal(esfm_identity_name(&id, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "esfm-vf,pool=fpga0,index=3,pf=0000:83:00.0");
	/* A pool name with '.' keeps it (the name is not an alias). */
	id = (struct esfm_vf_identity){.pool = "v1.2-x",
				       .index = 251,
				       .pf = {.domain = 0x10, .bus = 0xff, .dev = 0x1f, .fn = 7},
				       .kind = "a.b-c_d"};
	assert_int_equal(esfm_identity_name(&id, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "esfm-vf,pool=v1.2-x,index=251,pf=0010:ff:1f.7,kind=a.b-c_d");
}

/* The longest pool name and kind with the largest index fit the name buffer. */
static void test_identity_name_longest_fits(void **state)
{
	char *pool = tu_repeat('p', 64), *kind = tu_repeat('k', 32);
	struct esfm_vf_identity id = {.pool = pool, .index = 65535, .kind = kind};
	char buf[ESFM_IDENTITY_NAME_MAX];
	struct esfm_err err = {0};
	int r;

	(void)state;
	r = esfm_identity_name(&id, buf, sizeof(buf), &err);
	free(pool);
	free(kind);
	assert_int_equal(r, 0);
}

/* A kind or pool that could break the key=value form (',' '=' ...) is refused. */
static void test_identity_name_rejects(void **state)
{
	static const char *const bad[] = {"a,b", "k=v", "a b", "../x", "x/y", "é", "a\nb"};
	char buf[ESFM_IDENTITY_NAME_MAX];

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(bad); i++) {
		struct esfm_vf_identity id = id_fpga;
		struct esfm_err err = {0};

		id.kind = bad[i];
		if (esfm_identity_name(&id, buf, sizeof(buf), &err) == 0)
			fail_msg("kind '%s' accepted: %s", bad[i], buf);
		assert_int_equal(err.cls, ESFM_ERR_USAGE);
		assert_non_null(strstr(err.msg, "fpga0"));
		esfm_err_clear(&err);
		id = id_fpga;
		id.pool = bad[i];
		if (esfm_identity_name(&id, buf, sizeof(buf), &err) == 0)
			fail_msg("pool '%s' accepted: %s", bad[i], buf);
	}
}

static void test_identity_alias(void **state)
{
	char buf[ESFM_ALIAS_MAX], pool[65];
	struct esfm_err err = {0};
	unsigned index;

	(void)state;
	assert_int_equal(esfm_identity_alias("fpga0", 3, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "ua-esfmid-fpga0-3");
	assert_int_equal(esfm_identity_alias("v1.2", 0, buf, sizeof(buf), &err), 0);
	assert_string_equal(buf, "ua-esfmid-v1_2-0");
	/* Never taken for a hostdev alias: reconcile and gc must not count it as a VF. */
	assert_false(esfm_hostdev_alias_parse(buf, pool, sizeof(pool), &index));
	assert_false(esfm_hostdev_alias_match(buf, "v1.2", &index));
}

static void test_identity_kind(void **state)
{
	(void)state;
	/* Flashed by esfm: what it flashed, even with no kind given then. */
	assert_string_equal(esfm_identity_kind("/b.bit", "demo", "pool"), "demo");
	assert_string_equal(esfm_identity_kind("/b.bit", "", "pool"), "");
	assert_string_equal(esfm_identity_kind("/b.bit", NULL, "pool"), "");
	/* Never flashed: the pool's word. */
	assert_string_equal(esfm_identity_kind("", "stale", "pool"), "pool");
	assert_string_equal(esfm_identity_kind(NULL, NULL, "pool"), "pool");
	assert_string_equal(esfm_identity_kind("", "", ""), "");
	assert_string_equal(esfm_identity_kind(NULL, NULL, NULL), "");
}

/* esfm_identity_of: the pool's name and PF, the index, and the kind by the rule above. */
static void test_identity_of(void **state)
{
	struct esfm_pool pool = {.name = "fpga0", .pf = {0, 0x83, 0, 0}, .bitstream_kind = "pk"};
	struct esfm_vf_identity id;

	(void)state;
	id = esfm_identity_of(&pool, 7, "", "");
	assert_string_equal(id.pool, "fpga0");
	assert_int_equal(id.index, 7);
	assert_int_equal(id.pf.bus, 0x83);
	assert_string_equal(id.kind, "pk");
	id = esfm_identity_of(&pool, 7, "/b.bit", "demo");
	assert_string_equal(id.kind, "demo");
}

static void write_identity_template(struct fx *fx, const char *content)
{
	char p[PATH_MAX];

	tu_write(tu_path(p, "%s/identity.xml", fx->dir), content);
}

static void test_identity_xml_from_repo_template(void **state)
{
	struct fx *fx = *state;
	struct esfm_err err = {0};
	char *xml = NULL;
	xmlDocPtr doc;
	xmlNodePtr root, target, alias;
	int n;

	assert_int_equal(esfm_identity_xml(repo_templates(fx), &id_fpga, &xml, &err), 0);
	doc = xmlReadMemory(xml, (int)strlen(xml), "identity.xml", NULL, XML_PARSE_NONET);
	free(xml);
	assert_non_null(doc);
	root = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)root->name, "channel");
	assert_true(prop_is(root, "type", "null"));
	target = only_child(root, "target", &n);
	assert_int_equal(n, 1);
	assert_true(prop_is(target, "type", "virtio"));
	assert_true(prop_is(target, "name",
			    "esfm-vf,pool=fpga0,index=3,pf=0000:83:00.0,kind=qdma_demo"));
	alias = only_child(root, "alias", &n);
	assert_int_equal(n, 1);
	assert_true(prop_is(alias, "name", "ua-esfmid-fpga0-3"));
	xmlFreeDoc(doc);
}

/* An operator's template keeps its own backend; esfm only fills name and alias. */
static void test_identity_xml_keeps_backend(void **state)
{
	struct fx *fx = *state;
	struct esfm_err err = {0};
	char *xml = NULL;

	write_identity_template(fx,
				"<channel type='pty'><target type='virtio' name='x'/></channel>");
	assert_int_equal(esfm_identity_xml(fx->dir, &id_fpga, &xml, &err), 0);
	assert_non_null(strstr(xml, "<channel type=\"pty\">"));
	assert_non_null(strstr(xml, "name=\"esfm-vf,pool=fpga0,"));
	assert_non_null(strstr(xml, "<alias name=\"ua-esfmid-fpga0-3\"/>"));
	free(xml);
}

static void test_identity_xml_bad_templates(void **state)
{
	static const char *const bad[] = {
		"<hostdev/>",
		"<channel type='null'/>",
		"<channel type='null'><target type='guestfwd' name='x'/></channel>",
		"<channel type='null'><target name='x'/></channel>",
		"<channel",
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < ESFM_ARRAY_SIZE(bad); i++) {
		struct esfm_err err = {0};
		char *xml = NULL;

		write_identity_template(fx, bad[i]);
		if (esfm_identity_xml(fx->dir, &id_fpga, &xml, &err) == 0)
			fail_msg("template '%s' accepted: %s", bad[i], xml);
		assert_int_equal(err.cls, ESFM_ERR_CONFIG);
		assert_non_null(strstr(err.msg, "identity.xml"));
		assert_null(xml);
	}
}

static void test_identity_xml_template_missing(void **state)
{
	struct fx *fx = *state;
	struct esfm_err err = {0};
	char *xml = NULL;

	assert_int_equal(esfm_identity_xml(fx->dir, &id_fpga, &xml, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_non_null(strstr(err.msg, "identity.xml"));
	assert_non_null(strstr(err.hint, "template_dir"));
}

#define T(f) cmocka_unit_test(f)
#define F(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_alias_build),
		T(test_alias_longest_fits),
		T(test_alias_buffer_too_small),
		T(test_alias_parse_roundtrip),
		T(test_alias_charset),
		T(test_alias_match),
		T(test_alias_match_roundtrip),
		T(test_alias_parse_pool_with_dashes),
		T(test_alias_parse_rejects),
		T(test_alias_parse_overlong_pool),
		T(test_alias_parse_pool_buffer),
		F(test_xml_from_repo_template),
		F(test_xml_address_extremes),
		F(test_xml_repeatable),
		F(test_xml_alias_is_escaped),
		F(test_xml_template_without_alias),
		F(test_xml_alias_replaced_not_added),
		F(test_xml_template_missing),
		F(test_xml_template_dir_missing),
		F(test_xml_template_malformed),
		F(test_xml_template_empty),
		F(test_xml_template_not_hostdev),
		F(test_xml_template_no_source),
		F(test_xml_template_source_without_address),
		T(test_xml_template_dir_too_long),
		T(test_identity_name),
		T(test_identity_name_longest_fits),
		T(test_identity_name_rejects),
		T(test_identity_alias),
		T(test_identity_kind),
		T(test_identity_of),
		F(test_identity_xml_from_repo_template),
		F(test_identity_xml_keeps_backend),
		F(test_identity_xml_bad_templates),
		F(test_identity_xml_template_missing),
	};
	int r = cmocka_run_group_tests_name("hostdev", tests, NULL, NULL);

	xmlCleanupParser();
	return r;
}
