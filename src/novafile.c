// SPDX-License-Identifier: MIT
/*
 * The provider file of nova.h, apart from the rest of it: it needs json-c,
 * which the hook handler (that resolves Nova domains) does not link.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "nova.h"

static json_object *inventory_json(const struct esfm_nova_inventory *v)
{
	json_object *o = json_object_new_object(), *c = json_object_new_object();

	json_object_object_add(c, "total", json_object_new_int((int)v->total));
	json_object_object_add(c, "reserved", json_object_new_int((int)v->reserved));
	json_object_object_add(c, "min_unit", json_object_new_int(1));
	json_object_object_add(c, "max_unit", json_object_new_int((int)v->max_unit));
	json_object_object_add(c, "step_size", json_object_new_int(1));
	json_object_object_add(c, "allocation_ratio", json_object_new_double(1.0));
	json_object_object_add(o, v->cls, c);
	return o;
}

static void add_trait(json_object *traits, const char *t)
{
	for (size_t i = 0; i < json_object_array_length(traits); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(traits, i)), t))
			return;
	json_object_array_add(traits, json_object_new_string(t));
}

int esfm_nova_provider_file(const struct esfm_nova_inventory *inv, size_t n, char **out,
			    struct esfm_err *err)
{
	json_object *root = json_object_new_object(), *meta = json_object_new_object();
	json_object *providers = json_object_new_array();
	const char *text;
	int r = 0;

	json_object_object_add(meta, "schema_version", json_object_new_string("1.0"));
	json_object_object_add(root, "meta", meta);
	if (n) {
		json_object *p = json_object_new_object(), *id = json_object_new_object();
		json_object *invs = json_object_new_object(), *add = json_object_new_array();
		json_object *traits = json_object_new_object(), *tl = json_object_new_array();

		json_object_object_add(id, "uuid", json_object_new_string("$COMPUTE_NODE"));
		json_object_object_add(p, "identification", id);
		for (size_t i = 0; i < n; i++) {
			char t[ESFM_NOVA_CLASS_MAX];

			json_object_array_add(add, inventory_json(&inv[i]));
			esfm_nova_pool_trait(inv[i].pool, t);
			add_trait(tl, t);
			snprintf(t, sizeof(t), ESFM_NOVA_CLASS_PREFIX "PCI_%04X_%04X",
				 inv[i].vendor & 0xffff, inv[i].device & 0xffff);
			add_trait(tl, t);
		}
		json_object_object_add(invs, "additional", add);
		json_object_object_add(traits, "additional", tl);
		json_object_object_add(p, "inventories", invs);
		json_object_object_add(p, "traits", traits);
		json_object_array_add(providers, p);
	}
	json_object_object_add(root, "providers", providers);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_SPACED |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text || asprintf(out,
			      "# Written by esfm nova-export: the SR-IOV pools of this host "
			      "for Placement (YAML, in its JSON form).\n"
			      "# nova-compute reads it at start only: restart it after a "
			      "change.\n%s\n",
			      text) < 0) {
		*out = NULL;
		r = esfm_err_sys(err, ENOMEM, "cannot build the provider file");
	}
	json_object_put(root);
	return r;
}
