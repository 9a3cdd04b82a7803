// SPDX-License-Identifier: MIT
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#ifndef ESFM_SYSCONFDIR
#define ESFM_SYSCONFDIR "/etc/esfm"
#endif
#ifndef ESFM_DATADIR
#define ESFM_DATADIR "/usr/local/share/esfm"
#endif

static void set_defaults(struct esfm_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->sysfs_root, sizeof(c->sysfs_root), "/sys");
	snprintf(c->state_dir, sizeof(c->state_dir), "/run/esfm");
	snprintf(c->libvirt_uri, sizeof(c->libvirt_uri), "qemu:///system");
	snprintf(c->template_dir, sizeof(c->template_dir), "%s", ESFM_DATADIR);
	snprintf(c->flash_script_dir, sizeof(c->flash_script_dir), "%s", ESFM_DATADIR);
	c->log_level = ESFM_LOG_INFO;
	c->lock_timeout_ms = 10000;
	c->attach_timeout_ms = 60000;
	c->vf_timeout_ms = 5000;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int set_string(char *dst, size_t len, const char *v)
{
	if (strlen(v) >= len)
		return -1;
	strcpy(dst, v);
	return 0;
}

static int set_ms(long *dst, const char *v)
{
	unsigned ms;

	if (!esfm_parse_uint(v, 3600000, false, &ms))
		return -1;
	*dst = ms;
	return 0;
}

/* A JTAG target selector or hw_server: one word of a safe alphabet (it becomes an argument). */
static int set_word(char *dst, size_t len, const char *v)
{
	if (!*v ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/-") !=
		    strlen(v))
		return -1;
	return set_string(dst, len, v);
}

static int set_flash_tool(int *dst, const char *v)
{
	static const char *const names[] = {
		[ESFM_FLASH_TOOL_COMMAND] = "command",
		[ESFM_FLASH_TOOL_VIVADO] = "vivado",
		[ESFM_FLASH_TOOL_XSCT] = "xsct",
	};

	for (size_t i = 1; i < ESFM_ARRAY_SIZE(names); i++)
		if (!strcmp(v, names[i])) {
			*dst = (int)i;
			return 0;
		}
	return -1;
}

/* Returns 0, -1 for a bad value, -2 for an unknown key. */
static int apply(struct esfm_conf *c, const char *key, const char *v)
{
	if (!strcmp(key, "sysfs_root"))
		return v[0] == '/' ? set_string(c->sysfs_root, sizeof(c->sysfs_root), v) : -1;
	if (!strcmp(key, "state_dir"))
		return v[0] == '/' ? set_string(c->state_dir, sizeof(c->state_dir), v) : -1;
	if (!strcmp(key, "template_dir"))
		return v[0] == '/' ? set_string(c->template_dir, sizeof(c->template_dir), v) : -1;
	if (!strcmp(key, "libvirt_uri"))
		return set_string(c->libvirt_uri, sizeof(c->libvirt_uri), v);
	if (!strcmp(key, "log_file"))
		return v[0] == '/' ? set_string(c->log_file, sizeof(c->log_file), v) : -1;
	if (!strcmp(key, "flash_command"))
		return set_string(c->flash_command, sizeof(c->flash_command), v);
	if (!strcmp(key, "flash_tool"))
		return set_flash_tool(&c->flash_tool, v);
	if (!strcmp(key, "vivado_path"))
		return v[0] == '/' ? set_string(c->vivado_path, sizeof(c->vivado_path), v) : -1;
	if (!strcmp(key, "xsct_path"))
		return v[0] == '/' ? set_string(c->xsct_path, sizeof(c->xsct_path), v) : -1;
	if (!strcmp(key, "flash_script_dir"))
		return v[0] == '/' ? set_string(c->flash_script_dir, sizeof(c->flash_script_dir), v)
				   : -1;
	if (!strcmp(key, "flash_target"))
		return set_word(c->flash_target, sizeof(c->flash_target), v);
	if (!strcmp(key, "hw_server"))
		return set_word(c->hw_server, sizeof(c->hw_server), v);
	if (!strcmp(key, "log_level")) {
		int l = esfm_log_level_parse(v);

		if (l < 0)
			return -1;
		c->log_level = l;
		return 0;
	}
	if (!strcmp(key, "lock_timeout_ms"))
		return set_ms(&c->lock_timeout_ms, v);
	if (!strcmp(key, "attach_timeout_ms"))
		return set_ms(&c->attach_timeout_ms, v);
	if (!strcmp(key, "vf_timeout_ms"))
		return set_ms(&c->vf_timeout_ms, v);
	return -2;
}

static int parse_file(struct esfm_conf *c, const char *path, struct esfm_err *err)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;
	int lineno = 0;

	struct esfm_err e = {0};

	if (esfm_read_file(path, 1 << 20, &text, NULL, &e) < 0) {
		if (e.cls == ESFM_ERR_NOTFOUND)
			return 0;
		if (err)
			*err = e;
		return -1;
	}
	/* strtok_r would merge empty lines and break line numbers; walk by hand. */
	for (line = text; line; line = save) {
		char *eq, *key, *val;
		int r;

		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%d: expected 'key = value'", path,
				     lineno);
			return -1;
		}
		*eq = '\0';
		val = trim(eq + 1);
		key = trim(key);
		r = apply(c, key, val);
		if (r == -2)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%d: unknown setting '%s'",
					    path, lineno, key);
		if (r < 0)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "%s:%d: invalid value for %s: '%.200s'", path, lineno,
					    key, val);
	}
	return 0;
}

static int apply_env(struct esfm_conf *c, struct esfm_err *err)
{
	static const struct {
		const char *env, *key;
	} map[] = {
		{"ESFM_SYSFS_ROOT", "sysfs_root"},
		{"ESFM_STATE_DIR", "state_dir"},
		{"ESFM_LIBVIRT_URI", "libvirt_uri"},
		{"ESFM_TEMPLATE_DIR", "template_dir"},
	};

	for (size_t i = 0; i < ESFM_ARRAY_SIZE(map); i++) {
		const char *v = getenv(map[i].env);

		if (v && *v && apply(c, map[i].key, v) < 0)
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "invalid %s='%s'", map[i].env,
					    v);
	}
	return 0;
}

int esfm_conf_load_dir(struct esfm_conf *conf, const char *conf_dir, struct esfm_err *err)
{
	char path[PATH_MAX];

	set_defaults(conf);
	if (!conf_dir)
		conf_dir = getenv("ESFM_CONF_DIR");
	if (!conf_dir || !*conf_dir)
		conf_dir = ESFM_SYSCONFDIR;
	if (esfm_snprintf(conf->conf_dir, sizeof(conf->conf_dir), err, "%s", conf_dir) < 0 ||
	    esfm_snprintf(path, sizeof(path), err, "%s/esfm.conf", conf_dir) < 0)
		return -1;
	if (parse_file(conf, path, err) < 0)
		return -1;
	return apply_env(conf, err);
}

int esfm_conf_load(struct esfm_conf *conf, struct esfm_err *err)
{
	return esfm_conf_load_dir(conf, NULL, err);
}

int esfm_conf_pools_dir(const struct esfm_conf *conf, char *buf, size_t len, struct esfm_err *err)
{
	return esfm_snprintf(buf, len, err, "%s/pools.d", conf->conf_dir);
}
