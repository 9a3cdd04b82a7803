// SPDX-License-Identifier: MIT
#include "xmlutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
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

/* A parser for @len bytes of untrusted input, or NULL with @err filled. */
static xmlParserCtxtPtr new_parser(size_t len, const char *what, struct esfm_err *err)
{
	xmlParserCtxtPtr ctxt;

	if (len > (size_t)__INT_MAX__) {
		esfm_err_set(err, ESFM_ERR_CONFIG, EFBIG, "%s: too large", what);
		return NULL;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		esfm_err_sys(err, ENOMEM, "cannot allocate XML parser");
	return ctxt;
}

int esfm_xml_read_memory(const char *buf, size_t len, const char *what, xmlDocPtr *doc,
			 struct esfm_err *err)
{
	xmlParserCtxtPtr ctxt = new_parser(len, what, err);

	if (!ctxt)
		return -1;
	*doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, ESFM_XML_PARSE_FLAGS);
	if (!*doc) {
		parse_error(ctxt, what, err);
		xmlFreeParserCtxt(ctxt);
		return -1;
	}
	xmlFreeParserCtxt(ctxt);
	return 0;
}

/*
 * Without a DTD no entity but the predefined ones exists and no attribute
 * has a default: what the callbacks see is exactly what is written.
 */
static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
			   const xmlChar *system_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct esfm_xml_sax *sax = ctxt->_private;

	(void)name;
	(void)external_id;
	(void)system_id;
	sax->doctype_line = xmlSAX2GetLineNumber(ctx);
	xmlStopParser(ctxt);
}

/* Comments are skipped, but read as the tree reader reads them, so errors in them say the same. */
static void skip_comment(void *ctx, const xmlChar *value)
{
	(void)ctx;
	(void)value;
}

struct chunks {
	const char *next;
	size_t left;
};

/* An xmlInputReadCallback over a buffer in memory. */
static int read_chunk(void *data, char *out, int len)
{
	struct chunks *c = data;
	size_t n = len < 0 ? 0 : c->left < (size_t)len ? c->left : (size_t)len;

	memcpy(out, c->next, n);
	c->next += n;
	c->left -= n;
	return (int)n;
}

int esfm_xml_sax_parse(const char *buf, size_t len, const char *what, struct esfm_xml_sax *sax,
		       struct esfm_err *err)
{
	xmlParserCtxtPtr ctxt = new_parser(len, what, err);
	struct chunks from = {buf, len};
	xmlParserInputBufferPtr input;
	xmlParserInputPtr stream;
	xmlDocPtr doc;
	int r = 0;

	if (!ctxt)
		return -1;
	memset(ctxt->sax, 0, sizeof(*ctxt->sax));
	ctxt->sax->initialized = XML_SAX2_MAGIC;
	ctxt->sax->internalSubset = refuse_doctype;
	ctxt->sax->comment = skip_comment;
	ctxt->sax->startElementNs = sax->start;
	ctxt->sax->endElementNs = sax->end;
	ctxt->_private = sax;
	sax->doctype_line = 0;
	/*
	 * What xmlCtxtReadMemory does, but the parser reads @buf in its own
	 * small chunks: xmlCtxtReadMemory copied all of it into a buffer first
	 * (a 40 KiB ledger into 64 KiB at every prepare). No handler builds a
	 * document: what the parser says is in wellFormed.
	 */
	input = xmlParserInputBufferCreateIO(read_chunk, NULL, &from, XML_CHAR_ENCODING_NONE);
	stream = input ? xmlNewIOInputStream(ctxt, input, XML_CHAR_ENCODING_NONE) : NULL;
	if (!stream) {
		xmlFreeParserInputBuffer(input);
		xmlFreeParserCtxt(ctxt);
		return esfm_err_sys(err, ENOMEM, "cannot allocate XML parser");
	}
	inputPush(ctxt, stream);
	xmlCtxtUseOptions(ctxt, ESFM_XML_PARSE_FLAGS);
	xmlParseDocument(ctxt);
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	xmlFreeDoc(doc);
	if (sax->doctype_line)
		r = esfm_err_set(err, ESFM_ERR_CONFIG, 0,
				 "%s:%d: malformed XML: DOCTYPE not allowed", what,
				 sax->doctype_line);
	else if (!ctxt->wellFormed)
		r = parse_error(ctxt, what, err);
	xmlFreeParserCtxt(ctxt);
	return r;
}

long esfm_xml_sax_offset(void *ctx)
{
	xmlParserInputPtr in = ((xmlParserCtxtPtr)ctx)->input;

	if (!in || !in->base || !in->cur || (in->buf && in->buf->encoder))
		return -1;
	return (long)in->consumed + (long)(in->cur - in->base);
}

int esfm_xml_sax_value(const xmlChar **attr, char *buf, size_t len)
{
	const char *v = (const char *)attr[3], *e = (const char *)attr[4];
	size_t n = 0;

	while (v < e) {
		/* The parser hands a '&' (written &amp; or &#38;) over as "&#38;". */
		const char *amp = memchr(v, '&', (size_t)(e - v));
		size_t run = (size_t)((amp ? amp : e) - v) + (amp != NULL);

		if (n + run >= len) {
			buf[0] = '\0';
			return -1;
		}
		memcpy(buf + n, v, run);
		n += run;
		v += run;
		if (amp && e - amp >= 5 && !memcmp(amp, "&#38;", 5))
			v += 4;
	}
	buf[n] = '\0';
	return 1;
}

int esfm_xml_sax_attr(const xmlChar **attrs, int nb, const char *name, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; i < nb; i++, attrs += 5) {
		const char *n = esfm_xml_sax_name(attrs);

		if (n && !strcmp(n, name))
			return esfm_xml_sax_value(attrs, buf, len);
	}
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
