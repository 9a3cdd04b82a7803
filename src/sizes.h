/* SPDX-License-Identifier: MIT */
/*
 * The sizes of the strings esfm keeps in fixed buffers, each with its NUL,
 * named once: the same string travels through the domain XML, the ledger,
 * the plans and the commands' results. No dependencies, so a header that
 * only needs a size does not pull in a library.
 */
#ifndef ESFM_SIZES_H
#define ESFM_SIZES_H

#include <limits.h> /* PATH_MAX: a bitstream's path */

#define ESFM_DOM_NAME_MAX	256 /* a domain's name */
#define ESFM_UUID_STRLEN	37  /* a UUID in its 36-character form */
#define ESFM_ALIAS_MAX		96  /* a device's alias in a guest (ua-esfm-<pool>-<index>) */
#define ESFM_BITSTREAM_KIND_MAX 33  /* <bitstream kind>, -k */

#endif
