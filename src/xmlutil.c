// SPDX-License-Identifier: MIT
#include "xmlutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

#include "util.h"

/* No network, no DTD loading, no entity substitution: input is untrusted. */
#define ESFM_XML_FILE_MAX    (16u << 20)
#define ESFM_XML_PARSE_FLAGS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

void esfm_xml_freedocp(xmlDocPtr *doc)
{
	if (*doc)
		xmlFreeDoc(*doc);
}

static int parse_error(xmlParserCtxtPtr ctxt, const char *what, struct esfm_err *err)
{
	const xmlError *e = xmlCtxtGetLastError(ctxt);
	char msg[256] = "not well-formed";
	int line = 0;

	if (e && e->message) {
		snprintf(msg, sizeof(msg), "%s", e->message);
		for (size_t n = strlen(msg); n && msg[n - 1] == '\n'; n--)
			msg[n - 1] = '\0';
		line = e->line;
	}
	if (line)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%d: malformed XML: %s", what, line,
				    msg);
	return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s: malformed XML: %s", what, msg);
}

int esfm_xml_read_file(const char *path, xmlDocPtr *doc, struct esfm_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	/* Read it ourselves: a FIFO or a device there must not block libxml2's open. */
	if (esfm_read_file(path, ESFM_XML_FILE_MAX, &text, &len, err) < 0)
		return -1;
	return esfm_xml_read_memory(text, len, path, doc, err);
}

int esfm_xml_read_memory(const char *buf, size_t len, const char *what, xmlDocPtr *doc,
			 struct esfm_err *err)
{
	xmlParserCtxtPtr ctxt = xmlNewParserCtxt();

	if (!ctxt)
		return esfm_err_sys(err, ENOMEM, "cannot allocate XML parser");
	if (len > (size_t)__INT_MAX__) {
		xmlFreeParserCtxt(ctxt);
		return esfm_err_set(err, ESFM_ERR_CONFIG, EFBIG, "%s: too large", what);
	}
	*doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, ESFM_XML_PARSE_FLAGS);
	if (!*doc) {
		parse_error(ctxt, what, err);
		xmlFreeParserCtxt(ctxt);
		return -1;
	}
	xmlFreeParserCtxt(ctxt);
	return 0;
}

xmlNodePtr esfm_xml_child(xmlNodePtr node, const char *name)
{
	for (xmlNodePtr c = node ? node->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, BAD_CAST name))
			return c;
	return NULL;
}

xmlNodePtr esfm_xml_next(xmlNodePtr node, const char *name)
{
	for (xmlNodePtr c = node ? node->next : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !xmlStrcmp(c->name, BAD_CAST name))
			return c;
	return NULL;
}

int esfm_xml_prop(xmlNodePtr node, const char *name, char *buf, size_t len)
{
	xmlChar *v;
	int r = 0;

	buf[0] = '\0';
	/* The common case, one text child, without a copy: a ledger has ~2,000 of them. */
	for (xmlAttrPtr a = node && node->type == XML_ELEMENT_NODE ? node->properties : NULL; a;
	     a = a->next) {
		const xmlNode *t = a->children;

		if (xmlStrcmp(a->name, BAD_CAST name))
			continue;
		if (!t || (t->type == XML_TEXT_NODE && !t->next)) {
			const char *text = t && t->content ? (const char *)t->content : "";

			if (strlen(text) >= len)
				return -1;
			strcpy(buf, text);
			return 1;
		}
		break;
	}
	v = xmlGetProp(node, BAD_CAST name);
	if (!v)
		return 0;
	if (strlen((const char *)v) < len) {
		strcpy(buf, (const char *)v);
		r = 1;
	} else {
		r = -1;
	}
	xmlFree(v);
	return r;
}

int esfm_xml_node_to_string(xmlNodePtr node, char **out, struct esfm_err *err)
{
	xmlDocPtr copy = xmlNewDoc(BAD_CAST "1.0");
	xmlBufferPtr buf = xmlBufferCreate();
	xmlNodePtr root;
	char *s;

	/* A copy of its own, so namespaces declared on ancestors are declared on it. */
	if (!copy || !buf || !(root = xmlDocCopyNode(node, copy, 1))) {
		xmlBufferFree(buf);
		xmlFreeDoc(copy);
		return esfm_err_sys(err, ENOMEM, "cannot serialise XML");
	}
	xmlDocSetRootElement(copy, root);
	xmlReconciliateNs(copy, root);
	if (xmlNodeDump(buf, copy, root, 0, 1) < 0) {
		xmlBufferFree(buf);
		xmlFreeDoc(copy);
		return esfm_err_sys(err, ENOMEM, "cannot serialise XML");
	}
	xmlFreeDoc(copy);
	s = strdup((const char *)xmlBufferContent(buf));
	xmlBufferFree(buf);
	if (!s)
		return esfm_err_sys(err, ENOMEM, "cannot serialise XML");
	*out = s;
	return 0;
}
