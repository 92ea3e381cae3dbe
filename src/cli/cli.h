/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command table: one file per verb, each exporting one struct kmb_cmd. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/kmb.h"
#include "base/util.h"
#include "kernel/kernel.h"

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
	const char *usage;     /* one line, after "kmbuild " */
	const char *help;      /* one line */
	unsigned flags;	       /* enum kmb_cmd_flag */
	const char *help_text; /* for --help; NULL: "Usage: kmbuild <usage>" */
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
/* Take the state lock: 0, or KMB_EXIT_LOCK with the message printed. */
int kmb_cli_lock(struct kmb_ctx *ctx);

/* The verb's --help text on f. */
void kmb_cli_help(const struct kmb_cmd *cmd, FILE *f);

/* The options several verbs share; a verb names those it takes. */
enum kmb_cli_shared {
	KMB_OPT_KERNELS = 1 << 0,     /* -k, --kernel, --kernelver K[/ARCH], repeatable */
	KMB_OPT_RELEASES = 1 << 1,    /* the same, a kernel release without /ARCH */
	KMB_OPT_FORCE = 1 << 2,	      /* -f, --force */
	KMB_OPT_ALL_KERNELS = 1 << 3, /* -A, --all-kernels */
	KMB_OPT_KEYPAIR = 1 << 4,     /* --key KEY, --cert CERT: the signing pair */
	KMB_OPT_HASH = 1 << 5,	      /* --hash H: the module signature hash */
};

struct kmb_cli_opts {
	struct kmb_strv kernels; /* as given, each checked to be a name, never a path */
	bool force, all_kernels;
	const char *key, *cert, *hash; /* NULL when not given */
};

struct kmb_cli_parser {
	const struct kmb_cmd *cmd;
	unsigned shared;
	struct kmb_cli_opts o; /* the shared options seen */
	int exit;	       /* the verb's exit code once kmb_cli_next_opt() returned -1 */
	struct option longopts[24];
	char letters[48];
};

/* Parse the shared options in `shared` (enum kmb_cli_shared), --help, and the verb's own:
 * `own` (NULL-terminated, NULL for none; their val must not be k, f, A, h or above 255) with
 * their short letters in `letters` (getopt syntax; a leading '+' stops at the first operand). */
void kmb_cli_parser_init(struct kmb_cli_parser *p, const struct kmb_cmd *cmd, unsigned shared,
			 const char *letters, const struct option *own);
/* The next of the verb's own options (optarg set); 0 after the last option, optind then at the
 * first operand; -1 when the verb is done: --help answered or a bad option, p->exit says how to
 * exit, p->o is freed. */
int kmb_cli_next_opt(struct kmb_cli_parser *p, int argc, char **argv);
/* The last -k given, or NULL: for verbs that take one kernel. */
const char *kmb_cli_opts_kernel(const struct kmb_cli_opts *o);
void kmb_cli_opts_free(struct kmb_cli_opts *o);

/* The kernels o names with -k (each "K" or "K/arch"), opened; with none given, the defaults:
 * the running kernel and the newest installed one (those that exist under the root), or with
 * --all-kernels every installed one. Returns 0 or a kmb_exit code with a message printed. */
struct kmb_kernel_set {
	struct kmb_kernel **k;
	size_t n;
};
int kmb_cli_kernels(const struct kmb_ctx *ctx, const struct kmb_cli_opts *o,
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
