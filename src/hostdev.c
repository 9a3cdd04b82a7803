// SPDX-License-Identifier: MIT
#include "hostdev.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "util.h"
#include "xmlutil.h"

/* "<prefix><pool>-<index>" with '.' written as '_': libvirt allows only [A-Za-z0-9_-]. */
static int user_alias(const char *prefix, const char *pool, unsigned index, char *buf, size_t len,
		      struct esfm_err *err)
{
	if (esfm_snprintf(buf, len, err, "%s%s-%u", prefix, pool, index) < 0)
		return -1;
	for (char *p = buf + strlen(prefix); *p; p++)
		if (*p == '.')
			*p = '_';
	return 0;
}

int esfm_hostdev_alias(const char *pool, unsigned index, char *buf, size_t len,
		       struct esfm_err *err)
{
	return user_alias(ESFM_ALIAS_PREFIX, pool, index, buf, len, err);
}

int esfm_identity_alias(const char *pool, unsigned index, char *buf, size_t len,
			struct esfm_err *err)
{
	return user_alias(ESFM_IDENTITY_ALIAS_PREFIX, pool, index, buf, len, err);
}

const char *esfm_identity_kind(const char *flashed, const char *flashed_kind, const char *pool_kind)
{
	if (flashed && flashed[0])
		return flashed_kind ? flashed_kind : "";
	return pool_kind ? pool_kind : "";
}

struct esfm_vf_identity esfm_identity_of(const struct esfm_pool *pool, unsigned index,
					 const char *flashed, const char *flashed_kind)
{
	return (struct esfm_vf_identity){
		.pool = pool->name,
		.index = index,
		.pf = pool->pf,
		.kind = esfm_identity_kind(flashed, flashed_kind, pool->bitstream_kind),
	};
}

int esfm_identity_name(const struct esfm_vf_identity *id, char *buf, size_t len,
		       struct esfm_err *err)
{
	char pf[ESFM_PCI_ADDR_STRLEN];
	bool kind = id->kind && id->kind[0];

	if (!esfm_name_valid(id->pool) || (kind && !esfm_name_valid(id->kind)))
		return esfm_err_set(err, ESFM_ERR_USAGE, 0,
				    "pool '%s': VF %u: cannot name its identity channel with kind "
				    "'%s' (allowed: A-Z a-z 0-9 _ . -)",
				    id->pool, id->index, kind ? id->kind : "");
	return esfm_snprintf(buf, len, err, ESFM_IDENTITY_NAME_PREFIX "pool=%s,index=%u,pf=%s%s%s",
			     id->pool, id->index, esfm_pci_addr_str(&id->pf, pf),
			     kind ? ",kind=" : "", kind ? id->kind : "");
}

/* "<prefix><pool>-<index>": the pool part (alias spelling) and the index. */
static bool alias_parse(const char *prefix, const char *alias, char *pool, size_t pool_len,
			unsigned *index)
{
	const char *body, *dash;
	size_t n;

	if (strncmp(alias, prefix, strlen(prefix)))
		return false;
	body = alias + strlen(prefix);
	dash = strrchr(body, '-');
	if (!dash || dash == body || !esfm_parse_uint(dash + 1, 65535, false, index))
		return false;
	n = (size_t)(dash - body);
	if (n >= pool_len)
		return false;
	memcpy(pool, body, n);
	pool[n] = '\0';
	return esfm_name_valid(pool);
}

bool esfm_hostdev_alias_parse(const char *alias, char *pool, size_t pool_len, unsigned *index)
{
	return alias_parse(ESFM_ALIAS_PREFIX, alias, pool, pool_len, index);
}

static bool alias_match(const char *prefix, const char *alias, const char *pool, unsigned *index)
{
	char mine[ESFM_ALIAS_MAX], part[ESFM_ALIAS_MAX];
	unsigned idx;

	if (!alias_parse(prefix, alias, part, sizeof(part), &idx) ||
	    user_alias(prefix, pool, 0, mine, sizeof(mine), NULL) < 0)
		return false;
	/* mine is "<prefix><pool>-0": compare the pool part only. */
	mine[strlen(mine) - 2] = '\0';
	if (strcmp(mine + strlen(prefix), part))
		return false;
	*index = idx;
	return true;
}

bool esfm_hostdev_alias_match(const char *alias, const char *pool, unsigned *index)
{
	return alias_match(ESFM_ALIAS_PREFIX, alias, pool, index);
}

bool esfm_identity_alias_match(const char *alias, const char *pool, unsigned *index)
{
	return alias_match(ESFM_IDENTITY_ALIAS_PREFIX, alias, pool, index);
}

static int fill_address(xmlNodePtr addr, const struct esfm_pci_addr *vf)
{
	char v[16];

	snprintf(v, sizeof(v), "0x%04x", (unsigned)vf->domain);
	if (!xmlSetProp(addr, BAD_CAST "domain", BAD_CAST v))
		return -1;
	snprintf(v, sizeof(v), "0x%02x", (unsigned)vf->bus);
	if (!xmlSetProp(addr, BAD_CAST "bus", BAD_CAST v))
		return -1;
	snprintf(v, sizeof(v), "0x%02x", vf->dev & 0x1fu);
	if (!xmlSetProp(addr, BAD_CAST "slot", BAD_CAST v))
		return -1;
	snprintf(v, sizeof(v), "0x%x", vf->fn & 7u);
	if (!xmlSetProp(addr, BAD_CAST "function", BAD_CAST v))
		return -1;
	return 0;
}

/* Read <template_dir>/<file>, whose root must be <@root>. */
static int read_template(const char *template_dir, const char *file, const char *root_name,
			 xmlDocPtr *doc, xmlNodePtr *root, struct esfm_err *err)
{
	char path[PATH_MAX];

	if (esfm_snprintf(path, sizeof(path), err, "%s/%s", template_dir, file) < 0)
		return -1;
	if (esfm_xml_read_file(path, doc, err) < 0) {
		err->cls = ESFM_ERR_CONFIG;
		return esfm_err_hint(err, "check template_dir in esfm.conf and the installation");
	}
	*root = xmlDocGetRootElement(*doc);
	if (!*root || xmlStrcmp((*root)->name, BAD_CAST root_name))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s: root element is not <%s>", path,
				    root_name);
	return 0;
}

static int set_alias(xmlNodePtr dev, const char *alias)
{
	xmlNodePtr al = esfm_xml_child(dev, "alias");

	if (!al)
		al = xmlNewChild(dev, NULL, BAD_CAST "alias", NULL);
	return al && xmlSetProp(al, BAD_CAST "name", BAD_CAST alias) ? 0 : -1;
}

int esfm_identity_xml(const char *template_dir, const struct esfm_vf_identity *id, char **out,
		      struct esfm_err *err)
{
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	char name[ESFM_IDENTITY_NAME_MAX], alias[ESFM_ALIAS_MAX];
	xmlNodePtr root, target;
	xmlChar *type;
	bool virtio;

	if (esfm_identity_name(id, name, sizeof(name), err) < 0 ||
	    esfm_identity_alias(id->pool, id->index, alias, sizeof(alias), err) < 0 ||
	    read_template(template_dir, "identity.xml", "channel", &doc, &root, err) < 0)
		return -1;
	target = esfm_xml_child(root, "target");
	type = target ? xmlGetProp(target, BAD_CAST "type") : NULL;
	virtio = type && !xmlStrcmp(type, BAD_CAST "virtio");
	xmlFree(type);
	if (!virtio)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "%s/identity.xml: no <target type='virtio'/> in <channel>",
				    template_dir);
	if (!xmlSetProp(target, BAD_CAST "name", BAD_CAST name) || set_alias(root, alias) < 0)
		return esfm_err_sys(err, ENOMEM, "cannot build the identity channel XML");
	return esfm_xml_node_to_string(root, out, err);
}

int esfm_hostdev_xml(const char *template_dir, const struct esfm_pci_addr *vf, const char *alias,
		     char **out, struct esfm_err *err)
{
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	xmlNodePtr root, src, addr;

	if (read_template(template_dir, "hostdev.xml", "hostdev", &doc, &root, err) < 0)
		return -1;
	src = esfm_xml_child(root, "source");
	addr = src ? esfm_xml_child(src, "address") : NULL;
	if (!addr)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "%s/hostdev.xml: no <source><address/> in <hostdev>",
				    template_dir);
	if (fill_address(addr, vf) < 0 || set_alias(root, alias) < 0)
		return esfm_err_sys(err, ENOMEM, "cannot build hostdev XML");
	return esfm_xml_node_to_string(root, out, err);
}
