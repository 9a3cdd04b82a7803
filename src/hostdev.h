/* SPDX-License-Identifier: MIT */
/*
 * Hostdev XML for a VF, generated with libxml2 from the hostdev.xml template,
 * and the user aliases that let the CLI and QMP find the device again.
 */
#ifndef ESFM_HOSTDEV_H
#define ESFM_HOSTDEV_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "pci.h"

#define ESFM_ALIAS_PREFIX "ua-esfm-"
#define ESFM_ALIAS_MAX	  96

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

#endif
