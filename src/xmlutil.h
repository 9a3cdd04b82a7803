/* SPDX-License-Identifier: MIT */
/*
 * Thin libxml2 helpers: safe parsing (no network, no entity expansion, errors
 * captured into esfm_err with line numbers), child lookup, serialisation.
 */
#ifndef ESFM_XMLUTIL_H
#define ESFM_XMLUTIL_H

#include <stddef.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "err.h"

void esfm_xml_freedocp(xmlDocPtr *doc);
#define _cleanup_xmldoc_ __attribute__((cleanup(esfm_xml_freedocp)))

/* Parse a file. CONFIG error "<path>:<line>: <parser message>" on bad XML. */
int esfm_xml_read_file(const char *path, xmlDocPtr *doc, struct esfm_err *err);

/* Parse a memory buffer; @what names it in errors (e.g. "domain XML"). */
int esfm_xml_read_memory(const char *buf, size_t len, const char *what, xmlDocPtr *doc,
			 struct esfm_err *err);

/*
 * Streaming: the callbacks of a parse without a tree. Their ctx is the
 * parser context (xmlParserCtxtPtr); its _private points to this struct.
 */
struct esfm_xml_sax {
	startElementNsSAX2Func start;
	endElementNsSAX2Func end;
	int doctype_line; /* set by esfm_xml_sax_parse */
};

/*
 * Parse a memory buffer through @sax's callbacks, building no tree: same
 * safety and CONFIG errors as esfm_xml_read_memory, and a DOCTYPE is refused
 * (so no entity or attribute default changes what a value reads). The
 * callbacks see the document up to its first well-formedness error, which
 * wins over anything they found.
 */
int esfm_xml_sax_parse(const char *buf, size_t len, const char *what, struct esfm_xml_sax *sax,
		       struct esfm_err *err);

/*
 * Byte offset in the buffer parsed of where the parser stands at a callback
 * (at a start tag's "/>" or ">"), or -1 when the input is being converted
 * from another encoding, so that offsets in the text are not the parser's.
 */
long esfm_xml_sax_offset(void *ctx);

/* Line of the parser at a callback (that of the element's start tag end). */
#define esfm_xml_sax_line(ctx) ((long)xmlSAX2GetLineNumber(ctx))

/*
 * The attribute @name (local name, any namespace) among the @nb attributes of
 * a startElementNs callback, as esfm_xml_prop: 1 present, 0 absent, -1 longer
 * than @len allows ("" in @buf for both).
 */
int esfm_xml_sax_attr(const xmlChar **attrs, int nb, const char *name, char *buf, size_t len);

/*
 * One attribute of a startElementNs callback (@attr: its 5 pointers): its
 * local name, or NULL for a name with an unbound prefix (libxml2's tree names
 * it "prefix:name", which is no name esfm reads)...
 */
#define esfm_xml_sax_name(attr) ((attr)[1] && !(attr)[2] ? NULL : (const char *)(attr)[0])

/* ...and its value copied into @buf as esfm_xml_sax_attr does: 1, or -1 (and "") if too long. */
int esfm_xml_sax_value(const xmlChar **attr, char *buf, size_t len);

/* First element child of @node named @name (no namespace check), or NULL. */
xmlNodePtr esfm_xml_child(xmlNodePtr node, const char *name);

/* Next element sibling named @name after @node, or NULL. */
xmlNodePtr esfm_xml_next(xmlNodePtr node, const char *name);

/*
 * Attribute value copied into @buf: returns 1 if present, 0 if absent ("" in
 * @buf), -1 if longer than @len allows ("" in @buf).
 */
int esfm_xml_prop(xmlNodePtr node, const char *name, char *buf, size_t len);

/* Serialise @node (with its document's namespaces) into a malloc'ed string. */
int esfm_xml_node_to_string(xmlNodePtr node, char **out, struct esfm_err *err);

#endif
