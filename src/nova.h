/* SPDX-License-Identifier: MIT */
/*
 * OpenStack Nova and Placement: the names esfm gives its pools there, what a
 * Nova domain asks for, and the provider file nova-compute reads. Pure
 * functions, except esfm_nova_resolve which reads the pool files; nothing here
 * touches sysfs or libvirt.
 *
 * A pool is the Placement resource class CUSTOM_ESFM_<POOL> (the pool name in
 * upper case, '.' and '-' as '_') with the traits CUSTOM_ESFM_POOL_<POOL> and
 * CUSTOM_ESFM_PCI_<VVVV>_<DDDD> (its PF's vendor and device). Two pools whose
 * names map to one class are refused.
 *
 * Nova writes <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
 * into every domain's <metadata>. A domain asks for esfm VFs when
 *   - its extra specs (Nova 32, 2025.2 and later) hold
 *     <nova:extraSpec name="resources:CUSTOM_ESFM_<POOL>">N</nova:extraSpec>; once a
 *     domain carries extra specs, they alone count;
 *   - else (Nova 26 Zed to 31) its <nova:flavor name='F'> is mapped to a pool with
 *     <nova flavor='F' count='N'/> in the pool file (several pools may map one flavor).
 */
#ifndef ESFM_NOVA_H
#define ESFM_NOVA_H

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "err.h"
#include "pool.h"

#define ESFM_NOVA_NS_PREFIX	"http://openstack.org/xmlns/libvirt/nova/"
#define ESFM_NOVA_CLASS_PREFIX	"CUSTOM_ESFM_"
#define ESFM_NOVA_RESOURCES_KEY "resources:"
#define ESFM_NOVA_CLASS_MAX	96 /* CUSTOM_ESFM_POOL_ and 64 characters, and the NUL */
#define ESFM_NOVA_SPECS_MAX	8

struct esfm_domain;
struct esfm_pool_request;

/* One resources:CUSTOM_ESFM_* extra spec of a Nova flavor. */
struct esfm_nova_spec {
	char cls[ESFM_NOVA_CLASS_MAX];
	unsigned count;
};

/* What esfm reads from a domain's <nova:instance>. */
struct esfm_nova_meta {
	bool present;			   /* the domain carries <nova:instance> */
	char flavor[ESFM_NOVA_FLAVOR_MAX]; /* <nova:flavor name>, "" if none */
	bool has_extra_specs;		   /* <nova:extraSpecs> present (2025.2 shape) */
	size_t nspec;			   /* its resources:CUSTOM_ESFM_* entries */
	struct esfm_nova_spec spec[ESFM_NOVA_SPECS_MAX];
};

/* True for an element in a Nova metadata namespace named "instance". */
bool esfm_nova_is_instance(xmlNodePtr node);

/*
 * Read <nova:instance> @node into @m (present = true). CONFIG error naming
 * @domname for an esfm extra spec whose value is not a count (0 to 64) or
 * whose class is malformed; other extra specs are not esfm's and are skipped.
 */
int esfm_nova_meta_parse(xmlNodePtr node, const char *domname, struct esfm_nova_meta *m,
			 struct esfm_err *err);

/* The resource class of pool @pool, e.g. fpga.0 -> CUSTOM_ESFM_FPGA_0. */
void esfm_nova_class(const char *pool, char out[ESFM_NOVA_CLASS_MAX]);

/* The pool trait, e.g. CUSTOM_ESFM_POOL_FPGA_0. */
void esfm_nova_pool_trait(const char *pool, char out[ESFM_NOVA_CLASS_MAX]);

/*
 * CONFIG error naming both pools when two of @pools map to one resource
 * class ("pools 'fpga.0' and 'fpga-0' both map to CUSTOM_ESFM_FPGA_0").
 */
int esfm_nova_check_classes(const struct esfm_pool *pools, size_t n, struct esfm_err *err);

/*
 * The requests of a Nova domain with metadata @m against @pools: from its
 * esfm extra specs, else from its flavor's mappings. *nreq = 0 when it asks
 * for nothing of esfm's. CONFIG error (naming @domname) for an extra spec
 * naming a class no pool has, a class two pools map to, or more than
 * @max requests.
 */
int esfm_nova_requests(const struct esfm_nova_meta *m, const char *domname,
		       const struct esfm_pool *pools, size_t npools, struct esfm_pool_request *req,
		       size_t max, size_t *nreq, struct esfm_err *err);

/*
 * Make a Nova domain esfm's business: when @dom carries no esfm annotation
 * (an annotation wins) but Nova metadata asking for esfm VFs (against the
 * pools of @conf), fill its requests (hotplug mode) and set annotated and
 * from_nova. Nothing changes for any other domain. Errors: the pool files',
 * esfm_nova_requests'.
 */
int esfm_nova_resolve(const struct esfm_conf *conf, struct esfm_domain *dom, struct esfm_err *err);

/* One class of the provider file. */
struct esfm_nova_inventory {
	char pool[ESFM_NAME_MAX];
	char cls[ESFM_NOVA_CLASS_MAX];
	unsigned total;	   /* never 0: Placement refuses it */
	unsigned reserved; /* <= total */
	unsigned max_unit; /* 1..total */
	unsigned vendor, device;
};

/*
 * The provider file for the compute node ($COMPUTE_NODE) with @inv: a YAML
 * document written as JSON (YAML 1.2 is a superset), after one YAML comment
 * line saying who wrote it. *out malloc'ed (caller frees). In novafile.c,
 * so that what links only the rest (the hook handler) needs no json-c.
 */
int esfm_nova_provider_file(const struct esfm_nova_inventory *inv, size_t n, char **out,
			    struct esfm_err *err);

#endif
