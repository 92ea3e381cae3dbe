// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kmbuild autoinstall [-k K]... [--all-kernels]: build and install the newest version of every
 * AUTOINSTALL module for the kernels, as one job graph. DKMS's report lines are kept (hooks
 * and users grep them); a failure never stops unrelated builds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/build.h"
#include "cli.h"
#include "kernel/headers.h"
#include "initramfs/hookctl.h"
#include "initramfs/initramfs.h"
#include "core/install.h"
#include "base/json.h"
#include "core/registry.h"
#include "core/sched.h"
#include "core/state.h"
#include "base/util.h"

static bool disabled(const struct kmb_ctx *ctx)
{
	char *a = kmb_xasprintf("%s/no-autoinstall", ctx->etc_dir);
	char *b = kmb_xasprintf("%s/no-autoinstall", ctx->dkms_etc);
	bool off = kmb_exists(a) || kmb_exists(b);
	free(a);
	free(b);
	return off;
}

static void summary_line(const struct kmb_plan *plan, const struct kmb_kernel *k,
			 enum kmb_task_state st, const char *what)
{
	struct kmb_buf b = {0};
	for (size_t i = 0; i < plan->n; i++) {
		const struct kmb_task *t = &plan->t[i];
		if (t->k != k || t->state != st)
			continue;
		if (st == KMB_TASK_FAILED)
			kmb_buf_printf(&b, " %s(%d)", t->name, t->rc);
		else
			kmb_buf_printf(&b, " %s", t->name);
	}
	if (b.len)
		printf("Autoinstall on %s %s for module(s)%s.\n", k->release, what, b.s);
	kmb_buf_free(&b);
}

/* A reinstalled kernel's rebuild is done once all its tasks succeeded. */
static void rebuilds_done(const struct kmb_ctx *ctx, const struct kmb_plan *plan,
			  const struct kmb_kernel_set *ks)
{
	for (size_t ki = 0; ki < ks->n; ki++) {
		const struct kmb_kernel *k = ks->k[ki];
		bool bad = !k->headers_dir;
		for (size_t i = 0; i < plan->n; i++)
			bad |= plan->t[i].k == k && plan->t[i].state == KMB_TASK_FAILED;
		if (!bad)
			kmb_hook_rebuild_done(ctx, k->release);
	}
}

static void print_json(const struct kmb_plan *plan, const struct kmb_kernel_set *ks)
{
	static const char *const names[] = {"waiting", "running",  "ok",
					    "skipped", "deferred", "failed"};
	struct kmb_json j;
	kmb_json_init(&j, stdout);
	kmb_json_obj_begin(&j, NULL);
	kmb_json_arr_begin(&j, "kernels");
	for (size_t i = 0; i < ks->n; i++)
		kmb_json_str(&j, NULL, ks->k[i]->release);
	kmb_json_arr_end(&j);
	kmb_json_arr_begin(&j, "results");
	for (size_t i = 0; i < plan->n; i++) {
		const struct kmb_task *t = &plan->t[i];
		kmb_json_obj_begin(&j, NULL);
		kmb_json_str(&j, "module", t->name);
		kmb_json_str(&j, "version", t->version);
		kmb_json_str(&j, "kernel", t->k->release);
		kmb_json_str(&j, "arch", t->k->arch);
		kmb_json_str(&j, "result", names[t->state]);
		kmb_json_int(&j, "exit", t->rc);
		kmb_json_str(&j, "reason", t->reason);
		kmb_json_int(&j, "ms", t->ms);
		kmb_json_obj_end(&j);
	}
	kmb_json_arr_end(&j);
	kmb_json_obj_end(&j);
	kmb_json_finish(&j);
}

static void print_summary(const struct kmb_ctx *ctx, const struct kmb_plan *plan,
			  const struct kmb_kernel_set *ks, int failed, long long t0)
{
	if (ctx->verbosity < KMB_NORMAL)
		return;
	for (size_t ki = 0; ki < ks->n; ki++) {
		summary_line(plan, ks->k[ki], KMB_TASK_OK, "succeeded");
		summary_line(plan, ks->k[ki], KMB_TASK_SKIPPED, "was skipped");
		summary_line(plan, ks->k[ki], KMB_TASK_FAILED, "failed");
	}
	for (size_t i = 0; i < plan->n; i++)
		if (plan->t[i].state == KMB_TASK_DEFERRED)
			printf("%s/%s autoinstall deferred: %s.\n", plan->t[i].name,
			       plan->t[i].version, plan->t[i].reason);
	if (plan->n == 0)
		printf("Nothing to do: every module is current for %zu kernel(s).\n", ks->n);
	else
		printf("%zu build(s) in %.1fs, %d failed.\n", plan->n,
		       (double)(kmb_now_ms() - t0) / 1000.0, failed);
}

/* Missing headers are the commonest reason nothing gets rebuilt: when there is something to
 * build, get them as the headers policy says (package manager, then download). false when k
 * still has none. */
static bool ensure_headers(const struct kmb_ctx *ctx, struct kmb_kernel *k, bool wanted,
			   enum kmb_hook hook)
{
	char herr[1024] = "";

	if (!k->headers_dir && wanted) {
		char *dir = NULL;
		const char *how = NULL;
		if (kmb_headers_ensure(ctx, k->release, &dir, &how, herr, sizeof(herr)) == 0) {
			kmb_kernel_set_headers(k, dir);
			if (ctx->verbosity >= KMB_NORMAL && !ctx->json)
				printf("Kernel headers for %s were missing: %s (%s).\n", k->release,
				       how, k->headers_dir);
		}
		free(dir);
	}
	if (k->headers_dir)
		return true;
	if (hook == KMB_HOOK_NONE) /* hooks explain it in kmb_hook_finish() */
		kmb_err("kernel headers for %s not found: nothing built for it (%s)", k->release,
			herr[0] ? herr : "kmbuild headers install/fetch RELEASE");
	return false;
}

/* The highest version of module name (like DKMS) into the plan for k, unless it is current
 * (or `redo`). Returns 1 when its definition is broken (reported; the rest goes on), else 0. */
static int plan_module(const struct kmb_ctx *ctx, struct kmb_plan *plan, const char *name,
		       struct kmb_kernel *k, bool redo)
{
	char **vers;
	size_t nv;
	int broken = 0;

	kmb_registry_versions(ctx, name, &vers, &nv);
	if (nv == 0) {
		kmb_registry_strv_free(vers, nv);
		return 0;
	}
	const char *v = vers[0];
	char *iv = kmb_installed_version(ctx, name, k->release, k->arch);
	bool current = iv && strcmp(iv, v) == 0;
	struct kmb_pkg *pkg = NULL;
	char *reason = NULL;
	free(iv);
	if (kmb_pkg_load_registered(ctx, name, v, k, &pkg, &reason)) {
		kmb_err("%s/%s: %s", name, v, reason ? reason : "cannot load");
		broken = 1;
	} else if (pkg->autoinstall && (!current || redo)) {
		struct kmb_task *t = kmb_plan_add(plan, name, v, k);
		t->install = true;
		t->build = redo || !kmb_is_built(ctx, name, v, k->release, k->arch);
		for (size_t d = 0; d < pkg->build_depends.n; d++)
			kmb_strv_push(&t->deps, pkg->build_depends.v[d]);
		if (ctx->verbosity >= KMB_NORMAL && !ctx->json && !ctx->tty)
			printf("Autoinstall of module %s/%s for kernel %s (%s)\n", name, v,
			       k->release, k->arch);
	}
	free(reason);
	kmb_pkg_free(pkg);
	kmb_registry_strv_free(vers, nv);
	return broken;
}

/* Every registered module for every kernel of ks. Counts what failed already in *failed;
 * returns KMB_EXIT_NOHEADERS when a kernel has no headers, else 0. */
static int plan_all(const struct kmb_ctx *ctx, const struct kmb_kernel_set *ks, enum kmb_hook hook,
		    bool force, struct kmb_plan *plan, int *failed)
{
	char **names = NULL;
	size_t n_names = 0;
	int rc = 0;

	kmb_registry_names(ctx, &names, &n_names);
	for (size_t ki = 0; ki < ks->n; ki++) {
		struct kmb_kernel *k = ks->k[ki];
		if (!ensure_headers(ctx, k, n_names > 0, hook)) {
			(*failed)++;
			rc = KMB_EXIT_NOHEADERS;
			continue;
		}
		/* A kernel reinstalled in place (preinst hook): rebuild even if current. */
		bool redo = force ||
			    (hook != KMB_HOOK_NONE && kmb_hook_rebuild_pending(ctx, k->release));
		for (size_t i = 0; i < n_names; i++)
			*failed += plan_module(ctx, plan, names[i], k, redo);
	}
	kmb_registry_strv_free(names, n_names);
	return rc;
}

/* The preinst and prerm hooks' steps for each kernel: the first failure is the answer. */
static int hook_steps(const struct kmb_ctx *ctx, const struct kmb_kernel_set *ks,
		      enum kmb_hook hook)
{
	int rc = 0;

	for (size_t ki = 0; ki < ks->n; ki++) {
		int r = hook == KMB_HOOK_PREINST ? kmb_hook_preinst(ctx, ks->k[ki]->release)
						 : kmb_hook_prerm(ctx, ks->k[ki]->release);
		rc = rc ? rc : r;
	}
	return rc;
}

struct ai_args {
	enum kmb_hook hook;
	bool no_fail, no_initramfs;
};

static int autoinstall(struct kmb_ctx *ctx, const struct kmb_cli_opts *o, const struct ai_args *a)
{
	struct kmb_kernel_set ks = {0};
	struct kmb_plan plan = {0};
	int failed = 0, rc;

	/* Not KMB_CMD_LOCK: under a kernel hook a lock timeout goes through the hook's
	 * failure policy (kmb_hook_finish), like any other failure. */
	if ((rc = kmb_cli_lock(ctx)) || (rc = kmb_cli_kernels(ctx, o, &ks)))
		goto out;
	if (a->hook == KMB_HOOK_PREINST || a->hook == KMB_HOOK_PRERM) {
		rc = hook_steps(ctx, &ks, a->hook);
		goto out;
	}
	rc = plan_all(ctx, &ks, a->hook, o->force, &plan, &failed);
	kmb_plan_add_rebuild_dependents(ctx, &plan);
	struct kmb_sched_opts so = {.force = o->force};
	long long t0 = kmb_now_ms();
	if (plan.n)
		failed += kmb_sched_run(ctx, &plan, &so);
	/* Inside a kernel's postinst the distro's own initramfs hook runs right after us. */
	if (plan.n && a->hook != KMB_HOOK_POSTINST && !a->no_initramfs)
		failed += kmb_cli_refresh_initramfs(ctx, &plan);
	if (a->hook != KMB_HOOK_NONE)
		rebuilds_done(ctx, &plan, &ks);
	if (ctx->json)
		print_json(&plan, &ks);
	else
		print_summary(ctx, &plan, &ks, failed, t0);
	if (failed)
		rc = rc == KMB_EXIT_NOHEADERS && failed == 1 ? rc : KMB_EXIT_AUTOINSTALL;
out:
	kmb_plan_free(&plan);
	kmb_cli_kernels_free(&ks);
	return rc;
}

/* false when the verb is done (--help, a usage error), with *exit_code set and p->o freed. */
static bool parse(struct kmb_cli_parser *p, int argc, char **argv, struct ai_args *a,
		  int *exit_code)
{
	static const struct option own[] = {{"hook", required_argument, NULL, 'H'},
					    {"no-fail", no_argument, NULL, 'N'},
					    {"no-initramfs", no_argument, NULL, 'I'},
					    {0}};
	int c;

	kmb_cli_parser_init(p, &kmb_cmd_autoinstall,
			    KMB_OPT_KERNELS | KMB_OPT_FORCE | KMB_OPT_ALL_KERNELS, NULL, own);
	while ((c = kmb_cli_next_opt(p, argc, argv)) > 0) {
		if (c == 'H' && kmb_hook_parse(optarg, &a->hook) < 0) {
			kmb_err("--hook=%s: one of postinst, headers, preinst, prerm", optarg);
			goto usage;
		}
		a->no_fail |= c == 'N';
		a->no_initramfs |= c == 'I';
	}
	if (c < 0) {
		*exit_code = p->exit;
		return false;
	}
	if (optind != argc) {
		kmb_err("autoinstall takes no module names (kmbuild install NAME does one)");
		goto usage;
	}
	if (a->hook != KMB_HOOK_NONE && p->o.kernels.n == 0) {
		kmb_err("--hook=%s needs -k KERNEL", kmb_hook_name(a->hook));
		goto usage;
	}
	return true;
usage:
	kmb_cli_opts_free(&p->o);
	*exit_code = KMB_EXIT_USAGE;
	return false;
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	struct kmb_cli_parser p;
	struct ai_args a = {.hook = KMB_HOOK_NONE};
	int rc;

	if (!parse(&p, argc, argv, &a, &rc))
		return rc;
	if (disabled(ctx) && a.hook != KMB_HOOK_PRERM) {
		kmb_info(ctx, "autoinstall is disabled (%s/no-autoinstall exists)", ctx->etc_dir);
		rc = 0;
	} else {
		rc = autoinstall(ctx, &p.o, &a);
		if (a.hook != KMB_HOOK_NONE || a.no_fail)
			rc = kmb_hook_finish(ctx, a.hook, p.o.kernels.v, p.o.kernels.n, rc);
	}
	kmb_cli_opts_free(&p.o);
	return rc;
}

const struct kmb_cmd kmb_cmd_autoinstall = {
	.name = "autoinstall",
	.run = run,
	.usage = "autoinstall [-k KERNEL[/ARCH]]... [--all-kernels] [--force] "
		 "[--hook=postinst|headers|preinst|prerm] [--no-fail] [--no-initramfs]",
	.help = "build + install every AUTOINSTALL module for kernels, in parallel",
};
