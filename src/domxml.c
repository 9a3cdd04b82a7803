// SPDX-License-Identifier: MIT
#include "domxml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "hostdev.h"
#include "util.h"
#include "xmlutil.h"

bool esfm_domxml_may_have_annotation(const char *xml, size_t len)
{
	return memmem(xml, len, ESFM_ANNOT_NS, sizeof(ESFM_ANNOT_NS) - 1) != NULL;
}

static bool in_esfm_ns(xmlNodePtr n)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       !xmlStrcmp(n->ns->href, BAD_CAST ESFM_ANNOT_NS);
}

/* @count NULL: attribute absent (1 VF); "" or anything but 1..64 is an error. */
static int add_request(struct esfm_domain *dom, const char *pool, const char *count,
		       struct esfm_err *err)
{
	struct esfm_pool_request *r;
	unsigned c = 1;

	if (!esfm_name_valid(pool)) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "annotation names an invalid pool '%.80s'",
			     pool);
		return esfm_err_hint(err,
				     "pool names use letters, digits, '_', '.', '-' (1 to 64)");
	}
	if (count && (!esfm_parse_uint(count, ESFM_MAX_VFS_PER_VM, false, &c) || c == 0))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "annotation: invalid count '%.20s' for pool '%s' (1 to %d)",
				    count, pool, ESFM_MAX_VFS_PER_VM);
	for (size_t i = 0; i < dom->nreq; i++)
		if (!strcmp(dom->req[i].pool, pool))
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "annotation names pool '%s' twice", pool);
	if (dom->nreq == ESFM_ANNOT_MAX_POOLS)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "annotation names more than %d pools",
				    ESFM_ANNOT_MAX_POOLS);
	r = &dom->req[dom->nreq++];
	snprintf(r->pool, sizeof(r->pool), "%s", pool);
	r->count = c;
	return 0;
}

static int parse_annotation(xmlNodePtr elem, struct esfm_domain *dom, struct esfm_err *err)
{
	char pool[128], count[32], mode[32];
	bool children = false;
	int has_count, has_mode;

	if (xmlStrcmp(elem->name, BAD_CAST "vf"))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "annotation element is <%s>, expected <vf> in namespace %s",
				    (const char *)elem->name, ESFM_ANNOT_NS);
	if ((has_mode = esfm_xml_prop(elem, "mode", mode, sizeof(mode))) < 0)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "annotation: invalid mode");
	if (!has_mode || !strcmp(mode, "hotplug"))
		dom->mode = ESFM_MODE_HOTPLUG;
	else if (!strcmp(mode, "static"))
		dom->mode = ESFM_MODE_STATIC;
	else
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "annotation: invalid mode '%s' (use hotplug or static)", mode);
	for (xmlNodePtr c = elem->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, BAD_CAST "pool"))
			continue;
		children = true;
		if (esfm_xml_prop(c, "name", pool, sizeof(pool)) < 0 ||
		    (has_count = esfm_xml_prop(c, "count", count, sizeof(count))) < 0)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "annotation: attribute too long");
		if (add_request(dom, pool, has_count ? count : NULL, err) < 0)
			return -1;
	}
	if (esfm_xml_prop(elem, "pool", pool, sizeof(pool)) < 0 ||
	    (has_count = esfm_xml_prop(elem, "count", count, sizeof(count))) < 0)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "annotation: attribute too long");
	if (pool[0] && children)
		return esfm_err_set(
			err, ESFM_ERR_CONFIG, 0,
			"annotation has both a pool attribute and <pool> children; use one form");
	if (pool[0])
		return add_request(dom, pool, has_count ? count : NULL, err);
	if (!children) {
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "annotation names no pool");
		return esfm_err_hint(err,
				     "write <vf pool='NAME'/> or <vf><pool name='NAME'/></vf>");
	}
	return 0;
}

int esfm_domxml_parse_annotation(xmlNodePtr elem, const char *domname, struct esfm_domain *dom,
				 struct esfm_err *err)
{
	dom->annotated = true;
	if (parse_annotation(elem, dom, err) < 0)
		return esfm_err_prefix(err, "domain '%s'", domname);
	return 0;
}

static int parse_hex(xmlNodePtr n, const char *attr, unsigned max, unsigned *out)
{
	char v[32];
	const char *s = v;

	if (esfm_xml_prop(n, attr, v, sizeof(v)) <= 0)
		return -1;
	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	else
		return esfm_parse_uint(s, max, false, out) ? 0 : -1;
	return esfm_parse_uint(s, max, true, out) ? 0 : -1;
}

static void collect_hostdevs(xmlNodePtr devices, struct esfm_domain *dom)
{
	for (xmlNodePtr h = esfm_xml_child(devices, "hostdev"); h;
	     h = esfm_xml_next(h, "hostdev")) {
		struct esfm_dom_hostdev *hd;
		xmlNodePtr addr = esfm_xml_child(esfm_xml_child(h, "source"), "address");
		unsigned d, b, s, f;
		char type[16];

		esfm_xml_prop(h, "type", type, sizeof(type));
		if (strcmp(type, "pci") || !addr || dom->nhostdev == ESFM_MAX_VFS_PER_VM)
			continue;
		if (parse_hex(addr, "domain", 0xffff, &d) < 0 ||
		    parse_hex(addr, "bus", 0xff, &b) < 0 || parse_hex(addr, "slot", 0x1f, &s) < 0 ||
		    parse_hex(addr, "function", 7, &f) < 0)
			continue;
		hd = &dom->hostdev[dom->nhostdev++];
		hd->addr = (struct esfm_pci_addr){(uint16_t)d, (uint8_t)b, (uint8_t)s, (uint8_t)f};
		if (esfm_xml_prop(esfm_xml_child(h, "alias"), "name", hd->alias,
				  sizeof(hd->alias)) < 0)
			hd->alias[0] = '\0';
	}
}

static void collect_identities(xmlNodePtr devices, struct esfm_domain *dom)
{
	for (xmlNodePtr c = esfm_xml_child(devices, "controller"); c && !dom->vserial;
	     c = esfm_xml_next(c, "controller")) {
		char type[16];

		dom->vserial = esfm_xml_prop(c, "type", type, sizeof(type)) == 1 &&
			       !strcmp(type, "virtio-serial");
	}
	for (xmlNodePtr c = esfm_xml_child(devices, "channel"); c;
	     c = esfm_xml_next(c, "channel")) {
		char *alias = dom->identity[dom->nidentity];

		if (dom->nidentity == ESFM_MAX_VFS_PER_VM ||
		    esfm_xml_prop(esfm_xml_child(c, "alias"), "name", alias,
				  sizeof(dom->identity[0])) != 1 ||
		    strncmp(alias, ESFM_IDENTITY_ALIAS_PREFIX, strlen(ESFM_IDENTITY_ALIAS_PREFIX)))
			continue;
		dom->nidentity++;
	}
}

static int text_of(xmlNodePtr n, char *buf, size_t len)
{
	xmlChar *t = n ? xmlNodeGetContent(n) : NULL;
	int r = -1;

	buf[0] = '\0';
	if (t && strlen((const char *)t) < len) {
		strcpy(buf, (const char *)t);
		r = 0;
	}
	xmlFree(t);
	return r;
}

int esfm_domxml_parse(const char *xml, size_t len, struct esfm_domain *dom, struct esfm_err *err)
{
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	xmlNodePtr root, meta, annot = NULL;

	const char *nul = memchr(xml, '\0', len);

	memset(dom, 0, sizeof(*dom));
	/* libxml2 stops at a NUL and accepts what follows unseen: libvirt never sends one. */
	if (nul)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "domain XML: NUL byte at offset %zu; not a libvirt domain XML",
				    (size_t)(nul - xml));
	if (esfm_xml_read_memory(xml, len, "domain XML", &doc, err) < 0)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!root || xmlStrcmp(root->name, BAD_CAST "domain"))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "domain XML: root element is not <domain>");
	if (text_of(esfm_xml_child(root, "name"), dom->name, sizeof(dom->name)) < 0 ||
	    !dom->name[0])
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "domain XML: missing or over-long <name>");
	if (text_of(esfm_xml_child(root, "uuid"), dom->uuid, sizeof(dom->uuid)) < 0 ||
	    strlen(dom->uuid) != 36)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "domain '%s': missing or invalid <uuid>", dom->name);
	collect_hostdevs(esfm_xml_child(root, "devices"), dom);
	collect_identities(esfm_xml_child(root, "devices"), dom);
	meta = esfm_xml_child(root, "metadata");
	for (xmlNodePtr c = meta ? meta->children : NULL; c; c = c->next) {
		if (esfm_nova_is_instance(c) && !dom->nova.present &&
		    esfm_nova_meta_parse(c, dom->name, &dom->nova, err) < 0)
			return -1;
		if (!in_esfm_ns(c))
			continue;
		if (annot)
			return esfm_err_set(
				err, ESFM_ERR_CONFIG, 0,
				"domain '%s': more than one esfm annotation in <metadata>",
				dom->name);
		annot = c;
	}
	if (!annot)
		return 0;
	return esfm_domxml_parse_annotation(annot, dom->name, dom, err);
}

static int add_allocation(xmlNodePtr root, xmlNsPtr ns, const struct esfm_allocation *a)
{
	char v[32], addr[ESFM_PCI_ADDR_STRLEN];
	xmlNodePtr n = xmlNewChild(root, ns, BAD_CAST "allocation", NULL);

	snprintf(v, sizeof(v), "%u", a->index);
	if (!n || !xmlSetProp(n, BAD_CAST "pool", BAD_CAST a->pool) ||
	    !xmlSetProp(n, BAD_CAST "index", BAD_CAST v) ||
	    !xmlSetProp(n, BAD_CAST "address", BAD_CAST esfm_pci_addr_str(&a->addr, addr)) ||
	    !xmlSetProp(n, BAD_CAST "alias", BAD_CAST a->alias))
		return -1;
	return 0;
}

int esfm_domxml_annotation_xml(const struct esfm_domain *dom, const struct esfm_allocation *alloc,
			       size_t nalloc, const char *error_pool, const char *error, char **out,
			       struct esfm_err *err)
{
	_cleanup_xmldoc_ xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root;
	xmlNsPtr ns = NULL; /* libvirt puts the element in our namespace itself */
	char v[32];

	if (!doc || !(root = xmlNewNode(NULL, BAD_CAST "vf")))
		return esfm_err_sys(err, ENOMEM, "cannot build metadata XML");
	xmlDocSetRootElement(doc, root);
	if (dom->mode == ESFM_MODE_STATIC && !xmlSetProp(root, BAD_CAST "mode", BAD_CAST "static"))
		return esfm_err_sys(err, ENOMEM, "cannot build metadata XML");
	for (size_t i = 0; i < dom->nreq; i++) {
		xmlNodePtr p = xmlNewChild(root, ns, BAD_CAST "pool", NULL);

		snprintf(v, sizeof(v), "%u", dom->req[i].count);
		if (!p || !xmlSetProp(p, BAD_CAST "name", BAD_CAST dom->req[i].pool) ||
		    !xmlSetProp(p, BAD_CAST "count", BAD_CAST v))
			return esfm_err_sys(err, ENOMEM, "cannot build metadata XML");
	}
	for (size_t i = 0; i < nalloc; i++)
		if (add_allocation(root, ns, &alloc[i]) < 0)
			return esfm_err_sys(err, ENOMEM, "cannot build metadata XML");
	if (error) {
		xmlNodePtr e = xmlNewChild(root, ns, BAD_CAST "error", NULL);

		if (!e || (error_pool && !xmlSetProp(e, BAD_CAST "pool", BAD_CAST error_pool)) ||
		    !xmlSetProp(e, BAD_CAST "message", BAD_CAST error))
			return esfm_err_sys(err, ENOMEM, "cannot build metadata XML");
	}
	return esfm_xml_node_to_string(root, out, err);
}
