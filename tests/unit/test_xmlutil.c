// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/xmlutil.h: parsing from memory and files with errors
 * carrying the source name and line, no entity expansion or external
 * loading, child/sibling lookup, attribute copies and serialisation.
 */
#include "testutil.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "util.h"
#include "xmlutil.h"

static xmlDocPtr parse_ok(const char *xml)
{
	struct esfm_err err;
	xmlDocPtr doc = NULL;

	if (esfm_xml_read_memory(xml, strlen(xml), "test XML", &doc, &err) < 0)
		fail_msg("%s", err.msg);
	assert_non_null(doc);
	return doc;
}

/* ---------------------------------------------------------------- parsing */

static void test_read_memory(void **state)
{
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	struct esfm_err err;
	const char *xml = "<pool name='a'><source><pf address='0000:83:00.0'/></source></pool>";
	xmlNodePtr root;

	(void)state;
	assert_int_equal(esfm_xml_read_memory(xml, strlen(xml), "pool XML", &doc, &err), 0);
	assert_non_null(doc);
	root = xmlDocGetRootElement(doc);
	assert_non_null(root);
	assert_string_equal((const char *)root->name, "pool");
}

/* Only @len bytes are parsed. */
static void test_read_memory_uses_len(void **state)
{
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	struct esfm_err err;
	const char *xml = "<a/>this is not XML";

	(void)state;
	assert_int_equal(esfm_xml_read_memory(xml, 4, "prefix", &doc, &err), 0);
	assert_string_equal((const char *)xmlDocGetRootElement(doc)->name, "a");
}

/*
 * Bad XML is a CONFIG error "<what>:<line>: <parser message>". @line > 0 pins
 * the line; -1 wants some line; 0 only wants the name (no position known).
 */
static void expect_bad_memory(const char *xml, const char *what, int line)
{
	struct esfm_err err;
	xmlDocPtr doc = NULL;
	size_t wl = strlen(what);
	int got_line = 0, used = 0;

	esfm_err_clear(&err);
	if (esfm_xml_read_memory(xml, strlen(xml), what, &doc, &err) == 0) {
		xmlFreeDoc(doc);
		fail_msg("accepted bad XML '%s'", xml);
	}
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_int_equal(esfm_err_exit_code(&err), 2);
	if (strncmp(err.msg, what, wl))
		fail_msg("error '%s' does not start with '%s'", err.msg, what);
	if (line != 0) {
		if (sscanf(err.msg + wl, ":%d: %n", &got_line, &used) != 1 || !used || got_line < 1)
			fail_msg("error '%s' has no '%s:<line>: '", err.msg, what);
		if (line > 0 && got_line != line)
			fail_msg("error '%s': expected line %d", err.msg, line);
	}
	/* More than the location: the parser's message. */
	assert_true(strlen(err.msg) > wl + 4);
}

static void test_read_memory_malformed(void **state)
{
	(void)state;
	expect_bad_memory("<domain>\n  <name>x</name>\n  <devices>\n</domain>\n", "domain XML", -1);
	expect_bad_memory("<a b='1' b='2'/>", "dup attr", 1);
	expect_bad_memory("<a>\n\n\n<b x=1/></a>", "unquoted", 4);
	expect_bad_memory("<a/>\n<b/>", "two roots", 2);
	expect_bad_memory("<a>&undefined;</a>", "undefined entity", 1);
	expect_bad_memory("plain text", "text", 0);
	expect_bad_memory("", "empty", 0);
	expect_bad_memory("<a>", "unterminated", 0);
	expect_bad_memory("<?xml version='1.0'?>\n<a>\n<b>\n</a>", "mismatch", 0);
}

static void test_read_file(void **state)
{
	struct tu_tmpdir *fx = *state;
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	struct esfm_err err;
	char path[PATH_MAX];

	tu_write(tu_path(path, "%s/pool.xml", fx->dir),
		 "<?xml version='1.0'?>\n<pool name='a'/>\n");
	assert_int_equal(esfm_xml_read_file(path, &doc, &err), 0);
	assert_string_equal((const char *)xmlDocGetRootElement(doc)->name, "pool");
}

static void test_read_file_malformed(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	xmlDocPtr doc = NULL;
	char path[PATH_MAX], want[PATH_MAX + 16];

	tu_write(tu_path(path, "%s/bad.xml", fx->dir), "<pool>\n  <source>\n  </sorce>\n</pool>\n");
	esfm_err_clear(&err);
	if (esfm_xml_read_file(path, &doc, &err) == 0) {
		xmlFreeDoc(doc);
		fail_msg("accepted malformed file");
	}
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:3: ", path);
	if (strncmp(err.msg, want, strlen(want)))
		fail_msg("error '%s' does not start with '%s'", err.msg, want);
}

static void test_read_file_empty(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	xmlDocPtr doc = NULL;
	char path[PATH_MAX];

	tu_write(tu_path(path, "%s/empty.xml", fx->dir), "");
	esfm_err_clear(&err);
	if (esfm_xml_read_file(path, &doc, &err) == 0) {
		xmlFreeDoc(doc);
		fail_msg("accepted empty file");
	}
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_non_null(strstr(err.msg, path));
}

static void test_read_file_missing(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	xmlDocPtr doc = NULL;
	char path[PATH_MAX];

	esfm_err_clear(&err);
	tu_path(path, "%s/none.xml", fx->dir);
	assert_int_equal(esfm_xml_read_file(path, &doc, &err), -1);
	assert_int_not_equal(err.cls, ESFM_ERR_NONE);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, path));
}

/* The library never prints: parser errors go into the esfm_err only. */
static void test_errors_not_printed(void **state)
{
	struct tu_tmpdir *fx = *state;
	struct esfm_err err;
	xmlDocPtr doc = NULL;
	char path[PATH_MAX], bad[PATH_MAX];
	int saved_out, saved_err, fd;
	struct stat st;

	tu_write(tu_path(bad, "%s/bad.xml", fx->dir), "<a><b></a>");
	tu_path(path, "%s/stderr", fx->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	esfm_xml_read_memory("<a><b></a>", 10, "mem", &doc, &err);
	esfm_xml_read_memory("<a>&x;</a>", 10, "mem", &doc, &err);
	esfm_xml_read_file(bad, &doc, &err);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	if (st.st_size) {
		char shown[256] = "";
		FILE *f = fopen(path, "r");

		if (f) {
			size_t n = fread(shown, 1, sizeof(shown) - 1, f);

			shown[n] = '\0';
			fclose(f);
		}
		fail_msg("parser printed: %s", shown);
	}
}

/* No entity expansion: an external entity's file is never read into the document. */
static void test_no_external_entity(void **state)
{
	struct tu_tmpdir *fx = *state;
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	struct esfm_err err;
	char secret[PATH_MAX], xml[PATH_MAX * 2];
	char *out = NULL;
	bool leaked;
	int r;

	tu_write(tu_path(secret, "%s/secret.txt", fx->dir), "TOPSECRET");
	snprintf(xml, sizeof(xml),
		 "<!DOCTYPE pool [<!ENTITY e SYSTEM 'file://%s'>]>\n<pool name='a'>&e;</pool>",
		 secret);
	esfm_err_clear(&err);
	r = esfm_xml_read_memory(xml, strlen(xml), "pool XML", &doc, &err);
	if (r < 0) {
		assert_int_equal(err.cls, ESFM_ERR_CONFIG); /* refusing is fine too */
		return;
	}
	assert_int_equal(esfm_xml_node_to_string(xmlDocGetRootElement(doc), &out, &err), 0);
	leaked = strstr(out, "TOPSECRET") != NULL;
	free(out);
	assert_false(leaked);
	{
		xmlChar *content = xmlNodeGetContent(xmlDocGetRootElement(doc));

		leaked = content && strstr((const char *)content, "TOPSECRET");
		xmlFree(content);
		assert_false(leaked);
	}
}

/* No entity expansion: internal entities stay references, not their text. */
static void test_no_internal_entity_expansion(void **state)
{
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	struct esfm_err err;
	const char *xml = "<!DOCTYPE a [<!ENTITY e 'EXPANDED'>]><a>&e;</a>";
	xmlNodePtr root;

	(void)state;
	esfm_err_clear(&err);
	if (esfm_xml_read_memory(xml, strlen(xml), "x", &doc, &err) < 0) {
		assert_int_equal(err.cls, ESFM_ERR_CONFIG);
		return;
	}
	root = xmlDocGetRootElement(doc);
	for (xmlNodePtr c = root->children; c; c = c->next)
		if (c->type == XML_TEXT_NODE && strstr((const char *)c->content, "EXPANDED"))
			fail_msg("entity was substituted into a text node");
}

/* No external DTD loading: default attributes from it never appear. */
static void test_no_external_dtd(void **state)
{
	struct tu_tmpdir *fx = *state;
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	struct esfm_err err;
	char dtd[PATH_MAX], xml[PATH_MAX * 2];
	xmlChar *v;

	tu_write(tu_path(dtd, "%s/ext.dtd", fx->dir),
		 "<!ELEMENT a EMPTY>\n<!ATTLIST a leaked CDATA \"FROMDTD\">\n");
	snprintf(xml, sizeof(xml), "<!DOCTYPE a SYSTEM 'file://%s'>\n<a/>", dtd);
	esfm_err_clear(&err);
	if (esfm_xml_read_memory(xml, strlen(xml), "x", &doc, &err) < 0) {
		assert_int_equal(err.cls, ESFM_ERR_CONFIG);
		return;
	}
	v = xmlGetProp(xmlDocGetRootElement(doc), BAD_CAST "leaked");
	xmlFree(v);
	assert_null(v);
}

/* ----------------------------------------------------------- navigation */

static void test_child(void **state)
{
	_cleanup_xmldoc_ xmlDocPtr doc = parse_ok("<r>\n  <!-- c -->\n  text\n  <?pi x?>\n"
						  "  <a n='1'><b n='inner'/></a>\n  <b n='2'/>\n"
						  "  <b n='3'/>\n</r>");
	xmlNodePtr root = xmlDocGetRootElement(doc), a, b;
	char v[16];

	(void)state;
	a = esfm_xml_child(root, "a");
	assert_non_null(a);
	assert_int_equal(a->type, XML_ELEMENT_NODE);
	b = esfm_xml_child(root, "b");
	assert_non_null(b);
	/* The first direct child, not the grandchild inside <a>. */
	esfm_xml_prop(b, "n", v, sizeof(v));
	assert_string_equal(v, "2");
	assert_null(esfm_xml_child(root, "c"));
	assert_null(esfm_xml_child(root, "pi"));
	assert_null(esfm_xml_child(root, "x"));
	assert_null(esfm_xml_child(root, ""));
	assert_null(esfm_xml_child(NULL, "a"));
	/* Leaf element: no children. */
	assert_null(esfm_xml_child(esfm_xml_child(a, "b"), "b"));
}

static void test_next(void **state)
{
	_cleanup_xmldoc_ xmlDocPtr doc = parse_ok(
		"<r><b n='1'/>text<c/><!-- x --><b n='2'><b n='nested'/></b><b n='3'/></r>");
	xmlNodePtr root = xmlDocGetRootElement(doc), b;
	const char *want[] = {"1", "2", "3"};
	size_t i = 0;
	char v[16];

	(void)state;
	for (b = esfm_xml_child(root, "b"); b; b = esfm_xml_next(b, "b")) {
		assert_true(i < ESFM_ARRAY_SIZE(want));
		esfm_xml_prop(b, "n", v, sizeof(v));
		assert_string_equal(v, want[i]);
		i++;
	}
	assert_int_equal(i, 3);
	assert_non_null(esfm_xml_next(esfm_xml_child(root, "b"), "c"));
	assert_null(esfm_xml_next(esfm_xml_child(root, "c"), "c"));
	assert_null(esfm_xml_next(NULL, "b"));
}

static void test_prop(void **state)
{
	_cleanup_xmldoc_ xmlDocPtr doc = parse_ok("<r a='value' empty='' esc='&lt;&amp;&quot;'/>");
	xmlNodePtr root = xmlDocGetRootElement(doc);
	char v[16];

	(void)state;
	assert_true(esfm_xml_prop(root, "a", v, sizeof(v)) > 0);
	assert_string_equal(v, "value");
	assert_true(esfm_xml_prop(root, "esc", v, sizeof(v)) > 0);
	assert_string_equal(v, "<&\"");
	/* Present but empty is present. */
	strcpy(v, "junk");
	assert_true(esfm_xml_prop(root, "empty", v, sizeof(v)) > 0);
	assert_string_equal(v, "");
	/* Absent: "" and false. */
	strcpy(v, "junk");
	assert_int_equal(esfm_xml_prop(root, "missing", v, sizeof(v)), 0);
	assert_string_equal(v, "");
}

static void test_prop_length_limit(void **state)
{
	_cleanup_xmldoc_ xmlDocPtr doc = parse_ok("<r a='12345'/>");
	xmlNodePtr root = xmlDocGetRootElement(doc);
	char *v = malloc(6);

	(void)state;
	assert_non_null(v);
	/* Exactly fits (5 + NUL). */
	assert_true(esfm_xml_prop(root, "a", v, 6) > 0);
	assert_string_equal(v, "12345");
	/* Too long: "" and not a success. */
	strcpy(v, "junk");
	assert_false(esfm_xml_prop(root, "a", v, 5) > 0);
	assert_string_equal(v, "");
	assert_false(esfm_xml_prop(root, "a", v, 1) > 0);
	assert_string_equal(v, "");
	free(v);
}

/* -------------------------------------------------------- serialisation */

static void test_node_to_string(void **state)
{
	_cleanup_xmldoc_ xmlDocPtr doc =
		parse_ok("<domain><devices><hostdev mode='subsystem'><alias name='a&amp;b'/>"
			 "</hostdev></devices></domain>");
	_cleanup_xmldoc_ xmlDocPtr back = NULL;
	xmlNodePtr hostdev =
		esfm_xml_child(esfm_xml_child(xmlDocGetRootElement(doc), "devices"), "hostdev");
	struct esfm_err err;
	char *out = NULL;
	char v[16];

	(void)state;
	assert_int_equal(esfm_xml_node_to_string(hostdev, &out, &err), 0);
	assert_non_null(out);
	/* Only that node, and it parses back to the same thing. */
	assert_null(strstr(out, "devices"));
	assert_int_equal(esfm_xml_read_memory(out, strlen(out), "out", &back, &err), 0);
	free(out);
	assert_string_equal((const char *)xmlDocGetRootElement(back)->name, "hostdev");
	esfm_xml_prop(esfm_xml_child(xmlDocGetRootElement(back), "alias"), "name", v, sizeof(v));
	assert_string_equal(v, "a&b");
}

/*
 * "with its document's namespaces": a node whose prefix is declared on an
 * ancestor (libvirt <metadata> elements) must come out as namespace
 * well-formed XML that resolves to the same namespace.
 */
static void test_node_to_string_namespaces(void **state)
{
	xmlDocPtr doc = parse_ok(
		"<domain xmlns:esfm='urn:example:esfm'><metadata>"
		"<esfm:pool name='a'><esfm:vf index='0'/></esfm:pool></metadata></domain>");
	xmlDocPtr back;
	xmlNodePtr pool =
		esfm_xml_child(esfm_xml_child(xmlDocGetRootElement(doc), "metadata"), "pool");
	struct esfm_err err;
	char *out = NULL;
	char shown[256];
	xmlNodePtr root, child;
	bool ok;

	(void)state;
	assert_non_null(pool);
	assert_int_equal(esfm_xml_node_to_string(pool, &out, &err), 0);
	snprintf(shown, sizeof(shown), "%s", out);
	back = xmlReadMemory(out, (int)strlen(out), "out", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(out);
	root = back ? xmlDocGetRootElement(back) : NULL;
	child = root ? root->children : NULL;
	while (child && child->type != XML_ELEMENT_NODE) /* skip indentation text */
		child = child->next;
	ok = root && root->ns && !xmlStrcmp(root->ns->href, BAD_CAST "urn:example:esfm") && child &&
	     child->ns && !xmlStrcmp(child->ns->href, BAD_CAST "urn:example:esfm");
	xmlFreeDoc(back);
	xmlFreeDoc(doc);
	if (!ok)
		fail_msg("serialised '%s' loses the esfm namespace", shown);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_memory),
		cmocka_unit_test(test_read_memory_uses_len),
		cmocka_unit_test(test_read_memory_malformed),
		cmocka_unit_test_setup_teardown(test_read_file, tu_tmpdir_setup,
						tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_file_malformed, tu_tmpdir_setup,
						tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_file_empty, tu_tmpdir_setup,
						tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_file_missing, tu_tmpdir_setup,
						tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_errors_not_printed, tu_tmpdir_setup,
						tu_tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_no_external_entity, tu_tmpdir_setup,
						tu_tmpdir_teardown),
		cmocka_unit_test(test_no_internal_entity_expansion),
		cmocka_unit_test_setup_teardown(test_no_external_dtd, tu_tmpdir_setup,
						tu_tmpdir_teardown),
		cmocka_unit_test(test_child),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_prop),
		cmocka_unit_test(test_prop_length_limit),
		cmocka_unit_test(test_node_to_string),
		cmocka_unit_test(test_node_to_string_namespaces),
	};
	int r = cmocka_run_group_tests_name("xmlutil", tests, NULL, NULL);

	xmlCleanupParser();
	return r;
}
