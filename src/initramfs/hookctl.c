// SPDX-License-Identifier: GPL-2.0-or-later
/* Hook-specific engine steps and the hooks' failure policy (see hookctl.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "initramfs/hookctl.h"
#include "core/install.h"
#include "kernel/kernel.h"
#include "core/state.h"
#include "base/util.h"

static const char *const hook_names[] = {"none", "postinst", "headers", "preinst", "prerm"};

int kmb_hook_parse(const char *s, enum kmb_hook *out)
{
	for (size_t i = 1; i < KMB_ARRAY_SIZE(hook_names); i++) {
		if (strcmp(s, hook_names[i]) == 0) {
			*out = (enum kmb_hook)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *kmb_hook_name(enum kmb_hook h)
{
	return (size_t)h < KMB_ARRAY_SIZE(hook_names) ? hook_names[h] : "none";
}

/* <state>/.hooks/rebuild-<K>: a dot directory, so state listings never see it. */
static char *marker_path(const struct kmb_ctx *ctx, const char *kernel)
{
	return kmb_xasprintf("%s/.hooks/rebuild-%s", ctx->state_dir, kernel);
}

bool kmb_hook_rebuild_pending(const struct kmb_ctx *ctx, const char *kernel)
{
	char *p = marker_path(ctx, kernel);
	bool r = kmb_exists(p);
	free(p);
	return r;
}

void kmb_hook_rebuild_done(const struct kmb_ctx *ctx, const char *kernel)
{
	char *p = marker_path(ctx, kernel);
	unlink(p);
	free(p);
}

int kmb_hook_preinst(const struct kmb_ctx *ctx, const char *kernel)
{
	struct kmb_entry *e;
	size_t n, have = 0;

	if (!kmb_is_safe_name(kernel)) {
		kmb_err("'%s' is not a kernel release", kernel);
		return KMB_EXIT_USAGE;
	}
	kmb_state_list(ctx, NULL, NULL, kernel, &e, &n);
	for (size_t i = 0; i < n; i++)
		have += e[i].kernel &&
			(e[i].state == KMB_ST_INSTALLED || e[i].state == KMB_ST_BUILT);
	kmb_entries_free(e, n);
	if (!have)
		return 0; /* a new kernel: postinst builds everything anyway */
	char *p = marker_path(ctx, kernel), *dir = kmb_xasprintf("%s/.hooks", ctx->state_dir);
	int r = kmb_mkdir_p(dir, 0755);
	if (r == 0)
		r = kmb_write_file_atomic(p, kernel, strlen(kernel), 0644);
	if (r < 0)
		kmb_err("cannot write %s: %s", p, strerror(-r));
	else
		kmb_info(ctx,
			 "kmbuild: %s is being reinstalled: its %zu module build(s) will be "
			 "redone against the new files",
			 kernel, have);
	free(p);
	free(dir);
	return r < 0 ? KMB_EXIT_FAIL : 0;
}

int kmb_hook_prerm(const struct kmb_ctx *ctx, const char *kernel)
{
	struct kmb_entry *e;
	size_t n, removed = 0;
	bool touched = false;
	int rc = 0;

	if (!kmb_is_safe_name(kernel)) {
		kmb_err("'%s' is not a kernel release", kernel);
		return KMB_EXIT_USAGE;
	}
	kmb_state_list(ctx, NULL, NULL, kernel, &e, &n);
	for (size_t i = 0; i < n; i++) {
		if (!e[i].kernel)
			continue;
		char *iv = kmb_installed_version(ctx, e[i].name, kernel, e[i].arch);
		if (iv && strcmp(iv, e[i].version) == 0) {
			char *reason = NULL;
			int r = kmb_uninstall(ctx, e[i].name, e[i].version, kernel, e[i].arch,
					      &reason);
			if (r) {
				kmb_err("%s/%s, %s: %s", e[i].name, e[i].version, kernel,
					reason ? reason : "uninstall failed");
				rc = r;
				free(reason);
				free(iv);
				continue; /* keep the build: the record still explains the files */
			}
			touched = true;
		}
		free(iv);
		char *kd = kmb_state_kernel_dir(ctx, e[i].name, e[i].version, kernel, e[i].arch);
		char *kp = kmb_xasprintf("%s/%s/%s/%s", ctx->state_dir, e[i].name, e[i].version,
					 kernel);
		char *bl = kmb_xasprintf("%s/%s/%s/build", ctx->state_dir, e[i].name, e[i].version);
		kmb_rm_rf(kd);
		rmdir(kp);	     /* only when no other arch is left */
		if (!kmb_exists(bl)) /* DKMS's build link pointed into what just went */
			unlink(bl);
		free(kd);
		free(kp);
		free(bl);
		kmb_info(ctx, "kmbuild: removing %s/%s (%s) (%s)", e[i].name, e[i].version, kernel,
			 e[i].arch);
		removed++;
	}
	kmb_entries_free(e, n);

	/* Directories kmbuild created under /lib/modules/K, so the kernel's package can remove
	 * the tree; rmdir leaves any that still hold something. */
	static const char *const dirs[] = {"updates/dkms", "updates", "extra"};
	for (size_t i = 0; i < KMB_ARRAY_SIZE(dirs); i++) {
		char *d = kmb_xasprintf("%s/%s/%s", ctx->modules_dir, kernel, dirs[i]);
		rmdir(d);
		free(d);
	}
	if (touched) {
		struct kmb_kernel *k = NULL;
		kmb_kernel_open(ctx, kernel, &k);
		if (kmb_depmod(ctx, k) != 0) {
			kmb_err("depmod for %s failed", kernel);
			rc = rc ? rc : KMB_EXIT_INSTALL;
		}
		kmb_kernel_free(k);
	}
	kmb_hook_rebuild_done(ctx, kernel);
	if (removed == 0)
		kmb_debug(ctx, "nothing built for %s", kernel);
	return rc;
}

static void report_failures(const struct kmb_ctx *ctx, const char *kernel)
{
	struct kmb_entry *e;
	size_t n;

	kmb_state_list(ctx, NULL, NULL, kernel, &e, &n);
	for (size_t i = 0; i < n; i++) {
		if (!e[i].kernel || e[i].state != KMB_ST_FAILED)
			continue;
		fprintf(stderr, "kmbuild: WARNING: %s/%s failed for %s (%s): %s\n", e[i].name,
			e[i].version, kernel, e[i].arch, e[i].reason ? e[i].reason : "failed");
		if (e[i].log)
			fprintf(stderr, "kmbuild:          log: %s\n", e[i].log);
	}
	kmb_entries_free(e, n);
}

int kmb_hook_finish(const struct kmb_ctx *ctx, enum kmb_hook h, char *const *kernels, size_t nk,
		    int rc)
{
	bool strict = kmb_config_bool(ctx, "hook_strict", false);
	const char *who = h == KMB_HOOK_NONE ? "autoinstall" : kmb_hook_name(h);

	if (rc == 0)
		return 0;
	fflush(stdout); /* the summary lines first, then what went wrong */
	if (rc == KMB_EXIT_NOHEADERS) {
		for (size_t i = 0; i < nk; i++)
			fprintf(stderr,
				"kmbuild: no kernel headers for %s yet: its modules are built when "
				"they arrive (header_postinst.d) or at boot (kmbuild.service)\n",
				kernels[i]);
		return 0;
	}
	for (size_t i = 0; i < nk; i++)
		report_failures(ctx, kernels[i]);
	fprintf(stderr,
		"kmbuild: WARNING: %s: some modules were not built or installed (exit %d); "
		"`kmbuild status` lists them.\n",
		who, rc);
	if (strict) {
		fprintf(stderr, "kmbuild: hook_strict = yes: failing the hook\n");
		return rc;
	}
	fprintf(stderr, "kmbuild: the kernel installation continues without them "
			"(hook_strict = yes in kmbuild.conf makes this fatal)\n");
	return 0;
}
