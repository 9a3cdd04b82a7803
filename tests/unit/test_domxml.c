// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/domxml.h: the cheap pre-check, domain name/UUID and PCI
 * hostdevs, the esfm annotation in both forms and with any namespace prefix,
 * every invalid annotation, and the round trip of the live-metadata element
 * built by esfm_domxml_annotation_xml.
 */
#include "testutil.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "domxml.h"

#define UUID1 "c7a5fdbd-edaf-9455-926a-d65c16db1809"
#define NS    "urn:esfm:vf:1"

/* A domain "vm1" with @metadata inside <metadata> and @devices inside <devices>. */
static char *domain(const char *metadata, const char *devices)
{
	char *s = NULL;

	assert_true(asprintf(&s,
			     "<domain type='kvm'>\n"
			     "  <name>vm1</name>\n"
			     "  <uuid>" UUID1 "</uuid>\n"
			     "  <metadata>%s</metadata>\n"
			     "  <memory unit='KiB'>1048576</memory>\n"
			     "  <devices>%s</devices>\n"
			     "</domain>\n",
			     metadata ? metadata : "", devices ? devices : "") > 0);
	return s;
}

struct fx {
	char *xml;     /* freed by teardown */
	char *out;     /* freed by teardown */
	xmlDocPtr doc; /* freed by teardown */
	struct esfm_domain dom;
	struct esfm_err err;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	free(fx->xml);
	free(fx->out);
	if (fx->doc)
		xmlFreeDoc(fx->doc);
	free(fx);
	return 0;
}

/* Parse a domain holding @metadata; returns esfm_domxml_parse's result. */
static int parse_meta(struct fx *fx, const char *metadata)
{
	free(fx->xml);
	fx->xml = domain(metadata, NULL);
	esfm_err_clear(&fx->err);
	return esfm_domxml_parse(fx->xml, strlen(fx->xml), &fx->dom, &fx->err);
}

static int parse_text(struct fx *fx, const char *xml)
{
	esfm_err_clear(&fx->err);
	return esfm_domxml_parse(xml, strlen(xml), &fx->dom, &fx->err);
}

static void assert_msg_contains(const struct esfm_err *err, const char *needle)
{
	if (!strstr(err->msg, needle))
		fail_msg("message '%s' does not mention '%s'", err->msg, needle);
}

/* A CONFIG error naming domain vm1 and mentioning @needle (if not NULL). */
static void assert_annot_error(struct fx *fx, const char *needle)
{
	if (fx->err.cls != ESFM_ERR_CONFIG)
		fail_msg("class %d, message '%s'", fx->err.cls, fx->err.msg);
	assert_msg_contains(&fx->err, "vm1");
	if (needle)
		assert_msg_contains(&fx->err, needle);
}

static void assert_req(const struct esfm_domain *dom, size_t i, const char *pool, unsigned count)
{
	assert_true(i < dom->nreq);
	assert_string_equal(dom->req[i].pool, pool);
	assert_int_equal(dom->req[i].count, count);
}

/* ---- pre-check ---- */

static void test_may_have_annotation(void **state)
{
	static const char with[] = "<domain><metadata><e:vf xmlns:e='urn:esfm:vf:1'/></metadata>";
	static const char without[] = "<domain><name>x</name><metadata/></domain>";
	static const char other_version[] = "<domain><e:vf xmlns:e='urn:esfm:vf:2'/></domain>";
	static const char cut[] = "<domain>urn:esfm:vf:1</domain>";

	(void)state;
	assert_true(esfm_domxml_may_have_annotation(with, strlen(with)));
	assert_false(esfm_domxml_may_have_annotation(without, strlen(without)));
	assert_false(esfm_domxml_may_have_annotation(other_version, strlen(other_version)));
	assert_false(esfm_domxml_may_have_annotation("", 0));
	/* Only @len bytes count: the namespace cut short, or beyond len. */
	assert_false(esfm_domxml_may_have_annotation(cut, strlen("<domain>urn:esfm:vf:")));
	assert_false(esfm_domxml_may_have_annotation(cut, 8));
	assert_true(esfm_domxml_may_have_annotation(cut, strlen("<domain>urn:esfm:vf:1")));
}

static void test_may_have_annotation_not_nul_terminated(void **state)
{
	char buf[64];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	memcpy(buf + 40, NS, strlen(NS));
	assert_true(esfm_domxml_may_have_annotation(buf, 40 + strlen(NS)));
	assert_false(esfm_domxml_may_have_annotation(buf, 40 + strlen(NS) - 1));
}

/* ---- domain basics ---- */

/* libxml2 stopped at a NUL and took the domain as is, whatever followed it: refused now. */
static void test_nul_and_garbage_after_domain_refused(void **state)
{
	struct fx *fx = *state;
	char *text;
	size_t n;

	fx->xml = domain("<esfm:vf xmlns:esfm='" NS "' pool='fpga0'/>", NULL);
	n = strlen(fx->xml);
	text = malloc(n + 32);
	assert_non_null(text);
	memcpy(text, fx->xml, n);
	memcpy(text + n, "\0<domain>garbage", 17);
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_domxml_parse(text, n + 17, &fx->dom, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "NUL byte at offset");
	/* The text before the NUL alone is fine (what release and reconnect read). */
	esfm_err_clear(&fx->err);
	assert_int_equal(esfm_domxml_parse(text, strnlen(text, n + 17), &fx->dom, &fx->err), 0);
	assert_true(fx->dom.annotated);
	free(text);
}

static void test_plain_domain(void **state)
{
	struct fx *fx = *state;

	memset(&fx->dom, 0x5a, sizeof(fx->dom));
	assert_int_equal(parse_meta(fx, NULL), 0);
	assert_string_equal(fx->dom.name, "vm1");
	assert_string_equal(fx->dom.uuid, UUID1);
	assert_false(fx->dom.annotated);
	assert_int_equal(fx->dom.nreq, 0);
	assert_int_equal(fx->dom.nhostdev, 0);
	assert_int_equal(fx->err.cls, ESFM_ERR_NONE);
}

static void test_no_metadata_element(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_text(fx, "<domain><name>a b</name><uuid>" UUID1 "</uuid></domain>"),
			 0);
	assert_string_equal(fx->dom.name, "a b");
	assert_false(fx->dom.annotated);
}

static void test_other_metadata_is_not_annotation(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_meta(fx, "<app1:foo xmlns:app1='http://app1.org/app1/'>x</app1:foo>"
					"<vf pool='fpga0'/>"
					"<e:vf xmlns:e='urn:esfm:vf:2' pool='fpga0'/>"),
			 0);
	assert_false(fx->dom.annotated);
	assert_int_equal(fx->dom.nreq, 0);
}

static void test_namespace_only_in_description(void **state)
{
	struct fx *fx = *state;
	static const char xml[] =
		"<domain><name>vm1</name><uuid>" UUID1 "</uuid>"
		"<description>add &lt;esfm:vf xmlns:esfm=\"urn:esfm:vf:1\" pool=\"fpga0\"/&gt; "
		"to metadata</description><title>urn:esfm:vf:1</title><metadata/></domain>";

	/* The pre-check may say yes; the parser must say no annotation. */
	assert_true(esfm_domxml_may_have_annotation(xml, strlen(xml)));
	assert_int_equal(parse_text(fx, xml), 0);
	assert_false(fx->dom.annotated);
	assert_int_equal(fx->dom.nreq, 0);
}

static void test_annotation_outside_metadata_ignored(void **state)
{
	struct fx *fx = *state;
	static const char xml[] = "<domain><name>vm1</name><uuid>" UUID1 "</uuid>"
				  "<esfm:vf xmlns:esfm='urn:esfm:vf:1' pool='fpga0'/>"
				  "<metadata><wrap><esfm:vf xmlns:esfm='urn:esfm:vf:1' "
				  "pool='nic0'/></wrap></metadata>"
				  "</domain>";

	assert_int_equal(parse_text(fx, xml), 0);
	assert_false(fx->dom.annotated);
}

static void test_missing_uuid(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_text(fx, "<domain><name>vm1</name><metadata/></domain>"), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "vm1");
	assert_msg_contains(&fx->err, "uuid");

	assert_int_equal(parse_text(fx, "<domain><name>vm1</name><uuid>c7a5fdbd</uuid></domain>"),
			 -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "uuid");

	assert_int_equal(parse_text(fx, "<domain><name>vm1</name><uuid>" UUID1 "0</uuid></domain>"),
			 -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
}

static void test_missing_name(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_text(fx, "<domain><uuid>" UUID1 "</uuid></domain>"), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "name");

	assert_int_equal(parse_text(fx, "<domain><name></name><uuid>" UUID1 "</uuid></domain>"),
			 -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
}

static void test_overlong_name(void **state)
{
	struct fx *fx = *state;
	char xml[1024];

	memset(xml, 0, sizeof(xml));
	strcpy(xml, "<domain><name>");
	memset(xml + strlen(xml), 'n', ESFM_DOM_NAME_MAX);
	strcat(xml, "</name><uuid>" UUID1 "</uuid></domain>");
	assert_int_equal(parse_text(fx, xml), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
}

static void test_root_not_domain(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(
		parse_text(fx, "<network><name>vm1</name><uuid>" UUID1 "</uuid></network>"), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "domain");
}

static void test_malformed_xml(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_text(fx, "<domain>\n<name>vm1</name>\n<uuid>" UUID1 "</uuid>\n"
					"<metadata>\n</domain>\n"),
			 -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "malformed");
	assert_msg_contains(&fx->err, "domain XML:");

	assert_int_equal(parse_text(fx, ""), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);

	assert_int_equal(parse_text(fx, "not xml at all"), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
}

static void test_len_bounds_the_input(void **state)
{
	struct fx *fx = *state;
	static const char xml[] = "<domain><name>vm1</name><uuid>" UUID1 "</uuid></domain>GARBAGE";

	/* Parsing stops at len: the trailing garbage is not seen. */
	esfm_err_clear(&fx->err);
	assert_int_equal(
		esfm_domxml_parse(xml, strlen(xml) - strlen("GARBAGE"), &fx->dom, &fx->err), 0);
	assert_string_equal(fx->dom.name, "vm1");
	/* A cut in the middle is malformed. */
	assert_int_equal(esfm_domxml_parse(xml, 20, &fx->dom, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
}

static void test_no_external_entities(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX], xml[2 * PATH_MAX];
	char *dir = tu_mkdtemp();

	/* An external entity must not pull a file's content into the name. */
	tu_path(path, "%s/secret", dir);
	tu_write(path, "SECRET");
	snprintf(xml, sizeof(xml),
		 "<?xml version='1.0'?>\n<!DOCTYPE domain [<!ENTITY x SYSTEM 'file://%s'>]>\n"
		 "<domain><name>vm&x;</name><uuid>" UUID1 "</uuid></domain>",
		 path);
	esfm_err_clear(&fx->err);
	if (esfm_domxml_parse(xml, strlen(xml), &fx->dom, &fx->err) == 0 &&
	    strstr(fx->dom.name, "SECRET")) {
		tu_rmtree(dir);
		fail_msg("external entity expanded into the name '%s'", fx->dom.name);
	}
	tu_rmtree(dir);
}

/* ---- hostdevs ---- */

static void test_hostdevs(void **state)
{
	struct fx *fx = *state;

	fx->xml = domain(NULL,
			 "<hostdev mode='subsystem' type='pci' managed='no'>"
			 "<source><address domain='0x0000' bus='0x83' slot='0x00' function='0x1'/>"
			 "</source><alias name='ua-esfm-fpga0-0'/></hostdev>"
			 "<interface type='network'><alias name='net0'/></interface>"
			 "<hostdev mode='subsystem' type='pci' managed='yes'>"
			 "<source><address domain='0xABCD' bus='0xeF' slot='0x1f' function='0x7'/>"
			 "</source></hostdev>"
			 "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/>"
			 "<address bus='1' device='2'/></source><alias name='usb0'/></hostdev>"
			 "<hostdev mode='subsystem' type='pci'><source>"
			 "<address domain='0' bus='10' slot='3' function='2'/></source>"
			 "<alias name='hostdev3'/></hostdev>");
	assert_int_equal(esfm_domxml_parse(fx->xml, strlen(fx->xml), &fx->dom, &fx->err), 0);
	assert_int_equal(fx->dom.nhostdev, 3);
	assert_int_equal(fx->dom.hostdev[0].addr.domain, 0);
	assert_int_equal(fx->dom.hostdev[0].addr.bus, 0x83);
	assert_int_equal(fx->dom.hostdev[0].addr.dev, 0);
	assert_int_equal(fx->dom.hostdev[0].addr.fn, 1);
	assert_string_equal(fx->dom.hostdev[0].alias, "ua-esfm-fpga0-0");
	assert_int_equal(fx->dom.hostdev[1].addr.domain, 0xabcd);
	assert_int_equal(fx->dom.hostdev[1].addr.bus, 0xef);
	assert_int_equal(fx->dom.hostdev[1].addr.dev, 0x1f);
	assert_int_equal(fx->dom.hostdev[1].addr.fn, 7);
	assert_string_equal(fx->dom.hostdev[1].alias, "");
	/* Decimal without 0x, as libvirt also accepts. */
	assert_int_equal(fx->dom.hostdev[2].addr.bus, 10);
	assert_int_equal(fx->dom.hostdev[2].addr.dev, 3);
	assert_int_equal(fx->dom.hostdev[2].addr.fn, 2);
	assert_string_equal(fx->dom.hostdev[2].alias, "hostdev3");
	assert_false(fx->dom.annotated);
}

/* esfm's identity channels (alias ua-esfmid-...) and whether a virtio-serial controller is there. */
static void test_identity_channels(void **state)
{
	struct fx *fx = *state;

	fx->xml = domain(
		NULL, "<controller type='pci' index='0' model='pcie-root'/>"
		      "<channel type='null'><target type='virtio' name='esfm-vf,pool=p,index=1'/>"
		      "<alias name='ua-esfmid-p-1'/></channel>"
		      "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>"
		      "<alias name='channel0'/></channel>"
		      "<channel type='null'><target type='virtio' name='x'/></channel>"
		      "<controller type='virtio-serial' index='0'/>"
		      "<channel type='null'><target type='virtio' name='y'/>"
		      "<alias name='ua-esfmid-q_r-7'/></channel>"
		      "<hostdev mode='subsystem' type='pci'><source>"
		      "<address domain='0' bus='1' slot='0' function='0'/></source>"
		      "<alias name='ua-esfmid-p-9'/></hostdev>");
	assert_int_equal(esfm_domxml_parse(fx->xml, strlen(fx->xml), &fx->dom, &fx->err), 0);
	assert_int_equal(fx->dom.nidentity, 2);
	assert_string_equal(fx->dom.identity[0], "ua-esfmid-p-1");
	assert_string_equal(fx->dom.identity[1], "ua-esfmid-q_r-7");
	assert_true(fx->dom.vserial);
	/* A hostdev is never taken for a channel, whatever its alias. */
	assert_int_equal(fx->dom.nhostdev, 1);

	free(fx->xml);
	fx->xml = domain(NULL, "<controller type='scsi' index='0'/>"
			       "<channel type='null'><target type='virtio' name='a'/>"
			       "<alias name='ua-esfm-p-1'/></channel>");
	assert_int_equal(esfm_domxml_parse(fx->xml, strlen(fx->xml), &fx->dom, &fx->err), 0);
	assert_int_equal(fx->dom.nidentity, 0);
	assert_false(fx->dom.vserial);
}

static void test_hostdev_bad_addresses_skipped(void **state)
{
	struct fx *fx = *state;

	fx->xml = domain(NULL, "<hostdev type='pci'><source><address domain='0x10000' bus='0x83' "
			       "slot='0x00' function='0x1'/></source></hostdev>"
			       "<hostdev type='pci'><source><address domain='0x0000' bus='0x100' "
			       "slot='0x00' function='0x1'/></source></hostdev>"
			       "<hostdev type='pci'><source><address domain='0x0000' bus='0x83' "
			       "slot='0x20' function='0x1'/></source></hostdev>"
			       "<hostdev type='pci'><source><address domain='0x0000' bus='0x83' "
			       "slot='0x00' function='0x8'/></source></hostdev>"
			       "<hostdev type='pci'><source><address domain='0x0000' bus='0x83' "
			       "slot='0x00'/></source></hostdev>"
			       "<hostdev type='pci'><source><address domain='0x0000' bus='0xzz' "
			       "slot='0x00' function='0x1'/></source></hostdev>"
			       "<hostdev type='pci'><source/></hostdev>"
			       "<hostdev type='pci'><source><address domain='0x0000' bus='0x83' "
			       "slot='0x00' function='0x3'/></source></hostdev>");
	assert_int_equal(esfm_domxml_parse(fx->xml, strlen(fx->xml), &fx->dom, &fx->err), 0);
	assert_int_equal(fx->dom.nhostdev, 1);
	assert_int_equal(fx->dom.hostdev[0].addr.fn, 3);
}

static void test_hostdev_limit(void **state)
{
	struct fx *fx = *state;
	char *devs = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&devs, &len);

	assert_non_null(m);
	for (unsigned i = 0; i < ESFM_MAX_VFS_PER_VM + 6; i++)
		fprintf(m,
			"<hostdev type='pci'><source><address domain='0x0000' bus='0x%02x' "
			"slot='0x00' function='0x0'/></source><alias name='h%u'/></hostdev>",
			i, i);
	assert_int_equal(fclose(m), 0);
	fx->xml = domain(NULL, devs);
	free(devs);
	assert_int_equal(esfm_domxml_parse(fx->xml, strlen(fx->xml), &fx->dom, &fx->err), 0);
	assert_int_equal(fx->dom.nhostdev, ESFM_MAX_VFS_PER_VM);
	assert_string_equal(fx->dom.hostdev[ESFM_MAX_VFS_PER_VM - 1].alias, "h63");
}

static void test_live_fixture(void **state)
{
	struct fx *fx = *state;
	const char *top = getenv("ESFM_TOP");
	char path[PATH_MAX];

	tu_path(path, "%s/tests/unit/fixtures/domxml/live.xml", top && *top ? top : ".");
	fx->xml = tu_slurp(path);
	assert_true(esfm_domxml_may_have_annotation(fx->xml, strlen(fx->xml)));
	assert_int_equal(esfm_domxml_parse(fx->xml, strlen(fx->xml), &fx->dom, &fx->err), 0);
	assert_string_equal(fx->dom.name, "everestg0");
	assert_string_equal(fx->dom.uuid, "6f1c2a3e-9b7d-4c1e-8f2a-0123456789ab");
	assert_true(fx->dom.annotated);
	assert_int_equal(fx->dom.mode, ESFM_MODE_HOTPLUG);
	assert_int_equal(fx->dom.nreq, 2);
	assert_req(&fx->dom, 0, "fpga0", 2);
	assert_req(&fx->dom, 1, "nic0", 1);
	assert_int_equal(fx->dom.nhostdev, 4);
	assert_string_equal(fx->dom.hostdev[0].alias, "ua-esfm-fpga0-0");
	assert_int_equal(fx->dom.hostdev[0].addr.fn, 1);
	assert_string_equal(fx->dom.hostdev[1].alias, "ua-esfm-fpga0-1");
	assert_int_equal(fx->dom.hostdev[1].addr.fn, 2);
	assert_string_equal(fx->dom.hostdev[2].alias, "ua-esfm-nic0-3");
	assert_int_equal(fx->dom.hostdev[2].addr.bus, 0x3b);
	assert_int_equal(fx->dom.hostdev[2].addr.dev, 2);
	assert_int_equal(fx->dom.hostdev[2].addr.fn, 3);
	assert_int_equal(fx->dom.hostdev[3].addr.domain, 1);
	assert_int_equal(fx->dom.hostdev[3].addr.bus, 0xaf);
	assert_string_equal(fx->dom.hostdev[3].alias, "");
}

/* ---- annotation forms ---- */

static void test_single_form(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_meta(fx, "<esfm:vf xmlns:esfm=\"urn:esfm:vf:1\" pool=\"fpga0\" "
					"count=\"1\"/>"),
			 0);
	assert_true(fx->dom.annotated);
	assert_int_equal(fx->dom.mode, ESFM_MODE_HOTPLUG);
	assert_int_equal(fx->dom.nreq, 1);
	assert_req(&fx->dom, 0, "fpga0", 1);
	assert_string_equal(fx->dom.name, "vm1");
}

static void test_single_form_default_count(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_meta(fx, "<esfm:vf xmlns:esfm='urn:esfm:vf:1' pool='fpga0'/>"), 0);
	assert_int_equal(fx->dom.nreq, 1);
	assert_req(&fx->dom, 0, "fpga0", 1);
}

static void test_single_form_counts(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(
		parse_meta(fx, "<esfm:vf xmlns:esfm='urn:esfm:vf:1' pool='a' count='64'/>"), 0);
	assert_req(&fx->dom, 0, "a", ESFM_MAX_VFS_PER_VM);
	assert_int_equal(parse_meta(fx, "<esfm:vf xmlns:esfm='urn:esfm:vf:1' pool='a' count='3'/>"),
			 0);
	assert_req(&fx->dom, 0, "a", 3);
}

static void test_multi_form(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_meta(fx,
				    "<esfm:vf xmlns:esfm=\"urn:esfm:vf:1\"><pool name=\"fpga0\" "
				    "count=\"2\"/><pool name=\"nic0\"/></esfm:vf>"),
			 0);
	assert_true(fx->dom.annotated);
	assert_int_equal(fx->dom.mode, ESFM_MODE_HOTPLUG);
	assert_int_equal(fx->dom.nreq, 2);
	assert_req(&fx->dom, 0, "fpga0", 2);
	assert_req(&fx->dom, 1, "nic0", 1);
}

static void test_multi_form_ignores_other_children(void **state)
{
	struct fx *fx = *state;

	/* allocation/error children are the worker's; text and comments are noise. */
	assert_int_equal(
		parse_meta(fx, "<esfm:vf xmlns:esfm='urn:esfm:vf:1'>\n  <!-- c -->\n"
			       "  <esfm:pool name='fpga0' count='2'/>text\n"
			       "  <esfm:allocation pool='fpga0' index='0' address='0000:83:00.1' "
			       "alias='ua-esfm-fpga0-0'/>\n"
			       "  <esfm:error pool='fpga0' message='no VF'/>\n"
			       "</esfm:vf>"),
		0);
	assert_int_equal(fx->dom.nreq, 1);
	assert_req(&fx->dom, 0, "fpga0", 2);
}

static void test_exactly_max_pools(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_meta(fx, "<e:vf xmlns:e='urn:esfm:vf:1'><pool name='p1'/>"
					"<pool name='p2'/><pool name='p3'/><pool name='p4'/>"
					"<pool name='p5'/><pool name='p6'/><pool name='p7'/>"
					"<pool name='p8' count='8'/></e:vf>"),
			 0);
	assert_int_equal(fx->dom.nreq, ESFM_ANNOT_MAX_POOLS);
	assert_req(&fx->dom, 7, "p8", 8);
}

static void test_any_prefix(void **state)
{
	static const char *const forms[] = {
		"<vf1:vf xmlns:vf1='urn:esfm:vf:1' pool='fpga0' count='2'/>",
		"<ns0:vf xmlns:ns0='urn:esfm:vf:1' pool='fpga0' count='2'/>",
		"<vf xmlns='urn:esfm:vf:1' pool='fpga0' count='2'/>",
		"<vf xmlns='urn:esfm:vf:1'><pool name='fpga0' count='2'/></vf>",
		"<a:vf xmlns:a='urn:esfm:vf:1'><a:pool name='fpga0' count='2'/></a:vf>",
		"<wrap xmlns:z='urn:esfm:vf:1'/><z:vf xmlns:z='urn:esfm:vf:1' pool='fpga0' "
		"count='2'/>",
	};
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (parse_meta(fx, forms[i]) != 0)
			fail_msg("'%s': %s", forms[i], fx->err.msg);
		assert_true(fx->dom.annotated);
		assert_int_equal(fx->dom.nreq, 1);
		assert_req(&fx->dom, 0, "fpga0", 2);
	}
}

static void test_modes(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_meta(fx, "<e:vf xmlns:e='urn:esfm:vf:1' pool='p' mode='static'/>"),
			 0);
	assert_int_equal(fx->dom.mode, ESFM_MODE_STATIC);
	assert_int_equal(parse_meta(fx, "<e:vf xmlns:e='urn:esfm:vf:1' pool='p' mode='hotplug'/>"),
			 0);
	assert_int_equal(fx->dom.mode, ESFM_MODE_HOTPLUG);
	assert_int_equal(parse_meta(fx, "<e:vf xmlns:e='urn:esfm:vf:1' mode='static'>"
					"<pool name='p'/></e:vf>"),
			 0);
	assert_int_equal(fx->dom.mode, ESFM_MODE_STATIC);
}

/* ---- invalid annotations: CONFIG, naming the domain ---- */

struct bad_annot {
	const char *why;
	const char *meta;
	const char *needle; /* the message mentions it */
};

static const struct bad_annot bad_annots[] = {
	{"pool name with slash", "<e:vf xmlns:e='urn:esfm:vf:1' pool='../etc'/>", "../etc"},
	{"pool name with space", "<e:vf xmlns:e='urn:esfm:vf:1' pool='a b'/>", "pool"},
	{"pool name 65 chars",
	 "<e:vf xmlns:e='urn:esfm:vf:1' "
	 "pool='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'/>",
	 "pool"},
	{"pool name dotdot child", "<e:vf xmlns:e='urn:esfm:vf:1'><pool name='..'/></e:vf>",
	 "pool"},
	{"pool child without name", "<e:vf xmlns:e='urn:esfm:vf:1'><pool count='1'/></e:vf>",
	 "pool"},
	{"count 0", "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' count='0'/>", "count"},
	{"count 65", "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' count='65'/>", "count"},
	{"count huge", "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' count='99999999999999999999'/>",
	 "count"},
	{"count negative", "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' count='-1'/>", "count"},
	{"count word", "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' count='two'/>", "count"},
	{"count hex", "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' count='0x2'/>", "count"},
	{"count spaces", "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' count=' 2'/>", "count"},
	{"count 0 child", "<e:vf xmlns:e='urn:esfm:vf:1'><pool name='fpga0' count='0'/></e:vf>",
	 "count"},
	{"count word child", "<e:vf xmlns:e='urn:esfm:vf:1'><pool name='fpga0' count='x'/></e:vf>",
	 "count"},
	{"unknown mode", "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' mode='cold'/>", "mode"},
	{"mode case", "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' mode='Static'/>", "mode"},
	{"both forms", "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0'><pool name='nic0'/></e:vf>",
	 "both"},
	{"both forms same pool",
	 "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0'><pool name='fpga0'/></e:vf>", NULL},
	{"no pool", "<e:vf xmlns:e='urn:esfm:vf:1'/>", "no pool"},
	{"no pool, count only", "<e:vf xmlns:e='urn:esfm:vf:1' count='2'/>", "no pool"},
	{"no pool, other children",
	 "<e:vf xmlns:e='urn:esfm:vf:1'><e:allocation pool='fpga0' "
	 "index='0'/></e:vf>",
	 "no pool"},
	{"duplicate pool",
	 "<e:vf xmlns:e='urn:esfm:vf:1'><pool name='fpga0'/><pool name='nic0'/>"
	 "<pool name='fpga0' count='2'/></e:vf>",
	 "fpga0"},
	{"nine pools",
	 "<e:vf xmlns:e='urn:esfm:vf:1'><pool name='p1'/><pool name='p2'/><pool name='p3'/>"
	 "<pool name='p4'/><pool name='p5'/><pool name='p6'/><pool name='p7'/><pool name='p8'/>"
	 "<pool name='p9'/></e:vf>",
	 "8"},
	{"two annotations",
	 "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0'/><f:vf xmlns:f='urn:esfm:vf:1' pool='nic0'/>",
	 "more than one"},
	{"two annotations, second invalid",
	 "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0'/><e:pool xmlns:e='urn:esfm:vf:1' name='x'/>",
	 NULL},
	{"element other than vf", "<e:pool xmlns:e='urn:esfm:vf:1' name='fpga0'/>", "pool"},
	{"element vfs", "<e:vfs xmlns:e='urn:esfm:vf:1' pool='fpga0'/>", "vfs"},
	{"attribute too long",
	 "<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' "
	 "mode='hotplughotplughotplughotplughotplughotplug'/>",
	 "mode"},
};

static void test_invalid_annotations(void **state)
{
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(bad_annots) / sizeof(bad_annots[0]); i++) {
		const struct bad_annot *b = &bad_annots[i];

		if (parse_meta(fx, b->meta) != -1)
			fail_msg("%s: accepted (nreq %zu)", b->why, fx->dom.nreq);
		if (fx->err.cls != ESFM_ERR_CONFIG)
			fail_msg("%s: class %d, '%s'", b->why, fx->err.cls, fx->err.msg);
		if (!strstr(fx->err.msg, "domain 'vm1'"))
			fail_msg("%s: message '%s' does not name the domain", b->why, fx->err.msg);
		if (b->needle && !strstr(fx->err.msg, b->needle))
			fail_msg("%s: message '%s' does not mention '%s'", b->why, fx->err.msg,
				 b->needle);
	}
}

/*
 * An empty count or mode is neither absent nor a number/mode: the header
 * lists "count" and "mode" among the values that make an annotation invalid.
 */
static void test_empty_count_and_mode_are_invalid(void **state)
{
	static const char *const metas[] = {
		"<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' count=''/>",
		"<e:vf xmlns:e='urn:esfm:vf:1'><pool name='fpga0' count=''/></e:vf>",
		"<e:vf xmlns:e='urn:esfm:vf:1' pool='fpga0' mode=''/>",
	};
	struct fx *fx = *state;
	char bad[1024] = "";
	size_t len = 0;

	for (size_t i = 0; i < sizeof(metas) / sizeof(metas[0]); i++)
		if (parse_meta(fx, metas[i]) != -1 || fx->err.cls != ESFM_ERR_CONFIG)
			len += (size_t)snprintf(bad + len, sizeof(bad) - len,
						"\n  %s accepted (count %u, mode %d)", metas[i],
						fx->dom.nreq ? fx->dom.req[0].count : 0,
						(int)fx->dom.mode);
	if (bad[0])
		fail_msg("empty values taken as defaults:%s", bad);
}

static void test_invalid_pool_has_hint(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(parse_meta(fx, "<e:vf xmlns:e='urn:esfm:vf:1' pool='a/b'/>"), -1);
	assert_annot_error(fx, "a/b");
	assert_string_not_equal(fx->err.hint, "");
	assert_int_equal(parse_meta(fx, "<e:vf xmlns:e='urn:esfm:vf:1'/>"), -1);
	assert_string_not_equal(fx->err.hint, "");
}

/* ---- esfm_domxml_annotation_xml ---- */

/* Parse fx->out into fx->doc (freed by teardown) and return its root element. */
static xmlNodePtr read_out(struct fx *fx)
{
	if (fx->doc)
		xmlFreeDoc(fx->doc);
	fx->doc = xmlReadMemory(fx->out, (int)strlen(fx->out), NULL, NULL, XML_PARSE_NONET);
	if (!fx->doc)
		fail_msg("not well-formed: %s", fx->out);
	return xmlDocGetRootElement(fx->doc);
}

/* Attribute @name of @n as a static copy ("" if absent). */
static const char *attr(xmlNodePtr n, const char *name)
{
	static char buf[1024];
	xmlChar *v = xmlGetProp(n, BAD_CAST name);

	snprintf(buf, sizeof(buf), "%s", v ? (const char *)v : "");
	xmlFree(v);
	return buf;
}

static xmlNodePtr nth_child(xmlNodePtr parent, const char *name, int nth)
{
	for (xmlNodePtr c = parent->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, BAD_CAST name) && nth-- == 0)
			return c;
	return NULL;
}

static void fill_dom(struct esfm_domain *dom, enum esfm_attach_mode mode)
{
	memset(dom, 0, sizeof(*dom));
	snprintf(dom->name, sizeof(dom->name), "vm1");
	snprintf(dom->uuid, sizeof(dom->uuid), UUID1);
	dom->annotated = true;
	dom->mode = mode;
	dom->nreq = 2;
	snprintf(dom->req[0].pool, sizeof(dom->req[0].pool), "fpga0");
	dom->req[0].count = 2;
	snprintf(dom->req[1].pool, sizeof(dom->req[1].pool), "nic.0");
	dom->req[1].count = 1;
}

static const struct esfm_allocation allocs[] = {
	{"fpga0", 0, {0, 0x83, 0, 1}, "ua-esfm-fpga0-0"},
	{"fpga0", 3, {0, 0x83, 0, 4}, "ua-esfm-fpga0-3"},
	{"nic.0", 12, {0xabcd, 0x3b, 0x1f, 7}, "ua-esfm-nic_0-12"},
};

/* esfm_domxml_annotation_xml into fx->out (freed by teardown). */
static int build(struct fx *fx, const struct esfm_domain *dom, size_t nalloc,
		 const char *error_pool, const char *error)
{
	free(fx->out);
	fx->out = NULL;
	esfm_err_clear(&fx->err);
	return esfm_domxml_annotation_xml(dom, allocs, nalloc, error_pool, error, &fx->out,
					  &fx->err);
}

static void test_annotation_xml_content(void **state)
{
	struct fx *fx = *state;
	struct esfm_domain dom;
	xmlNodePtr root, n;

	fill_dom(&dom, ESFM_MODE_STATIC);
	assert_int_equal(build(fx, &dom, 3, "nic.0", "pool 'nic.0' has no free VF <&\"'>"), 0);
	assert_non_null(fx->out);
	root = read_out(fx);
	assert_string_equal((const char *)root->name, "vf");
	assert_null(root->ns); /* libvirt applies the namespace itself */
	assert_string_equal(attr(root, "mode"), "static");

	n = nth_child(root, "pool", 0);
	assert_non_null(n);
	assert_string_equal(attr(n, "name"), "fpga0");
	assert_string_equal(attr(n, "count"), "2");
	n = nth_child(root, "pool", 1);
	assert_non_null(n);
	assert_string_equal(attr(n, "name"), "nic.0");
	assert_string_equal(attr(n, "count"), "1");
	assert_null(nth_child(root, "pool", 2));

	n = nth_child(root, "allocation", 0);
	assert_non_null(n);
	assert_string_equal(attr(n, "pool"), "fpga0");
	assert_string_equal(attr(n, "index"), "0");
	assert_string_equal(attr(n, "address"), "0000:83:00.1");
	assert_string_equal(attr(n, "alias"), "ua-esfm-fpga0-0");
	n = nth_child(root, "allocation", 2);
	assert_non_null(n);
	assert_string_equal(attr(n, "pool"), "nic.0");
	assert_string_equal(attr(n, "index"), "12");
	assert_string_equal(attr(n, "address"), "abcd:3b:1f.7");
	assert_string_equal(attr(n, "alias"), "ua-esfm-nic_0-12");
	assert_null(nth_child(root, "allocation", 3));

	n = nth_child(root, "error", 0);
	assert_non_null(n);
	assert_string_equal(attr(n, "pool"), "nic.0");
	assert_string_equal(attr(n, "message"), "pool 'nic.0' has no free VF <&\"'>");
	assert_null(nth_child(root, "error", 1));
}

static void test_annotation_xml_minimal(void **state)
{
	struct fx *fx = *state;
	struct esfm_domain dom;
	xmlNodePtr root;

	fill_dom(&dom, ESFM_MODE_HOTPLUG);
	assert_int_equal(build(fx, &dom, 0, NULL, NULL), 0);
	root = read_out(fx);
	assert_null(root->ns);
	/* hotplug is the default mode: either absent or "hotplug". */
	if (strcmp(attr(root, "mode"), "") && strcmp(attr(root, "mode"), "hotplug"))
		fail_msg("mode '%s' for a hotplug domain", attr(root, "mode"));
	assert_null(nth_child(root, "allocation", 0));
	assert_null(nth_child(root, "error", 0));

	/* An error without a pool. */
	assert_int_equal(build(fx, &dom, 0, NULL, "boom"), 0);
	root = read_out(fx);
	assert_non_null(nth_child(root, "error", 0));
	assert_string_equal(attr(nth_child(root, "error", 0), "message"), "boom");
	assert_string_equal(attr(nth_child(root, "error", 0), "pool"), "");
}

/*
 * What virDomainSetMetadata does with the element esfm hands it: it puts it
 * into urn:esfm:vf:1 under the key's prefix. The element itself must not
 * declare the namespace (libvirt refuses it then).
 */
static char *as_stored_by_libvirt(const char *out)
{
	const char *close;
	char *stored;
	int r;

	if (strncmp(out, "<vf", 3) || strstr(out, NS))
		return NULL;
	close = strstr(out, "</vf>");
	if (close)
		r = asprintf(&stored, "<esfm:vf xmlns:esfm='%s'%.*s</esfm:vf>%s", NS,
			     (int)(close - out - 3), out + 3, close + 5);
	else
		r = asprintf(&stored, "<esfm:vf xmlns:esfm='%s'%s", NS, out + 3);
	return r < 0 ? NULL : stored;
}

/* The element placed in <metadata> parses back to the same request and mode. */
static void round_trip(struct fx *fx, enum esfm_attach_mode mode, const char *error_pool,
		       const char *error, size_t nalloc)
{
	struct esfm_domain dom;

	char *stored;

	fill_dom(&dom, mode);
	assert_int_equal(build(fx, &dom, nalloc, error_pool, error), 0);
	stored = as_stored_by_libvirt(fx->out);
	if (!stored)
		fail_msg("%s is not a plain <vf> element", fx->out);
	if (parse_meta(fx, stored) != 0) {
		free(stored);
		fail_msg("%s does not parse back: %s", fx->out, fx->err.msg);
	}
	free(stored);
	assert_true(fx->dom.annotated);
	assert_int_equal(fx->dom.mode, mode);
	assert_int_equal(fx->dom.nreq, dom.nreq);
	for (size_t i = 0; i < dom.nreq; i++)
		assert_req(&fx->dom, i, dom.req[i].pool, dom.req[i].count);
}

static void test_round_trip(void **state)
{
	struct fx *fx = *state;

	round_trip(fx, ESFM_MODE_HOTPLUG, "fpga0", "pool 'fpga0' has no free VF (4 of 4 in use)",
		   3);
	round_trip(fx, ESFM_MODE_STATIC, "nic.0", "<bad> & \"quoted\"", 2);
	round_trip(fx, ESFM_MODE_HOTPLUG, NULL, NULL, 0);
	round_trip(fx, ESFM_MODE_STATIC, NULL, "x", 1);
}

static void test_round_trip_single_form(void **state)
{
	struct fx *fx = *state;
	struct esfm_domain dom;
	char *stored;

	/* Parse the single form, write it as live metadata, parse again. */
	assert_int_equal(parse_meta(fx, "<esfm:vf xmlns:esfm='urn:esfm:vf:1' pool='fpga0' "
					"count='3' mode='static'/>"),
			 0);
	dom = fx->dom;
	assert_int_equal(build(fx, &dom, 1, NULL, NULL), 0);
	stored = as_stored_by_libvirt(fx->out);
	assert_non_null(stored);
	assert_int_equal(parse_meta(fx, stored), 0);
	free(stored);
	assert_int_equal(fx->dom.mode, ESFM_MODE_STATIC);
	assert_int_equal(fx->dom.nreq, 1);
	assert_req(&fx->dom, 0, "fpga0", 3);
}

static void test_parse_annotation_element(void **state)
{
	struct fx *fx = *state;
	static const char x[] = "<vf xmlns='urn:esfm:vf:1' mode='static'><pool name='fpga0' "
				"count='3'/><pool name='nic0'/></vf>";
	static const char bad[] = "<vf xmlns='urn:esfm:vf:1' pool='fpga0' count='0'/>";

	fx->out = strdup(x);
	assert_non_null(fx->out);
	memset(&fx->dom, 0, sizeof(fx->dom));
	esfm_err_clear(&fx->err);
	if (esfm_domxml_parse_annotation(read_out(fx), "guest one", &fx->dom, &fx->err) != 0)
		fail_msg("%s", fx->err.msg);
	assert_true(fx->dom.annotated);
	assert_int_equal(fx->dom.mode, ESFM_MODE_STATIC);
	assert_int_equal(fx->dom.nreq, 2);
	assert_req(&fx->dom, 0, "fpga0", 3);
	assert_req(&fx->dom, 1, "nic0", 1);

	free(fx->out);
	fx->out = strdup(bad);
	assert_non_null(fx->out);
	memset(&fx->dom, 0, sizeof(fx->dom));
	esfm_err_clear(&fx->err);
	assert_int_equal(
		esfm_domxml_parse_annotation(read_out(fx), "guest one", &fx->dom, &fx->err), -1);
	assert_int_equal(fx->err.cls, ESFM_ERR_CONFIG);
	assert_msg_contains(&fx->err, "domain 'guest one'");
}

static void test_round_trip_max_pools(void **state)
{
	struct fx *fx = *state;
	struct esfm_domain dom;
	char *stored;

	memset(&dom, 0, sizeof(dom));
	dom.nreq = ESFM_ANNOT_MAX_POOLS;
	for (size_t i = 0; i < dom.nreq; i++) {
		snprintf(dom.req[i].pool, sizeof(dom.req[i].pool), "pool-%zu", i);
		dom.req[i].count = (unsigned)(i + 1) * 8;
	}
	assert_int_equal(build(fx, &dom, 0, NULL, NULL), 0);
	stored = as_stored_by_libvirt(fx->out);
	assert_non_null(stored);
	assert_int_equal(parse_meta(fx, stored), 0);
	free(stored);
	assert_int_equal(fx->dom.nreq, ESFM_ANNOT_MAX_POOLS);
	assert_req(&fx->dom, 7, "pool-7", 64);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_may_have_annotation),
		T(test_may_have_annotation_not_nul_terminated),
		T(test_nul_and_garbage_after_domain_refused),
		T(test_plain_domain),
		T(test_no_metadata_element),
		T(test_other_metadata_is_not_annotation),
		T(test_namespace_only_in_description),
		T(test_annotation_outside_metadata_ignored),
		T(test_missing_uuid),
		T(test_missing_name),
		T(test_overlong_name),
		T(test_root_not_domain),
		T(test_malformed_xml),
		T(test_len_bounds_the_input),
		T(test_no_external_entities),
		T(test_hostdevs),
		T(test_identity_channels),
		T(test_hostdev_bad_addresses_skipped),
		T(test_hostdev_limit),
		T(test_live_fixture),
		T(test_single_form),
		T(test_single_form_default_count),
		T(test_single_form_counts),
		T(test_multi_form),
		T(test_multi_form_ignores_other_children),
		T(test_exactly_max_pools),
		T(test_any_prefix),
		T(test_modes),
		T(test_invalid_annotations),
		T(test_empty_count_and_mode_are_invalid),
		T(test_invalid_pool_has_hint),
		T(test_parse_annotation_element),
		T(test_annotation_xml_content),
		T(test_annotation_xml_minimal),
		T(test_round_trip),
		T(test_round_trip_single_form),
		T(test_round_trip_max_pools),
	};
	int r = cmocka_run_group_tests_name("domxml", tests, NULL, NULL);

	xmlCleanupParser();
	return r;
}
