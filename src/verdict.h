/* SPDX-License-Identifier: MIT */
/*
 * The schema's verdict on a pool file, remembered in the state directory.
 * Compiling pool.rng and validating a pool file against it was a quarter of
 * the time of an annotated VM start (make bench), paid again at every start
 * for the same bytes. The record <state_dir>/<pool>.pool-ok holds the
 * versions of esfm and of libxml2, the file's path, the schema's whole text
 * and the file's whole text: a verdict is reused only for exactly those
 * bytes read with those versions, so the check it stands for is the same.
 * The state directory is trusted as the ledgers in it are (root's, written
 * by no one else); one that is not (or a symlink) is neither read nor
 * written here. Nothing here fails: without a record the caller validates.
 */
#ifndef ESFM_VERDICT_H
#define ESFM_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

struct esfm_verdict_of {
	const char *state_dir;
	const char *pool; /* the pool's name (the file's stem) */
	const char *path; /* the pool file */
	const char *schema, *text;
	size_t schema_len, text_len;
};

/* True when the schema accepted exactly these bytes before. */
bool esfm_verdict_known(const struct esfm_verdict_of *v);

/* Record that the schema accepted them; silently nothing when that cannot be done. */
void esfm_verdict_remember(const struct esfm_verdict_of *v);

#endif
