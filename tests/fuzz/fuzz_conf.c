// SPDX-License-Identifier: MIT
/* esfm.conf through its parser (esfm_conf_parse). */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct esfm_err err = {0};
	struct esfm_conf conf;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	esfm_conf_defaults(&conf);
	if (esfm_conf_parse(&conf, "esfm.conf", text, size, &err) == 0) {
		FUZZ_CHECK(conf.state_dir[0] == '/' && conf.sysfs_root[0] == '/');
		FUZZ_CHECK(conf.attach_timeout_ms > 0);
		FUZZ_CHECK(!memchr(data, '\0', size));
	} else {
		FUZZ_CHECK(!strncmp(err.msg, "esfm.conf:", 10));
	}
	free(text);
	return 0;
}
