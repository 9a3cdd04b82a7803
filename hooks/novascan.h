/* SPDX-License-Identifier: MIT */
/*
 * The hook front's question about a Nova domain (libc only, linked into the
 * static esfm-hook): may it ask for esfm VFs? A cheap filter that may say yes
 * wrongly (the handler then decides with libxml2 and the parsed pool files)
 * but never no wrongly:
 *   - its XML holds "resources:CUSTOM_ESFM_" (an extra spec, Nova 2025.2), or
 *   - a flavor name of its XML (the name attribute of a <...:flavor> element)
 *     equals the flavor attribute of an element in a pool file, or either
 *     holds an XML reference ('&': compared decoded by the handler only).
 * A pool directory that cannot be read says yes: the handler reports why.
 */
#ifndef ESFM_NOVASCAN_H
#define ESFM_NOVASCAN_H

#include <stddef.h>

#define ESFM_NOVASCAN_SPEC "resources:CUSTOM_ESFM_"

/* 1 when the domain XML @xml (@len bytes) may ask for VFs of a pool in @pools_dir, else 0. */
int esfm_novascan_may_ask(const char *xml, size_t len, const char *pools_dir);

#endif
