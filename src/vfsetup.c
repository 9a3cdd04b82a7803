// SPDX-License-Identifier: MIT
#include "vfsetup.h"

#include <stdio.h>

#include "cmdtmpl.h"
#include "proc.h"
#include "util.h"

bool esfm_vfsetup_configured(const struct esfm_conf *conf)
{
	return conf->vf_setup_command[0] != '\0';
}

int esfm_vfsetup_argv(const struct esfm_conf *conf, const struct esfm_pci_addr *pf, unsigned index,
		      const struct esfm_pci_addr *vf, char ***argv, struct esfm_err *err)
{
	char pfs[ESFM_PCI_ADDR_STRLEN], vfs[ESFM_PCI_ADDR_STRLEN], idx[16];
	const struct esfm_cmdtmpl_sub subs[] = {{"{pf}", esfm_pci_addr_str(pf, pfs)},
						{"{vf}", esfm_pci_addr_str(vf, vfs)},
						{"{index}", idx}};

	snprintf(idx, sizeof(idx), "%u", index);
	return esfm_cmdtmpl_argv(
		"vf_setup_command", conf->vf_setup_command, subs, ESFM_ARRAY_SIZE(subs),
		"e.g. vf_setup_command = /usr/local/sbin/vf-online {pf} {index}", argv, err);
}

int esfm_vfsetup_run(const struct esfm_conf *conf, const struct esfm_pci_addr *pf, unsigned index,
		     const struct esfm_pci_addr *vf, struct esfm_err *err)
{
	char **argv = NULL, a[ESFM_PCI_ADDR_STRLEN], tag[64];
	int r;

	if (!esfm_vfsetup_configured(conf))
		return 0;
	if (esfm_vfsetup_argv(conf, pf, index, vf, &argv, err) < 0)
		return -1;
	snprintf(tag, sizeof(tag), "VF %u setup", index);
	r = esfm_run_logged(argv, ESFM_VFSETUP_TIMEOUT_MS, tag, err);
	esfm_cmdtmpl_free(argv);
	if (r < 0)
		return esfm_err_prefix(err, "VF %u (%s): vf_setup_command", index,
				       esfm_pci_addr_str(vf, a));
	return 0;
}
