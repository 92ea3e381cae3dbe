// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * build and install share one shape: NAME[/VERSION] for one or more kernels, run through the
 * scheduler so several kernels build in parallel under one -j budget.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/build.h"
#include "build_install.h"
#include "core/install.h"
#include "core/registry.h"
#include "core/sched.h"
#include "core/state.h"
#include "base/util.h"

int kmb_cli_build_install(struct kmb_ctx *ctx, int argc, char **argv, bool install,
			  const struct kmb_cmd *cmd)
{
	static const struct option opts[] = {{"kernel", required_argument, NULL, 'k'},
					     {"kernelver", required_argument, NULL, 'k'},
					     {"force", no_argument, NULL, 'f'},
					     {"all-kernels", no_argument, NULL, 'A'},
					     {"no-depmod", no_argument, NULL, 'D'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	struct kmb_strv kernels = {0};
	bool force = false, all = false, no_depmod = false;
	int c, rc;

	kmb_cli_reset_getopt();
	while ((c = getopt_long(argc, argv, "k:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			kmb_strv_push(&kernels, optarg);
			break;
		case 'f':
			force = true;
			break;
		case 'A':
			all = true;
			break;
		case 'D':
			no_depmod = true;
			break;
		case 'h':
			printf("Usage: kmbuild %s\n", cmd->usage);
			kmb_strv_free(&kernels);
			return 0;
		default:
			kmb_strv_free(&kernels);
			return KMB_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		kmb_err("%s takes one NAME[/VERSION]", cmd->name);
		kmb_strv_free(&kernels);
		return KMB_EXIT_USAGE;
	}
	char *name = NULL, *version = NULL;
	struct kmb_kernel_set ks = {0};
	struct kmb_plan plan = {0};
	if ((rc = kmb_cli_resolve_nv(ctx, argv[optind], false, &name, &version)))
		goto out;
	if ((rc = kmb_cli_kernels(ctx, kernels.v, kernels.n, all, &ks)))
		goto out;

	for (size_t i = 0; i < ks.n; i++) {
		struct kmb_kernel *k = ks.k[i];
		bool built = kmb_is_built(ctx, name, version, k->release, k->arch);
		char *iv = kmb_installed_version(ctx, name, k->release, k->arch);
		bool installed = iv && strcmp(iv, version) == 0;
		free(iv);
		if (!force && (install ? installed : built)) {
			/* DKMS's wording: scripts grep for it. */
			kmb_info(ctx,
				 "Module %s/%s already %s for kernel %s (%s), skip. You may "
				 "override by specifying --force.",
				 name, version, install ? "installed" : "built", k->release,
				 k->arch);
			continue;
		}
		struct kmb_task *t = kmb_plan_add(&plan, name, version, k);
		t->install = install;
		t->build = force || !built;
	}
	if (install)
		kmb_plan_add_rebuild_dependents(ctx, &plan);
	struct kmb_sched_opts so = {.force = force, .no_depmod = no_depmod};
	int failed = plan.n ? kmb_sched_run(ctx, &plan, &so) : 0;
	if (install && !no_depmod)
		failed += kmb_cli_refresh_initramfs(ctx, &plan);
	rc = 0;
	for (size_t i = 0; i < plan.n; i++) {
		const struct kmb_task *t = &plan.t[i];
		if (strcmp(t->name, name) != 0)
			continue; /* a rebuilt dependent reports its own line */
		/* With one kernel the build's own exit code is the answer (DKMS: 10, 21, 77...). */
		if (t->state == KMB_TASK_FAILED || t->state == KMB_TASK_SKIPPED)
			rc = rc ? rc : t->rc;
	}
	if (failed && !rc)
		rc = KMB_EXIT_INSTALL; /* depmod */
out:
	kmb_plan_free(&plan);
	kmb_cli_kernels_free(&ks);
	kmb_strv_free(&kernels);
	free(name);
	free(version);
	return rc;
}
