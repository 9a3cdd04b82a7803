/* SPDX-License-Identifier: MIT */
/*
 * esfm.conf: the settings shared by the CLI and the hook.
 *
 * libvirtd runs hooks with a bare environment, so the hook learns its paths
 * from <conf_dir>/esfm.conf, simple "key = value" lines with '#' comments.
 * conf_dir is ESFM_CONF_DIR if set, else the compile-time default (/etc/esfm).
 * Precedence, lowest first: built-in defaults, esfm.conf, environment
 * (ESFM_SYSFS_ROOT, ESFM_STATE_DIR, ESFM_LIBVIRT_URI, ESFM_TEMPLATE_DIR).
 * A missing esfm.conf means defaults; an unknown key or bad value is an error.
 */
#ifndef ESFM_CONF_H
#define ESFM_CONF_H

#include <limits.h>

#include "err.h"

#define ESFM_FLASH_CMD_MAX   2048
#define ESFM_JTAG_TARGET_MAX 128

/* flash_tool: the programmer esfm runs for a bitstream (flash.h). */
enum esfm_flash_tool {
	ESFM_FLASH_TOOL_UNSET = 0, /* flash_command if set, else none */
	ESFM_FLASH_TOOL_COMMAND,   /* flash_command */
	ESFM_FLASH_TOOL_VIVADO,	   /* vivado_path + <flash_script_dir>/program-vivado.tcl */
	ESFM_FLASH_TOOL_XSCT,	   /* xsct_path + <flash_script_dir>/program-xsct.tcl */
};

struct esfm_conf {
	char conf_dir[PATH_MAX];
	char sysfs_root[PATH_MAX];   /* sysfs_root, default /sys */
	char state_dir[PATH_MAX];    /* state_dir, default /run/esfm */
	char libvirt_uri[256];	     /* libvirt_uri, default qemu:///system */
	char template_dir[PATH_MAX]; /* template_dir, default <datadir>/esfm */
	int log_level;		     /* log_level, default info */
	long lock_timeout_ms;	     /* lock_timeout_ms: how long a hook waits for a pool lock */
	long attach_timeout_ms;	     /* attach_timeout_ms: bound on the hook's attach worker */
	long vf_timeout_ms;	     /* vf_timeout_ms: wait for a new VF or a rescanned PF */
	char flash_command[ESFM_FLASH_CMD_MAX];	 /* argv template, "" if unset */
	int flash_tool;				 /* enum esfm_flash_tool */
	char vivado_path[PATH_MAX];		 /* vivado_path: Vivado's bin/vivado */
	char xsct_path[PATH_MAX];		 /* xsct_path: the Vitis/SDK bin/xsct */
	char flash_script_dir[PATH_MAX];	 /* flash_script_dir, default <datadir>/esfm */
	char flash_target[ESFM_JTAG_TARGET_MAX]; /* flash_target: JTAG target selector, "" */
	char hw_server[256];			 /* hw_server: host:port, "" = the tool's default */
	char log_file[PATH_MAX]; /* log_file: append log lines here instead of syslog */
	char vf_setup_command[ESFM_FLASH_CMD_MAX]; /* argv template run for each new VF, "" */
};

/* Defaults, then esfm.conf from the configuration directory, then environment. */
int esfm_conf_load(struct esfm_conf *conf, struct esfm_err *err);

/* Same, from an explicit directory (NULL: ESFM_CONF_DIR or the default). */
int esfm_conf_load_dir(struct esfm_conf *conf, const char *conf_dir, struct esfm_err *err);

/* The built-in defaults. */
void esfm_conf_defaults(struct esfm_conf *conf);

/*
 * Apply the "key = value" lines of @text (@len bytes, NUL-terminated after
 * them; modified in place) on top of @conf. CONFIG error "<path>:<line>: ..."
 * for a NUL byte, a line without '=', an unknown key, a bad value (among them
 * attach_timeout_ms 0) and a key set twice.
 */
int esfm_conf_parse(struct esfm_conf *conf, const char *path, char *text, size_t len,
		    struct esfm_err *err);

/* "<conf_dir>/pools.d" into @buf. */
int esfm_conf_pools_dir(const struct esfm_conf *conf, char *buf, size_t len, struct esfm_err *err);

#endif
