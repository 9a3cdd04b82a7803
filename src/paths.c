// SPDX-License-Identifier: MIT
#include "paths.h"

void esfm_paths_print(FILE *f)
{
	fputs("prefix=" ESFM_PREFIX "\n"
	      "sysconfdir=" ESFM_SYSCONFROOT "\n"
	      "bindir=" ESFM_BINDIR "\n"
	      "libexecdir=" ESFM_LIBEXECDIR "\n"
	      "datadir=" ESFM_DATADIR "\n"
	      "mandir=" ESFM_MANDIR "\n"
	      "completiondir=" ESFM_COMPLETIONDIR "\n"
	      "confdir=" ESFM_SYSCONFDIR "\n"
	      "hooksdir=" ESFM_HOOKSDIR "\n",
	      f);
}
