/* SPDX-License-Identifier: MIT */
/*
 * What esfm reads from a domain's XML: name, UUID, the esfm annotation in
 * <metadata>, Nova's <nova:instance> there (nova.h), the PCI hostdevs with
 * their aliases, and esfm's VF identity channels.
 *
 * The annotation (namespace urn:esfm:vf:1, one top-level element):
 *   <esfm:vf xmlns:esfm="urn:esfm:vf:1" pool="fpga0" count="1" mode="hotplug"/>
 *   <esfm:vf xmlns:esfm="urn:esfm:vf:1"><pool name="fpga0" count="2"/><pool name="nic0"/></esfm:vf>
 * mode is "hotplug" (default) or "static". The hook's worker adds
 * <allocation pool= index= address= alias=/> and <error pool= message=/>
 * children to the live copy; they are read back, never required.
 */
#ifndef ESFM_DOMXML_H
#define ESFM_DOMXML_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "err.h"
#include "nova.h"
#include "pci.h"
#include "pool.h"
#include "sizes.h"

#define ESFM_ANNOT_NS	     "urn:esfm:vf:1"
#define ESFM_ANNOT_PREFIX    "esfm"
#define ESFM_ANNOT_MAX_POOLS 8
#define ESFM_MAX_VFS_PER_VM  64

enum esfm_attach_mode {
	ESFM_MODE_HOTPLUG = 0,
	ESFM_MODE_STATIC,
};

struct esfm_pool_request {
	char pool[ESFM_NAME_MAX];
	unsigned count;
};

struct esfm_dom_hostdev {
	struct esfm_pci_addr addr;
	char alias[ESFM_ALIAS_MAX]; /* "" if none */
};

struct esfm_domain {
	char name[ESFM_DOM_NAME_MAX];
	char uuid[ESFM_UUID_STRLEN];
	bool annotated; /* esfm's business: an annotation, or Nova asking (see nova_resolve) */
	bool from_nova; /* the requests come from Nova's metadata, not an annotation */
	enum esfm_attach_mode mode;
	struct esfm_pool_request req[ESFM_ANNOT_MAX_POOLS];
	size_t nreq;
	struct esfm_dom_hostdev hostdev[ESFM_MAX_VFS_PER_VM];
	size_t nhostdev;
	/* esfm's VF identity channels (<channel> aliases ua-esfmid-..., see hostdev.h) */
	char identity[ESFM_MAX_VFS_PER_VM][ESFM_ALIAS_MAX];
	size_t nidentity;
	bool vserial; /* has a virtio-serial controller (identity channels need one) */
	struct esfm_nova_meta nova; /* <nova:instance>, if any */
};

/*
 * Cheap pre-check for the hook's common case: false means the text cannot
 * hold an esfm annotation, so the domain is none of esfm's business.
 */
bool esfm_domxml_may_have_annotation(const char *xml, size_t len);

/*
 * Parse domain XML. Nova's metadata is read into dom->nova but does not make
 * the domain annotated: that needs the pools (esfm_nova_resolve in
 * vfpool.h). An absent annotation is not an error (annotated=false).
 * Text with a NUL byte is a CONFIG error (libxml2 would ignore what follows).
 * A present but invalid one (bad pool name, count, mode, duplicate pools,
 * both forms at once) is a CONFIG error naming the domain.
 */
int esfm_domxml_parse(const char *xml, size_t len, struct esfm_domain *dom, struct esfm_err *err);

/* Same, for a <metadata> child element alone (as virsh metadata sets it). */
int esfm_domxml_parse_annotation(xmlNodePtr elem, const char *domname, struct esfm_domain *dom,
				 struct esfm_err *err);

/* One VF the hook gave a domain, for the live metadata. */
struct esfm_allocation {
	char pool[ESFM_NAME_MAX];
	unsigned index;
	struct esfm_pci_addr addr;
	char alias[ESFM_ALIAS_MAX];
};

/*
 * The annotation element to store as live metadata: the domain's request
 * (as parsed) plus <allocation/> children and, if @error is not NULL, an
 * <error pool= message=/> child. The element carries no namespace:
 * virDomainSetMetadata puts it (and its children) into urn:esfm:vf:1 itself
 * and refuses an element that declares it already. *out is malloc'ed XML
 * (caller frees).
 */
int esfm_domxml_annotation_xml(const struct esfm_domain *dom, const struct esfm_allocation *alloc,
			       size_t nalloc, const char *error_pool, const char *error, char **out,
			       struct esfm_err *err);

#endif
