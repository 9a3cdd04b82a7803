/* SPDX-License-Identifier: MIT */
/*
 * The devices esfm puts in a guest for one VF: the hostdev (XML generated
 * with libxml2 from the hostdev.xml template) and the VF's identity channel
 * (identity.xml), with the user aliases that let the CLI and QMP find them
 * again.
 *
 * The identity channel is a virtio-serial port whose name says which VF the
 * guest holds. An unmodified Linux guest reads it from
 * /sys/class/virtio-ports/<port>/name (udev also links
 * /dev/virtio-ports/<name>), with no agent and no extra software:
 *   esfm-vf,pool=fpga0,index=3,pf=0000:83:00.0,kind=qdma_demo
 * Fields are comma-separated key=value pairs in this order; none of their
 * values can contain ',' or '=' (pool names and kinds are [A-Za-z0-9_.-]);
 * kind= is left out when esfm does not know what the FPGA was loaded with.
 */
#ifndef ESFM_HOSTDEV_H
#define ESFM_HOSTDEV_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "pci.h"
#include "pool.h"
#include "sizes.h"

#define ESFM_ALIAS_PREFIX "ua-esfm-"

/*
 * "ua-esfm-<pool>-<index>" into @buf. libvirt allows only [A-Za-z0-9_-] in
 * user aliases, so a '.' in the pool name is written as '_'. Returns 0, or
 * -1 if it does not fit.
 */
int esfm_hostdev_alias(const char *pool, unsigned index, char *buf, size_t len,
		       struct esfm_err *err);

/*
 * Split an esfm alias into the pool part (in its alias spelling, '.' as '_')
 * and the VF index. Returns false for any other alias. The pool part may
 * itself contain '-': the index is the part after the last '-'.
 */
bool esfm_hostdev_alias_parse(const char *alias, char *pool, size_t pool_len, unsigned *index);

/* True if @alias is an esfm alias of @pool; its VF index goes to *index. */
bool esfm_hostdev_alias_match(const char *alias, const char *pool, unsigned *index);

/*
 * Render the hostdev for @vf with @alias from <template_dir>/hostdev.xml.
 * *out is malloc'ed XML text (caller frees). CONFIG error if the template is
 * missing or not a <hostdev> with a <source><address/>.
 */
int esfm_hostdev_xml(const char *template_dir, const struct esfm_pci_addr *vf, const char *alias,
		     char **out, struct esfm_err *err);

#define ESFM_IDENTITY_ALIAS_PREFIX "ua-esfmid-"
#define ESFM_IDENTITY_NAME_PREFIX  "esfm-vf,"
#define ESFM_IDENTITY_NAME_MAX	   192

struct esfm_vf_identity {
	const char *pool;
	unsigned index;
	struct esfm_pci_addr pf;
	const char *kind; /* "" or NULL: unknown */
};

/*
 * The bitstream kind a guest is told: what esfm last flashed on the PF (its
 * kind, even "", once anything was flashed), else the pool's <bitstream kind>.
 */
const char *esfm_identity_kind(const char *flashed, const char *flashed_kind,
			       const char *pool_kind);

/* What the guest holding VF @index of @pool is told (kind by esfm_identity_kind). */
struct esfm_vf_identity esfm_identity_of(const struct esfm_pool *pool, unsigned index,
					 const char *flashed, const char *flashed_kind);

/* "ua-esfmid-<pool>-<index>" ('.' in the pool name as '_', like the hostdev alias). */
int esfm_identity_alias(const char *pool, unsigned index, char *buf, size_t len,
			struct esfm_err *err);

/* True if @alias is an identity channel alias of @pool; its VF index goes to *index. */
bool esfm_identity_alias_match(const char *alias, const char *pool, unsigned *index);

/* The port name (see above) into @buf. */
int esfm_identity_name(const struct esfm_vf_identity *id, char *buf, size_t len,
		       struct esfm_err *err);

/*
 * Render the identity channel for @id from <template_dir>/identity.xml: the
 * target name and the alias are filled in. CONFIG error if the template is
 * missing or not a <channel> with a <target type='virtio'/>.
 */
int esfm_identity_xml(const char *template_dir, const struct esfm_vf_identity *id, char **out,
		      struct esfm_err *err);

#endif
