/* SPDX-License-Identifier: MIT */
/*
 * Where an installed esfm keeps its pieces, as the Makefile's PREFIX, BINDIR,
 * LIBEXECDIR, DATADIR, MANDIR, COMPLETIONDIR and SYSCONFDIR set them at build
 * time (the defaults below are the Makefile's). The binaries read the data
 * and configuration directories from here; `esfm --print-paths` prints every
 * one, and install.sh and man/mkman.sh take them from it, so the layout is
 * decided once, in the Makefile.
 */
#ifndef ESFM_PATHS_H
#define ESFM_PATHS_H

#include <stdio.h>

#ifndef ESFM_PREFIX
#define ESFM_PREFIX "/usr/local"
#endif
#ifndef ESFM_BINDIR
#define ESFM_BINDIR ESFM_PREFIX "/bin"
#endif
/* esfm-hook, esfm-hook-handler, esfm-hook-worker */
#ifndef ESFM_LIBEXECDIR
#define ESFM_LIBEXECDIR ESFM_PREFIX "/libexec/esfm"
#endif
/* hostdev.xml, pool.rng, the flash scripts, the install manifest */
#ifndef ESFM_DATADIR
#define ESFM_DATADIR ESFM_PREFIX "/share/esfm"
#endif
#ifndef ESFM_MANDIR
#define ESFM_MANDIR ESFM_PREFIX "/share/man"
#endif
#ifndef ESFM_COMPLETIONDIR
#define ESFM_COMPLETIONDIR ESFM_PREFIX "/share/bash-completion/completions"
#endif
/* the root of esfm/ and libvirt/ */
#ifndef ESFM_SYSCONFROOT
#define ESFM_SYSCONFROOT "/etc"
#endif
/* esfm.conf, pools.d */
#ifndef ESFM_SYSCONFDIR
#define ESFM_SYSCONFDIR ESFM_SYSCONFROOT "/esfm"
#endif
/* libvirt's hooks directory (qemu.d/esfm is the hook's link) */
#ifndef ESFM_HOOKSDIR
#define ESFM_HOOKSDIR ESFM_SYSCONFROOT "/libvirt/hooks"
#endif

/* Every path above as "name=value" lines (prefix, sysconfdir, bindir, ...). */
void esfm_paths_print(FILE *f);

#endif
