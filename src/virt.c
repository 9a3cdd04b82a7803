// SPDX-License-Identifier: MIT
#include "virt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "hostdev.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "xmlutil.h"

struct esfm_virt {
	virConnectPtr conn;
};

struct esfm_virt_dom {
	virDomainPtr ptr;
	char uuid[ESFM_UUID_STRLEN];
};

static void quiet_handler(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

/* Fill @err from libvirt's last error, with @fmt as what we were doing. */
static int virt_error(struct esfm_err *err, const char *what)
{
	virErrorPtr e = virGetLastError();
	enum esfm_err_class cls = ESFM_ERR_FAILED;

	if (e && (e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_NO_SUPPORT))
		cls = e->code == VIR_ERR_NO_DOMAIN ? ESFM_ERR_NOTFOUND : ESFM_ERR_FAILED;
	esfm_err_set(err, cls, 0, "%s: %s", what,
		     e && e->message ? e->message : "unknown libvirt error");
	if (e && e->code == VIR_ERR_CONFIG_UNSUPPORTED && e->message &&
	    strstr(e->message, "passthrough"))
		esfm_err_hint(err, "this host cannot pass PCI devices to guests: enable the IOMMU "
				   "(intel_iommu=on or amd_iommu=on) and load vfio-pci");
	else if (e && e->code == VIR_ERR_OPERATION_INVALID)
		esfm_err_hint(err, "check the VM's state with virsh domstate");
	return -1;
}

int esfm_virt_open(const char *uri, struct esfm_virt **v, struct esfm_err *err)
{
	struct esfm_virt *nv;

	virSetErrorFunc(NULL, quiet_handler);
	nv = calloc(1, sizeof(*nv));
	if (!nv)
		return esfm_err_sys(err, ENOMEM, "cannot allocate libvirt connection");
	nv->conn = virConnectOpen(uri);
	if (!nv->conn) {
		free(nv);
		virt_error(err, "cannot connect to libvirt");
		esfm_err_prefix(err, "%s", uri);
		return esfm_err_hint(err, "is libvirtd running? (set libvirt_uri in esfm.conf)");
	}
	*v = nv;
	return 0;
}

void esfm_virt_close(struct esfm_virt *v)
{
	if (!v)
		return;
	if (v->conn)
		virConnectClose(v->conn);
	free(v);
}

static bool no_such_domain(void)
{
	virErrorPtr e = virGetLastError();

	return !e || e->code == VIR_ERR_NO_DOMAIN;
}

/* Wrap @raw, which is ours from here on (freed on failure too). */
static int wrap_domain(virDomainPtr raw, struct esfm_virt_dom **dom, struct esfm_err *err)
{
	struct esfm_virt_dom *w = calloc(1, sizeof(*w));
	int r = 0;

	if (!w)
		r = esfm_err_sys(err, ENOMEM, "cannot allocate a domain");
	else if (virDomainGetUUIDString(raw, w->uuid) < 0)
		r = virt_error(err, "cannot read the VM's UUID");
	if (r < 0) {
		free(w);
		virDomainFree(raw);
		return r;
	}
	w->ptr = raw;
	*dom = w;
	return 0;
}

int esfm_virt_lookup(struct esfm_virt *v, const char *name_or_uuid, struct esfm_virt_dom **dom,
		     struct esfm_err *err)
{
	virDomainPtr raw = NULL;

	*dom = NULL;
	if (strlen(name_or_uuid) == 36) {
		raw = virDomainLookupByUUIDString(v->conn, name_or_uuid);
		/* Only "no such domain" lets the name be tried: any other error is not an answer. */
		if (!raw && !no_such_domain())
			return virt_error(err, "cannot look up the VM");
	}
	if (!raw)
		raw = virDomainLookupByName(v->conn, name_or_uuid);
	if (!raw && !no_such_domain())
		return virt_error(err, "cannot look up the VM");
	if (!raw) {
		esfm_err_set(err, ESFM_ERR_NOTFOUND, 0, "VM '%s' not found", name_or_uuid);
		return esfm_err_hint(err, "check the name with virsh list --all");
	}
	return wrap_domain(raw, dom, err);
}

void esfm_virt_release(struct esfm_virt_dom *dom)
{
	if (!dom)
		return;
	virDomainFree(dom->ptr);
	free(dom);
}

const char *esfm_virt_uuid(const struct esfm_virt_dom *dom)
{
	return dom->uuid;
}

int esfm_virt_active(struct esfm_virt_dom *dom, bool *active, struct esfm_err *err)
{
	int r = virDomainIsActive(dom->ptr);

	*active = r == 1;
	return r < 0 ? virt_error(err, "cannot tell whether the VM runs") : 0;
}

int esfm_virt_persistent(struct esfm_virt_dom *dom, bool *persistent, struct esfm_err *err)
{
	int r = virDomainIsPersistent(dom->ptr);

	*persistent = r == 1;
	return r < 0 ? virt_error(err, "cannot tell whether the VM is persistent") : 0;
}

const char *esfm_virt_name(const struct esfm_virt_dom *dom)
{
	const char *n = virDomainGetName(dom->ptr);

	return n ? n : "?";
}

int esfm_virt_domain_info(struct esfm_virt_dom *dom, bool inactive, struct esfm_domain *out,
			  struct esfm_err *err)
{
	_cleanup_free_ char *xml =
		virDomainGetXMLDesc(dom->ptr, inactive ? VIR_DOMAIN_XML_INACTIVE : 0);

	if (!xml)
		return virt_error(err, "cannot read the domain XML");
	return esfm_domxml_parse(xml, strlen(xml), out, err);
}

static unsigned to_virt_flags(unsigned flags)
{
	unsigned f = 0;

	if (flags & ESFM_VIRT_LIVE)
		f |= VIR_DOMAIN_AFFECT_LIVE;
	if (flags & ESFM_VIRT_CONFIG)
		f |= VIR_DOMAIN_AFFECT_CONFIG;
	return f;
}

int esfm_virt_attach(struct esfm_virt_dom *dom, const char *xml, unsigned flags,
		     struct esfm_err *err)
{
	if (virDomainAttachDeviceFlags(dom->ptr, xml, to_virt_flags(flags)) < 0)
		return virt_error(err, "cannot attach the device");
	return 0;
}

int esfm_virt_detach_xml(struct esfm_virt_dom *dom, const char *xml, unsigned flags,
			 struct esfm_err *err)
{
	if (virDomainDetachDeviceFlags(dom->ptr, xml, to_virt_flags(flags)) < 0)
		return virt_error(err, "cannot detach the device");
	return 0;
}

/*
 * The device with @alias in the live (or persistent) XML: *found, and the
 * name= of its <target> into @target ("" if none; may be NULL).
 */
static int find_device(struct esfm_virt_dom *dom, const char *alias, bool inactive, bool *found,
		       char *target, size_t target_len, struct esfm_err *err)
{
	_cleanup_free_ char *xml =
		virDomainGetXMLDesc(dom->ptr, inactive ? VIR_DOMAIN_XML_INACTIVE : 0);
	_cleanup_xmldoc_ xmlDocPtr doc = NULL;
	xmlNodePtr devices;
	char name[ESFM_ALIAS_MAX];

	*found = false;
	if (target && target_len)
		target[0] = '\0';
	if (!xml)
		return virt_error(err, "cannot read the domain XML");
	if (esfm_xml_read_memory(xml, strlen(xml), "domain XML", &doc, err) < 0)
		return -1;
	devices = esfm_xml_child(xmlDocGetRootElement(doc), "devices");
	for (xmlNodePtr d = devices ? devices->children : NULL; d; d = d->next) {
		xmlNodePtr al = d->type == XML_ELEMENT_NODE ? esfm_xml_child(d, "alias") : NULL;
		xmlNodePtr t;

		if (!al || esfm_xml_prop(al, "name", name, sizeof(name)) != 1 ||
		    strcmp(name, alias))
			continue;
		*found = true;
		t = esfm_xml_child(d, "target");
		if (t && target)
			esfm_xml_prop(t, "name", target, target_len);
		break;
	}
	return 0;
}

int esfm_virt_has_device(struct esfm_virt_dom *dom, const char *alias, bool inactive, bool *has,
			 struct esfm_err *err)
{
	return find_device(dom, alias, inactive, has, NULL, 0, err);
}

int esfm_virt_device_target(struct esfm_virt_dom *dom, const char *alias, bool inactive, bool *has,
			    char *name, size_t len, struct esfm_err *err)
{
	return find_device(dom, alias, inactive, has, name, len, err);
}

int esfm_virt_detach_alias(struct esfm_virt_dom *dom, const char *alias, unsigned flags,
			   long timeout_ms, struct esfm_err *err)
{
	long long deadline = esfm_now_ms() + timeout_ms;
	bool has = true;

	if (virDomainDetachDeviceAlias(dom->ptr, alias, to_virt_flags(flags)) < 0)
		return virt_error(err, "cannot detach the device");
	if (!(flags & ESFM_VIRT_LIVE))
		return 0;
	/* libvirt returns success after 5 s even if the guest never let go. */
	for (;;) {
		if (esfm_virt_has_device(dom, alias, false, &has, err) < 0)
			return -1;
		if (!has)
			return 0;
		if (esfm_now_ms() >= deadline)
			break;
		esfm_sleep_ms(100);
	}
	esfm_err_set(err, ESFM_ERR_BUSY, 0, "the guest did not release device %s within %ld ms",
		     alias, timeout_ms);
	return esfm_err_hint(err, "the guest OS must acknowledge the hot-unplug; check it is "
				  "running and supports PCIe hotplug");
}

int esfm_virt_set_metadata(struct esfm_virt_dom *dom, const char *xml, unsigned flags,
			   struct esfm_err *err)
{
	if (virDomainSetMetadata(dom->ptr, VIR_DOMAIN_METADATA_ELEMENT, xml, ESFM_ANNOT_PREFIX,
				 ESFM_ANNOT_NS, to_virt_flags(flags)) < 0)
		return virt_error(err, "cannot set the esfm metadata");
	return 0;
}

int esfm_virt_qmp(struct esfm_virt_dom *dom, const char *cmd, char **reply, struct esfm_err *err)
{
	char desc[512];

	*reply = NULL;
	if (virDomainQemuMonitorCommand(dom->ptr, cmd, reply, 0) < 0)
		return virt_error(err, "QEMU monitor command failed");
	/* libvirt returns 0 even when QEMU answers with an error object. */
	if (esfm_json_qmp_error(*reply, desc, sizeof(desc))) {
		esfm_err_set(err, ESFM_ERR_FAILED, 0, "QEMU refused the command: %s", desc);
		free(*reply);
		*reply = NULL;
		return -1;
	}
	return 0;
}

int esfm_virt_qmp_has_command(struct esfm_virt_dom *dom, const char *command, bool *has,
			      struct esfm_err *err)
{
	_cleanup_free_ char *reply = NULL;
	char desc[512];

	if (virDomainQemuMonitorCommand(dom->ptr, "{\"execute\":\"query-commands\"}", &reply, 0) <
	    0)
		return virt_error(err, "cannot ask QEMU for its commands (query-commands)");
	/* A QEMU that answers query-commands with an error lists nothing. */
	*has = !esfm_json_qmp_error(reply, desc, sizeof(desc)) &&
	       esfm_json_has_name(reply, command);
	return 0;
}

int esfm_virt_device_pause(struct esfm_virt_dom *dom, const char *alias, bool pause,
			   struct esfm_err *err)
{
	_cleanup_free_ char *cmd = NULL;
	_cleanup_free_ char *reply = NULL;

	if (esfm_json_device_pause_cmd(alias, pause, &cmd, err) < 0)
		return -1;
	if (esfm_virt_qmp(dom, cmd, &reply, err) < 0)
		return esfm_err_prefix(err, "device_pause %s %s", alias, pause ? "on" : "off");
	return 0;
}

static void free_raw_domains(virDomainPtr *doms, size_t from, size_t count)
{
	for (size_t i = from; i < count; i++)
		virDomainFree(doms[i]);
	free(doms);
}

int esfm_virt_list_domains(struct esfm_virt *v, struct esfm_virt_dom ***vms, size_t *n,
			   struct esfm_err *err)
{
	virDomainPtr *doms = NULL;
	struct esfm_virt_dom **out = NULL;
	int r = virConnectListAllDomains(v->conn, &doms, 0);
	size_t count;

	*vms = NULL;
	*n = 0;
	if (r < 0)
		return virt_error(err, "cannot list domains");
	count = (size_t)r;
	if (count && !(out = calloc(count, sizeof(*out)))) {
		free_raw_domains(doms, 0, count);
		return esfm_err_sys(err, ENOMEM, "cannot list domains");
	}
	for (size_t k = 0; k < count; k++) {
		if (wrap_domain(doms[k], &out[k], err) < 0) {
			/* wrap_domain freed doms[k]; the ones before it are in out */
			free_raw_domains(doms, k + 1, count);
			esfm_virt_free_domains(out, k);
			return -1;
		}
	}
	free(doms);
	*vms = out;
	*n = count;
	return 0;
}

void esfm_virt_free_domains(struct esfm_virt_dom **vms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		esfm_virt_release(vms[i]);
	free(vms);
}
