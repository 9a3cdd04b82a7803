// SPDX-License-Identifier: MIT
#include "ui.h"

#include "log.h"
#include "util.h"

void esfm_ui_report(const struct esfm_ui *ui, const char *what, long long t0, bool ok)
{
	if (ui && ui->step)
		ui->step(ui->data, what, (long)(esfm_now_ms() - t0), ok);
}

void esfm_ui_warn_err(const struct esfm_ui *ui, const struct esfm_err *e)
{
	char msg[ESFM_ERR_MSG_MAX + ESFM_ERR_HINT_MAX + 8];

	esfm_err_format(e, msg, sizeof(msg));
	if (ui && ui->warn)
		ui->warn(ui->data, msg);
	else
		esfm_warn("%s", msg);
}
