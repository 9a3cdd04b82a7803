/* SPDX-License-Identifier: MIT */
/* QMP JSON built and read with json-c: commands esfm sends, replies it checks. */
#ifndef ESFM_JSON_H
#define ESFM_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* True if @reply is a QMP error object; its class and desc go into @desc. */
bool esfm_json_qmp_error(const char *reply, char *desc, size_t len);

/* True if @reply's "return" array holds an object whose "name" is @name (query-commands). */
bool esfm_json_has_name(const char *reply, const char *name);

/* {"execute":"device_pause","arguments":{"id":<alias>,"pause":<pause>}} into a malloc'ed string. */
int esfm_json_device_pause_cmd(const char *alias, bool pause, char **out, struct esfm_err *err);

#endif
