// SPDX-License-Identifier: MIT
/* The domain XML reader the hook runs on libvirt's input: esfm_domxml_*. */
#include <stdlib.h>
#include <string.h>

#include "domxml.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *xml = (const char *)data;
	struct esfm_domain *dom = malloc(sizeof(*dom));
	struct esfm_err err = {0};
	char *out = NULL;

	if (!dom)
		return 0;
	if (esfm_domxml_parse(xml, size, dom, &err) == 0) {
		/* Parsed means: a name, a 36-character uuid, requests within bounds. */
		FUZZ_CHECK(dom->name[0] && strlen(dom->uuid) == 36);
		FUZZ_CHECK(dom->nreq <= ESFM_ANNOT_MAX_POOLS &&
			   dom->nhostdev <= ESFM_MAX_VFS_PER_VM);
		FUZZ_CHECK(!dom->annotated || esfm_domxml_may_have_annotation(xml, size));
		/* Nova's metadata: esfm classes only, counts 1 to 64, within bounds. */
		FUZZ_CHECK(dom->nova.nspec <= ESFM_NOVA_SPECS_MAX);
		for (size_t i = 0; i < dom->nova.nspec; i++)
			FUZZ_CHECK(!strncmp(dom->nova.spec[i].cls, ESFM_NOVA_CLASS_PREFIX,
					    strlen(ESFM_NOVA_CLASS_PREFIX)) &&
				   dom->nova.spec[i].count >= 1 &&
				   dom->nova.spec[i].count <= ESFM_MAX_VFS_PER_VM);
		if (dom->annotated &&
		    esfm_domxml_annotation_xml(dom, NULL, 0, NULL, "fuzz", &out, &err) == 0)
			free(out);
	} else {
		FUZZ_CHECK(err.msg[0]);
	}
	free(dom);
	return 0;
}
