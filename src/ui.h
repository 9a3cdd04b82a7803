/* SPDX-License-Identifier: MIT */
/*
 * How a long operation talks to whoever runs it: the CLI installs callbacks
 * that print step lines, warnings and questions; the library only calls
 * them (or logs, when there are none).
 */
#ifndef ESFM_UI_H
#define ESFM_UI_H

#include <stdbool.h>

#include "err.h"

struct esfm_ui {
	/* One finished step: what, how long, whether it worked. */
	void (*step)(void *data, const char *what, long ms, bool ok);
	/* A warning the operator should see even without -v. */
	void (*warn)(void *data, const char *msg);
	/* Ask before touching running VMs; return true to go on. */
	bool (*confirm)(void *data, const char *question);
	void *data;
};

/* Report a finished step that started at @t0 (esfm_now_ms). NULL-safe. */
void esfm_ui_report(const struct esfm_ui *ui, const char *what, long long t0, bool ok);

/* Show @e (message and hint) as a warning through @ui, or log it without one. */
void esfm_ui_warn_err(const struct esfm_ui *ui, const struct esfm_err *e);

#endif
