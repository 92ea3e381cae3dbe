/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What sign and resign say about each file they signed. */
#pragma once

#include <stddef.h>

#include "base/json.h"
#include "base/kmb.h"

struct kmb_cli_signed {
	size_t n;
	int *rcs;    /* per file: 0 signed, or a negative errno */
	char **errs; /* per file: NULL, or why it was not signed */
};

void kmb_cli_signed_init(struct kmb_cli_signed *r, size_t n);
void kmb_cli_signed_free(struct kmb_cli_signed *r);
/* Each failure as an error, each success at -v. Returns how many failed. */
size_t kmb_cli_signed_report(const struct kmb_ctx *ctx, const struct kmb_cli_signed *r,
			     const char *const *files);
/* The "files" array of --json, for files [first, first + count). */
void kmb_cli_signed_json(struct kmb_json *j, const struct kmb_cli_signed *r,
			 const char *const *files, size_t first, size_t count);
