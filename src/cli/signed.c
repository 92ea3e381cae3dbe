// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdlib.h>

#include "signed.h"
#include "base/util.h"

void kmb_cli_signed_init(struct kmb_cli_signed *r, size_t n)
{
	r->n = n;
	r->rcs = kmb_xcalloc(n ? n : 1, sizeof(*r->rcs));
	r->errs = kmb_xcalloc(n ? n : 1, sizeof(*r->errs));
}

void kmb_cli_signed_free(struct kmb_cli_signed *r)
{
	for (size_t i = 0; r->errs && i < r->n; i++)
		free(r->errs[i]);
	free(r->errs);
	free(r->rcs);
	r->errs = NULL;
	r->rcs = NULL;
	r->n = 0;
}

size_t kmb_cli_signed_report(const struct kmb_ctx *ctx, const struct kmb_cli_signed *r,
			     const char *const *files)
{
	size_t failed = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (r->rcs[i] == 0) {
			kmb_debug(ctx, "signed %s", files[i]);
			continue;
		}
		kmb_err("%s", r->errs[i] ? r->errs[i] : files[i]);
		failed++;
	}
	return failed;
}

void kmb_cli_signed_json(struct kmb_json *j, const struct kmb_cli_signed *r,
			 const char *const *files, size_t first, size_t count)
{
	kmb_json_arr_begin(j, "files");
	for (size_t i = first; i < first + count; i++) {
		kmb_json_obj_begin(j, NULL);
		kmb_json_str(j, "path", files[i]);
		kmb_json_bool(j, "signed", r->rcs[i] == 0);
		kmb_json_str(j, "error", r->errs[i]);
		kmb_json_obj_end(j);
	}
	kmb_json_arr_end(j);
}
