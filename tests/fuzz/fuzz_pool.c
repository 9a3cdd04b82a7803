// SPDX-License-Identifier: MIT
/* A pool file through the loader, RelaxNG validation included (esfm_pool_parse). */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "pool.h"

#ifndef ESFM_FUZZ_TOP
#define ESFM_FUZZ_TOP "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct esfm_conf conf;
	struct esfm_err err = {0};
	struct esfm_pool pool;

	if (!conf.template_dir[0]) {
		esfm_conf_defaults(&conf);
		snprintf(conf.template_dir, sizeof(conf.template_dir), "%s/xml-templates",
			 ESFM_FUZZ_TOP);
	}
	/* The stem "fpga0" lets a well-formed fpga0 pool load all the way. */
	if (esfm_pool_parse(&conf, "pools.d/fpga0.xml", (const char *)data, size, &pool, &err) ==
	    0) {
		FUZZ_CHECK(!strcmp(pool.name, "fpga0") && pool.count > 0 && pool.count <= 2048);
	} else {
		FUZZ_CHECK(err.msg[0]);
		/*
		 * The schema itself must always load: a failure to would hide every finding.
		 * (Only at the start: the input's own text may be quoted in the message.)
		 */
		FUZZ_CHECK(strncmp(err.msg, "cannot load the pool schema", 27) &&
			   strncmp(err.msg, "cannot read the pool schema", 27));
	}
	return 0;
}
