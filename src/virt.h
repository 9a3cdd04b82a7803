/* SPDX-License-Identifier: MIT */
/*
 * The libvirt adapter: the only module that talks to libvirt (and, through
 * libvirt-qemu's monitor passthrough, to QEMU). Errors carry libvirt's own
 * message; libvirt's default handler (which prints) is silenced.
 *
 * The rest of esfm sees a domain as an opaque struct esfm_virt_dom: it asks this
 * module for facts (name, UUID, running or not, persistent or not, the
 * parsed live or persistent XML: its esfm hostdevs, identity channels and
 * annotation) and hands it plain requests (attach this XML, detach that
 * alias, set this metadata, send this QMP command). No libvirt type or call
 * appears outside virt.c, so this is the one place to read for what esfm
 * asks of libvirt, and the one place the tests' link-time wrappers meet.
 *
 * Never call this from inside a hook about the hook's own domain: libvirt
 * holds the domain job and the call deadlocks. The hook uses it only from a
 * fully detached worker after the hook has returned.
 */
#ifndef ESFM_VIRT_H
#define ESFM_VIRT_H

#include <stdbool.h>
#include <stddef.h>

#include "domxml.h"
#include "err.h"

struct esfm_virt;     /* a connection */
struct esfm_virt_dom; /* a domain looked up through it */

enum {
	ESFM_VIRT_LIVE = 1 << 0,
	ESFM_VIRT_CONFIG = 1 << 1,
};

int esfm_virt_open(const char *uri, struct esfm_virt **v, struct esfm_err *err);
void esfm_virt_close(struct esfm_virt *v); /* NULL-safe */

/*
 * Look a domain up by UUID string or by name. NOTFOUND (naming the VM) only
 * when libvirt says there is no such domain; any other libvirt error is
 * FAILED: the VM may well exist. Release with esfm_virt_release.
 */
int esfm_virt_lookup(struct esfm_virt *v, const char *name_or_uuid, struct esfm_virt_dom **dom,
		     struct esfm_err *err);

void esfm_virt_release(struct esfm_virt_dom *dom); /* NULL-safe */

/* The domain's name and UUID (36 characters), as libvirt gave them at lookup. */
const char *esfm_virt_name(const struct esfm_virt_dom *dom);
const char *esfm_virt_uuid(const struct esfm_virt_dom *dom);

/* Whether the domain is active (running, paused or starting); error if libvirt cannot tell. */
int esfm_virt_active(struct esfm_virt_dom *dom, bool *active, struct esfm_err *err);

/* Whether the domain has a persistent configuration; error if libvirt cannot tell. */
int esfm_virt_persistent(struct esfm_virt_dom *dom, bool *persistent, struct esfm_err *err);

/* Parse the domain's live (or, with inactive, persistent) XML into @out. */
int esfm_virt_domain_info(struct esfm_virt_dom *dom, bool inactive, struct esfm_domain *out,
			  struct esfm_err *err);

/* Attach a device; @flags of ESFM_VIRT_LIVE / ESFM_VIRT_CONFIG. */
int esfm_virt_attach(struct esfm_virt_dom *dom, const char *xml, unsigned flags,
		     struct esfm_err *err);

/*
 * Detach the device with @alias. For LIVE, waits (at most @timeout_ms) until
 * the alias is gone from the live XML, because libvirt reports success even
 * when the guest never released the device; BUSY if it is still there.
 */
int esfm_virt_detach_alias(struct esfm_virt_dom *dom, const char *alias, unsigned flags,
			   long timeout_ms, struct esfm_err *err);

/* Detach the device described by @xml (matched by libvirt on its source address). */
int esfm_virt_detach_xml(struct esfm_virt_dom *dom, const char *xml, unsigned flags,
			 struct esfm_err *err);

/* True if any device (hostdev, channel...) with @alias is in the live (or persistent) XML. */
int esfm_virt_has_device(struct esfm_virt_dom *dom, const char *alias, bool inactive, bool *has,
			 struct esfm_err *err);

/* esfm_virt_has_device, and the name= of that device's <target> ("" if none) into @name. */
int esfm_virt_device_target(struct esfm_virt_dom *dom, const char *alias, bool inactive, bool *has,
			    char *name, size_t len, struct esfm_err *err);

/* Store the esfm annotation element @xml as metadata (key "esfm", urn:esfm:vf:1). */
int esfm_virt_set_metadata(struct esfm_virt_dom *dom, const char *xml, unsigned flags,
			   struct esfm_err *err);

/* Send QMP @cmd; *reply is malloc'ed JSON. An {"error":...} reply is an error. */
int esfm_virt_qmp(struct esfm_virt_dom *dom, const char *cmd, char **reply, struct esfm_err *err);

/*
 * Whether QEMU lists @command in query-commands (false if QEMU answers it with
 * an error). -1 only when libvirt cannot pass the question on.
 */
int esfm_virt_qmp_has_command(struct esfm_virt_dom *dom, const char *command, bool *has,
			      struct esfm_err *err);

/* QMP device_pause on the device with id @alias. */
int esfm_virt_device_pause(struct esfm_virt_dom *dom, const char *alias, bool pause,
			   struct esfm_err *err);

/* Every domain (active and inactive); free with esfm_virt_free_domains. */
int esfm_virt_list_domains(struct esfm_virt *v, struct esfm_virt_dom ***vms, size_t *n,
			   struct esfm_err *err);

void esfm_virt_free_domains(struct esfm_virt_dom **vms, size_t n);

#endif
