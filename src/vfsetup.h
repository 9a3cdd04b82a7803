/* SPDX-License-Identifier: MIT */
/*
 * vf_setup_command: the program esfm.conf names to prepare each VF esfm
 * creates, after the VF appears and before it is bound to the pool driver,
 * given to a guest or resumed in one (for NVMe SR-IOV: queue and interrupt
 * resources, online, namespaces, all through the PF). Run with execve, never
 * a shell; placeholders {pf}, {vf} (addresses) and {index}.
 */
#ifndef ESFM_VFSETUP_H
#define ESFM_VFSETUP_H

#include <stdbool.h>

#include "conf.h"
#include "err.h"
#include "pci.h"

#define ESFM_VFSETUP_TIMEOUT_MS (5L * 60 * 1000)

/* Whether @conf names a vf_setup_command. */
bool esfm_vfsetup_configured(const struct esfm_conf *conf);

/*
 * The argv for VF @index (@vf) of @pf, as for esfm_cmdtmpl_argv (free with
 * esfm_cmdtmpl_free). CONFIG error when the command is not absolute.
 */
int esfm_vfsetup_argv(const struct esfm_conf *conf, const struct esfm_pci_addr *pf, unsigned index,
		      const struct esfm_pci_addr *vf, char ***argv, struct esfm_err *err);

/*
 * Run vf_setup_command for VF @index (nothing when none is configured), its
 * output logged line by line; at most ESFM_VFSETUP_TIMEOUT_MS. FAILED error
 * naming the VF with the program's own reason.
 */
int esfm_vfsetup_run(const struct esfm_conf *conf, const struct esfm_pci_addr *pf, unsigned index,
		     const struct esfm_pci_addr *vf, struct esfm_err *err);

#endif
