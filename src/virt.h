/* SPDX-License-Identifier: MIT */
/*
 * The libvirt adapter: the only module that talks to libvirt (and, through
 * libvirt-qemu's monitor passthrough, to QEMU). Errors carry libvirt's own
 * message; libvirt's default handler (which prints) is silenced.
 *
 * Never call this from inside a hook about the hook's own domain: libvirt
 * holds the domain job and the call deadlocks. The hook uses it only from a
 * fully detached worker after the hook has returned.
 */
#ifndef ESFM_VIRT_H
#define ESFM_VIRT_H

#include <stdbool.h>
#include <stddef.h>

#include <libvirt/libvirt.h>

#include "domxml.h"
#include "err.h"

struct esfm_virt;

enum {
	ESFM_VIRT_LIVE = 1 << 0,
	ESFM_VIRT_CONFIG = 1 << 1,
};

int esfm_virt_open(const char *uri, struct esfm_virt **v, struct esfm_err *err);
void esfm_virt_close(struct esfm_virt *v); /* NULL-safe */

/*
 * Look a domain up by UUID string or by name. NOTFOUND (naming the VM) only
 * when libvirt says there is no such domain; any other libvirt error is
 * FAILED: the VM may well exist. Free with virDomainFree.
 */
int esfm_virt_lookup(struct esfm_virt *v, const char *name_or_uuid, virDomainPtr *dom,
		     struct esfm_err *err);

/* True if running; false also when libvirt cannot tell (use esfm_virt_active to know). */
bool esfm_virt_is_active(virDomainPtr dom);

/* Whether the domain is active (running, paused or starting); error if libvirt cannot tell. */
int esfm_virt_active(virDomainPtr dom, bool *active, struct esfm_err *err);

/* Whether the domain has a persistent configuration; error if libvirt cannot tell. */
int esfm_virt_persistent(virDomainPtr dom, bool *persistent, struct esfm_err *err);

/* Parse the domain's live (or, with inactive, persistent) XML into @out. */
int esfm_virt_domain_info(virDomainPtr dom, bool inactive, struct esfm_domain *out,
			  struct esfm_err *err);

/* Attach a device; @flags of ESFM_VIRT_LIVE / ESFM_VIRT_CONFIG. */
int esfm_virt_attach(virDomainPtr dom, const char *xml, unsigned flags, struct esfm_err *err);

/*
 * Detach the device with @alias. For LIVE, waits (at most @timeout_ms) until
 * the alias is gone from the live XML, because libvirt reports success even
 * when the guest never released the device; BUSY if it is still there.
 */
int esfm_virt_detach_alias(virDomainPtr dom, const char *alias, unsigned flags, long timeout_ms,
			   struct esfm_err *err);

/* Detach the device described by @xml (matched by libvirt on its source address). */
int esfm_virt_detach_xml(virDomainPtr dom, const char *xml, unsigned flags, struct esfm_err *err);

/* True if any device (hostdev, channel...) with @alias is in the live (or persistent) XML. */
int esfm_virt_has_device(virDomainPtr dom, const char *alias, bool inactive, bool *has,
			 struct esfm_err *err);

/* esfm_virt_has_device, and the name= of that device's <target> ("" if none) into @name. */
int esfm_virt_device_target(virDomainPtr dom, const char *alias, bool inactive, bool *has,
			    char *name, size_t len, struct esfm_err *err);

/* Store the esfm annotation element @xml as metadata (key "esfm", urn:esfm:vf:1). */
int esfm_virt_set_metadata(virDomainPtr dom, const char *xml, unsigned flags, struct esfm_err *err);

/* Send QMP @cmd; *reply is malloc'ed JSON. An {"error":...} reply is an error. */
int esfm_virt_qmp(virDomainPtr dom, const char *cmd, char **reply, struct esfm_err *err);

/*
 * Whether QEMU lists @command in query-commands (false if QEMU answers it with
 * an error). -1 only when libvirt cannot pass the question on.
 */
int esfm_virt_qmp_has_command(virDomainPtr dom, const char *command, bool *has,
			      struct esfm_err *err);

/* QMP device_pause on the device with id @alias. */
int esfm_virt_device_pause(virDomainPtr dom, const char *alias, bool pause, struct esfm_err *err);

/* Every domain (active and inactive); *doms from virConnectListAllDomains (free each + array). */
int esfm_virt_list_domains(struct esfm_virt *v, virDomainPtr **doms, size_t *n,
			   struct esfm_err *err);

void esfm_virt_free_domains(virDomainPtr *doms, size_t n);

const char *esfm_virt_name(virDomainPtr dom);

#endif
