/* SPDX-License-Identifier: MIT */
/*
 * Giving a VF to a guest and taking it back, through libvirt: the hostdev
 * and, beside it, the VF's identity channel (hostdev.h says what the guest
 * reads there).
 *
 * The identity only ever names a VF the guest holds: it is added after the
 * hostdev and removed before it. A crash in between leaves a VF without its
 * identity, never an identity without its VF. The hostdev is what counts: an
 * identity that cannot be added or removed is reported as a warning (for
 * example a running VM without a virtio-serial controller, which libvirt
 * cannot hot-plug) and never fails the operation.
 */
#ifndef ESFM_GUESTDEV_H
#define ESFM_GUESTDEV_H

#include "err.h"
#include "hostdev.h"
#include "virt.h"

/*
 * Attach @hostdev_xml to @dom (@flags: ESFM_VIRT_LIVE and/or
 * ESFM_VIRT_CONFIG), then @id's identity channel with the same flags. 0 once
 * the hostdev is attached; *warned is set (and @warn filled, naming the VM
 * and what to do) when the identity is not.
 */
int esfm_guestdev_attach(struct esfm_virt_dom *dom, const char *template_dir,
			 const char *hostdev_xml, const struct esfm_vf_identity *id, unsigned flags,
			 bool *warned, struct esfm_err *warn, struct esfm_err *err);

/*
 * Add @id's identity channel to a VF @dom already holds (@flags as above);
 * a channel already there under its alias is left as it is (0).
 */
int esfm_guestdev_add_identity(struct esfm_virt_dom *dom, const char *template_dir,
			       const struct esfm_vf_identity *id, unsigned flags,
			       struct esfm_err *err);

/*
 * Remove @id's identity channel from @dom where it is (@flags: live XML,
 * persistent XML or both); 0 also when there is none. Call it before the
 * hostdev goes.
 */
int esfm_guestdev_drop_identity(struct esfm_virt_dom *dom, const struct esfm_vf_identity *id,
				unsigned flags, struct esfm_err *err);

/*
 * Where @dom has @id's identity channel (@flags) under another name (the FPGA
 * was loaded with another kind of bitstream), replace it so that it tells the
 * current one. Where it has none, none is added.
 */
int esfm_guestdev_renew_identity(struct esfm_virt_dom *dom, const char *template_dir,
				 const struct esfm_vf_identity *id, unsigned flags,
				 struct esfm_err *err);

#endif
