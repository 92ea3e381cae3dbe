// SPDX-License-Identifier: GPL-2.0-or-later
/* kmbuild uninstall NAME[/VERSION] [-k K]... ; kmbuild remove NAME[/VERSION] [-k K|--all] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/build.h"
#include "cli.h"
#include "initramfs/initramfs.h"
#include "core/install.h"
#include "core/registry.h"
#include "core/state.h"
#include "base/util.h"

/* Everything installed/built for (name, version): which (kernel, arch) pairs. */
static void kernels_of(const struct kmb_ctx *ctx, const char *name, const char *version,
		       struct kmb_strv *kernels, struct kmb_strv *arches)
{
	struct kmb_entry *e;
	size_t n;
	kmb_state_list(ctx, name, version, NULL, &e, &n);
	for (size_t i = 0; i < n; i++) {
		if (!e[i].kernel)
			continue;
		kmb_strv_push(kernels, e[i].kernel);
		kmb_strv_push(arches, e[i].arch);
	}
	kmb_entries_free(e, n);
}

/* Uninstall (and with unbuild, delete the build of) name/version for the listed kernels. */
static int undo(struct kmb_ctx *ctx, const char *name, const char *version, struct kmb_strv *ks,
		struct kmb_strv *as, bool unbuild)
{
	struct kmb_strv touched = {0};
	int rc = 0;

	for (size_t i = 0; i < ks->n; i++) {
		char *iv = kmb_installed_version(ctx, name, ks->v[i], as->v[i]);
		if (iv && strcmp(iv, version) == 0) {
			char *reason = NULL;
			int r = kmb_uninstall(ctx, name, version, ks->v[i], as->v[i], &reason);
			if (r) {
				kmb_err("%s", reason ? reason : "uninstall failed");
				rc = r;
			} else {
				kmb_info(ctx, "%s/%s, %s, %s: uninstalled", name, version, ks->v[i],
					 as->v[i]);
				if (!kmb_strv_contains(&touched, ks->v[i]))
					kmb_strv_push(&touched, ks->v[i]);
			}
			free(reason);
		} else if (!unbuild) {
			kmb_info(ctx, "%s/%s is not installed for %s (%s)", name, version, ks->v[i],
				 as->v[i]);
		}
		free(iv);
		if (unbuild) {
			char *kd = kmb_state_kernel_dir(ctx, name, version, ks->v[i], as->v[i]);
			kmb_rm_rf(kd);
			char *kp = kmb_xasprintf("%s/%s/%s/%s", ctx->state_dir, name, version,
						 ks->v[i]);
			rmdir(kp); /* only when no other arch is left */
			free(kp);
			free(kd);
		}
	}
	/* One depmod per touched kernel. */
	for (size_t i = 0; i < touched.n; i++) {
		struct kmb_kernel *k;
		kmb_kernel_open(ctx, touched.v[i], &k);
		if (kmb_depmod(ctx, k) != 0) {
			kmb_err("depmod for %s failed", k->release);
			rc = KMB_EXIT_INSTALL;
		} else if (kmb_initramfs_update(ctx, k->release, NULL) < 0) {
			/* The module left the tree; an image still holding it is regenerated. */
			rc = rc ? rc : KMB_EXIT_INSTALL;
		}
		kmb_kernel_free(k);
	}
	kmb_strv_free(&touched);
	return rc;
}

static int run_common(struct kmb_ctx *ctx, int argc, char **argv, bool remove,
		      const struct kmb_cmd *cmd)
{
	static const struct option own[] = {{"all", no_argument, NULL, 'a'}, {0}};
	struct kmb_cli_parser p;
	struct kmb_strv ks = {0}, as = {0};
	bool all = false;
	int c, rc;
	char *name = NULL, *version = NULL;

	kmb_cli_parser_init(&p, cmd, KMB_OPT_KERNELS, NULL, own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0)
		all |= c == 'a';
	if (c < 0)
		return p.exit;
	const struct kmb_strv *want = &p.o.kernels;
	if (optind != argc - 1 || (all && want->n)) {
		kmb_err("usage: kmbuild %s", cmd->usage);
		kmb_cli_opts_free(&p.o);
		return KMB_EXIT_USAGE;
	}
	if ((rc = kmb_cli_resolve_nv(ctx, argv[optind], false, &name, &version)))
		goto out;
	struct kmb_strv allk = {0}, alla = {0};
	kernels_of(ctx, name, version, &allk, &alla);
	for (size_t i = 0; i < allk.n; i++) {
		bool pick = want->n == 0;
		for (size_t j = 0; j < want->n && !pick; j++) {
			const char *w = want->v[j], *slash = strchr(w, '/');
			size_t kl = slash ? (size_t)(slash - w) : strlen(w);
			pick = strlen(allk.v[i]) == kl && !strncmp(allk.v[i], w, kl) &&
			       (!slash || !strcmp(slash + 1, alla.v[i]));
		}
		if (pick) {
			kmb_strv_push(&ks, allk.v[i]);
			kmb_strv_push(&as, alla.v[i]);
		}
	}
	kmb_strv_free(&allk);
	kmb_strv_free(&alla);
	rc = undo(ctx, name, version, &ks, &as, remove);
	if (remove && want->n == 0 && rc == 0) {
		char *reason = NULL;
		struct kmb_pkg *pkg = NULL;
		/* POST_REMOVE runs from the source before it goes. */
		if (kmb_pkg_load_registered(ctx, name, version, NULL, &pkg, &reason) == 0 &&
		    pkg->post_remove) {
			char *src = kmb_xasprintf("%s/%s/%s/source", ctx->state_dir, name, version);
			kmb_run_script(ctx, name, pkg->post_remove, src, 2);
			free(src);
		}
		kmb_pkg_free(pkg);
		free(reason);
		if (kmb_registry_forget(ctx, name, version) < 0) {
			kmb_err("cannot remove %s/%s from %s", name, version, ctx->state_dir);
			rc = KMB_EXIT_FAIL;
		} else {
			kmb_info(ctx, "Deleting module %s/%s completely from the kmbuild tree.",
				 name, version);
		}
	}
out:
	kmb_cli_opts_free(&p.o);
	kmb_strv_free(&ks);
	kmb_strv_free(&as);
	free(name);
	free(version);
	return rc;
}

static int run_uninstall(struct kmb_ctx *ctx, int argc, char **argv)
{
	return run_common(ctx, argc, argv, false, &kmb_cmd_uninstall);
}

static int run_remove(struct kmb_ctx *ctx, int argc, char **argv)
{
	return run_common(ctx, argc, argv, true, &kmb_cmd_remove);
}

const struct kmb_cmd kmb_cmd_uninstall = {
	.name = "uninstall",
	.run = run_uninstall,
	.usage = "uninstall NAME[/VERSION] [-k KERNEL[/ARCH]]...",
	.help = "remove installed modules, restore shadowed originals",
	.flags = KMB_CMD_LOCK,
};
const struct kmb_cmd kmb_cmd_remove = {
	.name = "remove",
	.run = run_remove,
	.usage = "remove NAME[/VERSION] [-k KERNEL[/ARCH]]... | --all",
	.help = "uninstall and delete builds; without -k also unregister",
	.flags = KMB_CMD_LOCK,
};
