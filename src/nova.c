// SPDX-License-Identifier: MIT
#include "nova.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domxml.h"
#include "util.h"
#include "xmlutil.h"

static bool in_nova_ns(xmlNodePtr n)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
	       !strncmp((const char *)n->ns->href, ESFM_NOVA_NS_PREFIX,
			sizeof(ESFM_NOVA_NS_PREFIX) - 1);
}

bool esfm_nova_is_instance(xmlNodePtr node)
{
	return in_nova_ns(node) && !xmlStrcmp(node->name, BAD_CAST "instance");
}

static void mapped_name(const char *prefix, const char *pool, char out[ESFM_NOVA_CLASS_MAX])
{
	size_t o = (size_t)snprintf(out, ESFM_NOVA_CLASS_MAX, "%s", prefix);

	for (; *pool && o + 1 < ESFM_NOVA_CLASS_MAX; pool++) {
		char c = *pool;

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		out[o++] = c;
	}
	out[o] = '\0';
}

void esfm_nova_class(const char *pool, char out[ESFM_NOVA_CLASS_MAX])
{
	mapped_name(ESFM_NOVA_CLASS_PREFIX, pool, out);
}

void esfm_nova_pool_trait(const char *pool, char out[ESFM_NOVA_CLASS_MAX])
{
	mapped_name(ESFM_NOVA_CLASS_PREFIX "POOL_", pool, out);
}

int esfm_nova_check_classes(const struct esfm_pool *pools, size_t n, struct esfm_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char a[ESFM_NOVA_CLASS_MAX], b[ESFM_NOVA_CLASS_MAX];

		esfm_nova_class(pools[i].name, a);
		for (size_t j = i + 1; j < n; j++) {
			esfm_nova_class(pools[j].name, b);
			if (strcmp(a, b))
				continue;
			esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				     "pools '%s' and '%s' both map to the resource class %s",
				     pools[i].name, pools[j].name, a);
			return esfm_err_hint(err, "rename one of them (see esfm-pool(5))");
		}
	}
	return 0;
}

/* A class Placement accepts for a custom resource: CUSTOM_[A-Z0-9_]+. */
static bool class_valid(const char *cls)
{
	if (strncmp(cls, "CUSTOM_", 7) || !cls[7])
		return false;
	for (const char *p = cls + 7; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static int add_spec(xmlNodePtr spec, const char *domname, struct esfm_nova_meta *m,
		    struct esfm_err *err)
{
	char name[ESFM_NOVA_CLASS_MAX + 16], value[32];
	const char *cls;
	xmlChar *text;
	unsigned count;
	bool ok;

	/* Not an esfm class (or too long to be one): none of esfm's business. */
	if (esfm_xml_prop(spec, "name", name, sizeof(name)) <= 0 ||
	    strncmp(name, ESFM_NOVA_RESOURCES_KEY ESFM_NOVA_CLASS_PREFIX,
		    sizeof(ESFM_NOVA_RESOURCES_KEY ESFM_NOVA_CLASS_PREFIX) - 1))
		return 0;
	cls = name + sizeof(ESFM_NOVA_RESOURCES_KEY) - 1;
	if (!class_valid(cls) || strlen(cls) >= ESFM_NOVA_CLASS_MAX)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "domain '%s': Nova extra spec '%s' is not a resource class",
				    domname, name);
	text = xmlNodeGetContent(spec);
	snprintf(value, sizeof(value), "%s", text ? (const char *)text : "");
	ok = text && strlen((const char *)text) < sizeof(value) &&
	     esfm_parse_uint(value, ESFM_MAX_VFS_PER_VM, false, &count);
	xmlFree(text);
	if (!ok)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "domain '%s': Nova extra spec '%s' = '%s' is not a count "
				    "(0 to %d)",
				    domname, name, value, ESFM_MAX_VFS_PER_VM);
	if (count == 0) /* Nova asks Placement for nothing then */
		return 0;
	for (size_t i = 0; i < m->nspec; i++)
		if (!strcmp(m->spec[i].cls, cls))
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "domain '%s': Nova extra spec '%s' given twice",
					    domname, name);
	if (m->nspec == ESFM_NOVA_SPECS_MAX)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "domain '%s': more than %d esfm resource classes in its "
				    "Nova extra specs",
				    domname, ESFM_NOVA_SPECS_MAX);
	memcpy(m->spec[m->nspec].cls, cls, strlen(cls) + 1);
	m->spec[m->nspec++].count = count;
	return 0;
}

/* Every <nova:extraSpecs> below @node, wherever a Nova release puts it. */
static int walk_specs(xmlNodePtr node, const char *domname, struct esfm_nova_meta *m,
		      struct esfm_err *err)
{
	for (xmlNodePtr c = node->children; c; c = c->next) {
		if (!in_nova_ns(c))
			continue;
		if (!xmlStrcmp(c->name, BAD_CAST "extraSpecs")) {
			m->has_extra_specs = true;
			for (xmlNodePtr s = c->children; s; s = s->next)
				if (in_nova_ns(s) && !xmlStrcmp(s->name, BAD_CAST "extraSpec") &&
				    add_spec(s, domname, m, err) < 0)
					return -1;
			continue;
		}
		if (!xmlStrcmp(c->name, BAD_CAST "flavor") && !m->flavor[0] &&
		    esfm_xml_prop(c, "name", m->flavor, sizeof(m->flavor)) < 0)
			m->flavor[0] = '\0';
		if (walk_specs(c, domname, m, err) < 0)
			return -1;
	}
	return 0;
}

int esfm_nova_meta_parse(xmlNodePtr node, const char *domname, struct esfm_nova_meta *m,
			 struct esfm_err *err)
{
	memset(m, 0, sizeof(*m));
	m->present = true;
	return walk_specs(node, domname, m, err);
}

static int add_request(struct esfm_pool_request *req, size_t max, size_t *nreq, const char *pool,
		       unsigned count, const char *domname, struct esfm_err *err)
{
	for (size_t i = 0; i < *nreq; i++)
		if (!strcmp(req[i].pool, pool)) {
			req[i].count += count;
			if (req[i].count > ESFM_MAX_VFS_PER_VM)
				return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
						    "domain '%s': its Nova flavor asks for %u VFs "
						    "of pool '%s' (at most %d)",
						    domname, req[i].count, pool,
						    ESFM_MAX_VFS_PER_VM);
			return 0;
		}
	if (*nreq == max)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "domain '%s': its Nova flavor asks for more than %zu pools",
				    domname, max);
	snprintf(req[*nreq].pool, sizeof(req[*nreq].pool), "%s", pool);
	req[(*nreq)++].count = count;
	return 0;
}

int esfm_nova_requests(const struct esfm_nova_meta *m, const char *domname,
		       const struct esfm_pool *pools, size_t npools, struct esfm_pool_request *req,
		       size_t max, size_t *nreq, struct esfm_err *err)
{
	*nreq = 0;
	if (!m->present)
		return 0;
	if (m->has_extra_specs) {
		if (m->nspec && esfm_nova_check_classes(pools, npools, err) < 0)
			return esfm_err_prefix(err, "domain '%s'", domname);
		for (size_t i = 0; i < m->nspec; i++) {
			const struct esfm_pool *p = NULL;
			char cls[ESFM_NOVA_CLASS_MAX];

			for (size_t j = 0; j < npools && !p; j++) {
				esfm_nova_class(pools[j].name, cls);
				if (!strcmp(cls, m->spec[i].cls))
					p = &pools[j];
			}
			if (!p) {
				esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					     "domain '%s': its Nova flavor asks for %s, which no "
					     "pool provides",
					     domname, m->spec[i].cls);
				return esfm_err_hint(err, "run esfm nova-export and restart "
							  "nova-compute, or fix the flavor");
			}
			if (add_request(req, max, nreq, p->name, m->spec[i].count, domname, err) <
			    0)
				return -1;
		}
		return 0;
	}
	if (!m->flavor[0])
		return 0;
	for (size_t j = 0; j < npools; j++)
		for (size_t k = 0; k < pools[j].nflavor; k++)
			if (!strcmp(pools[j].flavor[k].name, m->flavor) &&
			    add_request(req, max, nreq, pools[j].name, pools[j].flavor[k].count,
					domname, err) < 0)
				return -1;
	return 0;
}

int esfm_nova_resolve(const struct esfm_conf *conf, struct esfm_domain *dom, struct esfm_err *err)
{
	_cleanup_free_ struct esfm_pool *pools = NULL;
	size_t npools = 0, nreq = 0;

	if (dom->annotated || !dom->nova.present)
		return 0;
	if (!dom->nova.nspec && !dom->nova.flavor[0])
		return 0;
	if (esfm_pool_list(conf, &pools, &npools, err) < 0)
		return esfm_err_prefix(err, "domain '%s' (a Nova instance)", dom->name);
	if (esfm_nova_requests(&dom->nova, dom->name, pools, npools, dom->req, ESFM_ANNOT_MAX_POOLS,
			       &nreq, err) < 0)
		return -1;
	if (!nreq)
		return 0;
	dom->nreq = nreq;
	dom->mode = ESFM_MODE_HOTPLUG;
	dom->annotated = true;
	dom->from_nova = true;
	return 0;
}
