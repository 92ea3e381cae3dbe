// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kmbuild initramfs [-k K]... [--check] [--force] [--json]: compare each kernel's initramfs
 * with the modules kmbuild installed for it, and regenerate it when stale (or always with
 * --force). --check only reports: exit 0 when current, 1 when regeneration is needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "initramfs/initramfs.h"
#include "base/json.h"
#include "core/state.h"
#include "base/util.h"

static const char *why_text(unsigned why, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", why & KMB_IRW_REMAKE_INITRD ? " REMAKE_INITRD" : "",
		 why & KMB_IRW_CONFIG ? " config" : "", why & KMB_IRW_IMAGE ? " image" : "");
	return buf[0] ? buf + 1 : "-";
}

static void print_text(const struct kmb_ctx *ctx, const struct kmb_initramfs_check *c)
{
	const char *img = c->image ? c->image + strlen(ctx->root) : "(unknown)";
	printf("%s: %s %s (%s)\n", c->kernel, kmb_irb_name(c->backend.backend), img,
	       c->image_exists ? "exists" : "missing");
	for (size_t i = 0; i < c->n_mods; i++) {
		const struct kmb_irm *m = &c->mods[i];
		char why[64] = "";
		printf("  %-24s %-8s %-22s %s%s%s\n", m->module, kmb_irm_state_name(m->state),
		       why_text(m->why, why, sizeof(why)), m->package ? m->package : "-",
		       m->listed_in ? " listed in " : "", m->listed_in ? m->listed_in : "");
	}
	printf("%s: %s: %s\n", c->kernel, c->needed ? "regeneration needed" : "up to date",
	       c->reason);
}

static void json_one(struct kmb_json *j, const struct kmb_ctx *ctx,
		     const struct kmb_initramfs_check *c, bool ran, int rc, const char *err)
{
	kmb_json_obj_begin(j, NULL);
	kmb_json_str(j, "kernel", c->kernel);
	kmb_json_str(j, "backend", kmb_irb_name(c->backend.backend));
	kmb_json_str(j, "backend_reason", c->backend.why);
	kmb_json_str(j, "image", c->image ? c->image + strlen(ctx->root) : NULL);
	kmb_json_bool(j, "image_exists", c->image_exists);
	kmb_json_bool(j, "needed", c->needed);
	kmb_json_str(j, "reason", c->reason);
	kmb_json_bool(j, "regenerated", ran && rc == 0);
	kmb_json_str(j, "error", err);
	kmb_json_arr_begin(j, "modules");
	for (size_t i = 0; i < c->n_mods; i++) {
		const struct kmb_irm *m = &c->mods[i];
		kmb_json_obj_begin(j, NULL);
		kmb_json_str(j, "module", m->module);
		kmb_json_str(j, "package", m->package);
		kmb_json_str(j, "path", m->path);
		kmb_json_str(j, "image_entry", m->image_name);
		kmb_json_str(j, "state", kmb_irm_state_name(m->state));
		kmb_json_bool(j, "remake_initrd", m->why & KMB_IRW_REMAKE_INITRD);
		kmb_json_str(j, "listed_in", m->listed_in);
		kmb_json_bool(j, "in_image", m->why & KMB_IRW_IMAGE);
		kmb_json_obj_end(j);
	}
	kmb_json_arr_end(j);
	kmb_json_obj_end(j);
}

/* After a regeneration, what the new image holds; else what was found. */
static void print_result(const struct kmb_ctx *ctx, const char *release,
			 const struct kmb_initramfs_check *ck, bool regenerated)
{
	if (!regenerated) {
		print_text(ctx, ck);
		return;
	}
	struct kmb_initramfs_check after;
	char *err = NULL;
	if (kmb_initramfs_check(ctx, release, &after, &err) == 0)
		print_text(ctx, &after);
	free(err);
	kmb_initramfs_check_free(&after);
}

/* Check one kernel's initramfs and, unless check, regenerate it when stale (or force).
 * Returns 0 or a kmb_exit code; *stop when the check itself failed. */
static int one_kernel(const struct kmb_ctx *ctx, const char *release, bool check, bool force,
		      struct kmb_json *j, bool *stop)
{
	struct kmb_initramfs_check ck;
	char *err = NULL, *rerr = NULL;
	bool ran = false;
	int r = kmb_initramfs_check(ctx, release, &ck, &err), gr = 0, rc = 0;

	if (r < 0) {
		kmb_err("%s", err ? err : "cannot check the initramfs");
		free(err);
		kmb_initramfs_check_free(&ck);
		*stop = true;
		return r == -EINVAL ? KMB_EXIT_BADCONF : KMB_EXIT_FAIL;
	}
	if (check) {
		if (ck.needed)
			rc = KMB_EXIT_FAIL;
	} else if (!ck.image_exists && ck.backend.backend != KMB_IRB_NONE && !(force && ck.image)) {
		/* Without an image there is nothing kmbuild would be keeping in step. */
	} else if (ck.needed || force) {
		if (!ctx->json)
			kmb_info(ctx, "%s: regenerating with %s: %s", ck.kernel,
				 kmb_irb_name(ck.backend.backend),
				 force && !ck.needed ? "--force" : ck.reason);
		ran = true;
		gr = kmb_initramfs_regenerate(ctx, &ck, &rerr);
		if (gr < 0) {
			kmb_err("%s: %s", ck.kernel, rerr);
			rc = KMB_EXIT_FAIL;
		}
	}
	if (ctx->json)
		json_one(j, ctx, &ck, ran, gr, rerr);
	else if (ctx->verbosity >= KMB_NORMAL)
		print_result(ctx, release, &ck, ran && gr == 0);
	free(rerr);
	free(err);
	kmb_initramfs_check_free(&ck);
	return rc;
}

static int run(struct kmb_ctx *ctx, int argc, char **argv)
{
	static const struct option own[] = {{"check", no_argument, NULL, 'c'}, {0}};
	struct kmb_cli_parser p;
	struct kmb_kernel_set ks = {0};
	struct kmb_json j;
	bool check = false, stop = false;
	int c, rc = 0;

	kmb_cli_parser_init(&p, &kmb_cmd_initramfs, KMB_OPT_KERNELS | KMB_OPT_FORCE, "c", own);
	while ((c = kmb_cli_next_opt(&p, argc, argv)) > 0)
		check |= c == 'c';
	if (c < 0)
		return p.exit;
	bool force = p.o.force;
	if (optind != argc || (check && force)) {
		kmb_err("usage: kmbuild %s", kmb_cmd_initramfs.usage);
		rc = KMB_EXIT_USAGE;
		goto out;
	}
	if ((rc = kmb_cli_kernels(ctx, &p.o, &ks)))
		goto out;
	/* Regenerating writes /boot: one kmbuild at a time, as for builds. --check only
	 * reads, so it needs no lock (and works where the lock cannot be taken). */
	if (!check && (rc = kmb_cli_lock(ctx)))
		goto out;
	if (ctx->json) {
		kmb_json_init(&j, stdout);
		kmb_json_arr_begin(&j, NULL);
	}
	for (size_t i = 0; i < ks.n && !stop; i++) {
		int r = one_kernel(ctx, ks.k[i]->release, check, force, &j, &stop);
		rc = r ? r : rc;
	}
	if (ctx->json) {
		kmb_json_arr_end(&j);
		kmb_json_finish(&j);
	}
out:
	kmb_cli_kernels_free(&ks);
	kmb_cli_opts_free(&p.o);
	return rc;
}

const struct kmb_cmd kmb_cmd_initramfs = {
	.name = "initramfs",
	.run = run,
	.usage = "initramfs [-k KERNEL]... [--check | --force] [--json]",
	.help = "check or regenerate the initramfs against the modules kmbuild installed",
};
