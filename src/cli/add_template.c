// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kmbuild add NAME[@VERSION]: a well-known module by name. Looks at every installed kernel
 * first: a module the kernel already ships is reported as in-tree and not built for it, and
 * when no kernel needs it nothing is registered at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "add_template.h"
#include "base/json.h"
#include "core/registry.h"
#include "core/state.h"
#include "template/template.h"
#include "base/util.h"

bool kmb_cli_is_template_ref(const char *arg)
{
	/* Paths and DKMS's NAME/VERSION have a '/'; an existing file or dir is a path. */
	return *arg && !strchr(arg, '/') && !kmb_exists(arg) && strcmp(arg, ".") &&
	       strcmp(arg, "..");
}

static int unknown(const char *catalogue, const struct kmb_strv *names, const char *name)
{
	struct kmb_strv sug = {0};
	struct kmb_buf b = {0};

	kmb_template_suggest(names, name, 3, &sug);
	for (size_t i = 0; i < sug.n; i++)
		kmb_buf_printf(&b, "%s%s", i ? ", " : "", sug.v[i]);
	if (!names->n)
		kmb_err("%s: no such file or directory, and no templates in %s", name, catalogue);
	else if (sug.n)
		kmb_err("%s: unknown template (did you mean: %s?); 'kmbuild search' lists them",
			name, b.s);
	else
		kmb_err("%s: no such file or directory, and no template of that name; "
			"'kmbuild search' lists them",
			name);
	kmb_buf_free(&b);
	kmb_strv_free(&sug);
	return KMB_EXIT_NOTFOUND;
}

static void json_kernels(struct kmb_json *j, const struct kmb_tpl_kernel *kv, size_t nk)
{
	kmb_json_arr_begin(j, "kernels");
	for (size_t i = 0; i < nk; i++) {
		kmb_json_obj_begin(j, NULL);
		kmb_json_str(j, "kernel", kv[i].release);
		kmb_json_str(j, "fit", kmb_tpl_fit_name(kv[i].fit));
		kmb_json_str(j, "detail", kv[i].why);
		kmb_json_obj_end(j);
	}
	kmb_json_arr_end(j);
}

static void print_kernels(const struct kmb_ctx *ctx, const struct kmb_template *t,
			  const struct kmb_tpl_kernel *kv, size_t nk)
{
	for (size_t i = 0; i < nk; i++) {
		if (kv[i].fit == KMB_TPL_INTREE)
			kmb_info(ctx, "%s: %s: in-tree (%s): nothing to build", t->name,
				 kv[i].release, kv[i].why);
		else if (kv[i].fit == KMB_TPL_EXCLUDED)
			kmb_info(ctx, "%s: %s: does not apply (%s)", t->name, kv[i].release,
				 kv[i].why ? kv[i].why : "excluded");
		else
			kmb_info(ctx, "%s: %s: not in the kernel, will be built", t->name,
				 kv[i].release);
	}
}

static void report(const struct kmb_ctx *ctx, const struct kmb_template *t, const char *state,
		   const char *name, const char *version, const struct kmb_tpl_prepared *p,
		   const struct kmb_tpl_kernel *kv, size_t nk)
{
	if (!ctx->json)
		return;
	struct kmb_json j;
	kmb_json_init(&j, stdout);
	kmb_json_obj_begin(&j, NULL);
	kmb_json_str(&j, "template", t->name);
	kmb_json_str(&j, "module", name);
	kmb_json_str(&j, "version", version);
	kmb_json_str(&j, "state", state);
	kmb_json_str(&j, "source", p ? p->origin : NULL);
	kmb_json_str(&j, "sha256", p ? p->sha256 : NULL);
	json_kernels(&j, kv, nk);
	kmb_json_obj_end(&j);
	kmb_json_finish(&j);
}

int kmb_cli_add_template(struct kmb_ctx *ctx, const char *arg, const struct kmb_cli_add_opts *o)
{
	char *catalogue = kmb_template_catalogue(ctx);
	const char *at = strchr(arg, '@');
	char *name = at ? kmb_xstrndup(arg, (size_t)(at - arg)) : kmb_xstrdup(arg);
	const char *version = at ? at + 1 : NULL;
	struct kmb_strv names = {0};
	struct kmb_template *t = NULL;
	struct kmb_tpl_kernel *kv = NULL;
	struct kmb_tpl_prepared prep = {0};
	size_t nk = 0;
	char err[1536];
	int rc = 0;

	if (!kmb_is_safe_name(name) || (version && (!*version || !kmb_is_safe_name(version)))) {
		kmb_err("'%s' is not a template name or NAME@VERSION", arg);
		rc = KMB_EXIT_USAGE;
		goto out;
	}
	kmb_template_names(catalogue, &names);
	if (!kmb_strv_contains(&names, name)) {
		rc = unknown(catalogue, &names, name);
		goto out;
	}
	char *dir = kmb_xasprintf("%s/%s", catalogue, name);
	int r = kmb_template_load(dir, &t, err, sizeof(err));
	free(dir);
	if (r < 0) {
		kmb_err("%s", err);
		rc = KMB_EXIT_BADCONF;
		goto out;
	}

	/* In-tree awareness before anything is fetched. */
	kmb_template_fit(ctx, t, &kv, &nk);
	size_t builds = 0, intree = 0;
	for (size_t i = 0; i < nk; i++) {
		builds += kv[i].fit == KMB_TPL_BUILDS;
		intree += kv[i].fit == KMB_TPL_INTREE;
	}
	print_kernels(ctx, t, kv, nk);
	if (nk && !builds && !o->force) {
		if (intree == nk) {
			kmb_info(ctx,
				 "%s: every installed kernel already has it (in-tree): nothing "
				 "to build, nothing registered",
				 t->name);
			report(ctx, t, "in-tree", t->pkg->name, t->version, NULL, kv, nk);
			rc = 0;
		} else {
			kmb_err("%s: no installed kernel needs it (%zu in-tree, %zu outside its "
				"range): nothing registered (--force registers it anyway)",
				t->name, intree, nk - intree);
			rc = KMB_EXIT_EXCLUDED;
		}
		goto out;
	}

	const char *pkgver = version ? version : t->version;
	char *vdir = kmb_state_version_dir(ctx, t->pkg->name, pkgver);
	bool exists = kmb_exists(vdir);
	free(vdir);
	if (exists) {
		kmb_err("%s/%s is already added (kmbuild remove %s/%s --all first)", t->pkg->name,
			pkgver, t->pkg->name, pkgver);
		rc = KMB_EXIT_EXISTS;
		goto out;
	}
	struct kmb_tpl_prepare_opts po = {
		.mirror = o->mirror, .source = o->source, .sha256 = o->sha256, .version = version};
	rc = kmb_template_prepare(ctx, t, &po, &prep, err, sizeof(err));
	if (rc) {
		kmb_err("%s", err);
		goto out;
	}
	char *mname, *mversion, *reason;
	rc = kmb_registry_add(ctx, prep.tree, &mname, &mversion, &reason);
	if (rc) {
		kmb_err("%s: %s", t->name, reason ? reason : "add failed");
		free(reason);
		goto out;
	}
	r = kmb_template_commit(&prep);
	if (r < 0)
		kmb_warn("%s: cannot keep the download in %s: %s", t->name, prep.cache,
			 strerror(-r));
	kmb_info(ctx, "%s/%s: added from %s", mname, mversion, prep.origin);
	if (builds) {
		struct kmb_buf b = {0};
		for (size_t i = 0; i < nk; i++)
			if (kv[i].fit == KMB_TPL_BUILDS)
				kmb_buf_printf(&b, "%s%s", b.len ? ", " : "", kv[i].release);
		kmb_info(ctx, "%s/%s: to build for %s: kmbuild autoinstall", mname, mversion, b.s);
		kmb_buf_free(&b);
	}
	report(ctx, t, "added", mname, mversion, &prep, kv, nk);
	free(mname);
	free(mversion);
out:
	kmb_tpl_prepared_free(&prep);
	kmb_tpl_kernels_free(kv, nk);
	kmb_template_free(t);
	kmb_strv_free(&names);
	free(name);
	free(catalogue);
	return rc;
}
