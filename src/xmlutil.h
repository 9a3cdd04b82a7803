/* SPDX-License-Identifier: MIT */
/*
 * Thin libxml2 helpers: safe parsing (no network, no entity expansion, errors
 * captured into esfm_err with line numbers), child lookup, serialisation.
 */
#ifndef ESFM_XMLUTIL_H
#define ESFM_XMLUTIL_H

#include <stddef.h>

#include <libxml/tree.h>

#include "err.h"

void esfm_xml_freedocp(xmlDocPtr *doc);
#define _cleanup_xmldoc_ __attribute__((cleanup(esfm_xml_freedocp)))

/* Parse a file. CONFIG error "<path>:<line>: <parser message>" on bad XML. */
int esfm_xml_read_file(const char *path, xmlDocPtr *doc, struct esfm_err *err);

/* Parse a memory buffer; @what names it in errors (e.g. "domain XML"). */
int esfm_xml_read_memory(const char *buf, size_t len, const char *what, xmlDocPtr *doc,
			 struct esfm_err *err);

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
