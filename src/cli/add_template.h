/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `kmbuild add NAME[@VERSION]`: register a module from the template catalogue. */
#pragma once

#include <stdbool.h>

#include "base/kmb.h"
#include "base/util.h"

struct kmb_cli_add_opts {
	const char *source; /* --source URL|PATH */
	const char *sha256; /* --sha256 HEX (for --source) */
	const char *mirror; /* --mirror URL */
	bool force;	    /* register even when no installed kernel needs it */
};

struct kmb_json;
struct kmb_tpl_kernel;
/* The "kernels" array of add's and search's --json: each kernel and what the template means
 * for it. */
void kmb_cli_json_tpl_kernels(struct kmb_json *j, const struct kmb_tpl_kernel *kv, size_t nk);

/* The catalogue's names nearest to word, as "a, b, c"; NULL when none is near. */
char *kmb_cli_template_suggest(const struct kmb_strv *names, const char *word);

/* Is arg a template reference rather than a path or DKMS NAME/VERSION? */
bool kmb_cli_is_template_ref(const char *arg);

/* Returns a kmb_exit code; messages printed. */
int kmb_cli_add_template(struct kmb_ctx *ctx, const char *arg, const struct kmb_cli_add_opts *o);
