// SPDX-License-Identifier: MIT
/* esfm: the operator's command line. Parses, calls the library, prints. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("esfm %s\n", ESFM_VERSION);
		return 0;
	}
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: esfm <pf_bdf> <command> [options]\n");
		return 0;
	}
	fprintf(stderr, "esfm: missing command\nTry 'esfm --help' for more information.\n");
	return 2;
}
