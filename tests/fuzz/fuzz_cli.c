// SPDX-License-Identifier: MIT
/* The esfm command line (esfm_cli_parse): the input is argv[1..], NUL-separated. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fuzz.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2] = {"esfm"};
	struct esfm_err err = {0};
	struct esfm_cli cli;
	char *text = malloc(size + 1);
	int argc = 1;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *p = text; p <= text + size && argc <= MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	if (esfm_cli_parse(argc, argv, &cli, &err) < 0)
		FUZZ_CHECK(err.cls == ESFM_ERR_USAGE && err.msg[0]);
	else
		FUZZ_CHECK(cli.cmd != ESFM_CMD_NONE);
	free(text);
	return 0;
}
