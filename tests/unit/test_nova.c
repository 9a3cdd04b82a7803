// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/nova.h: class and trait names, Nova's metadata in a
 * domain (both shapes, any prefix, bad esfm extra specs), the requests a Nova
 * domain makes against pools (extra specs alone once present, flavor
 * mappings adding up, unknown or colliding classes refused), the provider
 * file; and for hooks/novascan.h, the hook front's pre-check, which must
 * never say no where the handler would say yes.
 */
#include "testutil.h"

#include <json-c/json.h>
#include <libxml/parser.h>

#include "domxml.h"
#include "nova.h"
#include "novascan.h"
#include "util.h"

#define UUID1 "c7a5fdbd-edaf-9455-926a-d65c16db1809"
#define NOVA  "http://openstack.org/xmlns/libvirt/nova/1.1"

static char *domain(const char *metadata)
{
	char *s = NULL;

	assert_true(asprintf(&s,
			     "<domain type='kvm'><name>instance-0000002a</name><uuid>" UUID1
			     "</uuid><metadata>%s</metadata></domain>",
			     metadata) > 0);
	return s;
}

static char *zed(const char *prefix, const char *flavor)
{
	char *s = NULL;

	assert_true(asprintf(&s,
			     "<%1$s:instance xmlns:%1$s='" NOVA "'><%1$s:package version='26.2.2'/>"
			     "<%1$s:flavor name='%2$s'><%1$s:vcpus>2</%1$s:vcpus></%1$s:flavor>"
			     "</%1$s:instance>",
			     prefix, flavor) > 0);
	return s;
}

static char *with_specs(const char *specs)
{
	char *s = NULL;

	assert_true(asprintf(&s,
			     "<nova:instance xmlns:nova='" NOVA "'><nova:flavor name='fpga.small'>"
			     "<nova:extraSpecs>%s</nova:extraSpecs></nova:flavor></nova:instance>",
			     specs) > 0);
	return s;
}

static struct esfm_pool pools[3];

static int setup_pools(void **state)
{
	(void)state;
	memset(pools, 0, sizeof(pools));
	snprintf(pools[0].name, sizeof(pools[0].name), "fpga0");
	pools[0].nflavor = 2;
	snprintf(pools[0].flavor[0].name, sizeof(pools[0].flavor[0].name), "fpga.small");
	pools[0].flavor[0].count = 1;
	snprintf(pools[0].flavor[1].name, sizeof(pools[0].flavor[1].name), "combo");
	pools[0].flavor[1].count = 2;
	snprintf(pools[1].name, sizeof(pools[1].name), "nic.0");
	pools[1].nflavor = 1;
	snprintf(pools[1].flavor[0].name, sizeof(pools[1].flavor[0].name), "combo");
	pools[1].flavor[0].count = 1;
	snprintf(pools[2].name, sizeof(pools[2].name), "nvme-1");
	return 0;
}

/* Parse @meta into @dom: 0 or -1 with @err. */
static int parse(const char *meta, struct esfm_domain *dom, struct esfm_err *err)
{
	char *xml = domain(meta);
	int r = esfm_domxml_parse(xml, strlen(xml), dom, err);

	free(xml);
	return r;
}

static void test_class_names(void **state)
{
	char c[ESFM_NOVA_CLASS_MAX];

	(void)state;
	esfm_nova_class("fpga0", c);
	assert_string_equal(c, "CUSTOM_ESFM_FPGA0");
	esfm_nova_class("nic.0-a_B", c);
	assert_string_equal(c, "CUSTOM_ESFM_NIC_0_A_B");
	esfm_nova_pool_trait("nic.0", c);
	assert_string_equal(c, "CUSTOM_ESFM_POOL_NIC_0");
	/* the longest pool name fits */
	esfm_nova_pool_trait("a123456789b123456789c123456789d123456789e123456789f123456789g123", c);
	assert_int_equal(strlen(c), strlen("CUSTOM_ESFM_POOL_") + 64);
}

static void test_class_collisions(void **state)
{
	struct esfm_pool p[2] = {0};
	struct esfm_err err = {0};

	(void)state;
	assert_int_equal(esfm_nova_check_classes(pools, 3, &err), 0);
	snprintf(p[0].name, sizeof(p[0].name), "fpga.0");
	snprintf(p[1].name, sizeof(p[1].name), "FPGA-0");
	assert_int_equal(esfm_nova_check_classes(p, 2, &err), -1);
	assert_int_equal(err.cls, ESFM_ERR_CONFIG);
	assert_string_equal(err.msg, "pools 'fpga.0' and 'FPGA-0' both map to the resource class "
				     "CUSTOM_ESFM_FPGA_0");
}

static void test_zed_metadata_any_prefix(void **state)
{
	struct esfm_domain dom;
	struct esfm_err err = {0};
	char *m = zed("n", "fpga.small");

	(void)state;
	assert_int_equal(parse(m, &dom, &err), 0);
	free(m);
	assert_true(dom.nova.present);
	assert_false(dom.nova.has_extra_specs);
	assert_string_equal(dom.nova.flavor, "fpga.small");
	assert_false(dom.annotated); /* the pools decide */
}

static void test_plain_domain_is_not_nova(void **state)
{
	struct esfm_domain dom;
	struct esfm_err err = {0};

	(void)state;
	assert_int_equal(parse("<other:x xmlns:other='urn:other'/>", &dom, &err), 0);
	assert_false(dom.nova.present);
	/* an element named instance in another namespace is not Nova's */
	assert_int_equal(parse("<o:instance xmlns:o='http://openstack.org/other'/>", &dom, &err),
			 0);
	assert_false(dom.nova.present);
}

static void test_extra_specs(void **state)
{
	struct esfm_domain dom;
	struct esfm_err err = {0};
	char *m = with_specs("<nova:extraSpec name='hw:cpu_policy'>dedicated</nova:extraSpec>"
			     "<nova:extraSpec name='resources:CUSTOM_ESFM_NIC_0'>2</nova:extraSpec>"
			     "<nova:extraSpec name='resources:CUSTOM_ESFM_FPGA0'>0</nova:extraSpec>"
			     "<nova:extraSpec name='resources:VGPU'>1</nova:extraSpec>");

	(void)state;
	assert_int_equal(parse(m, &dom, &err), 0);
	free(m);
	assert_true(dom.nova.has_extra_specs);
	assert_int_equal(dom.nova.nspec, 1); /* 0 asks for nothing; VGPU is not esfm's */
	assert_string_equal(dom.nova.spec[0].cls, "CUSTOM_ESFM_NIC_0");
	assert_int_equal(dom.nova.spec[0].count, 2);
}

static void test_bad_extra_specs(void **state)
{
	static const char *bad[] = {
		"<nova:extraSpec name='resources:CUSTOM_ESFM_FPGA0'>two</nova:extraSpec>",
		"<nova:extraSpec name='resources:CUSTOM_ESFM_FPGA0'>65</nova:extraSpec>",
		"<nova:extraSpec name='resources:CUSTOM_ESFM_FPGA0'></nova:extraSpec>",
		"<nova:extraSpec name='resources:CUSTOM_ESFM_fpga0'>1</nova:extraSpec>",
		"<nova:extraSpec name='resources:CUSTOM_ESFM_FPGA0'>1</nova:extraSpec>"
		"<nova:extraSpec name='resources:CUSTOM_ESFM_FPGA0'>1</nova:extraSpec>",
	};

	(void)state;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(bad); i++) {
		struct esfm_domain dom;
		struct esfm_err err = {0};
		char *m = with_specs(bad[i]);

		assert_int_equal(parse(m, &dom, &err), -1);
		free(m);
		assert_int_equal(err.cls, ESFM_ERR_CONFIG);
		assert_non_null(strstr(err.msg, "domain 'instance-0000002a': Nova extra spec"));
	}
}

static void requests(const char *meta, struct esfm_pool_request *req, size_t *n, int want)
{
	struct esfm_domain dom;
	struct esfm_err err = {0};

	assert_int_equal(parse(meta, &dom, &err), 0);
	assert_int_equal(esfm_nova_requests(&dom.nova, dom.name, pools, 3, req, 8, n, &err), want);
}

static void test_requests_from_flavor(void **state)
{
	struct esfm_pool_request req[8];
	size_t n;
	char *m = zed("nova", "combo");

	(void)state;
	requests(m, req, &n, 0);
	free(m);
	assert_int_equal(n, 2);
	assert_string_equal(req[0].pool, "fpga0");
	assert_int_equal(req[0].count, 2);
	assert_string_equal(req[1].pool, "nic.0");
	assert_int_equal(req[1].count, 1);
	m = zed("nova", "m1.small");
	requests(m, req, &n, 0);
	free(m);
	assert_int_equal(n, 0);
}

static void test_requests_extra_specs_alone(void **state)
{
	struct esfm_pool_request req[8];
	size_t n;
	/* the flavor name is mapped to fpga0, but the extra specs say nic.0 only */
	char *m =
		with_specs("<nova:extraSpec name='resources:CUSTOM_ESFM_NIC_0'>1</nova:extraSpec>");

	(void)state;
	requests(m, req, &n, 0);
	free(m);
	assert_int_equal(n, 1);
	assert_string_equal(req[0].pool, "nic.0");
	/* extra specs asking nothing of esfm's: nothing, whatever the flavor's name */
	m = with_specs("<nova:extraSpec name='hw:mem_page_size'>large</nova:extraSpec>");
	requests(m, req, &n, 0);
	free(m);
	assert_int_equal(n, 0);
}

static void test_requests_unknown_class(void **state)
{
	struct esfm_pool_request req[8];
	struct esfm_domain dom;
	struct esfm_err err = {0};
	size_t n;
	char *m =
		with_specs("<nova:extraSpec name='resources:CUSTOM_ESFM_GPU9'>1</nova:extraSpec>");

	(void)state;
	assert_int_equal(parse(m, &dom, &err), 0);
	free(m);
	assert_int_equal(esfm_nova_requests(&dom.nova, dom.name, pools, 3, req, 8, &n, &err), -1);
	assert_string_equal(err.msg, "domain 'instance-0000002a': its Nova flavor asks for "
				     "CUSTOM_ESFM_GPU9, which no pool provides");
}

static void test_provider_file(void **state)
{
	struct esfm_nova_inventory inv[2] = {
		{"fpga0", "CUSTOM_ESFM_FPGA0", 4, 1, 4, 0x10ee, 0x903f},
		{"fpga1", "CUSTOM_ESFM_FPGA1", 2, 2, 2, 0x10ee, 0x903f},
	};
	struct esfm_err err = {0};
	char *text = NULL;
	json_object *root, *p, *a, *c, *v, *t;

	(void)state;
	assert_int_equal(esfm_nova_provider_file(inv, 2, &text, &err), 0);
	assert_int_equal(strncmp(text, "# Written by esfm nova-export", 29), 0);
	root = json_tokener_parse(strchr(strstr(text, "\n# nova-compute"), '{'));
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "providers", &p));
	p = json_object_array_get_idx(p, 0);
	assert_true(json_object_object_get_ex(p, "inventories", &a));
	assert_true(json_object_object_get_ex(a, "additional", &a));
	assert_int_equal(json_object_array_length(a), 2);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(a, 0), "CUSTOM_ESFM_FPGA0",
					      &c));
	assert_true(json_object_object_get_ex(c, "reserved", &v));
	assert_int_equal(json_object_get_int(v), 1);
	assert_true(json_object_object_get_ex(p, "traits", &t));
	assert_true(json_object_object_get_ex(t, "additional", &t));
	/* one PCI trait for two pools of the same device */
	assert_int_equal(json_object_array_length(t), 3);
	json_object_put(root);
	free(text);
	/* no pools: no providers at all */
	assert_int_equal(esfm_nova_provider_file(inv, 0, &text, &err), 0);
	root = json_tokener_parse(strchr(text, '{'));
	assert_true(json_object_object_get_ex(root, "providers", &p));
	assert_int_equal(json_object_array_length(p), 0);
	json_object_put(root);
	free(text);
}

static char *pools_dir;

static int setup_dir(void **state)
{
	char p[PATH_MAX];

	setup_pools(state);
	pools_dir = tu_mkdtemp();
	tu_write(tu_path(p, "%s/fpga0.xml", pools_dir),
		 "<pool type='sriov'><name>fpga0</name>\n"
		 "  <nova flavor = \"fpga.small\" count='1'/>\n"
		 "  <nova flavor='with space'/>\n</pool>\n");
	tu_write(tu_path(p, "%s/ignored.txt", pools_dir), "<nova flavor='m1.tiny'/>");
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	tu_rmtree(pools_dir);
	return 0;
}

static int scan(const char *meta)
{
	char *xml = domain(meta);
	int r = esfm_novascan_may_ask(xml, strlen(xml), pools_dir);

	free(xml);
	return r;
}

static void test_front_precheck(void **state)
{
	char *m;

	(void)state;
	m = zed("nova", "fpga.small");
	assert_int_equal(scan(m), 1);
	free(m);
	m = zed("x", "with space"); /* any prefix, spaces in the name */
	assert_int_equal(scan(m), 1);
	free(m);
	m = zed("nova", "m1.small");
	assert_int_equal(scan(m), 0);
	free(m);
	m = zed("nova", "m1.tiny"); /* only *.xml files are pool files */
	assert_int_equal(scan(m), 0);
	free(m);
	m = zed("nova", "fpga.smal"); /* a prefix of a mapped name is another name */
	assert_int_equal(scan(m), 0);
	free(m);
	m = zed("nova", "x&amp;y"); /* a reference: the handler compares decoded names */
	assert_int_equal(scan(m), 1);
	free(m);
	m = with_specs("<nova:extraSpec name='resources:CUSTOM_ESFM_X'>1</nova:extraSpec>");
	assert_int_equal(scan(m), 1);
	free(m);
	/* no flavor at all: nothing to look up */
	assert_int_equal(scan("<nova:instance xmlns:nova='" NOVA "'/>"), 0);
}

static void test_front_precheck_pool_dir(void **state)
{
	char *m = zed("nova", "m1.small"), p[PATH_MAX], *saved = pools_dir;

	(void)state;
	pools_dir = tu_path(p, "%s/none", saved);
	assert_int_equal(scan(m), 0); /* no pools.d: no pool maps anything */
	tu_write(p, "a file, not a directory");
	assert_int_equal(scan(m), 1); /* unreadable: the handler says what is wrong */
	pools_dir = saved;
	/* a pool file naming a flavor with a reference: compared decoded, by the handler */
	tu_write(tu_path(p, "%s/odd.xml", saved), "<pool><nova flavor='m1&#46;small'/></pool>");
	assert_int_equal(scan(m), 1);
	free(m);
}

#define T(f)  cmocka_unit_test_setup(f, setup_pools)
#define TD(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_class_names),
		T(test_class_collisions),
		T(test_zed_metadata_any_prefix),
		T(test_plain_domain_is_not_nova),
		T(test_extra_specs),
		T(test_bad_extra_specs),
		T(test_requests_from_flavor),
		T(test_requests_extra_specs_alone),
		T(test_requests_unknown_class),
		T(test_provider_file),
		TD(test_front_precheck),
		TD(test_front_precheck_pool_dir),
	};
	int r = cmocka_run_group_tests_name("nova", tests, NULL, NULL);

	xmlCleanupParser();
	return r;
}
