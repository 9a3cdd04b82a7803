// SPDX-License-Identifier: MIT
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

bool esfm_json_qmp_error(const char *reply, char *desc, size_t len)
{
	json_object *root = json_tokener_parse(reply), *e, *cls, *d;
	bool is_error = false;

	desc[0] = '\0';
	if (!root) {
		snprintf(desc, len, "unparsable reply");
		return true;
	}
	if (json_object_object_get_ex(root, "error", &e)) {
		is_error = true;
		json_object_object_get_ex(e, "class", &cls);
		json_object_object_get_ex(e, "desc", &d);
		snprintf(desc, len, "%s%s%s", cls ? json_object_get_string(cls) : "error",
			 d ? ": " : "", d ? json_object_get_string(d) : "");
	}
	json_object_put(root);
	return is_error;
}

bool esfm_json_has_name(const char *reply, const char *name)
{
	json_object *root = json_tokener_parse(reply), *ret, *n;
	bool found = false;

	if (!root)
		return false;
	if (json_object_object_get_ex(root, "return", &ret) &&
	    json_object_is_type(ret, json_type_array)) {
		size_t count = json_object_array_length(ret);

		for (size_t i = 0; i < count && !found; i++) {
			json_object *item = json_object_array_get_idx(ret, i);

			const char *v;

			if (json_object_object_get_ex(item, "name", &n) &&
			    json_object_is_type(n, json_type_string) &&
			    (v = json_object_get_string(n)) && !strcmp(v, name))
				found = true;
		}
	}
	json_object_put(root);
	return found;
}

int esfm_json_device_pause_cmd(const char *alias, bool pause, char **out, struct esfm_err *err)
{
	json_object *root = json_object_new_object(), *args = json_object_new_object();
	const char *s;

	if (!root || !args)
		goto nomem;
	json_object_object_add(root, "execute", json_object_new_string("device_pause"));
	json_object_object_add(args, "id", json_object_new_string(alias));
	json_object_object_add(args, "pause", json_object_new_boolean(pause));
	json_object_object_add(root, "arguments", args);
	args = NULL;
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	if (!s || !(*out = strdup(s)))
		goto nomem;
	json_object_put(root);
	return 0;
nomem:
	json_object_put(args);
	json_object_put(root);
	return esfm_err_sys(err, ENOMEM, "cannot build QMP command");
}
