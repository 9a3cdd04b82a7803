/* SPDX-License-Identifier: MIT */
/*
 * A command line written in esfm.conf (flash_command, vf_setup_command): its
 * words are split on blanks, each {name} placeholder is replaced by its value
 * (an unknown one stays as written), and the first word must be an absolute
 * program path. The result is an argv for execve: no shell ever sees it.
 */
#ifndef ESFM_CMDTMPL_H
#define ESFM_CMDTMPL_H

#include <stddef.h>

#include "err.h"

#define ESFM_CMDTMPL_ARGV_MAX 64

struct esfm_cmdtmpl_sub {
	const char *key; /* "{pf}" */
	const char *val;
};

/*
 * Expand @tmpl, the value of the setting @setting, with @subs. *argv and its
 * strings are malloc'ed (free with esfm_cmdtmpl_free). CONFIG error naming
 * @setting for more than ESFM_CMDTMPL_ARGV_MAX words or a first word that is
 * not an absolute path (with @hint, if not NULL); the error is filled.
 */
int esfm_cmdtmpl_argv(const char *setting, const char *tmpl, const struct esfm_cmdtmpl_sub *subs,
		      size_t nsubs, const char *hint, char ***argv, struct esfm_err *err);

void esfm_cmdtmpl_free(char **argv); /* NULL-safe */

#endif
