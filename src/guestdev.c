// SPDX-License-Identifier: MIT
#include "guestdev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* How long a removed port may stay in the live XML (QEMU unplugs it without the guest). */
#define IDENTITY_GONE_MS 5000

int esfm_guestdev_add_identity(struct esfm_virt_dom *dom, const char *template_dir,
			       const struct esfm_vf_identity *id, unsigned flags,
			       struct esfm_err *err)
{
	_cleanup_free_ char *xml = NULL;
	char alias[ESFM_ALIAS_MAX];
	unsigned todo = 0;
	bool has;

	if (esfm_identity_alias(id->pool, id->index, alias, sizeof(alias), err) < 0)
		return -1;
	/* Only where it is missing: attaching it twice is an error in libvirt. */
	if (flags & ESFM_VIRT_LIVE) {
		if (esfm_virt_has_device(dom, alias, false, &has, err) < 0)
			return -1;
		todo |= has ? 0 : ESFM_VIRT_LIVE;
	}
	if (flags & ESFM_VIRT_CONFIG) {
		if (esfm_virt_has_device(dom, alias, true, &has, err) < 0)
			return -1;
		todo |= has ? 0 : ESFM_VIRT_CONFIG;
	}
	if (!todo)
		return 0;
	if (esfm_identity_xml(template_dir, id, &xml, err) < 0 ||
	    esfm_virt_attach(dom, xml, todo, err) < 0)
		return -1;
	return 0;
}

int esfm_guestdev_attach(struct esfm_virt_dom *dom, const char *template_dir,
			 const char *hostdev_xml, const struct esfm_vf_identity *id, unsigned flags,
			 bool *warned, struct esfm_err *warn, struct esfm_err *err)
{
	*warned = false;
	if (esfm_virt_attach(dom, hostdev_xml, flags, err) < 0)
		return -1;
	if (esfm_guestdev_add_identity(dom, template_dir, id, flags, warn) < 0) {
		*warned = true;
		esfm_err_prefix(warn,
				"VM '%s': VF %u of pool '%s' is attached without its identity "
				"channel",
				esfm_virt_name(dom), id->index, id->pool);
		if (!warn->hint[0])
			esfm_err_hint(warn, "the guest needs a virtio-serial controller: add "
					    "<controller type='virtio-serial'/> to its definition");
	}
	return 0;
}

int esfm_guestdev_drop_identity(struct esfm_virt_dom *dom, const struct esfm_vf_identity *id,
				unsigned flags, struct esfm_err *err)
{
	char alias[ESFM_ALIAS_MAX];
	bool has;

	if (esfm_identity_alias(id->pool, id->index, alias, sizeof(alias), err) < 0)
		return -1;
	if (flags & ESFM_VIRT_LIVE) {
		/* A virtio-serial port goes at once: no guest handshake to wait for. */
		if (esfm_virt_has_device(dom, alias, false, &has, err) < 0 ||
		    (has &&
		     esfm_virt_detach_alias(dom, alias, ESFM_VIRT_LIVE, IDENTITY_GONE_MS, err) < 0))
			goto fail;
	}
	if (flags & ESFM_VIRT_CONFIG) {
		if (esfm_virt_has_device(dom, alias, true, &has, err) < 0 ||
		    (has && esfm_virt_detach_alias(dom, alias, ESFM_VIRT_CONFIG, 0, err) < 0))
			goto fail;
	}
	return 0;
fail:
	return esfm_err_prefix(err, "VM '%s': cannot remove the identity channel %s of VF %u",
			       esfm_virt_name(dom), alias, id->index);
}

int esfm_guestdev_renew_identity(struct esfm_virt_dom *dom, const char *template_dir,
				 const struct esfm_vf_identity *id, unsigned flags,
				 struct esfm_err *err)
{
	static const unsigned where[] = {ESFM_VIRT_LIVE, ESFM_VIRT_CONFIG};
	char alias[ESFM_ALIAS_MAX], want[ESFM_IDENTITY_NAME_MAX], have[ESFM_IDENTITY_NAME_MAX];
	_cleanup_free_ char *xml = NULL;
	bool has;

	if (esfm_identity_alias(id->pool, id->index, alias, sizeof(alias), err) < 0 ||
	    esfm_identity_name(id, want, sizeof(want), err) < 0)
		return -1;
	for (size_t i = 0; i < ESFM_ARRAY_SIZE(where); i++) {
		unsigned f = where[i];

		if (!(flags & f))
			continue;
		if (esfm_virt_device_target(dom, alias, f == ESFM_VIRT_CONFIG, &has, have,
					    sizeof(have), err) < 0)
			goto fail;
		if (!has || !strcmp(have, want))
			continue;
		if (!xml && esfm_identity_xml(template_dir, id, &xml, err) < 0)
			goto fail;
		if (esfm_virt_detach_alias(dom, alias, f,
					   f == ESFM_VIRT_LIVE ? IDENTITY_GONE_MS : 0, err) < 0 ||
		    esfm_virt_attach(dom, xml, f, err) < 0)
			goto fail;
	}
	return 0;
fail:
	return esfm_err_prefix(err, "VM '%s': cannot renew the identity channel %s of VF %u",
			       esfm_virt_name(dom), alias, id->index);
}
