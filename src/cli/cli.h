/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command table: one file per verb, each exporting one struct kmb_cmd. */
#pragma once

#include "base/kmb.h"

/* Setup that main() does for a verb before run(), once and with one message, the way git's
 * cmd_struct flags do. */
enum kmb_cmd_flag {
	/* Holds the state lock for the whole run. A verb whose need for the lock depends on its
	 * options calls kmb_cli_lock() itself. */
	KMB_CMD_LOCK = 1 << 0,
};

struct kmb_cmd {
	const char *name;
	/* argv[0] is the verb; global options (--root, -j, -v, -q, --json) are already gone. */
	int (*run)(struct kmb_ctx *ctx, int argc, char **argv);
	const char *usage; /* one line, after "kmbuild " */
	const char *help;  /* one line */
	unsigned flags;	   /* enum kmb_cmd_flag */
};

/* clang-format off */
#define KMB_CMD_LIST(X) \
	X(add) X(remove) X(build) X(install) X(uninstall) X(autoinstall) X(status) X(log) \
	X(kernels) X(sign) X(resign) X(mok) X(verify) X(doctor) X(headers) X(initramfs) \
	X(search) X(new)
/* clang-format on */

#define KMB_CMD_DECLARE(n) extern const struct kmb_cmd kmb_cmd_##n;
KMB_CMD_LIST(KMB_CMD_DECLARE)
#undef KMB_CMD_DECLARE

/* Helpers shared by the verbs. */
/* Split "name/version" (version optional): returns 0 or -EINVAL with a message printed. */
int kmb_cli_split_nv(const char *arg, char **name, char **version);
/* getopt_long wrapper state reset between verbs. */
void kmb_cli_reset_getopt(void);
/* Take the state lock: 0, or KMB_EXIT_LOCK with the message printed. */
int kmb_cli_lock(struct kmb_ctx *ctx);

#include "kernel/kernel.h"

/* Kernels named with -k (each "K" or "K/arch"), opened; with none given, the defaults:
 * the running kernel and the newest installed one (those that exist under the root).
 * Returns 0 or a kmb_exit code with a message printed. */
struct kmb_kernel_set {
	struct kmb_kernel **k;
	size_t n;
};
int kmb_cli_kernels(const struct kmb_ctx *ctx, char **names, size_t n_names, bool all,
		    struct kmb_kernel_set *out);
void kmb_cli_kernels_free(struct kmb_kernel_set *set);

/* name[/version]: with no version, the only (or with pick_highest, the highest) registered
 * version. Returns 0 or a kmb_exit code with a message printed. */
int kmb_cli_resolve_nv(const struct kmb_ctx *ctx, const char *arg, bool pick_highest, char **name,
		       char **version);

struct kmb_plan;
/* After a run that installed: bring each touched kernel's initramfs up to date when a module
 * that belongs in it changed. Returns how many kernels failed. */
int kmb_cli_refresh_initramfs(const struct kmb_ctx *ctx, const struct kmb_plan *plan);
