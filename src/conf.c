// SPDX-License-Identifier: MIT
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "paths.h"
#include "util.h"

void esfm_conf_defaults(struct esfm_conf *c)
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

static int set_ms(long *dst, const char *v, unsigned min)
{
	unsigned ms;

	if (!esfm_parse_uint(v, 3600000, false, &ms) || ms < min)
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
	if (!strcmp(key, "vf_setup_command"))
		return v[0] == '/' ? set_string(c->vf_setup_command, sizeof(c->vf_setup_command), v)
				   : -1;
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
		return set_ms(&c->lock_timeout_ms, v, 0);
	if (!strcmp(key, "attach_timeout_ms"))
		return set_ms(&c->attach_timeout_ms, v, 1); /* 0 would be alarm(0): no bound */
	if (!strcmp(key, "vf_timeout_ms"))
		return set_ms(&c->vf_timeout_ms, v, 0);
	return -2;
}

/*
 * Keys already set by the file: a second one is an error, not a silent override.
 * Only known keys get here (apply() refused the others), so room for more than
 * esfm.conf has settings means every key is remembered.
 */
struct seen_keys {
	char key[32][32];
	size_t n;
};

static bool seen_before(struct seen_keys *seen, const char *key)
{
	for (size_t i = 0; i < seen->n; i++)
		if (!strcmp(seen->key[i], key))
			return true;
	if (seen->n < ESFM_ARRAY_SIZE(seen->key) && strlen(key) < sizeof(seen->key[0]))
		strcpy(seen->key[seen->n++], key);
	return false;
}

static int line_of(const char *text, const char *at)
{
	int n = 1;

	for (const char *p = text; p < at; p++)
		n += *p == '\n';
	return n;
}

int esfm_conf_parse(struct esfm_conf *c, const char *path, char *text, size_t len,
		    struct esfm_err *err)
{
	struct seen_keys seen = {.n = 0};
	const char *nul = memchr(text, '\0', len);
	char *line, *save = NULL;
	int lineno = 0;

	/* A NUL would end the text early and hide the rest from the check. */
	if (nul)
		return esfm_err_set(err, ESFM_ERR_CONFIG, 0, "%s:%d: NUL byte in the file", path,
				    line_of(text, nul));
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
		if (seen_before(&seen, key))
			return esfm_err_set(err, ESFM_ERR_CONFIG, 0,
					    "%s:%d: %s is set twice; keep one line", path, lineno,
					    key);
	}
	return 0;
}

static int parse_file(struct esfm_conf *c, const char *path, struct esfm_err *err)
{
	_cleanup_free_ char *text = NULL;
	struct esfm_err e = {0};
	size_t len;

	if (esfm_read_file(path, 1 << 20, &text, &len, &e) < 0) {
		if (e.cls == ESFM_ERR_NOTFOUND)
			return 0;
		if (err)
			*err = e;
		return -1;
	}
	return esfm_conf_parse(c, path, text, len, err);
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

	esfm_conf_defaults(conf);
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
