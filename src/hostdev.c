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

int esfm_hostdev_alias(const char *pool, unsigned index, char *buf, size_t len,
		       struct esfm_err *err)
{
	size_t n = strlen(ESFM_ALIAS_PREFIX);

	if (esfm_snprintf(buf, len, err, ESFM_ALIAS_PREFIX "%s-%u", pool, index) < 0)
		return -1;
	for (char *p = buf + n; *p; p++)
		if (*p == '.')
			*p = '_';
	return 0;
}

bool esfm_hostdev_alias_match(const char *alias, const char *pool, unsigned *index)
{
	char mine[ESFM_ALIAS_MAX], part[ESFM_ALIAS_MAX];
	unsigned idx;

	if (!esfm_hostdev_alias_parse(alias, part, sizeof(part), &idx) ||
	    esfm_hostdev_alias(pool, 0, mine, sizeof(mine), NULL) < 0)
		return false;
	/* mine is "ua-esfm-<pool>-0": compare the pool part only. */
	mine[strlen(mine) - 2] = '\0';
	if (strcmp(mine + strlen(ESFM_ALIAS_PREFIX), part))
		return false;
	*index = idx;
	return true;
}

bool esfm_hostdev_alias_parse(const char *alias, char *pool, size_t pool_len, unsigned *index)
{
	const char *body, *dash;
	size_t n;

	if (strncmp(alias, ESFM_ALIAS_PREFIX, strlen(ESFM_ALIAS_PREFIX)))
		return false;
	body = alias + strlen(ESFM_ALIAS_PREFIX);
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

int esfm_hostdev_xml(const char *template_dir, const struct esfm_pci_addr *vf, const char *alias,
		     char **out, struct esfm_err *err)
{
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	char path[PATH_MAX];
	xmlNodePtr root, src, addr, al;

	if (esfm_snprintf(path, sizeof(path), err, "%s/hostdev.xml", template_dir) < 0)
		return -1;
	if (esfm_xml_read_file(path, &doc, err) < 0) {
		err->cls = ESFM_ERR_CONFIG;
		return esfm_err_hint(err, "check template_dir in esfm.conf and the installation");
	}
	root = xmlDocGetRootElement(doc);
	if (!root || xmlStrcmp(root->name, BAD_CAST "hostdev"))
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s: root element is not <hostdev>",
				    path);
	src = esfm_xml_child(root, "source");
	addr = src ? esfm_xml_child(src, "address") : NULL;
	if (!addr)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				    "%s: no <source><address/> in <hostdev>", path);
	al = esfm_xml_child(root, "alias");
	if (!al)
		al = xmlNewChild(root, NULL, BAD_CAST "alias", NULL);
	if (!al || fill_address(addr, vf) < 0 || !xmlSetProp(al, BAD_CAST "name", BAD_CAST alias))
		return esfm_err_sys(err, ENOMEM, "cannot build hostdev XML");
	return esfm_xml_node_to_string(doc, root, out, err);
}
