// SPDX-License-Identifier: MIT
/*
 * esfm-hook-handler: the qemu hook's logic for an annotated domain. esfm-hook
 * (the tiny front libvirtd runs) execs it with the same argv and the domain
 * XML on stdin once it has seen the esfm namespace in that XML, or Nova's
 * metadata that may ask for esfm VFs (an annotation wins over Nova's).
 *
 * Only prepare (and started, which launches the attach worker) can fail a
 * start; stopped, release, reconnect and everything else always exit 0,
 * because a failure at reconnect makes libvirt kill the running guest.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domxml.h"
#include "hook.h"
#include "log.h"
#include "logsink.h"
#include "nova.h"
#include "proc.h"
#include "util.h"
#include "vfpool.h"

#define HOOK_IDENT     "esfm-hook"
#define HOOK_INPUT_MAX (16u << 20)

enum hook_op { OP_OTHER, OP_PREPARE, OP_STARTED, OP_RELEASE, OP_RECONNECT };

static enum hook_op classify(const char *op, const char *subop)
{
	if (!strcmp(op, "prepare") && !strcmp(subop, "begin"))
		return OP_PREPARE;
	if (!strcmp(op, "started") && !strcmp(subop, "begin"))
		return OP_STARTED;
	if (!strcmp(op, "release") && !strcmp(subop, "end"))
		return OP_RELEASE;
	if (!strcmp(op, "reconnect") && !strcmp(subop, "begin"))
		return OP_RECONNECT;
	return OP_OTHER;
}

static bool may_fail_start(enum hook_op op)
{
	return op == OP_PREPARE || op == OP_STARTED;
}

/* Failing ops print one line for `virsh start` to show; the others only log. */
static int finish(enum hook_op op, const char *domname, struct esfm_err *err)
{
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];

	esfm_err_format(err, msg, sizeof(msg));
	if (!may_fail_start(op)) {
		esfm_log_error("domain '%s': %s", domname, msg);
		return 0;
	}
	esfm_log_error("domain '%s': start refused: %s", domname, msg);
	fprintf(stderr, "esfm: %s\n", msg);
	return 1;
}

/* A log_file that cannot be used refuses a start; stopping goes on, logging to syslog. */
static int install_sink(enum hook_op op, const char *domname, const struct esfm_conf *conf)
{
	struct esfm_err err = {0};

	if (!conf->log_file[0]) {
		esfm_logsink_syslog(HOOK_IDENT, conf->log_level);
		return 0;
	}
	if (esfm_logsink_file(conf->log_file, HOOK_IDENT, conf->log_level, &err) == 0)
		return 0;
	return finish(op, domname, &err) ? -1 : 0;
}

static int run(enum hook_op op, const char *domname, const char *xml, size_t len)
{
	struct esfm_err err = {0};
	struct esfm_ctx ctx = {0};
	struct esfm_domain *dom = NULL;
	char worker[PATH_MAX];
	int r = 0;

	if (esfm_ctx_init(&ctx, &err) < 0) {
		esfm_logsink_syslog(HOOK_IDENT, ESFM_LOG_INFO);
		r = finish(op, domname, &err);
		goto out;
	}
	if (install_sink(op, domname, &ctx.conf) < 0) {
		r = 1;
		goto out;
	}
	dom = malloc(sizeof(*dom));
	if (!dom) {
		esfm_err_sys(&err, ENOMEM, "out of memory");
		r = finish(op, domname, &err);
		goto out;
	}
	if (esfm_domxml_parse(xml, len, dom, &err) < 0 ||
	    esfm_nova_resolve(&ctx.conf, dom, &err) < 0) {
		r = finish(op, domname, &err);
		goto out;
	}
	if (!dom->annotated)
		goto out;
	switch (op) {
	case OP_PREPARE:
		if (esfm_hook_prepare(&ctx, dom, &err) < 0)
			r = finish(op, domname, &err);
		break;
	case OP_STARTED:
		if (esfm_self_dir(worker, sizeof(worker) - 20, &err) < 0 ||
		    (strcat(worker, "/esfm-hook-worker"),
		     esfm_hook_started(&ctx, dom, worker, &err)) < 0)
			r = finish(op, domname, &err);
		break;
	case OP_RELEASE:
		if (esfm_hook_release(&ctx, dom, &err) < 0)
			r = finish(op, domname, &err);
		break;
	case OP_RECONNECT:
		if (esfm_hook_reconnect(&ctx, dom, &err) < 0)
			r = finish(op, domname, &err);
		break;
	case OP_OTHER:
		break;
	}
out:
	free(dom);
	esfm_ctx_fini(&ctx);
	return r;
}

int main(int argc, char **argv)
{
	struct esfm_err err = {0};
	enum hook_op op;
	char *xml = NULL;
	size_t len = 0;
	int r;

	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("esfm-hook-handler %s\n", ESFM_VERSION);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--help")) {
		printf("Usage: esfm-hook-handler <domain> <op> <subop> <extra> < domain.xml\n"
		       "esfm-hook runs this for annotated domains; see esfm-hook(8).\n");
		return 0;
	}
	if (argc < 4) {
		fprintf(stderr, "esfm-hook-handler: usage: esfm-hook-handler <domain> <op> <subop> "
				"<extra> < domain.xml\n");
		return 2;
	}
	op = classify(argv[2], argv[3]);
	/* Always drain stdin: libvirt writes the whole domain XML to it. */
	if (esfm_read_fd(STDIN_FILENO, HOOK_INPUT_MAX, &xml, &len, &err) < 0) {
		esfm_logsink_syslog(HOOK_IDENT, ESFM_LOG_INFO);
		r = finish(op, argv[1], &err);
		free(xml);
		return r;
	}
	/*
	 * libvirt never sends a NUL. prepare and started refuse such input (the
	 * parser says so); release and reconnect must not fail, so they read the
	 * text before it and ignore the rest.
	 */
	if (!may_fail_start(op))
		len = strnlen(xml, len);
	if (op == OP_OTHER ||
	    (!esfm_domxml_may_have_annotation(xml, len) &&
	     !memmem(xml, len, ESFM_NOVA_NS_PREFIX, sizeof(ESFM_NOVA_NS_PREFIX) - 1))) {
		free(xml);
		return 0;
	}
	r = run(op, argv[1], xml, len);
	free(xml);
	return r;
}
