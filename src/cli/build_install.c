// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * build and install share one shape: NAME[/VERSION] for one or more kernels, run through the
 * scheduler so several kernels build in parallel under one -j budget.
 */
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
	static const struct option own[] = {{"no-depmod", no_argument, NULL, 'D'}, {0}};
	struct kmb_cli_parser p;
	bool no_depmod = false;
	int c, rc;

	kmb_cli_parser_init(&p, cmd, KMB_OPT_KERNELS | KMB_OPT_FORCE | KMB_OPT_ALL_KERNELS, NULL,
			    own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0)
		if (c == 'D')
			no_depmod = true;
	if (c < 0)
		return p.exit;
	if (optind != argc - 1) {
		kmb_err("%s takes one NAME[/VERSION]", cmd->name);
		kmb_cli_opts_free(&p.o);
		return KMB_EXIT_USAGE;
	}
	bool force = p.o.force;
	char *name = NULL, *version = NULL;
	struct kmb_kernel_set ks = {0};
	struct kmb_plan plan = {0};
	if ((rc = kmb_cli_resolve_nv(ctx, argv[optind], false, &name, &version)))
		goto out;
	if ((rc = kmb_cli_kernels(ctx, &p.o, &ks)))
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
	kmb_cli_opts_free(&p.o);
	free(name);
	free(version);
	return rc;
}
