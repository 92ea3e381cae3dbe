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

char *kmb_cli_template_suggest(const struct kmb_strv *names, const char *word)
{
	struct kmb_strv sug = {0};
	struct kmb_buf b = {0};

	kmb_template_suggest(names, word, 3, &sug);
	for (size_t i = 0; i < sug.n; i++)
		kmb_buf_printf(&b, "%s%s", i ? ", " : "", sug.v[i]);
	kmb_strv_free(&sug);
	if (!b.len) {
		kmb_buf_free(&b);
		return NULL;
	}
	return kmb_buf_steal(&b);
}

static int unknown(const char *catalogue, const struct kmb_strv *names, const char *name)
{
	char *sug = kmb_cli_template_suggest(names, name);

	if (!names->n)
		kmb_err("%s: no such file or directory, and no templates in %s", name, catalogue);
	else if (sug)
		kmb_err("%s: unknown template (did you mean: %s?); 'kmbuild search' lists them",
			name, sug);
	else
		kmb_err("%s: no such file or directory, and no template of that name; "
			"'kmbuild search' lists them",
			name);
	free(sug);
	return KMB_EXIT_NOTFOUND;
}

void kmb_cli_json_tpl_kernels(struct kmb_json *j, const struct kmb_tpl_kernel *kv, size_t nk)
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
	kmb_cli_json_tpl_kernels(&j, kv, nk);
	kmb_json_obj_end(&j);
	kmb_json_finish(&j);
}

/* The template `name` of the catalogue, loaded. 0 or a kmb_exit code, message printed. */
static int load_named(const char *catalogue, const char *name, struct kmb_template **t)
{
	struct kmb_strv names = {0};
	char err[1536];
	int rc = 0;

	kmb_template_names(catalogue, &names);
	if (!kmb_strv_contains(&names, name)) {
		rc = unknown(catalogue, &names, name);
	} else {
		char *dir = kmb_xasprintf("%s/%s", catalogue, name);
		if (kmb_template_load(dir, t, err, sizeof(err)) < 0) {
			kmb_err("%s", err);
			rc = KMB_EXIT_BADCONF;
		}
		free(dir);
	}
	kmb_strv_free(&names);
	return rc;
}

/* In-tree awareness before anything is fetched: does an installed kernel need the module (or
 * is it --force)? When not, false with *exit_code the verb's answer. */
static bool needed(const struct kmb_ctx *ctx, const struct kmb_template *t,
		   const struct kmb_tpl_kernel *kv, size_t nk, bool force, int *exit_code)
{
	size_t builds = 0, intree = 0;

	for (size_t i = 0; i < nk; i++) {
		builds += kv[i].fit == KMB_TPL_BUILDS;
		intree += kv[i].fit == KMB_TPL_INTREE;
	}
	print_kernels(ctx, t, kv, nk);
	if (!nk || builds || force)
		return true;
	if (intree == nk) {
		kmb_info(ctx,
			 "%s: every installed kernel already has it (in-tree): nothing to build, "
			 "nothing registered",
			 t->name);
		report(ctx, t, "in-tree", t->pkg->name, t->version, NULL, kv, nk);
		*exit_code = 0;
	} else {
		kmb_err("%s: no installed kernel needs it (%zu in-tree, %zu outside its range): "
			"nothing registered (--force registers it anyway)",
			t->name, intree, nk - intree);
		*exit_code = KMB_EXIT_EXCLUDED;
	}
	return false;
}

static bool already_added(const struct kmb_ctx *ctx, const char *name, const char *version)
{
	char *vdir = kmb_state_version_dir(ctx, name, version);
	bool exists = kmb_exists(vdir);

	free(vdir);
	if (exists)
		kmb_err("%s/%s is already added (kmbuild remove %s/%s --all first)", name, version,
			name, version);
	return exists;
}

/* Fetch (or take) the source, register it, keep the download. 0 or a kmb_exit code. */
static int add_prepared(struct kmb_ctx *ctx, const struct kmb_template *t,
			const struct kmb_cli_add_opts *o, const char *version,
			const struct kmb_tpl_kernel *kv, size_t nk)
{
	struct kmb_tpl_prepare_opts po = {
		.mirror = o->mirror, .source = o->source, .sha256 = o->sha256, .version = version};
	struct kmb_tpl_prepared prep = {0};
	char *mname = NULL, *mversion = NULL, *reason = NULL;
	char err[1536];
	int rc = kmb_template_prepare(ctx, t, &po, &prep, err, sizeof(err));

	if (rc) {
		kmb_err("%s", err);
		goto out;
	}
	rc = kmb_registry_add(ctx, prep.tree, &mname, &mversion, &reason);
	if (rc) {
		kmb_err("%s: %s", t->name, reason ? reason : "add failed");
		goto out;
	}
	int r = kmb_template_commit(&prep);
	if (r < 0)
		kmb_warn("%s: cannot keep the download in %s: %s", t->name, prep.cache,
			 strerror(-r));
	kmb_info(ctx, "%s/%s: added from %s", mname, mversion, prep.origin);
	struct kmb_buf b = {0};
	for (size_t i = 0; i < nk; i++)
		if (kv[i].fit == KMB_TPL_BUILDS)
			kmb_buf_printf(&b, "%s%s", b.len ? ", " : "", kv[i].release);
	if (b.len)
		kmb_info(ctx, "%s/%s: to build for %s: kmbuild autoinstall", mname, mversion, b.s);
	kmb_buf_free(&b);
	report(ctx, t, "added", mname, mversion, &prep, kv, nk);
out:
	free(reason);
	free(mname);
	free(mversion);
	kmb_tpl_prepared_free(&prep);
	return rc;
}

int kmb_cli_add_template(struct kmb_ctx *ctx, const char *arg, const struct kmb_cli_add_opts *o)
{
	const char *at = strchr(arg, '@');
	char *name = at ? kmb_xstrndup(arg, (size_t)(at - arg)) : kmb_xstrdup(arg);
	const char *version = at ? at + 1 : NULL;
	char *catalogue = NULL;
	struct kmb_template *t = NULL;
	struct kmb_tpl_kernel *kv = NULL;
	size_t nk = 0;
	int rc;

	if (!kmb_is_safe_name(name) || (version && (!*version || !kmb_is_safe_name(version)))) {
		kmb_err("'%s' is not a template name or NAME@VERSION", arg);
		rc = KMB_EXIT_USAGE;
		goto out;
	}
	catalogue = kmb_template_catalogue(ctx);
	if ((rc = load_named(catalogue, name, &t)))
		goto out;
	kmb_template_fit(ctx, t, &kv, &nk);
	if (!needed(ctx, t, kv, nk, o->force, &rc))
		goto out;
	if (already_added(ctx, t->pkg->name, version ? version : t->version)) {
		rc = KMB_EXIT_EXISTS;
		goto out;
	}
	rc = add_prepared(ctx, t, o, version, kv, nk);
out:
	kmb_tpl_kernels_free(kv, nk);
	kmb_template_free(t);
	free(name);
	free(catalogue);
	return rc;
}
