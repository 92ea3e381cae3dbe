/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals shared by conf_common.c, conf_dkms.c, conf_native.c and conf_shell.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "base/util.h"

/* bash gets this long to evaluate one dkms.conf that needs a real shell. */
#define KMB_CONF_SHELL_TIMEOUT_MS 5000

/* Collect one-line errors; the first one (plus a count of the rest) becomes err->msg. */
void kmb_conf_errf(struct kmb_strv *errs, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int kmb_conf_err_finish(const struct kmb_strv *errs, struct kmb_conf_error *err);
void kmb_conf_seterr(struct kmb_conf_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Read a definition file as text: CRLF normalised to LF (*changed tells whether it was),
 * NUL bytes rejected. Returns 0 or a negative errno with err->msg set.
 */
int kmb_conf_read_text(const char *path, char **text, bool *changed, struct kmb_conf_error *err);

/* A relative path without "..": what PATCH[] and BUILT_MODULE_LOCATION may name. */
bool kmb_conf_rel_path_ok(const char *p);
/* DEST_MODULE_LOCATION: starts with /kernel, /updates or /extra, no ".." component. */
bool kmb_conf_dest_prefix_ok(const char *loc);
bool kmb_conf_has_dotdot(const char *p);
/* Does s end in .o or .ko (what BUILT_MODULE_NAME/DEST_MODULE_NAME must not)? */
bool kmb_conf_has_obj_suffix(const char *s);
/* Does the POSIX ERE compile? */
bool kmb_conf_regex_ok(const char *re);

int kmb_conf_load_dkms(const char *path, const struct kmb_conf_vars *vars, struct kmb_pkg **out,
		       struct kmb_conf_error *err);
int kmb_conf_load_native(const char *path, const struct kmb_conf_vars *vars, struct kmb_pkg **out,
			 struct kmb_conf_error *err);

/*
 * Run `bash -c script kmbuild-conf file` in a child: environment only PATH and LC_ALL=C, cwd
 * dir, stdin /dev/null, its own process group, killed after timeout_ms. *out gets stdout,
 * *errtext the first few KiB of stderr. Returns bash's exit status (>= 0) or a negative errno
 * with why set (-ETIMEDOUT, -E2BIG for runaway output, spawn failures).
 */
int kmb_conf_run_bash(const char *dir, const char *script, const char *file, unsigned timeout_ms,
		      char **out, char **errtext, char *why, size_t whylen);
