// SPDX-License-Identifier: MIT
#include "cmdtmpl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void esfm_cmdtmpl_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static char *substitute(const char *word, const struct esfm_cmdtmpl_sub *subs, size_t nsubs)
{
	size_t cap = strlen(word) + 1;
	char *out, *o;

	for (size_t i = 0; i < nsubs; i++)
		for (const char *p = strstr(word, subs[i].key); p; p = strstr(p + 1, subs[i].key))
			cap += strlen(subs[i].val);
	out = malloc(cap);
	if (!out)
		return NULL;
	o = out;
	while (*word) {
		size_t i;

		for (i = 0; i < nsubs; i++)
			if (!strncmp(word, subs[i].key, strlen(subs[i].key)))
				break;
		if (i < nsubs) {
			o = stpcpy(o, subs[i].val);
			word += strlen(subs[i].key);
		} else {
			*o++ = *word++;
		}
	}
	*o = '\0';
	return out;
}

int esfm_cmdtmpl_argv(const char *setting, const char *tmpl, const struct esfm_cmdtmpl_sub *subs,
		      size_t nsubs, const char *hint, char ***argv, struct esfm_err *err)
{
	char *copy = strdup(tmpl);
	char **v = calloc(ESFM_CMDTMPL_ARGV_MAX + 1, sizeof(*v));
	char *save = NULL, *w;
	size_t n = 0;

	if (!copy || !v)
		goto nomem;
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (n == ESFM_CMDTMPL_ARGV_MAX) {
			free(copy);
			esfm_cmdtmpl_free(v);
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s has more than %d words",
					    setting, ESFM_CMDTMPL_ARGV_MAX);
		}
		if (!(v[n++] = substitute(w, subs, nsubs)))
			goto nomem;
	}
	free(copy);
	if (n == 0 || v[0][0] != '/') {
		esfm_cmdtmpl_free(v);
		esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s must start with an absolute program path",
			     setting);
		return hint ? esfm_err_hint(err, "%s", hint) : -1;
	}
	*argv = v;
	return 0;
nomem:
	free(copy);
	esfm_cmdtmpl_free(v);
	return esfm_err_sys(err, ENOMEM, "cannot build the command of %s", setting);
}
